"""A minimal progress bar for long experiment runs (stderr, no dependency)."""

from __future__ import annotations

import sys
import time
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], total: int | None = None, desc: str = "", enabled: bool = True) -> Iterator[T]:
    """Yield ``items`` while drawing ``desc [#####     ] i/total  elapsed`` on stderr.

    Args:
        items: the iterable to walk.
        total: its length, if ``items`` has no ``len``.
        desc: a label shown before the bar.
        enabled: ``False`` turns the bar off (quiet runs and tests).
    """
    if total is None:
        try:
            total = len(items)  # type: ignore[arg-type]
        except TypeError:
            total = None
    if not enabled:
        yield from items
        return
    start = time.perf_counter()
    last_draw = 0.0
    i = 0
    for i, item in enumerate(items, 1):
        yield item
        now = time.perf_counter()
        if now - last_draw > 0.2 or i == total:
            last_draw = now
            _draw(desc, i, total, now - start)
    sys.stderr.write("\n")
    sys.stderr.flush()


def _draw(desc: str, i: int, total: int | None, elapsed: float) -> None:
    if total:
        width = 30
        filled = int(width * i / total)
        bar = "#" * filled + "." * (width - filled)
        eta = elapsed / i * (total - i) if i else 0.0
        text = f"\r{desc} [{bar}] {i}/{total}  {elapsed:6.1f}s  eta {eta:6.1f}s"
    else:
        text = f"\r{desc} {i}  {elapsed:6.1f}s"
    sys.stderr.write(text)
    sys.stderr.flush()
