"""
Report of the long Karpathy Pong runs (``python -m sb3_vpg.pong train``): where each run stands and the episode,
agent steps and wall hours at which its running reward (Karpathy's 0.99 average) first passed -15, -10, -5 and 0,
next to Karpathy's ~8,000 episodes. Copies each run's ``episodes.csv`` to ``<out>/<label>/`` and draws the
curves against episodes and against wall-clock hours.

    python benchmarks/pong/pong_long_runs.py --run classic-seed1=runs/classic_seed1 --run classic-seed2=runs/classic_seed2 \
        --run v5-seed0=benchmarks/results/karpathy_pong/v5-seed0=KarpathyPong-v0

A run is ``LABEL=FOLDER`` (its env id read from ``FOLDER/state.json``) or ``LABEL=FOLDER=ENV_ID``. Episodes after
the run's last checkpoint are left out: a resumed run replays them.

``--with-checkpoint`` also copies each run's last complete checkpoint (``state.json`` and the model file it names,
about 10 MB with RMSProp's state) beside its CSV, so that ``<out>/<label>/`` is a whole run folder that can be
committed and resumed on another machine: ``cp -r <out>/<label> runs/<label>`` then ``python -m sb3_vpg.pong train
--out runs/<label>``. Run folders live on one machine (``runs/`` is not committed), and a machine is not always
handed on: the committed copy is what survives it.

Writes ``<out>/long_runs.md``, ``<out>/long_runs.png`` and ``<out>/<label>/episodes.csv``
(default ``<out>``: ``benchmarks/results/karpathy_pong``).
"""

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from sb3_vpg.common.files import replaced_whole, write_text_whole
from sb3_vpg.pong import run_folder as pong_folder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the scripts' library, shared/
from shared.pong_runs import copy_checkpoint, copy_up_to_checkpoint

THRESHOLDS = (-15.0, -10.0, -5.0, 0.0)
KARPATHY_EPISODES = 8_000  # "Pong from Pixels": slightly better than the AI after ~8,000 episodes (three nights)


@dataclass
class Run:
    label: str
    env_id: str
    episodes: list[int]
    steps: list[int]
    hours: list[float]
    running_reward: list[float]


def read_run(label: str, folder: Path, env_id: str | Path) -> Run:
    """A run's episodes.csv in ``folder``; ``env_id`` or the run folder whose state.json names it."""
    rows = pong_folder.read_episodes(folder)
    if isinstance(env_id, Path):
        env_id = json.loads((env_id / pong_folder.STATE_FILE).read_text()).get("env_id", "KarpathyPong-v0")
    return Run(
        label,
        env_id,
        [int(row["episode"]) for row in rows],
        [int(row["steps"]) for row in rows],
        [float(row["wall_seconds"]) / 3600 for row in rows],
        [float(row["running_reward"]) for row in rows],
    )


def first_passes(run: Run, thresholds: tuple[float, ...] = THRESHOLDS) -> dict[float, int | None]:
    """Index of the first episode whose running reward is above each threshold (None: not yet)."""
    passes: dict[float, int | None] = dict.fromkeys(thresholds)
    for index, value in enumerate(run.running_reward):
        for threshold in thresholds:
            if passes[threshold] is None and value > threshold:
                passes[threshold] = index
    return passes


def markdown(runs: list[Run]) -> str:
    header = "| run | env | episodes | agent steps | wall hours | running reward now | best |"
    header += "".join(f" first > {threshold:g}: episode / steps / hours |" for threshold in THRESHOLDS)
    lines = [header, "|" + "---|" * (7 + len(THRESHOLDS))]
    for run in runs:
        if not run.episodes:
            continue
        row = f"| {run.label} | {run.env_id} | {run.episodes[-1]:,} | {run.steps[-1]:,} | {run.hours[-1]:.2f} |"
        row += f" {run.running_reward[-1]:.2f} | {max(run.running_reward):.2f} |"
        for index in first_passes(run).values():
            row += (
                " not yet |"
                if index is None
                else f" {run.episodes[index]:,} / {run.steps[index]:,} / {run.hours[index]:.2f} |"
            )
        lines.append(row)
    lines.append("")
    lines.append(f"Karpathy (gym Pong-v0, same update): slightly above 0 after ~{KARPATHY_EPISODES:,} episodes, three nights.")
    return "\n".join(lines) + "\n"


def plot(runs: list[Run], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (by_episode, by_hour) = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for run in runs:
        by_episode.plot(run.episodes, run.running_reward, label=f"{run.label} ({run.env_id})")
        by_hour.plot(run.hours, run.running_reward, label=run.label)
    by_episode.axvline(KARPATHY_EPISODES, color="grey", linestyle="--", label="Karpathy: ~0 at ~8,000 episodes")
    for ax, xlabel in ((by_episode, "episode"), (by_hour, "wall-clock hours")):
        ax.axhline(0, color="grey", linestyle=":")
        ax.set_xlabel(xlabel)
        ax.legend(fontsize=8)
    by_episode.set_ylabel("running reward (Karpathy's 0.99 average)")
    fig.suptitle("Karpathy configuration (karpathy_kwargs(), one env per run)")
    fig.tight_layout()
    with replaced_whole(path) as temporary:
        fig.savefig(temporary, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="LABEL=FOLDER of a run (repeatable)")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "results" / "karpathy_pong"))
    parser.add_argument("--with-checkpoint", action="store_true", help="copy each run's last checkpoint beside its CSV")
    args = parser.parse_args()
    out = Path(args.out)
    runs = []
    for spec in args.run:
        label, folder, *env_id = spec.split("=")
        if Path(folder).resolve() != (out / label).resolve():  # not the copy itself
            copy_up_to_checkpoint(Path(folder), out / label)
            if args.with_checkpoint and (Path(folder) / pong_folder.STATE_FILE).exists():
                copy_checkpoint(Path(folder), out / label)
        runs.append(read_run(label, out / label, env_id[0] if env_id else Path(folder)))
    write_text_whole(out / "long_runs.md", markdown(runs))
    plot(runs, out / "long_runs.png")
    print((out / "long_runs.md").read_text())


if __name__ == "__main__":
    main()
