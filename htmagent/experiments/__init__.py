"""The experiments room: paper reproductions, studies and benchmarks as importable modules.

- ``hawkins2017``: Hawkins, Ahmad & Cui 2017 (Figs 4A-6A, speed): ``htmagent recognize fig4a ...``.
- ``lewis2019``: Lewis et al. 2019 grid-cell columns (Figs 7B, 8A-C, speed): ``htmagent recognize lewis-...``.
- ``grid_columns``: several grid-cell columns voting: ``htmagent recognize grid-columns``.
- ``active_sensing``: an RL policy moving the sensors for a pretrained network.
- ``bench``: ``htmagent bench``: steps per second and model size of the classic HTM.

Every experiment declares its arguments as a dataclass on one base (:mod:`htmagent.experiments.args`) and reports
through one table-and-figure helper (:mod:`htmagent.experiments.report`); ``scripts/`` holds thin entry points.
"""
