"""What SB3's own generic tests found (``.ci/sb3_suite.py`` runs them with REINFORCE and VPG beside A2C), each as a
test of our own: a policy's own ``forward()`` values, gSDE, BatchNorm in training, ``time/fps``, and a Dict
observation of one vector against the flat vector."""

from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common import base_class, on_policy_algorithm
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.preprocessing import get_flattened_obs_dim
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from sb3_vpg import REINFORCE, VPG


class ConstantValuePolicy(ActorCriticPolicy):
    """SB3's test_gae policy: ``forward()`` gives its own values."""

    constant_value = 3.0

    def forward(self, obs: th.Tensor, deterministic: bool = False) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        actions, values, log_prob = super().forward(obs, deterministic)
        return actions, th.full_like(values, self.constant_value), log_prob


class FixedEpisodes(gym.Env):
    """Episodes of 4 steps, reward 1 a step."""

    observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.full(2, 0.1 * self.t, np.float32), 1.0, self.t == 4, False, {}


@pytest.mark.parametrize("algo", [REINFORCE, VPG])
def test_the_values_are_what_the_policys_forward_gives(algo):
    """The baseline of a step is the value forward() gave when it acted, as SB3's A2C stores it; a batched pass
    through predict_values() at the rollout's end would ignore a forward() of the policy's own."""
    model = algo(ConstantValuePolicy, FixedEpisodes(), n_steps=8, use_baseline=True, gamma=1.0, gae_lambda=1.0, seed=0)
    model.learn(8)
    batch = next(model.rollout_buffer.get())
    np.testing.assert_allclose(batch.old_values.numpy(), 3.0)
    np.testing.assert_allclose(batch.returns.numpy(), np.tile([4.0, 3.0, 2.0, 1.0], 2))
    # the buffer keeps the advantages as computed, as SB3's do (test_gae reads them); the update gets them standardised
    np.testing.assert_allclose(model.rollout_buffer.advantages, np.tile([1.0, 0.0, -1.0, -2.0], 2))
    served = batch.advantages.numpy()
    assert abs(served.mean()) < 1e-6 and abs(served.std() - 1.0) < 1e-4


def trained(algo: type, observations: str) -> REINFORCE:
    """A model trained for 256 steps on CartPole, its observations a Dict of one vector or the flat vector (each
    model built and trained in turn: torch's global generator is seeded when a model is built)."""
    env = gym.make("CartPole-v1")
    if observations == "dict":
        env = gym.wrappers.TransformObservation(env, lambda obs: {"vec": obs}, spaces.Dict({"vec": env.observation_space}))
    policy = "MultiInputPolicy" if observations == "dict" else "MlpPolicy"
    model = algo(policy, env, n_steps=64, seed=1, gamma=0.5, policy_kwargs=dict(net_arch=[8, 8]))
    return model.learn(256)


@pytest.mark.parametrize("algo", [REINFORCE, VPG])
def test_a_dict_of_one_vector_trains_as_the_flat_vector(algo):
    """SB3's test_dict_env::test_consistency: the same seed, the same weights after training (the numpy rollout
    actor acts for both, with the same draws)."""
    dict_model = trained(algo, "dict")
    flat_model = trained(algo, "flat")
    for (name, dict_weight), (_, flat_weight) in zip(
        dict_model.policy.state_dict().items(), flat_model.policy.state_dict().items(), strict=True
    ):
        np.testing.assert_allclose(dict_weight.numpy(), flat_weight.numpy(), err_msg=name, rtol=1e-6, atol=1e-7)


class FlattenBatchNorm(BaseFeaturesExtractor):
    """SB3's test_train_eval_mode extractor, without its dropout: flatten, then BatchNorm."""

    def __init__(self, observation_space: gym.Space):
        super().__init__(observation_space, get_flattened_obs_dim(observation_space))
        self.flatten = nn.Flatten()
        self.batch_norm = nn.BatchNorm1d(self._features_dim)

    def forward(self, observations: th.Tensor) -> th.Tensor:
        return self.batch_norm(self.flatten(observations))


@pytest.mark.parametrize("algo", [REINFORCE, VPG])
def test_a_learn_shorter_than_a_rollout_trains_the_episodes_that_ended(algo):
    """SB3's test_a2c_ppo_train_with_batch_norm: learn(200) with the default 2,048-step rollout updates once, in
    training mode (BatchNorm's running statistics move), on the CartPole episodes that ended by then."""
    model = algo(
        "MlpPolicy", "CartPole-v1", seed=1, policy_kwargs=dict(net_arch=[16], features_extractor_class=FlattenBatchNorm)
    )
    batch_norm = model.policy.features_extractor.batch_norm
    bias, running_mean = batch_norm.bias.clone(), batch_norm.running_mean.clone()
    model.learn(200)
    assert model.num_timesteps == 200 and model._n_updates == 1
    assert not th.isclose(bias, batch_norm.bias).any() and not th.isclose(running_mean, batch_norm.running_mean).any()
    assert 0 < model.rollout_buffer.n_ready_steps <= 200  # the episode still running is carried


class InMemoryLogger(Logger):
    """Keeps what was dumped last (SB3's test_logger helper)."""

    def __init__(self) -> None:
        super().__init__(folder=None, output_formats=[])
        self.dumped: dict = {}

    def dump(self, step: int = 0) -> None:
        self.dumped = dict(self.name_to_value)
        super().dump(step)


@pytest.mark.parametrize("algo", [REINFORCE, VPG])
def test_fps_is_the_steps_of_this_learn_over_its_seconds(algo, monkeypatch):
    """SB3's test_logger::test_fps_logger, on a clock of 1 ms per env step: time/fps is 1,000 after each learn,
    counted from that learn's first step (not from num_timesteps 0)."""
    model = algo("MlpPolicy", "CartPole-v1", seed=0)  # learn(100) is shorter than its 2,048-step rollout
    clock = SimpleNamespace(time_ns=lambda: model.num_timesteps * 1_000_000)
    monkeypatch.setattr(base_class, "time", clock)
    monkeypatch.setattr(on_policy_algorithm, "time", clock)
    logger = InMemoryLogger()
    model.set_logger(logger)
    model.learn(100, log_interval=1)
    assert logger.dumped["time/fps"] == 1_000
    model.num_timesteps = 20_000
    model.learn(100, log_interval=1, reset_num_timesteps=False)
    assert logger.dumped["time/fps"] == 1_000


class StoreActions(gym.Wrapper):
    """The actions the env was given (SB3's test_sde wrapper)."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.actions: list[np.ndarray] = []

    def step(self, action):
        self.actions.append(np.asarray(action))
        return super().step(action)


@pytest.mark.parametrize("algo", [REINFORCE, VPG])
@pytest.mark.parametrize("squash_output", [False, True])
def test_gsde_trains_at_the_end_of_the_budget_and_keeps_its_actions_in_bounds(algo, squash_output):
    """SB3's test_sde::test_state_dependent_noise: learn(255) in rollouts of 64 ends inside the fourth and trains
    what is ready there (REINFORCE: the 200-step episode that ended; VPG: the rollout, bootstrapped); the actions
    stored are in [-1, 1] (squashed) or within Pendulum's [-2, 2], and the env got the squashed ones rescaled."""
    env = StoreActions(gym.make("Pendulum-v1"))
    policy_kwargs = dict(log_std_init=-2, net_arch=[64], squash_output=squash_output)
    model = algo("MlpPolicy", env, use_sde=True, n_steps=64, seed=1, policy_kwargs=policy_kwargs)
    model.learn(255)
    assert model.num_timesteps == 255 and model._n_updates == (1 if algo is REINFORCE else 4)
    stored = next(model.rollout_buffer.get()).actions.numpy().ravel()
    assert len(stored) == (200 if algo is REINFORCE else 255 - 192)
    assert np.abs(stored).max() <= (1.0 if squash_output else 2.0)
    trained = np.concatenate(env.actions[:200] if algo is REINFORCE else env.actions[192:])
    np.testing.assert_allclose(trained, 2.0 * stored if squash_output else np.clip(stored, -2, 2), rtol=1e-5, atol=1e-6)


def _masked_env():
    from sb3_contrib.common.envs import InvalidActionEnvDiscrete

    return InvalidActionEnvDiscrete(dim=20, n_invalid_actions=10)


@pytest.mark.parametrize(
    ("saver", "kwargs", "make_env", "loader"),
    [
        pytest.param(saver, kwargs, make_env, loader, id=f"{saver}{'-baseline' if kwargs else ''}-{env_id}-by-{loader}")
        for saver, kwargs in (("REINFORCE", {}), ("REINFORCE", dict(use_baseline=True)), ("VPG", {}))
        for env_id, make_env in (("CartPole", lambda: gym.make("CartPole-v1")), ("Pendulum", lambda: gym.make("Pendulum-v1")))
        for loader in ("A2C", "PPO")
    ]
    + [
        pytest.param(saver, {}, _masked_env, "MaskablePPO", id=f"{saver}-masked-by-MaskablePPO")
        for saver in ("MaskableREINFORCE", "MaskableVPG")
    ],
)  # fmt: skip
def test_a_file_of_ours_loaded_by_another_class_is_refused_before_training(tmp_path, saver, kwargs, make_env, loader):
    """SB3's and sb3-contrib's on-policy classes load a REINFORCE/VPG file with its settings (its rollout buffer,
    max_grad_norm=None, two optimizers), which they cannot train with: the load or the first step of learn() says
    to load it with its own class, and no weight changes. (A2C.load of a REINFORCE file, then learn(), was a
    TypeError about a missing argument.)"""
    import sb3_contrib
    import stable_baselines3

    import sb3_vpg

    model = getattr(sb3_vpg, saver)("MlpPolicy", make_env(), n_steps=64, seed=0, **kwargs)
    model.learn(64)
    model.save(tmp_path / "model.zip")
    loading_class = getattr(stable_baselines3, loader, None) or getattr(sb3_contrib, loader)
    try:
        other = loading_class.load(tmp_path / "model.zip", env=make_env())
    except ValueError as error:  # the optimizers' groups do not fit the loading class's one optimizer
        assert "parameter group" in str(error)
        return
    weights = {name: value.clone() for name, value in other.policy.state_dict().items()}
    # MaskablePPO checks its buffer's class itself (an assert of sb3-contrib's) before its first step
    refusal = (AssertionError, "doesn't support action masking") if loader == "MaskablePPO" else (
        TypeError, r"load the file with its own class \(REINFORCE.load, VPG.load")  # fmt: skip
    with pytest.raises(refusal[0], match=refusal[1]):
        other.learn(128)
    assert all(th.equal(weights[name], value) for name, value in other.policy.state_dict().items())
