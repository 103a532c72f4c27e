"""benchmarks/mujoco_benchmark.py: the anchors' metrics against hand-computed values, the report rebuilt from
committed CSVs alone, and RolloutReturnLog, the callback that records each rollout's training batch."""

import csv
import sys
from pathlib import Path

import pytest
from stable_baselines3 import A2C
from stable_baselines3.common.env_util import make_vec_env

from sb3_vpg import REINFORCE
from sb3_vpg.common.callbacks import RolloutReturnLog
from tests.benchmark_scripts import BENCHMARKS, run_script

sys.path.insert(0, str(BENCHMARKS))

import mujoco_benchmark


def rollout(timesteps: int, episodes: int, mean_return: float | None) -> dict:
    return {"timesteps": timesteps, "episodes": episodes, "mean_return": mean_return}


def evaluation(timesteps: int, eval_mean: float) -> dict:
    return {"timesteps": timesteps, "eval_mean": eval_mean}


def test_spinning_up_score_is_the_mean_return_of_the_episodes_of_the_last_11_epochs():
    at = 3_000_000
    window_start = at - 44_000
    rows = [
        rollout(window_start, 5, 1_000.0),  # ends on the window's start: outside (the window is (start, at])
        rollout(window_start + 1_024, 2, 100.0),
        rollout(window_start + 2_048, 0, None),  # no episode ended
        rollout(at - 1_024, 1, 400.0),
        rollout(at, 1, 700.0),
        rollout(at + 1_024, 3, 5_000.0),  # after 3M
    ]
    # episodes: 100, 100, 400, 700
    assert mujoco_benchmark.spinning_up_score(rows, at) == pytest.approx(1_300 / 4)
    assert mujoco_benchmark.spinning_up_score(rows[:-2], at) is None  # the run has not reached 3M yet
    assert mujoco_benchmark.spinning_up_score([rollout(window_start, 4, 9.0), rollout(at, 0, None)], at) is None


def test_the_committed_epoch_rows_give_the_same_spinning_up_score():
    """Rollouts of 1,500 steps over 3M: merged into 4,000-step epochs (what the CSVs keep), the score is the same."""
    rollouts = [rollout(t, t // 1_500 % 3, float(t % 7_000)) for t in range(1_500, 3_000_001, 1_500)]
    epochs = mujoco_benchmark.epoch_rows(rollouts)
    assert len(epochs) == 750 and all(row["timesteps"] % 4_000 == 0 for row in epochs)
    assert sum(row["episodes"] for row in epochs) == sum(row["episodes"] for row in rollouts)
    exact = mujoco_benchmark.spinning_up_score(rollouts, 3_000_000)
    assert mujoco_benchmark.spinning_up_score(epochs, 3_000_000) == pytest.approx(exact, abs=1e-3)
    as_text = [{key: str(value) for key, value in row.items()} for row in rollouts if row["episodes"]]
    assert mujoco_benchmark.epoch_rows(as_text) == epochs  # the callback's CSV rows, read as text


def test_tianshou_score_is_the_best_evaluation_up_to_the_steps_and_zoo_score_the_one_at_them():
    evals = [evaluation(50_000, 10.0), evaluation(100_000, 250.0), evaluation(150_000, 120.0), evaluation(200_000, 900.0)]
    assert mujoco_benchmark.tianshou_score(evals, 150_000) == 250.0
    assert mujoco_benchmark.tianshou_score(evals, 200_000) == 900.0
    assert mujoco_benchmark.tianshou_score(evals[:2], 150_000) is None  # not evaluated there yet
    assert mujoco_benchmark.zoo_score(evals, 150_000) == 120.0
    assert mujoco_benchmark.zoo_score(evals, 175_000) is None


def test_tianshou_sampled_score_is_the_best_training_batch_return_of_a_32k_step_window():
    """Windows (end - 32k, end] for every end on the 4k grid from 32k: 10 (to 32k), 100 (to 36k: the 36k row
    alone), (100 + 3 x 20) / 4 = 40 (to 40k) ... (100 + 60 + 0) / 5 = 32 (to 64k)."""
    rows = [rollout(4_000, 2, 10.0), rollout(8_000, 0, None), rollout(36_000, 1, 100.0), rollout(40_000, 3, 20.0),
            rollout(64_000, 1, 0.0)]  # fmt: skip
    assert mujoco_benchmark.tianshou_sampled_score(rows, 64_000) == pytest.approx(100.0)
    assert mujoco_benchmark.tianshou_sampled_score(rows, 32_000) == pytest.approx(10.0)  # later rows are not read
    assert mujoco_benchmark.tianshou_sampled_score(rows, 68_000) is None  # the run has not reached the steps
    late = [rollout(4_000, 0, None), rollout(40_000, 1, 5.0)]  # windows without episodes have no mean
    assert mujoco_benchmark.tianshou_sampled_score(late, 40_000) == pytest.approx(5.0)


def test_a_goal_is_met_missed_or_open_by_the_envs_judged_on_three_seeds():
    margins = {"HalfCheetah": 10.0, "Hopper": -5.0, "Walker2d": 0.0, "Swimmer": None, "Ant": None}  # None: < 3 seeds
    assert mujoco_benchmark.goal_verdict(margins, 5) == "missed"  # Hopper is below, and a tie is not above
    assert mujoco_benchmark.goal_verdict(margins, 3) == "open"  # 1 above, 2 still to come
    assert mujoco_benchmark.goal_verdict(margins, 1) == "met"
    assert mujoco_benchmark.goal_verdict({**margins, "Swimmer": 1.0, "Ant": 2.0}, 3) == "met"
    assert mujoco_benchmark.goal_verdict({**margins, "Swimmer": -1.0, "Ant": 2.0}, 3) == "missed"


def test_the_goals_are_judged_on_the_median_of_three_seeds():
    """VPG on Hopper with 3 seeds at 1M (evaluations 600, 900, 700: median 700, under the zoo's 733) and 2 at 3M."""
    evaluations = [
        {"algo": "vpg", "env": "Hopper-v5", "seed": seed, "timesteps": 1_000_000, "eval_mean": value, "eval_std": 1.0}
        for seed, value in ((0, 600.0), (1, 900.0), (2, 700.0))
    ]
    returns = {env_id: [] for env_id in mujoco_benchmark.MUJOCO_ENVS}
    returns["Hopper-v5"] = [{"algo": "vpg", "env": "Hopper-v5", "seed": seed, "timesteps": 3_000_000, "episodes": 1,
                             "mean_return": 2_000.0} for seed in (0, 1)]  # fmt: skip
    lines = mujoco_benchmark.goal_lines(mujoco_benchmark.all_scores(evaluations, returns))
    (spinning_up,) = [line for line in lines if "Spinning Up" in line]
    assert "above it on 5 of 5 envs: **open**; HalfCheetah pending (0 of 3), Hopper pending (2 of 3)," in spinning_up
    (zoo,) = [line for line in lines if "zoo A2C" in line]
    assert "above it on 3 of 5 envs: **open**; HalfCheetah pending (0 of 3), Hopper -33, " in zoo


def test_report_is_rebuilt_from_the_committed_csvs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Two seeds of VPG on Hopper at 3M, one of them also past 1M only: the table gives each anchor's metric per
    seed, their median and the margin; a fresh clone (no logs) rewrites nothing and reports the same."""
    evaluations = [
        {"algo": "vpg", "env": "Hopper-v5", "seed": seed, "timesteps": steps, "eval_mean": value, "eval_std": 1.0}
        for seed, values in ((0, (500.0, 1_500.0, 1_200.0)), (1, (700.0, 900.0, 1_000.0)))
        for steps, value in zip((1_000_000, 2_000_000, 3_000_000), values, strict=True)
    ]
    mujoco_benchmark.write_csv(tmp_path / "evaluations.csv", mujoco_benchmark.EVALUATION_FIELDS, evaluations)
    returns = [
        {"algo": "vpg", "env": "Hopper-v5", "seed": seed, "timesteps": 3_000_000 - 4_000 * i, "episodes": 2,
         "mean_return": value}
        for seed, value in ((0, 1_000.0), (1, 800.0)) for i in range(3)
    ]  # fmt: skip
    mujoco_benchmark.write_csv(tmp_path / "returns" / "Hopper-v5.csv", mujoco_benchmark.RETURN_FIELDS, returns)
    committed = (tmp_path / "evaluations.csv").read_text()

    run_script("mujoco_benchmark.py", "--report-only", "--out", str(tmp_path), timeout=300)
    table = (tmp_path / "mujoco.md").read_text()
    spinning_up = "| Spinning Up VPG, better of PyTorch / TF1 | training batch return, last 44k steps | 3M | 907 (10) |"
    assert f"| Hopper v5 / v3 {spinning_up} 900 (2 seeds) | 1,000 / 800 | -7 |" in table
    zoo = "| rl-baselines3-zoo A2C (moonshot) | deterministic evaluation | 1M | 733 (1) |"
    assert f"| Hopper v5 / v3 {zoo} 600 (2 seeds) | 500 / 700 | -133 |" in table
    tianshou = "| Tianshou REINFORCE | best deterministic evaluation so far | 3M |"
    assert f"| Hopper v5 / v3 {tianshou} 396 (10) | - | - | - |" in table  # no REINFORCE run
    assert f"| Ant v5 / v3 {tianshou} 475 (10) | - | - | - |" in table
    assert "on 5 of 5 envs: **open**; HalfCheetah pending (0 of 3), Hopper pending (2 of 3)," in table
    # the module pages' tables: the same medians, one line per env
    assert "| Hopper-v5 | 900 (2 seeds) | 907 | 600 (2 seeds) | 733 |" in (tmp_path / "vpg.md").read_text()
    assert "| Hopper-v5 | - | 396 |" in (tmp_path / "reinforce.md").read_text()
    assert (tmp_path / "Hopper-v5.png").exists() and not (tmp_path / "Ant-v5.png").exists()
    assert (tmp_path / "evaluations.csv").read_text() == committed


def test_rollout_return_log_writes_each_rollout_with_the_episodes_that_ended_in_it(tmp_path: Path):
    path = tmp_path / "returns.csv"
    env = make_vec_env("CartPole-v1", n_envs=2, seed=0)  # with SB3's Monitor: infos carry each episode
    model = A2C("MlpPolicy", env, n_steps=64, seed=0)
    episodes: list[float] = []

    class Episodes(RolloutReturnLog):  # the episode returns the env reported, to check the rows against
        def _on_step(self) -> bool:
            episodes.extend(float(info["episode"]["r"]) for info in self.locals["infos"] if "episode" in info)
            return super()._on_step()

    model.learn(1_280, callback=Episodes(str(path), timestep_offset=10_000))
    with open(path) as file:
        rows = list(csv.DictReader(file))
    assert [int(row["timesteps"]) for row in rows] == [10_000 + 128 * i for i in range(1, 11)]
    assert sum(int(row["episodes"]) for row in rows) == len(episodes) > 10
    total = sum(float(row["mean_return"]) * int(row["episodes"]) for row in rows if row["episodes"] != "0")
    assert total == pytest.approx(sum(episodes), rel=1e-5)
    assert all((row["mean_return"] == "") == (row["episodes"] == "0") for row in rows)

    # appended under the same header; a learn that stops inside its second rollout writes the steps it took
    REINFORCE("MlpPolicy", env, n_steps=64, seed=0).learn(228, callback=RolloutReturnLog(str(path)))
    with open(path) as file:
        assert [int(row["timesteps"]) for row in csv.DictReader(file)][10:] == [128, 228]
    with pytest.raises(ValueError, match="timestep_offset must be a number of steps >= 0, got -1"):
        RolloutReturnLog(str(path), timestep_offset=-1)


def test_a_run_is_not_resumed_with_another_entry_than_it_began_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    run = mujoco_benchmark.MujocoRun("vpg", "Hopper-v5", 0)
    mujoco_benchmark.check_entry(run, tmp_path)  # begins: records today's entry
    mujoco_benchmark.check_entry(run, tmp_path)  # resumes with the same
    shipped = mujoco_benchmark.shipped_entry("vpg", "Hopper-v5")
    monkeypatch.setattr(mujoco_benchmark, "shipped_entry", lambda algo, env_id: {**shipped, "learning_rate": 0.1})
    with pytest.raises(RuntimeError, match=r"another vpg entry for Hopper-v5.*delete the folder"):
        mujoco_benchmark.check_entry(run, tmp_path)


@pytest.mark.slow
def test_a_stopped_run_resumes_from_its_last_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A short VPG run on Hopper through the real zoo CLI; then, as if it had been stopped before its last
    checkpoint, a longer budget: the run goes on from the checkpoint before (the zoo's -i, with the VecNormalize
    statistics), and the stopped part's rows after that checkpoint give way to the new part's."""
    monkeypatch.setattr(mujoco_benchmark, "MUJOCO_STEPS", 4_000)
    monkeypatch.setattr(mujoco_benchmark, "MUJOCO_EVAL_FREQ", 2_000)
    monkeypatch.setattr(mujoco_benchmark, "CHECKPOINT_FREQ", 2_000)
    run = mujoco_benchmark.MujocoRun("vpg", "Hopper-v5", 0)
    assert mujoco_benchmark.execute(run, tmp_path).startswith("trained  vpg Hopper-v5 seed 0 from 0 steps")
    first = run.folder(tmp_path) / "from0000000"
    assert sorted(mujoco_benchmark.checkpoints(first)) == [2_000, 4_000]
    returns, evaluations = mujoco_benchmark.run_rows(run, tmp_path)
    assert [row["timesteps"] for row in evaluations] == [2_000, 4_000]
    assert max(int(row["timesteps"]) for row in returns) == 4_000
    assert mujoco_benchmark.execute(run, tmp_path).startswith("reused ")

    (run.folder(tmp_path) / "done.json").unlink()
    for path in (first / "checkpoints").glob("checkpoint_*4000_steps.*"):
        path.unlink()  # stopped between its checkpoints at 2,000 and 4,000 steps
    monkeypatch.setattr(mujoco_benchmark, "MUJOCO_STEPS", 6_000)
    assert "from 2,000 steps" in mujoco_benchmark.execute(run, tmp_path)
    second = run.folder(tmp_path) / "from0002000"
    command = (second / "part.json").read_text()
    assert f"-i {second / 'resume' / 'Hopper-v5.zip'}" in command and "--seed 1000" in command and "-n 4000" in command
    assert "Loading saved VecNormalize stats" in (second / "train.log").read_text()
    returns, evaluations = mujoco_benchmark.run_rows(run, tmp_path)
    assert [row["timesteps"] for row in evaluations] == [2_000, 4_000, 6_000]  # 2,000 from the first part
    steps = [int(row["timesteps"]) for row in returns]
    assert steps == sorted(steps) and steps[-1] == 6_000
    first_rows = [int(row["timesteps"]) for row in csv.DictReader((first / "returns.csv").read_text().splitlines())]
    assert [step for step in steps if step <= 2_000] == [step for step in first_rows if step <= 2_000]
