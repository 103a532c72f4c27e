"""
REINFORCE and VPG on the MuJoCo suite (HalfCheetah, Hopper, Walker2d, Swimmer, Ant; gymnasium's v5), each run
trained through our zoo entry point (``python -m sb3_vpg.zoo train``) with our ``zoo_configs/`` entries, and
scored in the metric of each published table it is compared with (the sources measured v3 envs):

* Spinning Up's VPG (``docs/spinningup/bench.rst`` in openai/spinningup, 10 seeds): the average return of each
  epoch's training batch (4,000 steps an epoch), smoothed over 11 epochs, at 3M steps. Ours: the mean return of
  the training episodes that ended in the last 44,000 steps (11 x 4,000) before 3M (``spinning_up_score``).
* Tianshou's REINFORCE (``examples/mujoco/README.md`` in thu-ml/tianshou, 10 seeds): the maximum over training of
  the mean test return (10 episodes after each 30,000-step epoch) up to 3M steps. Its test episodes sample actions
  (``PGPolicy``'s ``deterministic_eval`` defaults to False and ``mujoco_reinforce.py`` leaves it), so it is read
  twice: on our deterministic evaluations (``tianshou_score``), and on the training episodes, whose actions are
  sampled from the same policy: the best mean return of those that ended in a 32,000-step window
  (``tianshou_sampled_score``; 32,000 is the multiple of the committed 4,000-step rows nearest 30,000).
* rl-baselines3-zoo's A2C (``benchmark.md``, one run): the deterministic evaluation after 1M steps (``zoo_score``).

Per run, ``returns/<env>.csv`` records the training episodes per 4,000-step epoch (the epoch's end, the episodes
that ended in it, their mean return; from ``sb3_vpg.common.callbacks.RolloutReturnLog``'s row per rollout) and
``evaluations.csv`` a deterministic 10-episode evaluation every 50,000 steps (the zoo's ``EvalCallback``). The
report, ``mujoco.md`` (the table, and each goal met, missed or still open on the medians of 3 seeds) and
``<env>.png`` (median and seed range against steps, the anchors as lines), is built from these committed CSVs alone.

A run saves a checkpoint (model and ``VecNormalize`` statistics) every 250,000 steps. A run that was stopped
resumes from its last checkpoint through the zoo's ``-i`` in a new part (``from<steps>/``; the zoo restarts its
step counter, so the part's rows are offset by its first step, and its envs start new episodes), with the seed
``seed + 1000 * part`` so that a resumed part does not replay the first part's env seeds. Rows a stopped part
wrote after the checkpoint its successor resumed from are dropped. The runs' logs and checkpoints stay on the
machine that made them (``logs/``, not committed).

    python benchmarks/mujoco_benchmark.py --workers 2                       # every run: hours, resumable
    python benchmarks/mujoco_benchmark.py --envs Hopper-v5 --algos vpg --seeds 0
    python benchmarks/mujoco_benchmark.py --report-only
"""

import argparse
import bisect
import csv
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from shared import MUJOCO_ENVS, MUJOCO_EVAL_FREQ, MUJOCO_STEPS, MujocoRun, part_start, parts

from sb3_vpg.zoo import default_config

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


@dataclass(frozen=True)
class Anchor:
    """A published figure set and the metric it is read in."""

    label: str
    algo: str  # ours that is compared with it
    metric: str  # a key of METRICS
    steps: int
    seeds: int  # the anchor's
    figures: dict[str, float]
    goal_envs: int  # the goal: ours above the anchor on this many of the five


TIANSHOU_REINFORCE_3M = {"HalfCheetah-v5": 884, "Hopper-v5": 396, "Walker2d-v5": 412, "Swimmer-v5": 35, "Ant-v5": 475}
ANCHORS = (
    Anchor("Spinning Up VPG, better of PyTorch / TF1", "vpg", "spinning_up", 3_000_000, 10,
           {"HalfCheetah-v5": 641, "Hopper-v5": 907, "Walker2d-v5": 471, "Swimmer-v5": 76, "Ant-v5": 8}, 5),
    Anchor("Tianshou REINFORCE", "reinforce", "tianshou", 3_000_000, 10, TIANSHOU_REINFORCE_3M, 5),
    Anchor("Tianshou REINFORCE", "reinforce", "tianshou_sampled", 3_000_000, 10, TIANSHOU_REINFORCE_3M, 5),
    Anchor("rl-baselines3-zoo A2C (moonshot)", "vpg", "zoo", 1_000_000, 1,
           {"HalfCheetah-v5": 3041, "Hopper-v5": 733, "Walker2d-v5": 582, "Swimmer-v5": 201, "Ant-v5": -44}, 3),
)  # fmt: skip
GOAL_SEEDS = 3  # a goal is judged on the median of at least this many seeds
METRICS = {
    "spinning_up": "training batch return, last 44k steps",
    "tianshou": "best deterministic evaluation so far",
    "tianshou_sampled": "best training batch return per 32k steps so far, actions sampled as in its tests",
    "zoo": "deterministic evaluation",
}
TRAINING_BATCH_METRICS = ("spinning_up", "tianshou_sampled")  # read from returns/, the others from evaluations.csv
ANCHOR_ENV_VERSION = "v3"  # every source's


# ---- the anchors' metrics: pure functions of a run's rows -----------------------------------------------------


def spinning_up_score(returns: list[dict], at: int) -> float | None:
    """Mean return of the training episodes that ended in the last 11 Spinning Up epochs (44,000 steps) up to
    ``at``; None if the run has not reached ``at`` or no episode ended in that window."""
    if not returns or max(row["timesteps"] for row in returns) < at:
        return None
    start = at - SPINNING_UP_SMOOTHING * SPINNING_UP_EPOCH
    window = [row for row in returns if start < row["timesteps"] <= at and row["episodes"] > 0]
    return episode_mean(window) if window else None


def epoch_rows(rows: list[dict]) -> list[dict]:
    """A run's rollout rows merged into Spinning Up's 4,000-step epochs: one row per epoch that had episodes end in
    it, at the epoch's end, with their count and mean return. Every window the metric reads starts and ends on an
    epoch boundary, so it is the same on these rows (and a run of 128-step rollouts commits 750 rows, not 23,000)."""
    epochs: dict[int, list[dict]] = {}
    for row in rows:  # as the callback wrote them (text) or as read_csv reads them (numbers)
        if int(row["episodes"]) > 0:
            parsed = {**row, "timesteps": int(row["timesteps"]), "episodes": int(row["episodes"]),
                      "mean_return": float(row["mean_return"])}  # fmt: skip
            epochs.setdefault(-(-parsed["timesteps"] // SPINNING_UP_EPOCH) * SPINNING_UP_EPOCH, []).append(parsed)
    return [
        {
            **group[0],
            "timesteps": end,
            "episodes": sum(r["episodes"] for r in group),
            "mean_return": round(episode_mean(group), 4),
        }
        for end, group in sorted(epochs.items())
    ]


def episode_mean(rows: list[dict]) -> float:
    """The mean return of the episodes of some rollouts (each row's mean weighted by its episodes)."""
    return sum(row["mean_return"] * row["episodes"] for row in rows) / sum(row["episodes"] for row in rows)


def tianshou_score(evaluations: list[dict], up_to: int) -> float | None:
    """The best evaluation mean up to ``up_to`` steps; None if the run has not been evaluated at ``up_to``."""
    if not any(row["timesteps"] == up_to for row in evaluations):
        return None
    return max(row["eval_mean"] for row in evaluations if row["timesteps"] <= up_to)


def tianshou_sampled_score(returns: list[dict], up_to: int) -> float | None:
    """The best mean return of the training episodes that ended in a window of ``TIANSHOU_WINDOW`` steps (windows
    ending on every 4,000-step epoch) up to ``up_to``; None if the run has not reached ``up_to``."""
    if not returns or max(row["timesteps"] for row in returns) < up_to:
        return None
    rows = sorted((row for row in returns if row["episodes"] > 0 and row["timesteps"] <= up_to), key=lambda r: r["timesteps"])
    steps = [row["timesteps"] for row in rows]
    episodes = [0, *itertools.accumulate(row["episodes"] for row in rows)]
    total_return = [0.0, *itertools.accumulate(row["episodes"] * row["mean_return"] for row in rows)]
    best = None
    for end in range(TIANSHOU_WINDOW, up_to + 1, SPINNING_UP_EPOCH):
        first, last = bisect.bisect_right(steps, end - TIANSHOU_WINDOW), bisect.bisect_right(steps, end)
        if episodes[last] > episodes[first]:
            mean = (total_return[last] - total_return[first]) / (episodes[last] - episodes[first])
            best = mean if best is None else max(best, mean)
    return best


def zoo_score(evaluations: list[dict], at: int) -> float | None:
    """The evaluation mean at ``at`` steps; None if there is none."""
    return next((row["eval_mean"] for row in evaluations if row["timesteps"] == at), None)


def score(anchor: Anchor, returns: list[dict], evaluations: list[dict]) -> float | None:
    if anchor.metric == "spinning_up":
        return spinning_up_score(returns, anchor.steps)
    if anchor.metric == "tianshou":
        return tianshou_score(evaluations, anchor.steps)
    if anchor.metric == "tianshou_sampled":
        return tianshou_sampled_score(returns, anchor.steps)
    return zoo_score(evaluations, anchor.steps)


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


def n_envs(algo: str, env_id: str) -> int:
    return int(shipped_entry(algo, env_id)["n_envs"])


def check_entry(run: MujocoRun, out: Path) -> None:
    """Record the zoo entry a run begins with; refuse to resume it with another (a run is one entry's)."""
    recorded = run.folder(out) / "entry.yml"
    entry = shipped_entry(run.algo, run.env_id)
    if not recorded.exists():
        recorded.parent.mkdir(parents=True, exist_ok=True)
        recorded.write_text(yaml.safe_dump(entry))
    elif yaml.safe_load(recorded.read_text()) != entry:
        raise RuntimeError(
            f"{run.folder(out)} was trained with another {run.algo} entry for {run.env_id} than the one in "
            f"zoo_configs now ({recorded}); delete the folder to train the run again with today's entry"
        )


def train_command(run: MujocoRun, part: Path, index: int, resume_from: Path | None) -> list[str]:
    start = part_start(part)
    callbacks = [
        {"sb3_vpg.common.callbacks.RolloutReturnLog": {"path": str(part / "returns.csv"), "timestep_offset": start}},
        {"sb3_vpg.common.callbacks.RolloutMotionLog": {"path": str(part / "motion.csv"), "timestep_offset": start}},
        {"stable_baselines3.common.callbacks.CheckpointCallback": {
            "save_freq": CHECKPOINT_FREQ // n_envs(run.algo, run.env_id), "save_path": str(part / "checkpoints"),
            "name_prefix": "checkpoint", "save_vecnormalize": True}},
    ]  # fmt: skip
    command = [sys.executable, "-m", "sb3_vpg.zoo", "train", "--algo", run.algo, "--env", run.env_id]
    command += ["--seed", str(run.seed + 1000 * index), "-f", str(part / "zoo"), "--num-threads", "1"]
    command += ["-n", str(MUJOCO_STEPS - start), "--eval-freq", str(MUJOCO_EVAL_FREQ), "--eval-episodes", str(EVAL_EPISODES)]
    command += ["--n-eval-envs", "1", "--log-interval", "-1", "-params", f"callback:{callbacks!r}"]
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
    (part / "part.json").write_text(json.dumps({"seconds": round(seconds, 1), "command": " ".join(command[1:])}))
    (folder / "done.json").write_text(json.dumps({"finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}))
    return f"trained  {run.algo} {run.env_id} seed {run.seed} from {start:,} steps in {seconds:.0f} s"


# ---- collecting the logs into the committed CSVs ---------------------------------------------------------------


def run_rows(run: MujocoRun, out: Path) -> tuple[list[dict], list[dict]]:
    """The run's rollout and evaluation rows over all its parts; a part's rows after its successor's first step are
    dropped (the successor redid those steps from the checkpoint)."""
    returns: list[dict] = []
    evaluations: list[dict] = []
    found = parts(run, out)
    for part, successor in zip(found, [*found[1:], None], strict=True):
        end = part_start(successor) if successor else MUJOCO_STEPS
        key = {"algo": run.algo, "env": run.env_id, "seed": run.seed}
        if (part / "returns.csv").exists():
            with open(part / "returns.csv", newline="") as file:
                for row in csv.DictReader(file):
                    if int(row["timesteps"]) <= end:
                        returns.append({**key, **row})
        for npz in (part / "zoo" / run.algo).glob(f"{run.env_id}_*/evaluations.npz"):
            data = np.load(npz)
            for steps, results in zip(data["timesteps"], data["results"], strict=True):
                if part_start(part) + int(steps) <= end:
                    evaluations.append({**key, "timesteps": part_start(part) + int(steps),
                                        "eval_mean": round(float(np.mean(results)), 2),
                                        "eval_std": round(float(np.std(results)), 2)})  # fmt: skip
    return returns, evaluations


def read_csv(path: Path) -> list[dict]:
    """A committed CSV's rows, numbers as numbers."""
    if not path.exists():
        return []
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    for row in rows:
        for key, text in row.items():
            if key in ("seed", "timesteps", "episodes"):
                row[key] = int(text)
            elif key in ("mean_return", "eval_mean", "eval_std"):
                row[key] = float(text) if text != "" else None
    return rows


def write_csv(path: Path, fields: tuple[str, ...], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def collect(runs: list[MujocoRun], out: Path) -> None:
    """Rewrite the CSVs with the rows of every run whose logs are here; rows of other runs (another machine's, a
    fresh clone's) are kept as committed."""
    here = [run for run in runs if parts(run, out)]
    if not here:
        return
    replaced = {(run.algo, run.env_id, run.seed) for run in here}
    collected = [run_rows(run, out) for run in here]
    evaluations = [row for row in read_csv(out / "evaluations.csv") if (row["algo"], row["env"], row["seed"]) not in replaced]
    evaluations += [row for _, rows in collected for row in rows]
    write_csv(out / "evaluations.csv", EVALUATION_FIELDS, sorted_rows(evaluations))
    for env_id in {run.env_id for run in here}:
        path = out / "returns" / f"{env_id}.csv"
        returns = [row for row in read_csv(path) if (row["algo"], row["env"], row["seed"]) not in replaced]
        returns += [
            row for (rows, _), run in zip(collected, here, strict=True) if run.env_id == env_id for row in epoch_rows(rows)
        ]
        write_csv(path, RETURN_FIELDS, sorted_rows(returns))


def sorted_rows(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: (row["env"], row["algo"], int(row["seed"]), int(row["timesteps"])))


# ---- the report --------------------------------------------------------------------------------------------------


def by_seed(rows: list[dict], algo: str, env_id: str) -> dict[int, list[dict]]:
    seeds: dict[int, list[dict]] = {}
    for row in rows:
        if row["algo"] == algo and row["env"] == env_id:
            seeds.setdefault(row["seed"], []).append(row)
    return seeds


def seed_scores(anchor: Anchor, env_id: str, evaluations: list[dict], returns: list[dict]) -> dict[int, float | None]:
    """Each seed's score in the anchor's metric (None: the seed has not reached the anchor's steps)."""
    evals, rets = by_seed(evaluations, anchor.algo, env_id), by_seed(returns, anchor.algo, env_id)
    return {seed: score(anchor, rets.get(seed, []), evals.get(seed, [])) for seed in sorted({*evals, *rets})}


# (anchor's metric, which names the anchor; env) -> seed -> score
Scores = dict[tuple[str, str], dict[int, float | None]]


def all_scores(evaluations: list[dict], returns: dict[str, list[dict]]) -> Scores:
    """Every anchor's seed scores on every env, from the committed rows (``returns``: each env's)."""
    return {
        (anchor.metric, env_id): seed_scores(anchor, env_id, evaluations, returns[env_id])
        for anchor in ANCHORS
        for env_id in MUJOCO_ENVS
    }


def read_scores(out: Path) -> Scores:
    """The scores of the committed CSVs in ``out``."""
    returns = {env_id: read_csv(out / "returns" / f"{env_id}.csv") for env_id in MUJOCO_ENVS}
    return all_scores(read_csv(out / "evaluations.csv"), returns)


def done(scores: dict[int, float | None]) -> list[float]:
    """The scores of the seeds that reached the anchor's steps."""
    return [value for value in scores.values() if value is not None]


def goal_verdict(margins: dict[str, float | None], goal_envs: int) -> str:
    """``met`` when ours is above the anchor on ``goal_envs`` envs, ``missed`` when the envs still to be judged
    (margin None: fewer than ``GOAL_SEEDS`` seeds) can no longer make it, else ``open``."""
    above = sum(margin is not None and margin > 0 for margin in margins.values())
    pending = sum(margin is None for margin in margins.values())
    return "met" if above >= goal_envs else "missed" if above + pending < goal_envs else "open"


def goal_lines(scores: Scores) -> list[str]:
    """Per anchor: the goal's verdict, and each env's margin (median of ours minus the anchor's figure)."""
    lines = ["", f"**Goals: the median of at least {GOAL_SEEDS} seeds above the anchor.**", ""]
    for anchor in ANCHORS:
        margins: dict[str, float | None] = {}
        cells = []
        for env_id in MUJOCO_ENVS:
            seeds = done(scores[anchor.metric, env_id])
            margin = margins[env_id] = statistics.median(seeds) - anchor.figures[env_id] if len(seeds) >= GOAL_SEEDS else None
            name = env_id.rsplit("-", 1)[0]
            cells.append(f"{name} {margin:+,.0f}" if margin is not None else f"{name} pending ({len(seeds)} of {GOAL_SEEDS})")
        lines.append(
            f"- {anchor.algo.upper()} at {anchor.steps / 1e6:g}M against {anchor.label} ({METRICS[anchor.metric]}), "
            f"above it on {anchor.goal_envs} of {len(MUJOCO_ENVS)} envs: **{goal_verdict(margins, anchor.goal_envs)}**; "
            f"{', '.join(cells)}."
        )
    return lines


def median_cell(scores: dict[int, float | None]) -> str:
    """The median over the seeds that have a score, with their count, or ``-``."""
    seeds = done(scores)
    return f"{statistics.median(seeds):,.0f} ({len(seeds)} seed{'s' * (len(seeds) != 1)})" if seeds else "-"


def report(scores: Scores) -> str:
    lines = [
        "# REINFORCE and VPG on MuJoCo against the published tables",
        "",
        "Ours on gymnasium's v5 envs, the anchors on v3. Each score is in the anchor's own metric (see the script's",
        "docstring); ours is the median over seeds, with every seed's score. `-` where no seed has reached the steps.",
        "",
        "| env: ours / anchor | anchor | metric | at | anchor (seeds) | ours: median (seeds) | ours per seed | margin |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for env_id in MUJOCO_ENVS:
        for anchor in ANCHORS:
            env_scores = scores[anchor.metric, env_id]
            seeds = done(env_scores)
            figure = anchor.figures[env_id]
            per_seed = " / ".join(f"{value:,.0f}" if value is not None else "-" for value in env_scores.values()) or "-"
            margin = f"{statistics.median(seeds) - figure:+,.0f}" if seeds else "-"
            name, version = env_id.rsplit("-", 1)
            lines.append(
                f"| {name} {version} / {ANCHOR_ENV_VERSION} | {anchor.label} | {METRICS[anchor.metric]} | "
                f"{anchor.steps / 1e6:g}M | {figure:,} ({anchor.seeds}) | {median_cell(env_scores)} | {per_seed} | {margin} |"
            )
    return "\n".join(lines + goal_lines(scores)) + "\n"


def algorithm_table(scores: Scores, algo: str) -> str:
    """One algorithm's rows of the report, one line per env (its module page includes this table)."""
    anchors = [anchor for anchor in ANCHORS if anchor.algo == algo]
    columns = [f"ours at {a.steps / 1e6:g}M, median (seeds) | {a.label} ({METRICS[a.metric]})" for a in anchors]
    lines = ["| Environment | " + " | ".join(columns) + " |", "|---|" + "---|---|" * len(anchors)]
    for env_id in MUJOCO_ENVS:
        cells = [f"{median_cell(scores[a.metric, env_id])} | {a.figures[env_id]:,}" for a in anchors]
        lines.append(f"| {env_id} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(out: Path) -> None:
    """Per env: the evaluation mean and the training batch return against steps, median and seed range of each of
    ours, and the anchors as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    evaluations = read_csv(out / "evaluations.csv")
    for env_id in MUJOCO_ENVS:
        returns = read_csv(out / "returns" / f"{env_id}.csv")
        if not returns and not any(row["env"] == env_id for row in evaluations):
            continue
        figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
        for axis, rows, column, title in (
            (axes[0], evaluations, "eval_mean", "deterministic evaluation (10 episodes)"),
            (axes[1], returns, "mean_return", "training batch return (per 44k steps)"),
        ):
            for algo, color in zip(ALGOS, ("tab:blue", "tab:orange"), strict=True):
                seeds = by_seed(rows, algo, env_id)
                if column == "mean_return":  # binned as Spinning Up smooths: mean return per 11 epochs
                    seeds = {seed: binned_returns(seed_rows) for seed, seed_rows in seeds.items()}
                grid = sorted({row["timesteps"] for seed_rows in seeds.values() for row in seed_rows})
                curves = [{row["timesteps"]: row[column] for row in seed_rows} for seed_rows in seeds.values()]
                points = [(steps, [curve[steps] for curve in curves if curve.get(steps) is not None]) for steps in grid]
                points = [(steps, values) for steps, values in points if values]
                if not points:
                    continue
                x = [steps for steps, _ in points]
                label = f"{algo} ({len(curves)} seed{'s' * (len(curves) != 1)})"
                axis.plot(x, [statistics.median(v) for _, v in points], color=color, label=label)
                axis.fill_between(x, [min(v) for _, v in points], [max(v) for _, v in points], color=color, alpha=0.2)
            for anchor, style in zip(ANCHORS, (":", "--", (0, (5, 1)), "-."), strict=True):
                if (column == "mean_return") == (anchor.metric in TRAINING_BATCH_METRICS):
                    axis.axhline(
                        anchor.figures[env_id],
                        color="gray",
                        linestyle=style,
                        label=f"{anchor.label} at {anchor.steps / 1e6:g}M",
                    )
            axis.set(title=f"{env_id}: {title}", xlabel="env steps", ylabel="return")
            axis.legend(fontsize=7)
        figure.tight_layout()
        figure.savefig(out / f"{env_id}.png", dpi=80)
        plt.close(figure)


def binned_returns(rows: list[dict]) -> list[dict]:
    """Mean episode return per window of 11 Spinning Up epochs, at each window's end."""
    width = SPINNING_UP_SMOOTHING * SPINNING_UP_EPOCH
    bins: dict[int, list[dict]] = {}
    for row in rows:
        if row["episodes"] > 0:
            bins.setdefault(-(-row["timesteps"] // width) * width, []).append(row)
    return [
        {
            "timesteps": end,
            "mean_return": sum(r["mean_return"] * r["episodes"] for r in group) / sum(r["episodes"] for r in group),
        }
        for end, group in sorted(bins.items())
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "mujoco")
    parser.add_argument("--envs", nargs="+", default=list(MUJOCO_ENVS), choices=MUJOCO_ENVS)
    parser.add_argument("--algos", nargs="+", default=list(ALGOS), choices=ALGOS)
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--workers", type=int, default=2, help="runs at the same time, one torch thread each")
    parser.add_argument("--report-only", action="store_true", help="no training: the CSVs from the logs here, then the report")
    args = parser.parse_args()
    out = args.out.resolve()
    runs = [
        MujocoRun(algo, env_id, seed)
        for seed in args.seeds
        for env_id in args.envs
        for algo in args.algos
        if env_id != "Humanoid-v5" or seed in HUMANOID_SEEDS
    ]
    if not args.report_only:
        with ThreadPoolExecutor(args.workers) as pool:
            futures = [pool.submit(execute, run, out) for run in runs]
            for future, run in zip(futures, runs, strict=True):
                try:
                    print(future.result(), flush=True)
                except Exception as error:  # the other runs go on; a rerun resumes this one
                    print(f"FAILED   {run.algo} {run.env_id} seed {run.seed}: {error}", flush=True)
    collect(runs, out)  # also the runs still training: their CSV rows as they stand
    scores = read_scores(out)
    (out / "mujoco.md").write_text(report(scores))
    for algo in ALGOS:
        (out / f"{algo}.md").write_text(algorithm_table(scores, algo))
    plot(out)
    print(f"report written to {out / 'mujoco.md'}")


if __name__ == "__main__":
    main()
