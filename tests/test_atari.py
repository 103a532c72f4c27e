"""Karpathy Pong wrappers, the registered id and KarpathyPolicy, on the real ALE emulator."""

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.torch_layers import FlattenExtractor

from sb3_vpg import REINFORCE
from sb3_vpg.common.buffers import EpisodicRolloutBuffer
from sb3_vpg.common.sparse import SparseEpisodicRolloutBuffer
from sb3_vpg.pong import karpathy_kwargs
from sb3_vpg.pong.policies import KarpathyPolicy
from sb3_vpg.pong.wrappers import FrameDifference, KarpathyPreprocess, TwoActionControl, karpathy_preprocess

ale_py = pytest.importorskip("ale_py", reason="the [atari] extra installs ale-py")
gym.register_envs(ale_py)


def karpathy_prepro(frame: np.ndarray) -> np.ndarray:
    """Karpathy's prepro, written out."""
    image = frame[35:195].copy()
    image = image[::2, ::2, 0]
    image[image == 144] = 0
    image[image == 109] = 0
    image[image != 0] = 1
    return image


def test_preprocess_matches_karpathys_on_real_frames():
    env = gym.make("ALE/Pong-v5")
    frame, _ = env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(200):
        processed = karpathy_preprocess(frame)
        assert processed.shape == (80, 80) and processed.dtype == np.uint8
        np.testing.assert_array_equal(processed, karpathy_prepro(frame))
        frame, *_ = env.step(env.action_space.sample())
    assert processed.sum() > 0  # paddles and ball are there


def test_preprocess_rejects_other_frame_shapes():
    env = gym.make("ALE/Pong-v5", obs_type="grayscale")
    with pytest.raises(ValueError, match=r"expects raw Atari frames of shape \(210, 160, 3\)"):
        KarpathyPreprocess(env)


def test_configurable_background():
    frame = np.full((210, 160, 3), 7, np.uint8)
    frame[101, 40] = 144  # rows 35, 37, ... are sampled
    assert karpathy_preprocess(frame, background=(7,)).sum() == 1
    assert karpathy_preprocess(frame, background=(7, 144)).sum() == 0


class BinaryFrames(gym.Env):
    """Emits a known sequence of binary 80x80 frames."""

    observation_space = spaces.Box(0, 1, (80, 80), np.uint8)
    action_space = spaces.Discrete(2)

    def __init__(self) -> None:
        rng = np.random.default_rng(1)
        self.frames = (rng.random((6, 80, 80)) < 0.05).astype(np.uint8)
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        self.t = 0
        return self.frames[0], {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        return self.frames[self.t], 0.0, self.t == 5, False, {}


def test_frame_difference():
    env = FrameDifference(BinaryFrames())
    assert env.observation_space == spaces.Box(-1, 1, (80, 80), np.int8)
    first, _ = env.reset()
    assert first.dtype == np.int8 and not first.any()
    frames = env.unwrapped.frames.astype(np.int16)
    for t in range(1, 6):
        difference, *_ = env.step(0)
        assert difference.dtype == np.int8
        np.testing.assert_array_equal(difference, frames[t] - frames[t - 1])
        assert set(np.unique(difference)) <= {-1, 0, 1}
    assert not env.reset()[0].any()  # zeros again after a reset


def test_frame_difference_needs_binary_frames():
    with pytest.raises(ValueError, match="binary uint8 Box"):
        FrameDifference(gym.make("ALE/Pong-v5"))


def test_two_action_control_maps_to_pong_up_and_down():
    env = TwoActionControl(gym.make("ALE/Pong-v5"))
    meanings = env.unwrapped.get_action_meanings()
    assert env.action_space == spaces.Discrete(2)
    assert meanings[env.action(1)] == "RIGHT" and meanings[env.action(0)] == "LEFT"  # RIGHT moves Pong's paddle up


def test_two_action_control_needs_the_named_actions():
    env = gym.make("ALE/Pong-v5")
    with pytest.raises(ValueError, match=r"no \['UP', 'DOWN'\] action; its actions are \['NOOP', 'FIRE'"):
        TwoActionControl(env, up="UP", down="DOWN")


def test_registered_id_logs_the_game_score():
    env = Monitor(gym.make("KarpathyPong-v0"))
    assert env.observation_space == spaces.Box(-1, 1, (80, 80), np.int8)
    assert env.action_space == spaces.Discrete(2)
    env.reset(seed=0)
    env.action_space.seed(0)
    total, done = 0.0, False
    while not done:
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        total += float(reward)
        done = terminated or truncated
    assert info["episode"]["r"] == total
    assert -21 <= total < 0  # a game score; a random paddle loses it


def test_karpathy_policy_by_name_without_value_head(tmp_path):
    model = REINFORCE(env=gym.make("KarpathyPong-v0"), seed=0, **karpathy_kwargs(n_episodes=1))
    policy = model.policy
    assert isinstance(policy, KarpathyPolicy)
    assert policy.value_net is None
    assert [tuple(p.shape) for p in policy.parameters()] == [(200, 6400), (1, 200)]  # Karpathy's W1, W2: no biases
    assert policy.mlp_extractor.layer.weight.std().item() == pytest.approx(1 / np.sqrt(6400), rel=0.02)
    model.learn(1500)
    assert model._n_updates >= 1
    obs = np.random.default_rng(0).integers(-1, 2, size=(4, 80, 80)).astype(np.int8)
    actions, _ = model.predict(obs, deterministic=True)
    assert actions.dtype.kind == "i" and set(actions) <= {0, 1}
    model.save(tmp_path / "pong.zip")
    loaded = REINFORCE.load(tmp_path / "pong.zip")
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], actions)
    assert loaded.policy.optimizer.__class__ is th.optim.RMSprop
    assert loaded.policy.optimizer.state_dict()["param_groups"][0]["alpha"] == 0.99


def test_sparse_first_layer_is_exact():
    policy = KarpathyPolicy(spaces.Box(-1, 1, (80, 80), np.int8), spaces.Discrete(2), lambda _: 1e-3, bias=True)
    features = th.as_tensor(np.random.default_rng(0).integers(-1, 2, size=(5, 6400)), dtype=th.float32)
    dense = th.relu(features @ policy.mlp_extractor.layer.weight.t() + policy.mlp_extractor.layer.bias)
    th.testing.assert_close(policy.mlp_extractor.forward_actor(features), dense)


def sparse_frame_differences(n: int, seed: int = 0) -> np.ndarray:
    """``n`` 80x80 int8 observations with ~1% of pixels at -1 or 1; the first is all zeros (a reset)."""
    rng = np.random.default_rng(seed)
    obs = ((rng.random((n, 80, 80)) < 0.01) * rng.choice([-1, 1], size=(n, 80, 80))).astype(np.int8)
    obs[0] = 0
    return obs


@pytest.mark.parametrize("bias", [False, True])
def test_rollout_actor_is_the_torch_policy(bias):
    """The rollout-time numpy forward gives the torch policy's logits, log-probs and (same seed) actions."""
    policy = KarpathyPolicy(spaces.Box(-1, 1, (80, 80), np.int8), spaces.Discrete(2), lambda _: 1e-3, bias=bias)
    if bias:  # non-zero biases, so that they are checked too
        with th.no_grad():
            policy.mlp_extractor.layer.bias.normal_(0, 0.1)
            policy.action_net.bias.fill_(0.3)
    obs = sparse_frame_differences(64)
    actor = policy.rollout_actor()
    assert actor is not None
    with th.no_grad():
        features = policy.extract_features(th.as_tensor(obs), policy.pi_features_extractor)
        torch_logits = policy.action_net(policy.mlp_extractor.forward_actor(features)).squeeze(-1)
        np.testing.assert_allclose(actor.logits(obs), torch_logits.numpy(), rtol=1e-5, atol=1e-6)
        for seed in range(3):
            th.manual_seed(seed)
            actions, log_probs = actor.sample(obs)
            th.manual_seed(seed)
            distribution = policy.get_distribution(th.as_tensor(obs))
            torch_actions = distribution.get_actions()
            np.testing.assert_array_equal(actions, torch_actions.numpy())
            assert 0 < actions.mean() < 1  # both actions occur, so both log-prob branches are checked
            np.testing.assert_allclose(log_probs, distribution.log_prob(torch_actions).numpy(), rtol=1e-5, atol=1e-6)


def test_fast_path_trains_exactly_like_the_torch_path(monkeypatch):
    """
    With the Karpathy configuration, rollouts act through the numpy actor and updates read the stored non-zero
    pixels as sparse tensors. Without both (torch policy per step, dense int8 storage), the same seed takes the
    same actions and ends with the same weights.
    """

    def train(fast: bool) -> tuple[list[np.ndarray], list[th.Tensor]]:
        kwargs = karpathy_kwargs(n_episodes=1)
        if not fast:
            monkeypatch.setattr(KarpathyPolicy, "rollout_actor", lambda self: None)
            kwargs.update(rollout_buffer_class=EpisodicRolloutBuffer, rollout_buffer_kwargs={})
        model = REINFORCE(env=gym.make("KarpathyPong-v0"), seed=0, **kwargs)
        assert isinstance(model.rollout_buffer, SparseEpisodicRolloutBuffer) == fast
        actions: list[np.ndarray] = []

        def record(local_vars: dict[str, Any], _: dict[str, Any]) -> bool:
            actions.append(np.array(local_vars["actions"]))
            return True

        model.learn(3000, callback=record)  # two one-episode updates (a random game is about 1,000 steps)
        assert model._n_updates >= 2
        monkeypatch.undo()
        return actions, [parameter.detach().clone() for parameter in model.policy.parameters()]

    fast_actions, fast_weights = train(fast=True)
    torch_actions, torch_weights = train(fast=False)
    np.testing.assert_array_equal(np.concatenate(fast_actions), np.concatenate(torch_actions))
    for fast, slow in zip(fast_weights, torch_weights, strict=True):
        th.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-7)


def test_fast_path_only_where_it_computes_the_same_policy():
    """With a features extractor of its own, the policy acts through torch and densifies sparse batches."""

    class ScaledExtractor(FlattenExtractor):
        def forward(self, observations: th.Tensor) -> th.Tensor:
            return 2 * super().forward(observations)

    env = gym.make("KarpathyPong-v0")
    kwargs = karpathy_kwargs(n_episodes=1)
    default = REINFORCE(env=env, **kwargs)
    assert default.policy.rollout_actor() is not None and default.policy.takes_sparse_features
    kwargs["policy_kwargs"] = {**kwargs["policy_kwargs"], "features_extractor_class": ScaledExtractor}
    scaled = REINFORCE(env=env, seed=0, **kwargs)
    assert scaled.policy.rollout_actor() is None and not scaled.policy.takes_sparse_features
    obs = sparse_frame_differences(5)
    dense_batch = th.as_tensor(obs)
    sparse_batch = dense_batch.reshape(5, -1).float().to_sparse()
    with th.no_grad():
        th.testing.assert_close(scaled.policy.extract_features(sparse_batch), scaled.policy.extract_features(dense_batch))
    scaled.learn(2000)  # falls back to the torch policy (the sparse batches are made dense for its extractor)
    assert scaled._n_updates >= 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [(dict(hidden_size=0), "hidden_size must be a positive integer"), (dict(bias="no"), "bias must be True or False")],
)
def test_karpathy_policy_checks_its_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KarpathyPolicy(spaces.Box(-1, 1, (4,), np.int8), spaces.Discrete(2), lambda _: 1e-3, **kwargs)


def test_karpathy_policy_rejects_other_action_spaces():
    with pytest.raises(ValueError, match=r"two-action space, Discrete\(2\); got action_space Discrete\(3\)"):
        KarpathyPolicy(spaces.Box(-1, 1, (4,)), spaces.Discrete(3), lambda _: 1e-3)
    with pytest.raises(ValueError, match="two-action space"):
        REINFORCE("KarpathyPolicy", "Pendulum-v1")


def test_baseline_needs_a_value_head():
    with pytest.raises(ValueError, match="use_baseline=True needs a policy with a value head"):
        REINFORCE("KarpathyPolicy", "CartPole-v1", use_baseline=True)
    model = REINFORCE("KarpathyPolicy", "CartPole-v1", use_baseline=True, n_steps=64, policy_kwargs=dict(value_head=True))
    model.learn(128)
    assert model._n_updates == 2


def play(env_step, actions, n_episodes):
    """Run fixed actions; return [(score, length)] per episode and each step's (observation, done)."""
    episodes, trace, score, length = [], [], 0.0, 0
    for action in actions:
        observation, reward, done = env_step(action)
        score += reward
        length += 1
        trace.append((observation, done))
        if done:
            episodes.append((score, length))
            score, length = 0.0, 0
            if len(episodes) == n_episodes:
                break
    return episodes, trace


def test_vector_env_matches_the_single_env_path():
    from sb3_vpg.pong.vec_env import KarpathyPongVecEnv

    actions = np.random.default_rng(0).integers(0, 2, size=5000)
    single = gym.make("KarpathyPong-v0", repeat_action_probability=0.0)
    single.reset(seed=0)

    def single_step(action):
        observation, reward, terminated, truncated, _ = single.step(action)
        if terminated or truncated:
            single.reset()
        return observation, float(reward), terminated or truncated

    vector = KarpathyPongVecEnv(3, seed=0, repeat_action_probability=0.0)
    first = vector.reset()
    assert first.shape == (3, 80, 80) and first.dtype == np.int8 and not first.any()

    def vector_step(action):
        observations, rewards, dones, infos = vector.step(np.full(3, action))
        assert rewards.dtype == np.float32
        # Without sticky actions the three games are identical
        assert np.all(rewards == rewards[0]) and np.all(dones == dones[0])
        if dones[0]:
            assert not observations[0].any()  # the next episode starts with zeros, as FrameDifference's reset
            assert infos[0]["TimeLimit.truncated"] is False
            return infos[0]["terminal_observation"], float(rewards[0]), True
        return observations[0], float(rewards[0]), False

    single_episodes, single_trace = play(single_step, actions, 2)
    vector_episodes, vector_trace = play(vector_step, actions, 2)
    assert len(single_episodes) == 2
    assert vector_episodes == single_episodes
    for (single_obs, done), (vector_obs, _) in zip(single_trace, vector_trace, strict=True):
        if not done:  # see KarpathyPongVecEnv's docstring for the terminal frame
            np.testing.assert_array_equal(vector_obs, single_obs)
    vector.close()


def test_vector_env_trains_with_reinforce():
    from stable_baselines3.common.vec_env import VecMonitor

    from sb3_vpg.pong.vec_env import KarpathyPongVecEnv

    env = VecMonitor(KarpathyPongVecEnv(2, seed=0))
    model = REINFORCE(env=env, seed=0, **karpathy_kwargs(n_episodes=2))
    model.learn(4000)  # a game of a random policy is about 1,000 steps per env
    assert model._n_updates >= 1
    assert all(-21 <= info["r"] <= 21 for info in model.ep_info_buffer)
    env.close()


@pytest.mark.parametrize(("env_id", "frameskips"), [("KarpathyPongClassic-v0", {2, 3, 4}), ("KarpathyPong-v0", {4})])
def test_karpathy_env_settings(env_id, frameskips):
    """KarpathyPongClassic-v0 is gym's Pong-v0 as Karpathy used it: every step repeats the action for a frameskip
    drawn uniformly from 2-4, sticky actions 0.25; KarpathyPong-v0 keeps v5's fixed frameskip 4."""
    env = gym.make(env_id)
    env.reset(seed=0)
    assert env.unwrapped.ale.getFloat("repeat_action_probability") == 0.25
    assert env.observation_space == spaces.Box(-1, 1, (80, 80), np.int8) and env.action_space == spaces.Discrete(2)
    frames = [0]
    for _ in range(600):
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        assert not (terminated or truncated)
        frames.append(info["episode_frame_number"])
    skips, counts = np.unique(np.diff(frames), return_counts=True)
    assert set(skips.tolist()) == frameskips
    assert all(counts > 600 / len(skips) * 0.75)  # roughly uniform (each expected 200 of 600 for the classic env)
