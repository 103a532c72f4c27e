"""Exact under every interruption, and the faults of an unlucky user's session: each test here failed on 0.4.0."""

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_vpg import REINFORCE, VPG, NonFiniteError
from tests.envs import TinyFeatureEnv


class TrainedSteps(BaseCallback):
    """Counts the steps that entered updates (``n_ready_steps`` at each completed rollout)."""

    def __init__(self) -> None:
        super().__init__()
        self.n_trained = 0

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.n_trained += self.model.rollout_buffer.n_ready_steps


def test_chunked_learn_updates_with_n_episodes():
    """learn() in chunks shorter than a batch of episodes: the episodes of earlier calls count towards it."""
    model = REINFORCE("MlpPolicy", DummyVecEnv([lambda: TinyFeatureEnv(ep_length=5)]), n_episodes=2, seed=0)
    trained = TrainedSteps()
    for _ in range(10):
        model.learn(3, reset_num_timesteps=False, callback=trained)
    # 30 steps, 6 episodes of 5: an update every 2 episodes (10 steps), every step in exactly one
    assert model.num_timesteps == 30 and model._n_updates == 3 and trained.n_trained == 30


@pytest.mark.parametrize("stop", ["budget", "callback"])
def test_a_stop_on_an_episodes_last_step_keeps_the_episode(stop):
    """learn(5) on 5-step episodes stops on the first episode's last step; that episode still enters the next update."""
    model = REINFORCE("MlpPolicy", DummyVecEnv([lambda: TinyFeatureEnv(ep_length=5)]), n_episodes=2, seed=0)
    trained = TrainedSteps()
    if stop == "budget":
        model.learn(5, callback=trained)
    else:

        class StopAfter5(BaseCallback):
            def _on_step(self) -> bool:
                return self.num_timesteps < 5

        model.learn(100, callback=[trained, StopAfter5()])
    assert model.num_timesteps == 5 and model.rollout_buffer.n_carried_steps == 5
    model.learn(15, reset_num_timesteps=False, callback=trained)
    # episodes end at 5, 10, 15 and 20: two updates of two episodes, all 20 steps
    assert model._n_updates == 2 and trained.n_trained == 20 and model.rollout_buffer.n_carried_steps == 0


def test_n_steps_batching_stops_at_total_timesteps_and_trains_the_episodes_that_ended():
    """A rollout far longer than learn's budget: learn returns at the budget (A2C would run out of memory) after
    training the episodes that ended, and carries the one still running into the next learn."""
    model = REINFORCE("MlpPolicy", DummyVecEnv([lambda: TinyFeatureEnv(ep_length=5)] * 2), n_steps=10**9, seed=0)
    trained = TrainedSteps()
    model.learn(1004, callback=trained)
    # 502 steps per env: 100 episodes of 5 ended in each, 2 steps of the 101st carried
    assert model.num_timesteps == 1004 and model._n_updates == 1 and trained.n_trained == 1000
    assert model.rollout_buffer.n_carried_steps == 4
    model.n_steps = 600
    model.learn(198, reset_num_timesteps=False, callback=trained)
    # 99 more steps per env, to step 601: the carried episodes end at step 505 and 19 more by step 600; step 601
    # begins an episode
    assert model._n_updates == 2 and trained.n_trained == 1200 and model.rollout_buffer.n_carried_steps == 2


def test_vpg_non_finite_value_loss_leaves_every_weight_as_it_was():
    """A value loss that overflows in VPG's value steps, after its policy step: the whole update is undone."""

    class HugeRewards(gym.Wrapper):
        def step(self, action: Any) -> Any:
            observation, reward, terminated, truncated, info = self.env.step(action)
            return observation, float(reward) * 1e20, terminated, truncated, info

    env = DummyVecEnv([lambda: HugeRewards(TinyFeatureEnv(ep_length=4))])
    model = VPG("MlpPolicy", env, n_steps=8, n_value_steps=2, seed=0)
    before = {name: value.clone() for name, value in model.policy.state_dict().items()}
    optimizers_before = [optimizer.state_dict()["state"] for optimizer in (model.policy.optimizer, model.value_optimizer)]
    with pytest.raises(NonFiniteError, match="non-finite value loss inf in update 1; the weights were not changed"):
        model.learn(8)
    assert all(th.equal(before[name], value) for name, value in model.policy.state_dict().items())
    assert optimizers_before == [{}, {}]
    assert model.policy.optimizer.state_dict()["state"] == {} and model.value_optimizer.state_dict()["state"] == {}


def test_n_steps_on_a_model_that_batches_by_episodes_is_refused_on_every_path(tmp_path):
    model = REINFORCE("MlpPolicy", DummyVecEnv([lambda: TinyFeatureEnv(ep_length=5)]), n_episodes=2, seed=0)
    assert model.n_steps is None
    model.save(tmp_path / "episodes.zip")
    with pytest.raises(ValueError, match=r"pass either n_steps or n_episodes, not both \(got n_steps=500, n_episodes=2\)"):
        REINFORCE.load(tmp_path / "episodes.zip", n_steps=500)
    switched = REINFORCE.load(tmp_path / "episodes.zip", n_steps=500, n_episodes=None)
    assert switched.n_steps == 500 and switched.n_episodes is None
    model.n_steps = 500
    with pytest.raises(ValueError, match="pass either n_steps or n_episodes, not both"):
        model.learn(10)


class OneStepBandit(gym.Env):
    """One step per episode; action 1 pays 1, action 0 pays 0."""

    observation_space = spaces.Box(0.0, 1.0, (1,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return np.ones(1, np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        return np.ones(1, np.float32), float(action), True, False, {}


@pytest.mark.parametrize(("normalize_advantage", "batching"), [("batch", dict(n_steps=1)), ("episode", dict(n_steps=8))])
def test_a_group_of_one_step_is_not_standardised_to_zero(normalize_advantage, batching):
    """A one-sample update ("batch") or a one-step episode ("episode") standardised alone would have advantage 0
    and never learn; as PPO for a batch of one, it keeps its return."""
    model = REINFORCE(
        "MlpPolicy", DummyVecEnv([OneStepBandit]), normalize_advantage=normalize_advantage, learning_rate=0.05, seed=0,
        **batching,
    )  # fmt: skip
    model.learn(400)
    with th.no_grad():
        p_pay = model.policy.get_distribution(th.ones(1, 1)).distribution.probs[0, 1].item()
    assert p_pay > 0.95


@pytest.mark.parametrize("other", [A2C, PPO])
def test_loading_another_algorithms_file_says_which_and_how(tmp_path, other):
    other("MlpPolicy", "CartPole-v1", n_steps=8, seed=0).save(tmp_path / "other.zip")
    with pytest.raises(
        ValueError, match=rf"was saved by {other.__name__}.*, not by REINFORCE: load it with {other.__name__}\.load"
    ):
        REINFORCE.load(tmp_path / "other.zip")
    with pytest.raises(ValueError, match=rf"was saved by {other.__name__}.*, not by VPG"):
        VPG.load(tmp_path / "other")  # SB3's suffix rule: the .zip is found


def test_vpg_saved_with_a_value_optimizer_loads_with_one(tmp_path):
    env = DummyVecEnv([lambda: TinyFeatureEnv(ep_length=4)])
    model = VPG("MlpPolicy", env, n_steps=8, n_value_steps=2, seed=0)
    model.learn(16)
    model.save(tmp_path / "vpg.zip")
    with pytest.warns(UserWarning, match="saved with a value optimizer of its own; with vf_learning_rate=None"):
        loaded = VPG.load(tmp_path / "vpg.zip", env=env, vf_learning_rate=None)
    assert loaded.value_optimizer is None
    assert all(th.equal(a, b) for a, b in zip(model.policy.parameters(), loaded.policy.parameters(), strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded.learn(8, reset_num_timesteps=False)
    assert loaded._n_updates == 3


def test_a_seeded_run_repeats_exactly():
    def run() -> list[th.Tensor]:
        model = REINFORCE("MlpPolicy", DummyVecEnv([lambda: TinyFeatureEnv(ep_length=5)] * 3), n_steps=8, seed=3)
        model.learn(240)
        return [parameter.detach().clone() for parameter in model.policy.parameters()]

    assert all(th.equal(a, b) for a, b in zip(run(), run(), strict=True))


def test_weights_and_counters_are_exact_after_save_and_load_between_chunks(tmp_path):
    """Chunked learning with a save/load between chunks keeps num_timesteps and the update count."""
    env = DummyVecEnv([lambda: TinyFeatureEnv(ep_length=5)])
    model = REINFORCE("MlpPolicy", env, n_steps=10, seed=0)
    model.learn(30)
    model.save(tmp_path / "m.zip")
    loaded = REINFORCE.load(tmp_path / "m.zip", env=env)
    assert (loaded.num_timesteps, loaded._n_updates) == (30, 3)
    loaded.learn(20, reset_num_timesteps=False)
    assert (loaded.num_timesteps, loaded._n_updates) == (50, 5)


class RaiseAtFirstRolloutEnd(BaseCallback):
    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        raise KeyboardInterrupt


@pytest.mark.parametrize("where", ["rollout_end", "optimizer_step"])
def test_a_ctrl_c_once_the_returns_are_computed_keeps_the_steps_for_the_next_learn(where, monkeypatch):
    """Found by the state machine: a Ctrl-C in on_rollout_end dropped the rollout's ready steps silently, and one
    inside the optimizer's step (after it changed the weights) kept half an update. Now the update is undone whole
    and its steps are held; the next learn trains them, with the same result as an uninterrupted run."""

    def make() -> REINFORCE:
        env = DummyVecEnv([lambda: TinyFeatureEnv(ep_length=4)])
        return REINFORCE("MlpPolicy", env, n_steps=4, learning_rate=0.1, seed=0)

    reference = make().learn(8)  # uninterrupted, before the other draws from torch's random stream
    model = make()
    before = [p.detach().clone() for p in model.policy.parameters()]
    callback = None
    if where == "rollout_end":
        callback = RaiseAtFirstRolloutEnd()
    else:
        real_step = model.policy.optimizer.step

        def step_then_interrupt(*args: Any, **kwargs: Any) -> Any:
            real_step(*args, **kwargs)
            raise KeyboardInterrupt

        monkeypatch.setattr(model.policy.optimizer, "step", step_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        model.learn(4, callback=callback)
    assert all(th.equal(p.detach(), b) for p, b in zip(model.policy.parameters(), before, strict=True))
    assert model._n_updates == 0 and model.rollout_buffer.n_carried_steps == 4
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing dropped
        model.learn(4, reset_num_timesteps=False)
    assert model._n_updates == 2 and model.num_timesteps == 8
    for trained, expected in zip(model.policy.parameters(), reference.policy.parameters(), strict=True):
        assert th.equal(trained, expected)
