"""The experiments room: paper reproductions, studies and benchmarks as importable modules.

- ``hawkins2017``: Hawkins, Ahmad & Cui 2017 (Figs 4A-6A, speed): ``htmagent recognize fig4a ...``.
- ``lewis2019``: Lewis et al. 2019 grid-cell columns (Figs 7B, 8A-C, speed): ``htmagent recognize lewis-...``.
- ``grid_columns``: several grid-cell columns voting: ``htmagent recognize grid-columns``.
- ``column_speed``: sensations per second of one column of each paper (``recognize speed|lewis-speed``).
- ``recognize``: the ``htmagent recognize`` command, assembled from the modules above.
- ``cui2016``: Cui, Ahmad & Hawkins 2016 high-order sequences with a switch (Fig 4).
- ``agent_evaluation``: HTMAgent on ObjectTouch-v0 / ObjectSaccade-v0 beside the ideal observer.
- ``active_sensing``: an RL policy moving the sensors for a pretrained network.
- ``rl``: PPO with and without the HTM plugin (masked CartPole, MountainCar, DoorKey) and its run JSONs.
- ``rl_diagnostics``: what a linear readout recovers from each observation variant of masked CartPole.
- ``bench``: ``htmagent bench``: steps per second and model size of the classic HTM.
- ``args``, ``report``: the one argument base of every experiment and the one table/figure/JSON helper.

Every experiment declares its arguments as a dataclass on one base (:mod:`htmagent.experiments.args`) and reports
through one table-and-figure helper (:mod:`htmagent.experiments.report`); ``scripts/`` holds thin entry points.
"""
