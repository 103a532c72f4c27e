"""REINFORCE and VPG behave as SB3 users expect from A2C/PPO."""

import copy
import glob
import os

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.callbacks import (
    BaseCallback,
    CallbackList,
    CheckpointCallback,
    EvalCallback,
    EveryNTimesteps,
    StopTrainingOnMaxEpisodes,
    StopTrainingOnRewardThreshold,
)
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import (
    FakeImageEnv,
    IdentityEnv,
    IdentityEnvBox,
    IdentityEnvMultiBinary,
    IdentityEnvMultiDiscrete,
    SimpleMultiObsEnv,
)
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

from sb3_vpg import REINFORCE, VPG
from sb3_vpg.common.buffers import EpisodicRolloutBuffer
from tests.envs import TinyFeatureEnv, tiny_features
from tests.test_faults import ReadySteps

ALGOS = [REINFORCE, VPG]


def params_of(model) -> list[th.Tensor]:
    return [p.detach().clone() for p in model.policy.parameters()]


@pytest.mark.parametrize("algo", ALGOS)
@pytest.mark.parametrize(
    "make_env",
    [
        lambda: IdentityEnv(4, ep_length=10),
        lambda: IdentityEnvBox(ep_length=10),
        lambda: IdentityEnvMultiDiscrete(3, ep_length=10),
        lambda: IdentityEnvMultiBinary(3, ep_length=10),
    ],
    ids=["Discrete", "Box", "MultiDiscrete", "MultiBinary"],
)
def test_action_spaces_train(algo, make_env):
    model = algo("MlpPolicy", DummyVecEnv([make_env, make_env]), n_steps=32, seed=0)
    before = params_of(model)
    model.learn(300)
    # learn stops at its budget (A2C would finish the fifth rollout, to 320): 4 rollouts of 32 steps x 2 envs, and
    # the fifth ended there at 22 steps x 2 envs, each trained on its ended episodes
    assert model.num_timesteps == 300
    assert model._n_updates == 5 and model.rollout_buffer.n_rollout_steps == 0
    model.learn(20, reset_num_timesteps=False)
    assert model.num_timesteps == 320 and model._n_updates == 6
    assert any(not th.equal(a, b) for a, b in zip(before, params_of(model), strict=True))
    obs = model.get_env().reset()
    actions, _ = model.predict(obs, deterministic=True)
    assert all(model.action_space.contains(a) for a in actions)


@pytest.mark.parametrize("algo", ALGOS)
def test_dict_observations(algo):
    model = algo(
        "MultiInputPolicy", SimpleMultiObsEnv(random_start=False), n_steps=64, seed=0, n_value_steps=2, use_baseline=True
    )
    model.learn(256)
    assert model._n_updates >= 1
    assert model.rollout_buffer.n_ready_steps > 0


@pytest.mark.parametrize("algo", ALGOS)
def test_image_observations_stay_compact(algo):
    env = FakeImageEnv(screen_height=40, screen_width=40, n_channels=1, discrete=True)
    model = algo("CnnPolicy", env, n_steps=20, seed=0, policy_kwargs=dict(features_extractor_kwargs=dict(features_dim=16)))
    model.learn(40)
    assert model._n_updates == 2
    assert model.rollout_buffer.arrays["observations"].dtype == np.uint8


def test_subproc_vec_env():
    env = make_vec_env("CartPole-v1", n_envs=2, vec_env_cls=SubprocVecEnv, seed=0)
    try:
        model = REINFORCE("MlpPolicy", env, n_steps=64, seed=0)
        model.learn(512)
        assert model.num_timesteps == 512
        assert model.rollout_buffer.n_ready_episodes > 0
    finally:
        env.close()


@pytest.mark.parametrize("algo", ALGOS)
def test_same_seed_same_parameters(algo):
    def trained() -> list[th.Tensor]:
        model = algo("MlpPolicy", "CartPole-v1", n_steps=128, seed=42)
        model.learn(512)
        return params_of(model)

    first, second = trained(), trained()
    assert all(th.equal(a, b) for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize("algo", ALGOS)
def test_save_load_keeps_predictions_counters_and_optimizer(algo, tmp_path):
    env = make_vec_env("CartPole-v1", n_envs=2, seed=0)
    model = algo("MlpPolicy", env, n_steps=64, seed=0, n_value_steps=2, use_baseline=True)
    model.learn(512)
    model.save(tmp_path / "model.zip")
    loaded = algo.load(tmp_path / "model.zip", env=env)

    obs = env.reset()
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0])
    assert loaded.num_timesteps == model.num_timesteps == 512
    assert loaded._n_updates == model._n_updates
    for key in ("n_steps", "gamma", "use_baseline", "n_value_steps", "normalize_advantage", "bootstrap_incomplete"):
        assert getattr(loaded, key) == getattr(model, key)
    state, loaded_state = model.policy.optimizer.state_dict(), loaded.policy.optimizer.state_dict()
    for key, value in state["state"].items():
        assert th.equal(value["exp_avg"], loaded_state["state"][key]["exp_avg"])
        assert th.equal(value["step"], loaded_state["state"][key]["step"])

    loaded.learn(256, reset_num_timesteps=False)
    assert loaded.num_timesteps == 768
    assert loaded._n_updates == model._n_updates + 2


def test_set_env_and_continue():
    model = REINFORCE("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2, seed=0), n_steps=32, seed=0)
    model.learn(128)
    model.set_env(make_vec_env("CartPole-v1", n_envs=2, seed=1))
    model.learn(128, reset_num_timesteps=False)
    assert model.num_timesteps == 256
    with pytest.raises(AssertionError, match="number of environments"):
        model.set_env(make_vec_env("CartPole-v1", n_envs=3))


class CountSteps(BaseCallback):
    def __init__(self, stop_after: int | None = None) -> None:
        super().__init__()
        self.stop_after = stop_after
        self.dones_seen = 0
        self.rollouts = 0

    def _on_rollout_end(self) -> None:
        self.rollouts += 1

    def _on_step(self) -> bool:
        assert {"new_obs", "dones", "infos", "rewards", "actions"} <= set(self.locals)
        self.dones_seen += int(np.sum(self.locals["dones"]))
        return self.stop_after is None or self.n_calls < self.stop_after


@pytest.mark.parametrize("n_envs", [1, 3])
def test_callback_sees_every_step(n_envs):
    counter = CountSteps()
    env = make_vec_env("CartPole-v1", n_envs=n_envs, seed=0)
    model = REINFORCE("MlpPolicy", env, n_steps=50, seed=0)
    model.learn(600, callback=counter)
    assert counter.n_calls * n_envs == model.num_timesteps
    assert counter.dones_seen == sum(len(rewards) for rewards in env.env_method("get_episode_rewards")) > 0
    assert counter.rollouts == 600 // (50 * n_envs)


def test_callback_returning_false_stops_training():
    counter = CountSteps(stop_after=1)
    model = REINFORCE("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2, seed=0), n_steps=50, seed=0)
    model.learn(10_000, callback=counter)
    assert counter.n_calls == 1
    assert model.num_timesteps == 2
    assert model._n_updates == 0


def test_sb3_callbacks(tmp_path):
    env = make_vec_env("CartPole-v1", n_envs=2, seed=0)
    eval_env = make_vec_env("CartPole-v1", n_envs=1, seed=1)
    # save_freq and eval_freq count callback calls (one per vectorised step), as in SB3
    checkpoint = CheckpointCallback(save_freq=50, save_path=str(tmp_path / "ckpt"), name_prefix="reinforce")
    evaluation = EvalCallback(
        eval_env,
        eval_freq=100,
        n_eval_episodes=2,
        log_path=str(tmp_path / "eval"),
        best_model_save_path=str(tmp_path / "best"),
    )
    every = EveryNTimesteps(n_steps=100, callback=CheckpointCallback(save_freq=1, save_path=str(tmp_path / "every")))
    model = REINFORCE("MlpPolicy", env, n_steps=50, seed=0)
    model.learn(400, callback=CallbackList([checkpoint, evaluation, every]))
    assert len(glob.glob(str(tmp_path / "ckpt" / "reinforce_*_steps.zip"))) == 4
    assert os.path.exists(tmp_path / "eval" / "evaluations.npz")
    assert os.path.exists(tmp_path / "best" / "best_model.zip")
    assert len(os.listdir(tmp_path / "every")) == 4


def test_stop_on_max_episodes():
    model = REINFORCE("MlpPolicy", make_vec_env("CartPole-v1", n_envs=1, seed=0), n_steps=50, seed=0)
    model.learn(100_000, callback=StopTrainingOnMaxEpisodes(max_episodes=5))
    assert len(model.get_env().env_method("get_episode_rewards")[0]) == 5


def test_stop_on_reward_threshold():
    eval_env = make_vec_env("CartPole-v1", n_envs=1, seed=1)
    stop = StopTrainingOnRewardThreshold(reward_threshold=-1.0)  # any return beats it: stops at the first eval
    callback = EvalCallback(eval_env, eval_freq=64, n_eval_episodes=1, callback_on_new_best=stop)
    model = REINFORCE("MlpPolicy", "CartPole-v1", n_steps=32, seed=0)
    model.learn(100_000, callback=callback)
    assert model.num_timesteps == 64


def test_progress_bar_and_tensorboard(tmp_path):
    model = REINFORCE("MlpPolicy", "CartPole-v1", n_steps=256, seed=0, tensorboard_log=str(tmp_path))
    model.learn(1024, progress_bar=True, log_interval=1)
    event_files = glob.glob(str(tmp_path / "REINFORCE_1" / "events.out.tfevents.*"))
    assert len(event_files) == 1
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = EventAccumulator(event_files[0]).Reload().Tags()["scalars"]
    assert {"train/policy_loss", "train/entropy_loss", "train/n_samples", "train/n_episodes", "time/fps"} <= set(tags)
    assert "train/value_loss" not in tags  # no baseline, no value loss


def read_log(folder) -> dict[str, list[float]]:
    import csv

    with open(os.path.join(folder, "progress.csv")) as file:
        rows = list(csv.DictReader(file))
    return {key: [float(row[key]) for row in rows if row[key] != ""] for key in rows[0]}


def test_logger_counts_steps_that_entered_each_update(tmp_path):
    model = VPG("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2, seed=0), n_steps=64, seed=0)
    model.set_logger(configure(str(tmp_path), ["csv"]))
    model.learn(512, log_interval=1)
    log = read_log(tmp_path)
    assert log["train/n_samples"] == [128.0] * 3  # bootstrapped: every step enters (first row has no train/)
    assert {"train/value_loss", "train/explained_variance", "train/n_episodes"} <= set(log)


def test_carry_across_rollouts_and_learn_calls():
    """Without a baseline, a step enters exactly one update, once its episode has ended, also across learn()."""
    env = DummyVecEnv([lambda: TinyFeatureEnv(ep_length=7)])
    model = REINFORCE("MlpPolicy", env, n_steps=5, seed=0, normalize_advantage="none")
    ready, episodes = [], []
    for _ in range(4):
        model.learn(5, reset_num_timesteps=False)
        ready.append(model.rollout_buffer.n_ready_steps)
        episodes.append(model.rollout_buffer.n_ready_episodes)
        assert model.rollout_buffer.n_carried_steps == model.num_timesteps % 7
    # Episodes end after steps 7 and 14: each enters whole, in the rollout where it ends; steps 15-20 wait.
    assert model.num_timesteps == 20
    assert ready == [0, 7, 7, 0]
    assert episodes == [0, 1, 1, 0]
    assert model._n_updates == 2


def test_episode_batching():
    env = DummyVecEnv([lambda: TinyFeatureEnv(ep_length=4)])
    model = REINFORCE("MlpPolicy", env, n_episodes=3, seed=0)
    model.learn(24)
    assert model._n_updates == 2
    assert model.num_timesteps == 24
    assert model.rollout_buffer.n_ready_episodes == 3
    assert model.rollout_buffer.n_ready_steps == 12


class CountDonesPerRollout(BaseCallback):
    """Per completed rollout: the episodes that ended in it, those the buffer serves, the steps it carries."""

    def __init__(self) -> None:
        super().__init__()
        self.dones = 0
        self.completed: list[tuple[int, int, int]] = []

    def _on_rollout_start(self) -> None:
        self.dones = 0

    def _on_step(self) -> bool:
        self.dones += int(np.sum(self.locals["dones"]))
        return True

    def _on_rollout_end(self) -> None:
        buffer = self.model.rollout_buffer
        self.completed.append((self.dones, buffer.n_ready_episodes, buffer.n_carried_steps))


def test_episode_batching_with_several_envs_uses_every_ended_episode():
    env = make_vec_env("CartPole-v1", n_envs=4, seed=0)
    model = REINFORCE("MlpPolicy", env, n_episodes=6, seed=0)
    counter = CountDonesPerRollout()
    model.learn(500, callback=counter)
    assert len(counter.completed) >= 2
    for dones, ready_episodes, carried_steps in counter.completed:
        # The rollout stops at the first step where 6 or more episodes have ended (at most 3 more end with it) ...
        assert 6 <= dones <= 6 + 3
        # ... and exactly those episodes enter the update; the running ones are carried.
        assert ready_episodes == dones
        assert carried_steps > 0


def test_time_limit_truncation():
    """A time-limit cut is an end without a baseline, and bootstrapped with V(terminal_observation) with one."""

    def make() -> gym.Env:
        return gym.wrappers.TimeLimit(TinyFeatureEnv(ep_length=100), max_episode_steps=4)

    plain = REINFORCE("MlpPolicy", DummyVecEnv([make]), n_steps=8, normalize_advantage="none", gamma=0.5, seed=0)
    plain.learn(8)
    assert plain.rollout_buffer.n_ready_steps == 8
    rewards = plain.rollout_buffer.arrays["rewards"][:, 0]
    assert plain.rollout_buffer.returns[3] == pytest.approx(rewards[3])  # the cut step's return is its reward

    with_baseline = REINFORCE(
        "MlpPolicy", DummyVecEnv([make]), n_steps=4, use_baseline=True, normalize_advantage="none", gamma=0.5, seed=0
    )
    policy_before_update = copy.deepcopy(with_baseline.policy)
    with_baseline.learn(4)
    buffer = with_baseline.rollout_buffer
    terminal_value = policy_before_update.predict_values(th.as_tensor(tiny_features(4))[None]).item()
    assert buffer.arrays["terminal_values"][3, 0] == pytest.approx(terminal_value, rel=1e-5)
    assert buffer.returns[3] == pytest.approx(buffer.arrays["rewards"][3, 0] + 0.5 * terminal_value, rel=1e-5)


def test_unsupported_spaces_raise():
    class TupleActionEnv(IdentityEnv):
        def __init__(self) -> None:
            super().__init__(2)
            self.action_space = spaces.Tuple((spaces.Discrete(2), spaces.Discrete(2)))

    with pytest.raises(AssertionError, match="only supports"):
        REINFORCE("MlpPolicy", TupleActionEnv())


def test_vpg_defaults_are_spinning_up():
    model = VPG("MlpPolicy", "CartPole-v1", _init_setup_model=False)
    assert (model.use_baseline, model.gae_lambda, model.n_value_steps, model.n_steps) == (True, 0.97, 80, 4000)
    assert model.bootstrap_incomplete
    assert VPG("MlpPolicy", "CartPole-v1", n_episodes=4).n_episodes == 4
    assert isinstance(VPG("MlpPolicy", "CartPole-v1", n_steps=8).rollout_buffer, EpisodicRolloutBuffer)


def test_gradient_chunks_equal_one_batch():
    """batch_size only bounds memory: the accumulated gradient, hence the update, is the same."""

    def trained(batch_size):
        model = REINFORCE(
            "MlpPolicy",
            "CartPole-v1",
            n_steps=200,
            seed=7,
            batch_size=batch_size,
            use_baseline=True,
            n_value_steps=3,
            max_grad_norm=0.5,
        )
        model.learn(200)
        return params_of(model)

    for a, b in zip(trained(None), trained(33), strict=True):
        th.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("algo", ALGOS)
def test_gsde_exploration(algo):
    model = algo("MlpPolicy", IdentityEnvBox(ep_length=10), n_steps=20, use_sde=True, sde_sample_freq=4, seed=0)
    before = params_of(model)
    model.learn(60)
    assert model._n_updates == 3
    assert any(not th.equal(a, b) for a, b in zip(before, params_of(model), strict=True))


class StopAt(BaseCallback):
    def __init__(self, stop_at_call: int) -> None:
        super().__init__()
        self.stop_at_call = stop_at_call

    def _on_step(self) -> bool:
        return self.n_calls != self.stop_at_call


def test_stopping_mid_rollout_loses_no_step():
    """A callback that stops training mid-rollout: the steps taken so far (the last one included) stay in the
    buffer, the next learn goes on with the same rollout, and every step enters a later update with its exact
    return once its episode ends."""
    env = DummyVecEnv([lambda: TinyFeatureEnv(ep_length=7)])
    model = REINFORCE("MlpPolicy", env, n_steps=5, seed=0, normalize_advantage="none")
    model.learn(100, callback=StopAt(8))  # rollout 2 stops after its 3rd step: 8 steps taken, episode 1 ended at 7
    assert model.num_timesteps == 8
    assert model._n_updates == 0  # rollout 1 had no ended episode; rollout 2 was interrupted
    assert model.rollout_buffer.n_carried_steps == 8 and model.rollout_buffer.n_rollout_steps == 3
    ready = ReadySteps()
    model.learn(27, reset_num_timesteps=False, callback=ready)
    assert model.num_timesteps == 35
    # rollout 2 completes at step 10, the others end at 15, ..., 35; episodes end at 7, 14, 21, 28 and 35: all 35
    # steps entered, none twice, none lost
    assert ready.n_ready_steps == [7, 7, 0, 7, 7, 7]
    assert model.rollout_buffer.n_carried_steps == 0


def test_stop_training_on_wall_clock():
    from sb3_vpg.common.callbacks import StopTrainingOnWallClock

    model = REINFORCE("MlpPolicy", "CartPole-v1", n_steps=32, seed=0)
    model.learn(10_000, callback=StopTrainingOnWallClock(max_seconds=0))
    assert model.num_timesteps == 1  # stopped at the first step: the budget was spent
    model.learn(64, callback=StopTrainingOnWallClock(max_seconds=3600))
    assert model.num_timesteps == 64
    with pytest.raises(ValueError, match="max_seconds"):
        StopTrainingOnWallClock(max_seconds=-1)


def test_logs_every_100_rollouts_by_default_as_a2c(capsys):
    model = REINFORCE("MlpPolicy", DummyVecEnv([TinyFeatureEnv]), n_steps=1, verbose=1, seed=0)
    model.learn(250)  # 250 rollouts of one step
    iterations = [line.split("|")[2].strip() for line in capsys.readouterr().out.splitlines() if "iterations" in line]
    assert iterations == ["100", "200"]
