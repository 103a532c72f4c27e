"""benchmarks/speed/vec_env_throughput.py end to end. Not in test_ray_vec_env.py: the script starts a Ray cluster
of its own, which waits for that module's cluster to stop, and a module-scoped fixture stops only when its module
is done (the same process would wait for itself)."""

import pytest

from tests.conftest import one_ray_cluster_at_a_time

pytest.importorskip("ray", reason="the [ray] extra installs Ray")

pytestmark = pytest.mark.slow  # a Ray cluster starts


def test_vec_env_throughput_benchmark_writes_its_tables(tmp_path):
    """benchmarks/speed/vec_env_throughput.py on a small budget (its own local Ray cluster, in a process of its own):
    every configuration measured on every env, the table's ratios, the round trip and the estimate on paper."""
    from tests.benchmark_scripts import read_csv, run_script

    with one_ray_cluster_at_a_time():
        args = ("--repeats", "1", "--n-envs", "2", "4", "--scale", "0.01", "--out", str(tmp_path))
        run_script("speed/vec_env_throughput.py", *args, timeout=600)
    rows = read_csv(tmp_path / "runs.csv")
    measured = {(row["vec_env"], row["env_id"], int(row["n_envs"])) for row in rows}
    assert measured == {(kind, "CartPole-v1", 1) for kind in ("DummyVecEnv", "SubprocVecEnv", "RayVecEnv")} | {
        (kind, env_id, n)
        for kind in ("DummyVecEnv", "SubprocVecEnv", "RayVecEnv")
        for env_id in ("CartPole-v1", "HalfCheetah-v5", "KarpathyPong-v0")
        for n in (2, 4)
    }
    for row in rows:
        assert float(row["env_steps_per_s"]) == pytest.approx(int(row["n_envs"]) / float(row["seconds_per_step"]))
    summary = (tmp_path / "summary.md").read_text()
    assert summary.count("| KarpathyPong-v0 |") == 2 and "Round trip" in summary
    assert "| 64 |" in summary and "hours per 10M agent steps" in summary
