"""The one place that decides numba's defaults for every kernel in htmagent.

Kernels are compiled with ``cache=True`` (compiled code is kept on disk, so a warm start costs no compilation) and
``nogil=True`` (so threads in a host application can run them concurrently). ``parallel`` is not used: on the two-core
machines we measure on, thread start-up costs more than it saves for per-step HTM work.

The on-disk cache must never stop an import: numba already ignores entries written for another source file (an
older layout of the package, another version of a module: the file name or the source stamp differs), and an
index file it cannot read at all (a write cut short, a disk error) is deleted here and the kernel compiled afresh.
"""

from __future__ import annotations

import os
import pickle
from typing import Any, Callable

import numba

__all__ = ["kernel", "kernels_cached", "numba_version"]

try:
    from numba.core.caching import FunctionCache
except ImportError:  # pragma: no cover - numba moved its internals: keep numba's own cache
    FunctionCache = None


if FunctionCache is not None:
    class _TolerantCache(FunctionCache):
        """numba's per-function disk cache, treating an unreadable index as a cache miss instead of an error."""

        def load_overload(self, sig: Any, target_context: Any) -> Any:
            try:
                return super().load_overload(sig, target_context)
            except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError,
                    IndexError, KeyError):
                path = getattr(getattr(self, "_cache_file", None), "_index_path", None)
                if path:
                    try:
                        os.remove(path)
                    except OSError:
                        pass
                return None


def _tolerant(dispatcher: Any) -> Any:
    if FunctionCache is not None and getattr(dispatcher, "_cache", None) is not None:
        try:
            dispatcher._cache = _TolerantCache(dispatcher.py_func)
        except Exception:  # pragma: no cover - keep numba's cache if it cannot be replaced
            pass
    return dispatcher


def kernel(func: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Decorate a function as an htmagent numba kernel (``njit`` with cache and nogil).

    Usable bare (``@kernel``) or with extra ``numba.njit`` options (``@kernel(fastmath=True)``).
    """
    settings = {"cache": True, "nogil": True}
    settings.update(options)

    def build(f: Callable[..., Any]) -> Any:
        dispatcher = numba.njit(**settings)(f)
        return _tolerant(dispatcher) if settings["cache"] else dispatcher

    return build if func is None else build(func)


def numba_version() -> str:
    """Return the installed numba version string."""
    return numba.__version__


def kernels_cached() -> bool:
    """Whether the temporal memory's kernels are in numba's disk cache already (a warm start: no compilation).

    The first run of a fresh install compiles every kernel (tens of seconds); commands use this to say so at once.
    """
    from htmagent.kernels import temporal_memory

    try:
        return os.path.exists(temporal_memory.segment_activity._cache._cache_file._index_path)
    except AttributeError:  # numba moved its internals: say nothing rather than guess
        return True
