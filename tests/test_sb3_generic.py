"""
SB3's generic algorithm tests (``tests/test_train_eval_mode.py`` and ``tests/test_save_load.py::test_save_load`` of
stable-baselines3), ported to REINFORCE and VPG, with and without a value optimizer, beside A2C.
"""

from collections import OrderedDict
from copy import deepcopy
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3 import A2C
from stable_baselines3.common.envs import IdentityEnv, IdentityEnvBox
from stable_baselines3.common.preprocessing import get_flattened_obs_dim
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.vec_env import DummyVecEnv
from torch import nn

from sb3_vpg import REINFORCE, VPG

# name -> (algorithm, its arguments)
CONFIGS: dict[str, tuple[type, dict[str, Any]]] = {
    "A2C": (A2C, {}),
    "REINFORCE": (REINFORCE, {}),
    "REINFORCE-baseline": (REINFORCE, dict(use_baseline=True)),
    "REINFORCE-value-optimizer": (REINFORCE, dict(use_baseline=True, vf_learning_rate=1e-3, n_value_steps=3)),
    "VPG": (VPG, dict(n_value_steps=3)),
    "VPG-one-optimizer": (VPG, dict(vf_learning_rate=None, n_value_steps=3)),
}


class FlattenBatchNormDropoutExtractor(BaseFeaturesExtractor):
    """SB3's test extractor: flatten, BatchNorm, dropout."""

    def __init__(self, observation_space: gym.Space):
        super().__init__(observation_space, get_flattened_obs_dim(observation_space))
        self.flatten = nn.Flatten()
        self.batch_norm = nn.BatchNorm1d(self._features_dim)
        self.dropout = nn.Dropout(0.5)

    def forward(self, observations: th.Tensor) -> th.Tensor:
        return self.dropout(self.batch_norm(self.flatten(observations)))


def batch_norm_stats(model: Any) -> tuple[th.Tensor, th.Tensor]:
    batch_norm = model.policy.features_extractor.batch_norm
    return batch_norm.bias.clone(), batch_norm.running_mean.clone()


def make(config: str, env_id: str, **kwargs: Any) -> Any:
    algo, algo_kwargs = CONFIGS[config]
    policy_kwargs = dict(net_arch=[16, 16], features_extractor_class=FlattenBatchNormDropoutExtractor)
    return algo("MlpPolicy", env_id, policy_kwargs=policy_kwargs, seed=1, n_steps=64, **algo_kwargs, **kwargs)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("env_id", ["Pendulum-v1", "CartPole-v1"])
def test_train_with_batch_norm(config, env_id):
    model = make(config, env_id)
    bias_before, running_mean_before = batch_norm_stats(model)
    model.learn(total_timesteps=256)
    bias_after, running_mean_after = batch_norm_stats(model)
    assert model._n_updates > 0
    assert ~th.isclose(bias_before, bias_after).all()
    assert ~th.isclose(running_mean_before, running_mean_after).all()


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("env_id", ["Pendulum-v1", "CartPole-v1"])
def test_collect_rollouts_with_batch_norm(config, env_id):
    model = make(config, env_id)
    bias_before, running_mean_before = batch_norm_stats(model)
    _, callback = model._setup_learn(total_timesteps=2 * 64)
    for _ in range(2):
        model.collect_rollouts(model.get_env(), callback, model.rollout_buffer, n_rollout_steps=model.n_steps)
    bias_after, running_mean_after = batch_norm_stats(model)
    assert th.isclose(bias_before, bias_after).all()
    assert th.isclose(running_mean_before, running_mean_after).all()


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("env_id", ["Pendulum-v1", "CartPole-v1"])
def test_predict_with_dropout_batch_norm(config, env_id):
    model = make(config, env_id)
    stats_before = batch_norm_stats(model)
    env = model.get_env()
    observation = env.reset()
    first_prediction, _ = model.predict(observation, deterministic=True)
    for _ in range(5):
        prediction, _ = model.predict(observation, deterministic=True)
        np.testing.assert_allclose(first_prediction, prediction)
    for before, after in zip(stats_before, batch_norm_stats(model), strict=True):
        assert th.isclose(before, after).all()


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("env_class", [IdentityEnv, IdentityEnvBox])
def test_save_load(tmp_path, config, env_class):
    """SB3's test_save_load: set_parameters' error cases, changed parameters, and identical predictions, parameters
    and further training after save/load."""
    algo, algo_kwargs = CONFIGS[config]
    env = DummyVecEnv([lambda: env_class(ep_length=10)])
    model = algo("MlpPolicy", env, policy_kwargs=dict(net_arch=[16]), n_steps=32, seed=0, **algo_kwargs)
    model.learn(total_timesteps=128)
    env.reset()
    observations = np.concatenate([env.step([env.action_space.sample()])[0] for _ in range(10)], axis=0)
    original_params = deepcopy(model.get_parameters())
    expected_objects = {"policy", "policy.optimizer"} | ({"value_optimizer"} if model_has_value_optimizer(model) else set())
    assert set(original_params) == expected_objects

    # invalid object names
    invalid_object_params = deepcopy(original_params)
    invalid_object_params["I_should_not_be_a_valid_object"] = "and_I_am_an_invalid_tensor"
    with pytest.raises(ValueError):
        model.set_parameters(invalid_object_params, exact_match=True)
    with pytest.raises(ValueError):
        model.set_parameters(invalid_object_params, exact_match=False)
    # exact_match catches a missing object (for VPG: the value optimizer's state), and changes nothing
    missing_object_params = dict(list(original_params.items())[:-1])
    with pytest.raises(ValueError, match="Names of parameters do not match"):
        model.set_parameters(missing_object_params, exact_match=True)
    assert set(model.get_parameters()) == expected_objects
    # exact_match catches a missing tensor inside a state dict
    missing_state_dict_tensor_params = {
        name: dict(list(original_params[name].items())[1:]) for name in original_params if name == "policy"
    }
    with pytest.raises(RuntimeError):
        model.set_parameters(missing_state_dict_tensor_params, exact_match=True)

    # the parameters do change
    random_params = {
        name: params if "optim" in name else OrderedDict((key, th.rand_like(value)) for key, value in params.items())
        for name, params in original_params.items()
    }
    model.set_parameters(random_params, exact_match=True)
    new_params = model.get_parameters()
    for key in original_params["policy"]:
        assert not th.allclose(original_params["policy"][key], new_params["policy"][key])
    params = new_params
    selected_actions, _ = model.predict(observations, deterministic=True)

    model.save(tmp_path / "test_save.zip")
    del model
    model = algo.load(str(tmp_path / "test_save.zip"), env=env)
    new_params = model.get_parameters()
    assert set(new_params) == expected_objects
    for key in params["policy"]:
        assert th.allclose(params["policy"][key], new_params["policy"][key])
    for name in ("policy.optimizer", "value_optimizer"):
        if name in params:
            assert new_params[name]["param_groups"] == params[name]["param_groups"]
            assert new_params[name]["state"].keys() == params[name]["state"].keys()
    new_selected_actions, _ = model.predict(observations, deterministic=True)
    np.testing.assert_allclose(selected_actions, new_selected_actions, 1e-4)
    model.learn(total_timesteps=64)


def model_has_value_optimizer(model: Any) -> bool:
    return getattr(model, "value_optimizer", None) is not None
