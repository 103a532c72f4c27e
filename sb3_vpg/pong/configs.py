"""The "Karpathy" configuration: seed 000's Pong from Pixels update, exactly."""

from typing import Any

import torch as th


def karpathy_kwargs(**overrides: Any) -> dict[str, Any]:
    """
    ``REINFORCE`` arguments that reproduce seed 000: a ``KarpathyPolicy`` (200 hidden ReLU units, no biases,
    ``randn / sqrt(fan_in)`` init), point-boundary discounting with gamma 0.99, returns standardised within each
    episode, the gradient summed over 10 episodes, RMSProp with decay 0.99, eps 1e-5 and learning rate 1e-4
    (torch's ``RMSprop(alpha=0.99, eps=1e-5)`` is seed 000's update rule). No entropy bonus, no clipping.

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
        # frame differences are ~1% non-zero: store their non-zero pixels only (exact; ~100x less memory)
        rollout_buffer_kwargs=dict(sparse_observations=True),
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
