"""The long-run command stops, checkpoints and resumes with counters, optimizer state and running reward intact;
the Pong throughput benchmark writes its tables."""

import csv
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sb3_vpg import REINFORCE
from sb3_vpg.pong.cli import checkpoint_model_path

pytest.importorskip("ale_py", reason="the [atari] extra installs ale-py")


def run(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "sb3_vpg.pong", *args], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]


def test_stop_and_resume(tmp_path: Path):
    out = str(tmp_path / "run")
    train = ("train", "--out", out, "--n-episodes", "1", "--checkpoint-every", "1")
    run(*train, "--hours", "0.003")
    first = REINFORCE.load(checkpoint_model_path(tmp_path / "run"))
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert first._n_updates >= 1 and state["episodes"] >= 1
    assert first.policy.optimizer.state_dict()["state"], "the RMSProp state is saved"

    run(*train, "--hours", "0.003")
    second = REINFORCE.load(checkpoint_model_path(tmp_path / "run"))
    assert second.num_timesteps > first.num_timesteps
    assert second._n_updates > first._n_updates
    with open(tmp_path / "run" / "episodes.csv") as file:
        rows = list(csv.DictReader(file))
    assert [int(row["episode"]) for row in rows] == list(range(1, len(rows) + 1))
    assert len(rows) == json.loads((tmp_path / "run" / "state.json").read_text())["episodes"] > state["episodes"]
    # seed 000's running reward, continued across the resume
    for previous, row in itertools.pairwise(rows):
        expected = 0.99 * float(previous["running_reward"]) + 0.01 * float(row["score"])
        assert float(row["running_reward"]) == pytest.approx(expected, abs=2e-4)
        assert int(row["steps"]) >= int(previous["steps"]) and float(row["wall_seconds"]) >= float(previous["wall_seconds"])

    run("plot", "--out", out)
    assert (tmp_path / "run" / "learning_curve.png").stat().st_size > 10_000


def test_vector_env_run(tmp_path: Path):
    out = str(tmp_path / "run")
    run("train", "--out", out, "--vector-env", "--n-envs", "2", "--n-episodes", "1", "--checkpoint-every", "1",
        "--hours", "0.002")  # fmt: skip
    model = REINFORCE.load(checkpoint_model_path(tmp_path / "run"))
    assert model.n_envs == 2 and model._n_updates >= 1
    with open(tmp_path / "run" / "episodes.csv") as file:
        assert len(list(csv.DictReader(file))) >= 1


def test_pong_throughput_benchmark_writes_its_tables(tmp_path):
    """benchmarks/pong_throughput.py on a small budget: every measurement in the CSV, ratios in the table."""
    script = Path(__file__).parents[1] / "benchmarks" / "pong_throughput.py"
    command = [sys.executable, str(script), "--configs", "vector-2", "--reps", "2", "--steps", "300", "--no-memory"]
    result = subprocess.run([*command, "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "pong_throughput.csv") as file:
        rows = list(csv.DictReader(file))
    measured = [(int(row["rep"]), row["what"], row["config"]) for row in rows]
    expected = [(rep, what, config) for rep in (0, 1) for what, config in
                (("seed-000-numpy-loop", "single"), ("seed-000-numpy-loop-one-blas-thread", "single"),
                 ("raw-emulator", "vector-2"), ("our-training", "vector-2"))]  # fmt: skip
    assert measured == expected
    assert all(float(row["steps_per_s"]) > 0 for row in rows)
    speed = {(int(row["rep"]), row["what"]): float(row["steps_per_s"]) for row in rows}
    to_raw = sorted(speed[rep, "our-training"] / speed[rep, "raw-emulator"] for rep in (0, 1))
    table = (tmp_path / "pong_throughput.md").read_text()
    # the median of two per-repetition ratios is their mean; the range is the two of them
    assert f"| {(to_raw[0] + to_raw[1]) / 2:.2f} [{to_raw[0]:.2f}, {to_raw[1]:.2f}] |" in table
    assert table.count("| vector-2 |") == 1
