"""
A Pong preset against its goals: the running reward (Karpathy's 0.99 average) over time on this machine with
nothing else running, median over seeds. Each seed is one ``python -m sb3_vpg.pong train --config <--config>``
run (the preset's games on ``KarpathyPongVecEnv``), one after the other so that each has the machine to itself;
a run interrupted part-way resumes from its checkpoint, a finished one is not redone.

    python benchmarks/pong_fast_preset.py --config fast --seeds 0 1 2 --hours 1

Runs (checkpoints included) go to ``--runs`` (default ``runs/pong_<config>``, not committed); the report to
``--out`` (default ``benchmarks/results/pong_<config>``): ``<config>_preset.md`` (per seed and median: running
reward at 5, 10, 15, 30 and 60 minutes, minutes and agent steps to first pass -10, -5, 0 and +10, episodes and
steps), ``<config>_preset.png`` (running reward against minutes and against agent steps) and
``seed<N>/episodes.csv``. (The fast preset's committed table, of 0.3.0, has the 15/30/60-minute columns only.)
"""

import argparse
import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

from pong_long_runs import Run, copy_up_to_checkpoint, first_passes, read_run

CHECKPOINT_MINUTES = (5, 10, 15, 30, 60)
THRESHOLDS = (-10.0, -5.0, 0.0, 10.0)


def wall_hours_done(folder: Path) -> float:
    state = folder / "state.json"
    return json.loads(state.read_text())["wall_seconds"] / 3600 if state.exists() else 0.0


def train(seed: int, folder: Path, hours: float, config: str = "fast") -> None:
    """Train (or resume) the run of ``config`` and ``seed`` in ``folder`` until it has ``hours`` of wall clock."""
    remaining = hours - wall_hours_done(folder)
    if remaining <= 1 / 3600:
        print(f"seed {seed}: done ({wall_hours_done(folder):.2f} h)", flush=True)
        return
    command = [sys.executable, "-m", "sb3_vpg.pong", "train", "--config", config, "--out", str(folder)]
    command += ["--seed", str(seed), "--hours", f"{remaining:.6f}", "--print-every", "10"]
    print(" ".join(command[1:]), flush=True)
    subprocess.run(command, check=True)


def running_reward_at(run: Run, minutes: float, run_minutes: float) -> float | None:
    """The running reward after the last episode that ended within ``minutes`` of a run that lasted
    ``run_minutes`` (its checkpoint's wall clock); None if the run is shorter or no episode had ended."""
    ended = [i for i, hours in enumerate(run.hours) if hours * 60 <= minutes]
    if not ended or run_minutes < minutes:
        return None
    return run.running_reward[ended[-1]]


def minutes_to(run: Run) -> dict[float, float | None]:
    return {threshold: None if i is None else run.hours[i] * 60 for threshold, i in first_passes(run, THRESHOLDS).items()}


def steps_to(run: Run) -> dict[float, float | None]:
    return {threshold: None if i is None else run.steps[i] for threshold, i in first_passes(run, THRESHOLDS).items()}


def cell(value: float | None, text: str = "{:.2f}", missing: str = "-") -> str:
    return missing if value is None else text.format(value)


def median_minutes(values: list[float | None]) -> float | None:
    """Median of the minutes to a threshold, a seed that never got there counting as later than all (None)."""
    median = statistics.median(math.inf if value is None else value for value in values)
    return None if math.isinf(median) else median


def markdown(runs: list[Run], run_minutes: dict[str, float], config: str) -> str:
    header = "| seed | episodes | agent steps | wall hours |"
    header += "".join(f" running reward at {minutes} min |" for minutes in CHECKPOINT_MINUTES)
    header += "".join(f" minutes to > {threshold:g} |" for threshold in THRESHOLDS)
    header += "".join(f" agent steps to > {threshold:g} |" for threshold in THRESHOLDS)
    lines = [f"### The '{config}' preset, one run at a time", "", header]
    lines.append("|" + "---|" * (4 + len(CHECKPOINT_MINUTES) + 2 * len(THRESHOLDS)))
    at = {run.label: [running_reward_at(run, minutes, run_minutes[run.label]) for minutes in CHECKPOINT_MINUTES]
          for run in runs}  # fmt: skip
    to = {run.label: list(minutes_to(run).values()) for run in runs}
    steps = {run.label: list(steps_to(run).values()) for run in runs}
    for run in runs:
        row = f"| {run.label} | {run.episodes[-1]:,} | {run.steps[-1]:,} | {run_minutes[run.label] / 60:.2f} |"
        row += "".join(f" {cell(value)} |" for value in at[run.label])
        row += "".join(f" {cell(value, '{:.0f}', 'not reached')} |" for value in to[run.label])
        row += "".join(f" {cell(value, '{:,.0f}', 'not reached')} |" for value in steps[run.label])
        lines.append(row)
    if len(runs) > 1:
        row = f"| median of {len(runs)} | | | |"
        for column in range(len(CHECKPOINT_MINUTES)):
            values = [at[run.label][column] for run in runs]
            row += f" {cell(statistics.median(values)) if None not in values else '-'} |"  # type: ignore[type-var]
        for column in range(len(THRESHOLDS)):
            row += f" {cell(median_minutes([to[run.label][column] for run in runs]), '{:.0f}', 'not reached')} |"
        for column in range(len(THRESHOLDS)):
            row += f" {cell(median_minutes([steps[run.label][column] for run in runs]), '{:,.0f}', 'not reached')} |"
        lines.append(row)
    return "\n".join(lines) + "\n"


def plot(runs: list[Run], path: Path, config: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (by_minute, by_step) = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for run in runs:
        by_minute.plot([hours * 60 for hours in run.hours], run.running_reward, label=run.label)
        by_step.plot(run.steps, run.running_reward, label=run.label)
    for ax, xlabel in ((by_minute, "wall-clock minutes"), (by_step, "agent steps")):
        ax.axhline(0, color="grey", linestyle=":")
        ax.set_xlabel(xlabel)
        ax.legend(fontsize=8)
    by_minute.set_ylabel("running reward (Karpathy's 0.99 average)")
    fig.suptitle(f"The '{config}' Pong preset on KarpathyPongVecEnv, one run at a time")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="fast", help="the preset (python -m sb3_vpg.pong train --config)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--hours", type=float, default=1.0, help="wall-clock budget of each run")
    parser.add_argument("--runs", default=None, help="run folders (checkpoints; not committed): runs/pong_<config>")
    parser.add_argument("--out", default=None, help="the report: benchmarks/results/pong_<config>")
    parser.add_argument("--report-only", action="store_true", help="no training: report the runs as they are")
    args = parser.parse_args()
    out = Path(args.out or Path(__file__).parent / "results" / f"pong_{args.config}")
    runs_folder = Path(args.runs or f"runs/pong_{args.config}")
    runs, run_minutes = [], {}
    for seed in args.seeds:
        folder = runs_folder / f"seed{seed}"
        if not args.report_only:
            train(seed, folder, args.hours, args.config)
        if (folder / "episodes.csv").exists():
            copy_up_to_checkpoint(folder, out / f"seed{seed}")
            runs.append(read_run(f"seed{seed}", out / f"seed{seed}", folder))
            run_minutes[f"seed{seed}"] = wall_hours_done(folder) * 60
    (out / f"{args.config}_preset.md").write_text(markdown(runs, run_minutes, args.config))
    plot(runs, out / f"{args.config}_preset.png", args.config)
    print((out / f"{args.config}_preset.md").read_text())


if __name__ == "__main__":
    main()
