"""Return maths and the episodic buffer against brute-force per-episode oracles."""

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from hypothesis import given, settings
from hypothesis import strategies as st

from sb3_vpg.common.buffers import DictEpisodicRolloutBuffer, EpisodicRolloutBuffer
from sb3_vpg.common.returns import (
    discounted_returns,
    episode_ids,
    gae_advantages,
    n_complete_steps,
    normalize_per_group,
    point_ends,
)
from sb3_vpg.common.sparse import SparseEpisodicRolloutBuffer, densify, sparse_rows
from sb3_vpg.pong.scores import running_reward


def horizon_end(ends: np.ndarray, t: int) -> int:
    """Index of the last step of the horizon that step t belongs to (the last row always ends one)."""
    k = t
    while not ends[k] and k < len(ends) - 1:
        k += 1
    return k


def oracle_returns(rewards, ends, gamma, bootstrap):
    """G_t by the definition: sum_k gamma^k r_{t+k} to the horizon's end, plus the discounted bootstrap."""
    out = np.zeros(rewards.shape)
    for e in range(rewards.shape[1]):
        for t in range(rewards.shape[0]):
            h = horizon_end(ends[:, e], t)
            out[t, e] = sum(gamma ** (k - t) * rewards[k, e] for k in range(t, h + 1))
            out[t, e] += gamma ** (h - t + 1) * bootstrap[h, e]
    return out


def oracle_gae(rewards, values, ends, gamma, lam, bootstrap):
    out = np.zeros(rewards.shape)
    for e in range(rewards.shape[1]):
        for t in range(rewards.shape[0]):
            h = horizon_end(ends[:, e], t)
            for k in range(t, h + 1):
                next_value = bootstrap[k, e] if k == h else values[k + 1, e]
                delta = rewards[k, e] + gamma * next_value - values[k, e]
                out[t, e] += (gamma * lam) ** (k - t) * delta
    return out


@st.composite
def rollouts(draw, sparse_rewards: bool = False):
    n_steps = draw(st.integers(1, 30))
    n_envs = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    if sparse_rewards:  # Pong-like: mostly zeros, +-1 now and then
        rewards = rng.choice([-1.0, 0.0, 0.0, 0.0, 1.0], size=(n_steps, n_envs))
    else:
        rewards = rng.normal(size=(n_steps, n_envs))
    ends = rng.random((n_steps, n_envs)) < draw(st.floats(0.0, 0.5))
    values = rng.normal(size=(n_steps, n_envs))
    bootstrap = rng.normal(size=(n_steps, n_envs))
    gamma = draw(st.sampled_from([0.0, 0.5, 0.9, 0.99, 1.0]))
    return rewards, ends, values, bootstrap, gamma


@settings(max_examples=200, deadline=None)
@given(rollouts())
def test_discounted_returns_match_oracle(data):
    rewards, ends, _, bootstrap, gamma = data
    np.testing.assert_allclose(
        discounted_returns(rewards, ends, gamma, bootstrap),
        oracle_returns(rewards, ends, gamma, bootstrap),
        rtol=1e-10,
        atol=1e-10,
    )
    no_bootstrap = oracle_returns(rewards, ends, gamma, np.zeros_like(rewards))
    np.testing.assert_allclose(discounted_returns(rewards, ends, gamma), no_bootstrap, rtol=1e-10, atol=1e-10)


@settings(max_examples=200, deadline=None)
@given(rollouts(), st.sampled_from([0.0, 0.5, 0.95, 1.0]))
def test_gae_matches_oracle(data, lam):
    rewards, ends, values, bootstrap, gamma = data
    expected = oracle_gae(rewards, values, ends, gamma, lam, bootstrap)
    np.testing.assert_allclose(gae_advantages(rewards, values, ends, gamma, lam, bootstrap), expected, rtol=1e-9, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(rollouts())
def test_gae_lambda_one_is_monte_carlo_minus_baseline(data):
    rewards, ends, values, bootstrap, gamma = data
    advantages = gae_advantages(rewards, values, ends, gamma, 1.0, bootstrap)
    np.testing.assert_allclose(advantages + values, discounted_returns(rewards, ends, gamma, bootstrap), atol=1e-9)


def karpathy_discount_rewards(r: np.ndarray, gamma: float) -> np.ndarray:
    """Karpathy's discount_rewards, verbatim in spirit."""
    discounted_r = np.zeros_like(r)
    running_add = 0.0
    for t in reversed(range(r.size)):
        if r[t] != 0:
            running_add = 0.0
        running_add = running_add * gamma + r[t]
        discounted_r[t] = running_add
    return discounted_r


@settings(max_examples=200, deadline=None)
@given(rollouts(sparse_rewards=True))
def test_point_boundary_returns_match_karpathys(data):
    rewards, _, _, _, gamma = data
    # One episode per column that ends at the last step: only point boundaries cut the sum.
    ours = discounted_returns(rewards, point_ends(rewards), gamma)
    for e in range(rewards.shape[1]):
        np.testing.assert_allclose(ours[:, e], karpathy_discount_rewards(rewards[:, e], gamma), atol=1e-12)


def test_helpers_on_a_hand_example():
    ends = np.array([False, True, False, False, True, False])
    assert n_complete_steps(ends) == 5
    assert n_complete_steps(np.zeros(3, dtype=bool)) == 0
    assert episode_ids(ends).tolist() == [0, 0, 1, 1, 1, 2]
    x = np.array([1.0, 3.0, 10.0, 20.0, 30.0, 5.0])
    normed = normalize_per_group(x, episode_ids(ends))
    np.testing.assert_allclose(normed[:2], [-1.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(normed[2:5], (x[2:5] - 20.0) / np.std(x[2:5]), atol=1e-6)
    assert normed[5] == 5.0  # a one-step group keeps its value: standardised it would be 0, with no signal


# --- The buffer, over several rollouts, against a per-episode oracle over the whole stream -------------------


def feed_stream(buffer: EpisodicRolloutBuffer, rewards, dones, values, rollout_lengths):
    """Feed one env-stream (rewards[t, e], dones[t, e] = episode ends after step t) through the buffer in rollouts.

    Observations carry (env, global step) so each sample can be traced back. Returns the samples each
    compute handed out as {(env, t): (advantage, return)}.
    """
    n_envs = rewards.shape[1]
    served: dict[tuple[int, int], tuple[float, float]] = {}
    t = 0
    episode_starts = np.ones(n_envs, dtype=bool)
    for length in rollout_lengths:
        buffer.reset()
        for _ in range(length):
            obs = np.stack([np.arange(n_envs), np.full(n_envs, t)], axis=1).astype(np.float32)
            buffer.add(
                obs,
                np.zeros((n_envs, 1)),
                rewards[t],
                episode_starts,
                th.as_tensor(values[t]),
                th.zeros(n_envs),
                episode_end=dones[t],
            )
            episode_starts = dones[t]
            t += 1
        buffer.compute_returns_and_advantage(th.as_tensor(values[t]), dones[t - 1])
        for batch in buffer.get(batch_size=7):
            for obs, adv, ret in zip(batch.observations.numpy(), batch.advantages.numpy(), batch.returns.numpy(), strict=True):
                key = (int(obs[0]), int(obs[1]))
                assert key not in served, f"step {key} entered two updates"
                served[key] = (float(adv), float(ret))
    return served


def make_buffer(n_envs, gamma, **kwargs):
    return EpisodicRolloutBuffer(
        4, spaces.Box(-np.inf, np.inf, (2,), np.float32), spaces.Discrete(2), "cpu", gamma=gamma, n_envs=n_envs, **kwargs
    )


@st.composite
def streams(draw):
    n_envs = draw(st.integers(1, 3))
    rollout_lengths = draw(st.lists(st.integers(1, 12), min_size=1, max_size=4))
    total = sum(rollout_lengths)
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    rewards = rng.choice([-1.0, 0.0, 0.0, 0.5, 1.0], size=(total, n_envs)).astype(np.float32)
    dones = rng.random((total, n_envs)) < draw(st.floats(0.05, 0.4))
    values = rng.normal(size=(total + 1, n_envs)).astype(np.float32)
    gamma = draw(st.sampled_from([0.5, 0.9, 0.99]))
    return rewards, dones, values, rollout_lengths, gamma


@settings(max_examples=150, deadline=None)
@given(streams(), st.booleans())
def test_carried_episodes_get_exact_returns_once(stream, reset_on_reward):
    """Episodes spanning rollouts: every step of every ended episode enters exactly one update with its exact
    return; steps of unfinished episodes never enter."""
    rewards, dones, values, lengths, gamma = stream
    n_envs = rewards.shape[1]
    buffer = make_buffer(n_envs, gamma, reset_on_reward=reset_on_reward)
    served = feed_stream(buffer, rewards, dones, values, lengths)
    ends = dones | point_ends(rewards) if reset_on_reward else dones
    expected = oracle_returns(rewards.astype(np.float64), ends, gamma, np.zeros(rewards.shape))
    for e in range(n_envs):
        n_done = n_complete_steps(dones[:, e])
        for t in range(len(rewards)):
            if t < n_done:
                assert (e, t) in served, f"step {(e, t)} of an ended episode never entered an update"
                advantage, ret = served[(e, t)]
                np.testing.assert_allclose(ret, expected[t, e], rtol=1e-5, atol=1e-5)
                np.testing.assert_allclose(advantage, expected[t, e] - values[t, e], rtol=1e-5, atol=1e-5)
            else:
                assert (e, t) not in served, f"step {(e, t)} entered with a truncated return"
    assert buffer.n_carried_steps == sum(len(rewards) - n_complete_steps(dones[:, e]) for e in range(n_envs))


@settings(max_examples=150, deadline=None)
@given(streams())
def test_points_are_ready_once_they_end(stream):
    """ready_at="point": every step of every ended point (or episode) enters exactly one update with its exact
    point-boundary return; steps of the point still running when the stream stops never enter."""
    rewards, dones, values, lengths, gamma = stream
    n_envs = rewards.shape[1]
    buffer = make_buffer(n_envs, gamma, reset_on_reward=True, ready_at="point")
    served = feed_stream(buffer, rewards, dones, values, lengths)
    ends = dones | point_ends(rewards)
    expected = oracle_returns(rewards.astype(np.float64), ends, gamma, np.zeros(rewards.shape))
    for e in range(n_envs):
        n_done = n_complete_steps(ends[:, e])
        for t in range(len(rewards)):
            if t < n_done:
                advantage, ret = served[(e, t)]
                np.testing.assert_allclose(ret, expected[t, e], rtol=1e-5, atol=1e-5)
                np.testing.assert_allclose(advantage, expected[t, e] - values[t, e], rtol=1e-5, atol=1e-5)
            else:
                assert (e, t) not in served, f"step {(e, t)} entered before its point ended"
    assert buffer.n_carried_steps == sum(len(rewards) - n_complete_steps(ends[:, e]) for e in range(n_envs))


def test_point_readiness_needs_point_boundaries():
    with pytest.raises(ValueError, match="ready_at='point' needs reset_on_reward=True"):
        make_buffer(1, 0.9, ready_at="point")
    with pytest.raises(ValueError, match="ready_at must be one of"):
        make_buffer(1, 0.9, reset_on_reward=True, ready_at="points")


@settings(max_examples=150, deadline=None)
@given(streams(), st.sampled_from([0.9, 1.0]))
def test_bootstrap_mode_matches_gae_oracle_per_rollout(stream, lam):
    """With a baseline and bootstrapping, each rollout is cut at its end and bootstrapped with V(s_T)."""
    rewards, dones, values, lengths, gamma = stream
    n_envs = rewards.shape[1]
    buffer = make_buffer(n_envs, gamma, bootstrap_incomplete=True)
    buffer.gae_lambda = lam
    served = feed_stream(buffer, rewards, dones, values, lengths)
    assert len(served) == rewards.size
    start = 0
    for length in lengths:
        stop = start + length
        bootstrap = np.zeros((length, n_envs))
        bootstrap[-1] = np.where(dones[stop - 1], 0.0, values[stop])
        expected = oracle_gae(rewards[start:stop], values[start:stop], dones[start:stop], gamma, lam, bootstrap)
        for e in range(n_envs):
            for t in range(start, stop):
                advantage, ret = served[(e, t)]
                np.testing.assert_allclose(advantage, expected[t - start, e], rtol=1e-5, atol=1e-5)
                np.testing.assert_allclose(ret, expected[t - start, e] + values[t, e], rtol=1e-5, atol=1e-5)
        start = stop


@settings(max_examples=100, deadline=None)
@given(streams())
def test_episode_normalisation_is_within_each_episode(stream):
    rewards, dones, values, lengths, gamma = stream
    n_envs = rewards.shape[1]
    no_values = np.zeros_like(values)
    served = feed_stream(make_buffer(n_envs, gamma, normalize_advantage="episode"), rewards, dones, no_values, lengths)
    expected = oracle_returns(rewards.astype(np.float64), dones, gamma, np.zeros(rewards.shape))
    for e in range(n_envs):
        n_done = n_complete_steps(dones[:, e])
        ids = episode_ids(dones[:n_done, e])
        for episode in np.unique(ids):
            steps = np.flatnonzero(ids == episode)
            returns = expected[steps, e]
            # a one-step episode keeps its return (standardised it would be 0: no signal), as PPO's batch of one
            oracle = returns if len(steps) == 1 else (returns - returns.mean()) / (returns.std() + 1e-8)
            np.testing.assert_allclose([served[(e, t)][0] for t in steps], oracle, rtol=1e-4, atol=1e-4)


def test_batch_normalisation_is_over_the_whole_update():
    rng = np.random.default_rng(0)
    rewards = rng.normal(size=(40, 2)).astype(np.float32)
    dones = np.zeros((40, 2), dtype=bool)
    dones[[9, 19, 39], 0] = True
    dones[[29, 39], 1] = True
    served = feed_stream(make_buffer(2, 0.9, normalize_advantage="batch"), rewards, dones, np.zeros((41, 2)), [40])
    advantages = np.array(list(served.values()))[:, 0]
    assert len(advantages) == 80
    assert abs(advantages.mean()) < 1e-5 and abs(advantages.std() - 1) < 1e-4


def test_env_reset_drops_carried_steps():
    """An env reset between rollouts (new learn()) abandons its unfinished episode: its steps never enter."""
    buffer = make_buffer(1, 0.9)
    buffer.reset()
    for t in range(3):
        buffer.add(np.array([[0, t]], np.float32), np.zeros((1, 1)), [1.0], [t == 0], None, th.zeros(1), episode_end=[False])
    buffer.compute_returns_and_advantage(None, np.array([False]))
    assert buffer.n_ready_steps == 0 and buffer.n_carried_steps == 3
    buffer.reset()
    for t in range(3, 5):
        buffer.add(np.array([[0, t]], np.float32), np.zeros((1, 1)), [1.0], [t == 3], None, th.zeros(1), episode_end=[t == 4])
    buffer.compute_returns_and_advantage(None, np.array([True]))
    assert buffer.n_ready_steps == 2 and buffer.n_carried_steps == 0
    np.testing.assert_allclose(buffer.returns, [1.9, 1.0], rtol=1e-6)


def test_bad_normalisation_mode_is_rejected():
    with pytest.raises(ValueError, match="normalize_advantage"):
        make_buffer(1, 0.9, normalize_advantage="per-batch")


def test_sparse_storage_serves_the_same_samples_as_dense_storage():
    """SparseEpisodicRolloutBuffer stores non-zero entries only; what get() serves equals dense storage."""
    space = spaces.Box(-1, 1, (4, 8), np.int8)  # rows of 32 bytes: the word-wise scan of sparse_rows
    rng = np.random.default_rng(0)
    n_envs, n_steps = 2, 30
    obs = (rng.random((n_steps, n_envs, 4, 8)) < 0.1) * rng.choice([-1, 1], size=(n_steps, n_envs, 4, 8))
    obs = obs.astype(np.int8)
    dones = rng.random((n_steps, n_envs)) < 0.15
    buffers = [
        EpisodicRolloutBuffer(8, space, spaces.Discrete(2), "cpu", n_envs=n_envs),
        SparseEpisodicRolloutBuffer(8, space, spaces.Discrete(2), "cpu", n_envs=n_envs),
        # served as flattened sparse float tensors (what KarpathyPolicy trains on)
        SparseEpisodicRolloutBuffer(8, space, spaces.Discrete(2), "cpu", n_envs=n_envs, sparse_samples=True),
    ]
    for start, stop in ((0, 12), (12, 30)):  # two rollouts, so carried episodes are covered too
        for buffer in buffers:
            buffer.reset()
            for t in range(start, stop):
                starts = np.ones(n_envs, bool) if t == 0 else dones[t - 1]
                buffer.add(
                    obs[t], np.zeros((n_envs, 1)), np.ones(n_envs), starts, None, th.zeros(n_envs), episode_end=dones[t]
                )
            buffer.compute_returns_and_advantage(None, dones[stop - 1])
        dense, sparse, sparse_tensors = ([batch for batch in buffer.get(batch_size=5)] for buffer in buffers)
        assert len(dense) == len(sparse) == len(sparse_tensors) > 0
        for a, b, c in zip(dense, sparse, sparse_tensors, strict=True):
            assert b.observations.dtype == th.int8
            assert th.equal(a.observations, b.observations)
            assert th.equal(a.returns, b.returns)
            assert c.observations.is_sparse and c.observations.dtype == th.float32
            assert th.equal(c.observations.to_dense(), a.observations.reshape(len(a.observations), -1).float())
            assert th.equal(a.returns, c.returns)


@pytest.mark.parametrize(
    "space",
    [spaces.Box(-1, 1, (3, 8), np.int8), spaces.Box(-1, 1, (5,), np.int8), spaces.Box(-2.0, 2.0, (7,), np.float32)],
    ids=["int8-word-scan", "int8-odd-width", "float32"],
)
def test_sparse_rows_against_a_brute_force_scan(space):
    rng = np.random.default_rng(1)
    observations = (rng.random((6, *space.shape)) < 0.2) * rng.uniform(-2, 2, size=(6, *space.shape))
    observations = observations.astype(space.dtype)
    observations[2] = 0  # an empty row (an env just reset)
    rows = sparse_rows(observations)
    assert len(rows) == 6
    for observation, (indices, values) in zip(observations, rows, strict=True):
        flat = observation.reshape(-1)
        expected = [i for i in range(len(flat)) if flat[i] != 0]
        assert indices.dtype == np.int32 and values.dtype == space.dtype
        assert indices.tolist() == expected
        assert values.tolist() == [flat[i] for i in expected]
    np.testing.assert_array_equal(densify(rows, space.shape, space.dtype), observations)


def test_buffers_hold_one_kind_of_observation():
    with pytest.raises(ValueError, match="SparseEpisodicRolloutBuffer needs a Box observation space"):
        SparseEpisodicRolloutBuffer(4, spaces.Discrete(3), spaces.Discrete(2), "cpu")
    dict_space = spaces.Dict({"a": spaces.Box(-1, 1, (2,))})
    with pytest.raises(ValueError, match="use DictEpisodicRolloutBuffer for a Dict space"):
        EpisodicRolloutBuffer(4, dict_space, spaces.Discrete(2), "cpu")
    with pytest.raises(ValueError, match="DictEpisodicRolloutBuffer needs a Dict observation space"):
        DictEpisodicRolloutBuffer(4, spaces.Box(-1, 1, (2,)), spaces.Discrete(2), "cpu")


def test_running_reward_is_karpathys():
    scores = [-21.0, -20.0, -19.0, 3.0]
    value, expected = None, scores[0]
    for score in scores:
        value = running_reward(value, score)
        expected = expected * 0.99 + score * 0.01  # Karpathy's, started at the first score
        assert value == pytest.approx(expected, rel=1e-12)
    assert running_reward(None, 5.0) == 5.0
    assert running_reward(10.0, 0.0, decay=0.9) == pytest.approx(9.0)
