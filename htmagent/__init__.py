"""htmagent: Hierarchical Temporal Memory and Thousand-Brains sensorimotor learning for reinforcement learning.

Top-level names are imported lazily, so ``import htmagent`` is cheap and does not compile numba kernels until a
class is used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "SDR": "htmagent.sdr",
    "NotLearnedError": "htmagent._validation",
    "StateError": "htmagent.serialization",
    "SDRMetrics": "htmagent.sdr",
    "ObjectSet": "htmagent.cortex.objects",
    "SensoryObject": "htmagent.cortex.objects",
    "HTMAgent": "htmagent.agent.htm_agent",
    "ActiveSensingEnv": "htmagent.envs.active_sensing",
    "Evaluation": "htmagent.agent.htm_agent",
    "IdealObserver": "htmagent.cortex.baselines",
    "BagOfFeatures": "htmagent.cortex.baselines",
    "Connections": "htmagent.connections",
    "SpatialPooler": "htmagent.spatial_pooler",
    "AnomalyDetector": "htmagent.anomaly",
    "AnomalyLikelihood": "htmagent.anomaly",
    "Predictor": "htmagent.predictor",
    "ScalarPredictor": "htmagent.predictor",
    "TemporalMemory": "htmagent.temporal_memory",
    "ObjectLayer": "htmagent.cortex.object_layer",
    "ObjectLayerParams": "htmagent.cortex.object_layer",
    "CorticalColumn": "htmagent.cortex.column",
    "LocationSource": "htmagent.cortex.column",
    "RandomLocationCodes": "htmagent.cortex.column",
    "Network": "htmagent.cortex.network",
    "InferenceResult": "htmagent.cortex.network",
    "LocationNetwork": "htmagent.cortex.location_network",
    "LocationColumn": "htmagent.cortex.location_column",
    "RandomPolicy": "htmagent.agent.motor",
    "HypothesisPolicy": "htmagent.agent.motor",
    "RandomJumps": "htmagent.agent.motor",
    "HypothesisJumps": "htmagent.agent.motor",
    "MotorPolicy": "htmagent.agent.motor",
    "HTMObservation": "htmagent.envs.wrappers",
    "HTMCuriosity": "htmagent.envs.curiosity",
    "HTMVectorObservation": "htmagent.envs.vector",
    "HTMVecWrapper": "htmagent.sb3",
    "HTMFeaturesExtractor": "htmagent.sb3",
    "make_htm_ppo": "htmagent.sb3",
    "make_htm_model": "htmagent.sb3",
    "make_htm_vec_env": "htmagent.sb3",
    "save_htm_model": "htmagent.sb3",
    "load_htm_model": "htmagent.sb3",
    "HTMLogger": "htmagent.sb3",
    "HTMCheckpoint": "htmagent.sb3",
    "Region": "htmagent.hierarchy",
    "RegionParams": "htmagent.hierarchy",
    "Hierarchy": "htmagent.hierarchy",
    "GridCellModule": "htmagent.gridcells",
    "LocationLayer": "htmagent.gridcells",
    "GridCellEncoder": "htmagent.gridcells",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'htmagent' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
