"""benchmarks/classic_control/episode_batching.py: the probe's policy lags against hand-computed ones, and the script
end to end."""

from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_vpg import REINFORCE
from tests.benchmark_scripts import import_script, read_csv, run_main
from tests.envs import TinyFeatureEnv

episode_batching = import_script("classic_control/episode_batching.py")


def test_the_probe_gives_each_trained_step_the_age_of_its_policy():
    """One env, episodes of 10 steps, rollouts of 4 steps; a rollout in which no episode ended makes no update.
    Steps 1-12 act with policy 0 and episode 1 (steps 1-10) enters update 0, after step 12. Steps 13-20 act with
    policy 1 (no update after step 16: no episode ended in 13-16); episode 2 (steps 11-20) enters update 1: its
    first two steps acted with policy 0, so their lag is 1."""
    model = REINFORCE("MlpPolicy", DummyVecEnv([lambda: TinyFeatureEnv(ep_length=10)]), n_steps=4, seed=0)
    probe = episode_batching.BatchingProbe()
    model.learn(20, callback=probe)
    assert probe.trained == [(0, [0] * 10), (1, [0, 0] + [1] * 8)]
    figures = episode_batching.lag_figures(probe.trained)
    assert figures["lag_max"] == 1 and figures["lagged_share"] == 2 / 20 and figures["lag_median"] == 0


def test_the_script_writes_its_table_and_plot(tmp_path):
    run_main("classic_control/episode_batching.py", "--steps", "2000", "--seeds", "0", "--out", str(tmp_path))
    rows = read_csv(tmp_path / "runs.csv")
    assert [row["mode"] for row in rows] == list(episode_batching.MODES)
    for row in rows:
        assert int(row["episodes_trained"]) <= int(row["episodes_generated"])
        assert 0 <= float(row["lagged_share"]) <= 1
    table = (tmp_path / "batching.md").read_text()
    assert all(f"| {mode} |" in table for mode in episode_batching.MODES)
    assert (tmp_path / "batching.png").stat().st_size > 0
