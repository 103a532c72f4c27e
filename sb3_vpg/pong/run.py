"""
A Pong training run in a folder, resumable: the checkpoint format, the episode log and the progress callback that
``python -m sb3_vpg.pong train`` and the benchmarks share.

A run folder holds ``model-<update>.zip`` (model, optimizer state, step and update counters), ``state.json`` (which
model file, episodes, running reward, wall seconds and the run's settings) and ``episodes.csv`` (one row per
finished episode: episode, steps, wall_seconds, score, running_reward, where ``running_reward = 0.99 *
running_reward + 0.01 * score`` as in Karpathy's Pong from Pixels). A checkpoint is written every
``checkpoint_every`` updates and at the end; ``state.json`` is replaced atomically after its model file is complete,
so a run killed at any moment resumes from the last complete checkpoint. A training session holds a lock on
``.lock`` in the folder, so that a second one on the same folder is refused instead of logging every episode twice.
"""

import argparse
import csv
import io
import json
import math
import os
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from sb3_vpg import REINFORCE
from sb3_vpg.common.callbacks import StopTrainingOnWallClock
from sb3_vpg.common.files import (
    TEMPORARY_MARK,
    append_lines,
    is_temporary,
    replaced_whole,
    whole_lines,
    write_text_whole,
)
from sb3_vpg.common.validation import is_finite_number, is_integer
from sb3_vpg.pong.configs import PRESETS
from sb3_vpg.pong.scores import running_reward
from sb3_vpg.pong.vec_env import MAX_GAME_SEED
from sb3_vpg.pong.wrappers import KARPATHY_PONG_CLASSIC_ID, KARPATHY_PONG_ID

CSV_FIELDS = ("episode", "steps", "wall_seconds", "score", "running_reward")
ENV_IDS = (KARPATHY_PONG_ID, KARPATHY_PONG_CLASSIC_ID)
STATE_FILE = "state.json"
EPISODES_FILE = "episodes.csv"
LOCK_FILE = ".lock"
LEGACY_MODEL_FILE = "checkpoint.zip"  # runs checkpointed before state.json named its model file
# The settings a configuration fixes, checked against a resumed model (n_episodes may be changed on resume)
CONFIG_SETTINGS = ("learning_rate", "gamma", "reset_on_reward", "normalize_advantage", "loss_reduction")


class RunFolderError(Exception):
    """A run folder, or the options given for it, that cannot be used; the message is one line for the user."""


def _number(kind: type, low: float, inclusive: bool, what: str, high: float = math.inf) -> Callable[[str], int | float]:
    """An argparse type: a finite ``kind`` number >= ``low`` (> with ``inclusive=False``) and <= ``high``, named
    ``what`` in errors."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not (value >= low if inclusive else value > low) or not math.isfinite(value) or value > high:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = what  # argparse names the type by it in its messages
    return parse


POSITIVE_INT = _number(int, 1, True, "a positive integer")
NON_NEGATIVE_INT = _number(int, 0, True, "an integer >= 0")
POSITIVE_FLOAT = _number(float, 0, False, "a positive finite number")
# ale-py seeds each game with a 31-bit integer (its vector env refuses more)
GAME_SEED = _number(int, 0, True, f"an integer in [0, {MAX_GAME_SEED:,}] (ALE's game seeds)", high=MAX_GAME_SEED)
# games at once: each a subprocess with its pipes (SubprocVecEnv) or an emulator with its frames (KarpathyPongVecEnv)
MAX_GAMES = 256
GAMES = _number(int, 1, True, f"a number of games from 1 to {MAX_GAMES}", high=MAX_GAMES)


def _option(
    help: str, default: Any = None, *, flag: str | None = None, record: str | None = None, **argparse_kwargs: Any
) -> Any:
    """
    A field of :class:`TrainOptions` and its command-line option (``--<name>`` or ``flag``). ``record`` marks the
    run's settings, which ``state.json`` records: ``"fixed"`` (a resume that gives another value is refused) or
    ``"changeable"`` (a resume that gives one applies it and records it).
    """
    return field(default=default, metadata={"help": help, "flag": flag, "record": record, "argparse": argparse_kwargs})


@dataclass
class TrainOptions:
    """
    What ``python -m sb3_vpg.pong train`` is asked for, one field per option (the command line is built from these
    fields); None: not given (a new run's default, or what a resumed run recorded). The fields marked ``record`` are
    the run's settings: a new run resolves them (:meth:`for_new_run`) and ``state.json`` records them.
    """

    env_id: str | None = _option(f"env of a new run ({KARPATHY_PONG_ID} if not given)", flag="--env", record="fixed",
                                 choices=ENV_IDS)  # fmt: skip
    config: str | None = _option(
        "a new run's configuration (karpathy if not given). "
        + "; ".join(f"{name}: {preset.summary}" for name, preset in PRESETS.items()),
        record="fixed",
        choices=tuple(PRESETS),
    )
    n_envs: int | None = _option(
        "games played at once (default 1; on KarpathyPongVecEnv "
        + ", ".join(f"{preset.n_envs} with --config {name}" for name, preset in PRESETS.items() if preset.n_envs > 1)
        + ")",
        record="changeable",
        type=GAMES,
    )
    vector_env: bool = _option("KarpathyPongVecEnv instead of Dummy/SubprocVecEnv", False, record="changeable",
                               action="store_true")  # fmt: skip
    n_episodes: int | None = _option(
        "episodes per update (default: the config's: 10; not for points, which updates every 512 steps)", type=POSITIVE_INT
    )
    seed: int | None = _option(
        "seed of a new run (0 if not given; its envs get seed, seed + 1, ...; resumed: seed + episodes ...)",
        record="fixed",
        type=GAME_SEED,
    )
    hours: float = _option("wall-clock budget of this session", 1.0, type=POSITIVE_FLOAT)
    max_updates: int | None = _option("stop after this many updates of this session (no limit if not given)",
                                      flag="--updates", type=POSITIVE_INT)  # fmt: skip
    max_steps: int = _option("total agent-step budget over all sessions", 10**9, type=POSITIVE_INT)
    checkpoint_every: int = _option("updates between checkpoints", 10, type=POSITIVE_INT)
    print_every: int = _option("updates between progress lines", 1, type=POSITIVE_INT)

    def for_new_run(self) -> "TrainOptions":
        """The options with a new run's settings filled in: the preset's games at once (on ale-py's threads where
        the env allows) unless ``n_envs`` is given, env, config and seed defaults."""
        env_id, config = self.env_id or KARPATHY_PONG_ID, self.config or "karpathy"
        n_envs, vector_env = self.n_envs or 1, self.vector_env
        preset = PRESETS[config]
        if preset.n_envs > 1 and self.n_envs is None:
            n_envs, vector_env = preset.n_envs, vector_env or env_id == KARPATHY_PONG_ID
        return replace(self, env_id=env_id, config=config, n_envs=n_envs, vector_env=vector_env, seed=self.seed or 0)


RECORDED = {option.name: option.metadata["record"] for option in fields(TrainOptions) if option.metadata["record"]}
FLAGS = {option.name: option.metadata["flag"] or "--" + option.name.replace("_", "-") for option in fields(TrainOptions)}
# What runs checkpointed by releases that did not record a setting had: a new run's defaults (a run without its seed
# takes the one given on resume, see _resume)
_LEGACY_SETTINGS: dict[str, Any] = {name: getattr(TrainOptions().for_new_run(), name) for name in RECORDED if name != "seed"}


def add_train_options(parser: argparse.ArgumentParser) -> None:
    """One command-line option per field of :class:`TrainOptions`."""
    for option in fields(TrainOptions):
        flag = FLAGS[option.name]
        spec: dict[str, Any] = dict(option.metadata["argparse"])
        if "type" in spec:
            spec["metavar"] = flag.lstrip("-").replace("-", "_").upper()
        parser.add_argument(flag, dest=option.name, default=option.default, help=option.metadata["help"], **spec)


def train_options(args: argparse.Namespace) -> TrainOptions:
    """The :class:`TrainOptions` of parsed arguments."""
    return TrainOptions(**{option.name: getattr(args, option.name) for option in fields(TrainOptions)})


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


def make_env(n_envs: int, seed: int, vector_env: bool = False, env_id: str = KARPATHY_PONG_ID) -> VecEnv:
    """``n_envs`` games of ``env_id``: in a ``KarpathyPongVecEnv`` (ale-py's C++ threads) with ``vector_env``, else in
    a ``DummyVecEnv`` (one game) or ``SubprocVecEnv``; each game's episodes logged by a monitor. The games' seeds,
    ``seed`` + 0, 1, ..., wrap around within ALE's range (a resume's seed grows with the episodes)."""
    seed %= MAX_GAME_SEED + 2 - n_envs
    if vector_env:
        if env_id != KARPATHY_PONG_ID:
            raise RunFolderError(
                f"--vector-env runs {KARPATHY_PONG_ID} only (ale-py's vector env has a fixed frameskip); "
                f"for {env_id} use --n-envs without --vector-env (SubprocVecEnv)"
            )
        from stable_baselines3.common.vec_env import VecMonitor

        from sb3_vpg.pong.vec_env import KarpathyPongVecEnv

        return VecMonitor(KarpathyPongVecEnv(n_envs, seed=seed))

    def make(rank: int) -> Any:
        def _init() -> gym.Env:
            import sb3_vpg.pong  # noqa: F401  (registers the ids, also in a SubprocVecEnv worker)

            env = Monitor(gym.make(env_id))
            env.reset(seed=seed + rank)
            return env

        return _init

    factories = [make(rank) for rank in range(n_envs)]
    return SubprocVecEnv(factories) if n_envs > 1 else DummyVecEnv(factories)


_REQUIRED = ("episodes", "running_reward", "wall_seconds")
_WHAT_TO_DO = "restore the run folder from a copy, or start a new run with another --out"


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
        raise RunFolderError(f"{path}: is not valid JSON ({error}); it may be torn or empty; {_WHAT_TO_DO}") from None
    if not isinstance(state, dict):
        raise RunFolderError(f"{path}: holds a JSON {type(state).__name__}, not an object; {_WHAT_TO_DO}")
    missing = [key for key in _REQUIRED if key not in state]
    if missing:
        raise RunFolderError(f"{path}: lacks {', '.join(missing)}; {_WHAT_TO_DO}")
    state = {**_LEGACY_SETTINGS, "model": LEGACY_MODEL_FILE, **state}  # what older releases did not record
    for key, (is_valid, expected) in _COUNTERS.items():
        if not is_valid(state[key]):
            raise RunFolderError(f"{path}: {key} must be {expected}, got {state[key]!r}; {_WHAT_TO_DO}")
    for option in fields(TrainOptions):
        if option.name in RECORDED and option.name in state:
            problem = _setting_problem(option, state[option.name])
            if problem is not None:
                raise RunFolderError(f"{path}: {option.name} must be {problem}, got {state[option.name]!r}; {_WHAT_TO_DO}")
    if not (out / state["model"]).is_file():
        raise RunFolderError(f"{path}: names the model file {state['model']}, which is not in {out}; {_WHAT_TO_DO}")
    if not (out / EPISODES_FILE).is_file():
        raise RunFolderError(f"{out / EPISODES_FILE}: is missing (the run's episode log); {_WHAT_TO_DO}")
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
            raise RunFolderError(f"{path}: lacks the column(s) {', '.join(missing)}; {_WHAT_TO_DO}")
        rows = []
        for row in reader:
            if not any(row.values()):  # a blank line
                continue
            try:
                rows.append({column: kind(row[column]) for column, kind in _EPISODE_COLUMNS.items()})
            except (TypeError, ValueError):
                raise RunFolderError(
                    f"{path}: line {reader.line_num} is not a row of numbers ({row}); {_WHAT_TO_DO}"
                ) from None
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


class EpisodeLog(BaseCallback):
    """
    Appends each finished episode to ``<out>/episodes.csv`` (with its header where the file is new) and keeps the
    run's counters in ``state`` up to date: episodes, Karpathy's running reward and the run's wall seconds (those
    recorded before this session plus this session's, by ``clock``). Works with any SB3 algorithm whose env has a
    ``Monitor``/``VecMonitor``.

    :param out: The run folder
    :param state: The run's state, updated in place (default: a new run's)
    :param clock: Seconds since any fixed point (``time.monotonic``; a test may give a clock of its own)
    """

    def __init__(self, out: Path, state: RunState | None = None, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.out, self.clock = out, clock
        self.state = RunState() if state is None else state
        self.wall_at_start = self.state.wall_seconds
        self.session_start = clock()
        if not (out / EPISODES_FILE).exists():
            write_text_whole(out / EPISODES_FILE, ",".join(CSV_FIELDS) + "\n")

    def wall_seconds(self) -> float:
        return self.wall_at_start + self.clock() - self.session_start

    def _on_step(self) -> bool:
        state = self.state
        rows = []
        for info in self.locals["infos"]:
            if "episode" in info:
                score = float(info["episode"]["r"])
                state.running_reward = running_reward(state.running_reward, score)
                state.episodes += 1
                state.wall_seconds = self.wall_seconds()
                rows.append((state.episodes, self.num_timesteps, round(state.wall_seconds, 1), score,
                             round(state.running_reward, 4)))  # fmt: skip
        if rows:
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerows(rows)
            append_lines(self.out / EPISODES_FILE, text.getvalue())
        return True


class ProgressPrinter(BaseCallback):
    """
    Prints a progress line (update, episodes, steps, running reward, steps per second, the run's wall time) every
    ``print_every`` updates, after the update.

    :param episode_log: The run's :class:`EpisodeLog` (its counters and clock)
    :param print_every: Updates between lines
    """

    def __init__(self, episode_log: EpisodeLog, print_every: int = 1):
        super().__init__()
        self.episode_log, self.print_every = episode_log, print_every
        self.updates_at_print = self.steps_at_print = 0
        self.time_at_print = episode_log.clock()

    def _on_training_start(self) -> None:
        self.updates_at_print, self.steps_at_print = self.model._n_updates, self.model.num_timesteps

    def _on_step(self) -> bool:
        return True

    def _on_rollout_start(self) -> None:
        if self.model._n_updates - self.updates_at_print >= self.print_every:
            self.print_progress()

    def print_progress(self) -> None:
        now = self.episode_log.clock()
        steps_per_second = (self.model.num_timesteps - self.steps_at_print) / max(now - self.time_at_print, 1e-9)
        reward = self.episode_log.state.running_reward
        elapsed = int(self.episode_log.wall_seconds())
        print(
            f"update {self.model._n_updates:,} | episodes {self.episode_log.state.episodes:,} | steps "
            f"{self.model.num_timesteps:,} | running reward {'-' if reward is None else f'{reward:.2f}'} | "
            f"{steps_per_second:,.0f} steps/s | elapsed {elapsed // 3600}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}",
            flush=True,
        )
        self.updates_at_print, self.steps_at_print, self.time_at_print = self.model._n_updates, self.model.num_timesteps, now


class Checkpointer(BaseCallback):
    """
    Writes the run's checkpoint (:func:`write_checkpoint`) every ``checkpoint_every`` updates, after the update (so
    that it holds the model the next rollout uses), and when :meth:`save` is called.

    :param out: The run folder
    :param episode_log: The run's :class:`EpisodeLog` (the state written beside the model)
    :param checkpoint_every: Updates between checkpoints
    """

    def __init__(self, out: Path, episode_log: EpisodeLog, checkpoint_every: int):
        super().__init__()
        self.out, self.episode_log, self.checkpoint_every = out, episode_log, checkpoint_every
        self.updates_at_checkpoint = 0

    def _on_training_start(self) -> None:
        self.updates_at_checkpoint = self.model._n_updates

    def _on_step(self) -> bool:
        return True

    def _on_rollout_start(self) -> None:
        if self.model._n_updates - self.updates_at_checkpoint >= self.checkpoint_every:
            self.save()

    def save(self) -> None:
        self.updates_at_checkpoint = self.model._n_updates
        self.episode_log.state.wall_seconds = self.episode_log.wall_seconds()
        write_checkpoint(self.out, self.model, self.episode_log.state)  # type: ignore[arg-type]


class StopTrainingOnUpdates(BaseCallback):
    """Stops training at the first step after ``max_updates`` updates of this ``learn`` call (None: never)."""

    def __init__(self, max_updates: int | None):
        super().__init__()
        self.max_updates, self.updates_at_start = max_updates, 0

    def _on_training_start(self) -> None:
        self.updates_at_start = self.model._n_updates

    def _on_step(self) -> bool:
        return self.max_updates is None or self.model._n_updates - self.updates_at_start < self.max_updates


class StopTrainingOnRequest(BaseCallback):
    """Stops training at the next step once :meth:`request_stop` was called (by a signal handler)."""

    def __init__(self) -> None:
        super().__init__()
        self.stop_requested = False

    def request_stop(self, *_: Any) -> None:
        self.stop_requested = True

    def _on_step(self) -> bool:
        return not self.stop_requested


@contextmanager
def stop_on_signals(stop: StopTrainingOnRequest) -> Iterator[None]:
    """
    SIGTERM (``kill <pid>``) and a first Ctrl-C (SIGINT) stop the run at its next step, with a final checkpoint; a
    second Ctrl-C aborts at once (``KeyboardInterrupt``; the last complete checkpoint stands).
    """

    def on_interrupt(*_: Any) -> None:
        if stop.stop_requested:
            raise KeyboardInterrupt
        print("stopping at the next step with a final checkpoint (Ctrl-C again to abort)", flush=True)
        stop.request_stop()

    previous = signal.signal(signal.SIGTERM, stop.request_stop), signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])


def check_config(model: REINFORCE, state: RunState, state_path: Path) -> None:
    """The configuration ``state.json`` names is the one the model trains with."""
    config = state.settings.config
    assert config is not None
    expected = PRESETS[config].reinforce_kwargs()
    for key in CONFIG_SETTINGS:
        if getattr(model, key) != expected[key]:
            raise RunFolderError(
                f"{state_path}: says config {config!r}, but its model has {key}={getattr(model, key)!r} "
                f"(that config has {expected[key]!r}); {_WHAT_TO_DO}"
            )


def _resume(out: Path, state: RunState, options: TrainOptions) -> tuple[REINFORCE, VecEnv]:
    """The run's model and a fresh env, with the options that differ from its settings applied and recorded, or
    refused where they cannot change."""
    settings = state.settings
    for name, record in RECORDED.items():
        value, recorded = getattr(options, name), getattr(settings, name)
        if record == "fixed" and value is not None and recorded is not None and value != recorded:
            raise RunFolderError(
                f"{FLAGS[name]} {value}: the run in {out} has {name} {recorded}; leave {FLAGS[name]} out to resume it, "
                "or start a new run with another --out"
            )
    if settings.seed is None:  # a run that did not record it
        settings.seed = options.seed or 0
    changed = {}
    for name, record in RECORDED.items():
        value = getattr(options, name)
        if record == "changeable" and value not in (None, False) and value != getattr(settings, name):  # given
            changed[name] = value
            setattr(settings, name, value)
    assert settings.n_envs is not None and settings.env_id is not None
    # fresh env random streams after every resume, reproducible from the run's seed
    env = make_env(settings.n_envs, settings.seed + state.episodes, settings.vector_env, settings.env_id)
    model = REINFORCE.load(out / state.model, env=env)
    check_config(model, state, out / STATE_FILE)
    if options.n_episodes is not None and model.n_episodes is None:
        raise RunFolderError(_steps_based(options.n_episodes, str(settings.config), int(model.n_steps or 0)))
    if options.n_episodes is not None and options.n_episodes != model.n_episodes:
        model.n_episodes = changed["n_episodes"] = options.n_episodes
    applied = "".join(f", {key} now {value}" for key, value in changed.items())
    # reported here, in place of the DroppedStepsWarning of learn
    n_dropped = model.n_steps_not_in_file
    dropped = f"; {n_dropped:,} step{'s' * (n_dropped != 1)} of running episodes not kept" if n_dropped else ""
    model.n_steps_not_in_file = 0
    print(f"resuming {settings.env_id} ({settings.config}) at {model.num_timesteps:,} steps, episode "
          f"{state.episodes:,}, update {model._n_updates:,}{applied}{dropped}", flush=True)  # fmt: skip
    # Drop CSV rows of episodes that ended after the checkpoint: they are replayed from the checkpoint.
    text = io.StringIO()
    writer = csv.DictWriter(text, CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(row for row in read_episodes(out) if row["episode"] <= state.episodes)
    write_text_whole(out / EPISODES_FILE, text.getvalue())
    return model, env


def _steps_based(n_episodes: int, config: str, n_steps: int) -> str:
    return (f"--n-episodes {n_episodes}: the {config} configuration updates every {n_steps} steps of each game, not "
            "every N episodes; leave --n-episodes out")  # fmt: skip


def _start(out: Path, options: TrainOptions) -> tuple[REINFORCE, VecEnv, RunState]:
    settings = options.for_new_run()
    env_id, config, n_envs, seed = settings.env_id, settings.config, settings.n_envs, settings.seed
    assert env_id is not None and config is not None and n_envs is not None and seed is not None
    preset = PRESETS[config]
    env = make_env(n_envs, seed, settings.vector_env, env_id)
    kwargs = preset.reinforce_kwargs()
    if options.n_episodes is not None:
        if kwargs.get("n_episodes") is None:
            raise RunFolderError(_steps_based(options.n_episodes, config, kwargs["n_steps"]))
        kwargs["n_episodes"] = options.n_episodes
    model = REINFORCE(env=env, seed=seed, verbose=0, **kwargs)
    recorded = {name: getattr(settings, name) for name in RECORDED}
    state = RunState(settings=TrainOptions(**recorded))
    print(f"new run on {env_id} ({config}, {n_envs} game{'s' * (n_envs > 1)}) in {out}", flush=True)
    (out / EPISODES_FILE).unlink(missing_ok=True)  # of a run killed before its first checkpoint; EpisodeLog writes anew
    return model, env, state


def train_run(out: Path, options: TrainOptions) -> REINFORCE:
    """
    Train a new run in ``out``, or resume the one there, until the budget of ``options`` is spent (or SIGTERM or
    Ctrl-C), then write a final checkpoint.

    :raises RunFolderError: where the folder or the options cannot be used
    """
    th.set_num_threads(1)
    with locked_run_folder(out):
        state = read_state(out)
        if state is None:
            model, env, state = _start(out, options)
        else:
            model, env = _resume(out, state, options)
        # --max-steps is the run's budget, over all its sessions
        remaining = options.max_steps - model.num_timesteps
        if remaining <= 0:
            env.close()
            print(
                f"the run has {model.num_timesteps:,} steps, --max-steps {options.max_steps:,}: nothing to train", flush=True
            )
            return model
        episode_log = EpisodeLog(out, state)
        printer = ProgressPrinter(episode_log, options.print_every)
        checkpointer = Checkpointer(out, episode_log, options.checkpoint_every)
        stop = StopTrainingOnRequest()
        callbacks = [episode_log, printer, checkpointer, StopTrainingOnWallClock(options.hours * 3600),
                     StopTrainingOnUpdates(options.max_updates), stop]  # fmt: skip
        with stop_on_signals(stop):
            model.learn(remaining, callback=callbacks, reset_num_timesteps=False, log_interval=None)  # type: ignore[arg-type]
            checkpointer.save()
        env.close()
    printer.print_progress()
    print(f"stopped; checkpoint in {out}", flush=True)
    return model
