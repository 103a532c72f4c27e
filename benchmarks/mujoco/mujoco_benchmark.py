"""
REINFORCE and VPG on the MuJoCo suite (HalfCheetah, Hopper, Walker2d, Swimmer, Ant, Humanoid; gymnasium's v5),
each run trained through our zoo entry point (``python -m sb3_vpg.zoo train``) with our ``zoo_configs/`` entries,
5 seeds (Humanoid 3), and scored in the metric and the aggregation over seeds of each published table it is
compared with (the sources measured v3 envs):

* Tianshou's REINFORCE and A2C (``examples/mujoco/README.md`` in thu-ml/tianshou, 10 seeds): the best point over
  training of the mean over seeds of the test return (10 episodes after each 30,000-step epoch) up to 3M steps. Its
  test episodes sample actions (its ``PGPolicy`` had no ``deterministic_eval`` when the table was made), so ours is
  read on the training episodes, sampled from the same policy: per seed the mean return of those that ended in each
  32,000-step window (``window_returns``; 32,000 is the multiple of the committed 4,000-step rows nearest 30,000),
  the mean of those curves over seeds, and its best point (``tianshou_aggregate``).
* Spinning Up's VPG (``docs/spinningup/bench.rst`` in openai/spinningup, 10 seeds): the average return of each
  epoch's training batch (4,000 steps an epoch), smoothed over 11 epochs, at 3M steps, averaged over seeds. Ours:
  the mean return of the training episodes that ended in the last 44,000 steps (11 x 4,000) before 3M
  (``spinning_up_score``), averaged over seeds.
* rl-baselines3-zoo's A2C (``benchmark.md``, one run): the deterministic evaluation after 1M steps (``zoo_score``),
  for context.

Per run, ``returns/<env>.csv`` records the training episodes per 4,000-step epoch (the epoch's end, the episodes
that ended in it, their mean return; from ``sb3_vpg.common.callbacks.RolloutReturnLog``'s row per rollout),
``motion/<env>.csv`` their mean length and forward speed (``RolloutMotionLog``), and ``evaluations.csv`` a
deterministic 10-episode evaluation every 50,000 steps (the zoo's ``EvalCallback``). The report, ``mujoco.md``
(each goal met, missed or still open, the anchors' table, every seed with the median, mean and IQM with its
bootstrap interval, the late return, episode length and speed) and ``<env>.png`` (the mean over seeds and their
range against steps, the anchors as lines), is built from these committed CSVs alone.

A run saves a checkpoint (model and ``VecNormalize`` statistics) every 250,000 steps. A run that was stopped
resumes from its last checkpoint through the zoo's ``-i`` in a new part (``from<steps>/``; the zoo restarts its
step counter, so the part's rows are offset by its first step, and its envs start new episodes), with the seed
``seed + 1000 * part`` so that a resumed part does not replay the first part's env seeds. Rows a stopped part
wrote after the checkpoint its successor resumed from are dropped. The runs' logs and checkpoints stay on the
machine that made them (``logs/``, not committed).

    python benchmarks/mujoco/mujoco_benchmark.py --workers 2                       # every run: hours, resumable
    python benchmarks/mujoco/mujoco_benchmark.py --envs Hopper-v5 --algos vpg --seeds 0
    python benchmarks/mujoco/mujoco_benchmark.py --report-only
    python benchmarks/mujoco/mujoco_benchmark.py --ray-address auto   # the runs as Ray tasks on a cluster
    # a variant of the entries (a zoo config file) on tuning seeds, with its own report in its own folder
    python benchmarks/mujoco/mujoco_benchmark.py --config variant.yml --envs Hopper-v5 --algos vpg \
        --seeds 1001 1002 1003 --out /tmp/hopper_variant
"""

import argparse
import bisect
import csv
import io
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sb3_vpg.common.files import replaced_whole, whole_lines, write_text_whole
from sb3_vpg.zoo import default_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the scripts' library, shared/
from shared.mujoco_runs import (
    MUJOCO_ENVS,
    MUJOCO_EVAL_FREQ,
    MUJOCO_STEPS,
    MujocoRun,
    Runs,
    late_mean,
    part_start,
    parts,
    reached,
    read_csv,
    read_runs,
)

ALGOS = ("vpg", "reinforce")
SEEDS = (0, 1, 2, 3, 4)
HUMANOID_SEEDS = (0, 1, 2)  # Humanoid's runs take about twice as long
EVAL_EPISODES = 10
CHECKPOINT_FREQ = 250_000  # a multiple of MUJOCO_EVAL_FREQ: a resumed part evaluates on the same grid
SPINNING_UP_EPOCH = 4_000
SPINNING_UP_SMOOTHING = 11  # epochs
TIANSHOU_WINDOW = 32_000  # Tianshou's epoch is 30,000 steps; the committed rows are 4,000 apart
RETURN_FIELDS = ("algo", "env", "seed", "timesteps", "episodes", "mean_return")
EVALUATION_FIELDS = ("algo", "env", "seed", "timesteps", "eval_mean", "eval_std")
MOTION_FIELDS = ("algo", "env", "seed", "timesteps", "episodes", "mean_length", "mean_speed")


@dataclass(frozen=True)
class Anchor:
    """A published figure set and the metric it is read in."""

    label: str
    algo: str  # ours that is compared with it
    metric: str  # a key of METRICS
    steps: int
    seeds: int  # the anchor's
    figures: dict[str, float]
    goal_envs: int | None  # the goal: ours above the anchor on this many of its envs (None: context, no goal)
    source: str  # where its figures are read


TIANSHOU_REINFORCE_3M = {"HalfCheetah-v5": 884, "Hopper-v5": 396, "Walker2d-v5": 412, "Swimmer-v5": 35, "Ant-v5": 475,
                         "Humanoid-v5": 438}  # fmt: skip
ANCHORS = (
    Anchor("Tianshou REINFORCE", "reinforce", "tianshou", 3_000_000, 10, TIANSHOU_REINFORCE_3M, 6,
           "examples/mujoco/README.md and its per-seed CSVs in thu-ml/tianshou"),
    Anchor("Tianshou A2C", "vpg", "tianshou", 3_000_000, 10,
           {"HalfCheetah-v5": 2377, "Hopper-v5": 1609, "Walker2d-v5": 1805, "Swimmer-v5": 40, "Ant-v5": 5237}, 3,
           "examples/mujoco/README.md in thu-ml/tianshou"),
    Anchor("Spinning Up VPG, better of PyTorch / TF1", "vpg", "spinning_up", 3_000_000, 10,
           {"HalfCheetah-v5": 641, "Hopper-v5": 907, "Walker2d-v5": 471, "Swimmer-v5": 76, "Ant-v5": 8}, 5,
           "the 3M end points of the plots of docs/spinningup/bench.rst in openai/spinningup"),
    Anchor("rl-baselines3-zoo A2C", "vpg", "zoo", 1_000_000, 1,
           {"HalfCheetah-v5": 3041, "Hopper-v5": 733, "Walker2d-v5": 582, "Swimmer-v5": 201, "Ant-v5": -44}, None,
           "benchmark.md in DLR-RM/rl-baselines3-zoo"),
)  # fmt: skip
GOAL_SEEDS = {"Humanoid-v5": 3}  # a goal is judged on this many seeds of an env (5 elsewhere)
DEFAULT_GOAL_SEEDS = 5
METRICS = {
    "tianshou": "sampled return: best point of the seeds' mean curve",
    "spinning_up": "training batch return of the last 44k steps: mean of the seeds",
    "zoo": "deterministic evaluation: median of the seeds",
}
TRAINING_BATCH_METRICS = ("spinning_up", "tianshou")  # read from returns/, the other from evaluations.csv
ANCHOR_ENV_VERSION = "v3"  # every source's
# A locomotion env pays a reward per step for staying up: a long episode at no speed is a policy standing still
HEALTHY_REWARD_ENVS = ("Hopper-v5", "Walker2d-v5", "Ant-v5", "Humanoid-v5")
STANDING_SPEED = 0.2  # m/s of forward speed below which such a policy stands


# ---- the anchors' metrics: pure functions of a run's rows -----------------------------------------------------


def spinning_up_score(returns: list[dict], at: int) -> float | None:
    """Mean return of the training episodes that ended in the last 11 Spinning Up epochs (44,000 steps) up to
    ``at``; None if the run has not reached ``at`` or no episode ended in that window."""
    if not returns or max(row["timesteps"] for row in returns) < at:
        return None
    start = at - SPINNING_UP_SMOOTHING * SPINNING_UP_EPOCH
    window = [row for row in returns if start < row["timesteps"] <= at and row["episodes"] > 0]
    return episode_mean(window) if window else None


def epoch_rows(rows: list[dict], columns: tuple[str, ...] = ("mean_return",)) -> list[dict]:
    """A run's rollout rows merged into Spinning Up's 4,000-step epochs: one row per epoch that had episodes end in
    it, at the epoch's end, with their count and the episode-weighted mean of each of ``columns`` (empty where a
    row lacks it). Every window the metrics read starts and ends on an epoch boundary, so they are the same on these
    rows (and a run of 128-step rollouts commits 750 rows, not 23,000)."""
    epochs: dict[int, list[dict]] = {}
    for row in rows:  # as the callback wrote them (text) or as read_csv reads them (numbers)
        if int(row["episodes"]) > 0:
            parsed = {**row, "timesteps": int(row["timesteps"]), "episodes": int(row["episodes"])}
            for column in columns:
                parsed[column] = None if row[column] in ("", None) else float(row[column])
            epochs.setdefault(-(-parsed["timesteps"] // SPINNING_UP_EPOCH) * SPINNING_UP_EPOCH, []).append(parsed)
    merged = []
    for end, group in sorted(epochs.items()):
        row = {**group[0], "timesteps": end, "episodes": sum(r["episodes"] for r in group)}
        for column in columns:
            known = [r for r in group if r[column] is not None]
            row[column] = round(episode_mean(known, column), 4) if len(known) == len(group) else None
        merged.append(row)
    return merged


def episode_mean(rows: list[dict], column: str = "mean_return") -> float:
    """The mean of ``column`` over the episodes of some rollouts (each row's mean weighted by its episodes)."""
    return sum(row[column] * row["episodes"] for row in rows) / sum(row["episodes"] for row in rows)


def window_returns(returns: list[dict], up_to: int) -> dict[int, float]:
    """A seed's sampled-return curve as Tianshou's tests would read it: at every end on the 4,000-step grid from
    ``TIANSHOU_WINDOW`` to ``up_to``, the mean return of the training episodes that ended in the window of
    ``TIANSHOU_WINDOW`` steps before it (ends whose window has no episode are absent)."""
    rows = sorted((row for row in returns if row["episodes"] > 0 and row["timesteps"] <= up_to), key=lambda r: r["timesteps"])
    steps = [row["timesteps"] for row in rows]
    episodes = [0, *itertools.accumulate(row["episodes"] for row in rows)]
    total_return = [0.0, *itertools.accumulate(row["episodes"] * row["mean_return"] for row in rows)]
    curve = {}
    for end in range(TIANSHOU_WINDOW, up_to + 1, SPINNING_UP_EPOCH):
        first, last = bisect.bisect_right(steps, end - TIANSHOU_WINDOW), bisect.bisect_right(steps, end)
        if episodes[last] > episodes[first]:
            curve[end] = (total_return[last] - total_return[first]) / (episodes[last] - episodes[first])
    return curve


def tianshou_sampled_score(returns: list[dict], up_to: int) -> float | None:
    """One seed's best point of :func:`window_returns` up to ``up_to``; None if the run has not reached it."""
    if not reached(returns, up_to):
        return None
    return max(window_returns(returns, up_to).values(), default=None)


def tianshou_aggregate(seed_returns: list[list[dict]], up_to: int) -> float | None:
    """Tianshou's table entry: the best point over training of the mean over seeds of the sampled-return curve (at
    the window ends where every seed has a value); None unless every seed has reached ``up_to``."""
    if not seed_returns or not all(reached(rows, up_to) for rows in seed_returns):
        return None
    curves = [window_returns(rows, up_to) for rows in seed_returns]
    ends = set.intersection(*(set(curve) for curve in curves))
    return max((statistics.fmean(curve[end] for curve in curves) for end in ends), default=None)


def collapsed(best: float | None, late: float | None) -> bool | None:
    """A seed collapsed when its late return kept less than half its best (measured from 0, or below a negative
    best by more than half its size); None when either is unknown."""
    if best is None or late is None:
        return None
    return late < best - 0.5 * abs(best)


def zoo_score(evaluations: list[dict], at: int) -> float | None:
    """The evaluation mean at ``at`` steps; None if there is none."""
    return next((row["eval_mean"] for row in evaluations if row["timesteps"] == at), None)


def seed_score(metric: str, steps: int, returns: list[dict], evaluations: list[dict]) -> float | None:
    """One seed's score in a metric (before the anchor's aggregation over seeds)."""
    if metric == "spinning_up":
        return spinning_up_score(returns, steps)
    if metric == "tianshou":
        return tianshou_sampled_score(returns, steps)
    return zoo_score(evaluations, steps)


# ---- running: one zoo process per part, resuming from the last checkpoint ------------------------------------


def checkpoints(part: Path) -> dict[int, tuple[Path, Path]]:
    """The run's step -> (model, VecNormalize statistics) of the part's complete checkpoints."""
    found = {}
    for model in (part / "checkpoints").glob("checkpoint_*_steps.zip"):
        steps = int(model.stem.split("_")[1])
        statistics_file = model.with_name(f"checkpoint_vecnormalize_{steps}_steps.pkl")
        if statistics_file.exists():
            found[part_start(part) + steps] = (model, statistics_file)
    return found


def shipped_entry(algo: str, env_id: str) -> dict:
    return yaml.safe_load(Path(default_config(algo)).read_text())[env_id]


def entry(run: MujocoRun) -> dict:
    """The zoo entry the run trains: its config file's, else the shipped one."""
    if run.config is None:
        return shipped_entry(run.algo, run.env_id)
    return yaml.safe_load(Path(run.config).read_text())[run.env_id]


def check_entry(run: MujocoRun, out: Path) -> None:
    """Record the zoo entry a run begins with; refuse to resume it with another (a run is one entry's)."""
    recorded = run.folder(out) / "entry.yml"
    today = entry(run)
    if not recorded.exists():
        recorded.parent.mkdir(parents=True, exist_ok=True)
        write_text_whole(recorded, yaml.safe_dump(today))
    elif yaml.safe_load(recorded.read_text()) != today:
        source = run.config or "zoo_configs"
        raise RuntimeError(
            f"{run.folder(out)} was trained with another {run.algo} entry for {run.env_id} than the one in "
            f"{source} now ({recorded}); delete the folder to train the run again with today's entry"
        )


def train_command(run: MujocoRun, part: Path, index: int, resume_from: Path | None) -> list[str]:
    start = part_start(part)
    callbacks = [
        {"sb3_vpg.common.callbacks.RolloutReturnLog": {"path": str(part / "returns.csv"), "timestep_offset": start}},
        {"sb3_vpg.common.callbacks.RolloutMotionLog": {"path": str(part / "motion.csv"), "timestep_offset": start}},
        {"stable_baselines3.common.callbacks.CheckpointCallback": {
            "save_freq": CHECKPOINT_FREQ // int(entry(run)["n_envs"]), "save_path": str(part / "checkpoints"),
            "name_prefix": "checkpoint", "save_vecnormalize": True}},
    ]  # fmt: skip
    command = [sys.executable, "-m", "sb3_vpg.zoo", "train", "--algo", run.algo, "--env", run.env_id]
    command += ["--seed", str(run.seed + 1000 * index), "-f", str(part / "zoo"), "--num-threads", "1"]
    command += ["-n", str(MUJOCO_STEPS - start), "--eval-freq", str(MUJOCO_EVAL_FREQ), "--eval-episodes", str(EVAL_EPISODES)]
    command += ["--n-eval-envs", "1", "--log-interval", "-1", "-params", f"callback:{callbacks!r}"]
    command += ["-conf", run.config] if run.config else []
    return command + (["-i", str(resume_from)] if resume_from else [])


def execute(run: MujocoRun, out: Path) -> str:
    """Train a run to MUJOCO_STEPS, from its last checkpoint if it was stopped; return what happened."""
    folder = run.folder(out)
    if (folder / "done.json").exists():
        return f"reused   {run.algo} {run.env_id} seed {run.seed}"
    check_entry(run, out)
    saved = {steps: files for part in parts(run, out) for steps, files in checkpoints(part).items()}
    start = max(saved, default=0)
    part = folder / f"from{start:07d}"
    shutil.rmtree(part, ignore_errors=True)  # a part stopped before its first checkpoint
    part.mkdir(parents=True)
    resume_from = None
    if start:
        # the zoo continues <dir>/<env>.zip with the statistics in <dir>/<env>/vecnormalize.pkl
        model, statistics_file = saved[start]
        resume_from = part / "resume" / f"{run.env_id}.zip"
        (resume_from.parent / run.env_id).mkdir(parents=True)
        shutil.copy(model, resume_from)
        shutil.copy(statistics_file, resume_from.parent / run.env_id / "vecnormalize.pkl")
    command = train_command(run, part, len(parts(run, out)) - 1, resume_from)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    began = time.perf_counter()
    with open(part / "train.log", "w") as log:
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        raise RuntimeError(f"exit code {result.returncode}, see {part / 'train.log'}")
    write_text_whole(part / "part.json", json.dumps({"seconds": round(seconds, 1), "command": " ".join(command[1:])}))
    write_text_whole(folder / "done.json", json.dumps({"finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}))
    return f"trained  {run.algo} {run.env_id} seed {run.seed} from {start:,} steps in {seconds:.0f} s"


# ---- collecting the logs into the committed CSVs ---------------------------------------------------------------


def part_rows(part: Path, name: str, end: int) -> list[dict]:
    """A part's rows of a per-rollout log (``returns.csv``, ``motion.csv``) up to ``end`` steps, as text."""
    if not (part / name).exists():
        return []
    # without a last line torn by a kill during the callback's append
    text = whole_lines((part / name).read_text(encoding="utf-8"))
    return [row for row in csv.DictReader(io.StringIO(text, newline="")) if int(row["timesteps"]) <= end]


def run_rows(run: MujocoRun, out: Path) -> tuple[list[dict], list[dict], list[dict]]:
    """The run's rollout, motion and evaluation rows over all its parts; a part's rows after its successor's first
    step are dropped (the successor redid those steps from the checkpoint)."""
    returns: list[dict] = []
    motion: list[dict] = []
    evaluations: list[dict] = []
    found = parts(run, out)
    key = {"algo": run.algo, "env": run.env_id, "seed": run.seed}
    for part, successor in zip(found, [*found[1:], None], strict=True):
        end = part_start(successor) if successor else MUJOCO_STEPS
        returns += [{**key, **row} for row in part_rows(part, "returns.csv", end)]
        motion += [{**key, **row} for row in part_rows(part, "motion.csv", end)]
        for npz in (part / "zoo" / run.algo).glob(f"{run.env_id}_*/evaluations.npz"):
            data = np.load(npz)
            for steps, results in zip(data["timesteps"], data["results"], strict=True):
                if part_start(part) + int(steps) <= end:
                    evaluations.append({**key, "timesteps": part_start(part) + int(steps),
                                        "eval_mean": round(float(np.mean(results)), 2),
                                        "eval_std": round(float(np.std(results)), 2)})  # fmt: skip
    return returns, motion, evaluations


def write_csv(path: Path, fields: tuple[str, ...], rows: list[dict]) -> None:
    """Write the CSV whole or not at all: a temporary file, flushed to disk, renamed over the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def collect(runs: list[MujocoRun], out: Path) -> None:
    """Rewrite the CSVs with the rows of every run whose logs are here; rows of other runs (another machine's, a
    fresh clone's) are kept as committed."""
    here = [run for run in runs if parts(run, out)]
    if not here:
        return
    replaced = {(run.algo, run.env_id, run.seed) for run in here}
    collected = [run_rows(run, out) for run in here]
    evaluations = [row for row in read_csv(out / "evaluations.csv") if (row["algo"], row["env"], row["seed"]) not in replaced]
    evaluations += [row for _, _, rows in collected for row in rows]
    write_csv(out / "evaluations.csv", EVALUATION_FIELDS, sorted_rows(evaluations))
    for env_id in {run.env_id for run in here}:
        for folder, fields, columns, index in (("returns", RETURN_FIELDS, ("mean_return",), 0),
                                               ("motion", MOTION_FIELDS, ("mean_length", "mean_speed"), 1)):  # fmt: skip
            path = out / folder / f"{env_id}.csv"
            rows = [row for row in read_csv(path) if (row["algo"], row["env"], row["seed"]) not in replaced]
            for found, run in zip(collected, here, strict=True):
                if run.env_id == env_id:
                    rows += epoch_rows(found[index], columns)
            if rows:
                write_csv(path, fields, sorted_rows(rows))


def sorted_rows(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: (row["env"], row["algo"], int(row["seed"]), int(row["timesteps"])))


# ---- the report --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedSummary:
    """One seed at 3M: its best sampled return (Tianshou's reading of one seed), its return, episode length and
    forward speed over its last 100k steps, and whether it collapsed."""

    best: float | None
    late: float | None
    length: float | None
    speed: float | None

    @property
    def collapsed(self) -> bool | None:
        return collapsed(self.best, self.late)


def aggregate(anchor: Anchor, runs: Runs) -> tuple[float | None, int]:
    """Ours in the anchor's aggregation over the seeds that reached its steps, and how many seeds that is."""
    seeds = runs.finished(anchor.steps)
    if anchor.metric == "tianshou":
        return tianshou_aggregate([runs.returns[seed] for seed in seeds], anchor.steps), len(seeds)
    scores = [seed_score(anchor.metric, anchor.steps, runs.returns.get(s, []), runs.evaluations.get(s, [])) for s in seeds]
    values = [value for value in scores if value is not None]
    if not values:
        return None, 0
    return (statistics.fmean(values) if anchor.metric == "spinning_up" else statistics.median(values)), len(values)


def summarise(runs: Runs, seed: int) -> SeedSummary:
    returns, motion = runs.returns.get(seed, []), runs.motion.get(seed, [])
    return SeedSummary(
        best=tianshou_sampled_score(returns, MUJOCO_STEPS),
        late=late_mean(returns, "mean_return", MUJOCO_STEPS),
        length=late_mean(motion, "mean_length", MUJOCO_STEPS),
        speed=late_mean(motion, "mean_speed", MUJOCO_STEPS),
    )


def iqm_interval(values: list[float]) -> tuple[float, float, float]:
    """The interquartile mean of ``values`` with its 95% stratified-bootstrap interval (rliable, Agarwal et al. 2021;
    2,000 resamples from a fixed seed, so that the report rebuilds the same)."""
    from rliable import library, metrics

    scores = {"x": np.asarray(values, dtype=np.float64)[:, None]}
    global_state = np.random.get_state()  # the resampling also draws from numpy's global generator
    try:
        np.random.seed(0)
        with warnings.catch_warnings():  # rliable hands arch a RandomState, which arch deprecates
            warnings.simplefilter("ignore", FutureWarning)
            point, interval = library.get_interval_estimates(
                scores, lambda s: np.array([metrics.aggregate_iqm(s)]), reps=2_000, random_state=np.random.RandomState(0)
            )
    finally:
        np.random.set_state(global_state)
    return float(point["x"][0]), float(interval["x"][0, 0]), float(interval["x"][1, 0])


def goal_seeds(env_id: str) -> int:
    return GOAL_SEEDS.get(env_id, DEFAULT_GOAL_SEEDS)


def goal_verdict(margins: dict[str, float | None], goal_envs: int) -> str:
    """``met`` when ours is above the anchor on ``goal_envs`` envs, ``missed`` when the envs still to be judged
    (margin None: fewer seeds than the goal's) can no longer make it, else ``open``."""
    above = sum(margin is not None and margin > 0 for margin in margins.values())
    pending = sum(margin is None for margin in margins.values())
    return "met" if above >= goal_envs else "missed" if above + pending < goal_envs else "open"


def margins(anchor: Anchor, runs: dict[tuple[str, str], Runs]) -> dict[str, tuple[float | None, float | None, int]]:
    """Per env of the anchor: ours in its aggregation, the margin (None while fewer seeds than the goal's have
    finished), and the seeds."""
    result = {}
    for env_id, figure in anchor.figures.items():
        ours, n_seeds = aggregate(anchor, runs[anchor.algo, env_id])
        judged = ours is not None and n_seeds >= goal_seeds(env_id)
        result[env_id] = (ours, ours - figure if judged else None, n_seeds)  # type: ignore[operator]
    return result


def short(env_id: str) -> str:
    return env_id.rsplit("-", 1)[0]


def number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def goal_lines(runs: dict[tuple[str, str], Runs]) -> list[str]:
    """Each anchor's goal and its verdict with every env's margin; then the stability goal's findings."""
    lines = ["### Goals", ""]
    for anchor in ANCHORS:
        if anchor.goal_envs is None:
            continue
        found = margins(anchor, runs)
        cells = [
            f"{short(env_id)} {margin:+,.0f}"
            if margin is not None
            else f"{short(env_id)} pending ({n} of {goal_seeds(env_id)} seeds)"
            for env_id, (_, margin, n) in found.items()
        ]
        verdict = goal_verdict({env_id: margin for env_id, (_, margin, _) in found.items()}, anchor.goal_envs)
        lines.append(
            f"- {anchor.algo.upper()} at {anchor.steps / 1e6:g}M above {anchor.label} on {anchor.goal_envs} of "
            f"{len(anchor.figures)} envs ({METRICS[anchor.metric]}): **{verdict}**; {', '.join(cells)}."
        )
    problems = []
    for (algo, env_id), env_runs in runs.items():
        for seed in env_runs.finished(MUJOCO_STEPS):
            summary = summarise(env_runs, seed)
            if summary.collapsed:
                problems.append(
                    f"{algo} {short(env_id)} seed {seed} collapsed ({number(summary.late)} of its best {number(summary.best)})"
                )
            if env_id in HEALTHY_REWARD_ENVS and summary.speed is not None and summary.speed < STANDING_SPEED:
                problems.append(f"{algo} {short(env_id)} seed {seed} stands ({summary.speed:.2f} m/s)")
    finished = sum(len(env_runs.finished(MUJOCO_STEPS)) for env_runs in runs.values())
    lines.append(
        f"- No collapsed seed (late return under half its best) and no locomotion agent standing (under "
        f"{STANDING_SPEED} m/s over its last 100k steps), over the {finished} seeds finished: "
        + ("**met**." if not problems else f"**missed**: {'; '.join(problems)}.")
    )
    return lines


def anchor_table(runs: dict[tuple[str, str], Runs]) -> list[str]:
    lines = [
        "### Against the anchors, in each anchor's own aggregation",
        "",
        "| env: ours / anchor's | ours | anchor | metric and aggregation | at | anchor (its seeds) | ours (seeds) | margin |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for env_id in MUJOCO_ENVS:
        for anchor in ANCHORS:
            if env_id not in anchor.figures:
                continue
            ours, n_seeds = aggregate(anchor, runs[anchor.algo, env_id])
            figure = anchor.figures[env_id]
            margin = "-" if ours is None else f"{ours - figure:+,.0f}"
            name, version = env_id.rsplit("-", 1)
            lines.append(
                f"| {name} {version} / {ANCHOR_ENV_VERSION} | {anchor.algo} | {anchor.label} | {METRICS[anchor.metric]} | "
                f"{anchor.steps / 1e6:g}M | {figure:,} ({anchor.seeds}) | {number(ours)} ({n_seeds}) | {margin} |"
            )
    return lines


def seed_table(runs: dict[tuple[str, str], Runs]) -> list[str]:
    lines = [
        "### Every seed at 3M",
        "",
        "Best: a seed's best sampled return (32k-step window, Tianshou's reading of one seed); the median, mean and",
        "IQM with its 95% bootstrap interval are over these. Late: the training return, episode length and forward",
        "speed (`info['x_velocity']`, m/s) over the last 100k steps. A seed collapsed when its late return is under",
        "half its best.",
        "",
        "| algo | env | seeds | best: median | mean | IQM [95% CI] | best, each seed | late return, each seed | "
        "late episode length | late speed (m/s) | collapsed |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (algo, env_id), env_runs in runs.items():
        seeds = env_runs.finished(MUJOCO_STEPS)
        if not seeds:
            continue
        summaries = [summarise(env_runs, seed) for seed in seeds]
        best = [s.best for s in summaries if s.best is not None]
        iqm = iqm_interval(best) if len(best) >= 2 else None
        iqm_cell = f"{iqm[0]:,.0f} [{iqm[1]:,.0f}, {iqm[2]:,.0f}]" if iqm else "-"
        median, mean = (statistics.median(best), statistics.fmean(best)) if best else (None, None)

        def each(values: list[float | None], digits: int = 0) -> str:
            return " / ".join("-" if v is None else f"{v:,.{digits}f}" for v in values)

        lines.append(
            f"| {algo} | {short(env_id)} | {len(seeds)} | {number(median)} | {number(mean)} | {iqm_cell} | "
            f"{each([s.best for s in summaries])} | {each([s.late for s in summaries])} | "
            f"{each([s.length for s in summaries])} | {each([s.speed for s in summaries], 2)} | "
            f"{', '.join(str(seed) for seed, s in zip(seeds, summaries, strict=True) if s.collapsed) or 'none'} |"
        )
    return lines


def report(runs: dict[tuple[str, str], Runs]) -> str:
    lines = [
        "# REINFORCE and VPG on MuJoCo against the published tables",
        "",
        f"Ours on gymnasium's v5 envs, the anchors on {ANCHOR_ENV_VERSION} (v5 keeps v3's rewards; it fixes contact",
        "forces, Ant's and Humanoid's, and the observations of a few envs). Generated by",
        "`python benchmarks/mujoco/mujoco_benchmark.py --report-only` from the committed CSVs alone.",
        "",
        *goal_lines(runs),
        "",
        *anchor_table(runs),
        "",
        *seed_table(runs),
        "",
        "### Where the anchors' figures come from",
        "",
        *[f"- {anchor.label}: {anchor.source}." for anchor in ANCHORS],
    ]
    return "\n".join(lines) + "\n"


def algorithm_table(runs: dict[tuple[str, str], Runs], algo: str) -> str:
    """One algorithm's rows of the report, one line per env (its module page includes this table)."""
    anchors = [anchor for anchor in ANCHORS if anchor.algo == algo]
    columns = [f"ours at {a.steps / 1e6:g}M (seeds) | {a.label}" for a in anchors]
    lines = ["| Environment | " + " | ".join(columns) + " |", "|---|" + "---|---|" * len(anchors)]
    for env_id in MUJOCO_ENVS:
        cells = []
        for anchor in anchors:
            ours, n_seeds = aggregate(anchor, runs[algo, env_id])
            figure = anchor.figures.get(env_id)
            cells.append(f"{number(ours)} ({n_seeds}) | {'-' if figure is None else f'{figure:,}'}")
        lines.append(f"| {env_id} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(out: Path, runs: dict[tuple[str, str], Runs]) -> None:
    """Per env: the sampled return (32k-step windows) and the deterministic evaluation against steps, the mean over
    seeds and their range for each of ours, and each anchor as a line on the panel of its reading."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for env_id in MUJOCO_ENVS:
        if not any(runs[algo, env_id].seeds for algo in ALGOS):
            continue
        figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
        for algo, color in zip(ALGOS, ("tab:blue", "tab:orange"), strict=True):
            env_runs = runs[algo, env_id]
            sampled = [window_returns(rows, MUJOCO_STEPS) for rows in env_runs.returns.values()]
            evaluated = [{row["timesteps"]: row["eval_mean"] for row in rows} for rows in env_runs.evaluations.values()]
            for axis, curves in ((axes[0], sampled), (axes[1], evaluated)):
                grid = sorted({steps for curve in curves for steps in curve})
                points = [(steps, [c[steps] for c in curves if c.get(steps) is not None]) for steps in grid]
                points = [(steps, values) for steps, values in points if values]
                if not points:
                    continue
                x = [steps for steps, _ in points]
                label = f"{algo} ({len(curves)} seed{'s' * (len(curves) != 1)})"
                axis.plot(x, [statistics.fmean(v) for _, v in points], color=color, label=label)
                axis.fill_between(x, [min(v) for _, v in points], [max(v) for _, v in points], color=color, alpha=0.2)
        for anchor, style in zip(ANCHORS, (":", "--", "-.", (0, (5, 1))), strict=True):
            if env_id in anchor.figures:
                axis = axes[0] if anchor.metric in TRAINING_BATCH_METRICS else axes[1]
                axis.axhline(
                    anchor.figures[env_id], color="gray", linestyle=style, label=f"{anchor.label} at {anchor.steps / 1e6:g}M"
                )
        axes[0].set(
            title=f"{env_id}: sampled return (training episodes, 32k-step windows)", xlabel="env steps", ylabel="return"
        )
        axes[1].set(title=f"{env_id}: deterministic evaluation (10 episodes)", xlabel="env steps", ylabel="return")
        for axis in axes:
            axis.legend(fontsize=7)
        figure.tight_layout()
        with replaced_whole(out / f"{env_id}.png") as temporary:
            figure.savefig(temporary, dpi=80)
        plt.close(figure)


# ---- where the runs train: a pool of this machine, or Ray tasks on a cluster ------------------------------------
BENCHMARKS_DIR = Path(__file__).resolve().parents[1]
DEFAULT_OUT = BENCHMARKS_DIR / "results" / "mujoco"


def outcomes(runs: list[MujocoRun], pending: list[Any], wait: Callable[[Any], str]) -> Iterator[str]:
    """Each run's outcome, in order: what ``wait`` gets from its pending result, or why it failed."""
    for result, run in zip(pending, runs, strict=True):
        try:
            yield wait(result)
        except Exception as error:  # the other runs go on; a rerun resumes this one
            yield f"FAILED   {run.algo} {run.env_id} seed {run.seed}: {error}"


def results_here(runs: list[MujocoRun], out: Path, workers: int) -> Iterator[str]:
    """Each run's outcome, in order, ``workers`` runs at a time on this machine."""
    with ThreadPoolExecutor(workers) as pool:
        yield from outcomes(runs, [pool.submit(execute, run, out) for run in runs], Future.result)


def execute_on_a_node(run: MujocoRun, out: Path) -> str:
    """:func:`execute` in a Ray task; its outcome names the node."""
    import ray

    return f"{execute(run, out)} on node {ray.get_runtime_context().get_node_id()[:12]}"


def results_on_ray(runs: list[MujocoRun], out: Path, address: str) -> Iterator[str]:
    """Each run's outcome, in order, each run a Ray task of one CPU on the cluster at ``address``, as many at once
    as it has CPUs. Every node must see ``out`` and this checkout at the same paths (a shared file system): a run
    resumes from its checkpoint on whichever node takes it next."""
    import ray
    from ray import cloudpickle

    if __name__ != "__main__":  # imported (a test): the tasks run this module's functions and settings as they are
        cloudpickle.register_pickle_by_value(sys.modules[__name__])
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False)
    # the tasks import the benchmarks' library (shared/) as this script does
    python_path = os.pathsep.join(filter(None, [str(BENCHMARKS_DIR), os.environ.get("PYTHONPATH")]))
    runtime_env = {"env_vars": {"PYTHONPATH": python_path}}
    task = ray.remote(num_cpus=1, max_retries=0, runtime_env=runtime_env)(execute_on_a_node)
    yield from outcomes(runs, [task.remote(run, out) for run in runs], ray.get)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--envs", nargs="+", default=list(MUJOCO_ENVS), choices=MUJOCO_ENVS)
    parser.add_argument("--algos", nargs="+", default=list(ALGOS), choices=ALGOS)
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--workers", type=int, default=2, help="runs at the same time, one torch thread each")
    parser.add_argument(
        "--ray-address",
        help="train the runs as Ray tasks on the cluster at this address ('auto': the "
        "cluster this machine belongs to); every node sees --out and this checkout at the same paths",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="a zoo config file whose entries the runs train instead of the shipped ones: a variant rechecked on "
        "tuning seeds (--seeds 1001 1002 1003) in an --out of its own",
    )
    parser.add_argument("--report-only", action="store_true", help="no training: the CSVs from the logs here, then the report")
    args = parser.parse_args()
    out = args.out.resolve()
    if args.config is not None and out == DEFAULT_OUT:
        parser.error("--config trains another entry than the shipped one: give it an --out of its own")
    if args.config is not None and set(args.seeds) & set(SEEDS):
        parser.error(f"--config is for tuning: the benchmark's seeds {list(SEEDS)} stay out of it")
    config = None if args.config is None else str(args.config.resolve())
    runs = [
        MujocoRun(algo, env_id, seed, config)
        for seed in args.seeds
        for env_id in args.envs
        for algo in args.algos
        if env_id != "Humanoid-v5" or seed in HUMANOID_SEEDS
    ]
    if not args.report_only:
        outcomes = results_on_ray(runs, out, args.ray_address) if args.ray_address else results_here(runs, out, args.workers)
        for outcome in outcomes:
            print(outcome, flush=True)
    collect(runs, out)  # also the runs still training: their CSV rows as they stand
    committed = read_runs(out, ALGOS)
    write_text_whole(out / "mujoco.md", report(committed))
    for algo in ALGOS:
        write_text_whole(out / f"{algo}.md", algorithm_table(committed, algo))
    plot(out, committed)
    print(f"report written to {out / 'mujoco.md'}")


if __name__ == "__main__":
    main()
