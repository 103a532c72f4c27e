"""The algorithm and the Pong application live apart; models saved by older releases keep loading."""

import ast
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.vec_env import DummyVecEnv

import sb3_vpg
from sb3_vpg import REINFORCE, VPG
from sb3_vpg.pong import configs, policies
from tests.envs import TinyFeatureEnv

PACKAGE = Path(sb3_vpg.__file__).parent
DATA = Path(__file__).parent / "data"


def test_removed_names_are_gone():
    assert not hasattr(policies.KarpathyPolicy, "numpy_actor")
    with pytest.raises(ImportError):
        exec("from sb3_vpg.reinforce.policies import KarpathyPolicy")


def test_importing_the_package_does_not_import_the_pong_application():
    """import sb3_vpg leaves REINFORCE's aliases and gymnasium's registry alone; import sb3_vpg.pong registers."""
    import subprocess
    import sys

    code = (
        "import sys, gymnasium as gym, sb3_vpg\n"
        "assert not [m for m in sys.modules if m.startswith('sb3_vpg.pong')], 'sb3_vpg imported the Pong application'\n"
        "assert 'KarpathyPolicy' not in sb3_vpg.REINFORCE.policy_aliases and 'KarpathyPong-v0' not in gym.registry\n"
        "import sb3_vpg.pong\n"
        "assert 'KarpathyPolicy' in sb3_vpg.REINFORCE.policy_aliases and 'KarpathyPong-v0' in gym.registry\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_karpathy_kwargs_from_the_package_face_is_deprecated():
    with pytest.warns(DeprecationWarning, match="import it from sb3_vpg.pong"):
        assert sb3_vpg.karpathy_kwargs is configs.karpathy_kwargs


def test_public_names_that_stay():
    assert REINFORCE.policy_aliases["KarpathyPolicy"] is policies.KarpathyPolicy
    assert VPG.policy_aliases["KarpathyPolicy"] is policies.KarpathyPolicy
    import gymnasium as gym

    assert gym.spec("KarpathyPong-v0").entry_point == "sb3_vpg.pong.wrappers:make_karpathy_pong"
    assert gym.spec("KarpathyPongClassic-v0").entry_point == "sb3_vpg.pong.wrappers:make_karpathy_pong_classic"


def p_up(model: REINFORCE, observations: np.ndarray) -> np.ndarray:
    with th.no_grad():
        return model.policy.get_distribution(th.as_tensor(observations)).distribution.probs.numpy()


def test_model_saved_by_0_1_names_the_way_to_load_it():
    """tests/data/karpathy_policy_0.1.0.zip was saved by sb3-vpg 0.1.0 (KarpathyPolicy in sb3_vpg.common.policies,
    removed in 0.4.0), with P(UP) on 16 observations recorded next to it."""
    with pytest.raises(ModuleNotFoundError, match=r"saved by sb3-vpg 0.1.*custom_objects=\{'policy_class': KarpathyPolicy\}"):
        REINFORCE.load(DATA / "karpathy_policy_0.1.0.zip")
    recorded = json.loads((DATA / "karpathy_policy_0.1.0.json").read_text())
    model = REINFORCE.load(DATA / "karpathy_policy_0.1.0.zip", custom_objects={"policy_class": policies.KarpathyPolicy})
    assert type(model.policy) is policies.KarpathyPolicy
    assert (model.num_timesteps, model._n_updates) == (recorded["num_timesteps"], recorded["n_updates"])
    assert isinstance(model.policy.optimizer, th.optim.RMSprop) and model.policy.optimizer.state_dict()["state"]
    observations = np.array(recorded["observations"], dtype=np.int8)
    np.testing.assert_allclose(p_up(model, observations), recorded["p_up"], rtol=1e-6)


def test_karpathy_model_saved_by_0_3_loads_and_trains(tmp_path):
    """tests/data/reinforce_karpathy_0.3.0.zip: sb3-vpg 0.3.0's Karpathy configuration (compact storage then was
    EpisodicRolloutBuffer(sparse_observations=True)), with P(UP) on 16 observations recorded next to it."""
    from sb3_vpg.common.sparse import SparseEpisodicRolloutBuffer

    recorded = json.loads((DATA / "reinforce_karpathy_0.3.0.json").read_text())
    model = REINFORCE.load(DATA / "reinforce_karpathy_0.3.0.zip")
    assert type(model.policy) is policies.KarpathyPolicy
    assert (model.num_timesteps, model._n_updates) == (recorded["num_timesteps"], recorded["n_updates"])
    assert type(model.rollout_buffer) is SparseEpisodicRolloutBuffer and model.rollout_buffer.sparse_samples
    assert model.rollout_buffer_kwargs == {"sparse_samples": True}  # saved again in today's form
    assert (model.n_episodes, model.reset_on_reward, model.normalize_advantage) == (4, True, "episode")
    assert isinstance(model.policy.optimizer, th.optim.RMSprop) and model.policy.optimizer.state_dict()["state"]
    observations = np.array(recorded["observations"], dtype=np.int8)
    np.testing.assert_allclose(p_up(model, observations), recorded["p_up"], rtol=1e-6)
    model.set_env(DummyVecEnv([lambda: SparseFrames()] * 2))
    model.learn(200, reset_num_timesteps=False)
    assert model._n_updates > recorded["n_updates"]
    model.save(tmp_path / "again.zip")
    assert REINFORCE.load(tmp_path / "again.zip").rollout_buffer_kwargs == {"sparse_samples": True}


def test_vpg_saved_by_0_3_keeps_its_value_optimizer():
    """tests/data/vpg_0.3.0.zip: VPG with 0.3.0's default value optimizer, its outputs recorded next to it."""
    from stable_baselines3.common.env_util import make_vec_env

    recorded = json.loads((DATA / "vpg_0.3.0.json").read_text())
    model = VPG.load(DATA / "vpg_0.3.0.zip", env=make_vec_env("CartPole-v1", n_envs=2, seed=0))
    assert model.value_optimizer is not None and model.value_optimizer.state_dict()["state"]
    assert (model.num_timesteps, model._n_updates) == (recorded["num_timesteps"], recorded["n_updates"])
    observations = th.as_tensor(np.array(recorded["observations"], dtype=np.float32))
    with th.no_grad():
        probabilities = model.policy.get_distribution(observations).distribution.probs[:, 1]
        values = model.policy.predict_values(observations).flatten()
    np.testing.assert_allclose(probabilities.numpy(), recorded["p_action_1"], rtol=1e-6)
    np.testing.assert_allclose(values.numpy(), recorded["values"], rtol=1e-6)
    model.learn(128, reset_num_timesteps=False)
    assert model._n_updates == recorded["n_updates"] + 1


class SparseFrames(gym.Env):
    """The env the 0.3.0 fixture trained on: 8x8 int8 frames, two non-zero pixels a step, 20-step episodes."""

    observation_space = spaces.Box(-1, 1, (8, 8), np.int8)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return self._observation(), {}

    def _observation(self) -> np.ndarray:
        observation = np.zeros((8, 8), np.int8)
        observation[self.t % 8, (3 * self.t) % 8] = 1
        observation[(self.t + 4) % 8, self.t % 8] = -1
        return observation

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        reward = 0.0 if self.t % 5 else (1.0 if action == 1 else -1.0)
        return self._observation(), reward, self.t >= 20, False, {}


def imported_modules_and_names(path: Path) -> tuple[set[str], set[str]]:
    """The modules a file imports, and the identifiers its code uses (names and attributes; not strings)."""
    modules, names = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
    return modules, names


@pytest.mark.parametrize("folder", ["common", "reinforce", "vpg"])
def test_the_algorithm_does_not_know_pong(folder):
    """No code of the algorithm imports the Pong application or uses its classes."""
    for path in (PACKAGE / folder).glob("*.py"):
        modules, names = imported_modules_and_names(path)
        assert not {module for module in modules if module.startswith("sb3_vpg.pong")}, path
        assert not {name for name in names if "Karpathy" in name}, path


class RecordingActor:
    def __init__(self, policy: ActorCriticPolicy, calls: list[int]):
        self.policy, self.calls = policy, calls

    def sample(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.calls.append(len(observations))
        with th.no_grad():
            distribution = self.policy.get_distribution(th.as_tensor(observations))
            actions = distribution.get_actions()
            return actions.numpy(), distribution.log_prob(actions).numpy()


class PolicyWithActor(ActorCriticPolicy):
    """A user's policy that opts in to the rollout-actor contract (sb3_vpg.common.capabilities)."""

    actor_calls: list[int]

    def rollout_actor(self) -> RecordingActor:
        return RecordingActor(self, self.actor_calls)


@pytest.mark.parametrize("use_baseline", [False, True])
def test_any_policy_can_offer_a_rollout_actor(use_baseline):
    PolicyWithActor.actor_calls = []
    env = DummyVecEnv([TinyFeatureEnv, TinyFeatureEnv])
    model = REINFORCE(PolicyWithActor, env, n_steps=6, seed=0, use_baseline=use_baseline)
    model.learn(24)
    assert model._n_updates == 2
    # every rollout step of both envs acts through the actor, with a baseline too (its values come in one batch)
    assert PolicyWithActor.actor_calls == [2] * 12
