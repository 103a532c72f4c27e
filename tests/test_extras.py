"""A missing extra is named in one line, never a raw ModuleNotFoundError (the module is hidden from the process)."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHIPPED_PONG_AGENT

ROOT = Path(__file__).resolve().parents[1]


def run_without(module: str, code: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter in which importing ``module`` fails as if it were not installed."""
    prelude = f"import sys; sys.modules[{module!r}] = None\n"
    return subprocess.run([sys.executable, "-c", prelude + code], cwd=ROOT, capture_output=True, text=True, timeout=120)


PLAY = ["play", "--model", str(SHIPPED_PONG_AGENT), "--games", "1"]


@pytest.mark.parametrize("command", [PLAY, ["train", "--out", "{tmp}"]])
def test_pong_application_without_ale_py_names_the_atari_extra(tmp_path, command):
    argv = [part.format(tmp=tmp_path / "run") for part in command]
    result = run_without("ale_py", f"from sb3_vpg.pong.cli import main; main({argv!r})")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert (
        "needs the [atari] extra (ale_py is not installed)" in line and 'pip install -c constraints.txt -e ".[atari]"' in line
    )


def test_zoo_enjoy_without_box2d_names_our_box2d_extra():
    code = "from sb3_vpg.zoo import main; main(['enjoy', '--algo', 'reinforce', '--env', 'LunarLander-v3', '-f', 'agents', "
    code += "'--no-render', '-n', '10'])"
    result = run_without("Box2D", code)
    assert result.returncode == 2, result.stderr[-2000:]
    (line,) = result.stderr.strip().splitlines()
    assert "LunarLander-v3 and the other Box2D envs needs the [box2d] extra" in line and "gymnasium[box2d]" not in line


def test_zoo_entry_point_without_rl_zoo3_names_the_zoo_extra():
    result = run_without(
        "rl_zoo3", "from sb3_vpg.zoo import main; main(['train', '--algo', 'reinforce', '--env', 'CartPole-v1'])"
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "needs the [zoo] extra (rl_zoo3 is not installed)" in line


def test_the_package_without_sb3_contrib_trains_and_names_the_masks_extra():
    result = run_without(
        "sb3_contrib",
        "import sb3_vpg\n"
        "sb3_vpg.REINFORCE('MlpPolicy', 'CartPole-v1', n_steps=8).learn(16)\n"
        "from sb3_vpg import MaskableREINFORCE",
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "MaskableREINFORCE and MaskableVPG (sb3-contrib's maskable policies) needs the [masks] extra" in last


def test_pong_on_ray_without_ray_names_the_ray_extra(tmp_path):
    argv = ["train", "--out", str(tmp_path / "run"), "--ray-address", "local", "--n-envs", "2"]
    result = run_without("ray", f"from sb3_vpg.pong.cli import main; main({argv!r})")
    assert result.returncode == 2, result.stderr[-2000:]
    (line,) = result.stderr.strip().splitlines()
    assert "RayVecEnv" in line and "needs the [ray] extra (ray is not installed)" in line
    assert 'pip install -c constraints.txt -e ".[ray]"' in line
