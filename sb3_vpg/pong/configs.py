"""
Pong configurations of REINFORCE: "karpathy" (Karpathy's Pong from Pixels update, exactly) and "fast" (the same
agent trained to beat the built-in AI sooner on a 2-core machine).
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


CONFIGS = {"karpathy": karpathy_kwargs, "fast": fast_karpathy_kwargs}
