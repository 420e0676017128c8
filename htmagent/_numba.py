"""The one place that decides numba's defaults for every kernel in htmagent.

Kernels are compiled with ``cache=True`` (compiled code is kept on disk, so a warm start costs no compilation) and
``nogil=True`` (so threads in a host application can run them concurrently). ``parallel`` is not used: on the two-core
machines we measure on, thread start-up costs more than it saves for per-step HTM work.
"""

from __future__ import annotations

from typing import Any, Callable

import numba

__all__ = ["kernel", "numba_version"]


def kernel(func: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Decorate a function as an htmagent numba kernel (``njit`` with cache and nogil).

    Usable bare (``@kernel``) or with extra ``numba.njit`` options (``@kernel(fastmath=True)``).
    """
    settings = {"cache": True, "nogil": True}
    settings.update(options)
    if func is None:
        return lambda f: numba.njit(**settings)(f)
    return numba.njit(**settings)(func)


def numba_version() -> str:
    """Return the installed numba version string."""
    return numba.__version__
