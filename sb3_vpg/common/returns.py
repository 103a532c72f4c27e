"""Return maths for policy-gradient updates, as pure numpy functions.

Every function works on arrays shaped ``(n_steps, n_envs)``: column ``e`` is the time-ordered data of env ``e``.
``ends[t, e]`` is True when the return horizon of env ``e`` ends after step ``t``: the episode terminated or
was truncated there, or (in Pong point-boundary mode) a point was scored there. The last row is always treated
as a cut: whatever follows it is summarised by ``bootstrap_values[-1]``.
"""

from typing import Literal

import numpy as np

NormalizeMode = Literal["none", "batch", "episode"]
NORMALIZE_MODES: tuple[str, ...] = ("none", "batch", "episode")


def _bootstrap_or_zeros(rewards: np.ndarray, bootstrap_values: np.ndarray | None) -> np.ndarray:
    if bootstrap_values is None:
        return np.zeros_like(rewards, dtype=np.float64)
    if bootstrap_values.shape != rewards.shape:
        raise ValueError(f"bootstrap_values must have the shape of rewards {rewards.shape}, got {bootstrap_values.shape}")
    return bootstrap_values.astype(np.float64)


def discounted_returns(
    rewards: np.ndarray,
    ends: np.ndarray,
    gamma: float,
    bootstrap_values: np.ndarray | None = None,
) -> np.ndarray:
    """
    Reward-to-go ``G_t = r_t + gamma * (bootstrap_values[t] if ends[t] else G_{t+1})``.

    :param rewards: rewards, shape ``(n_steps, n_envs)``
    :param ends: True where the return horizon ends after the step, same shape
    :param gamma: discount factor
    :param bootstrap_values: value of the state after each step, used only where the horizon ends there
        (0 for a true termination, ``V(s')`` for a cut). ``None`` means zeros.
    :return: the discounted returns, float64, same shape
    """
    bootstrap = _bootstrap_or_zeros(rewards, bootstrap_values)
    returns = np.zeros_like(rewards, dtype=np.float64)
    next_return = bootstrap[-1]
    for t in reversed(range(len(rewards))):
        next_return = np.where(ends[t], bootstrap[t], next_return)
        next_return = rewards[t] + gamma * next_return
        returns[t] = next_return
    return returns


def gae_advantages(
    rewards: np.ndarray,
    values: np.ndarray,
    ends: np.ndarray,
    gamma: float,
    gae_lambda: float,
    bootstrap_values: np.ndarray | None = None,
) -> np.ndarray:
    """
    Generalised advantage estimates ``A_t = sum_k (gamma * lambda)^k delta_{t+k}`` within each horizon, with
    ``delta_t = r_t + gamma * V(s_{t+1}) - V(s_t)`` and ``V(s_{t+1})`` replaced by ``bootstrap_values[t]``
    where the horizon ends after step ``t``. With ``gae_lambda=1``, ``A_t + V(s_t)`` is the Monte-Carlo return.

    :param rewards: rewards, shape ``(n_steps, n_envs)``
    :param values: the baseline ``V(s_t)``, same shape
    :param ends: True where the return horizon ends after the step, same shape
    :param gamma: discount factor
    :param gae_lambda: GAE lambda in [0, 1]
    :param bootstrap_values: as in :func:`discounted_returns`
    :return: the advantages, float64, same shape
    """
    bootstrap = _bootstrap_or_zeros(rewards, bootstrap_values)
    advantages = np.zeros_like(rewards, dtype=np.float64)
    # One env at a time over Python floats (float64, as numpy would): per step that is far cheaper than numpy
    # calls on (n_envs,) rows, and the rollout buffer passes one env's column at a time.
    for env in range(rewards.shape[1]):
        column_rewards = rewards[:, env].astype(np.float64).tolist()
        column_values = values[:, env].astype(np.float64).tolist()
        column_bootstrap = bootstrap[:, env].tolist()
        column_ends = ends[:, env].tolist()
        column_advantages = [0.0] * len(column_rewards)
        next_advantage = 0.0
        next_value = column_bootstrap[-1]
        for t in reversed(range(len(column_rewards))):
            if column_ends[t] or t == len(column_rewards) - 1:
                next_value, next_advantage = column_bootstrap[t], 0.0
            delta = column_rewards[t] + gamma * next_value - column_values[t]
            next_advantage = delta + gamma * gae_lambda * next_advantage
            column_advantages[t] = next_advantage
            next_value = column_values[t]
        advantages[:, env] = column_advantages
    return advantages


def point_ends(rewards: np.ndarray) -> np.ndarray:
    """Pong point boundaries (``discount_rewards`` in Karpathy's Pong from Pixels): a non-zero reward ends the point's
    return."""
    return rewards != 0


def n_complete_steps(episode_ends: np.ndarray) -> int:
    """Length of the prefix of one env's column whose episodes all ended inside it (0 if none ended)."""
    ended = np.flatnonzero(episode_ends)
    return int(ended[-1]) + 1 if len(ended) else 0


def episode_ids(episode_ends: np.ndarray) -> np.ndarray:
    """Index of the episode each step of one env's column belongs to (0, 0, ..., 1, 1, ...)."""
    ids = np.cumsum(episode_ends, axis=0) - episode_ends
    return ids.astype(np.int64)


def normalize(x: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Standardise ``x`` to zero mean and unit standard deviation; a single value is returned as it is (standardised
    it would be 0 and carry no signal, so PPO skips normalisation for a batch of one too)."""
    if len(x) < 2:
        return x.astype(np.float64)
    return (x - x.mean()) / (x.std() + eps)


def normalize_per_group(x: np.ndarray, groups: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Standardise ``x`` within each group (e.g. each episode, as Karpathy's Pong from Pixels does), independently;
    a group of one value keeps its value, as in :func:`normalize`."""
    out = np.empty_like(x, dtype=np.float64)
    for group in np.unique(groups):
        mask = groups == group
        out[mask] = normalize(x[mask], eps)
    return out


def check_normalize_mode(mode: str) -> None:
    if mode not in NORMALIZE_MODES:
        raise ValueError(f"normalize_advantage must be one of {NORMALIZE_MODES}, got {mode!r}")


def normalize_advantages(advantages: np.ndarray, episodes: np.ndarray, mode: NormalizeMode) -> np.ndarray:
    """
    The advantages of one update as the gradient uses them: unchanged (``"none"``), standardised over the whole
    update (``"batch"``), or within each episode (``"episode"``, Karpathy's Pong from Pixels).

    :param advantages: The update's advantages (the returns, without a baseline), one per step
    :param episodes: A label per step that is the same exactly for the steps of one episode
    :param mode: ``"none"``, ``"batch"`` or ``"episode"``
    """
    check_normalize_mode(mode)
    if mode == "batch":
        return normalize(advantages)
    if mode == "episode":
        return normalize_per_group(advantages, episodes)
    return advantages.astype(np.float64)
