"""
Tuning Karpathy's Pong agent on a wall-clock budget: an Optuna sampler over what the fast presets may change
(games at once, steps per update, optimizer, learning rate, normalisation, entropy, discount, a learned
baseline) and an objective that trains one configuration for a number of minutes on ``KarpathyPongVecEnv`` and
returns Karpathy's running reward at the end. What makes it Karpathy's agent stays fixed: the 80x80 binarised
frame difference, one hidden layer of 200 ReLU units, the Bernoulli UP/DOWN output and Monte-Carlo returns
that restart at every point (``reset_on_reward``); an update takes every finished point (``ready_at="point"``).

The objective reports the running reward every ``report_seconds`` so that a pruner can stop a trial that is
behind the others at the same minute. ``benchmarks/pong/pong_preset_tuning.py`` runs the study. Needs Optuna (the
``zoo`` extra).
"""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import torch as th
from stable_baselines3.common.callbacks import BaseCallback

from sb3_vpg import REINFORCE
from sb3_vpg.common.callbacks import StopTrainingOnWallClock
from sb3_vpg.pong.callbacks import EpisodeLog
from sb3_vpg.pong.configs import OPTIMIZERS, pong_preset_kwargs
from sb3_vpg.pong.envs import make_env
from sb3_vpg.pong.run_folder import RunState

# The best trial of the wall-clock study (benchmarks/pong/pong_preset_tuning.py; its summary:
# benchmarks/results/pong_preset/tuning/summary.md): the points preset (sb3_vpg.pong.configs.PRESETS["points"])
POINTS_TRIAL: dict[str, Any] = dict(
    n_envs=8,
    n_steps=512,
    learning_rate=1e-3,
    optimizer="rmsprop",
    normalize_advantage="episode",
    ent_coef=0.0,
    gamma=0.99,
    use_baseline=False,
)


def sample_pong_params(trial: optuna.Trial) -> dict[str, Any]:
    """The trial's choices (Optuna's names and values; ``sb3_vpg.pong.configs.pong_preset_kwargs`` turns them into
    arguments)."""
    params: dict[str, Any] = {
        "n_envs": trial.suggest_categorical("n_envs", [4, 8]),
        "n_steps": trial.suggest_categorical("n_steps", [64, 128, 256, 512, 1024]),
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True),
        "optimizer": trial.suggest_categorical("optimizer", list(OPTIMIZERS)),
        "normalize_advantage": trial.suggest_categorical("normalize_advantage", ["batch", "episode"]),
        "ent_coef": trial.suggest_categorical("ent_coef", [0.0, 0.001, 0.01]),
        "gamma": trial.suggest_categorical("gamma", [0.98, 0.99]),
        "use_baseline": trial.suggest_categorical("use_baseline", [False, True]),
    }
    return params


class ReportRunningReward(BaseCallback):
    """Reports the running reward to the trial every ``report_seconds`` of ``clock`` (step = the report's
    number) and stops training when the pruner says so."""

    def __init__(
        self, trial: optuna.Trial, state: RunState, report_seconds: float, clock: Callable[[], float] = time.monotonic
    ):
        super().__init__()
        self.trial, self.state, self.report_seconds, self.clock = trial, state, report_seconds, clock
        self.start = clock()
        self.reports = 0
        self.pruned = False

    def _on_step(self) -> bool:
        if self.clock() - self.start < (self.reports + 1) * self.report_seconds:
            return True
        self.reports += 1
        if self.state.running_reward is not None:
            self.trial.report(self.state.running_reward, self.reports)
            self.pruned = self.trial.should_prune()
        return not self.pruned


def objective(
    trial: optuna.Trial,
    out: Path,
    minutes: float,
    seed: int = 0,
    report_seconds: float = 60.0,
    seconds_per_step: float | None = None,
) -> float:
    """
    Train the trial's configuration for ``minutes`` of wall clock and return the running reward at the end.
    Each finished game goes to ``out/trial-<number>/episodes.csv`` (as ``python -m sb3_vpg.pong train`` logs
    them; no checkpoints). With ``seconds_per_step`` the clock is simulated instead: it advances that many seconds
    per agent step, so that the budget and the reports fall at fixed steps whatever the machine's speed (tests).

    :raises optuna.TrialPruned: when the pruner stopped the trial
    """
    n_envs, kwargs = pong_preset_kwargs(sample_pong_params(trial))
    folder = out / f"trial-{trial.number}"
    folder.mkdir(parents=True, exist_ok=True)
    th.set_num_threads(1)
    env = make_env(n_envs, seed, vector_env=True)
    model = REINFORCE(env=env, seed=seed, **kwargs)
    clock = time.monotonic if seconds_per_step is None else lambda: model.num_timesteps * seconds_per_step
    log = EpisodeLog(folder, clock=clock)
    state = log.state
    report = ReportRunningReward(trial, state, report_seconds, clock)
    callbacks = [log, StopTrainingOnWallClock(minutes * 60, clock=clock), report]
    model.learn(10**9, callback=callbacks, log_interval=None)  # type: ignore[arg-type]
    env.close()
    trial.set_user_attr("agent_steps", model.num_timesteps)
    trial.set_user_attr("episodes", state.episodes)
    trial.set_user_attr("minutes", round(log.wall_seconds() / 60, 2))
    if report.pruned:
        raise optuna.TrialPruned()
    if state.running_reward is None:
        raise optuna.TrialPruned(f"no game ended within {minutes:g} minutes")
    return float(state.running_reward)
