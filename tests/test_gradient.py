"""The update REINFORCE applies equals the analytic REINFORCE gradient of a linear softmax policy, derived by hand."""

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_vpg import REINFORCE
from sb3_vpg.reinforce.reinforce import truncated_importance_weights
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


@pytest.mark.parametrize("max_importance_weight", [None, 0.5, 1.0, 10.0])
def test_carried_steps_are_weighted_by_the_truncated_importance_ratio(max_importance_weight):
    """Episodes of 3 steps, rollouts of 2: the second episode's first step is drawn by the policy before the first
    update and trained after it, so it enters the second update with ``min(c, pi_1 / pi_0)``; its other steps were
    drawn by the policy they train (weight ``min(c, 1)``). Without ``max_importance_weight`` every weight is 1."""
    ep_length, lr, gamma = 3, 0.5, 0.9
    model = REINFORCE(
        "MlpPolicy",
        DummyVecEnv([lambda: TinyFeatureEnv(ep_length)]),
        learning_rate=lr,
        n_steps=2,
        gamma=gamma,
        normalize_advantage="none",
        max_importance_weight=max_importance_weight,
        policy_kwargs=dict(net_arch=[], optimizer_class=th.optim.SGD),
        seed=5,
    )

    def linear() -> tuple[np.ndarray, np.ndarray]:
        net = model.policy.action_net
        return net.weight.detach().numpy().astype(np.float64).copy(), net.bias.detach().numpy().astype(np.float64).copy()

    with th.no_grad():
        model.policy.action_net.weight.copy_(th.tensor([[0.3, -0.8, 0.5], [-0.2, 0.4, 0.1]]))
    before = linear()
    recorder = RecordActions()
    model.learn(4, callback=recorder)  # the first episode ends at step 3: one update; the second has begun
    assert model._n_updates == 1
    after_first = linear()
    model.learn(2, callback=recorder, reset_num_timesteps=False)  # the second episode ends: the second update
    assert model._n_updates == 2

    def pi(params: tuple[np.ndarray, np.ndarray], t: int) -> np.ndarray:
        return softmax(params[0] @ tiny_features(t).astype(np.float64) + params[1])

    actions = recorder.actions[ep_length:]
    rewards = [TinyFeatureEnv.reward(t, actions[t]) for t in range(ep_length)]
    actors = [before, after_first, after_first]  # the policy that drew each step of the second episode
    grad_weight, grad_bias = np.zeros((2, 3)), np.zeros(2)
    ratios = []
    for t in range(ep_length):
        ret = sum(gamma**j * rewards[t + j] for j in range(ep_length - t))
        ratio = pi(after_first, t)[actions[t]] / pi(actors[t], t)[actions[t]]
        ratios.append(ratio)
        weight = 1.0 if max_importance_weight is None else min(max_importance_weight, ratio)
        score = np.eye(2)[actions[t]] - pi(after_first, t)
        grad_weight += weight * ret * np.outer(score, tiny_features(t))
        grad_bias += weight * ret * score
    assert abs(ratios[0] - 1) > 0.01  # the carried step's policy did change
    expected = (after_first[0] + lr * grad_weight / ep_length, after_first[1] + lr * grad_bias / ep_length)
    np.testing.assert_allclose(linear()[0], expected[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(linear()[1], expected[1], rtol=1e-5, atol=1e-6)


def test_truncated_importance_weights_are_the_clipped_ratio():
    log_prob = th.tensor([0.0, -1.0, -0.1, -3.0])
    old_log_prob = th.tensor([0.0, -0.5, -2.0, -3.0])
    weights = truncated_importance_weights(log_prob, old_log_prob, 1.5)
    th.testing.assert_close(weights, th.tensor([1.0, float(np.exp(-0.5)), 1.5, 1.0]))


class FreshStepRatios(BaseCallback):
    """At the end of the first rollout, before any update: every step's ``pi / pi_old`` (the policy that acted is
    the policy being trained, so each should be 1 up to float rounding)."""

    def __init__(self) -> None:
        super().__init__()
        self.ratios: np.ndarray | None = None

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        if self.ratios is not None or self.model.rollout_buffer.n_ready_steps == 0:
            return
        ratios = []
        with th.no_grad():
            for batch in self.model.rollout_buffer.get(None):
                actions = self.model._actions_for_log_prob(batch.actions)
                log_prob = self.model._get_distribution(batch.observations, None).log_prob(actions)
                ratios.append(th.exp(log_prob - batch.old_log_prob).numpy())
        self.ratios = np.concatenate(ratios)


@pytest.mark.parametrize(
    "env_id, policy_kwargs",
    [("CartPole-v1", {}), ("Pendulum-v1", {}), ("Pendulum-v1", {"action_bounds": "tanh"}), ("Pendulum-v1", {"net_arch": []})],
)
def test_the_rollouts_log_probabilities_are_the_policys(env_id, policy_kwargs):
    """The rollout actor's log-probabilities (numpy, for an MLP) are the ones the update computes (torch): a step
    trained by the policy that drew it gets importance weight 1."""
    recorder = FreshStepRatios()
    model = REINFORCE("MlpPolicy", env_id, n_episodes=2, policy_kwargs=policy_kwargs, seed=0)
    model.learn(1000, callback=recorder)
    assert recorder.ratios is not None and len(recorder.ratios) >= 2 * 9
    np.testing.assert_allclose(recorder.ratios, 1.0, rtol=0, atol=1e-5)
