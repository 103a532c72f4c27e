"""
Tune the Pong preset on a wall-clock budget with Optuna: each trial trains one configuration of Karpathy's agent
(``sb3_vpg.pong.tuning``: the sampler and the objective) on ``KarpathyPongVecEnv`` for ``--minutes`` with the
whole machine, and scores Karpathy's running reward at the end. Trials run one after the other (never two at
once: the score is a wall-clock one). A median pruner stops a trial whose running reward is below the median
of the earlier trials at the same minute. The first trials are the configurations in ``--enqueue`` (JSON
files, or the built-in first guesses), then TPE takes over.

The study lives in an Optuna journal file (``<out>/journal.log``), so an interrupted study resumes where it
stood: a trial that was running is marked failed and the study goes on until ``--trials`` trials have finished
(completed or pruned).

    python benchmarks/pong/pong_preset_tuning.py --trials 8 --minutes 10     # about 1 h 20 min
    python benchmarks/pong/pong_preset_tuning.py --report-only                # the summary of the study as it stands

Writes to ``--out`` (default ``benchmarks/results/pong_preset/tuning``): ``journal.log`` (the study),
``trials.csv`` and ``summary.md`` (every trial: its choices, state, running reward at the end and at each
minute, agent steps), and ``trial-<N>/episodes.csv`` (every game of every trial).
"""

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from sb3_vpg.common.files import replaced_whole, write_text_whole
from sb3_vpg.pong.tuning import objective

BENCHMARKS = Path(__file__).resolve().parents[1]
STUDY_NAME = "pong-preset"
# First guesses, tried before TPE: frequent updates on finished points, with RMSProp as Karpathy and with Adam
FIRST_GUESSES: list[dict[str, Any]] = [
    dict(n_envs=8, n_steps=256, learning_rate=3e-4, optimizer="rmsprop", normalize_advantage="batch",
         ent_coef=0.0, gamma=0.99, use_baseline=False),
    dict(n_envs=8, n_steps=128, learning_rate=3e-4, optimizer="adam", normalize_advantage="batch",
         ent_coef=0.0, gamma=0.99, use_baseline=False),
    dict(n_envs=8, n_steps=512, learning_rate=1e-3, optimizer="rmsprop", normalize_advantage="episode",
         ent_coef=0.0, gamma=0.99, use_baseline=False),
]  # fmt: skip


def load_study(out: Path, seed: int) -> optuna.Study:
    storage = JournalStorage(JournalFileBackend(str(out / "journal.log")))
    return optuna.create_study(
        storage=storage,
        study_name=STUDY_NAME,
        direction="maximize",
        load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=3),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=3),
    )


def finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return study.get_trials(deepcopy=False, states=states)


def fail_interrupted(study: optuna.Study) -> None:
    """A trial left RUNNING by a killed study cannot finish: mark it failed so the study can go on."""
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)


def rows(study: optuna.Study) -> list[dict[str, Any]]:
    report_minutes = study.user_attrs.get("report_seconds", 60.0) / 60
    table = []
    for trial in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {"trial": trial.number, "state": trial.state.name.lower()}
        row.update(trial.params)
        row["running_reward"] = "" if trial.value is None else round(trial.value, 2)
        for step, value in sorted(trial.intermediate_values.items()):
            row[f"minute_{step * report_minutes:g}"] = round(value, 2)
        row.update({key: trial.user_attrs.get(key, "") for key in ("minutes", "episodes", "agent_steps")})
        table.append(row)
    return table


def write_summary(study: optuna.Study, out: Path, minutes: float) -> None:
    table = rows(study)
    fields: list[str] = []
    for row in table:
        fields += [key for key in row if key not in fields]
    minute_fields = sorted((f for f in fields if f.startswith("minute_")), key=lambda f: float(f.split("_")[1]))
    fields = [f for f in fields if not f.startswith("minute_")] + minute_fields
    with replaced_whole(out / "trials.csv") as temporary, open(temporary, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(table)
    lines = [
        f"# Pong preset study: running reward after {minutes:g} minutes of wall clock per trial",
        "",
        "| " + " | ".join(fields) + " |",
        "|" + "---|" * len(fields),
    ]
    lines += ["| " + " | ".join(str(row.get(f, "")) for f in fields) + " |" for row in table]
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if complete:
        best = max(complete, key=lambda t: t.value)  # type: ignore[arg-type, return-value]
        lines += ["", f"Best: trial {best.number}, running reward {best.value:.2f}: `{json.dumps(best.params)}`"]
    write_text_whole(out / "summary.md", "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=BENCHMARKS / "results" / "pong_preset" / "tuning")
    parser.add_argument("--trials", type=int, default=8, help="finished trials (completed or pruned) to reach")
    parser.add_argument("--minutes", type=float, default=10.0, help="wall clock of every trial")
    parser.add_argument("--report-seconds", type=float, default=60.0, help="how often a trial reports to the pruner")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampler and of every trial's training")
    parser.add_argument("--enqueue", type=Path, nargs="*", help="JSON files of configurations to try first")
    parser.add_argument("--report-only", action="store_true", help="no training: the summary of the study")
    parser.add_argument("--seconds-per-step", type=float, help="a simulated clock (tests): seconds per agent step")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    study = load_study(args.out, args.seed)
    if not args.report_only:
        fail_interrupted(study)
        study.set_user_attr("report_seconds", args.report_seconds)
        if not study.get_trials(deepcopy=False):  # a new study: its first guesses
            guesses = FIRST_GUESSES if args.enqueue is None else [json.loads(p.read_text()) for p in args.enqueue]
            for params in guesses:
                study.enqueue_trial(params)
        while len(finished(study)) < args.trials:
            study.optimize(
                lambda trial: objective(trial, args.out, args.minutes, args.seed, args.report_seconds, args.seconds_per_step),
                n_trials=1,
                catch=(),
            )
            write_summary(study, args.out, args.minutes)
    write_summary(study, args.out, args.minutes)
    print((args.out / "summary.md").read_text())


if __name__ == "__main__":
    main()
