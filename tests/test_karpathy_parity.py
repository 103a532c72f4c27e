"""One update of REINFORCE with the Karpathy configuration equals the numpy update of Karpathy's Pong from Pixels
on the same batch."""

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.logger import configure

from sb3_vpg import REINFORCE
from sb3_vpg.pong import karpathy_kwargs

D, H = 80 * 80, 200
GAMMA, LEARNING_RATE, DECAY_RATE = 0.99, 1e-4, 0.99


class FrameDifferenceSpaces(gym.Env):
    """Only the spaces of KarpathyPong-v0: the recorded batch is fed to the rollout buffer directly."""

    observation_space = spaces.Box(-1, 1, (80, 80), np.int8)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        return np.zeros((80, 80), np.int8), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        return np.zeros((80, 80), np.int8), 0.0, True, False, {}


def recorded_batch(rng: np.random.Generator, n_episodes: int = 10) -> list[dict[str, np.ndarray]]:
    """Episodes of sparse frame differences, UP(1)/DOWN(0) actions and Pong-like rewards (+-1 at points)."""
    episodes = []
    for _ in range(n_episodes):
        length = int(rng.integers(30, 90))
        frames = np.zeros((length, D), np.int8)
        for frame in frames:
            frame[rng.choice(D, size=40, replace=False)] = rng.choice([-1, 1], size=40)
        rewards = np.where(rng.random(length) < 0.08, rng.choice([-1.0, 1.0], size=length), 0.0)
        rewards[-1] = rng.choice([-1.0, 1.0])  # an episode ends on a point
        episodes.append({"x": frames, "actions": rng.integers(0, 2, size=length), "rewards": rewards})
    return episodes


def karpathy_update(model: dict[str, np.ndarray], episodes: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Karpathy's loop over one batch, in float64: forward, discount_rewards, backward, RMSProp."""

    def sigmoid(x):
        return 1.0 / (1.0 + np.exp(-x))

    def policy_forward(x):
        h = np.dot(model["W1"], x)
        h[h < 0] = 0
        logp = np.dot(model["W2"], h)
        return sigmoid(logp), h

    def policy_backward(eph, epdlogp, epx):
        dW2 = np.dot(eph.T, epdlogp).ravel()
        dh = np.outer(epdlogp, model["W2"])
        dh[eph <= 0] = 0
        dW1 = np.dot(dh.T, epx)
        return {"W1": dW1, "W2": dW2}

    def discount_rewards(r):
        discounted_r = np.zeros_like(r)
        running_add = 0.0
        for t in reversed(range(0, r.size)):
            if r[t] != 0:
                running_add = 0.0
            running_add = running_add * GAMMA + r[t]
            discounted_r[t] = running_add
        return discounted_r

    grad_buffer = {k: np.zeros_like(v) for k, v in model.items()}
    rmsprop_cache = {k: np.zeros_like(v) for k, v in model.items()}
    for episode in episodes:
        xs, hs, dlogps = [], [], []
        for x, action in zip(episode["x"].astype(np.float64), episode["actions"], strict=True):
            aprob, h = policy_forward(x)
            y = 1.0 if action == 1 else 0.0  # action 1 is UP
            xs.append(x)
            hs.append(h)
            dlogps.append(y - aprob)
        epx, eph, epdlogp = np.vstack(xs), np.vstack(hs), np.vstack(dlogps)
        discounted_epr = discount_rewards(episode["rewards"].copy())[:, None]
        discounted_epr -= np.mean(discounted_epr)
        discounted_epr /= np.std(discounted_epr)
        epdlogp *= discounted_epr
        grad = policy_backward(eph, epdlogp, epx)
        for k in model:
            grad_buffer[k] += grad[k]
    updated = {}
    for k, v in model.items():
        g = grad_buffer[k]
        rmsprop_cache[k] = DECAY_RATE * rmsprop_cache[k] + (1 - DECAY_RATE) * g**2
        updated[k] = v + LEARNING_RATE * g / (np.sqrt(rmsprop_cache[k]) + 1e-5)
    return updated


def our_update(
    weights: dict[str, np.ndarray], episodes: list[dict[str, np.ndarray]], **overrides: Any
) -> dict[str, np.ndarray]:
    model = REINFORCE(env=FrameDifferenceSpaces(), **karpathy_kwargs(**overrides))
    model.set_logger(configure(None, []))
    policy = model.policy
    with th.no_grad():
        policy.mlp_extractor.layer.weight.copy_(th.as_tensor(weights["W1"]))
        policy.action_net.weight.copy_(th.as_tensor(weights["W2"])[None])
    buffer = model.rollout_buffer
    buffer.reset()
    for episode in episodes:
        steps = list(zip(episode["x"], episode["actions"], episode["rewards"], strict=True))
        for t, (x, action, reward) in enumerate(steps):
            starts, ends = np.array([t == 0]), np.array([t == len(steps) - 1])
            buffer.add(
                x.reshape(1, 80, 80), np.array([action]), np.array([reward]), starts, None, th.zeros(1), episode_end=ends
            )
    buffer.compute_returns_and_advantage(None, dones=np.array([True]))
    assert buffer.n_ready_episodes == len(episodes)
    model.train()
    return {
        "W1": policy.mlp_extractor.layer.weight.detach().double().numpy(),
        "W2": policy.action_net.weight.detach().double().numpy()[0],
    }


@pytest.fixture(scope="module")
def batch_and_weights():
    rng = np.random.default_rng(0)
    weights = {"W1": rng.standard_normal((H, D)) / np.sqrt(D), "W2": rng.standard_normal(H) / np.sqrt(H)}
    weights = {k: v.astype(np.float32).astype(np.float64) for k, v in weights.items()}  # exactly representable in both
    episodes = recorded_batch(rng)
    return weights, episodes, karpathy_update(weights, episodes)


def update_error(ours, expected, weights) -> float:
    """||our update - Karpathy's update|| / ||Karpathy's update||, over both weight matrices."""
    ours_step = np.concatenate([(ours[k] - weights[k]).ravel() for k in weights])
    seed_step = np.concatenate([(expected[k] - weights[k]).ravel() for k in weights])
    return float(np.linalg.norm(ours_step - seed_step) / np.linalg.norm(seed_step))


def assert_weights_agree(ours, expected, weights):
    for k in weights:
        assert (np.abs(expected[k] - weights[k]) > 0).sum() > 100, "the update must actually move the weights"
    # The update itself agrees to 1e-5 relative (a stricter test than the weights agreeing to 1e-5 relative).
    assert update_error(ours, expected, weights) < 1e-5
    # Elementwise: 1e-5 relative, with an absolute floor for weights whose summed gradient is ~0. There seed
    # 000's RMSProp step lr * g / (0.1 |g| + 1e-5) has slope 10, so torch's float32 rounding of g (~2e-8) shows
    # up as ~2e-7 (measured: 57 of 1.28M weights, max 1.9e-7). Wrong variants miss by ~1e-4 and more.
    for k in weights:
        np.testing.assert_allclose(ours[k], expected[k], rtol=1e-5, atol=5e-7)


def test_one_update_matches_karpathys(batch_and_weights):
    weights, episodes, expected = batch_and_weights
    assert_weights_agree(our_update(weights, episodes), expected, weights)


@pytest.mark.parametrize(
    "overrides",
    [dict(normalize_advantage="batch"), dict(loss_reduction="mean"), dict(reset_on_reward=False), dict(gamma=0.98)],
    ids=["per-batch normalisation", "mean instead of sum", "no point boundaries", "other gamma"],
)
def test_parity_fails_for_any_other_choice(batch_and_weights, overrides):
    weights, episodes, expected = batch_and_weights
    with pytest.raises(AssertionError):
        assert_weights_agree(our_update(weights, episodes, **overrides), expected, weights)
