"""
Pong configurations of REINFORCE: "karpathy" (Karpathy's Pong from Pixels update, exactly), and two presets of
the same agent trained to beat the built-in AI sooner on a 2-core machine: "fast" (a 10x learning rate) and
"points" (also updates every 512 steps of 8 games on the points that have ended).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch as th

from sb3_vpg.common.sparse import SparseEpisodicRolloutBuffer


def karpathy_kwargs(**overrides: Any) -> dict[str, Any]:
    """
    ``REINFORCE`` arguments that reproduce Karpathy's Pong from Pixels (2016,
    http://karpathy.github.io/2016/05/31/rl/): a ``KarpathyPolicy`` (200 hidden ReLU units, no biases,
    ``randn / sqrt(fan_in)`` init), point-boundary discounting with gamma 0.99, returns standardised within each
    episode, the gradient summed over 10 episodes, RMSProp with decay 0.99, eps 1e-5 and learning rate 1e-4
    (torch's ``RMSprop(alpha=0.99, eps=1e-5)`` is Karpathy's update rule). No entropy bonus, no clipping.

    Usage: ``REINFORCE(env=gymnasium.make("KarpathyPong-v0"), **karpathy_kwargs())``.

    :param overrides: Replace any of these arguments
    """
    kwargs: dict[str, Any] = dict(
        policy="KarpathyPolicy",
        learning_rate=1e-4,
        n_episodes=10,
        gamma=0.99,
        reset_on_reward=True,
        normalize_advantage="episode",
        loss_reduction="sum",
        batch_size=4096,  # bounds the activations kept for the backward pass; the same gradient (float rounding aside)
        # frame differences are ~1% non-zero: store their non-zero pixels only (exact; ~100x less memory), and
        # train on them as sparse tensors (KarpathyPolicy takes them)
        rollout_buffer_class=SparseEpisodicRolloutBuffer,
        rollout_buffer_kwargs=dict(sparse_samples=True),
        policy_kwargs=dict(
            hidden_size=200,
            bias=False,
            karpathy_init=True,
            optimizer_class=th.optim.RMSprop,
            optimizer_kwargs=dict(alpha=0.99, eps=1e-5),
        ),
    )
    kwargs.update(overrides)
    return kwargs


def _points_kwargs() -> dict[str, Any]:
    """The points preset's arguments: Karpathy's agent, updated every 512 steps of each game on the points that
    have ended (``tuning.POINTS_TRIAL``, the study's best trial, through :func:`pong_preset_kwargs`, gives the same)."""
    exact = karpathy_kwargs()
    return karpathy_kwargs(
        learning_rate=1e-3,
        n_episodes=None,
        n_steps=512,
        ent_coef=0.0,
        use_baseline=False,
        rollout_buffer_kwargs={**exact["rollout_buffer_kwargs"], "ready_at": "point"},
        policy_kwargs={**exact["policy_kwargs"], "value_head": False},
    )


@dataclass(frozen=True)
class Preset:
    """
    A Pong configuration of REINFORCE: the games it plays at once (``python -m sb3_vpg.pong train``; more than one:
    on ``KarpathyPongVecEnv`` where the env allows) and its REINFORCE arguments.

    :param n_envs: Games at once
    :param reinforce_kwargs: Returns its REINFORCE arguments (a fresh dict at each call: callers may change it)
    :param summary: What it is, in one line (the command line's help)
    """

    n_envs: int
    reinforce_kwargs: Callable[[], dict[str, Any]]
    summary: str


#: The Pong configurations by name (``python -m sb3_vpg.pong train --config <name>``)
PRESETS: dict[str, Preset] = {
    "karpathy": Preset(1, karpathy_kwargs, "Karpathy's Pong from Pixels exactly"),
    # side-by-side pilot runs on this project's 2-core machine (docs/pong.md); 4 games on ale-py's C++ threads
    # (KarpathyPongVecEnv): about 1.9x the training throughput of one game on 2 cores (results/pong_throughput.md)
    "fast": Preset(
        4, lambda: karpathy_kwargs(learning_rate=1e-3), "a 10x learning rate, 4 games; the fastest to beat the AI here"
    ),
    # a wall-clock Optuna study on this project's 2-core machine (sb3_vpg.pong.tuning, docs/pong.md)
    "points": Preset(8, _points_kwargs, "updates every 512 steps of 8 games on the points that have ended"),
}


def fast_karpathy_kwargs(**overrides: Any) -> dict[str, Any]:
    """
    The "fast" preset's arguments (``PRESETS["fast"]``): Karpathy's agent (80x80 frame differences, one hidden layer
    of 200 ReLU units without biases, one sigmoid output for UP, point-boundary returns with gamma 0.99 standardised
    per episode, the summed gradient, RMSProp) with a learning rate of 1e-3 instead of 1e-4, meant for 4 games at
    once in a ``KarpathyPongVecEnv`` (``python -m sb3_vpg.pong train --config fast``).

    :param overrides: Replace any of these arguments
    """
    return {**PRESETS["fast"].reinforce_kwargs(), **overrides}


def points_karpathy_kwargs(**overrides: Any) -> dict[str, Any]:
    """
    The "points" preset's arguments (``PRESETS["points"]``): Karpathy's agent with a learning rate of 1e-3,
    updated every 512 steps of each game on the points that have ended by then (``ready_at="point"``: a point's
    return is complete when it ends, so it need not wait for its game), meant for 8 games at once in a
    ``KarpathyPongVecEnv`` (``python -m sb3_vpg.pong train --config points``).

    :param overrides: Replace any of these arguments
    """
    return {**PRESETS["points"].reinforce_kwargs(), **overrides}


# Optimizers a preset may choose (``pong_preset_kwargs``): name -> class and arguments
OPTIMIZERS: dict[str, tuple[type[th.optim.Optimizer], dict[str, Any]]] = {
    "rmsprop": (th.optim.RMSprop, dict(alpha=0.99, eps=1e-5)),  # Karpathy's update rule
    "adam": (th.optim.Adam, dict(eps=1e-5)),
}


def pong_preset_kwargs(params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The games at once and the ``REINFORCE`` arguments of a tuning trial's choices (``sb3_vpg.pong.tuning``)."""
    optimizer_class, optimizer_kwargs = OPTIMIZERS[params["optimizer"]]
    policy_kwargs = {
        **karpathy_kwargs()["policy_kwargs"],
        "optimizer_class": optimizer_class,
        "optimizer_kwargs": optimizer_kwargs,
        "value_head": params["use_baseline"],
    }
    kwargs = karpathy_kwargs(
        n_episodes=None,
        n_steps=params["n_steps"],
        learning_rate=params["learning_rate"],
        normalize_advantage=params["normalize_advantage"],
        ent_coef=params["ent_coef"],
        gamma=params["gamma"],
        use_baseline=params["use_baseline"],
        policy_kwargs=policy_kwargs,
    )
    kwargs["rollout_buffer_kwargs"] = {**kwargs["rollout_buffer_kwargs"], "ready_at": "point"}
    return params["n_envs"], kwargs
