"""The numpy rollout actor of SB3's MlpPolicy samples the policy's distribution, exactly where the draw can be
matched and statistically elsewhere, and steps aside where it would not compute the same policy."""

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.distributions import DiagGaussianDistribution
from stable_baselines3.common.policies import ActorCriticCnnPolicy, ActorCriticPolicy

from sb3_vpg.common.capabilities import rollout_actor
from sb3_vpg.common.mlp_actor import MlpNumpyActor, mlp_rollout_actor

OBSERVATIONS = spaces.Box(-2.0, 2.0, (5,), np.float32)
ACTION_SPACES = {
    "Discrete": spaces.Discrete(4),
    "MultiDiscrete": spaces.MultiDiscrete([3, 2]),
    "MultiBinary": spaces.MultiBinary(3),
    "Box": spaces.Box(-1.0, 1.0, (2,), np.float32),
}


def make_policy(action_space: spaces.Space, **kwargs) -> ActorCriticPolicy:
    th.manual_seed(0)
    policy = ActorCriticPolicy(OBSERVATIONS, action_space, lambda _: 1e-3, **kwargs)
    with th.no_grad():  # a policy far from uniform, so that a wrong sampler shows
        policy.action_net.weight.mul_(30.0)
    return policy


def observations(n: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(-2, 2, (n, 5)).astype(np.float32)


@pytest.mark.parametrize("name", list(ACTION_SPACES))
def test_log_probs_are_the_torch_policys(name):
    policy = make_policy(ACTION_SPACES[name])
    actor = rollout_actor(policy)
    assert isinstance(actor, MlpNumpyActor)
    obs = observations(16)
    actions, log_probs = actor.sample(obs)
    assert actions.shape == (16, *ACTION_SPACES[name].shape)
    assert all(ACTION_SPACES[name].contains(np.asarray(a, dtype=ACTION_SPACES[name].dtype)) or name == "Box" for a in actions)
    taken = th.as_tensor(actions) if name == "Discrete" else th.as_tensor(actions).float()
    with th.no_grad():
        expected = policy.get_distribution(th.as_tensor(obs)).log_prob(taken)
    np.testing.assert_allclose(log_probs, expected.numpy(), rtol=1e-4, atol=1e-4)


def test_gaussian_actions_are_the_mean_plus_std_times_torchs_normals():
    """The draw can be matched: the actor's first step uses the first row of th.randn(64, n, d)."""
    policy = make_policy(ACTION_SPACES["Box"], log_std_init=-0.3)
    assert isinstance(policy.action_dist, DiagGaussianDistribution)
    obs = observations(3)
    actor = rollout_actor(policy)
    th.manual_seed(123)
    actions, _ = actor.sample(obs)
    th.manual_seed(123)
    noise = th.randn(64, 3, 2)[0]
    with th.no_grad():
        mean = policy.get_distribution(th.as_tensor(obs)).distribution.mean
    np.testing.assert_allclose(actions, (mean + np.exp(-0.3) * noise).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["Discrete", "MultiDiscrete", "MultiBinary", "Box"])
def test_actions_follow_the_policys_distribution(name):
    """20,000 draws on one observation: each action's frequency (each component's, for MultiDiscrete/MultiBinary;
    mean and std for Box) within 5 standard errors of the torch policy's probability."""
    policy = make_policy(ACTION_SPACES[name])
    actor = rollout_actor(policy)
    obs = np.repeat(observations(1), 500, axis=0)
    th.manual_seed(0)
    draws = np.concatenate([actor.sample(obs)[0] for _ in range(40)])
    with th.no_grad():
        distribution = policy.get_distribution(th.as_tensor(obs[:1])).distribution
    n = len(draws)
    if name == "Box":
        mean, std = distribution.mean[0].numpy(), distribution.stddev[0].numpy()
        np.testing.assert_allclose(draws.mean(axis=0), mean, atol=5 * std.max() / np.sqrt(n))
        np.testing.assert_allclose(draws.std(axis=0), std, rtol=0.03)
        return
    parts = distribution if isinstance(distribution, list) else [distribution]
    columns = draws.reshape(n, -1).T
    for index, part in enumerate(parts if name != "MultiBinary" else [distribution] * 3):
        probs = part.probs[0].numpy()
        if name == "MultiBinary":
            frequency, p = columns[index].mean(), probs[index]
            assert abs(frequency - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-3
            continue
        column = columns[index] if name == "MultiDiscrete" else columns[0]
        for action, p in enumerate(probs):
            assert abs(np.mean(column == action) - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-3, (action, p)


def test_a_seeded_actor_repeats():
    policy = make_policy(ACTION_SPACES["Discrete"])
    obs = observations(8)
    runs = []
    for _ in range(2):
        th.manual_seed(7)
        actor = rollout_actor(policy)
        runs.append(np.stack([actor.sample(obs)[0] for _ in range(100)]))
    np.testing.assert_array_equal(*runs)


class OwnDistribution(ActorCriticPolicy):
    def get_distribution(self, obs):  # a user's change on the acting path
        return super().get_distribution(obs)


@pytest.mark.parametrize(
    "make",
    [
        lambda: make_policy(ACTION_SPACES["Box"], use_sde=True),
        lambda: make_policy(ACTION_SPACES["Box"], squash_output=True, use_sde=True),
        lambda: make_policy(ACTION_SPACES["Discrete"], activation_fn=th.nn.ELU),
        lambda: OwnDistribution(OBSERVATIONS, ACTION_SPACES["Discrete"], lambda _: 1e-3),
        lambda: ActorCriticCnnPolicy(spaces.Box(0, 255, (1, 36, 36), np.uint8), spaces.Discrete(2), lambda _: 1e-3),
        lambda: ActorCriticPolicy(spaces.Discrete(5), spaces.Discrete(2), lambda _: 1e-3),
    ],
    ids=["gSDE", "squashed", "ELU", "own-get_distribution", "CNN", "Discrete-observations"],
)
def test_the_actor_steps_aside_where_it_would_not_compute_the_same_policy(make):
    assert mlp_rollout_actor(make()) is None
