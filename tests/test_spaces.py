"""The env receives actions of its own shape, on every path our code takes that SB3's A2C/PPO do not."""

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_vpg import REINFORCE, VPG

BOX_SHAPES = [(1,), (3,), (2, 2), (3, 1), (1, 3)]
CONFIGS = {
    "reinforce": (REINFORCE, {}),
    "reinforce-baseline": (REINFORCE, {"use_baseline": True}),
    "vpg": (VPG, {}),
}


class ActionRecorder(gym.Env):
    """Records every action it receives; episodes of 8 steps."""

    observation_space = spaces.Box(-1.0, 1.0, (4,), np.float32)

    def __init__(self, action_space: spaces.Space):
        self.action_space = action_space
        self.received: list[Any] = []
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(4, np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.received.append(np.array(action))
        self.t += 1
        return np.full(4, 0.1 * self.t, np.float32), -float(np.sum(np.square(action))), self.t >= 8, False, {}


def box_with_distinct_bounds(shape: tuple[int, ...]) -> spaces.Box:
    """Every element has its own bounds, so clipping with bounds of another element shows."""
    scale = 0.1 * (1 + np.arange(int(np.prod(shape)), dtype=np.float32)).reshape(shape)
    return spaces.Box(-scale, 2 * scale, shape, np.float32)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("shape", BOX_SHAPES, ids=str)
def test_box_actions_keep_their_shape(config: str, shape: tuple[int, ...]):
    algo, kwargs = CONFIGS[config]
    space = box_with_distinct_bounds(shape)
    envs = [ActionRecorder(space) for _ in range(2)]
    # a wide Gaussian (std e) so that most actions are clipped, at both ends of every element's bounds
    model = algo("MlpPolicy", DummyVecEnv([lambda env=env: env for env in envs]), n_steps=16, seed=0,
                 policy_kwargs=dict(log_std_init=1.0), **kwargs)  # fmt: skip
    model.learn(64)
    received = np.array([action for env in envs for action in env.received])
    assert received.shape == (64, *shape)
    assert np.all(received >= space.low) and np.all(received <= space.high)
    # each element is clipped to its own bounds: both of them are reached
    assert np.all(np.any(received == space.low, axis=0)) and np.all(np.any(received == space.high, axis=0))
    assert model._n_updates == 2

    observations = np.zeros((5, 4), np.float32)
    for deterministic in (True, False):
        actions, _ = model.predict(observations, deterministic=deterministic)
        assert actions.shape == (5, *shape)
    single, _ = model.predict(np.zeros(4, np.float32))
    assert single.shape == shape


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize(
    "space",
    [spaces.Discrete(3), spaces.MultiDiscrete([2, 3]), spaces.MultiBinary(3)],
    ids=["Discrete", "MultiDiscrete", "MultiBinary"],
)
def test_other_action_spaces_keep_their_shape(config: str, space: spaces.Space):
    algo, kwargs = CONFIGS[config]
    envs = [ActionRecorder(space) for _ in range(2)]
    model = algo("MlpPolicy", DummyVecEnv([lambda env=env: env for env in envs]), n_steps=16, seed=0, **kwargs)
    model.learn(32)
    received = [action for env in envs for action in env.received]
    assert len(received) == 32
    assert all(action.shape == space.shape and space.contains(action.astype(space.dtype)) for action in received)
    actions, _ = model.predict(np.zeros((5, 4), np.float32))
    assert actions.shape == (5, *space.shape)


class SampledObservations(gym.Env):
    """Observations drawn from ``observation_space`` (mostly zero for a Box), a reward for action 1 on odd steps."""

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space):
        self.observation_space, self.action_space = observation_space, action_space
        self.t = 0

    def observe(self) -> Any:
        if isinstance(self.observation_space, spaces.Box):
            shape, dtype = self.observation_space.shape, self.observation_space.dtype
            mask = self.np_random.random(shape) < 0.2
            return (mask * self.np_random.choice([-1, 1], size=shape)).astype(dtype)
        return self.observation_space.sample()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        if seed is not None:  # seed(None) would draw a random seed
            self.observation_space.seed(seed)
        self.t = 0
        return self.observe(), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self.t += 1
        reward = float(np.sum(action) % 2 == self.t % 2)
        return self.observe(), reward, self.t >= 6, False, {}


def train_weights(algo: type, observation_space: spaces.Space, action_space: spaces.Space, **kwargs: Any) -> list:
    env = DummyVecEnv([lambda: SampledObservations(observation_space, action_space)] * 2)
    env.seed(0)
    model = algo(env=env, n_steps=12, seed=0, **kwargs)
    model.learn(96)
    assert model._n_updates == 4
    return [parameter.detach().clone() for parameter in model.policy.parameters()]


@pytest.mark.parametrize(
    "observation_space",
    [
        spaces.Box(-1.0, 1.0, (3,), np.float32),
        spaces.Box(-1, 1, (2, 3), np.int8),
        spaces.Discrete(4),
        spaces.MultiBinary(3),
        spaces.MultiDiscrete([2, 3]),
    ],
    ids=["Box-float", "Box-int8-2d", "Discrete", "MultiBinary", "MultiDiscrete"],
)
def test_karpathy_policy_rollout_actor_on_every_observation_space(monkeypatch, observation_space):
    """The numpy rollout actor acts only where it computes the torch policy; either way training is the same."""
    import torch as th

    from sb3_vpg.pong.policies import KarpathyPolicy

    model = REINFORCE("KarpathyPolicy", SampledObservations(observation_space, spaces.Discrete(2)))
    # only Box observations are offered the actor (Discrete and MultiDiscrete are one-hot encoded by SB3's
    # preprocessing, so the features are not the flattened observation)
    assert (model.policy.rollout_actor() is not None) == isinstance(observation_space, spaces.Box)
    fast = train_weights(REINFORCE, observation_space, spaces.Discrete(2), policy="KarpathyPolicy")
    monkeypatch.setattr(KarpathyPolicy, "rollout_actor", lambda self: None)
    torch = train_weights(REINFORCE, observation_space, spaces.Discrete(2), policy="KarpathyPolicy")
    for a, b in zip(fast, torch, strict=True):
        th.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize(
    "action_space",
    [spaces.Discrete(3), spaces.Box(-1.0, 1.0, (2, 2), np.float32), spaces.MultiDiscrete([2, 3]), spaces.MultiBinary(3)],
    ids=["Discrete", "Box-2x2", "MultiDiscrete", "MultiBinary"],
)
def test_sparse_storage_trains_like_dense_storage(config, action_space):
    import torch as th

    from sb3_vpg.common.sparse import SparseEpisodicRolloutBuffer

    algo, kwargs = CONFIGS[config]
    observation_space = spaces.Box(-1, 1, (4, 5), np.int8)
    dense = train_weights(algo, observation_space, action_space, policy="MlpPolicy", **kwargs)
    sparse = train_weights(algo, observation_space, action_space, policy="MlpPolicy",
                           rollout_buffer_class=SparseEpisodicRolloutBuffer, **kwargs)  # fmt: skip
    for a, b in zip(dense, sparse, strict=True):
        assert th.equal(a, b)
