"""
REINFORCE and VPG against SB3's A2C and PPO and sb3-contrib's TRPO, every run trained through our zoo entry
point (``python -m sb3_vpg.zoo train``) with the zoo's own evaluation (``--eval-freq``, deterministic
evaluation episodes, ``evaluations.npz``, monitor files). Karpathy Pong, which is compared on wall clock, has a
script of its own built on this one: ``benchmarks/pong_comparison.py``.

Hyperparameters: our ``zoo_configs/`` for REINFORCE/VPG; rl_zoo3's published entries for A2C/PPO/TRPO, except
for the envs the zoo publishes none for (``benchmarks/configs/<algo>.yml``, each entry says where it comes
from). Every algorithm gets the same step budget on an env (``-n``).

Runs go in parallel (``--workers``), one torch thread each. A finished run (its folder holds ``benchmark.json``)
is never redone, so an interrupted benchmark resumes where it stopped; a failed run is reported and retried by
the next invocation. Start one runner per ``--out`` folder at a time.

Outputs in ``--out`` (default ``benchmarks/results/zoo``):
* ``runs.csv`` (one row per run) and ``evaluations.csv`` (one row per evaluation, with the wall-clock seconds
  at which it happened, interpolated from the training monitor files);
* ``<env>.md``: final evaluation mean +- standard error across seeds, steps and seconds to the threshold,
  wall-clock seconds, steps per second, seeds;
* ``<env>_steps.png`` (mean +- standard error across seeds at each evaluation, as rl_zoo3's ``all_plots``
  merges them) and ``<env>_wallclock.png`` (the same against wall-clock seconds, which the zoo does not plot);
* ``summary.md``: every table.

A run of some envs or algorithms (``--envs``, ``--algos``) reports every run of those envs finished in
``--out`` (other algorithms' too) and keeps the CSV rows of the other envs. The runs' logs stay on the machine
that made them; a run whose logs are not here (a fresh clone) is reported as ``runs.csv`` and
``evaluations.csv`` recorded it.

    python benchmarks/zoo_benchmark.py --workers 2             # the full benchmark
    python benchmarks/zoo_benchmark.py --quick --out /tmp/q    # a minute: CartPole, 2 algorithms, 2 seeds
"""

import argparse
import csv
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

BENCHMARKS = Path(__file__).resolve().parent
CONFIGS = BENCHMARKS / "configs"


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


# benchmark names that are one of the zoo's algorithms with a zoo config of their own: name -> (--algo, -conf)
VARIANTS = {"reinforce-fast": ("reinforce", "sb3_vpg.zoo_configs.karpathy_pong_fast")}

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
QUICK_SUITE = Suite("CartPole-v1", ("reinforce", "ppo"), 2_048, 1_024, 2, 475.0)


@dataclass(frozen=True)
class Run:
    algo: str
    suite: Suite
    seed: int

    @property
    def name(self) -> str:
        # all_plots groups the folders under <exp folder>/<algo>/ whose name contains the env id
        return f"{self.suite.env_id}_seed{self.seed}"


def has_benchmark_config(algo: str, env_id: str) -> bool:
    path = CONFIGS / f"{algo}.yml"
    return path.exists() and env_id in (yaml.safe_load(path.read_text()) or {})


def zoo_algo(name: str) -> str:
    """The zoo's ``--algo`` of a benchmark name (a name of ``VARIANTS`` or an algorithm)."""
    return VARIANTS[name][0] if name in VARIANTS else name


def train_command(run: Run, scratch: Path) -> list[str]:
    suite = run.suite
    command = [sys.executable, "-m", "sb3_vpg.zoo", "train", "--algo", zoo_algo(run.algo), "--env", suite.env_id]
    command += ["--seed", str(run.seed), "-f", str(scratch), "--num-threads", "1", "-n", str(suite.n_timesteps)]
    command += ["--eval-freq", str(suite.eval_freq), "--log-interval", "-1"]
    if suite.eval_freq > 0:
        command += ["--eval-episodes", str(suite.eval_episodes), "--n-eval-envs", "1"]
    if run.algo in VARIANTS:
        command += ["-conf", VARIANTS[run.algo][1]]
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
    (zoo_dir,) = (scratch / zoo_algo(run.algo)).glob(f"{run.suite.env_id}_*")
    shutil.move(scratch / "train.log", zoo_dir / "train.log")
    final.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(final, ignore_errors=True)
    shutil.move(zoo_dir, final)
    shutil.rmtree(scratch)
    record = {"algo": run.algo, "env": run.suite.env_id, "seed": run.seed, "wall_seconds": wall_seconds}
    record["command"] = " ".join(command[1:])
    (final / "benchmark.json").write_text(json.dumps(record, indent=1))
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


def read_episodes(folder: Path) -> np.ndarray:
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
    episodes = read_episodes(folder)
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


# the numeric columns of runs.csv and evaluations.csv (and the tuning's recheck.csv); "" (never reached) stays ""
NUMBERS = {"seed": int, "wall_seconds": float, "steps_per_second": float, "final_score": float, "steps": int,
           "steps_to_threshold": int, "seconds_to_threshold": float, "timesteps": int, "eval_mean": float,
           "eval_std": float, "late_score": float}  # fmt: skip


def read_rows(path: Path) -> list[dict]:
    """The rows of one of our CSVs, numbers as numbers (as ``collect`` made them); none if there is no file."""
    if not path.exists():
        return []
    with open(path, newline="") as file:
        return [
            {key: NUMBERS[key](text) if key in NUMBERS and text != "" else text for key, text in row.items()}
            for row in csv.DictReader(file)
        ]


def mean_and_error(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} +- {statistics.stdev(values) / math.sqrt(len(values)):.1f}"


def markdown_table(suite: Suite, rows: list[dict]) -> str:
    score = f"final evaluation mean +- s.e. ({suite.eval_episodes} episodes)"
    lines = [
        f"### {suite.env_id}: {suite.n_timesteps:,} steps per run, threshold {suite.threshold:g}",
        "",
        f"| algorithm | seeds | {score} | runs reaching {suite.threshold:g} | median steps to it "
        "| median seconds to it | median wall-clock s | median steps/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for algo in suite.algos:
        mine = [row for row in rows if row["algo"] == algo]
        if not mine:
            continue
        seeds = " ".join(str(row["seed"]) for row in mine)
        scores = mean_and_error([row["final_score"] for row in mine])
        wall = f"{statistics.median(row['wall_seconds'] for row in mine):.0f}"
        speed = f"{statistics.median(row['steps_per_second'] for row in mine):,.0f}"
        reached = [row for row in mine if row["steps_to_threshold"] != ""]
        steps = f"{statistics.median(r['steps_to_threshold'] for r in reached):,.0f}" if reached else "-"
        seconds = f"{statistics.median(r['seconds_to_threshold'] for r in reached):.0f}" if reached else "-"
        lines.append(
            f"| {algo.upper()} | {seeds} | {scores} | {len(reached)}/{len(mine)} | {steps} | {seconds} | {wall} | {speed} |"
        )
    return "\n".join(lines) + "\n"


def write_csv(path: Path, rows: list[dict]) -> None:
    fields: list[str] = []
    for row in rows:
        fields += [key for key in row if key not in fields]
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)


def step_curves(suite: Suite, evaluations: list[dict], out: Path) -> None:
    """
    Evaluation mean +- standard error across seeds against steps, computed as rl_zoo3's ``all_plots`` computes
    them (at each evaluation, the mean over seeds of each run's evaluation mean; numpy's std across seeds over the
    square root of their number), on the evaluations every seed has. From the evaluation rows, so that runs whose
    logs are not here are drawn too.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for algo in suite.algos:
        seeds = sorted({e["seed"] for e in evaluations if e["algo"] == algo})
        if not seeds:
            continue
        per_seed = [[e for e in evaluations if e["algo"] == algo and e["seed"] == seed] for seed in seeds]
        length = min(len(run) for run in per_seed)
        curves = np.array([[e["eval_mean"] for e in run[:length]] for run in per_seed])
        error = curves.std(axis=0) / math.sqrt(len(curves))
        timesteps = np.array([e["timesteps"] for e in per_seed[0][:length]])
        band_plot(ax, timesteps, curves.mean(axis=0), error, algo.upper())
    ax.set(xlabel="env steps", ylabel="evaluation mean", title=f"{suite.env_id} (mean +- s.e. across seeds)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / f"{suite.env_id}_steps.png", dpi=100)
    plt.close(fig)


def band_plot(ax, x: np.ndarray, mean: np.ndarray, error: np.ndarray, label: str) -> None:
    """A mean curve with a shaded +- error band in the same colour."""
    (line,) = ax.plot(x, mean, label=label, linewidth=2)
    ax.fill_between(x, mean - error, mean + error, alpha=0.3, color=line.get_color())


def wallclock_curves(suite: Suite, evaluations: list[dict], out: Path) -> None:
    """Mean +- standard error across seeds against wall-clock seconds (each seed interpolated on one grid)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for algo in suite.algos:
        seeds = sorted({e["seed"] for e in evaluations if e["algo"] == algo})
        if not seeds:
            continue
        per_seed = [[e for e in evaluations if e["algo"] == algo and e["seed"] == seed] for seed in seeds]
        # from the time every seed has its first evaluation to the time the quickest seed finished
        start = max(run[0]["wall_seconds"] for run in per_seed)
        end = min(run[-1]["wall_seconds"] for run in per_seed)
        grid = np.linspace(start, max(start, end), 100)
        curves = np.array(
            [np.interp(grid, [e["wall_seconds"] for e in run], [e["eval_mean"] for e in run]) for run in per_seed]
        )
        error = curves.std(axis=0) / math.sqrt(len(curves)) if len(curves) > 1 else np.zeros(len(grid))
        band_plot(ax, grid, curves.mean(axis=0), error, f"{algo.upper()} ({len(seeds)} seeds)")
    ax.set(xlabel="wall-clock seconds", ylabel="evaluation mean", title=f"{suite.env_id} (mean +- s.e. across seeds)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / f"{suite.env_id}_wallclock.png", dpi=100)
    plt.close(fig)


def merged(path: Path, rows: list[dict], runs: list[Run]) -> list[dict]:
    """The rows of ``path`` that belong to none of ``runs`` (earlier invocations, other envs or algorithms), then
    ``rows``: a benchmark of one env or one algorithm keeps what the CSV held for the others."""
    if not path.exists():
        return rows
    replaced = {(run.algo, run.suite.env_id, str(run.seed)) for run in runs}
    with open(path, newline="") as file:
        kept = [row for row in csv.DictReader(file) if (row["algo"], row["env"], row["seed"]) not in replaced]
    return kept + rows


def recorded_elsewhere(
    suite: Suite, runs: list[Run], out: Path, recorded_runs: list[dict], recorded_evaluations: list[dict]
) -> tuple[list[dict], list[dict]]:
    """The rows and evaluation rows that the CSVs record for the suite's runs other than ``runs`` and whose logs
    are not here (trained on another machine)."""
    here = {(run.algo, run.seed) for run in runs}
    keys = {
        (row["algo"], row["seed"])
        for row in recorded_runs
        if row["env"] == suite.env_id and row["algo"] in suite.algos and (row["algo"], row["seed"]) not in here
        and not finished(Run(row["algo"], suite, row["seed"]), out)
    }  # fmt: skip
    rows = [row for row in recorded_runs if row["env"] == suite.env_id and (row["algo"], row["seed"]) in keys]
    evaluations = [e for e in recorded_evaluations if e["env"] == suite.env_id and (e["algo"], e["seed"]) in keys]
    return rows, evaluations


def report(suites: list[Suite], runs: list[Run], out: Path) -> None:
    """Tables and curves of ``runs`` (finished here) and of the runs of the same envs that the CSVs record but whose
    logs are not here; the CSVs keep every row of other runs."""
    recorded_runs, recorded_evaluations = read_rows(out / "runs.csv"), read_rows(out / "evaluations.csv")
    all_rows, all_evaluations = [], []
    for suite in suites:
        suite_runs = [run for run in runs if run.suite == suite]
        collected = [collect(run, out) for run in suite_runs]
        rows = [row for row, _ in collected]
        evaluations = [e for _, run_evaluations in collected for e in run_evaluations]
        elsewhere, elsewhere_evaluations = recorded_elsewhere(suite, suite_runs, out, recorded_runs, recorded_evaluations)
        table_rows = sorted([*rows, *elsewhere], key=lambda row: row["seed"])
        table_evaluations = [*evaluations, *elsewhere_evaluations]
        (out / f"{suite.env_id}.md").write_text(markdown_table(suite, table_rows))
        step_curves(suite, table_evaluations, out)
        wallclock_curves(suite, table_evaluations, out)
        all_rows += rows
        all_evaluations += evaluations
    write_csv(out / "runs.csv", merged(out / "runs.csv", all_rows, runs))
    write_csv(out / "evaluations.csv", merged(out / "evaluations.csv", all_evaluations, runs))
    # every env's table in this folder, including those of earlier invocations
    tables = [path.read_text() for env_id in SUITES if (path := out / f"{env_id}.md").exists()]
    (out / "summary.md").write_text("\n".join(tables))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=BENCHMARKS / "results" / "zoo")
    parser.add_argument("--envs", nargs="+", default=list(SUITES), choices=list(SUITES))
    parser.add_argument("--algos", nargs="+", default=list(ALL_ALGOS), choices=list(ALL_ALGOS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--workers", type=int, default=2, help="runs trained at the same time")
    parser.add_argument("--quick", action="store_true", help="CartPole-v1, REINFORCE and PPO, 2 seeds, 2k steps")
    args = parser.parse_args()

    if args.quick:
        suites, algos, seeds = [QUICK_SUITE], [algo for algo in QUICK_SUITE.algos if algo in args.algos], args.seeds[:2]
    else:
        suites, algos, seeds = [SUITES[env_id] for env_id in args.envs], args.algos, args.seeds
    runs = [Run(algo, suite, seed) for suite in suites for seed in seeds for algo in suite.algos if algo in algos]
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out.resolve()
    train_all(runs, out, args.workers)
    # the envs' tables and curves also show the other algorithms' runs finished here before (``--algos``)
    others = [Run(algo, suite, seed) for suite in suites for seed in seeds for algo in suite.algos if algo not in algos]
    report(suites, [*runs, *(run for run in others if finished(run, out))], out)
    print(f"tables, CSV and plots written to {out}")


if __name__ == "__main__":
    main()
