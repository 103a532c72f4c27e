"""benchmarks/classic_control/zoo_tuning.py end to end (--quick): real Optuna studies on SQLite through our zoo entry
point, the recheck of the best trial against the shipped entry through the zoo benchmark's runner, and the report."""

import dataclasses
import shutil
import warnings
from pathlib import Path

import optuna
import pytest
import yaml
from shared import tables, zoo_runs

from sb3_vpg.zoo import default_config
from sb3_vpg.zoo.hyperparams_opt import sample_reinforce_params, sample_vpg_params
from tests.benchmark_scripts import import_script, read_csv, run_script

zoo_tuning = import_script("classic_control/zoo_tuning.py")


def tune(out: Path, *extra: str) -> str:
    return run_script("classic_control/zoo_tuning.py", "--quick", "--out", str(out), *extra, timeout=900)


def test_zoo_entry_rounds_the_sampled_values_and_keeps_the_discount_exact():
    study = zoo_tuning.STUDIES["vpg_CartPole-v1"]
    params = {"n_steps": 16, "one_minus_gamma": 0.0012745, "one_minus_gae_lambda": 0.05123, "learning_rate": 0.0031416,
              "vf_learning_rate": 0.000123456, "n_value_steps": 80, "normalize_advantage": "batch",
              "net_arch": "tiny", "activation_fn": "relu"}  # fmt: skip
    entry = zoo_tuning.zoo_entry(study, params)
    assert entry["gamma"] == 0.99873 and entry["gae_lambda"] == 0.9488
    assert (entry["learning_rate"], entry["vf_learning_rate"]) == (0.00314, 0.000123)
    assert (entry["n_envs"], entry["n_timesteps"], entry["n_steps"]) == (8, 100_000.0, 16)
    assert entry["policy_kwargs"] == "dict(net_arch={'pi': [64], 'vf': [64]}, activation_fn=th.nn.ReLU)"


@pytest.mark.slow
def test_quick_tuning_studies_rechecks_and_reports(tmp_path):
    out = tmp_path / "tune"
    first = tune(out)
    summary = (out / "summary.md").read_text()
    recheck = read_csv(out / "recheck.csv")
    trials = read_csv(out / "trials.csv")
    for study in zoo_tuning.QUICK_STUDIES.values():
        stored = optuna.load_study(storage=f"sqlite:///{out / 'studies' / f'{study.name}.db'}", study_name=study.name)
        assert len(stored.trials) == study.n_trials
        assert len([row for row in trials if row["study"] == study.name]) == study.n_trials
        (best,) = zoo_tuning.best_trials(study, out.resolve(), 1)
        assert best.value == max(t.value for t in stored.trials if t.state == optuna.trial.TrialState.COMPLETE)

        # the recheck trained the best trial's rounded entry, and the entry shipped today, through the zoo
        candidates = out / "candidates" / study.name
        shipped = yaml.safe_load((candidates / "shipped.yml").read_text())["CartPole-v1"]
        assert shipped == yaml.safe_load(Path(default_config(study.algo)).read_text())["CartPole-v1"]
        entry = yaml.safe_load((candidates / f"trial{best.number}.yml").read_text())["CartPole-v1"]
        assert entry == zoo_tuning.zoo_entry(study, best.params)
        for name, expected in ((f"{study.name}-trial{best.number}", entry), (f"{study.name}-shipped", shipped)):
            (config,) = (out / "logs" / name).glob("CartPole-v1_seed1001/CartPole-v1/config.yml")
            used = dict(yaml.load(config.read_text(), Loader=yaml.UnsafeLoader))
            assert used["learning_rate"] == expected["learning_rate"] and used["n_steps"] == expected["n_steps"]
        rows = [row for row in recheck if row["study"] == study.name]
        assert {row["algo"] for row in rows} == {f"{study.name}-trial{best.number}", f"{study.name}-shipped"}
        assert all(int(row["steps"]) == zoo_tuning.QUICK_SUITE.n_timesteps for row in rows)

        # the winner: a final score that holds the threshold, then the fewest steps to it, then the best final score
        def rank(row: dict) -> tuple[float, float, float]:
            never = zoo_tuning.QUICK_SUITE.n_timesteps + zoo_tuning.QUICK_SUITE.eval_freq
            holds = float(row["final_score"]) >= zoo_tuning.QUICK_SUITE.threshold
            return (-holds, float(row["steps_to_threshold"] or never), -float(row["final_score"]))

        winner = min(rows, key=rank)["algo"]
        section = summary.split(f"## {study.name}")[1].split("\n## ")[0]
        assert f"Winner: {winner}." in section

    # a run killed during a trial leaves it RUNNING in the storage (as ask() does): the rerun marks it failed
    storage = f"sqlite:///{out / 'studies' / 'vpg_CartPole-v1.db'}"
    interrupted = optuna.load_study(storage=storage, study_name="vpg_CartPole-v1").ask().number
    # and then has nothing left to do: the studies are at their number of trials, the recheck runs are reused
    second = tune(out)
    assert first.count("trained ") == 4 and second.count("reused ") == 4 and "trained " not in second
    assert "studied  vpg_CartPole-v1 (1 interrupted trials marked failed)" in second
    for study in zoo_tuning.QUICK_STUDIES.values():
        stored = optuna.load_study(storage=f"sqlite:///{out / 'studies' / f'{study.name}.db'}", study_name=study.name)
        finished = [trial for trial in stored.trials if trial.state != optuna.trial.TrialState.FAIL]
        assert len(finished) == study.n_trials
        if study.algo == "vpg":
            assert stored.trials[interrupted].state == optuna.trial.TrialState.FAIL
    reinforce_section, vpg_section = summary.split("## vpg_CartPole-v1")
    vpg_section = vpg_section.replace("Study: 3 trials (3 complete)", "Study: 4 trials (3 complete, 1 fail)", 1)
    assert (out / "summary.md").read_text() == reinforce_section + "## vpg_CartPole-v1" + vpg_section

    # A fresh clone has what is committed (trials.csv, recheck.csv, the reports, the candidates), not the databases
    # or the logs: the studies are what trials.csv records, the recheck runs what recheck.csv records, nothing is
    # trained again, and the report is the same. Another study's rows and section (a report of some studies) stay.
    summary = (out / "summary.md").read_text()
    trials, recheck = read_csv(out / "trials.csv"), read_csv(out / "recheck.csv")
    for path in (out / "studies").glob("*.db"):
        path.unlink()
    shutil.rmtree(out / "logs")
    other_trial = {field: "" for field in trials[0]} | {"study": "vpg_Acrobot-v1", "trial": "0", "state": "COMPLETE"}
    other_run = {field: "" for field in recheck[0]} | {"study": "vpg_Acrobot-v1", "algo": "vpg_Acrobot-v1-trial0"}
    tables.write_csv(out / "trials.csv", [*trials, other_trial])
    tables.write_csv(out / "recheck.csv", [*recheck, other_run])
    (out / "vpg_Acrobot-v1.md").write_text("## vpg_Acrobot-v1\n")
    third = tune(out)
    assert "trained " not in third and "reused " not in third
    for study in zoo_tuning.QUICK_STUDIES.values():
        recorded = study.n_trials + (study.algo == "vpg")  # vpg's interrupted trial, marked failed
        assert f"recorded {study.name}: {recorded} trials in trials.csv (its database is not here" in third
    assert (out / "summary.md").read_text() == summary + "\n## vpg_Acrobot-v1\n"
    assert read_csv(out / "trials.csv") == [other_trial, *trials]
    assert read_csv(out / "recheck.csv") == [other_run, *recheck]


def test_studies_tune_on_their_own_seeds_and_recheck_on_the_benchmark_suite():
    assert zoo_tuning.TUNING_SEED not in zoo_tuning.RECHECK_SEEDS
    for study in zoo_tuning.STUDIES.values():
        if study.suite.env_id in zoo_tuning.MUJOCO_ENVS:
            # the entry has the budget of mujoco_benchmark.py (its check on seeds 0-2); a recheck is 1M steps on 1001
            assert study.suite.n_timesteps == 3_000_000 and study.fixed == {"normalize": True}
            assert zoo_tuning.recheck_suite(study).n_timesteps == 1_000_000
            assert study.recheck_seeds == (1 if study.name in zoo_tuning.MUJOCO_RECHECKED else 0)
        else:
            assert study.suite is zoo_runs.SUITES[study.suite.env_id]
        assert study.trial_steps <= study.suite.n_timesteps
    # the zoo benchmark's seeds stay held out
    assert {zoo_tuning.TUNING_SEED, *zoo_tuning.RECHECK_SEEDS}.isdisjoint(range(5))


def test_recheck_contenders_of_two_studies_of_one_algorithm_keep_their_own_entries(tmp_path):
    """The same trial number in two studies of one algorithm names two contenders, each training its own study's
    entry (the contenders share one table of variants)."""
    studies = [zoo_tuning.STUDIES["reinforce_CartPole-v1"], zoo_tuning.STUDIES["reinforce_Acrobot-v1"]]
    (tmp_path / "studies").mkdir()
    params = {"n_steps": 32, "one_minus_gamma": 0.01, "learning_rate": 0.001, "normalize_advantage": "batch",
              "net_arch": "small", "activation_fn": "tanh"}  # fmt: skip
    distributions = {key: optuna.distributions.CategoricalDistribution([value]) for key, value in params.items()}
    for study in studies:
        stored = optuna.create_study(storage=zoo_tuning.storage_url(study, tmp_path), study_name=study.name)
        stored.add_trial(optuna.trial.create_trial(params=params, distributions=distributions, value=1.0))
    runs = [
        run for study in studies for run in zoo_tuning.recheck_runs(study, zoo_tuning.candidates(study, tmp_path, 1), (1001,))
    ]
    names = [run.algo for run in runs]
    assert len(set(names)) == len(names) == 4
    for run in runs:
        assert run.zoo_algo == "reinforce"
        assert run.variant is not None
        assert list(yaml.safe_load(Path(run.variant.config).read_text())) == [run.suite.env_id]


def test_a_report_does_not_copy_todays_entry_as_the_one_rechecked(tmp_path):
    """shipped.yml is the entry shipped when the recheck first ran; a report written later (after a new entry was
    shipped) must not create it from today's zoo config."""
    study = zoo_tuning.STUDIES["vpg_CartPole-v1"]
    (tmp_path / "studies").mkdir()
    params = {"n_steps": 16, "one_minus_gamma": 0.01, "one_minus_gae_lambda": 0.05, "learning_rate": 0.001,
              "vf_learning_rate": 0.001, "n_value_steps": 5, "normalize_advantage": "batch", "net_arch": "tiny",
              "activation_fn": "relu"}  # fmt: skip
    distributions = {key: optuna.distributions.CategoricalDistribution([value]) for key, value in params.items()}
    stored = optuna.create_study(storage=zoo_tuning.storage_url(study, tmp_path), study_name=study.name)
    stored.add_trial(optuna.trial.create_trial(params=params, distributions=distributions, value=1.0))
    shipped = tmp_path / "candidates" / study.name / "shipped.yml"

    reported = zoo_tuning.candidates(study, tmp_path, 1, copy_shipped=False)
    assert not shipped.exists() and list(reported) == [f"{study.name}-trial0"]
    rechecked = zoo_tuning.candidates(study, tmp_path, 1)
    assert shipped.exists() and f"{study.name}-shipped" in rechecked
    assert zoo_tuning.candidates(study, tmp_path, 1, copy_shipped=False) == rechecked


def test_a_variation_is_its_base_contender_with_the_changed_keys(tmp_path):
    base = zoo_tuning.STUDIES["reinforce_CartPole-v1"]
    study = dataclasses.replace(base, variations=(("trial0-lin", "trial0", {"learning_rate": "lin_0.001"}),))
    (tmp_path / "studies").mkdir()
    params = {"n_steps": 32, "one_minus_gamma": 0.01, "learning_rate": 0.002, "normalize_advantage": "batch",
              "net_arch": "small", "activation_fn": "tanh"}  # fmt: skip
    distributions = {key: optuna.distributions.CategoricalDistribution([value]) for key, value in params.items()}
    stored = optuna.create_study(storage=zoo_tuning.storage_url(study, tmp_path), study_name=study.name)
    stored.add_trial(optuna.trial.create_trial(params=params, distributions=distributions, value=1.0))

    found = zoo_tuning.candidates(study, tmp_path, 1)
    assert list(found) == [f"{study.name}-{name}" for name in ("shipped", "trial0", "trial0-lin")]
    trial = yaml.safe_load(found[f"{study.name}-trial0"].read_text())["CartPole-v1"]
    variation = yaml.safe_load(found[f"{study.name}-trial0-lin"].read_text())["CartPole-v1"]
    assert variation == {**trial, "learning_rate": "lin_0.001"} and trial["learning_rate"] == 0.002

    # a variation of a contender that is not rechecked is an error, not a silent copy of something else
    orphan = dataclasses.replace(base, variations=(("trial7-lin", "trial7", {"learning_rate": "lin_0.001"}),))
    with pytest.raises(ValueError, match="trial7"):
        zoo_tuning.candidates(orphan, tmp_path, 1)


def test_an_entry_that_falls_away_from_the_threshold_ranks_behind_one_that_holds_it():
    study = zoo_tuning.STUDIES["reinforce_InvertedPendulum-v5"]
    fast_then_falls = [{"steps_to_threshold": 10_000, "final_score": score} for score in (473.6, 821.2, 1000.0)]
    slower_holds = [{"steps_to_threshold": 20_000, "final_score": 1000.0} for _ in range(3)]
    slowest_holds = [{"steps_to_threshold": 50_000, "final_score": 1000.0} for _ in range(3)]
    ranked = sorted([fast_then_falls, slowest_holds, slower_holds], key=lambda rows: zoo_tuning.rank_key(study, rows))
    assert ranked == [slower_holds, slowest_holds, fast_then_falls]


def test_late_score_is_the_mean_of_the_evaluations_after_half_the_budget():
    evaluations = [{"timesteps": t, "eval_mean": m} for t, m in ((250, 9.0), (500, 1.0), (750, 2.0), (1000, 6.0))]
    assert zoo_tuning.late_score(evaluations, 1000) == 4.0  # (2 + 6) / 2: the one at exactly half is not late


def test_an_entry_that_swings_between_evaluations_ranks_behind_one_that_stays_good():
    """MuJoCo's recheck ranks by the median over seeds of the late mean, not by the final evaluation (which a
    swinging entry may happen to catch high)."""
    study = zoo_tuning.STUDIES["vpg_HalfCheetah-v5"]
    swinging = [{"final_score": 1600.0, "late_score": 70.0}]
    steady = [{"final_score": 1400.0, "late_score": 1300.0}]
    assert sorted([swinging, steady], key=lambda rows: zoo_tuning.rank_key(study, rows)) == [steady, swinging]
    seeds = [{"final_score": 0.0, "late_score": score} for score in (100.0, 900.0, 200.0)]
    assert zoo_tuning.rank_key(study, seeds) == (-200.0,)


def test_a_recheck_run_that_diverged_is_a_row_that_ranks_last(tmp_path):
    """A run that stopped on NonFiniteError is the entry's result on that seed, not a crash to retry."""
    study = zoo_tuning.STUDIES["reinforce_Hopper-v5"]
    run = zoo_runs.Run("reinforce_Hopper-v5-trial3", zoo_tuning.recheck_suite(study), 1001)
    log = tmp_path / "scratch" / run.algo / run.name / "train.log"
    log.parent.mkdir(parents=True)
    error = (
        "the gradient norm of the policy step of update 591 overflows (every entry is finite, the largest 3e+20 in log_std)"
    )
    log.write_text(f"Traceback (most recent call last):\n  ...\nsb3_vpg.reinforce.reinforce.NonFiniteError: {error}\n")
    row = zoo_tuning.recheck_row(study, run, tmp_path, {})
    assert row == {"study": study.name, "algo": run.algo, "env": "Hopper-v5", "seed": 1001, "diverged": error}
    calm = {"final_score": -5.0, "late_score": 3.0}
    assert sorted([[row], [calm]], key=lambda rows: zoo_tuning.rank_key(study, rows)) == [[calm], [row]]
    crashed = zoo_runs.Run("reinforce_Hopper-v5-calm", zoo_tuning.recheck_suite(study), 1001)
    other_log = tmp_path / "scratch" / crashed.algo / crashed.name / "train.log"
    other_log.parent.mkdir(parents=True)
    other_log.write_text("Traceback (most recent call last):\nKeyError: 'n_steps'\n")
    assert zoo_tuning.recheck_row(study, crashed, tmp_path, {}) is None  # a crash is no result: retried


def test_a_mujoco_recheck_trains_1m_steps_of_entries_that_keep_3m_and_runs_the_shipped_trial_once(tmp_path):
    study = zoo_tuning.STUDIES["vpg_HalfCheetah-v5"]
    (tmp_path / "studies").mkdir()
    params = {"n_steps": 256, "one_minus_gamma": 0.01, "one_minus_gae_lambda": 0.03, "learning_rate": 0.005,
              "n_value_steps": 80, "normalize_advantage": "none", "net_arch": "small", "activation_fn": "tanh",
              "value_optimizer": "shared"}  # fmt: skip
    distributions = {key: optuna.distributions.CategoricalDistribution([value]) for key, value in params.items()}
    stored = optuna.create_study(storage=zoo_tuning.storage_url(study, tmp_path), study_name=study.name)
    for value in (1.0, 2.0, 3.0, 4.0):  # trial 3 wins, as in the study the variation was written for
        stored.add_trial(optuna.trial.create_trial(params=params, distributions=distributions, value=value))
    # the entry shipped when the recheck first runs is trial 3's
    shipped = tmp_path / "candidates" / study.name / "shipped.yml"
    shipped.parent.mkdir(parents=True)
    shipped.write_text(yaml.safe_dump({"HalfCheetah-v5": zoo_tuning.zoo_entry(study, params)}))

    found = zoo_tuning.candidates(study, tmp_path, study.top)
    assert list(found) == [f"{study.name}-trial3", f"{study.name}-calm"]
    trial = yaml.safe_load(found[f"{study.name}-trial3"].read_text())["HalfCheetah-v5"]
    calm = yaml.safe_load(found[f"{study.name}-calm"].read_text())["HalfCheetah-v5"]
    assert calm == {**trial, "learning_rate": 0.001, "normalize_advantage": "batch"}
    assert trial["n_timesteps"] == calm["n_timesteps"] == 3_000_000  # what ships
    runs = zoo_tuning.recheck_runs(study, found, (1001,))
    assert [(run.algo, run.seed, run.suite.n_timesteps) for run in runs] == [
        (f"{study.name}-trial3", 1001, 1_000_000),
        (f"{study.name}-calm", 1001, 1_000_000),
    ]
    assert "-n 1000000" in " ".join(zoo_runs.train_command(runs[0], tmp_path))


def test_lunar_lander_studies_begin_with_their_starting_points_queued_once(tmp_path):
    """Every starting point gives the sampler a value for each parameter it suggests, inside its range; a new
    study runs them first (queued in the storage), a study that exists is left as it is."""
    samplers = {"reinforce": sample_reinforce_params, "vpg": sample_vpg_params}
    (tmp_path / "studies").mkdir()
    for algo in ("reinforce", "vpg"):
        study = zoo_tuning.STUDIES[f"{algo}_LunarLander-v3"]
        assert study.starting_points
        for params in study.starting_points:
            trial = optuna.trial.FixedTrial(params)
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # FixedTrial warns about a value outside a suggested range
                kwargs = samplers[algo](trial, 4, study.n_envs, {})
            assert set(trial.params) == set(params)  # nothing queued that the sampler does not suggest
            assert kwargs["n_steps"] == params["n_steps"] and kwargs["gamma"] == 1 - params["one_minus_gamma"]
        for _ in range(2):
            zoo_tuning.begin_study(study, tmp_path)
        stored = optuna.load_study(storage=zoo_tuning.storage_url(study, tmp_path), study_name=study.name)
        assert stored.direction == optuna.study.StudyDirection.MAXIMIZE
        queued = stored.get_trials(states=(optuna.trial.TrialState.WAITING,))
        assert [trial.system_attrs["fixed_params"] for trial in queued] == list(study.starting_points)
