"""
What the benchmark scripts share (each script is one job, top to bottom, and imports only this module of
benchmarks/): runs of the zoo's train command and their records, resumable Pong runs, the tables and curves of
Pong games, the MuJoCo suite.
"""

import csv
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sb3_vpg.common.files import replaced_whole, whole_lines, write_text_whole
from sb3_vpg.pong import run_folder as pong_folder

BENCHMARKS = Path(__file__).resolve().parent
# The MuJoCo suite of mujoco_benchmark.py (gymnasium's v5 envs), its steps per run and evaluation grid
MUJOCO_ENVS = ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Swimmer-v5", "Ant-v5", "Humanoid-v5")
MUJOCO_STEPS = 3_000_000
MUJOCO_EVAL_FREQ = 50_000


# --- Runs of the zoo's train command: suites, run records, resumable training, their CSVs ---


CONFIGS = BENCHMARKS / "configs"


@dataclass(frozen=True)
class Suite:
    """One environment of the benchmark and how every algorithm is run on it."""

    env_id: str
    algos: tuple[str, ...]
    n_timesteps: int
    eval_freq: int  # in total env steps (the zoo divides by n_envs); -1: no evaluation
    eval_episodes: int
    threshold: float | None  # the score a run must reach for "steps to threshold"
    wall_seconds: float | None = None  # a wall-clock budget instead of a step budget


@dataclass(frozen=True)
class Variant:
    """A benchmark contender that is one of the zoo's algorithms trained with a zoo config of its own."""

    algo: str  # the zoo's --algo
    config: str  # its -conf: a file or a python module


ALL_ALGOS = ("reinforce", "vpg", "a2c", "ppo", "trpo")


SUITES = {
    suite.env_id: suite
    for suite in (
        Suite("CartPole-v1", ALL_ALGOS, 100_000, 5_000, 5, 475.0),
        Suite("Acrobot-v1", ALL_ALGOS, 200_000, 10_000, 5, -100.0),
        Suite("InvertedPendulum-v5", ALL_ALGOS, 200_000, 10_000, 5, 950.0),
        # our two only (the goal is the final model's score); 4-10 minutes a run here
        Suite("LunarLander-v3", ("reinforce", "vpg"), 2_000_000, 100_000, 10, 200.0),
    )
}


@dataclass(frozen=True)
class Run:
    algo: str  # an algorithm, or the name of the variant
    suite: Suite
    seed: int
    variant: Variant | None = None

    @property
    def zoo_algo(self) -> str:
        return self.variant.algo if self.variant is not None else self.algo

    @property
    def name(self) -> str:
        # all_plots groups the folders under <exp folder>/<algo>/ whose name contains the env id
        return f"{self.suite.env_id}_seed{self.seed}"


def has_benchmark_config(algo: str, env_id: str) -> bool:
    path = CONFIGS / f"{algo}.yml"
    return path.exists() and env_id in (yaml.safe_load(path.read_text()) or {})


def train_command(run: Run, scratch: Path) -> list[str]:
    suite = run.suite
    command = [sys.executable, "-m", "sb3_vpg.zoo", "train", "--algo", run.zoo_algo, "--env", suite.env_id]
    command += ["--seed", str(run.seed), "-f", str(scratch), "--num-threads", "1", "-n", str(suite.n_timesteps)]
    command += ["--eval-freq", str(suite.eval_freq), "--log-interval", "-1"]
    if suite.eval_freq > 0:
        command += ["--eval-episodes", str(suite.eval_episodes), "--n-eval-envs", "1"]
    if run.variant is not None:
        command += ["-conf", run.variant.config]
    elif has_benchmark_config(run.algo, suite.env_id):
        command += ["-conf", str(CONFIGS / f"{run.algo}.yml")]
    if suite.wall_seconds is not None:
        callback = f"[{{'sb3_vpg.common.callbacks.StopTrainingOnWallClock': {{'max_seconds': {suite.wall_seconds}}}}}]"
        command += ["-params", f"callback:{callback}"]
    return command


def run_dir(logs: Path, run: Run) -> Path:
    return logs / run.algo / run.name


def finished(run: Run, out: Path) -> bool:
    return (run_dir(out / "logs", run) / "benchmark.json").exists()


def execute(run: Run, out: Path) -> str:
    """Train one run unless it is finished; return what happened."""
    final = run_dir(out / "logs", run)
    if finished(run, out):
        return f"reused   {run.algo} {run.name}"
    scratch = out / "scratch" / run.algo / run.name
    shutil.rmtree(scratch, ignore_errors=True)  # an interrupted attempt
    scratch.mkdir(parents=True)
    command = train_command(run, scratch)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start = time.perf_counter()
    with open(scratch / "train.log", "w") as log:
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=out)
    wall_seconds = time.perf_counter() - start
    if result.returncode != 0:
        tail = (scratch / "train.log").read_text()[-3000:]
        raise RuntimeError(f"{' '.join(command)} failed with exit code {result.returncode}:\n{tail}")
    (zoo_dir,) = (scratch / run.zoo_algo).glob(f"{run.suite.env_id}_*")
    shutil.move(scratch / "train.log", zoo_dir / "train.log")
    final.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(final, ignore_errors=True)
    shutil.move(zoo_dir, final)
    shutil.rmtree(scratch)
    record = {"algo": run.algo, "env": run.suite.env_id, "seed": run.seed, "wall_seconds": wall_seconds}
    record["command"] = " ".join(command[1:])
    write_text_whole(final / "benchmark.json", json.dumps(record, indent=1))
    return f"trained  {run.algo} {run.name} in {wall_seconds:.0f} s"


def train_all(runs: list[Run], out: Path, workers: int) -> None:
    """Train every run not finished yet, ``workers`` at a time in the order given; exit if any failed."""
    print(f"{len(runs)} runs, {workers} at a time, in {out}", flush=True)
    failed = []
    with ThreadPoolExecutor(workers) as pool:
        futures = {pool.submit(execute, run, out): run for run in runs}
        for future, run in futures.items():
            try:
                print(future.result(), flush=True)
            except Exception as error:  # the other runs go on; a rerun retries this one
                print(f"FAILED   {run.algo} {run.name}: {error}", flush=True)
                failed.append(run)
    if failed:
        raise SystemExit(f"{len(failed)} runs failed (see above); run the same command again to retry them")


def read_episodes(folder: Path) -> np.ndarray:
    """Every training env's episodes as rows of (reward, length, seconds since the start), in the order they ended."""
    paths = sorted(folder.glob("*.monitor.csv"))
    if not paths:
        raise FileNotFoundError(f"no training monitor files in {folder}")
    episodes = np.concatenate(
        [np.loadtxt(path, delimiter=",", skiprows=2, ndmin=2, usecols=(0, 1, 2)).reshape(-1, 3) for path in paths]
    )
    return episodes[np.argsort(episodes[:, 2], kind="stable")]


def collect(run: Run, out: Path) -> tuple[dict, list[dict]]:
    """One row for runs.csv and the rows of evaluations.csv of a finished run."""
    folder = run_dir(out / "logs", run)
    record = json.loads((folder / "benchmark.json").read_text())
    episodes = read_episodes(folder)
    # total env steps finished against wall-clock seconds, from the episode ends of every training env
    steps_at = np.concatenate([[0.0], np.cumsum(episodes[:, 1])])
    seconds_at = np.concatenate([[0.0], episodes[:, 2]])
    total_steps = int(steps_at[-1])
    train_seconds = float(seconds_at[-1])
    row = {"algo": run.algo, "env": run.suite.env_id, "seed": run.seed, "wall_seconds": record["wall_seconds"]}
    row["steps_per_second"] = total_steps / train_seconds if train_seconds > 0 else math.nan
    evaluations: list[dict] = []
    log = np.load(folder / "evaluations.npz")
    for timesteps, results in zip(log["timesteps"], log["results"], strict=True):
        seconds = float(np.interp(timesteps, steps_at, seconds_at))
        evaluations.append(
            {
                "algo": run.algo,
                "env": run.suite.env_id,
                "seed": run.seed,
                "timesteps": int(timesteps),
                "wall_seconds": seconds,
                "eval_mean": float(np.mean(results)),
                "eval_std": float(np.std(results)),
            }
        )
    reached = [e for e in evaluations if run.suite.threshold is not None and e["eval_mean"] >= run.suite.threshold]
    row["final_score"] = evaluations[-1]["eval_mean"]
    row["steps"] = evaluations[-1]["timesteps"]
    row["steps_to_threshold"] = reached[0]["timesteps"] if reached else ""
    row["seconds_to_threshold"] = round(reached[0]["wall_seconds"], 1) if reached else ""
    return row, evaluations


# the numeric columns of runs.csv and evaluations.csv (and the tuning's recheck.csv); "" (never reached) stays ""
NUMBERS = {"seed": int, "wall_seconds": float, "steps_per_second": float, "final_score": float, "steps": int,
           "steps_to_threshold": int, "seconds_to_threshold": float, "timesteps": int, "eval_mean": float,
           "eval_std": float, "late_score": float}  # fmt: skip


def read_rows(path: Path) -> list[dict]:
    """The rows of one of our CSVs, numbers as numbers (as ``collect`` made them); none if there is no file."""
    if not path.exists():
        return []
    with open(path, newline="") as file:
        return [
            {key: NUMBERS[key](text) if key in NUMBERS and text != "" else text for key, text in row.items()}
            for row in csv.DictReader(file)
        ]


def write_csv(path: Path, rows: list[dict]) -> None:
    fields: list[str] = []
    for row in rows:
        fields += [key for key in row if key not in fields]
    with replaced_whole(path) as temporary, open(temporary, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)


# --- Pong games: the running reward's table and curves ---


def read_games(folder: Path) -> dict[str, np.ndarray]:
    """A run's games from the ``episodes.csv`` of ``python -m sb3_vpg.pong train`` (or one with its columns; a
    run folder, or the CSV file itself): score, agent steps so far, minutes, running reward."""
    rows = pong_folder.read_episodes(folder)
    return {
        "score": np.array([float(row["score"]) for row in rows]),
        "steps": np.array([int(row["steps"]) for row in rows]),
        "minutes": np.array([float(row["wall_seconds"]) / 60 for row in rows]),
        "running_reward": np.array([float(row["running_reward"]) for row in rows]),
    }


def summarise(
    contender: str,
    seed: int,
    run_games: dict[str, np.ndarray],
    budget_minutes: float,
    checkpoints: tuple[float, ...],
    thresholds: tuple[float, ...],
) -> dict:
    """One row of the table: where the running reward stood at each checkpoint and when it first passed each
    threshold (empty: never within the run)."""
    minutes, running, steps = run_games["minutes"], run_games["running_reward"], run_games["steps"]
    if not len(running):
        raise SystemExit(f"{contender} seed {seed} finished no game: give it more than {budget_minutes:g} minutes")
    row: dict = {"contender": contender, "seed": seed, "games": len(running), "steps": int(steps[-1])}
    row["steps_per_second"] = round(steps[-1] / (minutes[-1] * 60))
    for checkpoint in checkpoints:
        ended = np.flatnonzero(minutes <= checkpoint)
        row[f"running_reward_at_{checkpoint:g}_min"] = (
            round(float(running[ended[-1]]), 2) if checkpoint <= budget_minutes and len(ended) else ""
        )
    for threshold in thresholds:
        above = np.flatnonzero(running > threshold)
        row[f"minutes_to_{threshold:g}"] = round(float(minutes[above[0]]), 1) if len(above) else ""
        row[f"steps_to_{threshold:g}"] = int(steps[above[0]]) if len(above) else ""
    return row


def median_range(values: list[float]) -> str:
    """``median [min, max]`` of repeated measurements (ratios, to two decimals)."""
    return f"{statistics.median(values):.2f} [{min(values):.2f}, {max(values):.2f}]"


def median_reward(values: list) -> str:
    return "-" if "" in values else f"{statistics.median(values):.2f}"


def median_to(values: list) -> str:
    """Median over seeds of the minutes or steps to a threshold; a seed that never passed it (empty) counts as
    later than every other."""
    median = statistics.median(float("inf") if value == "" else value for value in values)
    return "not reached" if median == float("inf") else f"{median:,.0f}"


def cell(value, digits: int = 2, missing: str = "not reached") -> str:
    return missing if value == "" else f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def table_lines(
    rows: list[dict],
    contenders: list[str],
    labels: dict[str, str],
    checkpoints: tuple[float, ...],
    thresholds: tuple[float, ...],
) -> list[str]:
    """A markdown table of ``summarise`` rows: every run, then the median of each contender with several seeds."""
    header = "| contender | seed | games | agent steps | steps/s |"
    header += "".join(f" running reward at {checkpoint:g} min |" for checkpoint in checkpoints)
    header += "".join(f" minutes to > {threshold:g} |" for threshold in thresholds)
    header += "".join(f" agent steps to > {threshold:g} |" for threshold in thresholds)
    lines = [header, "|" + "---|" * (5 + len(checkpoints) + 2 * len(thresholds))]
    for contender in contenders:
        mine = [row for row in rows if row["contender"] == contender]
        for row in mine:
            line = f"| {labels[contender]} | {row['seed']} | {row['games']:,} | {row['steps']:,} |"
            line += f" {row['steps_per_second']:,} |"
            # no running reward yet (no game ended, or the run was shorter): "-"
            line += "".join(f" {cell(row[f'running_reward_at_{c:g}_min'], missing='-')} |" for c in checkpoints)
            line += "".join(f" {cell(row[f'minutes_to_{t:g}'], 0)} |" for t in thresholds)
            line += "".join(f" {cell(row[f'steps_to_{t:g}'])} |" for t in thresholds)
            lines.append(line)
        if len(mine) > 1:
            line = f"| **{labels[contender]}: median of {len(mine)}** | | | | |"
            line += "".join(f" {median_reward([r[f'running_reward_at_{c:g}_min'] for r in mine])} |" for c in checkpoints)
            line += "".join(f" {median_to([r[f'minutes_to_{t:g}'] for r in mine])} |" for t in thresholds)
            line += "".join(f" {median_to([r[f'steps_to_{t:g}'] for r in mine])} |" for t in thresholds)
            lines.append(line)
    return lines


def plot_running_reward(
    runs_of: dict[str, list[dict[str, np.ndarray]]],
    labels: dict[str, str],
    title: str,
    minutes_label: str,
    path: Path,
) -> None:
    """Median running reward across seeds with the seeds' range shaded, against minutes and against steps, for
    each contender (``runs_of``: its runs' games)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for contender, all_runs in runs_of.items():
        runs = [run_games for run_games in all_runs if len(run_games["steps"])]  # a run may have ended no game
        if not runs:
            continue
        colour = None
        for ax, x in zip(axes, ("minutes", "steps"), strict=True):
            end = min(run_games[x][-1] for run_games in runs)  # where every seed still has data
            grid = np.linspace(0, end, 300)
            curves = np.array([np.interp(grid, g[x], g["running_reward"], left=np.nan) for g in runs])
            label = f"{labels[contender]}, {len(runs)} seed{'s' * (len(runs) > 1)}"
            (line,) = ax.plot(grid, np.median(curves, axis=0), label=label, color=colour)
            colour = line.get_color()
            ax.fill_between(grid, curves.min(axis=0), curves.max(axis=0), alpha=0.25, color=colour)
    for ax, xlabel in zip(axes, (minutes_label, "agent steps"), strict=True):
        ax.axhline(0, color="grey", linestyle=":")
        ax.set_xlabel(xlabel)
    axes[0].set_ylabel("running reward (Karpathy's 0.99 average)")
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    with replaced_whole(path) as temporary:
        fig.savefig(temporary, dpi=100)
    plt.close(fig)


# --- Pong runs of python -m sb3_vpg.pong train, resumable ---


def wall_hours_done(folder: Path) -> float:
    state = folder / "state.json"
    return json.loads(state.read_text())["wall_seconds"] / 3600 if state.exists() else 0.0


def train_pong_run(seed: int, folder: Path, hours: float, config: str = "fast", updates: int | None = None) -> None:
    """Train (or resume) the run of ``config`` and ``seed`` in ``folder`` until it has ``hours`` of wall clock (or,
    with ``updates``, until this session has made that many updates)."""
    remaining = hours - wall_hours_done(folder)
    if remaining <= 1 / 3600:
        print(f"seed {seed}: done ({wall_hours_done(folder):.2f} h)", flush=True)
        return
    command = [sys.executable, "-m", "sb3_vpg.pong", "train", "--config", config, "--out", str(folder)]
    command += ["--seed", str(seed), "--hours", f"{remaining:.6f}", "--print-every", "10"]
    command += [] if updates is None else ["--updates", str(updates)]
    print(" ".join(command[1:]), flush=True)
    subprocess.run(command, check=True)


# --- A Pong run's episodes as they stand at its checkpoint ---


def copy_up_to_checkpoint(run_folder: Path, out: Path) -> None:
    """Copy the run's episodes.csv to ``out``, up to its last checkpoint (where a resumed run goes on from), as
    written (without a last line a kill tore)."""
    rows = pong_folder.read_episodes(run_folder)
    if (run_folder / pong_folder.STATE_FILE).exists():  # the checkpoint's episode count is all it needs of the state
        checkpointed = json.loads((run_folder / pong_folder.STATE_FILE).read_text())["episodes"]
        rows = [row for row in rows if row["episode"] <= checkpointed]
    lines = whole_lines((run_folder / pong_folder.EPISODES_FILE).read_text()).splitlines(keepends=True)
    out.mkdir(parents=True, exist_ok=True)
    with replaced_whole(out / pong_folder.EPISODES_FILE) as temporary:
        temporary.write_text("".join(lines[: 1 + len(rows)]))  # the header, then the rows in episode order


# --- Pong: SB3's PPO and A2C on KarpathyPongVecEnv, the entries of the head-to-head ---


DEFAULT_ENTRIES = BENCHMARKS / "configs" / "pong_head_to_head.yml"


DONE_FILE = "benchmark.json"


@dataclass(frozen=True)
class Entries:
    """The PPO/A2C entries of ``--entries`` (``configs/pong_head_to_head.yml``): the file (each worker reads it
    again) and name -> settings (``algo``, ``n_envs``, the algorithm's keyword arguments and ``rmsprop_tf_like``)."""

    file: Path
    settings: dict[str, dict[str, Any]]


def read_entries(file: Path) -> Entries:
    return Entries(file.resolve(), yaml.safe_load(file.read_text()))


def train_entry(
    entries: Entries,
    name: str,
    seed: int,
    minutes: float,
    folder: Path,
    torch_threads: int,
    stop_after_games: int | None = None,
) -> list[str]:
    """Train the SB3 entry ``name`` in a fresh process (``pong_head_to_head.py --train-one``); return the command."""
    worker = BENCHMARKS / "pong_head_to_head.py"
    command = [sys.executable, str(worker), "--train-one", name, "--seed", str(seed), "--minutes", f"{minutes:g}"]
    command += ["--run-folder", str(folder), "--torch-threads", str(torch_threads), "--entries", str(entries.file)]
    if stop_after_games is not None:
        command += ["--stop-after-games", str(stop_after_games)]
    subprocess.run(command, check=True)
    return command


def run_folder(runs: Path, name: str, seed: int, minutes: float, config: str) -> Path:
    """The folder of a run: ours in ``pong_fast_preset.py``'s (``runs/pong_<config>/seed<N>``, so that the two
    scripts share their runs), the others in ``<runs>/<entry>_<minutes>min/seed<N>``."""
    if name == "reinforce":
        return runs.parent / f"pong_{config}" / f"seed{seed}"
    return runs / f"{name}_{minutes:g}min" / f"seed{seed}"


def tuning_rows(entries: Entries, runs: Path, minutes: float) -> list[dict]:
    """One row per finished tuning run: the entry, its running reward at the end, games, steps, steps/s."""
    rows = []
    for name in entries.settings:
        folder = run_folder(runs, name, 0, minutes, "")
        if not (folder / DONE_FILE).exists():
            continue
        games = read_games(folder)
        final = round(float(games["running_reward"][-1]), 2) if len(games["score"]) else ""  # "": no game ended
        steps = int(games["steps"][-1]) if len(games["score"]) else 0
        rows.append({"entry": name, "algo": entries.settings[name]["algo"], "minutes": minutes, "games": len(games["score"]),
                     "steps": steps, "steps_per_second": round(steps / (minutes * 60)), "running_reward": final})  # fmt: skip
    return rows


def committed_tuning_rows(out: Path, minutes: float) -> list[dict]:
    """The rows of ``tuning.csv`` in ``out`` for ``minutes`` (the tuning as committed, where its runs are gone)."""
    rows = [row for row in read_rows(out / "tuning.csv") if float(row["minutes"]) == minutes]
    return [{**row, "running_reward": float(row["running_reward"]) if row["running_reward"] else ""} for row in rows]


def best_entry(entries: Entries, algo: str, runs: Path, minutes: float, out: Path) -> str:
    """The entry of ``algo`` with the highest running reward in ``pong_sb3_tuning.py`` (its runs, or else its committed
    ``tuning.csv``); the zoo's settings if untuned."""
    rows = tuning_rows(entries, runs, minutes) or committed_tuning_rows(out, minutes)
    tuned = [row for row in rows if row["algo"] == algo and row["running_reward"] != ""]
    return max(tuned, key=lambda row: row["running_reward"])["entry"] if tuned else f"{algo}-zoo-atari"


# --- The MuJoCo benchmark's runs: each in parts (``from<steps>/``), a part per resume ---


@dataclass(frozen=True)
class MujocoRun:
    """One (algorithm, env, seed) run of ``mujoco_benchmark.py``."""

    algo: str
    env_id: str
    seed: int

    def folder(self, out: Path) -> Path:
        return out / "logs" / self.algo / f"{self.env_id}_seed{self.seed}"


def part_start(part: Path) -> int:
    return int(part.name.removeprefix("from"))


def parts(run: MujocoRun, out: Path) -> list[Path]:
    return sorted(run.folder(out).glob("from*"), key=part_start)


def final_zoo_folder(run: MujocoRun, out: Path) -> Path:
    """The zoo folder of the last part of a finished run (its final model).

    :raises FileNotFoundError: where the run is not finished
    """
    if not (run.folder(out) / "done.json").exists():
        raise FileNotFoundError(
            f"{run.folder(out)} is not a finished run: python benchmarks/mujoco_benchmark.py --seeds {run.seed}"
        )
    (folder,) = (parts(run, out)[-1] / "zoo" / run.algo).glob(f"{run.env_id}_*")
    return folder
