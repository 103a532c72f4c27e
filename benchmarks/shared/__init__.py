"""
The library of the benchmark scripts (each script is one job, top to bottom, and imports from here only):

- :mod:`shared.tables`: our CSVs of runs, and medians for tables;
- :mod:`shared.zoo_runs`: runs of the zoo's train command (suites, run records, resumable training);
- :mod:`shared.pong_games`: the running reward of Pong games, its tables and curves;
- :mod:`shared.pong_runs`: resumable runs of ``python -m sb3_vpg.pong train``, on the package's run folder;
- :mod:`shared.pong_entries`: SB3's PPO and A2C on the Pong input, the entries of the head to head;
- :mod:`shared.mujoco_runs`: the MuJoCo suite and its runs in parts.

The scripts live in folders by subject (``mujoco/``, ``pong/``, ``classic_control/``, ``speed/``, ``agents/``) and
put this folder on ``sys.path`` first.
"""

from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1]
RESULTS = BENCHMARKS / "results"
CONFIGS = BENCHMARKS / "configs"
ROOT = BENCHMARKS.parent
