"""
REINFORCE vs A2C vs PPO on CartPole-v1, in one run, several seeds: steps per second and steps to an
evaluation mean of 475.

Hyperparameters: rl_zoo3's published ``hyperparams/a2c.yml`` and ``ppo.yml`` entries for CartPole-v1, our
``zoo_configs/reinforce.yml``; all with 8 envs (the zoo's ``n_envs``), one torch thread per process.

Two measurements per (algorithm, seed), each in its own process:
* throughput: train ``--throughput-steps`` steps with no evaluation; steps/s = steps / wall seconds;
* sample efficiency: train with a deterministic 10-episode evaluation every ``--eval-every`` steps until the
  mean reaches 475 twice in a row or the algorithm's budget runs out; report the first step it reached 475.

Outputs in benchmarks/results/: cartpole_runs.csv, cartpole_evals.csv, cartpole_summary.md, cartpole_curves.png.

    python benchmarks/speed/cartpole_throughput.py --seeds 0 1 2 3 4 --workers 2
"""

import argparse
import csv
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy

from sb3_vpg.common.files import replaced_whole, write_text_whole

RESULTS = Path(__file__).resolve().parents[1] / "results"
ENV_ID = "CartPole-v1"
THRESHOLD = 475.0
# Step budgets for the sample-efficiency runs: the zoo's n_timesteps for PPO/REINFORCE; A2C's zoo budget is
# 500k, capped here to keep the benchmark under half an hour (an A2C run that has not reached 475 by then is
# reported as such).
BUDGETS = {"reinforce": 100_000, "ppo": 100_000, "a2c": 200_000}


def zoo_hyperparams(algo: str) -> dict[str, Any]:
    """The CartPole-v1 entry of rl_zoo3's (or our) hyperparameter file, with lin_ schedules converted."""
    if algo == "reinforce":
        path = Path(__file__).resolve().parents[2] / "zoo_configs" / "reinforce.yml"
    else:
        import rl_zoo3

        path = Path(rl_zoo3.__file__).parent / "hyperparams" / f"{algo}.yml"
    with open(path) as file:
        params = dict(yaml.safe_load(file)[ENV_ID])
    from rl_zoo3.utils import linear_schedule

    for key, value in params.items():
        if isinstance(value, str) and value.startswith("lin_"):
            params[key] = linear_schedule(float(value[4:]))
    params.pop("n_timesteps")
    return params


def make_model(algo: str, seed: int) -> Any:
    from stable_baselines3 import A2C, PPO
    from stable_baselines3.common.env_util import make_vec_env

    from sb3_vpg import REINFORCE

    params = zoo_hyperparams(algo)
    env = make_vec_env(ENV_ID, n_envs=params.pop("n_envs"), seed=seed)
    algo_class = {"reinforce": REINFORCE, "a2c": A2C, "ppo": PPO}[algo]
    return algo_class(params.pop("policy"), env, seed=seed, **params)


def run(job: tuple[str, str, int, int, int]) -> dict[str, Any]:
    kind, algo, seed, steps, eval_every = job
    import torch as th

    th.set_num_threads(1)
    from stable_baselines3.common.env_util import make_vec_env

    model = make_model(algo, seed)
    if kind == "throughput":
        start = time.perf_counter()
        model.learn(steps)
        seconds = time.perf_counter() - start
        return {"kind": kind, "algo": algo, "seed": seed, "steps": model.num_timesteps, "seconds": seconds}
    # One learn() call over the whole budget, so that PPO's lin_ schedules run as in the zoo.
    evaluator = EvaluateEvery(make_vec_env(ENV_ID, n_envs=1, seed=10_000 + seed), eval_every)
    model.learn(steps, callback=evaluator)
    return {"kind": kind, "algo": algo, "seed": seed, "evals": evaluator.evals}


class EvaluateEvery(BaseCallback):
    """Deterministic 10-episode evaluation every ``every`` steps; stops once two in a row reach 475."""

    def __init__(self, eval_env: Any, every: int) -> None:
        super().__init__()
        self.eval_env = eval_env
        self.every = every
        self.next_eval = every
        self.evals: list[tuple[int, float]] = []

    def _on_step(self) -> bool:
        if self.num_timesteps < self.next_eval:
            return True
        self.next_eval += self.every
        mean_return, _ = evaluate_policy(self.model, self.eval_env, n_eval_episodes=10, deterministic=True)
        self.evals.append((self.num_timesteps, float(mean_return)))
        return not (len(self.evals) >= 2 and min(self.evals[-1][1], self.evals[-2][1]) >= THRESHOLD)


def steps_to_threshold(evals: list[tuple[int, float]]) -> int | None:
    return next((step for step, mean_return in evals if mean_return >= THRESHOLD), None)


def write_outputs(results: list[dict[str, Any]], algos: list[str], seeds: list[int]) -> str:
    RESULTS.mkdir(parents=True, exist_ok=True)
    throughput = {(r["algo"], r["seed"]): r["steps"] / r["seconds"] for r in results if r["kind"] == "throughput"}
    efficiency = {(r["algo"], r["seed"]): r for r in results if r["kind"] == "efficiency"}

    with replaced_whole(RESULTS / "cartpole_evals.csv") as temporary, open(temporary, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["algo", "seed", "timesteps", "eval_mean_return"])
        for (algo, seed), r in sorted(efficiency.items()):
            for step, mean_return in r["evals"]:
                writer.writerow([algo, seed, step, f"{mean_return:.2f}"])

    with replaced_whole(RESULTS / "cartpole_runs.csv") as temporary, open(temporary, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["algo", "seed", "steps_per_second", "steps_to_475", "budget", "final_eval_mean_return"])
        for algo in algos:
            for seed in seeds:
                r = efficiency[(algo, seed)]
                reached = steps_to_threshold(r["evals"])
                writer.writerow(
                    [
                        algo,
                        seed,
                        f"{throughput[(algo, seed)]:.1f}",
                        reached if reached else "",
                        BUDGETS[algo],
                        r["evals"][-1][1],
                    ]
                )

    def median_sps(algo: str) -> float:
        return statistics.median(throughput[(algo, seed)] for seed in seeds)

    def median_steps(algo: str) -> float | None:
        # A run that never reached the threshold counts as infinitely slow (it sorts last).
        values = [steps_to_threshold(efficiency[(algo, seed)]["evals"]) or float("inf") for seed in seeds]
        value = statistics.median(values)
        return None if value == float("inf") else value

    lines = [
        f"# CartPole-v1: REINFORCE vs A2C vs PPO ({len(seeds)} seeds: {seeds})",
        "",
        f"Machine: {os.cpu_count()} cores, {cpu_model()}; date {time.strftime('%Y-%m-%d')}; one torch thread per process,",
        "two processes at a time. Hyperparameters: rl_zoo3's CartPole-v1 entries (A2C, PPO), our zoo_configs (REINFORCE).",
        "",
        "| algorithm | median steps/s | steps/s vs REINFORCE | median steps to 475 | runs that reached 475 |",
        "|---|---|---|---|---|",
    ]
    for algo in algos:
        reached = sum(steps_to_threshold(efficiency[(algo, s)]["evals"]) is not None for s in seeds)
        steps = median_steps(algo)
        ratio = median_sps(algo) / median_sps("reinforce")
        steps_text = f"{steps:,.0f}" if steps is not None else f"not reached in {BUDGETS[algo]:,}"
        runs_text = f"{reached}/{len(seeds)} (budget {BUDGETS[algo]:,})"
        lines.append(f"| {algo} | {median_sps(algo):,.0f} | {ratio:.2f} | {steps_text} | {runs_text} |")
    per_seed_ratio = {
        peer: statistics.median(throughput[("reinforce", s)] / throughput[(peer, s)] for s in seeds)
        for peer in algos
        if peer != "reinforce"
    }
    lines += ["", "Median over seeds of the per-seed throughput ratio REINFORCE / peer: "]
    lines += [f"- vs {peer}: {ratio:.2f}x" for peer, ratio in per_seed_ratio.items()]
    summary = "\n".join(lines) + "\n"
    write_text_whole(RESULTS / "cartpole_summary.md", summary)
    plot(efficiency, algos, seeds)
    return summary


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def plot(efficiency: dict, algos: list[str], seeds: list[int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 4))
    for algo in algos:
        curves = [dict(efficiency[(algo, seed)]["evals"]) for seed in seeds]
        steps = sorted(set().union(*curves))
        # A run that stopped after solving keeps its last value (it stopped at 475+ twice in a row).
        table = np.array(
            [[c.get(s, c[max(k for k in c if k <= s)] if any(k <= s for k in c) else np.nan) for s in steps] for c in curves]
        )
        median = np.nanmedian(table, axis=0)
        low, high = np.nanpercentile(table, 25, axis=0), np.nanpercentile(table, 75, axis=0)
        ax.plot(steps, median, label=algo)
        ax.fill_between(steps, low, high, alpha=0.2)
    ax.axhline(THRESHOLD, color="grey", linestyle=":")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("evaluation mean return (median, IQR band)")
    ax.set_title(f"CartPole-v1, {len(seeds)} seeds")
    ax.legend()
    fig.tight_layout()
    with replaced_whole(RESULTS / "cartpole_curves.png") as temporary:
        fig.savefig(temporary, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--algos", nargs="+", default=["reinforce", "a2c", "ppo"])
    parser.add_argument("--throughput-steps", type=int, default=40_000)
    parser.add_argument("--eval-every", type=int, default=5_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if "reinforce" not in args.algos:
        parser.error("--algos must include reinforce (ratios are against it)")

    jobs = [("throughput", algo, seed, args.throughput_steps, 0) for seed in args.seeds for algo in args.algos]
    jobs += [("efficiency", algo, seed, BUDGETS[algo], args.eval_every) for seed in args.seeds for algo in args.algos]
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(run, jobs))
    print(write_outputs(results, args.algos, args.seeds))


if __name__ == "__main__":
    main()
