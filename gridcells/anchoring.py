"""Sensory anchoring: dendrite segments on grid cells that recognise the sensory layer's (L4's) activity.

Each grid cell owns dendrite segments whose synapses come from L4 cells (a
:class:`~htmagent.connections.Connections`, one for all the cells of a layer). While learning, the cell nearest each
bump centre grows or reinforces a segment onto the L4 winner cells, so that this feature-at-location later recalls
this location. While inferring, a cell whose segment has enough connected synapses onto active L4 cells is
*sensory-supported*: the sensed feature says the sensor may be here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from htmagent._validation import check_int, check_real
from htmagent.connections import Connections
from htmagent.temporal_memory import DEFAULT_MEMORY_BUDGET
from htmagent.sdr import SDR

__all__ = ["AnchorParams", "PAPER_ANCHOR", "supported_cells", "learn_anchors"]


@dataclass(frozen=True)
class AnchorParams:
    """Parameters of the L4 -> grid-cell anchoring segments (htm.core names in snake_case).

    Dendrites:
        activation_threshold: connected synapses onto active L4 cells that make a segment active (recall a
            location). Keep it below ``sample_size`` so that a few missing L4 cells still recall.
        connected_permanence: permanence at which a synapse counts as connected.
        max_segments_per_cell: cap per cell; the least recently used segment is replaced beyond it.
        max_synapses_per_segment: cap per segment; the weakest synapses are dropped beyond it.
        memory_budget: bytes the anchoring store may allocate (``None``: no limit but the caps); past it, the least
            recently learned segments are retired (never the ones the current step learns on), so memory stays
            bounded on a never-repeating stream while learning goes on. The default is the temporal memory's.

    Learning:
        learning_threshold: synapses (any permanence) onto the L4 winners that make an existing segment the one to
            reinforce instead of growing a new one.
        sample_size: synapses a learning segment is brought up to (new synapses to a random sample of winners).
        initial_permanence: permanence of a new synapse; 1.0 (the paper's value) recalls after a single exposure.
        permanence_increment / permanence_decrement: Hebbian change for synapses onto winners / onto other cells.
    """

    activation_threshold: int = 8
    learning_threshold: int = 8
    sample_size: int = 10
    initial_permanence: float = 1.0
    connected_permanence: float = 0.5
    permanence_increment: float = 0.1
    permanence_decrement: float = 0.0
    max_segments_per_cell: int = 255
    max_synapses_per_segment: int = 255
    memory_budget: int | None = DEFAULT_MEMORY_BUDGET

    def __post_init__(self) -> None:
        if self.memory_budget is not None:
            check_int(self.memory_budget, "memory_budget", 1)
        check_int(self.activation_threshold, "activation_threshold", 1)
        check_int(self.learning_threshold, "learning_threshold", 1)
        check_int(self.sample_size, "sample_size", 1)
        check_int(self.max_segments_per_cell, "max_segments_per_cell", 1)
        check_int(self.max_synapses_per_segment, "max_synapses_per_segment", 1)
        check_real(self.initial_permanence, "initial_permanence", 0.0, 1.0, low_open=True)
        check_real(self.connected_permanence, "connected_permanence", 0.0, 1.0)
        check_real(self.permanence_increment, "permanence_increment", 0.0, 1.0)
        check_real(self.permanence_decrement, "permanence_decrement", 0.0, 1.0)


#: The anchoring used by Lewis, Purdy, Ahmad & Hawkins 2019 (all "gaussian" figures).
PAPER_ANCHOR = AnchorParams()


def supported_cells(conn: Connections, l4_active: SDR, params: AnchorParams) -> np.ndarray:
    """Owners of the segments active under ``l4_active``: one entry per active segment.

    A cell with several active segments appears several times (the array is sorted and read-only); callers that
    need a set deduplicate.
    """
    return conn.active_segment_cells(l4_active, params.connected_permanence, params.activation_threshold)


def learn_anchors(conn: Connections, learning_cells: np.ndarray, l4_winners: SDR, params: AnchorParams) -> None:
    """Associate each learning cell with the L4 winner cells.

    Per learning cell: every segment already active under the winners is reinforced; otherwise its best matching
    segment (most synapses onto winners, at least ``learning_threshold``; ties to the lower id) is reinforced;
    otherwise a new segment grows ``min(sample_size, len(l4_winners))`` synapses. Reinforcing = Hebbian adaptation
    plus new synapses up to ``sample_size`` onto winners.
    """
    if learning_cells.size == 0 or l4_winners.num_active == 0:
        return
    conn.iteration += 1
    activity = conn.compute_activity(l4_winners, params.connected_permanence)
    # Room for everything this step may add, made now: under a memory budget that may retire old segments, and
    # none of the segments found active or matching below may go while their ids are held.
    new_synapses = int(learning_cells.size) * params.sample_size
    conn.ensure_capacity(int(learning_cells.size), new_synapses, protected=activity.segments,
                         presynaptic_cells=l4_winners.num_active)
    owners = conn.segment_cells(activity.segments) if activity.segments.size else np.empty(0, dtype=np.int32)
    for cell in learning_cells.tolist():
        mine = owners == cell
        segments = activity.segments[mine]
        potential = activity.potential[mine]
        is_active = activity.connected[mine] >= params.activation_threshold
        if is_active.any():
            chosen, overlaps = segments[is_active].tolist(), potential[is_active].tolist()
        else:
            matching = potential >= params.learning_threshold
            if matching.any():
                best = int(np.argmax(np.where(matching, potential, -1)))
                chosen, overlaps = [int(segments[best])], [int(potential[best])]
            else:
                segment = conn.create_segment(cell)
                conn.grow_synapses(segment, l4_winners, min(params.sample_size, l4_winners.num_active),
                                   params.initial_permanence)
                continue
        for segment, overlap in zip(chosen, overlaps):
            if conn.adapt_segment(segment, l4_winners, params.permanence_increment, params.permanence_decrement):
                missing = params.sample_size - overlap
                if missing > 0:
                    conn.grow_synapses(segment, l4_winners, missing, params.initial_permanence)
