"""A separate value optimizer (``vf_learning_rate``): what it trains, its learning rate, save/load."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import FakeImageEnv
from stable_baselines3.common.logger import configure

import sb3_vpg.pong  # noqa: F401  (registers "KarpathyPolicy" by name, as a user's import does)
from sb3_vpg import REINFORCE, VPG

DATA = Path(__file__).parent / "data"


def ids(parameters) -> set[int]:
    return {id(parameter) for parameter in parameters}


def optimizer_ids(optimizer: th.optim.Optimizer) -> set[int]:
    return ids(p for group in optimizer.param_groups for p in group["params"])


def test_vpg_follows_spinning_up():
    model = VPG("MlpPolicy", "CartPole-v1")
    assert (model.learning_rate, model.vf_learning_rate, model.n_value_steps) == (3e-4, 1e-3, 80)
    assert isinstance(model.value_optimizer, th.optim.Adam) and isinstance(model.policy.optimizer, th.optim.Adam)
    assert model.value_optimizer.param_groups[0]["lr"] == 1e-3 and model.policy.optimizer.param_groups[0]["lr"] == 3e-4
    assert REINFORCE("MlpPolicy", "CartPole-v1", use_baseline=True).value_optimizer is None  # A2C/PPO's one optimizer


def test_mlp_policy_value_optimizer_owns_the_value_network():
    model = VPG("MlpPolicy", "CartPole-v1")
    policy = model.policy
    value_only = ids([*policy.mlp_extractor.value_net.parameters(), *policy.value_net.parameters()])
    assert optimizer_ids(model.value_optimizer) == value_only
    assert optimizer_ids(policy.optimizer) == ids(policy.parameters()) - value_only
    actor = [*policy.mlp_extractor.policy_net.parameters(), *policy.action_net.parameters()]
    assert optimizer_ids(policy.optimizer) == ids(actor)


def test_shared_layers_belong_to_the_policy_optimizer():
    # CnnPolicy shares its features extractor (NatureCNN) between actor and value function
    model = VPG("CnnPolicy", FakeImageEnv(screen_height=40, screen_width=40, n_channels=1, discrete=True), n_steps=8)
    policy = model.policy
    assert optimizer_ids(model.value_optimizer) == ids(policy.value_net.parameters())
    assert ids(policy.features_extractor.parameters()) <= optimizer_ids(policy.optimizer)
    # KarpathyPolicy(value_head=True): the value head sits on the actor's hidden layer
    karpathy = VPG("KarpathyPolicy", "CartPole-v1", policy_kwargs=dict(value_head=True))
    assert optimizer_ids(karpathy.value_optimizer) == ids(karpathy.policy.value_net.parameters())
    assert ids(karpathy.policy.mlp_extractor.parameters()) <= optimizer_ids(karpathy.policy.optimizer)


def karpathy_after_one_update(vf_coef: float, vf_learning_rate: float | None) -> REINFORCE:
    model = REINFORCE(
        "KarpathyPolicy",
        make_vec_env("CartPole-v1", n_envs=2, seed=0),
        n_steps=64,
        use_baseline=True,
        vf_coef=vf_coef,
        vf_learning_rate=vf_learning_rate,
        n_value_steps=3,
        policy_kwargs=dict(value_head=True, hidden_size=16),
        seed=0,
    )
    model.learn(128)
    assert model._n_updates == 1
    return model


def test_with_a_value_optimizer_a_shared_layer_learns_from_the_policy_loss_only():
    """The value loss (scaled by vf_coef) moves the value head and, with one optimizer, the shared hidden layer;
    with a value optimizer the hidden layer ends the same whatever the value loss."""

    def hidden(model):
        return [parameter.detach().clone() for parameter in model.policy.mlp_extractor.parameters()]

    def head(model):
        return model.policy.value_net.weight.detach().clone()

    separate = [karpathy_after_one_update(vf_coef, 1e-3) for vf_coef in (0.5, 0.0)]
    assert all(th.equal(a, b) for a, b in zip(hidden(separate[0]), hidden(separate[1]), strict=True))
    assert not th.equal(head(separate[0]), head(separate[1]))
    one = [karpathy_after_one_update(vf_coef, None) for vf_coef in (0.5, 0.0)]
    assert not all(th.equal(a, b) for a, b in zip(hidden(one[0]), hidden(one[1]), strict=True))
    # the policy optimizer took one step per update, the value optimizer n_value_steps
    policy_state = separate[0].policy.optimizer.state_dict()["state"]
    value_state = separate[0].value_optimizer.state_dict()["state"]
    assert {int(state["step"]) for state in policy_state.values()} == {1}
    assert {int(state["step"]) for state in value_state.values()} == {3}
    # one optimizer: 3 steps for what the value loss reaches, 1 for the actor's own layer (no gradient after)
    assert {int(state["step"]) for state in one[0].policy.optimizer.state_dict()["state"].values()} == {1, 3}


def test_value_learning_rate_schedule_optimizer_class_and_kwargs(tmp_path):
    def schedule(progress_remaining: float) -> float:
        return 1e-2 * progress_remaining

    model = VPG(
        "MlpPolicy",
        make_vec_env("CartPole-v1", n_envs=2, seed=0),
        n_steps=32,
        n_value_steps=2,
        learning_rate=5e-4,
        vf_learning_rate=schedule,
        vf_optimizer_class=th.optim.SGD,
        vf_optimizer_kwargs=dict(momentum=0.9),
        seed=0,
    )
    model.set_logger(configure(str(tmp_path), ["csv"]))
    assert isinstance(model.value_optimizer, th.optim.SGD) and model.value_optimizer.defaults["momentum"] == 0.9
    assert model.value_optimizer.param_groups[0]["lr"] == pytest.approx(1e-2)
    model.learn(
        256, log_interval=1
    )  # 4 updates, each after its rollout (as A2C/PPO): at progress remaining 0.75, 0.5, 0.25, 0
    assert model.value_optimizer.param_groups[0]["lr"] == 0.0
    assert model.policy.optimizer.param_groups[0]["lr"] == 5e-4
    # SB3 writes an update's train/ values with the next rollout's: the first row has none, the last update's
    # are not written
    with open(tmp_path / "progress.csv") as file:
        logged = [row["train/vf_learning_rate"] for row in csv.DictReader(file)]
    assert logged[0] == "" and [float(value) for value in logged[1:]] == pytest.approx([7.5e-3, 5e-3, 2.5e-3])


def params_of(model) -> list[th.Tensor]:
    return [parameter.detach().clone() for parameter in model.policy.parameters()]


def continue_training(model, seed: int = 7) -> list[th.Tensor]:
    model.set_env(make_vec_env("CartPole-v1", n_envs=2, seed=seed))
    model.set_random_seed(seed)
    model.learn(256, reset_num_timesteps=False)
    return params_of(model)


def test_save_load_keeps_both_optimizers_and_continues_identically(tmp_path):
    model = VPG("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2, seed=0), n_steps=32, n_value_steps=3, seed=0)
    model.learn(256)
    model.save(tmp_path / "vpg.zip")
    loaded = VPG.load(tmp_path / "vpg.zip")
    assert loaded.vf_learning_rate == 1e-3 and loaded._n_updates == model._n_updates == 4
    for mine, theirs in ((model.value_optimizer, loaded.value_optimizer), (model.policy.optimizer, loaded.policy.optimizer)):
        state, loaded_state = mine.state_dict()["state"], theirs.state_dict()["state"]
        assert state.keys() == loaded_state.keys() and state
        assert all(th.equal(state[key]["exp_avg_sq"], loaded_state[key]["exp_avg_sq"]) for key in state)

    reloaded = VPG.load(tmp_path / "vpg.zip")
    reloaded.value_optimizer.state.clear()  # as if the value optimizer's state had not been saved
    expected = continue_training(model)
    assert all(th.equal(a, b) for a, b in zip(expected, continue_training(loaded), strict=True))
    assert not all(th.equal(a, b) for a, b in zip(expected, continue_training(reloaded), strict=True))


def test_vpg_saved_with_one_optimizer_loads_and_keeps_it():
    """tests/data/vpg_0.2.0.zip was saved by sb3-vpg 0.2.0, when VPG had one optimizer."""
    recorded = json.loads((DATA / "vpg_0.2.0.json").read_text())
    with pytest.warns(UserWarning, match="saved with one optimizer for the actor and the value function"):
        model = VPG.load(DATA / "vpg_0.2.0.zip", env=make_vec_env("CartPole-v1", n_envs=2, seed=0))
    assert model.vf_learning_rate is None and model.value_optimizer is None
    assert optimizer_ids(model.policy.optimizer) == ids(model.policy.parameters())
    assert (model.num_timesteps, model._n_updates) == (recorded["num_timesteps"], recorded["n_updates"])
    # 2 updates of 2 value steps: 4 optimizer steps for what the value loss reaches, 2 for the actor's own layers
    steps = {int(state["step"]) for state in model.policy.optimizer.state_dict()["state"].values()}
    assert steps == {2, 4}
    observations = th.as_tensor(np.array(recorded["observations"], dtype=np.float32))
    with th.no_grad():
        probabilities = model.policy.get_distribution(observations).distribution.probs[:, 1]
        values = model.policy.predict_values(observations).flatten()
    np.testing.assert_allclose(probabilities.numpy(), recorded["p_action_1"], rtol=1e-6)
    np.testing.assert_allclose(values.numpy(), recorded["values"], rtol=1e-6)
    before = params_of(model)
    model.learn(128, reset_num_timesteps=False)
    assert model._n_updates == recorded["n_updates"] + 1
    assert not all(th.equal(a, b) for a, b in zip(before, params_of(model), strict=True))
