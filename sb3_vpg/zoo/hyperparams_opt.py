"""Optuna samplers and converters for rl_zoo3's ``-optimize`` and ``--trial-id``, in rl_zoo3's own format."""

from typing import Any

import optuna
from rl_zoo3.hyperparams_opt import convert_onpolicy_params


def convert_reinforce_params(sampled_params: dict[str, Any]) -> dict[str, Any]:
    """Trial params -> REINFORCE/VPG kwargs. Also rebuilds a stored trial for ``--trial-id``, whose params lack
    the values that were not suggested (no GAE without a baseline)."""
    params = {"one_minus_gae_lambda": 0.0, **sampled_params}
    # one optimizer for the policy and the value function (as A2C/PPO), or a value optimizer of its own
    if params.pop("value_optimizer", "separate") == "shared":
        params["vf_learning_rate"] = None
    return convert_onpolicy_params(params)


def sample_value_optimizer(trial: optuna.Trial) -> dict[str, Any]:
    """One optimizer for everything, or a value optimizer with its own learning rate (``vf_learning_rate``)."""
    sampled_params: dict[str, Any] = {"value_optimizer": trial.suggest_categorical("value_optimizer", ["shared", "separate"])}
    if sampled_params["value_optimizer"] == "separate":
        sampled_params["vf_learning_rate"] = trial.suggest_float("vf_learning_rate", 1e-4, 1e-2, log=True)
    return sampled_params


def sample_reinforce_params(trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict) -> dict[str, Any]:
    """Sampler for REINFORCE: batch size, discount, learning rate, normalisation, optional baseline (with GAE,
    value steps and one optimizer or two)."""
    sampled_params: dict[str, Any] = {
        "n_steps": trial.suggest_categorical("n_steps", [8, 16, 32, 64, 128, 256, 512, 1024]),
        "one_minus_gamma": trial.suggest_float("one_minus_gamma", 0.0001, 0.05, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-2, log=True),
        "normalize_advantage": trial.suggest_categorical("normalize_advantage", ["none", "batch", "episode"]),
        "ent_coef": trial.suggest_float("ent_coef", 1e-8, 0.01, log=True),
        "net_arch": trial.suggest_categorical("net_arch", ["tiny", "small", "medium"]),
        "activation_fn": trial.suggest_categorical("activation_fn", ["tanh", "relu"]),
        "use_baseline": trial.suggest_categorical("use_baseline", [False, True]),
    }
    if sampled_params["use_baseline"]:
        # GAE only exists with a baseline (REINFORCE rejects gae_lambda < 1 without one)
        sampled_params["one_minus_gae_lambda"] = trial.suggest_float("one_minus_gae_lambda", 0.0001, 0.1, log=True)
        sampled_params["n_value_steps"] = trial.suggest_categorical("n_value_steps", [1, 5, 20, 80])
        sampled_params.update(sample_value_optimizer(trial))
    trial.set_user_attr("gamma", 1 - sampled_params["one_minus_gamma"])
    return convert_reinforce_params(sampled_params)


def sample_vpg_params(trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict) -> dict[str, Any]:
    """Sampler for VPG (always a baseline): batch size, discount, GAE lambda, learning rate, value steps, one
    optimizer or two (and then the value optimizer's learning rate)."""
    sampled_params: dict[str, Any] = {
        # from A2C-sized batches (8 steps x n_envs) to Spinning Up-sized ones
        "n_steps": trial.suggest_categorical("n_steps", [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]),
        "one_minus_gamma": trial.suggest_float("one_minus_gamma", 0.0001, 0.05, log=True),
        "one_minus_gae_lambda": trial.suggest_float("one_minus_gae_lambda", 0.0001, 0.1, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True),
        "n_value_steps": trial.suggest_categorical("n_value_steps", [1, 5, 20, 80]),
        "normalize_advantage": trial.suggest_categorical("normalize_advantage", ["none", "batch"]),
        "net_arch": trial.suggest_categorical("net_arch", ["tiny", "small", "medium"]),
        "activation_fn": trial.suggest_categorical("activation_fn", ["tanh", "relu"]),
        **sample_value_optimizer(trial),
    }
    trial.set_user_attr("gamma", 1 - sampled_params["one_minus_gamma"])
    return convert_reinforce_params(sampled_params)
