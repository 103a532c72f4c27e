"""
A Pong training run in a folder, resumable: :func:`train_run` composes the options (:mod:`sb3_vpg.pong.options`),
the run folder (:mod:`sb3_vpg.pong.run_folder`), the games (:mod:`sb3_vpg.pong.envs`) and the callbacks
(:mod:`sb3_vpg.pong.callbacks`) that ``python -m sb3_vpg.pong train`` and the benchmarks share.
"""

import csv
import io
from pathlib import Path

import torch as th
from stable_baselines3.common.vec_env import VecEnv

from sb3_vpg import REINFORCE
from sb3_vpg.common.callbacks import StopTrainingOnWallClock
from sb3_vpg.common.files import (
    write_text_whole,
)
from sb3_vpg.pong.callbacks import (
    Checkpointer,
    EpisodeLog,
    ProgressPrinter,
    StopTrainingOnRequest,
    StopTrainingOnUpdates,
    stop_on_signals,
)
from sb3_vpg.pong.configs import PRESETS
from sb3_vpg.pong.envs import make_env
from sb3_vpg.pong.options import (
    ENV_IDS,
    FLAGS,
    GAME_SEED,
    GAMES,
    MAX_GAMES,
    NON_NEGATIVE_INT,
    POSITIVE_FLOAT,
    POSITIVE_INT,
    RECORDED,
    TrainOptions,
    add_train_options,
    train_options,
)
from sb3_vpg.pong.run_folder import (
    CSV_FIELDS,
    EPISODES_FILE,
    LEGACY_MODEL_FILE,
    LOCK_FILE,
    STATE_FILE,
    WHAT_TO_DO,
    RunFolderError,
    RunState,
    checkpoint_model_path,
    locked_run_folder,
    read_episodes,
    read_state,
    write_checkpoint,
)
from sb3_vpg.pong.vec_env import MAX_GAME_SEED

# The public names of sb3_vpg.pong.run before it was carved by job, kept importable from here
__all__ = [
    "CONFIG_SETTINGS",
    "CSV_FIELDS",
    "ENV_IDS",
    "EPISODES_FILE",
    "FLAGS",
    "GAMES",
    "GAME_SEED",
    "LEGACY_MODEL_FILE",
    "LOCK_FILE",
    "MAX_GAMES",
    "MAX_GAME_SEED",
    "NON_NEGATIVE_INT",
    "POSITIVE_FLOAT",
    "POSITIVE_INT",
    "RECORDED",
    "STATE_FILE",
    "Checkpointer",
    "EpisodeLog",
    "ProgressPrinter",
    "RunFolderError",
    "RunState",
    "StopTrainingOnRequest",
    "StopTrainingOnUpdates",
    "TrainOptions",
    "add_train_options",
    "check_config",
    "checkpoint_model_path",
    "locked_run_folder",
    "make_env",
    "read_episodes",
    "read_state",
    "stop_on_signals",
    "train_options",
    "train_run",
    "write_checkpoint",
]

# The settings a configuration fixes, checked against a resumed model (n_episodes may be changed on resume)
CONFIG_SETTINGS = ("learning_rate", "gamma", "reset_on_reward", "normalize_advantage", "loss_reduction")


def check_config(model: REINFORCE, state: RunState, state_path: Path) -> None:
    """The configuration ``state.json`` names is the one the model trains with."""
    config = state.settings.config
    assert config is not None
    expected = PRESETS[config].reinforce_kwargs()
    for key in CONFIG_SETTINGS:
        if getattr(model, key) != expected[key]:
            raise RunFolderError(
                f"{state_path}: says config {config!r}, but its model has {key}={getattr(model, key)!r} "
                f"(that config has {expected[key]!r}); {WHAT_TO_DO}"
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
    if options.ray_address is not None and settings.vector_env:  # Ray plays the games as SubprocVecEnv would
        settings.vector_env = changed["vector_env"] = False
    assert settings.n_envs is not None and settings.env_id is not None
    # fresh env random streams after every resume, reproducible from the run's seed
    env = make_env(settings.n_envs, settings.seed + state.episodes, settings.vector_env, settings.env_id,
                   options.ray_address)  # fmt: skip
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
    env = make_env(n_envs, seed, settings.vector_env, env_id, options.ray_address)
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
