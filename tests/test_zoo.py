"""The rl_zoo3 entry point, through rl_zoo3's real CLI code paths (small budgets)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sb3_vpg.zoo import ZOO_ALGOS, default_config, with_default_config


def zoo(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "sb3_vpg.zoo", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.parametrize("algo", sorted(ZOO_ALGOS))
def test_shipped_config_is_found_and_used_by_default(algo):
    path = Path(default_config(algo))
    assert path.is_file()
    assert "CartPole-v1" in yaml.safe_load(path.read_text())
    assert with_default_config(["--algo", algo, "--env", "CartPole-v1"])[-2:] == ["-conf", str(path)]
    assert with_default_config(["--algo", algo, "-conf", "mine.yml"]) == ["--algo", algo, "-conf", "mine.yml"]
    assert with_default_config(["--algo", "ppo"]) == ["--algo", "ppo"]


@pytest.mark.parametrize("algo", sorted(ZOO_ALGOS))
def test_train_then_enjoy_last_and_best_model(algo, tmp_path):
    train = zoo("train", "--algo", algo, "--env", "CartPole-v1", "-f", "logs", "-n", "4096", "--eval-freq", "256",
                "--eval-episodes", "2", "--seed", "1", "--num-threads", "1", cwd=tmp_path)  # fmt: skip
    assert train.returncode == 0, train.stderr[-3000:]
    run_dir = tmp_path / "logs" / algo / "CartPole-v1_1"
    assert (run_dir / "CartPole-v1.zip").is_file()
    assert (run_dir / "best_model.zip").is_file()
    assert (run_dir / "evaluations.npz").is_file()
    saved = yaml.unsafe_load((run_dir / "CartPole-v1" / "config.yml").read_text())
    assert dict(saved)["n_steps"] == yaml.safe_load(Path(default_config(algo)).read_text())["CartPole-v1"]["n_steps"]
    for extra in ([], ["--load-best"]):
        enjoy = zoo("enjoy", "--algo", algo, "--env", "CartPole-v1", "-f", "logs", "--no-render", "-n", "300", *extra,
                    cwd=tmp_path)  # fmt: skip
        assert enjoy.returncode == 0, enjoy.stderr[-3000:]
        assert "Episode Reward" in enjoy.stdout or "Atari Episode Score" in enjoy.stdout or "Mean reward" in enjoy.stdout


def test_unknown_algo_gets_rl_zoo3_error(tmp_path):
    result = zoo("train", "--algo", "nope", "--env", "CartPole-v1", cwd=tmp_path)
    assert result.returncode == 2
    assert "argument --algo: invalid choice: 'nope'" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_command_prints_usage(tmp_path):
    result = zoo("fly", cwd=tmp_path)
    assert result.returncode == 2
    assert "usage: python -m sb3_vpg.zoo" in result.stderr
