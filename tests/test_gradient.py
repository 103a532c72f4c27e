"""The update REINFORCE applies equals the analytic REINFORCE gradient of a linear softmax policy (seed 004)."""

import numpy as np
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
