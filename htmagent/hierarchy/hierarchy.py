"""Regions stacked into a hierarchy: pooled codes flow up, predictions flow down.

A :class:`Hierarchy` holds levels of :class:`~htmagent.hierarchy.region.Region`. Level 0 regions each see their own
input (a patch of an image, a stream); a region of level ``l + 1`` sees the pooled codes of its children on level
``l``, concatenated in order (several lower regions tile under one upper region). One :meth:`Hierarchy.step` is

1. **bottom-up**, level by level: every region steps on its input and updates its pooled code;
2. **top-down**, from the top level down: every region's feedback (its pooled code by default, or its predicted or
   active cells) becomes the apical input of its children, which recompute their prediction for the next step with
   it (the temporal memory's apical tiebreak: in a
   minicolumn, the predicted cells that the region above also expects win over the others). At the next step the
   children learn their apical synapses on that feedback.

Learning is online and local (each region's pooler and memory learn from what they see); nothing is backpropagated.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from typing import Sequence

import numpy as np

from htmagent._rng import make_rng
from htmagent._state import atomic_load, check_format, get, naming_file
from htmagent.hierarchy.region import Region, RegionParams, _seed_int
from htmagent.sdr import SDR
from htmagent.serialization import StateError, load_state, save_state

__all__ = ["Hierarchy"]

_FORMAT = "htmagent.Hierarchy/1"

#: What a region sends down as its children's apical input.
SIGNALS = ("predicted_cells", "active_cells", "pooled")


def _concatenated(codes: list[SDR]) -> SDR:
    """SDRs side by side: each one's bits shifted by the sizes of those before it."""
    offsets = np.cumsum([0] + [code.size for code in codes])
    bits = [code.sparse + offset for code, offset in zip(codes, offsets)]
    return SDR(int(offsets[-1]), np.concatenate(bits).astype(np.int32))


def _even_children(lower: int, upper: int) -> list[list[int]]:
    if lower < upper:
        raise ValueError(f"a level needs at least as many regions as the level above ({upper}), got {lower}")
    bounds = np.linspace(0, lower, upper + 1).round().astype(int)
    return [list(range(bounds[i], bounds[i + 1])) for i in range(upper)]


class Hierarchy:
    """Levels of regions; each region's pooled code feeds its parent, each parent's predictions feed back.

    Args:
        levels: per level (bottom first), the :class:`RegionParams` of its regions. An upper region's
            ``input_dimensions`` must hold the sum of its children's ``column_count``; its children's
            ``apical_input_size`` is set here to the size of the feedback (with ``feedback``), and their apical
            segments to sample the whole feedback code and fire on 80% of it (unless their ``tm_params`` say
            otherwise).
        children: per level above the bottom, per region, the indices of its children on the level below (default:
            the level below split evenly, in order). Every lower region has exactly one parent.
        feedback: connect each region to its children's apical dendrites.
        layouts: per level above the bottom, per region, ``None`` (its children's codes concatenated in order) or
            ``(rows, columns)``: its children, which must have equal 2-D column sheets of ``h x w``, tiled as a grid
            (child ``k`` at row ``k // columns``), so that its ``input_dimensions`` ``(rows * h, columns * w)`` keep
            their neighbourhoods for the region's topology.
        feedback_signal: what goes down: ``"pooled"`` (the region's pooled code, the slowest-changing of the
            three; the default), ``"predicted_cells"`` (its prediction for the next step) or ``"active_cells"`` (its
            current cells). On the songs of :mod:`htmagent.experiments.hierarchy_sequences` only the pooled code,
            which stays put for the length of a song, is stable enough for the lower region's apical segments to
            learn: it restores the song-specific prediction there, the cells' feedback only partly (see
            docs/results_hierarchy.md).
        seed: int, Generator or None; seeds every region.

    Example:
        >>> low = RegionParams(input_dimensions=32, column_dimensions=64, active_columns=6)
        >>> top = RegionParams(input_dimensions=128, column_dimensions=64, active_columns=6)
        >>> h = Hierarchy([[low, low], [top]], seed=0)
        >>> h.step([SDR(32, [0, 5, 9]), SDR(32, [2, 7])])
        >>> [r.pooled.num_active > 0 for r in h.regions[1]]
        [True]
    """

    def __init__(self, levels: Sequence[Sequence[RegionParams]], children: Sequence[Sequence[Sequence[int]]] | None
                 = None, feedback: bool = True, feedback_signal: str = "pooled",
                 layouts: Sequence[Sequence[Sequence[int] | None]] | None = None,
                 seed: int | np.random.Generator | None = None):
        if not isinstance(levels, (list, tuple)) or not levels or not all(
                isinstance(level, (list, tuple)) and level for level in levels):
            raise ValueError("levels must be a non-empty list of non-empty lists of RegionParams")
        for l, level in enumerate(levels):
            for r, params in enumerate(level):
                if not isinstance(params, RegionParams):
                    raise TypeError(f"levels[{l}][{r}] must be a RegionParams, got {type(params).__name__}")
        if not isinstance(feedback, bool):
            raise TypeError(f"feedback must be a bool, got {type(feedback).__name__}")
        self.feedback = feedback
        if feedback_signal not in SIGNALS:
            raise ValueError(f"feedback_signal must be one of {SIGNALS}, got {feedback_signal!r}")
        self.feedback_signal = feedback_signal
        if children is None:
            children = [_even_children(len(levels[l - 1]), len(levels[l])) for l in range(1, len(levels))]
        if len(children) != len(levels) - 1:
            raise ValueError(f"children must give one list per level above the bottom ({len(levels) - 1}), got "
                             f"{len(children)}")
        self.children = [[[int(c) for c in kids] for kids in level] for level in children]
        self.parent: list[list[int]] = [[-1] * len(level) for level in levels]
        for l, level in enumerate(self.children, start=1):
            if len(level) != len(levels[l]):
                raise ValueError(f"children[{l - 1}] must list the children of each of the {len(levels[l])} "
                                 f"regions of level {l}, got {len(level)} lists")
            for r, kids in enumerate(level):
                if not kids:
                    raise ValueError(f"region {r} of level {l} has no children")
                for c in kids:
                    if not 0 <= c < len(levels[l - 1]) or self.parent[l - 1][c] != -1:
                        raise ValueError(f"children[{l - 1}][{r}] names region {c} of level {l - 1}, which is out of "
                                         "range or already has a parent")
                    self.parent[l - 1][c] = r
        for l, row in enumerate(self.parent[:-1]):
            if -1 in row:
                raise ValueError(f"region {row.index(-1)} of level {l} has no parent")
        levels = [list(level) for level in levels]
        for l in range(1, len(levels)):
            for r, params in enumerate(levels[l]):
                fan_in = sum(levels[l - 1][c].column_count for c in self.children[l - 1][r])
                if params.input_size != fan_in:
                    raise ValueError(f"region {r} of level {l} must take {fan_in} inputs (its children's columns), "
                                     f"got input_dimensions={params.input_dimensions}")
        self.layouts = self._check_layouts(levels, layouts)
        if feedback:
            for l in range(len(levels) - 1):
                for r, params in enumerate(levels[l]):
                    above = levels[l + 1][self.parent[l][r]]
                    size = above.column_count * (1 if feedback_signal == "pooled" else above.cells_per_column)
                    # apical segments sample the whole feedback code and fire on 80% of it (unless given)
                    n = above.pooled_size if feedback_signal == "pooled" else above.active_columns
                    tm_params = {"apical_max_new_synapse_count": n, "apical_activation_threshold":
                                 max(1, int(round(0.8 * n))), "apical_min_threshold": max(1, int(round(0.5 * n))),
                                 **params.tm_params}
                    levels[l][r] = dataclasses.replace(params, apical_input_size=size, tm_params=tm_params)
        self.params = levels
        rng = make_rng(seed)
        self.regions = [[Region(params, seed=_seed_int(rng)) for params in level] for level in levels]

    def _check_layouts(self, levels: list, layouts: object) -> list[list[tuple[int, int] | None]]:
        if layouts is None:
            return [[None] * len(level) for level in levels[1:]]
        if not isinstance(layouts, (list, tuple)) or len(layouts) != len(levels) - 1:
            raise ValueError(f"layouts must give one list per level above the bottom ({len(levels) - 1}), got "
                             f"{layouts!r}")
        out = []
        for l, row in enumerate(layouts, start=1):
            if not isinstance(row, (list, tuple)) or len(row) != len(levels[l]):
                raise ValueError(f"layouts[{l - 1}] must hold one layout (or None) per region of level {l}, got "
                                 f"{row!r}")
            checked = []
            for r, grid in enumerate(row):
                if grid is None:
                    checked.append(None)
                    continue
                kids = self.children[l - 1][r]
                sheets = {levels[l - 1][c].column_dimensions for c in kids}
                if (not isinstance(grid, (list, tuple)) or len(grid) != 2 or not all(
                        isinstance(g, (int, np.integer)) and g >= 1 for g in grid)
                        or int(grid[0]) * int(grid[1]) != len(kids)):
                    raise ValueError(f"layouts[{l - 1}][{r}] must be (rows, columns) of its {len(kids)} children, got "
                                     f"{grid!r}")
                if len(sheets) != 1 or len(next(iter(sheets))) != 2:
                    raise ValueError(f"layouts[{l - 1}][{r}]: a grid layout needs children with one 2-D column "
                                     f"sheet, got {sorted(sheets)}")
                h, w = next(iter(sheets))
                want = (int(grid[0]) * h, int(grid[1]) * w)
                if levels[l][r].input_dimensions != want:
                    raise ValueError(f"region {r} of level {l} laid out as {tuple(grid)} children of {h} x {w} must "
                                     f"have input_dimensions={want}, got {levels[l][r].input_dimensions}")
                checked.append((int(grid[0]), int(grid[1])))
            out.append(checked)
        return out

    # ------------------------------------------------------------------ structure
    @property
    def num_levels(self) -> int:
        """Levels, the bottom one included."""
        return len(self.regions)

    @property
    def bottom(self) -> list[Region]:
        """The regions of level 0 (those that take the inputs)."""
        return self.regions[0]

    @property
    def top(self) -> list[Region]:
        """The regions of the top level."""
        return self.regions[-1]

    def _level(self, level: object) -> list[Region]:
        if not isinstance(level, (int, np.integer)) or isinstance(level, bool) or not 0 <= level < self.num_levels:
            raise ValueError(f"level must be an int in [0, {self.num_levels}), got {level!r}")
        return self.regions[int(level)]

    def _inputs(self, inputs: Sequence) -> list[SDR]:
        if isinstance(inputs, SDR) or not isinstance(inputs, (list, tuple)):
            if len(self.bottom) != 1:
                raise TypeError(f"inputs must be a list of {len(self.bottom)} SDRs (one per bottom region), got "
                                f"{type(inputs).__name__}")
            inputs = [inputs]
        if len(inputs) != len(self.bottom):
            raise ValueError(f"inputs must hold one SDR per bottom region ({len(self.bottom)}), got {len(inputs)}")
        return [region.check_input(x)[0] for region, x in zip(self.bottom, inputs)]

    def _upper_input(self, level: int, r: int) -> SDR:
        kids = self.children[level - 1][r]
        grid = self.layouts[level - 1][r]
        if grid is None:  # concatenated in order
            return _concatenated([self.regions[level - 1][c].pooled for c in kids])
        # a grid of the children's 2-D sheets, row by row: child k's column (y, x) lands at
        # (k // columns * h + y, k % columns * w + x) of the upper region's 2-D input
        h, w = self.regions[level - 1][kids[0]].params.column_dimensions
        width = grid[1] * w
        parts = []
        for k, c in enumerate(kids):
            y, x = np.divmod(self.regions[level - 1][c].pooled.sparse, w)
            parts.append((k // grid[1] * h + y) * width + (k % grid[1] * w + x))
        return SDR(grid[0] * h * width, np.sort(np.concatenate(parts)).astype(np.int32))

    # ------------------------------------------------------------------ stepping
    def step(self, inputs: SDR | Sequence, learn: bool = True, feedback: bool | None = None) -> None:
        """Bottom-up through every level, then top-down (see the module docstring).

        Args:
            inputs: one SDR per bottom region (a single SDR for a one-region bottom level).
            learn: learn in every region.
            feedback: send predictions down this step (default: the hierarchy's ``feedback``); False gives every
                region's prediction from its own context alone (a hierarchy built without feedback cannot turn it
                on).

        Raises:
            ValueError, TypeError: wrong number of inputs, a wrong size; nothing is changed then.
        """
        xs = self._inputs(inputs)
        if not isinstance(learn, (bool, np.bool_)):
            raise TypeError(f"learn must be a bool, got {type(learn).__name__}")
        use_feedback = self.feedback if feedback is None else bool(feedback)
        if use_feedback and not self.feedback:
            raise ValueError("feedback=True needs a hierarchy built with feedback=True")
        for region, x in zip(self.bottom, xs):
            region.step(x, learn=bool(learn))
        for level in range(1, self.num_levels):
            for r, region in enumerate(self.regions[level]):
                region.step(self._upper_input(level, r), learn=bool(learn))
        if use_feedback:
            for level in range(self.num_levels - 1, 0, -1):
                for r, region in enumerate(self.regions[level]):
                    down = getattr(region, self.feedback_signal)
                    for c in self.children[level - 1][r]:
                        self.regions[level - 1][c].feedback(down)

    def reset(self, levels: Sequence[int] | None = None) -> None:
        """End a sequence in the given levels (default: all): memory context, pools and outputs cleared."""
        chosen = [self._level(level) for level in (range(self.num_levels) if levels is None else levels)]
        for regions in chosen:  # every level checked before any is reset
            for region in regions:
                region.reset()

    # ------------------------------------------------------------------ outputs
    def pooled(self, level: int) -> SDR:
        """The pooled codes of a level's regions, concatenated."""
        return _concatenated([region.pooled for region in self._level(level)])

    def active_columns(self, level: int) -> SDR:
        """The active columns of a level's regions, concatenated."""
        return _concatenated([region.active_columns for region in self._level(level)])

    # ------------------------------------------------------------------ persistence
    def _structure(self) -> dict:
        return {"levels": [[p.to_dict() for p in level] for level in self.params], "children": self.children,
                "feedback": self.feedback, "feedback_signal": self.feedback_signal,
                "layouts": [[None if g is None else list(g) for g in row] for row in self.layouts]}

    def state_dict(self) -> dict:
        """Everything needed to resume exactly (region ``r`` of level ``l`` under ``regions/l.r``)."""
        return {"format": _FORMAT, "structure": self._structure(),
                "regions": {f"{l}.{r}": region.state_dict() for l, level in enumerate(self.regions)
                            for r, region in enumerate(level)}}

    @atomic_load
    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` output (the structure must match); atomic: a malformed state raises
        :class:`~htmagent.serialization.StateError` and leaves the hierarchy as it was."""
        check_format(state, _FORMAT)
        if get(state, "structure") != self._structure():
            raise StateError("structure must match this hierarchy's (levels, children, feedback)", field="structure")
        saved = get(state, "regions")
        names = {f"{l}.{r}" for l, level in enumerate(self.regions) for r in range(len(level))}
        if not isinstance(saved, dict) or set(saved) != names:
            raise StateError(f"regions must hold one state per region, named {sorted(names)}", field="regions")
        regions = [[copy.deepcopy(region) for region in level] for level in self.regions]
        for l, level in enumerate(regions):
            for r, region in enumerate(level):
                region.load_state_dict(saved[f"{l}.{r}"])
        self.regions = regions

    def save(self, path: str | os.PathLike) -> None:
        """Write the hierarchy to ``path`` (npz + JSON, no pickle)."""
        save_state(path, self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Hierarchy":
        """Read a hierarchy written by :meth:`save`."""
        with naming_file(path):
            state = load_state(path)
            check_format(state, _FORMAT)
            structure = get(state, "structure")
            try:
                levels = [[Region.from_params_dict(p).params for p in level] for level in structure["levels"]]
                # the saved params hold the apical sizes the hierarchy set; rebuild from them with the same wiring
                hierarchy = cls(levels, children=structure["children"], feedback=structure["feedback"],
                                feedback_signal=structure["feedback_signal"], layouts=structure["layouts"], seed=0)
            except (TypeError, ValueError, KeyError) as error:
                raise StateError(f"structure is not a valid hierarchy: {error}", field="structure") from error
            hierarchy.load_state_dict(state)
        return hierarchy

    def __repr__(self) -> str:
        return f"Hierarchy(levels={[len(level) for level in self.regions]}, feedback={self.feedback})"
