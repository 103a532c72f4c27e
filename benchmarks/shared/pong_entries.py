"""SB3's PPO and A2C on the Pong input (``KarpathyPongVecEnv``): the entries of the head to head."""

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shared import BENCHMARKS, CONFIGS
from shared.pong_games import read_games
from shared.tables import read_rows

DEFAULT_ENTRIES = CONFIGS / "pong_head_to_head.yml"


DONE_FILE = "benchmark.json"


@dataclass(frozen=True)
class Entries:
    """The PPO/A2C entries of ``--entries`` (``configs/pong_head_to_head.yml``): the file (each worker reads it
    again) and name -> settings (``algo``, ``n_envs``, the algorithm's keyword arguments and ``rmsprop_tf_like``)."""

    file: Path
    settings: dict[str, dict[str, Any]]


def read_entries(file: Path) -> Entries:
    return Entries(file.resolve(), yaml.safe_load(file.read_text()))


def train_entry(
    entries: Entries,
    name: str,
    seed: int,
    minutes: float,
    folder: Path,
    torch_threads: int,
    stop_after_games: int | None = None,
) -> list[str]:
    """Train the SB3 entry ``name`` in a fresh process (``pong/head_to_head_worker.py``); return the command."""
    worker = BENCHMARKS / "pong" / "head_to_head_worker.py"
    command = [sys.executable, str(worker), name, "--seed", str(seed), "--minutes", f"{minutes:g}"]
    command += ["--run-folder", str(folder), "--torch-threads", str(torch_threads), "--entries", str(entries.file)]
    if stop_after_games is not None:
        command += ["--stop-after-games", str(stop_after_games)]
    subprocess.run(command, check=True)
    return command


def run_folder(runs: Path, name: str, seed: int, minutes: float, config: str) -> Path:
    """The folder of a run: ours in ``pong_fast_preset.py``'s (``runs/pong_<config>/seed<N>``, so that the two
    scripts share their runs), the others in ``<runs>/<entry>_<minutes>min/seed<N>``."""
    if name == "reinforce":
        return runs.parent / f"pong_{config}" / f"seed{seed}"
    return runs / f"{name}_{minutes:g}min" / f"seed{seed}"


def tuning_rows(entries: Entries, runs: Path, minutes: float) -> list[dict]:
    """One row per finished tuning run: the entry, its running reward at the end, games, steps, steps/s."""
    rows = []
    for name in entries.settings:
        folder = run_folder(runs, name, 0, minutes, "")
        if not (folder / DONE_FILE).exists():
            continue
        games = read_games(folder)
        final = round(float(games["running_reward"][-1]), 2) if len(games["score"]) else ""  # "": no game ended
        steps = int(games["steps"][-1]) if len(games["score"]) else 0
        rows.append({"entry": name, "algo": entries.settings[name]["algo"], "minutes": minutes, "games": len(games["score"]),
                     "steps": steps, "steps_per_second": round(steps / (minutes * 60)), "running_reward": final})  # fmt: skip
    return rows


def committed_tuning_rows(out: Path, minutes: float) -> list[dict]:
    """The rows of ``tuning.csv`` in ``out`` for ``minutes`` (the tuning as committed, where its runs are gone)."""
    rows = [row for row in read_rows(out / "tuning.csv") if float(row["minutes"]) == minutes]
    return [{**row, "running_reward": float(row["running_reward"]) if row["running_reward"] else ""} for row in rows]


def best_entry(entries: Entries, algo: str, runs: Path, minutes: float, out: Path) -> str:
    """The entry of ``algo`` with the highest running reward in ``pong_sb3_tuning.py`` (its runs, or else its committed
    ``tuning.csv``); the zoo's settings if untuned."""
    rows = tuning_rows(entries, runs, minutes) or committed_tuning_rows(out, minutes)
    tuned = [row for row in rows if row["algo"] == algo and row["running_reward"] != ""]
    return max(tuned, key=lambda row: row["running_reward"])["entry"] if tuned else f"{algo}-zoo-atari"
