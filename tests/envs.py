"""Tiny deterministic envs for the tests."""

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


def tiny_features(t: int) -> np.ndarray:
    return np.array([1.0, 0.5 * t, -0.3 * t * t], dtype=np.float32)


class TinyFeatureEnv(gym.Env):
    """Episodes of ``ep_length`` steps; the observation is a fixed feature vector of the step index and the
    reward depends on the action, so returns differ between actions (as for a linear softmax policy)."""

    observation_space = spaces.Box(-10.0, 10.0, (3,), np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self, ep_length: int = 3):
        self.ep_length = ep_length
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return tiny_features(0), {}

    @staticmethod
    def reward(t: int, action: int) -> float:
        return (1.0 if action == 0 else -1.0) + 0.1 * t

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        reward = self.reward(self.t, int(action))
        self.t += 1
        return tiny_features(self.t), reward, self.t >= self.ep_length, False, {}
