"""benchmarks/mujoco/mujoco_benchmark.py: the anchors' metrics against hand-computed values, the report rebuilt from
committed CSVs alone, and RolloutReturnLog, the callback that records each rollout's training batch."""

import csv
import re
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml
from stable_baselines3 import A2C
from stable_baselines3.common.env_util import make_vec_env

from sb3_vpg import REINFORCE
from sb3_vpg.common.callbacks import RolloutMotionLog, RolloutReturnLog
from tests.benchmark_scripts import import_script, run_main

mujoco_benchmark = import_script("mujoco/mujoco_benchmark.py")


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


def test_zoo_score_is_the_evaluation_at_the_steps():
    evals = [evaluation(50_000, 10.0), evaluation(100_000, 250.0), evaluation(150_000, 120.0), evaluation(200_000, 900.0)]
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


def test_tianshou_aggregate_is_the_best_point_of_the_mean_curve_not_the_mean_of_each_seeds_best():
    """Two seeds whose best windows fall at different times: seed 0's curve is 100 (to 32k) then 0, seed 1's is 0
    then 100 (from 36k). The mean curve is 50 everywhere, so Tianshou's aggregate is 50; the mean of the seeds'
    bests would say 100."""
    seed0 = [rollout(4_000, 1, 100.0), rollout(36_000, 1, 0.0), rollout(72_000, 1, 0.0)]
    seed1 = [rollout(4_000, 1, 0.0), rollout(36_000, 1, 100.0), rollout(72_000, 1, 100.0)]
    assert mujoco_benchmark.window_returns(seed0, 72_000)[32_000] == 100.0
    assert (
        mujoco_benchmark.tianshou_sampled_score(seed0, 72_000) == mujoco_benchmark.tianshou_sampled_score(seed1, 72_000) == 100
    )
    assert mujoco_benchmark.tianshou_aggregate([seed0, seed1], 72_000) == pytest.approx(50.0)
    assert mujoco_benchmark.tianshou_aggregate([seed0, seed1[:2]], 72_000) is None  # a seed has not reached 72k
    assert mujoco_benchmark.tianshou_aggregate([], 72_000) is None


def test_a_seed_collapsed_when_its_late_return_kept_less_than_half_its_best():
    rows = [rollout(t, 1, 1_000.0 if t <= 2_900_000 else 400.0) for t in range(100_000, 3_000_001, 100_000)]
    rows += [rollout(2_950_000, 3, 600.0)]  # episode-weighted: (400 + 3 x 600) / 4 = 550 over the last 100k
    late = mujoco_benchmark.late_mean(rows, "mean_return", 3_000_000)
    assert late == pytest.approx(550.0)
    assert mujoco_benchmark.collapsed(1_000.0, late) is False
    assert mujoco_benchmark.collapsed(1_000.0, 499.0) is True
    assert mujoco_benchmark.collapsed(-200.0, -299.0) is False and mujoco_benchmark.collapsed(-200.0, -301.0) is True
    assert mujoco_benchmark.collapsed(None, 5.0) is None
    assert mujoco_benchmark.late_mean(rows[:-2], "mean_return", 3_000_000) is None  # not at 3M yet


def test_iqm_is_the_mean_of_the_middle_half_with_a_bootstrap_interval_around_it():
    iqm, low, high = mujoco_benchmark.iqm_interval([1.0, 2.0, 3.0, 10.0, 4.0])
    assert iqm == pytest.approx(3.0)  # 5 seeds: the lowest and the highest dropped
    assert low <= iqm <= high and low >= 1.0 and high <= 10.0
    assert mujoco_benchmark.iqm_interval([1.0, 2.0, 3.0, 10.0, 4.0]) == (iqm, low, high)  # a fixed seed


def test_a_goal_is_met_missed_or_open_by_the_envs_judged_on_their_seeds():
    margins = {"HalfCheetah": 10.0, "Hopper": -5.0, "Walker2d": 0.0, "Swimmer": None, "Ant": None}  # None: too few seeds
    assert mujoco_benchmark.goal_verdict(margins, 5) == "missed"  # Hopper is below, and a tie is not above
    assert mujoco_benchmark.goal_verdict(margins, 3) == "open"  # 1 above, 2 still to come
    assert mujoco_benchmark.goal_verdict(margins, 1) == "met"
    assert mujoco_benchmark.goal_verdict({**margins, "Swimmer": 1.0, "Ant": 2.0}, 3) == "met"
    assert mujoco_benchmark.goal_verdict({**margins, "Swimmer": -1.0, "Ant": 2.0}, 3) == "missed"


def write_seed(out: Path, algo: str, env_id: str, seed: int, level: float, speed: float) -> None:
    """A finished run's committed rows: training return ``level`` in every epoch, one episode each, at ``speed``."""
    key = {"algo": algo, "env": env_id, "seed": seed}
    epochs = range(4_000, 3_000_001, 4_000)
    returns = [{**key, "timesteps": t, "episodes": 1, "mean_return": level} for t in epochs]
    motion = [{**key, "timesteps": t, "episodes": 1, "mean_length": 1_000.0, "mean_speed": speed} for t in epochs]
    evaluations = [{**key, "timesteps": 1_000_000, "eval_mean": level, "eval_std": 1.0}]
    for path, fields, rows in (
        (out / "returns" / f"{env_id}.csv", mujoco_benchmark.RETURN_FIELDS, returns),
        (out / "motion" / f"{env_id}.csv", mujoco_benchmark.MOTION_FIELDS, motion),
        (out / "evaluations.csv", mujoco_benchmark.EVALUATION_FIELDS, evaluations),
    ):
        mujoco_benchmark.write_csv(path, fields, mujoco_benchmark.read_csv(path) + rows)


def test_the_goals_are_judged_on_five_seeds_and_humanoid_on_three(tmp_path: Path):
    """REINFORCE on Hopper with 5 seeds at 3M (returns 300-700, mean 500 over Tianshou's 396), on Walker2d with 4,
    on Humanoid with 3 (mean 400, under its 438); one Hopper seed stands still."""
    for seed, level in enumerate((300.0, 400.0, 500.0, 600.0, 700.0)):
        write_seed(tmp_path, "reinforce", "Hopper-v5", seed, level, speed=0.05 if seed == 4 else 1.5)
    for seed in range(4):
        write_seed(tmp_path, "reinforce", "Walker2d-v5", seed, 900.0, speed=1.0)
    for seed, level in enumerate((300.0, 400.0, 500.0)):
        write_seed(tmp_path, "reinforce", "Humanoid-v5", seed, level, speed=0.5)
    lines = mujoco_benchmark.goal_lines(mujoco_benchmark.read_runs(tmp_path, mujoco_benchmark.ALGOS))
    (reinforce,) = [line for line in lines if "Tianshou REINFORCE" in line]
    assert "on 6 of 6 envs" in reinforce and "**missed**" in reinforce  # Humanoid is judged, and below
    assert "HalfCheetah pending (0 of 5 seeds), Hopper +104, Walker2d pending (4 of 5 seeds)" in reinforce
    assert "Humanoid -38." in reinforce
    (stability,) = [line for line in lines if "No collapsed seed" in line]
    assert "over the 12 seeds finished: **missed**: reinforce Hopper seed 4 stands (0.05 m/s)." in stability


def test_report_is_rebuilt_from_the_committed_csvs(tmp_path: Path):
    """Two seeds of VPG on Hopper: the report gives each anchor's aggregation, every seed with the median, mean and
    IQM, the late length and speed; a fresh clone (no logs) rewrites nothing and reports the same."""
    for seed, level in ((0, 1_000.0), (1, 800.0)):
        write_seed(tmp_path, "vpg", "Hopper-v5", seed, level, speed=2.0)
    committed = (tmp_path / "evaluations.csv").read_text()

    run_main("mujoco/mujoco_benchmark.py", "--report-only", "--out", str(tmp_path))
    table = (tmp_path / "mujoco.md").read_text()
    assert "| Hopper v5 / v3 | vpg | Spinning Up VPG, better of PyTorch / TF1 |" in table
    assert "| 3M | 907 (10) | 900 (2) | -7 |" in table  # the mean of 1,000 and 800
    assert "| 3M | 1,609 (10) | 900 (2) | -709 |" in table  # Tianshou A2C: the mean curve is 900 throughout
    assert "| 1M | 733 (1) | 900 (2) | +167 |" in table  # the zoo's: the median of the evaluations
    assert "| Hopper v5 / v3 | reinforce | Tianshou REINFORCE |" in table and "| 396 (10) | - (0) | - |" in table
    assert (
        "| vpg | Hopper | 2 | 900 | 900 | 900 [800, 1,000] | 1,000 / 800 | 1,000 / 800 | 1,000 / 1,000 | 2.00 / 2.00 | none |"
        in table
    )
    assert "HalfCheetah pending (0 of 5 seeds), Hopper pending (2 of 5 seeds)," in table
    assert "| Hopper-v5 | 900 (2) | 1,609 | 900 (2) | 907 | 900 (2) | 733 |" in (tmp_path / "vpg.md").read_text()
    assert "| Humanoid-v5 | - (0) | 438 |" in (tmp_path / "reinforce.md").read_text()
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


class Walker(gym.Env):
    """Episodes of 3 steps moving at 0, 1, 2 m/s (``info["x_velocity"]``); the second env's at 3x the speed."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, scale: float = 1.0):
        self.scale, self.t = scale, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.zeros(1, np.float32), 1.0, self.t == 3, False, {"x_velocity": self.scale * (self.t - 1)}


def test_rollout_motion_log_writes_each_rollouts_episode_length_and_mean_speed(tmp_path: Path):
    path = tmp_path / "motion.csv"
    env = make_vec_env(Walker, n_envs=2, env_kwargs=None, seed=0)
    env.envs[1].unwrapped.scale = 3.0
    # rollouts of 4 steps per env: episodes end at steps 3, 6, 9, 12 in each env; an episode spans two rollouts
    REINFORCE("MlpPolicy", env, n_steps=4, seed=0).learn(24, callback=RolloutMotionLog(str(path)))
    with open(path) as file:
        rows = list(csv.DictReader(file))
    assert [(int(r["timesteps"]), int(r["episodes"])) for r in rows] == [(8, 2), (16, 2), (24, 4)]
    assert all(float(row["mean_length"]) == 3.0 for row in rows)
    assert all(float(row["mean_speed"]) == pytest.approx(2.0) for row in rows)  # (1 + 3) / 2 in every rollout


def test_a_run_is_not_resumed_with_another_entry_than_it_began_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    run = mujoco_benchmark.MujocoRun("vpg", "Hopper-v5", 0)
    mujoco_benchmark.check_entry(run, tmp_path)  # begins: records today's entry
    mujoco_benchmark.check_entry(run, tmp_path)  # resumes with the same
    shipped = mujoco_benchmark.shipped_entry("vpg", "Hopper-v5")
    monkeypatch.setattr(mujoco_benchmark, "shipped_entry", lambda algo, env_id: {**shipped, "learning_rate": 0.1})
    with pytest.raises(RuntimeError, match=r"another vpg entry for Hopper-v5.*delete the folder"):
        mujoco_benchmark.check_entry(run, tmp_path)


def test_a_variant_trains_the_entry_of_its_config_and_keeps_to_it(tmp_path: Path):
    """``--config``: a run trains the entry of another zoo config file (the zoo's ``-conf``), records it, checkpoints
    on its own env count and is not resumed once the file says otherwise; without it, the shipped entry."""
    shipped = mujoco_benchmark.shipped_entry("vpg", "Hopper-v5")
    config = tmp_path / "variant.yml"
    config.write_text(yaml.safe_dump({"Hopper-v5": {**shipped, "n_envs": 2, "learning_rate": "lin_0.001"}}))
    run = mujoco_benchmark.MujocoRun("vpg", "Hopper-v5", 1001, str(config))
    mujoco_benchmark.check_entry(run, tmp_path)
    assert yaml.safe_load((run.folder(tmp_path) / "entry.yml").read_text())["learning_rate"] == "lin_0.001"
    command = mujoco_benchmark.train_command(run, run.folder(tmp_path) / "from0000000", 0, None)
    assert command[command.index("-conf") + 1] == str(config)
    assert f"'save_freq': {mujoco_benchmark.CHECKPOINT_FREQ // 2}," in command[command.index("-params") + 1]
    shipped_run = mujoco_benchmark.MujocoRun("vpg", "Hopper-v5", 0)
    assert "-conf" not in mujoco_benchmark.train_command(shipped_run, tmp_path / "from0000000", 0, None)
    config.write_text(yaml.safe_dump({"Hopper-v5": {**shipped, "n_envs": 2, "learning_rate": 0.5}}))
    with pytest.raises(RuntimeError, match=f"another vpg entry for Hopper-v5 than the one in {config}"):
        mujoco_benchmark.check_entry(run, tmp_path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "1001"], "give it an --out of its own"),
        (["--seeds", "1001", "4", "--out", "elsewhere"], r"seeds \[0, 1, 2, 3, 4\] stay out of it"),
    ],
)
def test_a_variant_needs_its_own_folder_and_tuning_seeds(args: list[str], message: str, tmp_path: Path, capsys):
    with pytest.raises(SystemExit) as stop:
        run_main("mujoco/mujoco_benchmark.py", "--config", str(tmp_path / "variant.yml"), *args)
    assert stop.value.code == 2
    assert re.search(message, capsys.readouterr().err)


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
    returns, motion, evaluations = mujoco_benchmark.run_rows(run, tmp_path)
    assert [row["timesteps"] for row in evaluations] == [2_000, 4_000]
    assert [row["timesteps"] for row in motion] == [row["timesteps"] for row in returns]
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
    returns, _, evaluations = mujoco_benchmark.run_rows(run, tmp_path)
    assert [row["timesteps"] for row in evaluations] == [2_000, 4_000, 6_000]  # 2,000 from the first part
    steps = [int(row["timesteps"]) for row in returns]
    assert steps == sorted(steps) and steps[-1] == 6_000
    first_rows = [int(row["timesteps"]) for row in csv.DictReader((first / "returns.csv").read_text().splitlines())]
    assert [step for step in steps if step <= 2_000] == [step for step in first_rows if step <= 2_000]
