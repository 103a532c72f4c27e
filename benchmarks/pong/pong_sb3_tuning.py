"""
The entries of SB3's PPO and A2C for the Pong head-to-head (``configs/pong_head_to_head.yml``: the zoo's Atari
settings and variations of them, all on ``KarpathyPongVecEnv`` with our input and network size), each trained for
``--minutes`` on seed 0; the running reward at the end picks each algorithm's entry for
``pong_head_to_head.py``. A finished entry (``benchmark.json`` in its run folder) is not trained again.
``--stop-after-games N`` also stops each run once N games per env have ended (short checks).

    python benchmarks/pong/pong_sb3_tuning.py                # every entry, 15 minutes each
    python benchmarks/pong/pong_sb3_tuning.py --report-only  # the report of the entries finished so far

Writes ``tuning.md``, ``tuning.csv`` and ``tuning.png`` to ``--out`` (default
``benchmarks/results/pong_head_to_head``, where the head-to-head reads them); run folders go to ``--runs``.
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

from sb3_vpg.common.files import write_text_whole

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the scripts' library, shared/
from shared import BENCHMARKS
from shared.pong_entries import (
    DEFAULT_ENTRIES,
    DONE_FILE,
    Entries,
    best_entry,
    read_entries,
    run_folder,
    train_entry,
    tuning_rows,
)
from shared.pong_games import plot_running_reward, read_games
from shared.tables import write_csv


def tune(
    entries: Entries, runs: Path, out: Path, minutes: float, torch_threads: int, stop_after_games: int | None = None
) -> None:
    for name, entry in entries.settings.items():
        folder = run_folder(runs, name, 0, minutes, "")
        if (folder / DONE_FILE).exists():
            print(f"reused   {name}", flush=True)
            continue
        print(f"tuning   {name} for {minutes:g} min", flush=True)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        train_entry(entries, name, 0, minutes, folder, torch_threads, stop_after_games)
        write_text_whole(folder / DONE_FILE, json.dumps({"entry": name, "entry_settings": entry, "minutes": minutes}))
    report_tuning(entries, runs, out, minutes)


def report_tuning(entries: Entries, runs: Path, out: Path, minutes: float) -> None:
    rows = tuning_rows(entries, runs, minutes)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "tuning.csv", rows)
    lines = [
        f"### PPO and A2C on KarpathyPongVecEnv: each entry for {minutes:g} minutes, seed 0",
        "",
        "| entry | games | agent steps | steps/s | running reward at the end | settings |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        settings = ", ".join(f"{k}={v}" for k, v in entries.settings[row["entry"]].items())
        final = "no game ended" if row["running_reward"] == "" else f"{row['running_reward']:.2f}"
        lines.append(
            f"| {row['entry']} | {row['games']:,} | {row['steps']:,} | {row['steps_per_second']:,} | {final} | {settings} |"
        )
    best = {algo: best_entry(entries, algo, runs, minutes, out) for algo in ("ppo", "a2c")}
    lines += ["", "Best, and so head to head: " + ", ".join(f"{algo.upper()} `{entry}`" for algo, entry in best.items())]
    write_text_whole(out / "tuning.md", "\n".join(lines) + "\n")
    runs_of = {row["entry"]: [read_games(run_folder(runs, row["entry"], 0, minutes, ""))] for row in rows}
    title = f"PPO and A2C entries on KarpathyPongVecEnv, {minutes:g} minutes each, seed 0"
    plot_running_reward(
        runs_of, {name: name for name in runs_of}, title, "wall-clock minutes (both cores)", out / "tuning.png"
    )
    print((out / "tuning.md").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=BENCHMARKS / "results" / "pong_head_to_head")
    parser.add_argument("--runs", type=Path, default=Path("runs/pong_head_to_head"), help="run folders (not committed)")
    parser.add_argument("--minutes", type=float, default=15.0, help="each entry's wall clock")
    parser.add_argument("--torch-threads", type=int, default=2, help="torch threads of each run")
    parser.add_argument("--entries", type=Path, default=DEFAULT_ENTRIES, help="the PPO/A2C entries (YAML)")
    parser.add_argument("--stop-after-games", type=int, default=None, metavar="N", help="also stop once N games per env ended")
    parser.add_argument("--report-only", action="store_true", help="no training: report the entries finished")
    args = parser.parse_args()
    entries, runs = read_entries(args.entries), args.runs.resolve()
    if args.report_only:
        report_tuning(entries, runs, args.out, args.minutes)
    else:
        tune(entries, runs, args.out, args.minutes, args.torch_threads, args.stop_after_games)


if __name__ == "__main__":
    main()
