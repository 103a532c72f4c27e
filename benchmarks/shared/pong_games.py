"""Pong games of a run: the running reward's table and curves."""

import statistics
from pathlib import Path

import numpy as np

from sb3_vpg.common.files import replaced_whole
from sb3_vpg.pong import run_folder as pong_folder


def read_games(folder: Path) -> dict[str, np.ndarray]:
    """A run's games from the ``episodes.csv`` of ``python -m sb3_vpg.pong train`` (or one with its columns; a
    run folder, or the CSV file itself): score, agent steps so far, minutes, running reward."""
    rows = pong_folder.read_episodes(folder)
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
    checkpoints: tuple[float, ...],
    thresholds: tuple[float, ...],
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


def plot_running_reward(
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
    with replaced_whole(path) as temporary:
        fig.savefig(temporary, dpi=100)
    plt.close(fig)
