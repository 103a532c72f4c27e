"""
A Pong preset against its goals: the running reward (Karpathy's 0.99 average) over time on this machine with
nothing else running, median over seeds. Each seed is one ``python -m sb3_vpg.pong train --config <--config>``
run (the preset's games on ``KarpathyPongVecEnv``), one after the other so that each has the machine to itself;
a run interrupted part-way resumes from its checkpoint, a finished one is not redone.

    python benchmarks/pong/pong_fast_preset.py --config fast --seeds 0 1 2 --hours 1

Runs (checkpoints included) go to ``--runs`` (default ``runs/pong_<config>``, not committed); the report to
``--out`` (default ``benchmarks/results/pong_<config>``): ``<config>_preset.md`` (per seed and median: running
reward at 5, 10, 15, 30 and 60 minutes, minutes and agent steps to first pass -10, -5, 0 and +10, games, agent
steps and steps/s: ``pong_comparison.py``'s table), ``<config>_preset.png`` (running reward against minutes and
against agent steps) and ``seed<N>/episodes.csv``. (The fast preset's committed table, of 0.3.0, has the
15/30/60-minute columns only.)
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from sb3_vpg.common.files import replaced_whole, write_text_whole
from sb3_vpg.pong.run_folder import EPISODES_FILE

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the scripts' library, shared/
from shared.pong_games import read_games, summarise, table_lines
from shared.pong_runs import copy_up_to_checkpoint, train_pong_run, wall_hours_done

CHECKPOINT_MINUTES = (5, 10, 15, 30, 60)
THRESHOLDS = (-10.0, -5.0, 0.0, 10.0)


def markdown(rows: list[dict], config: str) -> str:
    """The table of pong_comparison's ``summarise`` rows (one per seed) and their median."""
    lines = [f"### The '{config}' preset, one run at a time", ""]
    lines += table_lines(rows, [config], {config: config}, CHECKPOINT_MINUTES, THRESHOLDS)
    return "\n".join(lines) + "\n"


def plot(runs: dict[int, dict[str, np.ndarray]], path: Path, config: str) -> None:
    """Every seed's running reward against minutes and against agent steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (by_minute, by_step) = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for seed, games in runs.items():
        by_minute.plot(games["minutes"], games["running_reward"], label=f"seed {seed}")
        by_step.plot(games["steps"], games["running_reward"], label=f"seed {seed}")
    for ax, xlabel in ((by_minute, "wall-clock minutes"), (by_step, "agent steps")):
        ax.axhline(0, color="grey", linestyle=":")
        ax.set_xlabel(xlabel)
        ax.legend(fontsize=8)
    by_minute.set_ylabel("running reward (Karpathy's 0.99 average)")
    fig.suptitle(f"The '{config}' Pong preset on KarpathyPongVecEnv, one run at a time")
    fig.tight_layout()
    with replaced_whole(path) as temporary:
        fig.savefig(temporary, dpi=100)
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
    out = Path(args.out or Path(__file__).resolve().parents[1] / "results" / f"pong_{args.config}")
    runs_folder = Path(args.runs or f"runs/pong_{args.config}")
    rows, runs = [], {}
    for seed in args.seeds:
        folder = runs_folder / f"seed{seed}"
        if not args.report_only:
            train_pong_run(seed, folder, args.hours, args.config)
        if (folder / EPISODES_FILE).exists():
            copy_up_to_checkpoint(folder, out / f"seed{seed}")
            runs[seed] = read_games(out / f"seed{seed}")
            # the run's length is its checkpoint's wall clock: no value at a minute it has not reached
            budget_minutes = wall_hours_done(folder) * 60
            rows.append(summarise(args.config, seed, runs[seed], budget_minutes, CHECKPOINT_MINUTES, THRESHOLDS))
    write_text_whole(out / f"{args.config}_preset.md", markdown(rows, args.config))
    plot(runs, out / f"{args.config}_preset.png", args.config)
    print((out / f"{args.config}_preset.md").read_text())


if __name__ == "__main__":
    main()
