"""Runs of the zoo's train command: the suites, run records, resumable training, and what a finished run measured."""

import json
import math
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from sb3_vpg.common.files import write_text_whole
from shared import CONFIGS


@dataclass(frozen=True)
class Suite:
    """One environment of the benchmark and how every algorithm is run on it."""

    env_id: str
    algos: tuple[str, ...]
    n_timesteps: int
    eval_freq: int  # in total env steps (the zoo divides by n_envs); -1: no evaluation
    eval_episodes: int
    threshold: float | None  # the score a run must reach for "steps to threshold"
    wall_seconds: float | None = None  # a wall-clock budget instead of a step budget


@dataclass(frozen=True)
class Variant:
    """A benchmark contender that is one of the zoo's algorithms trained with a zoo config of its own."""

    algo: str  # the zoo's --algo
    config: str  # its -conf: a file or a python module


ALL_ALGOS = ("reinforce", "vpg", "a2c", "ppo", "trpo")


SUITES = {
    suite.env_id: suite
    for suite in (
        Suite("CartPole-v1", ALL_ALGOS, 100_000, 5_000, 5, 475.0),
        Suite("Acrobot-v1", ALL_ALGOS, 200_000, 10_000, 5, -100.0),
        Suite("InvertedPendulum-v5", ALL_ALGOS, 200_000, 10_000, 5, 950.0),
        # our two only (the goal is the final model's score); 4-10 minutes a run here
        Suite("LunarLander-v3", ("reinforce", "vpg"), 2_000_000, 100_000, 10, 200.0),
    )
}


@dataclass(frozen=True)
class Run:
    algo: str  # an algorithm, or the name of the variant
    suite: Suite
    seed: int
    variant: Variant | None = None

    @property
    def zoo_algo(self) -> str:
        return self.variant.algo if self.variant is not None else self.algo

    @property
    def name(self) -> str:
        # all_plots groups the folders under <exp folder>/<algo>/ whose name contains the env id
        return f"{self.suite.env_id}_seed{self.seed}"


def has_benchmark_config(algo: str, env_id: str) -> bool:
    path = CONFIGS / f"{algo}.yml"
    return path.exists() and env_id in (yaml.safe_load(path.read_text()) or {})


def train_command(run: Run, scratch: Path) -> list[str]:
    suite = run.suite
    command = [sys.executable, "-m", "sb3_vpg.zoo", "train", "--algo", run.zoo_algo, "--env", suite.env_id]
    command += ["--seed", str(run.seed), "-f", str(scratch), "--num-threads", "1", "-n", str(suite.n_timesteps)]
    command += ["--eval-freq", str(suite.eval_freq), "--log-interval", "-1"]
    if suite.eval_freq > 0:
        command += ["--eval-episodes", str(suite.eval_episodes), "--n-eval-envs", "1"]
    if run.variant is not None:
        command += ["-conf", run.variant.config]
    elif has_benchmark_config(run.algo, suite.env_id):
        command += ["-conf", str(CONFIGS / f"{run.algo}.yml")]
    if suite.wall_seconds is not None:
        callback = f"[{{'sb3_vpg.common.callbacks.StopTrainingOnWallClock': {{'max_seconds': {suite.wall_seconds}}}}}]"
        command += ["-params", f"callback:{callback}"]
    return command


def run_dir(logs: Path, run: Run) -> Path:
    return logs / run.algo / run.name


def finished(run: Run, out: Path) -> bool:
    return (run_dir(out / "logs", run) / "benchmark.json").exists()


def execute(run: Run, out: Path) -> str:
    """Train one run unless it is finished; return what happened."""
    final = run_dir(out / "logs", run)
    if finished(run, out):
        return f"reused   {run.algo} {run.name}"
    scratch = out / "scratch" / run.algo / run.name
    shutil.rmtree(scratch, ignore_errors=True)  # an interrupted attempt
    scratch.mkdir(parents=True)
    command = train_command(run, scratch)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start = time.perf_counter()
    with open(scratch / "train.log", "w") as log:
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=out)
    wall_seconds = time.perf_counter() - start
    if result.returncode != 0:
        tail = (scratch / "train.log").read_text()[-3000:]
        raise RuntimeError(f"{' '.join(command)} failed with exit code {result.returncode}:\n{tail}")
    (zoo_dir,) = (scratch / run.zoo_algo).glob(f"{run.suite.env_id}_*")
    shutil.move(scratch / "train.log", zoo_dir / "train.log")
    final.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(final, ignore_errors=True)
    shutil.move(zoo_dir, final)
    shutil.rmtree(scratch)
    record = {"algo": run.algo, "env": run.suite.env_id, "seed": run.seed, "wall_seconds": wall_seconds}
    record["command"] = " ".join(command[1:])
    write_text_whole(final / "benchmark.json", json.dumps(record, indent=1))
    return f"trained  {run.algo} {run.name} in {wall_seconds:.0f} s"


def train_all(runs: list[Run], out: Path, workers: int) -> None:
    """Train every run not finished yet, ``workers`` at a time in the order given; exit if any failed."""
    print(f"{len(runs)} runs, {workers} at a time, in {out}", flush=True)
    failed = []
    with ThreadPoolExecutor(workers) as pool:
        futures = {pool.submit(execute, run, out): run for run in runs}
        for future, run in futures.items():
            try:
                print(future.result(), flush=True)
            except Exception as error:  # the other runs go on; a rerun retries this one
                print(f"FAILED   {run.algo} {run.name}: {error}", flush=True)
                failed.append(run)
    if failed:
        raise SystemExit(f"{len(failed)} runs failed (see above); run the same command again to retry them")


def read_monitor_episodes(folder: Path) -> np.ndarray:
    """Every training env's episodes as rows of (reward, length, seconds since the start), in the order they ended."""
    paths = sorted(folder.glob("*.monitor.csv"))
    if not paths:
        raise FileNotFoundError(f"no training monitor files in {folder}")
    episodes = np.concatenate(
        [np.loadtxt(path, delimiter=",", skiprows=2, ndmin=2, usecols=(0, 1, 2)).reshape(-1, 3) for path in paths]
    )
    return episodes[np.argsort(episodes[:, 2], kind="stable")]


def collect(run: Run, out: Path) -> tuple[dict, list[dict]]:
    """One row for runs.csv and the rows of evaluations.csv of a finished run."""
    folder = run_dir(out / "logs", run)
    record = json.loads((folder / "benchmark.json").read_text())
    episodes = read_monitor_episodes(folder)
    # total env steps finished against wall-clock seconds, from the episode ends of every training env
    steps_at = np.concatenate([[0.0], np.cumsum(episodes[:, 1])])
    seconds_at = np.concatenate([[0.0], episodes[:, 2]])
    total_steps = int(steps_at[-1])
    train_seconds = float(seconds_at[-1])
    row = {"algo": run.algo, "env": run.suite.env_id, "seed": run.seed, "wall_seconds": record["wall_seconds"]}
    row["steps_per_second"] = total_steps / train_seconds if train_seconds > 0 else math.nan
    evaluations: list[dict] = []
    log = np.load(folder / "evaluations.npz")
    for timesteps, results in zip(log["timesteps"], log["results"], strict=True):
        seconds = float(np.interp(timesteps, steps_at, seconds_at))
        evaluations.append(
            {
                "algo": run.algo,
                "env": run.suite.env_id,
                "seed": run.seed,
                "timesteps": int(timesteps),
                "wall_seconds": seconds,
                "eval_mean": float(np.mean(results)),
                "eval_std": float(np.std(results)),
            }
        )
    reached = [e for e in evaluations if run.suite.threshold is not None and e["eval_mean"] >= run.suite.threshold]
    row["final_score"] = evaluations[-1]["eval_mean"]
    row["steps"] = evaluations[-1]["timesteps"]
    row["steps_to_threshold"] = reached[0]["timesteps"] if reached else ""
    row["seconds_to_threshold"] = round(reached[0]["wall_seconds"], 1) if reached else ""
    return row, evaluations
