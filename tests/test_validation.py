"""Bad arguments get a clear error that names the parameter, on every path into a model."""

import math

import pytest
import torch as th
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_vpg import REINFORCE, VPG
from tests.envs import TinyFeatureEnv

# (arguments, the error's message): each one on its own is wrong
BAD_ARGUMENTS = [
    (dict(gamma=1.5), r"gamma must be a finite number in \[0, 1\], got 1.5"),
    (dict(gamma=-0.1), r"gamma must be a finite number in \[0, 1\]"),
    (dict(gamma="0.9"), r"gamma must be a finite number in \[0, 1\], got '0.9'"),
    (dict(gamma=math.nan), r"gamma must be a finite number in \[0, 1\], got nan"),
    (dict(gae_lambda=1.2, use_baseline=True), r"gae_lambda must be a finite number in \[0, 1\]"),
    (dict(learning_rate=0.0), "learning_rate must be a positive number or a schedule"),
    (dict(learning_rate=-1.0), "learning_rate must be a positive number or a schedule"),
    (dict(learning_rate="1e-3"), "learning_rate must be a positive number or a schedule"),
    (dict(learning_rate=lambda progress: 0.0), r"learning_rate must be .* the schedule gives 0.0 at the start"),
    (dict(n_steps=0), "n_steps must be a positive integer"),
    (dict(n_steps=2.5), "n_steps must be a positive integer"),
    (dict(n_steps=True), "n_steps must be a positive integer"),
    (dict(n_episodes=-3), "n_episodes must be a positive integer or None"),
    (dict(n_episodes=0), "n_episodes must be a positive integer or None"),
    (dict(n_steps=16, n_episodes=2), "either n_steps or n_episodes"),
    (dict(normalize_advantage="per-batch"), r"normalize_advantage must be one of \('none', 'batch', 'episode'"),
    (dict(use_baseline="yes"), "use_baseline must be True or False"),
    (dict(gae_lambda=0.95), r"gae_lambda < 1 \(got 0.95\) needs a learned baseline"),
    (dict(n_value_steps=5), "n_value_steps > 1 .* needs a learned baseline"),
    (dict(n_value_steps=0, use_baseline=True), "n_value_steps must be a positive integer"),
    (dict(bootstrap_incomplete=True), "bootstrap_incomplete=True needs a learned baseline"),
    (dict(max_grad_norm=0.0), r"max_grad_norm must be a finite number in \(0, inf\] or None"),
    (dict(max_grad_norm=math.inf), "max_grad_norm must be a finite number"),
    (dict(max_importance_weight=0.0), r"max_importance_weight must be a finite number in \(0, inf\] or None"),
    (dict(max_importance_weight="1"), "max_importance_weight must be a finite number"),
    (dict(vf_coef=-1.0), r"vf_coef must be a finite number in \[0, inf\]"),
    (dict(vf_coef=math.nan), "vf_coef must be a finite number"),
    (dict(ent_coef=-0.01), r"ent_coef must be a finite number in \[0, inf\], got -0.01"),
    (dict(ent_coef=math.nan), "ent_coef must be a finite number"),
    (dict(vf_learning_rate=1e-3), r"vf_learning_rate \(a value optimizer\) needs a learned baseline"),
    (dict(vf_learning_rate=0.0, use_baseline=True), "vf_learning_rate must be a positive number or a schedule"),
    (dict(vf_learning_rate="1e-3", use_baseline=True), "vf_learning_rate must be a positive number"),
    (dict(vf_learning_rate=True, use_baseline=True), "vf_learning_rate must be a positive number"),
    (dict(vf_optimizer_class=th.optim.SGD, use_baseline=True), "vf_optimizer_class and vf_optimizer_kwargs need"),
    (dict(vf_optimizer_kwargs=dict(eps=1e-8), use_baseline=True), "need a value optimizer: set vf_learning_rate"),
    (dict(vf_optimizer_class="Adam", use_baseline=True, vf_learning_rate=1e-3), "vf_optimizer_class must be a subclass"),
    (dict(reset_on_reward=1), "reset_on_reward must be True or False"),
    (dict(loss_reduction="max"), r"loss_reduction must be one of \('mean', 'sum'\)"),
    (dict(batch_size=0), "batch_size must be a positive integer or None"),
    (dict(rollout_buffer_kwargs=dict(gamma=0.5)), "rollout_buffer_kwargs must not contain"),
    (dict(rollout_buffer_class=dict), "rollout_buffer_class must be a subclass of EpisodicRolloutBuffer"),
    (dict(rollout_buffer_kwargs=dict(sparse_observations=True)), "pass rollout_buffer_class=SparseEpisodicRolloutBuffer"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_ARGUMENTS)
def test_bad_arguments_raise_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        REINFORCE("MlpPolicy", "CartPole-v1", **kwargs)


# The values that can arrive after construction (not the constructor-only combinations)
LATE_VALUES = [
    ("gamma", 1.5, r"gamma must be a finite number in \[0, 1\]"),
    ("n_episodes", 0, "n_episodes must be a positive integer"),
    ("learning_rate", 0.0, "learning_rate must be a positive number"),
    ("ent_coef", math.nan, "ent_coef must be a finite number"),
    ("vf_coef", math.nan, "vf_coef must be a finite number"),
    ("normalize_advantage", "per-batch", "normalize_advantage must be one of"),
    ("batch_size", -1, "batch_size must be a positive integer or None"),
]


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "reinforce.zip"
    REINFORCE("MlpPolicy", DummyVecEnv([TinyFeatureEnv]), n_steps=6, seed=0).save(path)
    return path


@pytest.mark.parametrize(("name", "value", "message"), LATE_VALUES)
def test_load_custom_objects_are_checked(saved_model, name, value, message):
    if name == "learning_rate":  # loading to act with learning rate 0 is allowed (rl_zoo3's enjoy does); training is not
        model = REINFORCE.load(saved_model, env=DummyVecEnv([TinyFeatureEnv]), custom_objects={name: value})
        with pytest.raises(ValueError, match=message):
            model.learn(12)
        return
    with pytest.raises(ValueError, match=message):
        REINFORCE.load(saved_model, custom_objects={name: value})


@pytest.mark.parametrize(("name", "value", "message"), LATE_VALUES)
def test_load_keyword_arguments_are_checked(saved_model, name, value, message):
    with pytest.raises(ValueError, match=message):
        REINFORCE.load(saved_model, env=DummyVecEnv([TinyFeatureEnv]), **{name: value}).learn(12)


@pytest.mark.parametrize(("name", "value", "message"), LATE_VALUES)
def test_assigned_attributes_are_checked_before_training(name, value, message):
    model = REINFORCE("MlpPolicy", DummyVecEnv([TinyFeatureEnv]), n_steps=6, seed=0)
    setattr(model, name, value)
    weights = [parameter.detach().clone() for parameter in model.policy.parameters()]
    with pytest.raises(ValueError, match=message):
        model.learn(12)
    assert model.num_timesteps == 0
    assert all(th.equal(a, b) for a, b in zip(weights, model.policy.parameters(), strict=True))


def test_good_values_pass_every_path(saved_model):
    model = REINFORCE.load(saved_model, env=DummyVecEnv([TinyFeatureEnv]), custom_objects={"gamma": 0.5}, ent_coef=0)
    model.n_episodes, model.n_steps = 2, None
    model.learn(12, reset_num_timesteps=False)
    assert model.gamma == 0.5 and model._n_updates >= 1


def test_numbers_of_any_real_type_are_accepted():
    import numpy as np

    model = REINFORCE("MlpPolicy", "CartPole-v1", gamma=np.float32(0.9), ent_coef=0, n_steps=np.int64(8), vf_coef=1)
    assert model.n_steps == 8


def test_vpg_without_a_baseline_names_the_defaults_that_need_one():
    """VPG lists Spinning Up's defaults in its signature; switching the baseline off without them is an error that
    names the parameter (REINFORCE is VPG without a baseline)."""
    with pytest.raises(ValueError, match=r"gae_lambda < 1 \(got 0.97\) needs a learned baseline"):
        VPG("MlpPolicy", "CartPole-v1", use_baseline=False)
    model = VPG("MlpPolicy", "CartPole-v1", use_baseline=False, gae_lambda=1.0, n_value_steps=1, vf_learning_rate=None)
    assert not model.use_baseline and not model.bootstrap_incomplete and model.value_optimizer is None
    assert model.n_steps == 4000 and model.learning_rate == 3e-4
    default = VPG("MlpPolicy", "CartPole-v1")
    assert (default.gae_lambda, default.n_value_steps, default.vf_learning_rate) == (0.97, 80, 1e-3)
    episodes = VPG("MlpPolicy", "CartPole-v1", n_episodes=3)
    assert episodes.n_episodes == 3 and episodes.n_steps is None and not episodes.bootstrap_incomplete


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        # each default that needs the baseline is named where it is left as it is
        (dict(n_value_steps=1, vf_learning_rate=None), r"gae_lambda < 1 \(got 0.97\) needs a learned baseline"),
        (dict(gae_lambda=1.0, vf_learning_rate=None), r"n_value_steps > 1 \(got 80\) needs a learned baseline"),
        (dict(gae_lambda=1.0, n_value_steps=1), r"vf_learning_rate \(a value optimizer\) needs a learned baseline"),
    ],
)
def test_vpg_names_each_default_that_needs_a_baseline(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VPG("MlpPolicy", "CartPole-v1", use_baseline=False, **kwargs)


def test_vpg_explicit_n_steps_and_n_episodes_conflict():
    with pytest.raises(ValueError, match="either n_steps or n_episodes"):
        VPG("MlpPolicy", "CartPole-v1", n_steps=4000, n_episodes=3)


def test_vpg_loads_with_its_own_settings(tmp_path):
    no_baseline = dict(use_baseline=False, gae_lambda=1.0, n_value_steps=1, vf_learning_rate=None)
    model = VPG("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2, seed=0), n_steps=16, **no_baseline)
    model.save(tmp_path / "vpg.zip")
    loaded = VPG.load(tmp_path / "vpg.zip")
    assert (loaded.use_baseline, loaded.gae_lambda, loaded.n_value_steps, loaded.vf_learning_rate) == (False, 1.0, 1, None)
