"""
The zoo entry point's own additions fuzzed: every hyperparameter of REINFORCE and VPG given with ``-params`` takes
0, negative, tiny, huge, non-finite, empty and wrongly typed values. Each value is either used as given (the run
trains and its saved model holds the value; a value that makes the first update diverge stops the run with
``NonFiniteError``'s message in one line) or refused in one line that names the hyperparameter, before training.
The runs go through ``sb3_vpg.zoo.main`` in this process, with rl_zoo3's real ``train`` behind it.
"""

import inspect
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sb3_vpg import REINFORCE, VPG
from sb3_vpg.common.buffers import EpisodicRolloutBuffer
from sb3_vpg.common.validation import is_integer
from tests.conftest import zoo_in_process

# The parameters the zoo's own options set (--env, --seed, --verbose, --device, --tensorboard-log) are not fuzzed here
SET_BY_ZOO_OPTIONS = {"self", "policy", "env", "seed", "verbose", "device", "tensorboard_log", "_init_setup_model"}
HYPERPARAMETERS = sorted(set(inspect.signature(REINFORCE.__init__).parameters) - SET_BY_ZOO_OPTIONS)
EXTREMES = ["0", "-1", "1e-300", "1e300", "float('nan')", "float('inf')", "float('-inf')", "''", "2**31", "2**64",
            "0.5", "True", "None", "[]", "'none'"]  # fmt: skip
BUDGET = 64  # steps: the shipped CartPole entry's 8 envs, a few updates


def train(tmp_path: Path, algo: str, tokens: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """Run ``python -m sb3_vpg.zoo train`` in this process; its exit code and its stderr."""
    folder = tmp_path / "logs"
    argv = ["train", "--algo", algo, "--env", "CartPole-v1", "-f", str(folder), "-n", str(BUDGET),
            "--eval-freq", "-1", "--seed", "0", "-params", *tokens]  # fmt: skip
    return zoo_in_process(*argv, capsys=capsys)


def saved_model(tmp_path: Path, algo: str) -> Path | None:
    models = sorted((tmp_path / "logs").glob(f"{algo}/CartPole-v1_*/CartPole-v1.zip"))
    return models[-1] if models else None


def used_as_given(model: Any, key: str, value: Any) -> bool:
    held = getattr(model, key) if key != "stats_window_size" else model._stats_window_size
    if callable(held) and not isinstance(held, type):  # SB3 saves a constant learning rate as its schedule
        held = held(1.0)
    if key == "normalize_advantage" and isinstance(value, bool):
        return held == ("batch" if value else "none")
    if key == "bootstrap_incomplete" and value is None:  # None means: the default for the batching
        return held == (model.use_baseline and model.n_episodes is None)
    if key == "n_steps" and value is None:  # with n_episodes cleared too: the default batch of steps
        return held == type(model)("MlpPolicy", env=None, _init_setup_model=False).n_steps
    if key == "rollout_buffer_class" and value is None:  # None means: the default for the observation space
        return held is EpisodicRolloutBuffer
    if key in ("rollout_buffer_kwargs", "policy_kwargs") and value is None:
        return held == {}
    if isinstance(held, float) and is_integer(value):  # a float parameter (a coefficient) given as an int
        return held == float(value)
    return held == value


# A value that asks for this much work per update is used as given, but the run stops before its first update
WORK_PER_UPDATE = {"n_value_steps": 10_000}
STOP_AT_FIRST_STEP = "callback:[{'stable_baselines3.common.callbacks.StopTrainingOnMaxEpisodes':{'max_episodes':0}}]"


def check_one(tmp_path: Path, capsys: pytest.CaptureFixture, algo: str, key: str, expression: str) -> None:
    value = eval(expression, {})
    too_much_work = is_integer(value) and value > WORK_PER_UPDATE.get(key, value)
    code, err = train(tmp_path, algo, [f"{key}:{expression}", *[STOP_AT_FIRST_STEP] * too_much_work], capsys)
    model_file = saved_model(tmp_path, algo)
    if code == 0:
        assert model_file is not None, err[-2000:]
        model = {"reinforce": REINFORCE, "vpg": VPG}[algo].load(model_file)
        assert model.num_timesteps >= (1 if too_much_work else BUDGET)
        assert used_as_given(model, key, value), f"{key}:{expression} trained with {getattr(model, key)!r}"
        return
    lines = err.strip().splitlines()
    assert "Traceback" not in err, err[-3000:]
    assert model_file is None
    if code == 1:  # used as given, and the first update diverged: the run stops with where, in one line
        assert lines[-1].startswith("python -m sb3_vpg.zoo train: training stopped: "), err[-3000:]
        assert "update 1" in lines[-1], err[-3000:]
        return
    assert code == 2 and lines[-1].startswith("python -m sb3_vpg.zoo train: error: "), err[-3000:]
    assert key in lines[-1], f"{key}:{expression} refused without naming {key}: {lines[-1]}"


@pytest.mark.parametrize("algo", ["reinforce", "vpg"])
@pytest.mark.parametrize("key", HYPERPARAMETERS)
def test_every_hyperparameter_takes_extreme_values_or_names_itself(tmp_path, capsys, algo, key):
    """Each of our hyperparameters against the fixed pool of extremes, one folder per value."""
    for i, expression in enumerate(EXTREMES):
        check_one(tmp_path / str(i), capsys, algo, key, expression)


EXAMPLES = int(os.environ.get("ZOO_OPTION_EXAMPLES", "25"))


@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 25,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    algo=st.sampled_from(["reinforce", "vpg"]),
    key=st.sampled_from(HYPERPARAMETERS),
    value=st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.text(max_size=8),
        st.none(),
    ),
)
@example(algo="reinforce", key="n_steps", value=2**31)  # a buffer larger than any machine: named, not MemoryError
@example(algo="reinforce", key="n_epsiodes", value=3)  # a misspelt name: named, not rl_zoo3's TypeError
@example(algo="reinforce", key="ent_coef", value=2**53 + 1)  # a float parameter holds the int as a float
@example(algo="vpg", key="learning_rate", value=1e300)  # diverges in the first update: one line, not a traceback
def test_hyperparameter_values_drawn_by_hypothesis(tmp_path_factory, capsys, algo, key, value):
    expression = f"float('{value!r}')" if isinstance(value, float) else repr(value)
    check_one(tmp_path_factory.mktemp("zoo"), capsys, algo, key, expression)
