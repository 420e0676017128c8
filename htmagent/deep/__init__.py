"""The torch room: DeepHTM, an HTM made differentiable (learned encoder, k-winner columns, cells chosen by learned
context, learned decoder), trained end to end; predictive coding (:mod:`.pc`); the learned curiosity baselines RND,
ICM and E3B (:mod:`.exploration`). Needs PyTorch (``pip install htmagent[deep]``); nothing else in the library
imports this package."""

from htmagent.deep.layers import (DiffSpatialPooler, DiffTemporalMemory, KWinners, SparseWeights, k_winners,
                                  seeded_weights)
from htmagent.deep.exploration import E3BBonus, ICMBonus, RNDBonus
from htmagent.deep.model import DeepHTM

__all__ = ["DeepHTM", "E3BBonus", "ICMBonus", "RNDBonus",
           "DiffSpatialPooler", "DiffTemporalMemory", "KWinners", "SparseWeights", "k_winners", "seeded_weights"]
