"""Argument checks with errors that name the parameter and say what was expected, and REINFORCE's checks."""

import math
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch as th

from sb3_vpg.common.buffers import EpisodicRolloutBuffer
from sb3_vpg.common.returns import NORMALIZE_MODES
from sb3_vpg.common.saved_models import ALGORITHM_BUFFER_KWARGS


class ArgumentValueError(ValueError):
    """A value that its parameter does not accept; the message names the parameter and says what it takes."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_)


def is_integer(value: Any) -> bool:
    """An integer (Python's or numpy's), not a bool."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def is_finite_number(value: Any) -> bool:
    """A finite real number (Python's or numpy's), not a bool or a string."""
    try:
        return _is_number(value) and math.isfinite(float(value))
    except OverflowError:  # an int beyond a float's range
        return False


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    allow_none: bool = False,
) -> None:
    """A finite real number (not a bool or a string) in ``[low, high]`` (``(low, high]`` without ``low_inclusive``)."""
    if value is None and allow_none:
        return
    low_bracket = "[" if low_inclusive else "("
    bounds = f" in {low_bracket}{'-inf' if low is None else low}, {'inf' if high is None else high}]"
    expected = "a finite number" + (bounds if low is not None or high is not None else "") + (" or None" * allow_none)
    if not is_finite_number(value):
        raise ArgumentValueError(f"{name} must be {expected}, got {value!r}")
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    if too_low or (high is not None and value > high):
        raise ArgumentValueError(f"{name} must be {expected}, got {value!r}")


def check_integer(
    name: str, value: Any, low: int, allow_none: bool = False, expected: str | None = None, high: int | None = None
) -> None:
    """An integer in ``[low, high]`` (not a bool, a float or a string), or None where allowed; ``expected`` says
    what in the error (default: "a positive integer" for ``low=1``, "an integer >= <low>" otherwise)."""
    if value is None and allow_none:
        return
    if not is_integer(value) or value < low or (high is not None and value > high):
        default = "a positive integer" if low == 1 else f"an integer >= {low}"
        expected = expected or default + (f" up to {high}" if high is not None else "") + (" or None" * allow_none)
        raise ArgumentValueError(f"{name} must be {expected}, got {value!r}")


def check_positive_int(name: str, value: Any, allow_none: bool = False) -> None:
    """An integer >= 1 (not a bool, a float or a string), or None where allowed."""
    check_integer(name, value, 1, allow_none)


def check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool | np.bool_):
        raise ArgumentValueError(f"{name} must be True or False, got {value!r}")


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> None:
    choices = tuple(choices)
    if not any(value == choice and type(value) is type(choice) for choice in choices):
        raise ArgumentValueError(f"{name} must be one of {choices}, got {value!r}")


def check_learning_rate(name: str, value: Any, allow_none: bool = False, allow_zero: bool = False) -> None:
    """
    A positive finite number, or a schedule (a callable of the progress remaining) that starts positive. With
    ``allow_zero``, 0 too: a model loaded only to act (rl_zoo3's ``enjoy`` loads with ``learning_rate=0``).
    """
    if value is None and allow_none:
        return
    expected = "a positive number or a schedule (a function of the progress remaining, 1 to 0)" + " or None" * allow_none
    start = value(1.0) if callable(value) else value
    if not is_finite_number(start) or start < 0 or (start == 0 and not allow_zero):
        if callable(value):
            raise ArgumentValueError(f"{name} must be {expected}; the schedule gives {start!r} at the start (progress 1)")
        raise ArgumentValueError(f"{name} must be {expected}, got {value!r}")


def check_mapping(name: str, value: Any, allow_none: bool = False) -> None:
    """A dict of keyword arguments, or None where allowed."""
    if value is None and allow_none:
        return
    if not isinstance(value, dict):
        raise ArgumentValueError(f"{name} must be a dict of keyword arguments" + " or None" * allow_none + f", got {value!r}")


def check_class(name: str, value: Any, base: type, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not (isinstance(value, type) and issubclass(value, base)):
        expected = f"a subclass of {base.__name__}" + " or None" * allow_none
        raise ArgumentValueError(f"{name} must be {expected}, got {value!r}")


def needs(condition: bool, message: str) -> None:
    """Raise ``ArgumentValueError(message)`` unless ``condition``: for arguments that need another one."""
    if not condition:
        raise ArgumentValueError(message)


def check_reinforce_arguments(model: Any, training: bool = True) -> None:
    """
    Check the arguments of a ``REINFORCE`` (or ``VPG``) as they stand on ``model``; normalises
    ``normalize_advantage=True/False`` to ``"batch"``/``"none"``. A model loaded only to act may have a learning
    rate of 0 (``training=False``; rl_zoo3's ``enjoy`` loads so), but cannot train with it.
    """
    check_learning_rate("learning_rate", model.learning_rate, allow_zero=not training)
    check_positive_int("n_steps", model.n_steps, allow_none=True)
    check_positive_int("n_episodes", model.n_episodes, allow_none=True)
    batching = f"(got n_steps={model.n_steps!r}, n_episodes={model.n_episodes!r})"
    needs(model.n_steps is None or model.n_episodes is None, f"pass either n_steps or n_episodes, not both {batching}")
    needs(model.n_steps is not None or model.n_episodes is not None, f"pass n_steps or n_episodes {batching}")
    check_number("gamma", model.gamma, low=0, high=1)
    check_number("gae_lambda", model.gae_lambda, low=0, high=1)
    if isinstance(model.normalize_advantage, bool | np.bool_):
        model.normalize_advantage = "batch" if model.normalize_advantage else "none"
    check_choice("normalize_advantage", model.normalize_advantage, NORMALIZE_MODES)
    check_bool("use_baseline", model.use_baseline)
    baseline = "needs a learned baseline: set use_baseline=True"
    needs(model.gae_lambda == 1 or model.use_baseline, f"gae_lambda < 1 (got {model.gae_lambda}) {baseline}")
    check_number("vf_coef", model.vf_coef, low=0)
    model.vf_coef = float(model.vf_coef)  # torch takes an int coefficient only within int64
    check_positive_int("n_value_steps", model.n_value_steps)
    needs(model.n_value_steps == 1 or model.use_baseline, f"n_value_steps > 1 (got {model.n_value_steps}) {baseline}")
    check_learning_rate("vf_learning_rate", model.vf_learning_rate, allow_none=True)
    needs(model.vf_learning_rate is None or model.use_baseline, f"vf_learning_rate (a value optimizer) {baseline}")
    check_class("vf_optimizer_class", model.vf_optimizer_class, th.optim.Optimizer, allow_none=True)
    check_mapping("vf_optimizer_kwargs", model.vf_optimizer_kwargs, allow_none=True)
    needs(
        model.vf_learning_rate is not None or (model.vf_optimizer_class is None and model.vf_optimizer_kwargs is None),
        "vf_optimizer_class and vf_optimizer_kwargs need a value optimizer: set vf_learning_rate",
    )
    check_number("ent_coef", model.ent_coef, low=0)
    model.ent_coef = float(model.ent_coef)
    check_number("max_grad_norm", model.max_grad_norm, low=0, low_inclusive=False, allow_none=True)
    check_number("max_importance_weight", model.max_importance_weight, low=0, low_inclusive=False, allow_none=True)
    if model.max_importance_weight is not None:
        model.max_importance_weight = float(model.max_importance_weight)  # torch clamps to an int within int64 only
    check_bool("reset_on_reward", model.reset_on_reward)
    check_bool("bootstrap_incomplete", model.bootstrap_incomplete)
    needs(not model.bootstrap_incomplete or model.use_baseline, f"bootstrap_incomplete=True {baseline}")
    check_choice("loss_reduction", model.loss_reduction, ("mean", "sum"))
    check_positive_int("batch_size", model.batch_size, allow_none=True)
    check_bool("use_sde", model.use_sde)
    check_integer("sde_sample_freq", model.sde_sample_freq, -1, expected="an integer >= -1 (-1: once per rollout)")
    # a deque's length: a C ssize_t
    check_integer("stats_window_size", model._stats_window_size, 1, high=sys.maxsize)
    check_mapping("policy_kwargs", model.policy_kwargs)
    check_class("rollout_buffer_class", model.rollout_buffer_class, EpisodicRolloutBuffer, allow_none=True)
    buffer_kwargs = model.rollout_buffer_kwargs
    needs(
        "sparse_observations" not in buffer_kwargs,
        "rollout_buffer_kwargs sparse_observations was replaced by a buffer class: pass "
        "rollout_buffer_class=SparseEpisodicRolloutBuffer (from sb3_vpg.common.sparse) instead",
    )
    reserved = sorted(set(ALGORITHM_BUFFER_KWARGS) & set(buffer_kwargs))
    needs(not reserved, f"rollout_buffer_kwargs must not contain {reserved}: pass them to {type(model).__name__} itself")
