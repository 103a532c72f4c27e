"""
Karpathy Pong: REINFORCE (the fast preset and the exact Karpathy configuration) against A2C and PPO, for the
same wall clock per run. Every contender sees the same input (``KarpathyPong-v0``: 6,400 frame-difference
pixels, UP or DOWN) through the same network size (one hidden layer of 200 ReLU units) and has one CPU core:
each run is ``python -m sb3_vpg.zoo train`` (``DummyVecEnv``, one torch thread), two runs at a time on the two
cores, stopped by ``StopTrainingOnWallClock``. Contenders:

* ``reinforce-fast``: the fast preset, ``-conf sb3_vpg.zoo_configs.karpathy_pong_fast`` (4 games);
* ``reinforce``: the exact configuration, ``zoo_configs/reinforce.yml`` (``karpathy_kwargs()``, 1 game);
* ``a2c``, ``ppo``: ``benchmarks/configs/<algo>.yml``, the zoo's atari settings with ``MlpPolicy`` of 200 units
  (8 games each).

The runs go in the order seed by seed, fast preset beside PPO, then the exact configuration beside A2C, so an
interrupted benchmark has compared the same pairs. A finished run is reused (see ``zoo_benchmark.py``); one
killed part-way is trained again from the start. Scores are the training games (a game is 1,000+ agent steps,
so there are no separate evaluation runs) and Karpathy's running reward (a 0.99 average over games, in the
order they ended across the run's games).

    python benchmarks/pong_comparison.py                       # 4 contenders x seeds 0 1, 60 minutes each: 4 hours
    python benchmarks/pong_comparison.py --minutes 1 --seeds 0 --out /tmp/pong   # a look at the machinery

Writes to ``--out`` (default ``benchmarks/results/pong_comparison``): ``comparison.md`` (per run and median per
contender: running reward at 15, 30 and 60 minutes, minutes and agent steps to first pass -10, -5 and 0,
games, steps, steps/s), ``runs.csv`` (the same per run), ``episodes/<contender>_seed<N>.csv`` (every game of
every run: score, agent steps, seconds, running reward) and ``curves.png`` (running reward against minutes and
against agent steps: median across seeds with the range of the seeds shaded). Finished runs' zoo folders stay
in ``<out>/logs`` (not committed).
"""

import argparse
import csv
import statistics
from pathlib import Path

import numpy as np
from zoo_benchmark import Run, Suite, read_episodes, run_dir, train_all, write_csv

from sb3_vpg.pong.scores import running_reward

BENCHMARKS = Path(__file__).resolve().parent
CONTENDERS = {
    "reinforce-fast": "REINFORCE fast preset (4 games)",
    "reinforce": "REINFORCE exact Karpathy configuration (1 game)",
    "a2c": "A2C (8 games)",
    "ppo": "PPO (8 games)",
}
# seed by seed, in pairs that run side by side
ORDER = ("reinforce-fast", "ppo", "reinforce", "a2c")
CHECKPOINT_MINUTES = (15, 30, 60)
THRESHOLDS = (-10.0, -5.0, 0.0)


def pong_suite(minutes: float, contenders: list[str]) -> Suite:
    return Suite("KarpathyPong-v0", tuple(contenders), 10**9, -1, 0, None, wall_seconds=minutes * 60)


def games(run: Run, out: Path) -> dict[str, np.ndarray]:
    """Every game of a finished run, in the order they ended: score, agent steps so far, minutes, running reward."""
    episodes = read_episodes(run_dir(out / "logs", run))  # (score, length, seconds since the start)
    running = np.empty(len(episodes))
    value = None
    for index, score in enumerate(episodes[:, 0]):
        value = running[index] = running_reward(value, float(score))
    return {
        "score": episodes[:, 0],
        "steps": np.cumsum(episodes[:, 1]),
        "minutes": episodes[:, 2] / 60,
        "running_reward": running,
    }


def read_games(folder: Path) -> dict[str, np.ndarray]:
    """A run's games from the ``episodes.csv`` of ``python -m sb3_vpg.pong train`` (or one with its columns; a
    run folder, or the CSV file itself): score, agent steps so far, minutes, running reward."""
    with open(folder if folder.suffix == ".csv" else folder / "episodes.csv") as file:
        rows = list(csv.DictReader(file))
    return {
        "score": np.array([float(row["score"]) for row in rows]),
        "steps": np.array([int(row["steps"]) for row in rows]),
        "minutes": np.array([float(row["wall_seconds"]) / 60 for row in rows]),
        "running_reward": np.array([float(row["running_reward"]) for row in rows]),
    }


def summarise(
    contender: str,
    seed: int,
    run_games: dict[str, np.ndarray],
    budget_minutes: float,
    checkpoints: tuple[float, ...] = CHECKPOINT_MINUTES,
    thresholds: tuple[float, ...] = THRESHOLDS,
) -> dict:
    """One row of the table: where the running reward stood at each checkpoint and when it first passed each
    threshold (empty: never within the run)."""
    minutes, running, steps = run_games["minutes"], run_games["running_reward"], run_games["steps"]
    if not len(running):
        raise SystemExit(f"{contender} seed {seed} finished no game: give it more than {budget_minutes:g} minutes")
    row: dict = {"contender": contender, "seed": seed, "games": len(running), "steps": int(steps[-1])}
    row["steps_per_second"] = round(steps[-1] / (minutes[-1] * 60))
    for checkpoint in checkpoints:
        ended = np.flatnonzero(minutes <= checkpoint)
        row[f"running_reward_at_{checkpoint:g}_min"] = (
            round(float(running[ended[-1]]), 2) if checkpoint <= budget_minutes and len(ended) else ""
        )
    for threshold in thresholds:
        above = np.flatnonzero(running > threshold)
        row[f"minutes_to_{threshold:g}"] = round(float(minutes[above[0]]), 1) if len(above) else ""
        row[f"steps_to_{threshold:g}"] = int(steps[above[0]]) if len(above) else ""
    return row


def median_reward(values: list) -> str:
    return "-" if "" in values else f"{statistics.median(values):.2f}"


def median_to(values: list) -> str:
    """Median over seeds of the minutes or steps to a threshold; a seed that never passed it (empty) counts as
    later than every other."""
    median = statistics.median(float("inf") if value == "" else value for value in values)
    return "not reached" if median == float("inf") else f"{median:,.0f}"


def cell(value, digits: int = 2, missing: str = "not reached") -> str:
    return missing if value == "" else f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def table_lines(
    rows: list[dict],
    contenders: list[str],
    labels: dict[str, str],
    checkpoints: tuple[float, ...],
    thresholds: tuple[float, ...],
) -> list[str]:
    """A markdown table of ``summarise`` rows: every run, then the median of each contender with several seeds."""
    header = "| contender | seed | games | agent steps | steps/s |"
    header += "".join(f" running reward at {checkpoint:g} min |" for checkpoint in checkpoints)
    header += "".join(f" minutes to > {threshold:g} |" for threshold in thresholds)
    header += "".join(f" agent steps to > {threshold:g} |" for threshold in thresholds)
    lines = [header, "|" + "---|" * (5 + len(checkpoints) + 2 * len(thresholds))]
    for contender in contenders:
        mine = [row for row in rows if row["contender"] == contender]
        for row in mine:
            line = f"| {labels[contender]} | {row['seed']} | {row['games']:,} | {row['steps']:,} |"
            line += f" {row['steps_per_second']:,} |"
            # no running reward yet (no game ended, or the run was shorter): "-"
            line += "".join(f" {cell(row[f'running_reward_at_{c:g}_min'], missing='-')} |" for c in checkpoints)
            line += "".join(f" {cell(row[f'minutes_to_{t:g}'], 0)} |" for t in thresholds)
            line += "".join(f" {cell(row[f'steps_to_{t:g}'])} |" for t in thresholds)
            lines.append(line)
        if len(mine) > 1:
            line = f"| **{labels[contender]}: median of {len(mine)}** | | | | |"
            line += "".join(f" {median_reward([r[f'running_reward_at_{c:g}_min'] for r in mine])} |" for c in checkpoints)
            line += "".join(f" {median_to([r[f'minutes_to_{t:g}'] for r in mine])} |" for t in thresholds)
            line += "".join(f" {median_to([r[f'steps_to_{t:g}'] for r in mine])} |" for t in thresholds)
            lines.append(line)
    return lines


def markdown(rows: list[dict], contenders: list[str], minutes: float) -> str:
    checkpoints = tuple(checkpoint for checkpoint in CHECKPOINT_MINUTES if checkpoint <= minutes)
    lines = [f"### KarpathyPong-v0: {minutes:g} minutes of wall clock per run, one core each", ""]
    lines += table_lines(rows, contenders, CONTENDERS, checkpoints, THRESHOLDS)
    return "\n".join(lines) + "\n"


def plot(
    runs_of: dict[str, list[dict[str, np.ndarray]]],
    labels: dict[str, str],
    title: str,
    minutes_label: str,
    path: Path,
) -> None:
    """Median running reward across seeds with the seeds' range shaded, against minutes and against steps, for
    each contender (``runs_of``: its runs' games)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for contender, all_runs in runs_of.items():
        runs = [run_games for run_games in all_runs if len(run_games["steps"])]  # a run may have ended no game
        if not runs:
            continue
        colour = None
        for ax, x in zip(axes, ("minutes", "steps"), strict=True):
            end = min(run_games[x][-1] for run_games in runs)  # where every seed still has data
            grid = np.linspace(0, end, 300)
            curves = np.array([np.interp(grid, g[x], g["running_reward"], left=np.nan) for g in runs])
            label = f"{labels[contender]}, {len(runs)} seed{'s' * (len(runs) > 1)}"
            (line,) = ax.plot(grid, np.median(curves, axis=0), label=label, color=colour)
            colour = line.get_color()
            ax.fill_between(grid, curves.min(axis=0), curves.max(axis=0), alpha=0.25, color=colour)
    for ax, xlabel in zip(axes, (minutes_label, "agent steps"), strict=True):
        ax.axhline(0, color="grey", linestyle=":")
        ax.set_xlabel(xlabel)
    axes[0].set_ylabel("running reward (Karpathy's 0.99 average)")
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_games(run_games: dict[str, np.ndarray], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["game", "score", "steps", "minutes", "running_reward"])
        for index in range(len(run_games["score"])):
            writer.writerow(
                [
                    index + 1,
                    f"{run_games['score'][index]:g}",
                    int(run_games["steps"][index]),
                    f"{run_games['minutes'][index]:.3f}",
                    f"{run_games['running_reward'][index]:.4f}",
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=BENCHMARKS / "results" / "pong_comparison")
    parser.add_argument("--minutes", type=float, default=60.0, help="wall clock of every run")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--contenders", nargs="+", default=list(ORDER), choices=list(ORDER))
    parser.add_argument("--workers", type=int, default=2, help="runs trained at the same time (one core each)")
    parser.add_argument("--report-only", action="store_true", help="no training: report the finished runs")
    args = parser.parse_args()

    contenders = [contender for contender in ORDER if contender in args.contenders]
    suite = pong_suite(args.minutes, contenders)
    runs = [Run(contender, suite, seed) for seed in args.seeds for contender in contenders]
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out.resolve()
    if not args.report_only:
        train_all(runs, out, args.workers)
    finished = [run for run in runs if (run_dir(out / "logs", run) / "benchmark.json").exists()]
    all_games = {run: games(run, out) for run in finished}
    rows = [summarise(run.algo, run.seed, all_games[run], args.minutes) for run in finished]
    for run, run_games in all_games.items():
        write_games(run_games, out / "episodes" / f"{run.algo}_seed{run.seed}.csv")
    write_csv(out / "runs.csv", rows)
    (out / "comparison.md").write_text(markdown(rows, contenders, args.minutes))
    runs_of = {contender: [g for run, g in all_games.items() if run.algo == contender] for contender in contenders}
    title = "KarpathyPong-v0 through the zoo: median across seeds, range shaded"
    plot(runs_of, CONTENDERS, title, "wall-clock minutes (one core per run)", out / "curves.png")
    print((out / "comparison.md").read_text())
    print(f"table, CSV and curves written to {out}")


if __name__ == "__main__":
    main()
