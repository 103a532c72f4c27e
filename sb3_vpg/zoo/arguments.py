"""Our checks and defaults of the zoo's command line: the shipped config and one thread for our algorithms, the
``-params`` values as rl_zoo3 will read them, and their hyperparameters checked before any env is made."""

import inspect
from importlib import resources
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm

import sb3_vpg
from sb3_vpg import REINFORCE, VPG

ZOO_ALGOS: dict[str, type[BaseAlgorithm]] = {"reinforce": REINFORCE, "vpg": VPG}


# The masked algorithms (sb3-contrib, which rl_zoo3 needs, is there): no shipped entries, a user's -conf names the env
MASKABLE_ZOO_ALGOS = {"reinforce_mask": "MaskableREINFORCE", "vpg_mask": "MaskableVPG"}


def default_config(algo: str) -> str:
    """Path of the shipped hyperparameter file for one of our algorithms."""
    config = resources.files("sb3_vpg.zoo_configs") / f"{algo}.yml"
    return str(config)


def algo_argument(args: list[str]) -> str | None:
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
    algo = algo_argument(args)
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


def zoo_algorithms() -> dict[str, type[REINFORCE]]:
    """Our algorithms by their zoo names, the masked ones included (imported on first use: they need sb3-contrib)."""
    return {**ZOO_ALGOS, **{key: getattr(sb3_vpg, name) for key, name in MASKABLE_ZOO_ALGOS.items()}}


def our_algorithm(algo: str) -> type[REINFORCE] | None:
    return zoo_algorithms().get(algo)


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
    if our_algorithm(algo) is None:
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
    algorithm = our_algorithm(algo)
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
