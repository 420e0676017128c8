"""How every experiment reports: the table printed, the figure drawn with matplotlib, the raw results as JSON.

matplotlib is imported only when a figure is drawn (with the non-interactive Agg backend), so experiments run and
print their tables without it.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable

__all__ = ["finish", "pyplot", "save_figure", "write_json"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (no window, safe on machines without a display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | os.PathLike, dpi: int = 110) -> None:
    """Lay out ``fig``, write it to ``path`` (creating its folder) and close it."""
    folder = os.path.dirname(os.fspath(path))
    if folder:
        os.makedirs(folder, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)


def write_json(data: Any, path: str | os.PathLike) -> None:
    """Write ``data`` as indented JSON (values JSON does not know, such as NumPy scalars, as strings)."""
    folder = os.path.dirname(os.fspath(path))
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, "w") as handle:
        json.dump(data, handle, indent=1, default=str)


def finish(out: dict, table: str, plot: Callable[[dict, str], None] | None, path: str, json_out: str) -> None:
    """Print the results table, draw the figure (if any) to ``path`` and write the raw results as JSON (if asked)."""
    print(table)
    if plot is not None:
        plot(out, path)
        print(f"figure saved to {path}")
    if json_out:
        write_json(out, json_out)
