"""benchmarks/pong/pong_head_to_head.py on short budgets: real SB3 PPO/A2C on the real KarpathyPongVecEnv, our preset
through its CLI, and the zoo's PPO through the real rl_zoo3 CLI on the real ALE."""

import json
import shutil
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from sb3_vpg.pong.scores import running_reward
from tests.benchmark_scripts import import_script, read_csv, run_script

ale_py = pytest.importorskip("ale_py")

ENTRIES = """
ppo-short:
  algo: ppo
  n_envs: 4
  n_steps: 64
  n_epochs: 1
  batch_size: 128
a2c-short:
  algo: a2c
  n_envs: 4
  rmsprop_tf_like: true
"""


def assert_games_logged(path: Path, minutes: float) -> list[dict]:
    """A run's episodes.csv: games with steps strictly increasing, within the wall clock, and Karpathy's running
    reward recomputed from the scores."""
    games = read_csv(path)
    assert games, f"{path}: no game"
    steps = [int(game["steps"]) for game in games]
    assert steps == sorted(set(steps))
    assert float(games[-1]["wall_seconds"]) <= minutes * 60 + 15
    value = None
    for game in games:
        assert float(game["score"]) in range(-21, 22)
        value = running_reward(value, float(game["score"]))
        assert float(game["running_reward"]) == pytest.approx(value, abs=1e-4)
    return games


def test_zoo_monitor_sees_whole_games_with_their_score():
    """The zoo's PPO env (make_vec_env with AtariWrapper, as rl_zoo3 builds it): its Monitor, inside AtariWrapper,
    logs a whole 21-point game with the score the agent's rewards add up to, and its length in raw frames (4 per
    agent step, plus the resets' no-ops), which is how the benchmark reads the zoo run's games."""
    from stable_baselines3.common.atari_wrappers import AtariWrapper
    from stable_baselines3.common.env_util import make_vec_env

    gym.register_envs(ale_py)
    env = make_vec_env("PongNoFrameskip-v4", n_envs=1, seed=0, wrapper_class=AtariWrapper)
    env.reset()
    rng = np.random.default_rng(0)
    agent_steps, rewards = 0, 0.0
    while True:
        _, reward, done, infos = env.step(rng.integers(0, env.action_space.n, size=1))
        agent_steps, rewards = agent_steps + 1, rewards + float(reward[0])
        if "episode" in infos[0]:
            break
    game = infos[0]["episode"]
    env.close()
    assert done[0] and game["r"] == rewards
    assert game["r"] in range(-21, 0)  # the built-in AI reached 21 first: a random agent loses
    assert 4 * agent_steps <= game["l"] <= 4 * agent_steps + 31 + 2  # noop reset (<= 30) and fire reset


@pytest.mark.slow
def test_tuning_trains_every_entry_and_picks_the_best(tmp_path):
    entries = tmp_path / "entries.yml"
    entries.write_text(ENTRIES)
    # each entry stops once each of its 4 games has ended one game (or after 5 minutes, far more than it needs
    # even beside other tests: the check does not depend on the machine's speed)
    args = ("--minutes", "5", "--stop-after-games", "1", "--entries", str(entries))
    args += ("--runs", str(tmp_path / "runs"))
    first = run_script("pong/pong_sb3_tuning.py", *args, "--out", str(tmp_path / "out"), timeout=900)
    assert first.count("tuning ") == 2
    rows = {row["entry"]: row for row in read_csv(tmp_path / "out" / "tuning.csv")}
    assert set(rows) == {"ppo-short", "a2c-short"}
    for name, row in rows.items():
        games = assert_games_logged(tmp_path / "runs" / f"{name}_5min" / "seed0" / "episodes.csv", 5)
        assert len(games) >= 4  # SB3's StopTrainingOnMaxEpisodes: 1 game per env, 4 envs
        assert int(row["games"]) == len(games) and int(row["steps"]) == int(games[-1]["steps"])
        assert float(row["running_reward"]) == pytest.approx(float(games[-1]["running_reward"]), abs=0.006)
    table = (tmp_path / "out" / "tuning.md").read_text()
    assert "Best, and so head to head: PPO `ppo-short`, A2C `a2c-short`" in table  # one entry of each
    again = run_script("pong/pong_sb3_tuning.py", *args, "--out", str(tmp_path / "out"), timeout=600)
    assert again.count("reused ") == 2 and "tuning " not in again


def test_best_entry_comes_from_the_committed_tuning_where_its_runs_are_gone(tmp_path):
    """A fresh machine has the committed tuning.csv, not the tuning's run folders: the head-to-head still picks
    the entries that did best there (here the second of each algorithm, not the zoo's settings)."""
    from shared import pong_entries

    (tmp_path / "tuning.csv").write_text(
        "entry,algo,minutes,games,steps,steps_per_second,running_reward\n"
        "ppo-zoo-atari,ppo,15.0,392,1246600,1385,-1.79\nppo-lr-1e-3,ppo,15.0,376,1208728,1343,2.5\n"
        "a2c-zoo-atari,a2c,15.0,1715,1903440,2115,-19.87\na2c-lr-2.5e-4,a2c,15.0,1958,1954480,2172,-19.5\n"
        "ppo-n-steps-512,ppo,10.0,463,1593320,1770,9.0\n"  # another tuning length: not this one
    )
    runs = tmp_path / "runs"  # no run folder at all
    entries = pong_entries.read_entries(pong_entries.DEFAULT_ENTRIES)
    assert pong_entries.best_entry(entries, "ppo", runs, 15.0, tmp_path) == "ppo-lr-1e-3"
    assert pong_entries.best_entry(entries, "a2c", runs, 15.0, tmp_path) == "a2c-lr-2.5e-4"
    assert pong_entries.best_entry(entries, "ppo", runs, 20.0, tmp_path) == "ppo-zoo-atari"  # untuned at 20 minutes


def test_recorded_command_names_repository_paths_relative_to_its_root():
    """A committed run record names no machine's folders: paths inside the repository become relative to its root,
    where the commands run; paths outside it (a scratch folder) stay as they are."""
    pong_head_to_head = import_script("pong/pong_head_to_head.py")

    root = pong_head_to_head.ROOT
    command = f"{root}/benchmarks/pong/head_to_head_worker.py ppo-zoo-atari --run-folder {root}/runs/h2h/seed0"
    command += f" --entries {root}/benchmarks/configs/pong_head_to_head.yml --out /scratch/out"
    assert pong_head_to_head.recorded_command(command) == (
        "benchmarks/pong/head_to_head_worker.py ppo-zoo-atari --run-folder runs/h2h/seed0"
        " --entries benchmarks/configs/pong_head_to_head.yml --out /scratch/out"
    )


@pytest.mark.slow
def test_head_to_head_trains_our_preset_and_the_zoo_ppo_and_reports_them(tmp_path):
    # budgets in games, not in time: ours stops after one update (10 games of its 4), the zoo's PPO once each of its
    # 8 envs has ended a game (~7,000 agent steps); their clock of 10 minutes is far more than either needs
    minutes = 10
    args = ("--contenders", "reinforce", "ppo-zoo", "--minutes", str(minutes), "--seeds", "0", "--config", "fast")
    args += ("--stop-after-games", "1")
    args += ("--runs", str(tmp_path / "runs" / "head_to_head"), "--out", str(tmp_path / "out"))
    first = run_script("pong/pong_head_to_head.py", *args, timeout=900)
    assert [line.split()[1] for line in first.splitlines() if line.startswith("training ")] == ["reinforce", "ppo-zoo"]
    # ours through the Pong CLI, in pong_fast_preset.py's run folders; the zoo's PPO through the rl_zoo3 CLI
    ours = tmp_path / "runs" / "pong_fast" / "seed0"
    assert json.loads((ours / "state.json").read_text())["config"] == "fast"
    zoo = tmp_path / "runs" / "head_to_head" / f"ppo-zoo_{minutes:g}min" / "seed0"
    (config,) = zoo.glob("zoo/ppo/PongNoFrameskip-v4_1/PongNoFrameskip-v4/config.yml")
    assert "CnnPolicy" in config.read_text() and "AtariWrapper" in config.read_text()
    rows = {row["contender"]: row for row in read_csv(tmp_path / "out" / "runs.csv")}
    assert set(rows) == {"reinforce", "ppo-zoo"}
    for contender, folder in (("reinforce", ours), ("ppo-zoo", zoo)):
        games = assert_games_logged(folder / "episodes.csv", minutes)
        assert read_csv(tmp_path / "out" / "episodes" / f"{contender}_seed0.csv") == games  # the run's games, copied
        record = json.loads((tmp_path / "out" / "episodes" / f"{contender}_seed0.json").read_text())
        assert (record["contender"], record["seed"], record["minutes"]) == (contender, 0, minutes)
        assert int(rows[contender]["games"]) == len(games) and int(rows[contender]["steps"]) == int(games[-1]["steps"])
        assert rows[contender]["minutes_to_-10"] == rows[contender]["steps_to_10"] == ""  # a fresh agent loses
        assert rows[contender]["running_reward_at_30_min"] == ""  # past the budget
    # the zoo's games: agent steps are the monitor's frames / 4
    monitors = zoo.glob("zoo/ppo/PongNoFrameskip-v4_1/*.monitor.csv")
    frames = [int(line.split(",")[1]) for path in monitors for line in path.read_text().splitlines()[2:]]
    assert len(frames) == len(read_csv(zoo / "episodes.csv"))
    assert int(read_csv(zoo / "episodes.csv")[-1]["steps"]) == sum(length // 4 for length in frames)
    table = (tmp_path / "out" / "head_to_head.md").read_text()
    assert "our 'fast' preset" in table and "the zoo's PPO (CnnPolicy, PongNoFrameskip-v4)" in table
    again = run_script("pong/pong_head_to_head.py", *args, timeout=600)
    assert again.count("reused ") == 2 and "\ntraining " not in again
    assert (tmp_path / "out" / "head_to_head.md").read_text() == table
    # a fresh machine: the committed results, no run folder; nothing is trained again and the report is the same
    shutil.rmtree(tmp_path / "runs")
    fresh = run_script("pong/pong_head_to_head.py", *args, timeout=600)
    assert fresh.count("reused ") == 2 and "\ntraining " not in fresh
    assert (tmp_path / "out" / "head_to_head.md").read_text() == table
    assert not (tmp_path / "runs" / "pong_fast").exists()


@pytest.mark.slow
def test_threads_ab_times_both_thread_counts_interleaved(tmp_path):
    entries = tmp_path / "entries.yml"
    entries.write_text(ENTRIES)
    args = ("ppo-short", "--minutes", "5", "--reps", "2", "--stop-after-games", "1", "--entries", str(entries))
    out = ("--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out"))
    run_script("speed/pong_sb3_threads.py", *args, *out, timeout=600)
    rows = read_csv(tmp_path / "out" / "threads.csv")
    # repetition 0 runs 1 thread first, repetition 1 runs 2 threads first
    assert [(row["rep"], row["torch_threads"]) for row in rows] == [("0", "1"), ("0", "2"), ("1", "2"), ("1", "1")]
    speed = {}
    for row in rows:
        folder = tmp_path / "runs" / "threads" / f"ppo-short_{row['torch_threads']}threads_rep{row['rep']}"
        games = assert_games_logged(folder / "episodes.csv", 5)
        expected = int(games[-1]["steps"]) / float(games[-1]["wall_seconds"])
        assert int(row["steps_per_second"]) == pytest.approx(expected, abs=1)
        speed[int(row["torch_threads"]), int(row["rep"])] = int(row["steps_per_second"])
    ratios = sorted(speed[2, rep] / speed[1, rep] for rep in (0, 1))
    one, two = ((speed[t, 0] + speed[t, 1]) / 2 for t in (1, 2))  # the median of two
    line = f"| ppo-short | {one:,.0f} | {two:,.0f} | {sum(ratios) / 2:.2f} [{ratios[0]:.2f}, {ratios[1]:.2f}] |"
    assert line in (tmp_path / "out" / "threads.md").read_text()
