"""
Pilot runs that chose the fast Pong preset: candidate configurations of Karpathy's agent side by side, each on
its own ``KarpathyPongVecEnv``, logged like the long runs (``episodes.csv`` with Karpathy's running reward).
Compare them at equal agent steps and episodes; wall-clock figures depend on what else shared the machine.

    python benchmarks/pong/pong_fast_pilots.py A-lr1e-3 0 2 0.75 &    # candidate, seed, games, hours
    python benchmarks/pong/pong_fast_pilots.py C-lr1e-3-4episodes 0 2 0.75 &

Writes ``benchmarks/results/pong_fast/pilots/<candidate>_seed<N>/episodes.csv``.
"""

import sys
from pathlib import Path

import torch as th

from sb3_vpg import REINFORCE
from sb3_vpg.common.callbacks import StopTrainingOnWallClock
from sb3_vpg.pong import karpathy_kwargs
from sb3_vpg.pong.callbacks import EpisodeLog, ProgressPrinter
from sb3_vpg.pong.envs import make_env
from sb3_vpg.pong.run_folder import EPISODES_FILE

CANDIDATES = {
    "A-lr1e-3": lambda: karpathy_kwargs(learning_rate=1e-3),
    "B-lr1e-3-baseline": lambda: karpathy_kwargs(
        learning_rate=1e-3,
        use_baseline=True,
        normalize_advantage="batch",
        vf_coef=0.5,
        policy_kwargs={**karpathy_kwargs()["policy_kwargs"], "value_head": True},
    ),
    "C-lr1e-3-4episodes": lambda: karpathy_kwargs(learning_rate=1e-3, n_episodes=4),
}


def main() -> None:
    name, seed, n_envs, hours = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    th.set_num_threads(1)
    out = Path(__file__).resolve().parents[1] / "results" / "pong_fast" / "pilots" / f"{name}_seed{seed}"
    out.mkdir(parents=True, exist_ok=True)
    (out / EPISODES_FILE).unlink(missing_ok=True)  # a new run
    model = REINFORCE(env=make_env(n_envs, seed, vector_env=True), seed=seed, **CANDIDATES[name]())
    log = EpisodeLog(out)
    printer = ProgressPrinter(log, print_every=10)
    model.learn(10**9, callback=[log, printer, StopTrainingOnWallClock(hours * 3600)], log_interval=None)
    printer.print_progress()


if __name__ == "__main__":
    main()
