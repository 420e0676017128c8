"""Gymnasium environments and wrappers (``htmagent.envs``); importing this package registers the environment ids.

Wrappers for any environment: :class:`HTMObservation` (HTM predictions and anomaly as observations) and
:class:`HTMCuriosity` (anomaly or novelty as an intrinsic reward); for a whole vector env,
:class:`HTMVectorObservation` (one batched HTM, shared by the copies or one per copy).

Registered ids (see each class docstring for the manual):

- ``htmagent/ObjectTouch-v0`` -> :class:`ObjectTouchEnv`: sensors touch features on a grid object.
- ``htmagent/ObjectSaccade-v0`` -> :class:`ObjectSaccadeEnv`: sensor patches saccade over a glyph image.

Example:
    >>> import gymnasium as gym
    >>> import htmagent.envs
    >>> env = gym.make("htmagent/ObjectTouch-v0", num_sensors=3)
    >>> observation, info = env.reset(seed=0)
    >>> observation["features"].shape
    (3, 150)
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

from htmagent.envs.curiosity import HTMCuriosity, IntrinsicNormalizer, RawCountBonus
from htmagent.envs.object_saccade import ObjectSaccadeEnv
from htmagent.envs.object_touch import ObjectTouchEnv
from htmagent.envs.vector import HTMBatch, HTMVectorObservation
from htmagent.envs.wrappers import HTMObservation, HTMStream, SpaceEncoder

__all__ = ["HTMBatch", "HTMCuriosity", "HTMVectorObservation", "IntrinsicNormalizer", "RawCountBonus",
           "HTMObservation", "HTMStream", "ObjectSaccadeEnv", "ObjectTouchEnv", "SpaceEncoder"]

_ENVIRONMENTS = {
    "htmagent/ObjectTouch-v0": ("htmagent.envs.object_touch:ObjectTouchEnv", 50),
    "htmagent/ObjectSaccade-v0": ("htmagent.envs.object_saccade:ObjectSaccadeEnv", 100),
}

for _env_id, (_entry_point, _max_steps) in _ENVIRONMENTS.items():
    # A reload of this module must not register twice (gymnasium warns on overrides).
    if _env_id not in registry:
        register(id=_env_id, entry_point=_entry_point, max_episode_steps=_max_steps)
