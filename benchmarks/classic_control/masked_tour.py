"""
What action masks buy on a routing toy: MaskableREINFORCE on TinyTour-v0 (7 fixed cities, 720 tours; an
infeasible city ends the episode at a cost of 10), trained with and without masks (``learn(use_masking=...)``),
seeds 0-4, 16,000 steps. Every 2,000 steps the deterministic tour is scored against the shortest one (brute force),
and 100 sampled episodes give the share that end infeasible and their mean length in steps (a tour is 6; an agent
trained without masks is evaluated without them too). Writes ``results/masked_tour/masked_tour.csv`` and ``masked_tour.md``.

    python benchmarks/classic_control/masked_tour.py
    python benchmarks/classic_control/masked_tour.py --steps 4000 --seeds 0 --out /tmp/tour   # a quick look
"""

import argparse
import csv
import statistics
from pathlib import Path

import numpy as np
import torch as th
from sb3_contrib.common.maskable.evaluation import evaluate_policy
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

from sb3_vpg import MaskableREINFORCE
from sb3_vpg.common.envs import TinyTourEnv
from sb3_vpg.common.files import replaced_whole, write_text_whole

parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
parser.add_argument("--steps", type=int, default=16_000, help="steps per run (a multiple of 2,000)")
parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "results" / "masked_tour")
args = parser.parse_args()
EVAL_EVERY = 2_000
N_SAMPLED = 100
# the entry of tests/test_maskable.py's learning test
ARGS = {"n_steps": 16, "learning_rate": 3e-3, "use_baseline": True, "bootstrap_incomplete": False}
SHORTEST = TinyTourEnv().shortest_tour_length()
PENALTY = TinyTourEnv().invalid_penalty


class TourScore(BaseCallback):
    """Every ``EVAL_EVERY`` steps: the deterministic tour's length over the shortest (inf where infeasible) and the
    share of infeasible sampled episodes."""

    def __init__(self, use_masking: bool, seed: int):
        super().__init__()
        self.use_masking, self.seed, self.rows = use_masking, seed, []

    def _on_step(self) -> bool:
        if self.num_timesteps % EVAL_EVERY:
            return True
        env = make_vec_env(TinyTourEnv, seed=10_000 + self.seed)
        kwargs = {"use_masking": self.use_masking, "return_episode_rewards": True}
        (tour,), _ = evaluate_policy(self.model, env, n_eval_episodes=1, deterministic=True, **kwargs)
        sampled, lengths = evaluate_policy(self.model, env, n_eval_episodes=N_SAMPLED, deterministic=False, **kwargs)
        infeasible = float(np.mean(np.asarray(sampled) <= -PENALTY))
        ratio = -tour / SHORTEST if tour > -PENALTY else float("inf")
        self.rows.append({"masks": self.use_masking, "seed": self.seed, "timesteps": self.num_timesteps,
                          "tour_over_shortest": ratio, "infeasible_share": infeasible,
                          "mean_length": float(np.mean(lengths))})  # fmt: skip
        return True


if args.steps < EVAL_EVERY or args.steps % EVAL_EVERY:
    parser.error(f"--steps must be a positive multiple of {EVAL_EVERY:,}, got {args.steps}")
th.set_num_threads(1)
rows = []
for use_masking in (True, False):
    for seed in args.seeds:
        env = make_vec_env(TinyTourEnv, n_envs=8, seed=seed)
        callback = TourScore(use_masking, seed)
        # the callback counts vectorised steps of 8: EVAL_EVERY is a multiple of 8
        MaskableREINFORCE("MlpPolicy", env, seed=seed, **ARGS).learn(args.steps, callback=callback, use_masking=use_masking)
        rows += callback.rows
        print(use_masking, seed, callback.rows[-1])

args.out.mkdir(parents=True, exist_ok=True)
with replaced_whole(args.out / "masked_tour.csv") as temporary, open(temporary, "w", newline="") as file:
    writer = csv.DictWriter(file, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)

lines = [
    f"MaskableREINFORCE on TinyTour-v0 (shortest tour {SHORTEST:.4f}), seeds {', '.join(map(str, args.seeds))}, "
    "medians over seeds; a deterministic tour that ends infeasible counts as inf.",
    "",
    "| steps | with masks: tour / shortest | sampled: infeasible, mean length | without masks: tour / shortest | "
    "sampled: infeasible, mean length |",
    "|---|---|---|---|---|",
]
for steps in range(EVAL_EVERY, args.steps + 1, EVAL_EVERY):
    cells = []
    for use_masking in (True, False):
        at = [row for row in rows if row["masks"] is use_masking and row["timesteps"] == steps]
        ratio = statistics.median(row["tour_over_shortest"] for row in at)
        share = statistics.median(row["infeasible_share"] for row in at)
        length = statistics.median(row["mean_length"] for row in at)
        cells += [f"{ratio:.3f}" if np.isfinite(ratio) else "infeasible", f"{share:.0%}, {length:.2f}"]
    lines.append(f"| {steps:,} | " + " | ".join(cells) + " |")
write_text_whole(args.out / "masked_tour.md", "\n".join(lines) + "\n")
print("\n".join(lines))
