"""
Agent steps per second of SB3's PPO/A2C entries for the Pong head-to-head with 1 and with 2 torch threads, each run
``--minutes`` of wall clock on seed 0, interleaved (the order alternates from one repetition to the next) so that
both see the same machine: the median of the repetitions and the median ratio of 2 threads to 1 within a
repetition. ``--stop-after-games N`` also stops each run once N games per env have ended (short checks).

    python benchmarks/speed/pong_sb3_threads.py                       # the zoo's settings of PPO and A2C
    python benchmarks/speed/pong_sb3_threads.py ppo-lr-1e-3 --reps 4

Writes ``threads.md`` and ``threads.csv`` to ``--out`` (default ``benchmarks/results/pong_head_to_head``); run
folders go to ``<--runs>/threads``.
"""

import argparse
import shutil
import statistics
import sys
from pathlib import Path

from sb3_vpg.common.files import write_text_whole

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the scripts' library, shared/
from shared import BENCHMARKS
from shared.pong_entries import DEFAULT_ENTRIES, Entries, read_entries, train_entry
from shared.pong_games import read_games
from shared.tables import median_range, write_csv


def threads_ab(
    entries: Entries, runs: Path, out: Path, names: list[str], minutes: float, reps: int, stop_after_games: int | None = None
) -> None:
    """Agent steps per second of SB3 entries with 1 and with 2 torch threads, interleaved (the order alternates
    from one repetition to the next) so that both see the same machine: the median of the repetitions and the
    median ratio of 2 threads to 1 within a repetition."""
    rows = []
    for rep in range(reps):
        for name in names:
            for threads in (1, 2) if rep % 2 == 0 else (2, 1):
                folder = runs / "threads" / f"{name}_{threads}threads_rep{rep}"
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
                train_entry(entries, name, 0, minutes, folder, threads, stop_after_games)
                games = read_games(folder)
                if not len(games["steps"]):
                    raise SystemExit(f"{name} ended no game in {minutes:g} minutes: give it more")
                speed = round(games["steps"][-1] / (games["minutes"][-1] * 60))  # up to the last game's end
                rows.append({"entry": name, "torch_threads": threads, "rep": rep, "steps_per_second": speed})
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "threads.csv", rows)
    lines = [
        f"### PPO/A2C on KarpathyPongVecEnv: 1 or 2 torch threads ({minutes:g} min per run, {reps} repetitions)",
        "",
        "| entry | steps/s, 1 thread (median) | steps/s, 2 threads (median) | 2 threads / 1 (median [min, max]) |",
        "|---|---|---|---|",
    ]
    for name in names:
        speed = {(row["torch_threads"], row["rep"]): row["steps_per_second"] for row in rows if row["entry"] == name}
        ratios = [speed[2, rep] / speed[1, rep] for rep in range(reps)]
        one, two = (statistics.median(speed[threads, rep] for rep in range(reps)) for threads in (1, 2))
        lines.append(f"| {name} | {one:,.0f} | {two:,.0f} | {median_range(ratios)} |")
    write_text_whole(out / "threads.md", "\n".join(lines) + "\n")
    print((out / "threads.md").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", default=["ppo-zoo-atari", "a2c-zoo-atari"], help="entries to measure")
    parser.add_argument("--out", type=Path, default=BENCHMARKS / "results" / "pong_head_to_head")
    parser.add_argument("--runs", type=Path, default=Path("runs/pong_head_to_head"), help="run folders (not committed)")
    parser.add_argument("--minutes", type=float, default=1.0, help="each run's wall clock")
    parser.add_argument("--reps", type=int, default=2, help="repetitions")
    parser.add_argument("--entries", type=Path, default=DEFAULT_ENTRIES, help="the PPO/A2C entries (YAML)")
    parser.add_argument("--stop-after-games", type=int, default=None, metavar="N", help="also stop once N games per env ended")
    args = parser.parse_args()
    entries = read_entries(args.entries)
    threads_ab(entries, args.runs.resolve(), args.out, args.names or ["ppo-zoo-atari", "a2c-zoo-atari"], args.minutes,
               args.reps, args.stop_after_games)  # fmt: skip


if __name__ == "__main__":
    main()
