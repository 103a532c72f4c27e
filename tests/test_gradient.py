"""The update REINFORCE applies equals the analytic REINFORCE gradient of a linear softmax policy, derived by hand."""

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_vpg import REINFORCE
from tests.envs import TinyFeatureEnv, tiny_features


class RecordActions(BaseCallback):
    def __init__(self) -> None:
        super().__init__()
        self.actions: list[int] = []
        self.rewards: list[float] = []

    def _on_step(self) -> bool:
        self.actions.append(int(self.locals["actions"][0]))
        self.rewards.append(float(self.locals["rewards"][0]))
        return True


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max()
    return np.exp(z) / np.exp(z).sum()


def test_update_equals_hand_derived_linear_softmax_gradient():
    ep_length, n_episodes, gamma, lr = 3, 2, 0.9, 0.1
    model = REINFORCE(
        "MlpPolicy",
        DummyVecEnv([lambda: TinyFeatureEnv(ep_length)]),
        learning_rate=lr,
        n_steps=ep_length * n_episodes,
        gamma=gamma,
        normalize_advantage="none",
        policy_kwargs=dict(net_arch=[], optimizer_class=th.optim.SGD),
        seed=3,
    )
    # Give the linear policy non-trivial weights so that pi is far from uniform.
    with th.no_grad():
        model.policy.action_net.weight.copy_(th.tensor([[0.3, -0.8, 0.5], [-0.2, 0.4, 0.1]]))
        model.policy.action_net.bias.copy_(th.tensor([0.1, -0.3]))
    weight = model.policy.action_net.weight.detach().numpy().astype(np.float64).copy()
    bias = model.policy.action_net.bias.detach().numpy().astype(np.float64).copy()
    value_net_before = [p.detach().clone() for p in model.policy.value_net.parameters()]

    recorder = RecordActions()
    model.learn(ep_length * n_episodes, callback=recorder)
    assert model._n_updates == 1
    actions = recorder.actions

    # By hand: G_t within each episode; grad log pi(a|s) = (onehot(a) - pi(s)) s^T for the weights,
    # (onehot(a) - pi(s)) for the bias; REINFORCE ascends mean_t G_t grad log pi(a_t|s_t).
    grad_weight = np.zeros_like(weight)
    grad_bias = np.zeros_like(bias)
    for episode in range(n_episodes):
        steps = range(episode * ep_length, (episode + 1) * ep_length)
        rewards = [TinyFeatureEnv.reward(t % ep_length, actions[t]) for t in steps]
        np.testing.assert_allclose(rewards, recorder.rewards[episode * ep_length : (episode + 1) * ep_length], rtol=1e-6)
        for k, t in enumerate(steps):
            ret = sum(gamma**j * rewards[k + j] for j in range(ep_length - k))
            s = tiny_features(t % ep_length).astype(np.float64)
            pi = softmax(weight @ s + bias)
            score = np.eye(2)[actions[t]] - pi
            grad_weight += ret * np.outer(score, s)
            grad_bias += ret * score
    n = ep_length * n_episodes
    expected_weight = weight + lr * grad_weight / n
    expected_bias = bias + lr * grad_bias / n

    np.testing.assert_allclose(model.policy.action_net.weight.detach().numpy(), expected_weight, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.policy.action_net.bias.detach().numpy(), expected_bias, rtol=1e-5, atol=1e-6)
    # Without a baseline the value head is neither evaluated nor trained.
    for before, after in zip(value_net_before, model.policy.value_net.parameters(), strict=True):
        assert th.equal(before, after)


class ZeroRewardEnv(TinyFeatureEnv):
    @staticmethod
    def reward(t: int, action: int) -> float:
        return 0.0


def test_entropy_bonus_is_the_only_gradient_when_returns_are_zero():
    """With all returns zero the policy term vanishes: the step is exactly lr * ent_coef * grad(mean entropy)."""
    lr, ent_coef = 0.5, 0.1
    model = REINFORCE(
        "MlpPolicy",
        DummyVecEnv([lambda: ZeroRewardEnv(3)]),
        learning_rate=lr,
        n_steps=6,
        ent_coef=ent_coef,
        normalize_advantage="none",
        policy_kwargs=dict(net_arch=[], optimizer_class=th.optim.SGD),
        seed=0,
    )
    with th.no_grad():
        model.policy.action_net.weight.copy_(th.tensor([[0.3, -0.8, 0.5], [-0.2, 0.4, 0.1]]))
    weight = model.policy.action_net.weight.detach().clone().requires_grad_(True)
    bias = model.policy.action_net.bias.detach().clone().requires_grad_(True)
    obs = th.as_tensor(np.stack([tiny_features(t % 3) for t in range(6)]))
    entropy = th.distributions.Categorical(logits=obs @ weight.T + bias).entropy().mean()
    grad_weight, grad_bias = th.autograd.grad(entropy, (weight, bias))

    model.learn(6)
    th.testing.assert_close(model.policy.action_net.weight.detach(), weight.detach() + lr * ent_coef * grad_weight)
    th.testing.assert_close(model.policy.action_net.bias.detach(), bias.detach() + lr * ent_coef * grad_bias)


def test_gradient_clipping_bounds_the_step():
    def step_norm(max_grad_norm: float | None) -> float:
        model = REINFORCE(
            "MlpPolicy",
            DummyVecEnv([lambda: TinyFeatureEnv(3)]),
            learning_rate=1.0,
            n_steps=6,
            normalize_advantage="none",
            max_grad_norm=max_grad_norm,
            policy_kwargs=dict(optimizer_class=th.optim.SGD),
            seed=0,
        )
        before = th.cat([p.detach().flatten().clone() for p in model.policy.parameters()])
        model.learn(6)
        after = th.cat([p.detach().flatten() for p in model.policy.parameters()])
        return float(th.linalg.norm(after - before))

    unclipped = step_norm(None)
    assert unclipped > 1e-2
    assert step_norm(1e-3) == pytest.approx(1e-3, rel=1e-4)


def test_point_boundary_mode_through_the_algorithm():
    """TinyFeatureEnv pays a non-zero reward every step, so in point-boundary mode each return is its reward."""
    model = REINFORCE(
        "MlpPolicy", DummyVecEnv([lambda: TinyFeatureEnv(4)]), n_steps=8, reset_on_reward=True, normalize_advantage="none"
    )
    model.learn(8)
    buffer = model.rollout_buffer
    rewards = buffer.arrays["rewards"][:8, 0]
    np.testing.assert_allclose(buffer.returns, rewards, rtol=1e-6)
    plain = REINFORCE("MlpPolicy", DummyVecEnv([lambda: TinyFeatureEnv(4)]), n_steps=8, normalize_advantage="none")
    plain.learn(8)
    assert not np.allclose(plain.rollout_buffer.returns, plain.rollout_buffer.arrays["rewards"][:8, 0])


def test_episode_normalisation_through_the_algorithm():
    model = REINFORCE("MlpPolicy", DummyVecEnv([lambda: TinyFeatureEnv(5)]), n_episodes=3, normalize_advantage="episode")
    model.learn(15)
    advantages = next(model.rollout_buffer.get()).advantages.numpy().reshape(3, 5)  # what the update gets
    np.testing.assert_allclose(advantages.mean(axis=1), 0.0, atol=1e-6)
    np.testing.assert_allclose(advantages.std(axis=1), 1.0, atol=1e-4)
