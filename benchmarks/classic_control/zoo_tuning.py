"""
Tuning REINFORCE and VPG with our own tuning path, then choosing the entries to ship on more tuning seeds.

1. **Study.** ``python -m sb3_vpg.zoo train --algo <algo> --env <env> -optimize`` with our samplers (TPE, median
   pruner), one SQLite file per study (``<out>/studies/<study>.db``, not committed). The zoo's objective is the
   mean of the last evaluation (10 episodes), so a trial's budget is the number of steps we want the env solved
   in: the study looks for entries that are good *early*. Trials run on the tuning seed 1000 (the zoo seeds the
   envs, not the model). ``--max-total-trials`` makes a rerun continue a study up to its number of trials (a
   trial that a killed run left running is marked failed first).
2. **Recheck.** The best trials of a study, the entry shipped in ``zoo_configs/`` when the study began, and
   the study's hand-written variations of these (``Study.variations``), trained through the zoo exactly as
   ``shared.zoo_runs`` trains them (the benchmark's budget, evaluation grid and threshold) on the tuning seeds
   1001-1003. They are ranked by the seeds whose final evaluation holds the threshold, then by median steps to the
   threshold (a run that never gets there counts as the budget plus one evaluation) and mean final score, or, for
   LunarLander (the goal is the final model), by median final score. The first is the entry to ship. The
   benchmark's seeds 0-4 stay held out. MuJoCo's studies are rechecked on seed 1001 only, for 1M of the
   benchmark's 3M steps, and ranked by the mean of the evaluations after 500k steps (see ``MUJOCO_RECHECKED``).
3. **Report.** ``<study>.md`` (trials by state, the best trials and their parameters, the recheck, the winning
   zoo entry), ``summary.md`` (all of them), ``trials.csv`` (every trial) and ``recheck.csv`` (every run).

    python benchmarks/classic_control/zoo_tuning.py                              # every study but LunarLander's
    python benchmarks/classic_control/zoo_tuning.py --studies vpg_LunarLander-v3  # hours: resumable across sessions
    python benchmarks/classic_control/zoo_tuning.py --studies vpg_HalfCheetah-v5  # MuJoCo: 20-40 minutes
    python benchmarks/classic_control/zoo_tuning.py --studies vpg_CartPole-v1 --trials 10 --out /tmp/tune  # a small one
    python benchmarks/classic_control/zoo_tuning.py --report-only

Studies run ``--workers`` at a time (one torch thread each), then the rechecks. An interrupted tuning resumes:
a study continues to its number of trials and finished recheck runs are reused.

The databases and the runs' logs stay on the machine that made them; what is committed is ``trials.csv`` and
``recheck.csv``. On a machine without a study's database (a fresh clone), the study is what ``trials.csv`` records
(it is not continued: its sampler state is gone), and a recheck run whose logs are gone but which ``recheck.csv``
records is not trained again. A report of some studies keeps the other studies' rows and sections.
"""

import argparse
import dataclasses
import math
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import yaml

from sb3_vpg.common.files import write_text_whole
from sb3_vpg.zoo import default_config
from sb3_vpg.zoo.hyperparams_opt import convert_reinforce_params

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the scripts' library, shared/
from shared import (
    BENCHMARKS,
    tables,
    zoo_runs,
)
from shared.mujoco_runs import MUJOCO_ENVS, MUJOCO_EVAL_FREQ, MUJOCO_STEPS
from shared.tables import write_csv
from shared.zoo_runs import SUITES, Run, Suite, Variant, collect, train_all

TUNING_SEED = 1000
RECHECK_SEEDS: tuple[int, ...] = (1001, 1002, 1003)
EVAL_EPISODES = 10


@dataclass(frozen=True)
class Study:
    """One algorithm on one env: the trials' budget, and the benchmark suite its best trials are rechecked on."""

    algo: str
    suite: Suite
    trial_steps: int  # the steps we want the env solved in; the objective is the score there
    n_evaluations: int  # evaluations per trial (the median pruner compares trials at each)
    n_trials: int = 60
    n_envs: int = 8
    top: int = 5  # best trials to recheck
    recheck_seeds: int = len(RECHECK_SEEDS)  # the first this many of RECHECK_SEEDS
    # zoo keys every trial and contender of the study has, besides those sampled (e.g. ``normalize: true``)
    fixed: dict[str, Any] = dataclasses.field(default_factory=dict)
    n_startup_trials: int = 10  # random trials before TPE
    # what the recheck ranks by: "speed" (median steps to the threshold, then mean final score), "final" (seeds
    # whose final evaluation reaches the threshold, then median final score) or "late" (median over seeds of the
    # mean of the evaluations in the second half of the recheck: an entry that swings between evaluations loses)
    goal: str = "speed"
    # the recheck's budget when it is shorter than the entry's (MuJoCo: 1M of the entry's 3M steps)
    recheck_steps: int | None = None
    # trials to run first (sampled parameters; any left out are sampled), queued when the study is created
    starting_points: tuple[dict[str, Any], ...] = ()
    # then one trial with each of these rollout lengths, the rest sampled: keeps a study whose trials are long off
    # the sampler's shortest rollouts (8-64 steps, for CartPole), hours a trial on MuJoCo with 80 value steps each
    queued_n_steps: tuple[int, ...] = ()
    # contenders written by hand from what the study showed: (name, the contender it changes, the changed keys)
    variations: tuple[tuple[str, str, dict[str, Any]], ...] = ()

    @property
    def name(self) -> str:
        return f"{self.algo}_{self.suite.env_id}"


# LunarLander's studies have few trials (up to 28 minutes each), so they begin where good entries are likely: Spinning
# Up's VPG (4,096 samples an update, lambda 0.97, a value optimizer of its own with 80 steps) with the long
# horizon of the zoo's PPO entry (gamma 0.999), and a smaller step on 2,048 samples (gamma 0.995 as the zoo's A2C).
# REINFORCE's with a baseline: the same, and Monte-Carlo returns minus V (lambda 1 - 1e-4).
_LUNAR_LANDER_VPG = (
    {"n_steps": 256, "one_minus_gamma": 0.001, "one_minus_gae_lambda": 0.03, "learning_rate": 0.001, "n_value_steps": 80,
     "normalize_advantage": "batch", "net_arch": "small", "activation_fn": "tanh", "value_optimizer": "separate",
     "vf_learning_rate": 0.001},
    {"n_steps": 128, "one_minus_gamma": 0.005, "one_minus_gae_lambda": 0.02, "learning_rate": 0.0005, "n_value_steps": 20,
     "normalize_advantage": "batch", "net_arch": "small", "activation_fn": "tanh", "value_optimizer": "separate",
     "vf_learning_rate": 0.001},
)  # fmt: skip
LUNAR_LANDER_STARTING_POINTS: dict[str, tuple[dict[str, Any], ...]] = {
    "vpg": _LUNAR_LANDER_VPG,
    "reinforce": (
        {**_LUNAR_LANDER_VPG[0], "use_baseline": True, "ent_coef": 1e-5},
        {**_LUNAR_LANDER_VPG[1], "use_baseline": True, "ent_coef": 1e-5, "one_minus_gae_lambda": 0.0001},
    ),
}

# REINFORCE's first LunarLander recheck: every contender reached 200 and then fell away on some seed (final models
# at 26 or -3). The zoo's A2C entry for LunarLander anneals its learning rate linearly to 0 (``lin_0.00083``): the
# shipped entry with that annealing from its learning rate (lin) and from twice it (lin2: the same mean learning
# rate over the run), and trial 8 (200 after a median 400k steps, then 26 on seed 1002) annealed from its own.
# (VPG's trial 2 held 200 on its first recheck seeds, so VPG got no variations.)
_LUNAR_LANDER_VARIATIONS = {
    "reinforce": (
        ("shipped-lin", "shipped", {"learning_rate": "lin_0.001"}),
        ("shipped-lin2", "shipped", {"learning_rate": "lin_0.002"}),
        ("trial8-lin", "trial8", {"learning_rate": "lin_0.00499"}),
    ),
    "vpg": (),
}

# Trial budgets: A2C's median steps to the threshold in the zoo benchmark (REINFORCE on CartPole: its own, 10k).
# Not in the default run (--studies): LunarLander-v3, hours per study.
STUDIES = {
    study.name: study
    for study in (
        Study("reinforce", SUITES["CartPole-v1"], 10_000, 2),
        Study("vpg", SUITES["CartPole-v1"], 15_000, 3),
        Study("reinforce", SUITES["Acrobot-v1"], 10_000, 2),
        Study("vpg", SUITES["Acrobot-v1"], 10_000, 2),
        Study("reinforce", SUITES["InvertedPendulum-v5"], 20_000, 2),
        Study("vpg", SUITES["InvertedPendulum-v5"], 20_000, 2),
        # the goal is the final model at the benchmark's budget; 1-28 minutes a trial here, so fewer of them
        *(
            Study(
                algo,
                SUITES["LunarLander-v3"],
                2_000_000,
                4,
                n_trials=16,
                n_envs=16,
                top=2,
                n_startup_trials=5,
                goal="final",
                starting_points=LUNAR_LANDER_STARTING_POINTS[algo],
                variations=_LUNAR_LANDER_VARIATIONS[algo],
            )
            for algo in ("reinforce", "vpg")
        ),
    )
}
# MuJoCo (issue 40): short studies (250k steps a trial, the mean of the final deterministic evaluation) with the zoo's
# observation and reward normalisation (``normalize: true``, as its A2C/PPO entries for these envs), beginning at
# the published references: Spinning Up's VPG (4,096 samples an update, lambda 0.97, 80 value steps with a value
# optimizer of its own) and Tianshou's REINFORCE (2,048 samples an update, lr 1e-3, standardised returns, no
# baseline). Every other trial has its rollout length queued (512-8,192 samples an update) and the rest sampled.
# A short budget favours entries that learn early, which is not the same as the best at 3M steps: the first 3M
# benchmark run of VPG's HalfCheetah winner (learning rate 5.8e-3, advantages not normalised) swung between +730 and
# -600 from one evaluation to the next. So a study whose winner steps more than twice as far as the references
# (learning rate above 2e-3) is rechecked for 1M steps on seed 1001 against "calm": the winner with the references'
# learning rate 1e-3 and advantages normalised over the batch, ranked by the mean of the evaluations of the second
# half ("late"). The other studies' winners are shipped as they are. The benchmark (mujoco_benchmark.py, 3M steps on
# seeds 0-2, held out) is the check of either.
MUJOCO_STARTING_POINTS: dict[str, tuple[dict[str, Any], ...]] = {
    "vpg": (
        {"n_steps": 1024, "one_minus_gamma": 0.01, "one_minus_gae_lambda": 0.03, "learning_rate": 0.0003,
         "n_value_steps": 80, "normalize_advantage": "batch", "net_arch": "small", "activation_fn": "tanh",
         "value_optimizer": "separate", "vf_learning_rate": 0.001},
        {"n_steps": 512, "one_minus_gamma": 0.01, "one_minus_gae_lambda": 0.05, "learning_rate": 0.001,
         "n_value_steps": 20, "normalize_advantage": "batch", "net_arch": "small", "activation_fn": "tanh",
         "value_optimizer": "separate", "vf_learning_rate": 0.001},
    ),
    "reinforce": (
        {"n_steps": 512, "one_minus_gamma": 0.01, "learning_rate": 0.001, "normalize_advantage": "batch",
         "ent_coef": 1e-8, "net_arch": "small", "activation_fn": "tanh", "use_baseline": False},
        {"n_steps": 512, "one_minus_gamma": 0.01, "learning_rate": 0.001, "normalize_advantage": "batch",
         "ent_coef": 1e-8, "net_arch": "small", "activation_fn": "tanh", "use_baseline": True,
         "one_minus_gae_lambda": 0.0001, "n_value_steps": 20, "value_optimizer": "separate", "vf_learning_rate": 0.001},
    ),
}  # fmt: skip
# within each sampler's choices (REINFORCE's longest rollout is 1,024 steps)
MUJOCO_QUEUED_N_STEPS = {
    "vpg": (256, 128, 512, 256, 1024, 256, 512, 2048),
    "reinforce": (256, 128, 512, 256, 1024, 256, 512, 1024),
}
# study -> its winning trial, for the studies rechecked against "calm"
MUJOCO_RECHECKED = {
    "vpg_HalfCheetah-v5": "trial3",
    "vpg_Hopper-v5": "trial3",
    "vpg_Walker2d-v5": "trial3",
    "reinforce_HalfCheetah-v5": "trial2",
    "reinforce_Hopper-v5": "trial3",
    "reinforce_Walker2d-v5": "trial5",
}
MUJOCO_CALM = {"learning_rate": 0.001, "normalize_advantage": "batch"}


def mujoco_study(algo: str, env_id: str) -> Study:
    winner = MUJOCO_RECHECKED.get(f"{algo}_{env_id}")
    return Study(
        algo,
        # the entry's budget and evaluations: the benchmark's
        Suite(env_id, (), MUJOCO_STEPS, MUJOCO_EVAL_FREQ, EVAL_EPISODES, None),
        250_000,
        2,
        n_trials=10,
        n_envs=4,
        top=1,
        n_startup_trials=4,
        goal="late",
        recheck_seeds=1 if winner else 0,
        recheck_steps=1_000_000,
        fixed={"normalize": True},
        starting_points=MUJOCO_STARTING_POINTS[algo],
        queued_n_steps=MUJOCO_QUEUED_N_STEPS[algo],
        variations=(("calm", winner, MUJOCO_CALM),) if winner else (),
    )


STUDIES.update({f"{algo}_{env_id}": mujoco_study(algo, env_id) for env_id in MUJOCO_ENVS for algo in ("vpg", "reinforce")})

# --quick: a look at the machinery in a minute or two (CartPole-v1, both algorithms, 3 trials, 1 recheck seed)
QUICK_SUITE = Suite("CartPole-v1", (), 4_000, 2_000, 2, 475.0)
QUICK_STUDIES = {algo: Study(algo, QUICK_SUITE, 2_000, 2, n_trials=3, top=1) for algo in ("reinforce", "vpg")}


@dataclass(frozen=True)
class TrialRecord:
    """One trial of a study, read from its storage or, where the storage is not on this machine, from trials.csv."""

    number: int
    state: str  # optuna's TrialState name: COMPLETE, PRUNED, FAIL, ...
    value: float | None
    params: dict[str, Any]
    seconds: float | None


TRIAL_FIELDS = ("study", "trial", "state", "value", "seconds")


def parse_value(text: str) -> Any:
    """A value as ``write_csv`` wrote it (``str``): bool, int, float or the string itself."""
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def database(study: Study, out: Path) -> Path:
    return out / "studies" / f"{study.name}.db"


def storage_url(study: Study, out: Path) -> str:
    return f"sqlite:///{database(study, out)}"


def study_command(study: Study, out: Path, n_trials: int) -> list[str]:
    env_id = study.suite.env_id
    config = out / "studies" / f"{study.name}.yml"
    fixed = {"n_envs": study.n_envs, "n_timesteps": study.trial_steps, "policy": "MlpPolicy", **study.fixed}
    write_text_whole(config, yaml.safe_dump({env_id: fixed}))
    command = [sys.executable, "-m", "sb3_vpg.zoo", "train", "--algo", study.algo, "--env", env_id, "-conf", str(config)]
    command += ["-optimize", "--storage", storage_url(study, out), "--study-name", study.name]
    command += ["--max-total-trials", str(n_trials), "--n-jobs", "1", "--sampler", "tpe", "--pruner", "median"]
    command += ["--n-startup-trials", str(study.n_startup_trials)]
    command += ["--n-evaluations", str(study.n_evaluations), "--eval-episodes", str(EVAL_EPISODES)]
    command += ["-n", str(study.trial_steps), "--seed", str(TUNING_SEED), "--num-threads", "1", "--no-optim-plots"]
    return [*command, "-f", str(out / "logs" / "studies")]


def fail_interrupted_trials(study: Study, out: Path) -> int:
    """Mark the trials a killed run left RUNNING as failed (one process per study, so none is really running):
    rl_zoo3's ``--max-total-trials`` counts running trials, and these would never finish."""
    if not database(study, out).exists():
        return 0
    stored = load(study, out)
    interrupted = stored.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for trial in interrupted:
        stored._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
    return len(interrupted)


def begin_study(study: Study, out: Path) -> None:
    """Create the study's storage, with its starting points queued, unless it exists (rl_zoo3 then loads it:
    ``load_if_exists``, maximising the evaluation score as here)."""
    if database(study, out).exists():
        return
    created = optuna.create_study(storage=storage_url(study, out), study_name=study.name, direction="maximize")
    for params in (*study.starting_points, *({"n_steps": n_steps} for n_steps in study.queued_n_steps)):
        created.enqueue_trial(params)


def recorded_trials(study: Study, out: Path) -> list[TrialRecord]:
    """Every trial of the study: from its database if it is here, else as ``trials.csv`` recorded them."""
    if database(study, out).exists():
        return [
            TrialRecord(
                trial.number,
                trial.state.name,
                trial.value,
                trial.params,
                trial.duration.total_seconds() if trial.duration else None,
            )
            for trial in load(study, out).trials
        ]
    return [
        TrialRecord(
            int(row["trial"]),
            row["state"],
            float(row["value"]) if row["value"] else None,
            {key: parse_value(text) for key, text in row.items() if key not in TRIAL_FIELDS and text != ""},
            float(row["seconds"]) if row["seconds"] else None,
        )
        for row in tables.read_rows(out / "trials.csv")
        if row["study"] == study.name
    ]


def has_record(study: Study, out: Path) -> bool:
    return database(study, out).exists() or bool(recorded_trials(study, out))


def run_study(study: Study, out: Path, n_trials: int) -> str:
    if not database(study, out).exists() and (trials := recorded_trials(study, out)):
        # continuing would start a new study with the same name: the record is the study
        return f"recorded {study.name}: {len(trials)} trials in trials.csv (its database is not here; not continued)"
    interrupted = fail_interrupted_trials(study, out)
    begin_study(study, out)
    log = out / "logs" / "studies" / f"{study.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with open(log, "a") as file:
        result = subprocess.run(study_command(study, out, n_trials), stdout=file, stderr=subprocess.STDOUT, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"study {study.name} failed with exit code {result.returncode}, see {log}")
    return f"studied  {study.name}" + (f" ({interrupted} interrupted trials marked failed)" if interrupted else "")


def load(study: Study, out: Path) -> optuna.Study:
    return optuna.load_study(storage=storage_url(study, out), study_name=study.name)


def best_trials(study: Study, out: Path, count: int) -> list[TrialRecord]:
    complete = [trial for trial in recorded_trials(study, out) if trial.state == "COMPLETE"]
    # a complete trial has its value (the Optional is for the other states)
    return sorted(complete, key=lambda trial: (-float(trial.value), trial.number))[:count]  # type: ignore[arg-type]


def significant(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits}g}")


def zoo_entry(study: Study, params: dict[str, Any]) -> dict[str, Any]:
    """A trial's parameters as an entry of our zoo configs (floats to 3 significant digits, as we would ship
    them; the recheck trains exactly this entry)."""
    rounded = {key: significant(value) if isinstance(value, float) else value for key, value in params.items()}
    kwargs = convert_reinforce_params(rounded)
    policy_kwargs = kwargs.pop("policy_kwargs")
    entry: dict[str, Any] = {"n_envs": study.n_envs, "n_timesteps": float(study.suite.n_timesteps), "policy": "MlpPolicy"}
    entry.update(study.fixed)
    for key, value in sorted(kwargs.items()):
        entry[key] = round(value, 10) if isinstance(value, float) else value  # 1 - 0.00127 = 0.99873, not ...9999
    activation = policy_kwargs["activation_fn"].__name__
    entry["policy_kwargs"] = f"dict(net_arch={policy_kwargs['net_arch']}, activation_fn=th.nn.{activation})"
    return entry


def candidates(study: Study, out: Path, top: int, copy_shipped: bool = True) -> dict[str, Path]:
    """Recheck contender name (``<study>-trial<N>``, ``<study>-shipped``, ``<study>-<variation>``) -> its zoo
    config file: the best ``top`` trials, the entry shipped when the recheck first ran (copied, so that shipping a
    new entry does not change what was rechecked; ``copy_shipped=False``, for a report, never copies: today's entry
    is not what was rechecked) and the study's variations of these."""
    folder = out / "candidates" / study.name
    folder.mkdir(parents=True, exist_ok=True)
    env_id = study.suite.env_id
    shipped = folder / "shipped.yml"
    if copy_shipped and not shipped.exists():
        entries = yaml.safe_load(Path(default_config(study.algo)).read_text())
        if env_id in entries:
            write_text_whole(shipped, yaml.safe_dump({env_id: entries[env_id]}))
    # named after the study, not only the algorithm: contenders are registered in one table for all studies
    found = {f"{study.name}-shipped": shipped} if shipped.exists() else {}
    for trial in best_trials(study, out, top):
        path = folder / f"trial{trial.number}.yml"
        entry = zoo_entry(study, trial.params)
        write_text_whole(path, yaml.safe_dump({env_id: entry}, sort_keys=False))
        found[f"{study.name}-trial{trial.number}"] = path
        if shipped.exists() and yaml.safe_load(shipped.read_text())[env_id] == entry:
            del found[f"{study.name}-shipped"]  # the shipped entry is this trial's: run once, under the trial's name
    for name, base, changes in study.variations:
        if f"{study.name}-{base}" not in found:
            raise ValueError(f"variation {name!r} of {study.name} changes {base!r}, which is not a contender: {list(found)}")
        entry = yaml.safe_load((folder / f"{base}.yml").read_text())[env_id]
        path = folder / f"{name}.yml"
        write_text_whole(path, yaml.safe_dump({env_id: {**entry, **changes}}, sort_keys=False))
        found[f"{study.name}-{name}"] = path
    return found


def recheck_suite(study: Study) -> Suite:
    return dataclasses.replace(study.suite, n_timesteps=study.recheck_steps or study.suite.n_timesteps)


def recheck_runs(study: Study, contenders: dict[str, Path], seeds: tuple[int, ...]) -> list[Run]:
    suite = dataclasses.replace(recheck_suite(study), algos=tuple(contenders))
    variants = {name: Variant(study.algo, str(path)) for name, path in contenders.items()}
    return [Run(name, suite, seed, variants[name]) for seed in seeds for name in contenders]


RANKED_BY = {
    "speed": "seeds whose final evaluation holds the threshold, then median steps to it, then mean final score",
    "final": "seeds whose final evaluation reaches the threshold, then median final score",
    "late": "median over seeds of the mean of the evaluations in the second half",
}


def late_score(evaluations: list[dict], n_timesteps: int) -> float:
    """The mean of the evaluations after half the budget: high only for an entry that got good and stayed good."""
    return statistics.mean(e["eval_mean"] for e in evaluations if e["timesteps"] > n_timesteps / 2)


def median_steps(rows: list[dict], suite: Suite) -> float:
    """Median steps to the threshold; a run that never got there counts as the budget plus one evaluation."""
    never = suite.n_timesteps + suite.eval_freq
    return statistics.median(row["steps_to_threshold"] if row["steps_to_threshold"] != "" else never for row in rows)


def late_or_diverged(row: dict) -> float:
    """A recheck row's late score; a seed that diverged scores below any other."""
    return -math.inf if row.get("diverged") else row["late_score"]


def rank_key(study: Study, rows: list[dict]) -> tuple[float, ...]:
    """Smaller is better. An entry that gets to the threshold fast and then falls away (a final score below it) is
    not one to ship, so seeds that hold the threshold at the end come first for either goal."""
    if study.goal == "late":
        return (-statistics.median(late_or_diverged(row) for row in rows),)
    finals = [row["final_score"] for row in rows]
    assert study.suite.threshold is not None
    holding = -sum(score >= study.suite.threshold for score in finals)
    if study.goal == "final":
        return holding, -statistics.median(finals)
    return holding, median_steps(rows, study.suite), -statistics.mean(finals)


def markdown(
    study: Study, out: Path, top: int, seeds: tuple[int, ...], contenders: dict[str, Path], recheck_rows: list[dict]
) -> str:
    states = [trial.state.lower() for trial in recorded_trials(study, out)]
    counts = ", ".join(f"{states.count(state)} {state}" for state in sorted(set(states)))
    lines = [
        f"## {study.name}",
        "",
        f"Study: {len(states)} trials ({counts}), {study.trial_steps:,} steps per trial, {study.n_envs} envs, seed "
        f"{TUNING_SEED}; objective: mean of {EVAL_EPISODES} evaluation episodes after {study.trial_steps:,} steps.",
        "",
        "| trial | objective | parameters |",
        "|---|---|---|",
    ]
    for trial in best_trials(study, out, top):
        # sorted: a trial's order of suggestion is in its database only, not in trials.csv
        params = ", ".join(f"{key}={significant(v) if isinstance(v, float) else v}" for key, v in sorted(trial.params.items()))
        lines.append(f"| {trial.number} | {trial.value:.1f} | {params} |")
    suite = recheck_suite(study)
    if not seeds:
        (best,) = best_trials(study, out, 1)
        entry = yaml.safe_dump({suite.env_id: zoo_entry(study, best.params)}, sort_keys=False).rstrip()
        lines += ["", f"No recheck: trial {best.number}'s entry is shipped as it is.", "", "```yaml", entry, "```"]
        return "\n".join(lines) + "\n"
    lines += [
        "",
        f"Recheck: {suite.n_timesteps:,} steps, evaluation every {suite.eval_freq:,} steps ({suite.eval_episodes} "
        f"episodes), seeds {' '.join(map(str, seeds))}; ranked by {RANKED_BY[study.goal]}.",
        "",
        "| contender | steps to threshold per seed | median | final score per seed |",
        "|---|---|---|---|",
    ]
    if study.goal == "late":
        lines[-2:] = [
            f"| contender | mean of the evaluations after {suite.n_timesteps // 2:,} steps per seed | median | final "
            "score per seed |",
            "|---|---|---|---|",
        ]
    if study.variations:
        changed = "; ".join(f"{name} = {base} with {changes}" for name, base, changes in study.variations)
        lines[-3:-3] = ["", f"Variations written by hand: {changed}."]
    by_contender: dict[str, list[dict]] = {}
    for row in recheck_rows:
        by_contender.setdefault(row["algo"], []).append(row)
    ranked = sorted(by_contender, key=lambda name: rank_key(study, by_contender[name]))
    for name in ranked:
        rows = by_contender[name]
        finals = " / ".join("-" if row.get("diverged") else f"{row['final_score']:.1f}" for row in rows)
        if study.goal == "late":
            late = [late_or_diverged(row) for row in rows]
            texts = [f"diverged: {row['diverged']}" if row.get("diverged") else f"{row['late_score']:.1f}" for row in rows]
            median = statistics.median(late)
            lines.append(f"| {name} | {' / '.join(texts)} | {'-' if math.isinf(median) else f'{median:.1f}'} | {finals} |")
            continue
        steps = " / ".join(f"{row['steps_to_threshold']:,}" if row["steps_to_threshold"] != "" else "-" for row in rows)
        median = median_steps(rows, suite)
        median_text = f"{median:,.0f}" if median <= suite.n_timesteps else "-"
        lines.append(f"| {name} | {steps} | {median_text} | {finals} |")
    if ranked:
        winner = ranked[0]
        lines += ["", f"Winner: {winner}. Its entry:", "", "```yaml", contenders[winner].read_text().rstrip(), "```"]
    return "\n".join(lines) + "\n"


def trial_rows(study: Study, out: Path) -> list[dict]:
    rows = []
    for trial in recorded_trials(study, out):
        row = {"study": study.name, "trial": trial.number, "state": trial.state, "value": trial.value}
        row["seconds"] = trial.seconds if trial.seconds is not None else ""
        rows.append({**row, **trial.params})
    return rows


def recorded_recheck(out: Path) -> dict[tuple[str, int], dict]:
    """The runs ``recheck.csv`` records, by (contender, seed), with their numbers as numbers."""
    return {(row["algo"], row["seed"]): row for row in tables.read_rows(out / "recheck.csv")}


def recheck_row(study: Study, run: Run, out: Path, recorded: dict[tuple[str, int], dict]) -> dict | None:
    """A recheck run's row: collected from its logs if they are here, else as recheck.csv recorded it, else None.
    A run that stopped on a non-finite loss or gradient is a result (the entry diverges on that seed): its row has
    the error instead of scores."""
    if zoo_runs.finished(run, out):
        row, evaluations = collect(run, out)
        if study.goal == "late":
            row["late_score"] = late_score(evaluations, run.suite.n_timesteps)
        return {"study": study.name, **row}
    if error := diverged(run, out):
        return {"study": study.name, "algo": run.algo, "env": run.suite.env_id, "seed": run.seed, "diverged": error}
    return recorded.get((run.algo, run.seed))


def diverged(run: Run, out: Path) -> str:
    """The NonFiniteError a failed run's log ends with, or ""."""
    log = out / "scratch" / run.algo / run.name / "train.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return next(
        (line.split(": ", 1)[1] for line in reversed(lines) if line.startswith("sb3_vpg") and "NonFiniteError" in line), ""
    )


def kept_rows(path: Path, replaced: set[str]) -> list[dict]:
    """The rows of a report CSV that belong to studies other than ``replaced``."""
    return [row for row in tables.read_rows(path) if row["study"] not in replaced]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=BENCHMARKS / "results" / "tuning")
    # LunarLander's and the MuJoCo studies take hours: named with --studies
    quick_studies = [name for name, study in STUDIES.items() if study.suite.env_id not in ("LunarLander-v3", *MUJOCO_ENVS)]
    parser.add_argument("--studies", nargs="+", default=quick_studies, choices=list(STUDIES))
    parser.add_argument("--trials", type=int, help="trials per study (default: each study's own)")
    parser.add_argument("--top", type=int, help="best trials of each study to recheck (default: each study's own)")
    parser.add_argument("--workers", type=int, default=2, help="studies, then recheck runs, at the same time")
    parser.add_argument("--report-only", action="store_true", help="write the report from what has been run")
    parser.add_argument("--quick", action="store_true", help="CartPole-v1, 3 short trials per algorithm, 1 seed")
    args = parser.parse_args()
    out = args.out.resolve()
    (out / "studies").mkdir(parents=True, exist_ok=True)
    if args.quick:
        studies, seeds = list(QUICK_STUDIES.values()), RECHECK_SEEDS[:1]
    else:
        studies, seeds = [STUDIES[name] for name in args.studies], RECHECK_SEEDS
    if args.report_only:  # the studies that have begun
        studies = [study for study in studies if has_record(study, out)]

    if not args.report_only:
        with ThreadPoolExecutor(args.workers) as pool:
            trials = {study.name: args.trials or study.n_trials for study in studies}
            for message in pool.map(lambda study: run_study(study, out, trials[study.name]), studies):
                print(message, flush=True)
    top = {study.name: args.top or study.top for study in studies}
    study_seeds = {study.name: seeds[: study.recheck_seeds] for study in studies}
    contenders = {study.name: candidates(study, out, top[study.name], not args.report_only) for study in studies}
    runs = {study.name: recheck_runs(study, contenders[study.name], study_seeds[study.name]) for study in studies}
    recorded = recorded_recheck(out)
    if not args.report_only:
        # a run recorded in recheck.csv whose logs are not here (another machine's) is not trained again
        every_run = [run for study_runs in runs.values() for run in study_runs]
        to_train = [
            run
            for run in every_run
            if not diverged(run, out) and (zoo_runs.finished(run, out) or (run.algo, run.seed) not in recorded)
        ]
        try:
            train_all(to_train, out, args.workers)
        except SystemExit as failures:
            if any(not zoo_runs.finished(run, out) and not diverged(run, out) for run in to_train):
                raise
            print(f"{failures}; each of them diverged (NonFiniteError), which the report records")

    all_trials, all_recheck = [], []
    for study in studies:
        rows = [row for run in runs[study.name] if (row := recheck_row(study, run, out, recorded)) is not None]
        write_text_whole(
            out / f"{study.name}.md",
            markdown(study, out, top[study.name], study_seeds[study.name], contenders[study.name], rows),
        )
        all_trials += trial_rows(study, out)
        all_recheck += rows
    # every study's section and rows, including those of earlier invocations
    reported = {study.name for study in studies}
    sections = [path.read_text() for name in STUDIES if (path := out / f"{name}.md").exists()]  # --quick's too
    write_text_whole(out / "summary.md", "\n".join(sections))
    write_csv(out / "trials.csv", kept_rows(out / "trials.csv", reported) + all_trials)
    write_csv(out / "recheck.csv", kept_rows(out / "recheck.csv", reported) + all_recheck)
    print(f"report written to {out}")


if __name__ == "__main__":
    main()
