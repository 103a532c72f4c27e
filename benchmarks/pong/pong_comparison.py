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

    python benchmarks/pong/pong_comparison.py                       # 4 contenders x seeds 0 1, 60 minutes each: 4 hours
    python benchmarks/pong/pong_comparison.py --minutes 1 --seeds 0 --out /tmp/pong   # a look at the machinery

Writes to ``--out`` (default ``benchmarks/results/pong_comparison``): ``comparison.md`` (per run and median per
contender: running reward at 15, 30 and 60 minutes, minutes and agent steps to first pass -10, -5 and 0,
games, steps, steps/s), ``runs.csv`` (the same per run), ``episodes/<contender>_seed<N>.csv`` (every game of
every run: score, agent steps, seconds, running reward) and ``curves.png`` (running reward against minutes and
against agent steps: median across seeds with the range of the seeds shaded). Finished runs' zoo folders stay
in ``<out>/logs`` (not committed).
"""

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from sb3_vpg.common.files import replaced_whole, write_text_whole
from sb3_vpg.pong.scores import running_reward

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the scripts' library, shared/
from shared import BENCHMARKS
from shared.pong_games import plot_running_reward, summarise, table_lines
from shared.tables import write_csv
from shared.zoo_runs import Run, Suite, Variant, read_monitor_episodes, run_dir, train_all

CONTENDERS = {
    "reinforce-fast": "REINFORCE fast preset (4 games)",
    "reinforce": "REINFORCE exact Karpathy configuration (1 game)",
    "a2c": "A2C (8 games)",
    "ppo": "PPO (8 games)",
}
VARIANTS = {"reinforce-fast": Variant("reinforce", "sb3_vpg.zoo_configs.karpathy_pong_fast")}
# seed by seed, in pairs that run side by side
ORDER = ("reinforce-fast", "ppo", "reinforce", "a2c")
CHECKPOINT_MINUTES = (15, 30, 60)
THRESHOLDS = (-10.0, -5.0, 0.0)


def pong_suite(minutes: float, contenders: list[str]) -> Suite:
    return Suite("KarpathyPong-v0", tuple(contenders), 10**9, -1, 0, None, wall_seconds=minutes * 60)


def games(run: Run, out: Path) -> dict[str, np.ndarray]:
    """Every game of a finished run, in the order they ended: score, agent steps so far, minutes, running reward."""
    episodes = read_monitor_episodes(run_dir(out / "logs", run))  # (score, length, seconds since the start)
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


def markdown(rows: list[dict], contenders: list[str], minutes: float) -> str:
    checkpoints = tuple(checkpoint for checkpoint in CHECKPOINT_MINUTES if checkpoint <= minutes)
    lines = [f"### KarpathyPong-v0: {minutes:g} minutes of wall clock per run, one core each", ""]
    lines += table_lines(rows, contenders, CONTENDERS, checkpoints, THRESHOLDS)
    return "\n".join(lines) + "\n"


def write_games(run_games: dict[str, np.ndarray], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_whole(path) as temporary, open(temporary, "w", newline="") as file:
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
    runs = [Run(contender, suite, seed, VARIANTS.get(contender)) for seed in args.seeds for contender in contenders]
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out.resolve()
    if not args.report_only:
        train_all(runs, out, args.workers)
    finished = [run for run in runs if (run_dir(out / "logs", run) / "benchmark.json").exists()]
    all_games = {run: games(run, out) for run in finished}
    rows = [summarise(run.algo, run.seed, all_games[run], args.minutes, CHECKPOINT_MINUTES, THRESHOLDS) for run in finished]
    for run, run_games in all_games.items():
        write_games(run_games, out / "episodes" / f"{run.algo}_seed{run.seed}.csv")
    write_csv(out / "runs.csv", rows)
    write_text_whole(out / "comparison.md", markdown(rows, contenders, args.minutes))
    runs_of = {contender: [g for run, g in all_games.items() if run.algo == contender] for contender in contenders}
    title = "KarpathyPong-v0 through the zoo: median across seeds, range shaded"
    plot_running_reward(runs_of, CONTENDERS, title, "wall-clock minutes (one core per run)", out / "curves.png")
    print((out / "comparison.md").read_text())
    print(f"table, CSV and curves written to {out}")


if __name__ == "__main__":
    main()
