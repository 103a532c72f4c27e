"""
rl-baselines3-zoo entry point: ``python -m sb3_vpg.zoo <command> [rl_zoo3 arguments]``.

rl_zoo3 has no plugin API: it checks ``--algo`` against ``rl_zoo3.utils.ALGOS`` when it builds its argument
parser. So we add ``reinforce`` and ``vpg`` to that dict (every rl_zoo3 module shares the same object), then hand
over to rl_zoo3's own command with its arguments unchanged. ``train`` with one of our algorithms and no
``-conf`` uses the configs shipped in ``sb3_vpg.zoo_configs`` (also from an installed wheel).
"""

import importlib
import inspect
import os
import re
import runpy
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any
from unittest.mock import patch

from stable_baselines3.common.base_class import BaseAlgorithm

import sb3_vpg
from sb3_vpg import REINFORCE, VPG, NonFiniteError
from sb3_vpg.common.extras import MissingExtraError, extra_needed
from sb3_vpg.common.files import write_text_whole
from sb3_vpg.common.validation import ArgumentValueError

ZOO_ALGOS: dict[str, type[BaseAlgorithm]] = {"reinforce": REINFORCE, "vpg": VPG}
# The masked algorithms (sb3-contrib, which rl_zoo3 needs, is there): no shipped entries, a user's -conf names the env
MASKABLE_ZOO_ALGOS = {"reinforce_mask": "MaskableREINFORCE", "vpg_mask": "MaskableVPG"}
# rl_zoo3's commands that we hand over to, and what each does
COMMANDS = {
    "train": "train an agent, or tune its hyperparameters with -optimize (rl_zoo3.train)",
    "enjoy": "run a trained agent and report its episode rewards (rl_zoo3.enjoy)",
    "record_video": "record a video of a trained agent (rl_zoo3.record_video)",
    "plot_train": "show the training curves of one run in a window (rl_zoo3.plots.plot_train)",
    "all_plots": "gather the evaluations of several runs, print a table, and pickle them with -o (rl_zoo3.plots.all_plots)",
    "plot_from_file": "plot a pickle written by all_plots; -o saves its last figure (rl_zoo3.plots.plot_from_file)",
    "record_training": "a video of every checkpoint of a run, joined with ffmpeg (rl_zoo3.record_training)",
    "push_to_hub": "evaluate an agent, write its model card, upload it to the Hugging Face Hub (rl_zoo3.push_to_hub)",
    "load_from_hub": "download a trained agent from the Hugging Face Hub into a log folder (rl_zoo3.load_from_hub)",
}
# rl_zoo3's commands that are scripts (their arguments are parsed under ``if __name__ == "__main__"``)
SCRIPT_COMMANDS = ("record_video", "record_training", "push_to_hub", "load_from_hub")
USAGE = f"usage: python -m sb3_vpg.zoo {{{','.join(COMMANDS)}}} [rl_zoo3 arguments]"
HELP = "\n".join(
    [
        USAGE,
        "",
        "rl-baselines3-zoo with REINFORCE and VPG added as --algo reinforce / vpg (and, with action masks and an",
        "entry of your own given with -conf, reinforce_mask / vpg_mask); every argument after the command goes to",
        "rl_zoo3 unchanged ('python -m sb3_vpg.zoo <command> --help' lists them).",
        "",
        "commands:",
        *(f"  {name:<15} {description}" for name, description in COMMANDS.items()),
    ]
)


def register() -> None:
    """Make ``reinforce`` and ``vpg`` (and the masked ``reinforce_mask`` and ``vpg_mask``) known to rl_zoo3: its
    algorithm table and its Optuna sampler tables."""
    from rl_zoo3 import hyperparams_opt, utils

    import sb3_vpg.pong  # registers KarpathyPolicy and the KarpathyPong env ids that our configs name
    from sb3_vpg.zoo.hyperparams_opt import convert_reinforce_params, sample_reinforce_params, sample_vpg_params

    utils.ALGOS.update(ZOO_ALGOS, **{key: getattr(sb3_vpg, name) for key, name in MASKABLE_ZOO_ALGOS.items()})
    hyperparams_opt.HYPERPARAMS_SAMPLER.update(
        reinforce=sample_reinforce_params, vpg=sample_vpg_params,
        reinforce_mask=sample_reinforce_params, vpg_mask=sample_vpg_params,
    )  # fmt: skip
    hyperparams_opt.HYPERPARAMS_CONVERTER.update(dict.fromkeys((*ZOO_ALGOS, *MASKABLE_ZOO_ALGOS), convert_reinforce_params))
    _read_rollout_buffer_class_by_name()


def _read_rollout_buffer_class_by_name() -> None:
    from rl_zoo3.utils import get_class_by_name

    """
    Let a config name ``rollout_buffer_class`` by its import path (``sb3_vpg.common.sparse.SparseEpisodicRolloutBuffer``),
    as rl_zoo3 reads ``replay_buffer_class`` for off-policy algorithms: before rl_zoo3 preprocesses the
    hyperparameters, the name becomes the class.
    """
    from rl_zoo3.exp_manager import ExperimentManager

    preprocess = ExperimentManager._preprocess_hyperparams
    if getattr(preprocess, "reads_rollout_buffer_class", False):
        return

    def _preprocess_hyperparams(self: ExperimentManager, hyperparams: dict[str, Any]) -> Any:
        check_zoo_forms(self.algo, hyperparams)
        if isinstance(hyperparams.get("rollout_buffer_class"), str):
            hyperparams["rollout_buffer_class"] = get_class_by_name(hyperparams["rollout_buffer_class"])
        preprocessed = preprocess(self, hyperparams)
        check_hyperparameters(self.algo, self.env_name.gym_id, preprocessed[0])
        return preprocessed

    _preprocess_hyperparams.reads_rollout_buffer_class = True  # type: ignore[attr-defined]
    ExperimentManager._preprocess_hyperparams = _preprocess_hyperparams  # type: ignore[method-assign]


@contextmanager
def _masked_evaluation(args: list[str]) -> Iterator[None]:
    """For a masked algorithm, the zoo's evaluation during training passes the env's masks to ``predict``
    (sb3-contrib's ``MaskableEvalCallback`` in place of SB3's ``EvalCallback``); other algorithms are untouched."""
    if _algo_argument(args) not in MASKABLE_ZOO_ALGOS:
        yield
        return
    from sb3_contrib.common.maskable.callbacks import MaskableEvalCallback

    with patch("rl_zoo3.exp_manager.EvalCallback", MaskableEvalCallback):
        yield


@contextmanager
def _record_videos_through_us() -> Iterator[None]:
    """rl_zoo3's record_training records each model with ``python -m rl_zoo3.record_video`` in a subprocess, where
    our algorithms are not registered: route those through ``python -m sb3_vpg.zoo record_video`` (with this
    interpreter, not the first ``python`` on the PATH)."""
    call = subprocess.call

    def call_through_us(command: Any, *args: Any, **kwargs: Any) -> int:
        if list(command[:3]) == ["python", "-m", "rl_zoo3.record_video"]:
            command = [sys.executable, "-m", "sb3_vpg.zoo", "record_video", *command[3:]]
        return call(command, *args, **kwargs)

    with patch.object(subprocess, "call", call_through_us):
        yield


@contextmanager
def _ffmpeg_on_path() -> Iterator[None]:
    """record_training joins the videos with an ``ffmpeg`` command; without one on the PATH, moviepy's own
    (imageio-ffmpeg's binary, installed with the zoo) stands in for it."""
    if shutil.which("ffmpeg") is not None:
        yield
        return
    import imageio_ffmpeg

    with tempfile.TemporaryDirectory() as folder:
        os.symlink(imageio_ffmpeg.get_ffmpeg_exe(), os.path.join(folder, "ffmpeg"))
        with patch.dict(os.environ, {"PATH": folder + os.pathsep + os.environ.get("PATH", "")}):
            yield


def card_for_sb3_vpg(card: str) -> str:
    """A model card of rl_zoo3's push_to_hub with commands that know our algorithms: ``python -m sb3_vpg.zoo``
    for ``python -m rl_zoo3.<command>``, and how to install sb3-vpg."""
    card = re.sub(r"python -m rl_zoo3\.(\w+)", r"python -m sb3_vpg.zoo \1", card)
    card = card.replace("`pip install rl_zoo3`", '`pip install -e ".[zoo]"` in a clone of sb3-vpg')
    return card.replace(
        "pip install rl_zoo3",
        "# sb3-vpg is not on PyPI: install it from a clone of its repository, in the clone's folder\n"
        'pip install -c constraints.txt -e ".[zoo]"',
    )


@contextmanager
def _cards_for_sb3_vpg() -> Iterator[None]:
    """push_to_hub writes its model card, then saves its metadata into it with ``metadata_save``: rewrite the
    card's commands there (see :func:`card_for_sb3_vpg`)."""
    from huggingface_hub import repocard

    metadata_save = repocard.metadata_save

    def save(path: Any, data: dict) -> Any:
        write_text_whole(path, card_for_sb3_vpg(Path(path).read_text(encoding="utf-8")))
        return metadata_save(path, data)

    with patch.object(repocard, "metadata_save", save):
        yield


@contextmanager
def _generate_metadata_by_its_old_name() -> Iterator[None]:
    """rl_zoo3 2.9.2's push_to_hub imports ``generate_metadata`` from huggingface_sb3, which the integration it
    depends on (sb3-team-hf-integration 3.2) renamed ``_generate_metadata`` and made return a ``ModelCardData``,
    so that command fails on import (huggingface/huggingface_sb3#54): give it the old name and the old dict."""
    # the module: the package's ``push_to_hub`` attribute is the function of that name
    integration = importlib.import_module("huggingface_sb3.push_to_hub")
    if hasattr(integration, "generate_metadata"):
        yield
        return

    def generate_metadata(model_name: str, env_id: str, mean_reward: float, std_reward: float) -> dict:
        return integration._generate_metadata(model_name, env_id, mean_reward, std_reward).to_dict()

    with patch.object(integration, "generate_metadata", generate_metadata, create=True):
        yield


def default_config(algo: str) -> str:
    """Path of the shipped hyperparameter file for one of our algorithms."""
    config = resources.files("sb3_vpg.zoo_configs") / f"{algo}.yml"
    return str(config)


def _algo_argument(args: list[str]) -> str | None:
    for i, arg in enumerate(args):
        if arg == "--algo" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--algo="):
            return arg.split("=", 1)[1]
    return None


class ZooArgumentError(ValueError):
    """A command-line value that rl_zoo3 would reject with a traceback; the message says what is accepted."""


def with_default_config(args: list[str]) -> list[str]:
    """
    Add ``-conf <shipped yml>`` when training one of our algorithms without a config of the user's, and
    ``--num-threads 1`` without a thread count of the user's: one torch thread was faster on 2-core machines, and
    the results of a seed then do not depend on the machine's core count (torch's reductions differ with threads).
    """
    algo = _algo_argument(args)
    if algo not in ZOO_ALGOS and algo not in MASKABLE_ZOO_ALGOS:
        return args
    has_config = any(arg in ("-conf", "--conf-file") or arg.startswith("--conf-file=") for arg in args)
    has_threads = any(arg == "--num-threads" or arg.startswith("--num-threads=") for arg in args)
    if not has_config and algo in MASKABLE_ZOO_ALGOS:
        raise ZooArgumentError(
            f"--algo {algo} has no shipped entries (no env of the zoo exposes action_masks()): give your entry with "
            f"-conf <file.yml>, and --gym-packages <module> where the module registers your env"
        )
    return [*args, *(() if has_config else ("-conf", default_config(algo))), *(() if has_threads else ("--num-threads", "1"))]


HYPERPARAMS_FLAGS = ("-params", "--hyperparams")
# Batching by steps or by episodes: setting one from the command line clears the other one of the shipped entry
EXCLUSIVE_BATCHING = {"n_episodes": "n_steps", "n_steps": "n_episodes"}


def _hyperparams_span(args: list[str]) -> tuple[int, int] | None:
    """Where the ``key:value`` tokens of ``-params`` are in ``args`` (start, stop), or None without ``-params``."""
    for i, arg in enumerate(args):
        if arg in HYPERPARAMS_FLAGS:
            stop = i + 1
            while stop < len(args) and not args[stop].startswith("-"):
                stop += 1
            return i + 1, stop
    return None


def with_checked_params(args: list[str]) -> list[str]:
    """
    Check the ``-params key:value`` overrides as rl_zoo3 will read them (each value is evaluated as Python), and
    let batching by episodes replace the shipped entry's ``n_steps`` (and the other way round), as REINFORCE takes
    one or the other.

    :raises ZooArgumentError: for a value that is not a Python expression
    """
    span = _hyperparams_span(args)
    if span is None:
        return args
    tokens = args[span[0] : span[1]]
    keys = []
    for token in tokens:
        key, _, value = token.partition(":")
        keys.append(key)
        try:
            eval(value, {})  # what rl_zoo3's StoreDict does
        except Exception as error:
            raise ZooArgumentError(
                f"-params {token}: rl_zoo3 evaluates each value as Python ({type(error).__name__}: {error}); "
                f"numbers, True/False/None and quoted strings are accepted, e.g. {key}:\"'{value}'\""
            ) from None
    added = [f"{other}:None" for key, other in EXCLUSIVE_BATCHING.items() if key in keys and other not in keys]
    return [*args[: span[1]], *added, *args[span[1] :]]


def _our_algorithm(algo: str) -> type[REINFORCE] | None:
    return {**ZOO_ALGOS, **{key: getattr(sb3_vpg, name) for key, name in MASKABLE_ZOO_ALGOS.items()}}.get(algo)


def _is_zoo_learning_rate(value: Any) -> bool:
    """A learning rate in a form rl_zoo3 converts: a number, or ``lin_<number>`` (its value is checked later)."""
    if isinstance(value, str):
        try:
            float(value.removeprefix("lin_"))
        except ValueError:
            return False
        return value.startswith("lin_")
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_zoo_forms(algo: str, hyperparams: dict[str, Any]) -> None:
    """
    Check the values that rl_zoo3 itself converts before our algorithm sees them, where rl_zoo3 would end in a
    traceback: a learning rate (a number, or ``"lin_<initial value>"`` for a linear schedule), ``policy_kwargs``
    given as Python text, and ``rollout_buffer_class`` given as an import path.
    """
    if _our_algorithm(algo) is None:
        return
    learning_rate = hyperparams.get("learning_rate", 1.0)
    if not _is_zoo_learning_rate(learning_rate):
        raise ZooArgumentError(f"learning_rate must be a number or 'lin_<initial value>', got {learning_rate!r}")
    if isinstance(hyperparams.get("policy_kwargs"), str):
        from rl_zoo3 import exp_manager

        try:
            eval(hyperparams["policy_kwargs"], vars(exp_manager))  # as rl_zoo3 reads it
        except Exception as error:
            raise ZooArgumentError(
                f"policy_kwargs {hyperparams['policy_kwargs']!r} is not a Python expression "
                f'({type(error).__name__}: {error}), e.g. "dict(net_arch=[64, 64])"'
            ) from None
    if isinstance(hyperparams.get("rollout_buffer_class"), str):
        from rl_zoo3.utils import get_class_by_name

        try:
            get_class_by_name(hyperparams["rollout_buffer_class"])
        except Exception as error:
            raise ZooArgumentError(
                f"rollout_buffer_class {hyperparams['rollout_buffer_class']!r} is not the import path of a class "
                f"({type(error).__name__}: {error}), e.g. 'sb3_vpg.common.sparse.SparseEpisodicRolloutBuffer'"
            ) from None


def check_hyperparameters(algo: str, env_id: str, hyperparams: dict[str, Any]) -> None:
    """
    Check the hyperparameters that rl_zoo3 will pass to one of our algorithms (its config entry with the
    ``-params`` overrides, preprocessed), before any env is made: an unknown name, or a value the algorithm
    refuses, is a :class:`ZooArgumentError` naming it, where rl_zoo3 would end in a traceback at the model's
    construction. Other algorithms' hyperparameters are left to rl_zoo3.
    """
    algorithm = _our_algorithm(algo)
    if algorithm is None:
        return
    where = f"the hyperparameters of {algo} for {env_id} (its -conf entry with the -params overrides)"
    parameters = inspect.signature(algorithm.__init__).parameters
    unknown = sorted(set(hyperparams) - set(parameters) - {"self"})
    if unknown:
        known = ", ".join(name for name in parameters if name not in ("self", "env", "_init_setup_model"))
        raise ZooArgumentError(f"{where}: {', '.join(unknown)} is not a parameter of {algorithm.__name__} ({known})")
    try:
        # the constructor checks every argument before it builds anything (and needs no env for it)
        algorithm(env=None, _init_setup_model=False, **hyperparams)  # type: ignore[arg-type]  # as load() does
    except ValueError as error:
        raise ZooArgumentError(f"{where}: {error}") from None


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(HELP)
        raise SystemExit(0)
    if not args or args[0] not in COMMANDS:
        problem = f"unknown command {args[0]!r}" if args else "no command given"
        print(f"{HELP}\n\npython -m sb3_vpg.zoo: error: {problem}; choose one of {', '.join(COMMANDS)}", file=sys.stderr)
        raise SystemExit(2)
    command, args = args[0], args[1:]
    try:
        with extra_needed():
            run(command, args)
    except MissingExtraError as error:
        print(f"python -m sb3_vpg.zoo {command}: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def run(command: str, args: list[str]) -> None:
    """Register our algorithms and hand ``command`` over to rl_zoo3 with ``args``."""
    register()
    if command == "train":
        try:
            args = with_checked_params(with_default_config(args))
        except (ZooArgumentError, ArgumentValueError) as error:  # both name the option or hyperparameter
            print(f"python -m sb3_vpg.zoo train: error: {error}", file=sys.stderr)
            raise SystemExit(2) from None
        except NonFiniteError as error:  # a run that diverged: the message says where, a traceback adds nothing
            print(f"python -m sb3_vpg.zoo train: training stopped: {error}", file=sys.stderr)
            raise SystemExit(1) from None
    sys.argv = [f"python -m sb3_vpg.zoo {command}", *args]
    if command == "record_training":
        with _record_videos_through_us(), _ffmpeg_on_path():
            runpy.run_module("rl_zoo3.record_training", run_name="__main__")
    elif command == "push_to_hub":
        with _generate_metadata_by_its_old_name(), _cards_for_sb3_vpg():
            runpy.run_module("rl_zoo3.push_to_hub", run_name="__main__")
    elif command in SCRIPT_COMMANDS:
        runpy.run_module(f"rl_zoo3.{command}", run_name="__main__")
    elif command == "train":
        from rl_zoo3.train import train

        try:
            with _masked_evaluation(args):
                train()
        except (ZooArgumentError, ArgumentValueError) as error:  # both name the option or hyperparameter
            print(f"python -m sb3_vpg.zoo train: error: {error}", file=sys.stderr)
            raise SystemExit(2) from None
        except NonFiniteError as error:  # a run that diverged: the message says where, a traceback adds nothing
            print(f"python -m sb3_vpg.zoo train: training stopped: {error}", file=sys.stderr)
            raise SystemExit(1) from None
    elif command == "enjoy":
        from rl_zoo3.enjoy import enjoy

        enjoy()
    else:
        from rl_zoo3 import plots

        getattr(plots, command)()
