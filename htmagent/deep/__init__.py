"""The torch room: DeepHTM, an HTM made differentiable (learned encoder, k-winner columns, cells chosen by learned
context, learned decoder), trained end to end. Needs PyTorch (``pip install htmagent[deep]``); nothing else in the
library imports this package."""

from htmagent.deep.layers import (DiffSpatialPooler, DiffTemporalMemory, KWinners, SparseWeights, k_winners,
                                  seeded_weights)
from htmagent.deep.model import DeepHTM

__all__ = ["DeepHTM", "DiffSpatialPooler", "DiffTemporalMemory", "KWinners", "SparseWeights", "k_winners", "seeded_weights"]
