"""The agent room: :class:`HTMAgent`, which plays the sensorimotor environments, and where its sensors move next.

- ``htm_agent``: :class:`HTMAgent` (learns an environment's object library, plays it, declares objects) and
  :class:`Evaluation`.
- ``learning``: the learning episodes through which the agent learns an environment's library.
- ``cli``: the ``htmagent agent`` command.
- ``motor``: every motor policy of the library, one protocol: :class:`~htmagent.agent.motor.RandomJumps`,
  :class:`~htmagent.agent.motor.HypothesisJumps` and their kin, used by ``Network.infer``, :class:`HTMAgent` and the
  active-sensing environment alike.

Names are loaded lazily: :mod:`htmagent.cortex.network` imports the motor module, which must not pull the agent (and
with it the network) back in.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "HTMAgent": "htmagent.agent.htm_agent",
    "Evaluation": "htmagent.agent.htm_agent",
    "register": "htmagent.agent.cli",
    "RandomJumps": "htmagent.agent.motor",
    "HypothesisJumps": "htmagent.agent.motor",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'htmagent.agent' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
