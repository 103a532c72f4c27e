"""The Pong preset tuner: its sampler builds Karpathy's agent, and a short study runs on the real emulator,
resumes from its Optuna journal and reports every trial."""

import json

import optuna
import pytest
import torch as th

from sb3_vpg import REINFORCE
from sb3_vpg.common.sparse import SparseEpisodicRolloutBuffer
from sb3_vpg.pong.configs import PRESETS, points_karpathy_kwargs, pong_preset_kwargs
from sb3_vpg.pong.run import make_env
from sb3_vpg.pong.tuning import POINTS_TRIAL, sample_pong_params
from tests.benchmark_scripts import read_csv, run_script

pytest.importorskip("ale_py")


def test_the_points_preset_is_the_studys_best_trial():
    assert pong_preset_kwargs(POINTS_TRIAL) == (PRESETS["points"].n_envs, points_karpathy_kwargs())


@pytest.mark.parametrize("sampler_seed", [0, 1, 2])
def test_sampled_configurations_are_karpathys_agent(sampler_seed):
    """Whatever the sampler picks, the model keeps the 6,400-pixel input, 200 ReLU units, the Bernoulli output and
    point-boundary Monte-Carlo returns, and an update takes every finished point."""
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=sampler_seed)).ask()
    params = sample_pong_params(trial)
    n_envs, kwargs = pong_preset_kwargs(params)
    assert n_envs == params["n_envs"]
    env = make_env(n_envs, 0, vector_env=True)
    try:
        model = REINFORCE(env=env, **kwargs)
        hidden, logit = model.policy.mlp_extractor.layer, model.policy.action_net
        assert (hidden.in_features, hidden.out_features, logit.out_features) == (6400, 200, 1)
        pixels = th.randn(3, 6400)
        th.testing.assert_close(model.policy.mlp_extractor.forward_actor(pixels), th.relu(pixels @ hidden.weight.T))
        assert model.action_space.n == 2 and model.reset_on_reward and model.gae_lambda == 1.0
        assert model.n_steps == params["n_steps"] and model.n_episodes is None
        assert isinstance(model.rollout_buffer, SparseEpisodicRolloutBuffer)
        assert model.rollout_buffer.ready_at == "point"
        assert model.use_baseline is params["use_baseline"] and model.gamma == params["gamma"]
        optimizer = {"rmsprop": th.optim.RMSprop, "adam": th.optim.Adam}[params["optimizer"]]
        assert type(model.policy.optimizer) is optimizer
    finally:
        env.close()


@pytest.mark.slow
def test_a_short_study_runs_resumes_and_reports(tmp_path):
    guess = tmp_path / "guess.json"
    guess.write_text(json.dumps(dict(n_envs=4, n_steps=64, learning_rate=1e-3, optimizer="adam",
                                     normalize_advantage="batch", ent_coef=0.0, gamma=0.99, use_baseline=True)))  # fmt: skip
    out = tmp_path / "study"
    # a simulated clock of 2,000 agent steps a second (500 per game of the 4): the first report, at 3 seconds, comes
    # after 1,500 steps of each game, more than a lost game lasts (about 1,000); a trial's 9 seconds are 18,000 agent
    # steps, whatever the machine's speed
    args = ["--out", str(out), "--minutes", "0.15", "--report-seconds", "3", "--enqueue", str(guess)]
    args += ["--seconds-per-step", "0.0005"]
    run_script("pong/pong_preset_tuning.py", *args, "--trials", "1", timeout=300)
    run_script("pong/pong_preset_tuning.py", *args, "--trials", "2", timeout=300)  # resumes the same study
    trials = read_csv(out / "trials.csv")
    assert [row["trial"] for row in trials] == ["0", "1"]
    assert all(row["state"] == "complete" for row in trials)
    assert trials[0]["optimizer"] == "adam" and trials[0]["use_baseline"] == "True"  # the enqueued guess first
    for row in trials:
        games = read_csv(out / f"trial-{row['trial']}" / "episodes.csv")
        assert games, "a trial of 9 seconds finishes games"
        assert float(row["running_reward"]) == pytest.approx(float(games[-1]["running_reward"]), abs=0.01)
        assert int(row["episodes"]) == len(games)
        assert "minute_0.05" in row  # the first report, at 3 seconds
    assert "Best: trial" in (out / "summary.md").read_text()
