"""
Pong configurations of REINFORCE: "karpathy" (Karpathy's Pong from Pixels update, exactly), and two presets of
the same agent trained to beat the built-in AI sooner on a 2-core machine: "fast" (a 10x learning rate) and
"points" (also updates every 512 steps of 8 games on the points that have ended).
"""

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


# Games the fast preset plays at once, on ale-py's C++ threads (KarpathyPongVecEnv): about 1.9x the training
# throughput of one game on 2 cores (benchmarks/results/pong_throughput.md)
FAST_N_ENVS = 4


def fast_karpathy_kwargs(**overrides: Any) -> dict[str, Any]:
    """
    The "fast" preset: Karpathy's agent (80x80 frame differences, one hidden layer of 200 ReLU units without
    biases, one sigmoid output for UP, point-boundary returns with gamma 0.99 standardised per episode, the
    summed gradient, RMSProp) with a learning rate of 1e-3 instead of 1e-4, meant for ``FAST_N_ENVS`` games at
    once in a ``KarpathyPongVecEnv`` (``python -m sb3_vpg.pong train --config fast``). Chosen by side-by-side
    pilot runs on this project's 2-core machine (see the docs' Pong page, docs/pong.md).

    :param overrides: Replace any of these arguments
    """
    return karpathy_kwargs(**{"learning_rate": 1e-3, "n_episodes": 10, **overrides})


# Optimizers a preset may choose (``pong_preset_kwargs``): name -> class and arguments
OPTIMIZERS: dict[str, tuple[type[th.optim.Optimizer], dict[str, Any]]] = {
    "rmsprop": (th.optim.RMSprop, dict(alpha=0.99, eps=1e-5)),  # Karpathy's update rule
    "adam": (th.optim.Adam, dict(eps=1e-5)),
}


def pong_preset_kwargs(params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The games at once and the ``REINFORCE`` arguments of a trial's (or a preset's) choices."""
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


# The "points" preset's choices (``pong_preset_kwargs``): the best trial of the wall-clock study
# (benchmarks/pong_preset_tuning.py; its summary: benchmarks/results/pong_preset/tuning/summary.md)
POINTS_PARAMS: dict[str, Any] = dict(
    n_envs=8,
    n_steps=512,
    learning_rate=1e-3,
    optimizer="rmsprop",
    normalize_advantage="episode",
    ent_coef=0.0,
    gamma=0.99,
    use_baseline=False,
)
POINTS_N_ENVS = POINTS_PARAMS["n_envs"]


def points_karpathy_kwargs(**overrides: Any) -> dict[str, Any]:
    """
    The "points" preset: Karpathy's agent (80x80 frame differences, one hidden layer of 200 ReLU units without
    biases, one sigmoid output for UP, point-boundary returns with gamma 0.99 standardised per episode, the
    summed gradient, RMSProp) with a learning rate of 1e-3, updated every 512 steps of each game on the points
    that have ended by then (``ready_at="point"``: a point's return is complete when it ends, so it need not wait
    for its game), meant for ``POINTS_N_ENVS`` (8) games at once in a ``KarpathyPongVecEnv`` (``python -m
    sb3_vpg.pong train --config points``). Chosen by a wall-clock Optuna study on this project's 2-core machine
    (``sb3_vpg.pong.tuning``; see the docs' Pong page, docs/pong.md).

    :param overrides: Replace any of these arguments
    """
    return {**pong_preset_kwargs(POINTS_PARAMS)[1], **overrides}


CONFIGS = {"karpathy": karpathy_kwargs, "fast": fast_karpathy_kwargs, "points": points_karpathy_kwargs}
# Games each configuration plays at once by default (``python -m sb3_vpg.pong train``; more than one: on
# KarpathyPongVecEnv where the env allows)
CONFIG_N_ENVS = {"karpathy": 1, "fast": FAST_N_ENVS, "points": POINTS_N_ENVS}
