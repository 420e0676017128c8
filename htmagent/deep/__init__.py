"""The torch room: DeepHTM, an HTM made differentiable (learned encoder, k-winner columns, cells chosen by learned
context, learned decoder), trained end to end; predictive coding (:mod:`.pc`); the learned curiosity baselines RND,
ICM and E3B (:mod:`.exploration`); the digits CNN baseline of the hierarchy experiments (:mod:`.cnn`). Needs
PyTorch (``pip install htmagent[deep]``); the rest of the library imports this package only inside the functions
that need it (the torch arms of the experiments, :mod:`htmagent.sb3`)."""

from htmagent.deep.layers import (DiffSpatialPooler, DiffTemporalMemory, KWinners, SparseWeights, k_winners,
                                  seeded_weights)
from htmagent.deep.exploration import E3BBonus, ICMBonus, RNDBonus
from htmagent.deep.model import DeepHTM
from htmagent.deep.recurrent import RecurrentDeepHTM

__all__ = ["DeepHTM", "E3BBonus", "ICMBonus", "RNDBonus", "RecurrentDeepHTM",
           "DiffSpatialPooler", "DiffTemporalMemory", "KWinners", "SparseWeights", "k_winners", "seeded_weights"]
