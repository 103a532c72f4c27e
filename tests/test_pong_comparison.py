"""benchmarks/pong/pong_comparison.py end to end through the real rl_zoo3 CLI and the real ALE, on a short budget."""

from pathlib import Path

import matplotlib.image
import pytest
import yaml

from sb3_vpg.pong.scores import running_reward
from tests.benchmark_scripts import read_csv, run_script

pytest.importorskip("ale_py")

MINUTES = 0.3
CONTENDERS = ("reinforce-fast", "reinforce")


def run_benchmark(out: Path) -> str:
    args = ("--minutes", str(MINUTES), "--seeds", "0", "--out", str(out), "--contenders", *CONTENDERS)
    return run_script("pong/pong_comparison.py", *args, timeout=600)


@pytest.mark.slow
def test_contenders_train_for_the_wall_clock_and_the_report_follows_the_games(tmp_path):
    out = tmp_path / "pong"
    first = run_benchmark(out)
    assert first.count("trained ") == len(CONTENDERS)

    # each contender trained with its own hyperparameters: the fast preset's module config, the exact yml entry
    def hyperparams(contender: str) -> dict:
        (config,) = (out / "logs" / contender).glob("KarpathyPong-v0_seed0/KarpathyPong-v0/config.yml")
        return dict(yaml.load(config.read_text(), Loader=yaml.UnsafeLoader))

    assert (hyperparams("reinforce-fast")["learning_rate"], hyperparams("reinforce-fast")["n_envs"]) == (1e-3, 4)
    assert (hyperparams("reinforce")["learning_rate"], hyperparams("reinforce")["n_envs"]) == (1e-4, 1)

    rows = {row["contender"]: row for row in read_csv(out / "runs.csv")}
    assert set(rows) == set(CONTENDERS)
    table = (out / "comparison.md").read_text()
    for contender, row in rows.items():
        games = read_csv(out / "episodes" / f"{contender}_seed0.csv")
        assert int(row["games"]) == len(games) > 0
        assert int(row["steps"]) == int(games[-1]["steps"])
        steps = [int(game["steps"]) for game in games]
        assert steps == sorted(set(steps))  # strictly increasing
        minutes = [float(game["minutes"]) for game in games]
        assert minutes == sorted(minutes) and minutes[-1] < MINUTES + 0.2  # stopped by the wall clock
        value = None  # Karpathy's running reward, recomputed from the scores
        for game in games:
            value = running_reward(value, float(game["score"]))
            assert float(game["running_reward"]) == pytest.approx(value, abs=1e-4)
        # a fresh agent loses every point it can in 18 seconds: no threshold is passed
        assert row["minutes_to_-10"] == row["steps_to_0"] == ""
    assert table.count("not reached") == 6 * len(CONTENDERS)  # minutes and steps to -10, -5, 0 of each run
    image = matplotlib.image.imread(out / "curves.png")
    assert image.ndim == 3 and image.shape[1] > 500

    again = run_benchmark(out)  # finished runs are reused, the report is the same
    assert again.count("reused ") == len(CONTENDERS) and "trained " not in again
    assert {row["contender"]: row for row in read_csv(out / "runs.csv")} == rows
    assert (out / "comparison.md").read_text() == table
