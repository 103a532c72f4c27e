"""action_bounds='tanh': the env gets the sampled actions mapped through tanh onto the bounds, the policy gradient
sees the log-probability of the sampled (unbounded) actions, the numpy rollout actor stays on the path, and a
saved model predicts the same bounded actions."""

import copy
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sb3_vpg import REINFORCE, VPG
from sb3_vpg.common.action_bounds import BoundedActorCriticPolicy, tanh_to_bounds
from sb3_vpg.common.capabilities import env_actions, rollout_actor
from sb3_vpg.common.mlp_actor import MlpNumpyActor

LOW = np.array([-2.0, 0.0], dtype=np.float32)
HIGH = np.array([1.0, 3.0], dtype=np.float32)


class ActionRecorder(gym.Env):
    """Records every action it is given; one-dimensional observations, episodes of 5 steps, reward = first action."""

    observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = spaces.Box(LOW, HIGH, dtype=np.float32)

    def __init__(self) -> None:
        self.actions: list[np.ndarray] = []
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2, np.float32), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.actions.append(np.array(action))
        self.t += 1
        return np.full(2, 0.1 * self.t, np.float32), float(action[0]), self.t >= 5, False, {}


@settings(max_examples=200, deadline=None, derandomize=True)
@given(arrays(np.float32, (7, 2), elements=st.floats(-1e6, 1e6, width=32)))
def test_tanh_to_bounds_lands_inside_the_bounds_and_keeps_the_order(actions):
    mapped = tanh_to_bounds(actions, LOW, HIGH)
    assert mapped.dtype == np.float32
    assert np.all(mapped >= LOW) and np.all(mapped <= HIGH)
    expected = LOW + (np.tanh(actions.astype(np.float64)) + 1) / 2 * (HIGH - LOW)
    np.testing.assert_allclose(mapped, expected, rtol=1e-5, atol=1e-5)
    order = np.argsort(actions[:, 0], kind="stable")
    assert np.all(np.diff(mapped[order, 0]) >= 0)


def test_zero_is_the_middle_and_far_actions_are_the_bounds():
    np.testing.assert_allclose(tanh_to_bounds(np.zeros((1, 2), np.float32), LOW, HIGH)[0], (LOW + HIGH) / 2)
    np.testing.assert_array_equal(tanh_to_bounds(np.full((1, 2), 50.0, np.float32), LOW, HIGH)[0], HIGH)
    np.testing.assert_array_equal(tanh_to_bounds(np.full((1, 2), -50.0, np.float32), LOW, HIGH)[0], LOW)


@pytest.mark.parametrize("algo", [REINFORCE, VPG])
def test_the_env_gets_the_mapped_sample_and_the_gradient_the_samples_log_probability(algo):
    env = ActionRecorder()
    model = algo(
        "MlpPolicy", env, n_steps=10, seed=3, policy_kwargs=dict(action_bounds="tanh", log_std_init=1.5)
    )  # a wide Gaussian: many samples lie past the bounds, where clipping and tanh differ
    assert isinstance(rollout_actor(model.policy), MlpNumpyActor)  # the fast path is kept
    acting_weights = copy.deepcopy(model.policy.state_dict())  # the update changes them after the rollout
    model.learn(10)
    batch = next(model.rollout_buffer.get())  # one env: its steps in the order they were taken
    stored = batch.actions.numpy()
    assert len(stored) == len(env.actions) == 10
    np.testing.assert_allclose(np.stack(env.actions), tanh_to_bounds(stored, LOW, HIGH), rtol=1e-6)
    assert (np.abs(stored) > 3.0).any(), "no sample far past the bounds: the test would not tell"
    model.policy.load_state_dict(acting_weights)
    with th.no_grad():
        expected = model.policy.get_distribution(batch.observations).log_prob(batch.actions).numpy()
    np.testing.assert_allclose(batch.old_log_prob.numpy(), expected, rtol=1e-4, atol=1e-4)


def test_clip_stays_sb3s_behaviour():
    env = ActionRecorder()
    model = REINFORCE("MlpPolicy", env, n_steps=10, seed=3, policy_kwargs=dict(log_std_init=1.5))
    model.learn(10)
    stored = next(model.rollout_buffer.get()).actions.numpy()
    np.testing.assert_array_equal(np.stack(env.actions), np.clip(stored, LOW, HIGH))


def test_predict_maps_the_mean_through_tanh_and_a_saved_model_predicts_the_same(tmp_path):
    model = REINFORCE("MlpPolicy", ActionRecorder(), n_steps=10, seed=0, policy_kwargs=dict(action_bounds="tanh"))
    with th.no_grad():
        model.policy.action_net.bias.fill_(20.0)  # the mean far past the upper bound
    observations = np.random.default_rng(0).uniform(-1, 1, (6, 2)).astype(np.float32)
    actions, _ = model.predict(observations, deterministic=True)
    with th.no_grad():
        mean = model.policy.get_distribution(th.as_tensor(observations)).mode().numpy()
    np.testing.assert_allclose(actions, tanh_to_bounds(mean, LOW, HIGH), rtol=1e-6)
    sampled, _ = model.predict(observations)
    assert np.all(sampled >= LOW) and np.all(sampled <= HIGH)

    model.save(tmp_path / "model.zip")
    loaded = REINFORCE.load(tmp_path / "model.zip")
    assert loaded.policy.action_bounds == "tanh"
    np.testing.assert_array_equal(loaded.predict(observations, deterministic=True)[0], actions)
    model.policy.save(tmp_path / "policy.pth")
    assert BoundedActorCriticPolicy.load(tmp_path / "policy.pth").action_bounds == "tanh"


def test_discrete_actions_ignore_the_option():
    model = REINFORCE("MlpPolicy", "CartPole-v1", n_steps=8, seed=0, policy_kwargs=dict(action_bounds="tanh"))
    actions = np.array([0, 1, 1])
    np.testing.assert_array_equal(env_actions(model.policy, actions), actions)
    model.learn(16)


@pytest.mark.parametrize("bad", ["squash", "", None, 1])
def test_an_unknown_action_bounds_is_refused_by_name(bad):
    with pytest.raises(ValueError, match="action_bounds must be one of"):
        REINFORCE("MlpPolicy", ActionRecorder(), policy_kwargs=dict(action_bounds=bad))


def test_tanh_and_squash_output_together_are_refused():
    with pytest.raises(ValueError, match="action_bounds='tanh' and squash_output=True"):
        REINFORCE("MlpPolicy", ActionRecorder(), use_sde=True, policy_kwargs=dict(action_bounds="tanh", squash_output=True))
