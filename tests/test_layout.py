"""The algorithm and the Pong application live apart; what moved keeps working, with a deprecation warning."""

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.vec_env import DummyVecEnv

import sb3_vpg
from sb3_vpg import REINFORCE, VPG
from sb3_vpg.common.sparse import SparseRows
from sb3_vpg.pong import configs, policies, vec_env, wrappers
from tests.envs import TinyFeatureEnv

PACKAGE = Path(sb3_vpg.__file__).parent
DATA = Path(__file__).parent / "data"

MOVED = [
    ("sb3_vpg.common.policies", "KarpathyPolicy", policies),
    ("sb3_vpg.common.policies", "SparseNumpyActor", policies),
    ("sb3_vpg.common.policies", "BinaryActionDistribution", policies),
    ("sb3_vpg.reinforce.policies", "KarpathyPolicy", policies),
    ("sb3_vpg.common.atari_wrappers", "KarpathyPreprocess", wrappers),
    ("sb3_vpg.common.atari_wrappers", "make_karpathy_pong", wrappers),
    ("sb3_vpg.common.vec_env", "KarpathyPongVecEnv", vec_env),
    ("sb3_vpg.reinforce.karpathy", "karpathy_kwargs", configs),
    ("sb3_vpg.karpathy_pong", "main", importlib.import_module("sb3_vpg.pong.cli")),
]


@pytest.mark.parametrize(("old_module", "name", "new_module"), MOVED, ids=lambda value: str(getattr(value, "__name__", value)))
def test_old_imports_work_with_a_deprecation_warning(old_module, name, new_module):
    module = importlib.import_module(old_module)
    with pytest.warns(DeprecationWarning, match=f"{old_module}.{name} has moved: import it from {new_module.__name__}"):
        value = getattr(module, name)
    assert value is getattr(new_module, name)


def test_numpy_actor_is_rollout_actor_with_a_warning():
    from gymnasium import spaces

    policy = policies.KarpathyPolicy(spaces.Box(-1, 1, (4,), np.int8), spaces.Discrete(2), lambda _: 1e-3)
    with pytest.warns(DeprecationWarning, match=r"numpy_actor\(\) is now rollout_actor\(\)"):
        actor = policy.numpy_actor()
    assert isinstance(actor, policies.SparseNumpyActor)
    np.testing.assert_array_equal(actor.hidden_weight_rows, policy.rollout_actor().hidden_weight_rows)


def test_unknown_names_of_old_modules_are_still_errors():
    with pytest.raises(AttributeError, match="no attribute 'MlpPolicy2'"):
        importlib.import_module("sb3_vpg.reinforce.policies").MlpPolicy2  # noqa: B018


def test_public_names_that_stay():
    assert sb3_vpg.karpathy_kwargs is configs.karpathy_kwargs
    assert REINFORCE.policy_aliases["KarpathyPolicy"] is policies.KarpathyPolicy
    assert VPG.policy_aliases["KarpathyPolicy"] is policies.KarpathyPolicy
    import gymnasium as gym

    assert gym.spec("KarpathyPong-v0").entry_point == "sb3_vpg.pong.wrappers:make_karpathy_pong"
    assert gym.spec("KarpathyPongClassic-v0").entry_point == "sb3_vpg.pong.wrappers:make_karpathy_pong_classic"


def test_model_saved_before_the_move_loads():
    """tests/data/karpathy_policy_0.1.0.zip was saved by sb3-vpg 0.1.0 (KarpathyPolicy in sb3_vpg.common.policies),
    with P(UP) on 16 observations recorded next to it."""
    recorded = json.loads((DATA / "karpathy_policy_0.1.0.json").read_text())
    with pytest.warns(DeprecationWarning, match="sb3_vpg.common.policies.KarpathyPolicy has moved"):
        model = REINFORCE.load(DATA / "karpathy_policy_0.1.0.zip")
    assert type(model.policy) is policies.KarpathyPolicy
    assert (model.num_timesteps, model._n_updates) == (recorded["num_timesteps"], recorded["n_updates"])
    assert isinstance(model.policy.optimizer, th.optim.RMSprop) and model.policy.optimizer.state_dict()["state"]
    observations = th.as_tensor(np.array(recorded["observations"], dtype=np.int8)).float().flatten(1)
    with th.no_grad():
        p_up = th.sigmoid(model.policy.action_net(model.policy.mlp_extractor.forward_actor(observations))).flatten()
    np.testing.assert_allclose(p_up.numpy(), recorded["p_up"], rtol=1e-6)


def test_old_command_line_still_runs():
    result = subprocess.run([sys.executable, "-m", "sb3_vpg.karpathy_pong", "train", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "--checkpoint-every" in result.stdout
    assert "python -m sb3_vpg.karpathy_pong has moved: use python -m sb3_vpg.pong" in result.stderr


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
    """Deprecation shims name the new modules in strings only; no code here imports Pong or uses its classes."""
    for path in (PACKAGE / folder).glob("*.py"):
        modules, names = imported_modules_and_names(path)
        assert not {module for module in modules if module.startswith("sb3_vpg.pong")}, path
        assert not {name for name in names if "Karpathy" in name}, path


class RecordingActor:
    def __init__(self, policy: ActorCriticPolicy, calls: list[int]):
        self.policy, self.calls = policy, calls

    def sample(self, observations: SparseRows) -> tuple[np.ndarray, np.ndarray]:
        self.calls.append(len(observations))
        dense = np.zeros((len(observations), 3), np.float32)
        for row, (indices, values) in zip(dense, observations, strict=True):
            row[indices] = values
        with th.no_grad():
            distribution = self.policy.get_distribution(th.as_tensor(dense))
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
    # every rollout step of both envs acts through the actor; with a baseline (values needed) the torch policy acts
    assert PolicyWithActor.actor_calls == ([] if use_baseline else [2] * 12)
