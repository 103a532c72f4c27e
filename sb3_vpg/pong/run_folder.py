"""
A Pong run folder, the one owner of its on-disk format: ``model-<update>.zip`` (model, optimizer state, step and
update counters), ``state.json`` (which model file, episodes, running reward, wall seconds and the run's settings;
its schema and the migration of older files) and ``episodes.csv`` (one row per finished episode: episode, steps,
wall_seconds, score, running_reward, where ``running_reward = 0.99 * running_reward + 0.01 * score`` as in
Karpathy's Pong from Pixels). ``state.json`` is replaced atomically after its model file is complete, so a run
killed at any moment resumes from the last complete checkpoint; a session holds a lock on ``.lock``, so that a
second one on the same folder is refused instead of logging every episode twice.
"""

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any

from sb3_vpg import REINFORCE
from sb3_vpg.common.files import (
    TEMPORARY_MARK,
    is_temporary,
    replaced_whole,
    whole_lines,
    write_text_whole,
)
from sb3_vpg.common.validation import is_finite_number, is_integer
from sb3_vpg.pong.options import POSITIVE_INT, RECORDED, TrainOptions

CSV_FIELDS = ("episode", "steps", "wall_seconds", "score", "running_reward")


STATE_FILE = "state.json"


EPISODES_FILE = "episodes.csv"


LOCK_FILE = ".lock"


LEGACY_MODEL_FILE = "checkpoint.zip"  # runs checkpointed before state.json named its model file


class RunFolderError(Exception):
    """A run folder, or the options given for it, that cannot be used; the message is one line for the user."""


# What runs checkpointed by releases that did not record a setting had: a new run's defaults (a run without its seed
# takes the one given on resume, see _resume)
_LEGACY_SETTINGS: dict[str, Any] = {name: getattr(TrainOptions().for_new_run(), name) for name in RECORDED if name != "seed"}


@dataclass
class RunState:
    """
    A run's ``state.json``: its counters at the last checkpoint, the checkpoint's model file, and the run's settings
    (the fields of :class:`TrainOptions` marked ``record``, resolved for the run; the others stay at their defaults).

    :param episodes: Episodes finished
    :param running_reward: Karpathy's running reward (None before the first episode)
    :param wall_seconds: Wall-clock seconds trained, over all sessions
    :param model: The checkpoint's model file, in the run folder
    :param settings: The run's settings
    """

    episodes: int = 0
    running_reward: float | None = None
    wall_seconds: float = 0.0
    model: str = LEGACY_MODEL_FILE
    settings: TrainOptions = field(default_factory=TrainOptions)

    def to_json(self) -> dict[str, Any]:
        """What ``state.json`` holds: the counters, the model file and the recorded settings, in one object."""
        counters = {name: getattr(self, name) for name in _COUNTERS}
        return {**counters, **{name: getattr(self.settings, name) for name in RECORDED}}


# state.json's counters: name -> (check, what it must be); its settings are checked as TrainOptions states them
_COUNTERS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "episodes": (lambda v: is_integer(v) and v >= 0, "a count of episodes"),
    "running_reward": (lambda v: v is None or is_finite_number(v), "a number or null"),
    "wall_seconds": (lambda v: is_finite_number(v) and v >= 0, "a number of seconds"),
    "model": (lambda v: isinstance(v, str) and v == Path(v).name and v.endswith(".zip"), "a .zip file name"),
}


_REQUIRED = ("episodes", "running_reward", "wall_seconds")


# What a user can do about a run folder that cannot be used, said by every such error
WHAT_TO_DO = "restore the run folder from a copy, or start a new run with another --out"


def _check_not_a_file(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"--out {out}: is a file, not a run folder; pass a new folder or a run's folder")


def _setting_problem(option: Field, value: Any) -> str | None:
    """What a recorded setting must be, where ``value`` is not that (None where it is), from its option's spec."""
    spec = option.metadata["argparse"]
    if "choices" in spec:
        return None if value in spec["choices"] else f"one of {spec['choices']}"
    if spec.get("action") == "store_true":
        return None if isinstance(value, bool) else "true or false"
    low = 1 if spec["type"] is POSITIVE_INT else 0
    return None if is_integer(value) and value >= low else spec["type"].__name__


def read_state(out: Path) -> RunState | None:
    """
    The run's ``state.json``, checked, with what older runs did not record filled in (a run that did not record its
    seed has ``settings.seed`` None); None where ``out`` holds no checkpoint yet (or does not exist).

    :raises RunFolderError: where ``out`` is a file, or ``state.json``, the model file it names or ``episodes.csv``
        cannot be used
    """
    _check_not_a_file(out)
    path = out / STATE_FILE
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RunFolderError(f"{path}: is not valid JSON ({error}); it may be torn or empty; {WHAT_TO_DO}") from None
    if not isinstance(state, dict):
        raise RunFolderError(f"{path}: holds a JSON {type(state).__name__}, not an object; {WHAT_TO_DO}")
    missing = [key for key in _REQUIRED if key not in state]
    if missing:
        raise RunFolderError(f"{path}: lacks {', '.join(missing)}; {WHAT_TO_DO}")
    state = {**_LEGACY_SETTINGS, "model": LEGACY_MODEL_FILE, **state}  # what older releases did not record
    for key, (is_valid, expected) in _COUNTERS.items():
        if not is_valid(state[key]):
            raise RunFolderError(f"{path}: {key} must be {expected}, got {state[key]!r}; {WHAT_TO_DO}")
    for option in fields(TrainOptions):
        if option.name in RECORDED and option.name in state:
            problem = _setting_problem(option, state[option.name])
            if problem is not None:
                raise RunFolderError(f"{path}: {option.name} must be {problem}, got {state[option.name]!r}; {WHAT_TO_DO}")
    if not (out / state["model"]).is_file():
        raise RunFolderError(f"{path}: names the model file {state['model']}, which is not in {out}; {WHAT_TO_DO}")
    if not (out / EPISODES_FILE).is_file():
        raise RunFolderError(f"{out / EPISODES_FILE}: is missing (the run's episode log); {WHAT_TO_DO}")
    # what older releases recorded and no longer do (n_episodes: the model has it) is left out
    settings = TrainOptions(**{name: state[name] for name in RECORDED if name in state})
    return RunState(**{name: state[name] for name in _COUNTERS}, settings=settings)


@contextmanager
def locked_run_folder(out: Path) -> Iterator[None]:
    """
    Create ``out`` if it does not exist and hold an exclusive lock on it while training: creating the lock file is
    also the check, before any training, that the folder can be written.

    :raises RunFolderError: where ``out`` cannot be created or written, or another session holds its lock
    """
    _check_not_a_file(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(out / LOCK_FILE, os.O_CREAT | os.O_RDWR)
    except OSError as error:
        raise RunFolderError(f"--out {out}: cannot be written ({error.strerror}); pass a folder you can write") from None
    try:
        try:
            _lock(descriptor)
        except OSError:
            raise RunFolderError(
                f"--out {out}: another 'train' is running in this folder (it holds {out / LOCK_FILE}); wait for it to "
                "stop, or pass another --out"
            ) from None
        _check_writable(out)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _check_writable(out: Path) -> None:
    """Every way a session writes in ``out`` works: new files in it (each checkpoint and state is a new file renamed
    over the old one) and appending to the episode log. A folder whose lock file already exists can refuse both."""
    path = out
    try:
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-check-", suffix=TEMPORARY_MARK):
            pass
        path = out / EPISODES_FILE
        if path.exists():
            with open(path, "a"):
                pass
    except OSError as error:
        raise RunFolderError(
            f"--out {out}: cannot be written ({path}: {error.strerror}); pass a folder you can write"
        ) from None


def _lock(descriptor: int) -> None:
    """An exclusive lock on an open file, or OSError where another process holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
    else:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)


# episodes.csv's columns as numbers
_EPISODE_COLUMNS: dict[str, type] = {"episode": int, "steps": int, "wall_seconds": float, "score": float,
                                     "running_reward": float}  # fmt: skip


def read_episodes(out: Path) -> list[dict[str, int | float]]:
    """
    The rows of the run's ``episodes.csv``, numbers as numbers, without a last line torn by a kill.

    :param out: The run folder, or a CSV file with the columns of its ``episodes.csv``
    :raises RunFolderError: where the file lacks a column or a row has a field that is not a number
    """
    path = out if out.suffix == ".csv" else out / EPISODES_FILE
    # without a last line torn by a kill during an append: it lies past the last checkpoint (written after it)
    with io.StringIO(whole_lines(path.read_text(encoding="utf-8")), newline="") as file:
        reader = csv.DictReader(file)
        missing = [column for column in _EPISODE_COLUMNS if column not in (reader.fieldnames or ())]
        if missing:
            raise RunFolderError(f"{path}: lacks the column(s) {', '.join(missing)}; {WHAT_TO_DO}")
        rows = []
        for row in reader:
            if not any(row.values()):  # a blank line
                continue
            try:
                rows.append({column: kind(row[column]) for column, kind in _EPISODE_COLUMNS.items()})
            except (TypeError, ValueError):
                raise RunFolderError(f"{path}: line {reader.line_num} is not a row of numbers ({row}); {WHAT_TO_DO}") from None
    return rows


def checkpoint_model_path(out: Path) -> Path | None:
    """The model file of the last complete checkpoint in ``out``, or None if there is none."""
    state = read_state(out)
    return None if state is None else out / state.model


def write_checkpoint(out: Path, model: REINFORCE, state: RunState) -> None:
    """
    Save ``model`` as ``model-<update>.zip``, then point ``state.json`` at it, each written whole before it replaces
    the old file (:func:`~sb3_vpg.common.files.replaced_whole`), then delete the older model files. A kill at any
    moment leaves ``state.json`` whole and naming a complete model file (also when the model file it names is saved
    again at the same update).
    """
    model_file = f"model-{model._n_updates}.zip"
    with replaced_whole(out / model_file) as temporary:
        model.save(temporary)
    state.model = model_file
    write_text_whole(out / STATE_FILE, json.dumps(state.to_json()))
    leftovers = [*out.glob("model-*.zip"), *out.glob("model-*.zip.tmp"), out / LEGACY_MODEL_FILE]
    leftovers += [path for path in out.iterdir() if is_temporary(path)]  # torn by a kill
    for path in leftovers:
        if path.name != model_file and path.exists():
            path.unlink()
