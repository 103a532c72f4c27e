"""
REINFORCE and VPG against SB3's A2C and PPO and sb3-contrib's TRPO, every run trained through our zoo entry
point (``python -m sb3_vpg.zoo train``) with the zoo's own evaluation (``--eval-freq``, deterministic
evaluation episodes, ``evaluations.npz``, monitor files). Karpathy Pong, which is compared on wall clock, has a
script of its own built on this one: ``benchmarks/pong/pong_comparison.py``.

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

    python benchmarks/classic_control/zoo_benchmark.py --workers 2             # the full benchmark
    python benchmarks/classic_control/zoo_benchmark.py --quick --out /tmp/q    # a minute: CartPole, 2 algorithms, 2 seeds
"""

import argparse
import csv
import math
import statistics
import sys
from pathlib import Path

import numpy as np

from sb3_vpg.common.files import replaced_whole, write_text_whole

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the scripts' library, shared/
from shared import BENCHMARKS
from shared.tables import read_rows, write_csv
from shared.zoo_runs import ALL_ALGOS, SUITES, Run, Suite, collect, finished, train_all

QUICK_SUITE = Suite("CartPole-v1", ("reinforce", "ppo"), 2_048, 1_024, 2, 475.0)


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
    with replaced_whole(out / f"{suite.env_id}_steps.png") as temporary:
        fig.savefig(temporary, dpi=100)
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
    with replaced_whole(out / f"{suite.env_id}_wallclock.png") as temporary:
        fig.savefig(temporary, dpi=100)
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
        write_text_whole(out / f"{suite.env_id}.md", markdown_table(suite, table_rows))
        step_curves(suite, table_evaluations, out)
        wallclock_curves(suite, table_evaluations, out)
        all_rows += rows
        all_evaluations += evaluations
    write_csv(out / "runs.csv", merged(out / "runs.csv", all_rows, runs))
    write_csv(out / "evaluations.csv", merged(out / "evaluations.csv", all_evaluations, runs))
    # every env's table in this folder, including those of earlier invocations
    tables = [path.read_text() for env_id in SUITES if (path := out / f"{env_id}.md").exists()]
    write_text_whole(out / "summary.md", "\n".join(tables))


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
