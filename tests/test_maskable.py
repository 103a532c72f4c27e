"""MaskableREINFORCE and MaskableVPG: masked actions are never taken, the update applies the masks a step was
sampled under, returns are unchanged by masks, and masks help where infeasible actions are costly."""

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from sb3_contrib.common.envs import InvalidActionEnvDiscrete, InvalidActionEnvMultiBinary, InvalidActionEnvMultiDiscrete
from sb3_contrib.common.maskable.callbacks import MaskableEvalCallback
from sb3_contrib.common.maskable.evaluation import evaluate_policy as evaluate_masked
from sb3_contrib.common.wrappers import ActionMasker
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_vpg import REINFORCE, MaskableREINFORCE, MaskableVPG
from sb3_vpg.common.buffers import EpisodicRolloutBuffer
from sb3_vpg.common.envs import TinyTourEnv
from sb3_vpg.common.maskable import MaskableEpisodicRolloutBuffer, check_action_masks, mask_segments
from tests.envs import TinyFeatureEnv

ALGOS = (MaskableREINFORCE, MaskableVPG)
SMALL = {MaskableREINFORCE: {"n_steps": 32}, MaskableVPG: {"n_steps": 32, "n_value_steps": 2}}


def allowed(action: Any, mask: np.ndarray, action_space: spaces.Space) -> bool:
    """Whether ``action`` is allowed by ``mask`` (sb3-contrib's layout: the flags of each sub-space in turn)."""
    flags = np.asarray(action).reshape(-1).astype(int)
    offsets = np.cumsum([0, *mask_segments(action_space)])[:-1]
    return bool(np.asarray(mask, dtype=bool)[offsets + flags].all())


class CatastropheOnMaskedAction(gym.Wrapper):
    """A masked action costs -1000 and ends the episode; every one taken is counted."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.violations = 0

    def action_masks(self) -> np.ndarray:
        return np.asarray(self.env.unwrapped.action_masks(), dtype=bool)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        if not allowed(action, self.action_masks(), self.action_space):
            self.violations += 1
            observation, _, _, truncated, info = self.env.step(action)
            return observation, -1000.0, True, truncated, info
        return self.env.step(action)


class DictObservation(gym.ObservationWrapper):
    """The observation as a Dict of one key (MultiInputPolicy, the buffer's Dict variant)."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.observation_space = spaces.Dict({"state": env.observation_space})

    def observation(self, observation: Any) -> dict:
        return {"state": observation}

    def action_masks(self) -> list[bool]:
        return self.env.unwrapped.action_masks()


MASKED_ENVS = {
    "Discrete": lambda: InvalidActionEnvDiscrete(dim=10, ep_length=20, n_invalid_actions=7),
    "Dict-observations": lambda: DictObservation(InvalidActionEnvDiscrete(dim=10, ep_length=20, n_invalid_actions=7)),
    "MultiDiscrete": lambda: InvalidActionEnvMultiDiscrete(dims=[4, 5], ep_length=20, n_invalid_actions=5),
    "MultiBinary": lambda: InvalidActionEnvMultiBinary(dims=4, ep_length=20, n_invalid_actions=3),
}


def catastrophe_envs(space: str, n_envs: int = 2, seed: int = 0) -> DummyVecEnv:
    return make_vec_env(MASKED_ENVS[space], n_envs=n_envs, seed=seed, wrapper_class=CatastropheOnMaskedAction)


def policy_for(space: str) -> str:
    return "MultiInputPolicy" if space.startswith("Dict") else "MlpPolicy"


def violations(env: DummyVecEnv) -> int:
    return sum(env.get_attr("violations"))


@pytest.mark.parametrize("algo", ALGOS, ids=lambda algo: algo.__name__)
@pytest.mark.parametrize("space", MASKED_ENVS)
def test_a_masked_agent_never_takes_a_masked_action(algo, space):
    np.random.seed(0)  # sb3-contrib's envs draw their masks from numpy's global generator
    env = catastrophe_envs(space)
    model = algo(policy_for(space), env, seed=0, **SMALL[algo])
    model.learn(600)
    assert violations(env) == 0 and model._n_updates > 0
    # deterministic and sampled predictions under fresh masks
    probe = CatastropheOnMaskedAction(MASKED_ENVS[space]())
    observation, _ = probe.reset(seed=1)
    for step in range(200):
        action, _ = model.predict(observation, deterministic=step % 2 == 0, action_masks=probe.action_masks())
        observation, _, terminated, truncated, _ = probe.step(action)
        if terminated or truncated:
            observation, _ = probe.reset()
    assert probe.violations == 0


@pytest.mark.parametrize("space", MASKED_ENVS)
def test_without_masks_the_same_agent_takes_masked_actions(space):
    """The check above can fail: trained with learn(use_masking=False), the agent takes masked actions."""
    np.random.seed(0)
    env = catastrophe_envs(space)
    MaskableREINFORCE(policy_for(space), env, seed=0, n_steps=32).learn(600, use_masking=False)
    assert violations(env) > 0


@pytest.mark.parametrize("algo", ALGOS, ids=lambda algo: algo.__name__)
@pytest.mark.parametrize("space", MASKED_ENVS)
def test_the_update_applies_the_masks_each_step_was_sampled_under(algo, space):
    """Before the update the weights are those that acted: the log-probabilities under the stored masks are the
    ones recorded while acting, for every step of the update, the steps carried over a stopped learn() included."""
    np.random.seed(0)
    model = algo(policy_for(space), catastrophe_envs(space), seed=0, n_episodes=3, bootstrap_incomplete=False)
    model.learn(15)  # stops inside a rollout: its steps are carried into the next learn()
    held = model.rollout_buffer.n_carried_steps
    batches = []
    model.train = lambda: batches.extend(model.rollout_buffer.get())  # the update's batch, the weights unchanged
    model.learn(100, reset_num_timesteps=False)
    batch = batches[0]
    assert held > 0 and len(batch.actions) > held
    assert not batch.action_masks.all()  # the masks rule actions out
    with th.no_grad():
        distribution = model._get_distribution(batch.observations, batch.action_masks)
        log_probs = distribution.log_prob(model._actions_for_log_prob(batch.actions))
    np.testing.assert_allclose(log_probs.numpy(), batch.old_log_prob.numpy(), rtol=1e-5, atol=1e-5)
    with th.no_grad():
        unmasked = model.policy.get_distribution(batch.observations).log_prob(model._actions_for_log_prob(batch.actions))
    assert not np.allclose(unmasked.numpy(), batch.old_log_prob.numpy(), atol=1e-3)


def mask_of(step: int, n_flags: int) -> np.ndarray:
    """A distinct mask per step (its bits), never empty (the last flag is always set)."""
    return np.array([(step >> bit) & 1 for bit in range(n_flags - 1)] + [1], dtype=bool)


def test_masks_stay_beside_their_steps_and_returns_are_unchanged():
    """Random episodes over 3 envs through a small buffer that grows and reclaims rows, in rollouts that carry
    unfinished episodes: each served step has the mask it was added with, and the same returns as without masks."""
    rng = np.random.default_rng(0)
    n_envs, n_flags = 3, 9
    observation_space, action_space = spaces.Box(-1e6, 1e6, (1,), np.float32), spaces.Discrete(n_flags)
    kwargs = {"n_envs": n_envs, "gamma": 0.9, "normalize_advantage": "none"}
    masked = MaskableEpisodicRolloutBuffer(4, observation_space, action_space, **kwargs)
    plain = EpisodicRolloutBuffer(4, observation_space, action_space, **kwargs)
    step, starts = 0, np.ones(n_envs, dtype=bool)
    for _ in range(12):
        for buffer in (masked, plain):
            buffer.reset()
        for _ in range(int(rng.integers(1, 7))):
            ids = np.arange(step, step + n_envs)
            rewards, ends = rng.normal(size=n_envs).astype(np.float32), rng.random(n_envs) < 0.25
            masks = np.stack([mask_of(int(i), n_flags) for i in ids])
            common = (ids[:, None].astype(np.float32), np.zeros((n_envs, 1)), rewards, starts, None, np.zeros(n_envs))
            masked.add(*common, episode_end=ends, action_masks=masks)
            plain.add(*common, episode_end=ends)
            step, starts = step + n_envs, ends
        for buffer in (masked, plain):
            buffer.compute_returns_and_advantage(None, starts)
        if masked.n_ready_steps == 0:
            continue
        (batch,) = masked.get()
        (plain_batch,) = plain.get()
        ids = batch.observations[:, 0].numpy().astype(int)
        expected = np.stack([mask_of(int(i), n_flags) for i in ids])
        np.testing.assert_array_equal(batch.action_masks.numpy(), expected)
        np.testing.assert_array_equal(batch.returns.numpy(), plain_batch.returns.numpy())
    assert masked.capacity > 4  # it grew, and the masks moved with the rows


def test_a_buffer_without_masks_refuses_them():
    buffer = EpisodicRolloutBuffer(4, spaces.Box(-1, 1, (1,)), spaces.Discrete(3))
    with pytest.raises(TypeError, match="unexpected keyword argument 'action_masks'"):
        buffer.add(np.zeros((1, 1)), np.zeros((1, 1)), np.zeros(1), np.ones(1), None, np.zeros(1),
                   episode_end=np.zeros(1, bool), action_masks=np.ones((1, 3), bool))  # fmt: skip


@pytest.mark.parametrize("algo", ALGOS, ids=lambda algo: algo.__name__)
def test_save_and_load_keep_the_masked_policy(algo, tmp_path):
    np.random.seed(0)
    model = algo("MlpPolicy", catastrophe_envs("MultiDiscrete"), seed=0, **SMALL[algo])
    model.learn(300)
    model.save(tmp_path / "model.zip")
    loaded = algo.load(tmp_path / "model.zip", env=catastrophe_envs("MultiDiscrete"))
    observations = model.env.reset()
    masks = np.stack(model.env.env_method("action_masks"))
    for deterministic in (True, False):
        th.manual_seed(1)
        expected, _ = model.predict(observations, deterministic=deterministic, action_masks=masks)
        th.manual_seed(1)
        actual, _ = loaded.predict(observations, deterministic=deterministic, action_masks=masks)
        np.testing.assert_array_equal(actual, expected)
    loaded.learn(300, reset_num_timesteps=False)
    assert loaded.num_timesteps == 600 and violations(loaded.env) == 0
    with pytest.raises(ValueError, match="saved by sb3-vpg's MaskableREINFORCE or MaskableVPG, not by REINFORCE"):
        REINFORCE.load(tmp_path / "model.zip")
    algo("MlpPolicy", catastrophe_envs("Discrete")).save(tmp_path / "untrained.zip")  # never learned: the same
    with pytest.raises(ValueError, match="saved by sb3-vpg's MaskableREINFORCE or MaskableVPG, not by REINFORCE"):
        REINFORCE.load(tmp_path / "untrained.zip")


def test_bad_input_gets_clear_errors():
    env = make_vec_env(TinyFeatureEnv, n_envs=1)
    with pytest.raises(ValueError, match="needs a MaskableActorCriticPolicy"):
        MaskableREINFORCE(REINFORCE.policy_aliases["MlpPolicy"], env)
    with pytest.raises(ValueError, match="action masks need a Discrete"):
        MaskableREINFORCE("MlpPolicy", "Pendulum-v1")
    with pytest.raises(ValueError, match="rollout_buffer_class must be a MaskableEpisodicRolloutBuffer"):
        MaskableREINFORCE("MlpPolicy", env, rollout_buffer_class=EpisodicRolloutBuffer)
    with pytest.raises(ValueError, match=r"no action_masks\(\) method: wrap it in .*ActionMasker"):
        MaskableREINFORCE("MlpPolicy", env).learn(10)
    MaskableREINFORCE("MlpPolicy", env, n_steps=8).learn(16, use_masking=False)  # without masks it trains
    with pytest.raises(ValueError, match="action_masks\\(\\) of env 1 allows no action in dimension 1 of MultiDiscrete"):
        check_action_masks([[1, 0, 0, 1, 1], [0, 1, 0, 0, 0]], spaces.MultiDiscrete([2, 3]), n_envs=2)
    with pytest.raises(ValueError, match="must give 3 flags per env for Discrete\\(3\\) \\(2 envs\\)"):
        check_action_masks(np.ones((2, 4)), spaces.Discrete(3), n_envs=2)
    nothing_allowed = make_vec_env(lambda: ActionMasker(TinyFeatureEnv(), lambda env: np.zeros(2, bool)), n_envs=1)
    with pytest.raises(ValueError, match="action_masks\\(\\) of env 0 allows no action of Discrete\\(2\\)"):
        MaskableREINFORCE("MlpPolicy", nothing_allowed).learn(10)


def test_sb3_contrib_evaluation_and_eval_callback_pass_the_masks():
    model = MaskableREINFORCE("MlpPolicy", make_vec_env(TinyTourEnv, n_envs=2, seed=0), seed=0, n_steps=8)
    eval_env = make_vec_env(TinyTourEnv, n_envs=1, seed=1)
    callback = MaskableEvalCallback(eval_env, eval_freq=20, n_eval_episodes=3)
    model.learn(64, callback=callback)
    assert callback.n_calls >= 20 and -TinyTourEnv().invalid_penalty < callback.last_mean_reward < 0  # feasible tours
    rewards, _ = evaluate_masked(model, eval_env, n_eval_episodes=5, return_episode_rewards=True)
    assert min(rewards) > -TinyTourEnv().invalid_penalty  # every tour feasible


TOUR_STEPS = 8_000


def tour_agent(use_masking: bool) -> MaskableREINFORCE:
    env = make_vec_env(TinyTourEnv, n_envs=8, seed=0)
    model = MaskableREINFORCE("MlpPolicy", env, n_steps=16, learning_rate=3e-3, use_baseline=True,
                              bootstrap_incomplete=False, seed=0)  # fmt: skip
    return model.learn(TOUR_STEPS, use_masking=use_masking)


@pytest.mark.slow
def test_masks_learn_a_near_shortest_tour_where_the_unmasked_agent_does_not():
    """7 cities (720 tours), 8,000 steps, seed 0: the masked agent's deterministic tour is within 2% of the
    shortest (brute force); the same agent trained without masks still ends its tours on an infeasible step."""
    env = TinyTourEnv()
    shortest = env.shortest_tour_length()
    masked = tour_agent(use_masking=True)
    (masked_return,), _ = evaluate_masked(masked, make_vec_env(TinyTourEnv), n_eval_episodes=1, return_episode_rewards=True)
    assert -masked_return <= 1.02 * shortest
    unmasked = tour_agent(use_masking=False)
    (unmasked_return,), _ = evaluate_policy(
        unmasked, make_vec_env(TinyTourEnv), n_eval_episodes=1, return_episode_rewards=True
    )
    assert unmasked_return < masked_return - 1.0


def test_tiny_tour_env_returns_minus_the_tour_length():
    env = TinyTourEnv(n_cities=4)
    env.reset()
    tour, total = (2, 1, 3), 0.0
    for city in tour:
        assert env.action_masks()[city]
        _, reward, done, _, _ = env.step(city)
        total += reward
    assert done and total == pytest.approx(-env.tour_length(tour))
    assert env.shortest_tour_length() == pytest.approx(min(env.tour_length(t) for t in [(1, 2, 3), (1, 3, 2), (2, 1, 3)]))
    env.reset()
    env.step(2)
    _, reward, done, _, info = env.step(2)
    assert (reward, done, info["infeasible"]) == (-10.0, True, True)


@pytest.mark.slow
def test_the_masked_tour_benchmark_writes_its_table(tmp_path):
    from tests.benchmark_scripts import read_csv, run_script

    run_script("classic_control/masked_tour.py", "--steps", "2000", "--seeds", "0", "--out", str(tmp_path), timeout=600)
    rows = read_csv(tmp_path / "masked_tour.csv")
    assert [(row["masks"], row["timesteps"]) for row in rows] == [("True", "2000"), ("False", "2000")]
    masked = rows[0]
    assert float(masked["infeasible_share"]) == 0 and float(masked["mean_length"]) == 6.0  # every tour whole
    table = (tmp_path / "masked_tour.md").read_text()
    assert "| 2,000 | " in table and "seeds 0," in table


def test_masks_are_read_from_subprocess_envs():
    """SubprocVecEnv: the masks come from the workers (env_method); no training tour is infeasible."""
    from stable_baselines3.common.vec_env import SubprocVecEnv

    env = make_vec_env(TinyTourEnv, n_envs=2, seed=0, vec_env_cls=SubprocVecEnv)
    try:
        model = MaskableREINFORCE("MlpPolicy", env, n_steps=8, seed=0).learn(96)
        tours = [info["r"] for info in model.ep_info_buffer]
        assert len(tours) >= 10 and min(tours) > -TinyTourEnv().invalid_penalty
    finally:
        env.close()
