"""Runs of ``python -m sb3_vpg.pong train``, resumable, on the package's run folder (:mod:`sb3_vpg.pong.run_folder`)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from sb3_vpg.common.files import replaced_whole, whole_lines
from sb3_vpg.pong import run_folder as pong_folder


def wall_hours_done(folder: Path) -> float:
    """The wall-clock hours a run has trained, at its last checkpoint (0 before the first)."""
    state = folder / pong_folder.STATE_FILE  # read as written: a committed copy of a run holds no model file
    return json.loads(state.read_text())["wall_seconds"] / 3600 if state.exists() else 0.0


def train_pong_run(seed: int, folder: Path, hours: float, config: str = "fast", updates: int | None = None) -> None:
    """Train (or resume) the run of ``config`` and ``seed`` in ``folder`` until it has ``hours`` of wall clock (or,
    with ``updates``, until this session has made that many updates)."""
    remaining = hours - wall_hours_done(folder)
    if remaining <= 1 / 3600:
        print(f"seed {seed}: done ({wall_hours_done(folder):.2f} h)", flush=True)
        return
    command = [sys.executable, "-m", "sb3_vpg.pong", "train", "--config", config, "--out", str(folder)]
    command += ["--seed", str(seed), "--hours", f"{remaining:.6f}", "--print-every", "10"]
    command += [] if updates is None else ["--updates", str(updates)]
    print(" ".join(command[1:]), flush=True)
    subprocess.run(command, check=True)


# --- A Pong run's episodes as they stand at its checkpoint ---


def copy_up_to_checkpoint(run_folder: Path, out: Path) -> None:
    """Copy the run's episodes.csv to ``out``, up to its last checkpoint (where a resumed run goes on from), as
    written (without a last line a kill tore)."""
    rows = pong_folder.read_episodes(run_folder)
    if (run_folder / pong_folder.STATE_FILE).exists():  # the checkpoint's episode count is all it needs of the state
        checkpointed = json.loads((run_folder / pong_folder.STATE_FILE).read_text())["episodes"]
        rows = [row for row in rows if row["episode"] <= checkpointed]
    lines = whole_lines((run_folder / pong_folder.EPISODES_FILE).read_text()).splitlines(keepends=True)
    out.mkdir(parents=True, exist_ok=True)
    with replaced_whole(out / pong_folder.EPISODES_FILE) as temporary:
        temporary.write_text("".join(lines[: 1 + len(rows)]))  # the header, then the rows in episode order


def copy_checkpoint(run_folder: Path, out: Path) -> None:
    """Copy the run's last complete checkpoint (``state.json`` and its model file) to ``out`` and remove any older
    model file there, so that ``out`` (with the episodes of :func:`copy_up_to_checkpoint`) is a run folder to
    resume."""
    model_file = json.loads((run_folder / pong_folder.STATE_FILE).read_text())["model"]
    for name in (model_file, pong_folder.STATE_FILE):  # the model first: state.json names a complete file
        with replaced_whole(out / name) as temporary:
            shutil.copyfile(run_folder / name, temporary)
    for path in out.glob("model-*.zip"):
        if path.name != model_file:
            path.unlink()
