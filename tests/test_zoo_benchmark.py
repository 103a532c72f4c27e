"""benchmarks/classic_control/zoo_benchmark.py --quick, end to end through the real rl_zoo3 CLI, and its resume."""

import json
import shutil
from pathlib import Path

import matplotlib.image
import pytest
from shared import tables

from tests.benchmark_scripts import read_csv, run_script

RUNS = {(algo, "CartPole-v1", seed) for algo in ("reinforce", "ppo") for seed in (0, 1)}


def run_quick(out: Path) -> str:
    return run_script("classic_control/zoo_benchmark.py", "--quick", "--out", str(out), timeout=600)


@pytest.mark.slow
def test_quick_benchmark_writes_every_run_then_reuses_them(tmp_path):
    out = tmp_path / "results"
    first = run_quick(out)
    assert first.count("trained ") == len(RUNS)

    runs = read_csv(out / "runs.csv")
    assert {(row["algo"], row["env"], int(row["seed"])) for row in runs} == RUNS
    assert all(float(row["steps_per_second"]) > 0 and int(row["steps"]) == 2048 for row in runs)

    evaluations = read_csv(out / "evaluations.csv")
    # --eval-freq 1024 over 2,048 steps: the zoo evaluates at 1,024 and 2,048 steps, 2 episodes each
    per_run = {(e["algo"], e["env"], int(e["seed"]), int(e["timesteps"])) for e in evaluations}
    assert per_run == {(*run, steps) for run in RUNS for steps in (1024, 2048)}
    seconds = [float(e["wall_seconds"]) for e in evaluations]
    assert all(s > 0 for s in seconds)
    for row in runs:  # the final evaluation in runs.csv is the last one of that run in evaluations.csv
        last = [e for e in evaluations if (e["algo"], e["seed"]) == (row["algo"], row["seed"])][-1]
        assert float(row["final_score"]) == float(last["eval_mean"])

    table = (out / "CartPole-v1.md").read_text()
    for algo in ("REINFORCE", "PPO"):
        (line,) = [line for line in table.splitlines() if line.startswith(f"| {algo} |")]
        assert line.split("|")[2].strip() == "0 1"
    assert (out / "summary.md").read_text() == table
    for plot in ("CartPole-v1_steps.png", "CartPole-v1_wallclock.png"):
        image = matplotlib.image.imread(out / plot)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100

    finished = {path: path.read_text() for path in out.glob("logs/*/*/benchmark.json")}
    assert {(r["algo"], r["env"], r["seed"]) for r in map(json.loads, finished.values())} == RUNS
    models = {path: path.stat().st_mtime_ns for path in out.glob("logs/*/*/CartPole-v1.zip")}
    assert len(models) == len(RUNS)

    second = run_quick(out)
    assert second.count("reused ") == len(RUNS) and "trained " not in second
    assert {path: path.read_text() for path in out.glob("logs/*/*/benchmark.json")} == finished
    assert {path: path.stat().st_mtime_ns for path in out.glob("logs/*/*/CartPole-v1.zip")} == models
    assert read_csv(out / "runs.csv") == runs


@pytest.mark.slow
def test_a_benchmark_of_one_algorithm_keeps_the_other_results(tmp_path):
    """``--algos ppo`` reports REINFORCE's runs finished before next to PPO's, and keeps the CSV rows of an env it
    did not run."""
    out = tmp_path / "results"
    run_quick(out)
    runs, evaluations = read_csv(out / "runs.csv"), read_csv(out / "evaluations.csv")
    table = (out / "CartPole-v1.md").read_text()
    other_env = {**runs[0], "algo": "a2c", "env": "Acrobot-v1", "final_score": "-80.5"}
    other_evaluation = {**evaluations[0], "algo": "a2c", "env": "Acrobot-v1", "eval_mean": "-80.5"}
    tables.write_csv(out / "runs.csv", [other_env, *runs])
    tables.write_csv(out / "evaluations.csv", [other_evaluation, *evaluations])

    again = run_script("classic_control/zoo_benchmark.py", "--quick", "--algos", "ppo", "--out", str(out), timeout=600)
    assert again.count("reused ") == 2 and "trained " not in again and "reinforce" not in again
    key = lambda row: tuple(sorted(row.items()))  # noqa: E731
    assert sorted(read_csv(out / "runs.csv"), key=key) == sorted([other_env, *runs], key=key)
    assert sorted(read_csv(out / "evaluations.csv"), key=key) == sorted([other_evaluation, *evaluations], key=key)
    assert (out / "CartPole-v1.md").read_text() == table  # REINFORCE's runs are still in the table

    # a fresh clone has the CSVs, not the logs: REINFORCE's runs are reported as recorded, not dropped
    shutil.rmtree(out / "logs" / "reinforce")
    (out / "CartPole-v1_steps.png").unlink()
    again = run_script("classic_control/zoo_benchmark.py", "--quick", "--algos", "ppo", "--out", str(out), timeout=600)
    assert again.count("reused ") == 2 and "trained " not in again
    assert (out / "CartPole-v1.md").read_text() == table
    assert sorted(read_csv(out / "runs.csv"), key=key) == sorted([other_env, *runs], key=key)
    assert sorted(read_csv(out / "evaluations.csv"), key=key) == sorted([other_evaluation, *evaluations], key=key)
    assert matplotlib.image.imread(out / "CartPole-v1_steps.png").ndim == 3


@pytest.mark.slow
def test_an_interrupted_run_is_redone(tmp_path):
    out = tmp_path / "results"
    run_quick(out)
    (out / "logs" / "ppo" / "CartPole-v1_seed1" / "benchmark.json").unlink()  # as if killed before the end
    again = run_quick(out)
    assert again.count("reused ") == len(RUNS) - 1
    assert "trained  ppo CartPole-v1_seed1" in again
