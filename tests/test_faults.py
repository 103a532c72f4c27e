"""Faults end in clear errors, never in a hang or a model that silently turned NaN."""

import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv

import sb3_vpg.pong  # noqa: F401  (registers "KarpathyPolicy" by name, as a user's import does)
from sb3_vpg import REINFORCE, VPG, NonFiniteError


class EndlessEnv(gym.Env):
    """Episodes that end after ``end_at`` steps (never by default); set ``end_at`` to end the running one."""

    observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self, end_at: float = math.inf):
        self.episode_length = self.end_at = end_at
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t, self.end_at = 0, self.episode_length
        return np.zeros(2, np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        return np.full(2, np.sin(self.t), np.float32), 1.0, self.t >= self.end_at, False, {}


class StepLimit(BaseCallback):
    """Fails the test (instead of hanging it) if training runs past ``limit`` steps."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def _on_step(self) -> bool:
        assert self.num_timesteps <= self.limit, f"learn() ran past {self.limit} steps"
        return True


@pytest.mark.parametrize("n_envs", [1, 3])
def test_episode_batching_stops_at_total_timesteps(n_envs):
    """n_episodes batching on episodes that never end: learn() returns at total_timesteps, the unfinished episodes
    carried over as with n_steps, and a later learn() completes them."""
    env = DummyVecEnv([EndlessEnv] * n_envs)
    model = REINFORCE("MlpPolicy", env, n_episodes=n_envs, seed=0)
    model.learn(300, callback=StepLimit(300 + n_envs))
    assert model.num_timesteps == 300 + (-300 % n_envs)
    assert model._n_updates == 0 and model.rollout_buffer.n_carried_steps == model.num_timesteps
    for endless in env.envs:
        endless.unwrapped.end_at = endless.unwrapped.t + 5  # the running episodes end 5 steps from now
    ready = ReadySteps()
    model.learn(60, reset_num_timesteps=False, callback=[StepLimit(400), ready])
    assert model._n_updates == 1
    # every step of the episodes enters the update, with its exact return
    assert ready.n_ready_steps == [n_envs * (300 // n_envs + (300 % n_envs > 0) + 5)]


class ReadySteps(BaseCallback):
    """The buffer's ready steps at the end of every completed rollout (the steps that enter each update)."""

    def __init__(self) -> None:
        super().__init__()
        self.n_ready_steps: list[int] = []

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.n_ready_steps.append(self.model.rollout_buffer.n_ready_steps)


def test_n_steps_batching_on_endless_episodes_returns_too():
    model = REINFORCE("MlpPolicy", DummyVecEnv([EndlessEnv]), n_steps=50, seed=0)
    model.learn(200, callback=StepLimit(200))
    assert model.num_timesteps == 200 and model._n_updates == 0


class NaNRewardEnv(EndlessEnv):
    """Episodes of 4 steps; the env's ``nan_at``-th step (counted over its life) returns ``bad`` as its reward."""

    def __init__(self, nan_at: int, bad: float = math.nan):
        super().__init__(end_at=4)
        self.nan_at, self.bad, self.steps = nan_at, bad, 0

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        observation, reward, terminated, truncated, info = super().step(action)
        self.steps += 1
        return observation, self.bad if self.steps == self.nan_at else reward, terminated, truncated, info


class Weights(BaseCallback):
    """The policy's weights at the start of every rollout."""

    def __init__(self) -> None:
        super().__init__()
        self.at_rollout_start: list[list[th.Tensor]] = []

    def _on_rollout_start(self) -> None:
        self.at_rollout_start.append([p.detach().clone() for p in self.model.policy.parameters()])

    def _on_step(self) -> bool:
        return True


def make_model(policy: str, nan_at: int, bad: float = math.nan, **kwargs: Any) -> REINFORCE:
    env = DummyVecEnv([lambda: EndlessEnv(end_at=4), lambda: NaNRewardEnv(nan_at, bad)])
    if policy == "KarpathyPolicy":
        kwargs.setdefault("learning_rate", 1e-3)
    return REINFORCE(policy, env, n_steps=8, seed=0, **kwargs)


@pytest.mark.parametrize("policy", ["MlpPolicy", "KarpathyPolicy"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_reward_stops_training_before_the_weights_change(tmp_path, policy, bad):
    model = make_model(policy, nan_at=13, bad=bad)
    weights = Weights()
    with pytest.raises(NonFiniteError, match=rf"env 1 returned the non-finite reward {bad} at step 26 "):
        model.learn(64, callback=weights)
    assert model._n_updates == 1  # the first rollout (8 steps per env) trained; the second met the reward
    assert all(th.equal(a, b) for a, b in zip(weights.at_rollout_start[-1], model.policy.parameters(), strict=True))
    model.save(tmp_path / "model.zip")
    loaded = REINFORCE.load(tmp_path / "model.zip")
    assert all(th.isfinite(p).all() for p in loaded.policy.parameters())


class HugeRewardEnv(EndlessEnv):
    """Each reward is finite; with gamma 1 the return of the first two steps is not."""

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        observation, _, terminated, truncated, info = super().step(action)
        return observation, 3e38 if self.t <= 2 else 0.0, terminated, truncated, info


def test_non_finite_return_is_named_with_its_env():
    env = DummyVecEnv([lambda: EndlessEnv(end_at=4), lambda: HugeRewardEnv(end_at=4)])
    model = REINFORCE("MlpPolicy", env, n_steps=8, gamma=1.0, seed=0)
    before = [p.detach().clone() for p in model.policy.parameters()]
    with pytest.raises(NonFiniteError, match=r"non-finite return inf for env 1 at step 0 of its steps in this update"):
        model.learn(16)
    assert model._n_updates == 0
    assert all(th.equal(a, b) for a, b in zip(before, model.policy.parameters(), strict=True))


def test_non_finite_loss_is_named():
    model = make_model("MlpPolicy", nan_at=10**9)
    model.ent_coef = 0.0
    original = model.policy.get_distribution

    def nan_log_probs(obs: th.Tensor) -> Any:
        distribution = original(obs)
        log_prob = distribution.log_prob
        distribution.log_prob = lambda actions: log_prob(actions) * math.nan  # type: ignore[method-assign]
        return distribution

    model.learn(16)  # the first update (8 steps of 2 envs) is fine
    model.policy.get_distribution = nan_log_probs  # type: ignore[method-assign]
    before = [p.detach().clone() for p in model.policy.parameters()]
    with pytest.raises(NonFiniteError, match=r"non-finite loss nan in update 2; the weights were not changed"):
        model.learn(16, reset_num_timesteps=False)
    assert all(th.equal(a, b) for a, b in zip(before, model.policy.parameters(), strict=True))


@pytest.mark.parametrize("algo", [REINFORCE, VPG])
def test_non_finite_gradient_is_named(algo):
    kwargs = dict(n_steps=8, seed=0) if algo is REINFORCE else dict(n_steps=8, seed=0, n_value_steps=2)
    model = algo("MlpPolicy", DummyVecEnv([lambda: EndlessEnv(end_at=4)]), **kwargs)
    layer = model.policy.action_net if algo is REINFORCE else model.policy.value_net
    layer.weight.register_hook(lambda grad: grad * math.nan)
    before = [p.detach().clone() for p in model.policy.parameters()]
    what = "policy" if algo is REINFORCE else "value"
    name = "action_net.weight" if algo is REINFORCE else "value_net.weight"
    with pytest.raises(NonFiniteError, match=rf"non-finite gradient of {name} in the {what} step of update 1"):
        model.learn(8)
    # the value steps come after the policy step: a failing value step undoes the policy step too
    assert all(th.equal(a, b) for a, b in zip(before, model.policy.parameters(), strict=True))
    assert all(th.isfinite(p).all() for p in model.policy.parameters())


@pytest.mark.parametrize("algo", [REINFORCE, VPG])
def test_a_gradient_norm_that_overflows_is_named(algo):
    """Every entry finite, their norm not (a diverged policy: entries above about 1e19 in float32)."""
    kwargs = dict(n_steps=8, seed=0) if algo is REINFORCE else dict(n_steps=8, seed=0, n_value_steps=2)
    model = algo("MlpPolicy", DummyVecEnv([lambda: EndlessEnv(end_at=4)]), **kwargs)
    layer = model.policy.action_net if algo is REINFORCE else model.policy.value_net
    layer.bias.register_hook(lambda grad: th.full_like(grad, 1e30))
    before = [p.detach().clone() for p in model.policy.parameters()]
    what = "policy" if algo is REINFORCE else "value"
    name = "action_net.bias" if algo is REINFORCE else "value_net.bias"
    message = (
        rf"the gradient norm of the {what} step of update 1 overflows \(every entry is finite, the largest 1e\+30 in {name}\)"
    )
    with pytest.raises(NonFiniteError, match=message):
        model.learn(8)
    assert all(th.equal(a, b) for a, b in zip(before, model.policy.parameters(), strict=True))
