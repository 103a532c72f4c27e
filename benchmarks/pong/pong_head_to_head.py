"""
Pong on two cores, head to head: our REINFORCE preset against PPO and A2C given the same machine, one training
at a time with both cores. Contenders:

* ``reinforce``: our Pong preset through ``python -m sb3_vpg.pong train --config <--config>`` (its games on
  ``KarpathyPongVecEnv``), in the run folders of ``pong_fast_preset.py --config <--config>``
  (``runs/pong_<config>/seed<N>`` beside ``--runs``): the preset's 3-seed table and this comparison share runs;
* ``ppo``, ``a2c``: SB3's PPO and A2C with the same input and network size (``KarpathyPongVecEnv``'s 80x80
  frame differences, ``MlpPolicy`` with one hidden layer of 200 ReLU units for the policy and for the value),
  with the entry of ``benchmarks/configs/pong_head_to_head.yml`` that did best in ``pong_sb3_tuning.py`` (every
  entry of the algorithm for ``--tune-minutes`` on seed 0; the running reward at the end decides);
* ``ppo-zoo``: what an SB3 user picks today, the zoo's own PPO for Pong through the real rl_zoo3 CLI
  (``python -m sb3_vpg.zoo train --algo ppo --env PongNoFrameskip-v4 --vec-env subproc``: CnnPolicy,
  AtariWrapper, frame stack 4, 8 envs, the zoo's published hyperparameters).

Every run gets ``--torch-threads`` torch threads (both cores for the SB3 contenders' updates, during which the
emulator waits); our preset's CLI uses one, as it always does, its emulator on the C++ threads. Every run is
stopped by the wall clock (the zoo's PPO by ``StopTrainingOnWallClock``, the others by the Pong run's progress
log: the CLI's ``--hours``).

Scores are full 21-point games and Karpathy's running reward over the training games (0.99 average, in the
order the games ended across a run's games). Ours, PPO and A2C play ``KarpathyPongVecEnv`` (ALE/Pong-v5
settings: 4 frames per agent step, sticky actions 0.25) and log every game with its score. ``ppo-zoo`` plays
PongNoFrameskip-v4 (4 frames per agent step through AtariWrapper's frame skip, no sticky actions) and trains on
clipped rewards: its games are read from the zoo's monitor files, whose ``Monitor`` wraps the raw env inside
AtariWrapper (SB3's ``make_vec_env``), so they hold the unclipped 21-point score of each whole game and its
length in raw frames; agent steps are those frames / 4.

A finished run (``benchmark.json`` in its folder, or its record committed in ``--out``: ``episodes/<contender>_``
``seed<N>.json`` beside the copy of its ``episodes.csv``) is never redone, so the head-to-head continues across
sessions and machines; a run killed part-way is trained again from the start (ours resumes from its checkpoint
while its folder is there). Runs go one after the other, seed by seed. ``--stop-after-games N`` also stops the
PPO/A2C and zoo runs once N games per env have ended, and ours after N updates (the fast preset updates every 10
games), for short checks that must not depend on the clock.

    python benchmarks/pong/pong_sb3_tuning.py                          # first: every PPO/A2C entry, 15 min each, seed 0
    python benchmarks/pong/pong_head_to_head.py --config fast          # the head-to-head, seeds 0 1
    python benchmarks/pong/pong_head_to_head.py --report-only          # the report of the runs finished so far

Writes to ``--out`` (default ``benchmarks/results/pong_head_to_head``): ``head_to_head.md`` and ``runs.csv``
(per run and median per contender: running reward at 5, 10, 15, 30, 45 and 60 minutes, minutes and agent steps to
first pass -10, -5, 0 and +10), ``curves.png`` (running reward against minutes and against agent steps, median
of the seeds with their range shaded), ``episodes/<contender>_seed<N>.csv`` (every game: the run's
``episodes.csv``) and ``.json`` (the run's record). ``head_to_head_worker.py`` trains one PPO/A2C entry in a
process of its own (``shared.pong_entries.train_entry`` starts it).
Run folders go to ``--runs`` (default ``runs/pong_head_to_head``, not committed).
"""

import argparse
import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sb3_vpg.common.files import replaced_whole, write_text_whole
from sb3_vpg.pong.run_folder import CSV_FIELDS, EPISODES_FILE
from sb3_vpg.pong.scores import running_reward

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the scripts' library, shared/
from shared import BENCHMARKS
from shared.pong_entries import DEFAULT_ENTRIES, DONE_FILE, Entries, best_entry, read_entries, run_folder, train_entry
from shared.pong_games import plot_running_reward, read_games, summarise, table_lines
from shared.pong_runs import train_pong_run, wall_hours_done
from shared.tables import write_csv
from shared.zoo_runs import read_monitor_episodes

ROOT = BENCHMARKS.parent
CHECKPOINT_MINUTES = (5, 10, 15, 30, 45, 60)  # 45: the end of the A2C and zoo runs
THRESHOLDS = (-10.0, -5.0, 0.0, 10.0)
CONTENDERS = ("reinforce", "ppo", "a2c", "ppo-zoo")
DEFAULT_MINUTES = {"reinforce": 60.0, "ppo": 60.0, "a2c": 45.0, "ppo-zoo": 45.0}
ZOO_ENV = "PongNoFrameskip-v4"
ZOO_FRAMES_PER_STEP = 4  # AtariWrapper's frame skip


def zoo_command(
    seed: int, minutes: float, scratch: Path, torch_threads: int, stop_after_games: int | None = None
) -> list[str]:
    stops: list[dict] = [{"sb3_vpg.common.callbacks.StopTrainingOnWallClock": {"max_seconds": minutes * 60}}]
    if stop_after_games is not None:
        stops.append({"stable_baselines3.common.callbacks.StopTrainingOnMaxEpisodes": {"max_episodes": stop_after_games}})
    callback = repr(stops)  # rl_zoo3 evaluates -params values as Python literals
    command = [sys.executable, "-m", "sb3_vpg.zoo", "train", "--algo", "ppo", "--env", ZOO_ENV, "--vec-env", "subproc"]
    command += ["--seed", str(seed), "-f", str(scratch), "--num-threads", str(torch_threads), "--eval-freq", "-1"]
    command += ["--log-interval", "-1", "-params", f"callback:{callback}"]
    return command


def zoo_games_to_csv(zoo_dir: Path, path: Path) -> None:
    """The zoo run's games, from its monitor files (unclipped scores of whole games, lengths in frames), as
    ``episodes.csv`` rows: agent steps = frames / 4."""
    episodes = read_monitor_episodes(zoo_dir)  # (score, frames, seconds since the monitor started), in the order they ended
    value = None
    with replaced_whole(path) as temporary, open(temporary, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_FIELDS)
        steps = 0
        for index, (score, frames, seconds) in enumerate(episodes):
            steps += int(frames) // ZOO_FRAMES_PER_STEP
            value = running_reward(value, float(score))
            writer.writerow([index + 1, steps, round(float(seconds), 1), f"{score:g}", round(value, 4)])


def train_zoo(seed: int, minutes: float, folder: Path, torch_threads: int, stop_after_games: int | None = None) -> list[str]:
    scratch = folder / "zoo"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    command = zoo_command(seed, minutes, scratch, torch_threads, stop_after_games)
    with open(folder / "train.log", "w") as log:
        subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=True)
    (zoo_dir,) = (scratch / "ppo").glob(f"{ZOO_ENV}_*")
    zoo_games_to_csv(zoo_dir, folder / EPISODES_FILE)
    return command


def entry_of(entries: Entries, contender: str, runs: Path, tune_minutes: float, out: Path) -> str:
    """The name of a contender's runs: for PPO and A2C, their best entry in the tuning."""
    return best_entry(entries, contender, runs, tune_minutes, out) if contender in ("ppo", "a2c") else contender


def committed_games_path(out: Path, contender: str, seed: int) -> Path:
    return out / "episodes" / f"{contender}_seed{seed}.csv"


def committed_record(out: Path, contender: str, seed: int, name: str, minutes: float) -> dict | None:
    """The record of a finished run as the report committed it beside its games (``episodes/<contender>_seed<N>``
    ``.json`` and ``.csv`` in ``--out``), if it is a run of entry ``name`` for ``minutes``: the head-to-head spans
    sessions, and a fresh machine has the committed results but not the run folders."""
    path = committed_games_path(out, contender, seed).with_suffix(".json")
    if not path.exists() or not committed_games_path(out, contender, seed).exists():
        return None
    record = json.loads(path.read_text())
    return record if record["entry"] == name and float(record["minutes"]) == minutes else None


def recorded_command(command: str) -> str:
    """A run's command as its committed record keeps it: paths inside the repository relative to its root (the
    commands run from there), so that a record names no machine's folders."""
    return command.replace(f"{ROOT}/", "")


def execute(
    entries: Entries,
    contender: str,
    seed: int,
    minutes: float,
    runs: Path,
    out: Path,
    config: str,
    torch_threads: int,
    tune_minutes: float,
    stop_after_games: int | None = None,
) -> Path:
    """Train one run unless it is finished (``benchmark.json`` in its folder, or its committed record in
    ``out``); return its folder."""
    name = entry_of(entries, contender, runs, tune_minutes, out)
    folder = run_folder(runs, name, seed, minutes, config)
    if (folder / DONE_FILE).exists() or committed_record(out, contender, seed, name, minutes):
        print(f"reused   {name} seed {seed}", flush=True)
        return folder
    print(f"training {name} seed {seed} for {minutes:g} min", flush=True)
    start = time.perf_counter()
    if contender == "reinforce":
        train_pong_run(seed, folder, minutes / 60, config, updates=stop_after_games)
        command = ["-m", "sb3_vpg.pong", "train", "--config", config, "--seed", str(seed)]
    else:
        if folder.exists():
            shutil.rmtree(folder)  # a killed attempt: from the start
        folder.mkdir(parents=True)
        if contender == "ppo-zoo":
            command = train_zoo(seed, minutes, folder, torch_threads, stop_after_games)[1:]
        else:
            command = train_entry(entries, name, seed, minutes, folder, torch_threads, stop_after_games)[1:]
    record = {"contender": contender, "entry": name, "seed": seed, "minutes": minutes}
    record["command"] = recorded_command(" ".join(command))
    # ours may have resumed across sessions: its wall clock is the run's (state.json), not this call's
    seconds = wall_hours_done(folder) * 3600 if contender == "reinforce" else time.perf_counter() - start
    record["wall_seconds"] = round(seconds, 1)
    record["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())  # results are dated (machines differ)
    write_text_whole(folder / DONE_FILE, json.dumps(record, indent=1))
    return folder


def labels(entries: Entries, runs: Path, config: str, tune_minutes: float, out: Path) -> dict[str, str]:
    return {
        "reinforce": f"REINFORCE, our '{config}' preset",
        "ppo": f"PPO, same input and net ({best_entry(entries, 'ppo', runs, tune_minutes, out)})",
        "a2c": f"A2C, same input and net ({best_entry(entries, 'a2c', runs, tune_minutes, out)})",
        "ppo-zoo": f"the zoo's PPO (CnnPolicy, {ZOO_ENV})",
    }


def report(
    entries: Entries,
    runs: Path,
    out: Path,
    config: str,
    contenders: list[str],
    seeds: list[int],
    minutes: dict[str, float],
    tune_minutes: float,
) -> None:
    rows, runs_of = [], {}
    for contender in contenders:
        runs_of[contender] = []
        for seed in seeds:
            name = entry_of(entries, contender, runs, tune_minutes, out)
            folder = run_folder(runs, name, seed, minutes[contender], config)
            if (folder / DONE_FILE).exists() or (
                contender == "reinforce" and wall_hours_done(folder) * 60 >= minutes[contender] - 1 / 60
            ):
                games = read_games(folder)
                done_file = folder / DONE_FILE
                record = json.loads(done_file.read_text()) if done_file.exists() else {}
                record = {"contender": contender, "entry": name, "seed": seed, "minutes": minutes[contender], **record}
                if "command" in record:  # records written before commands were kept relative
                    record["command"] = recorded_command(record["command"])
            elif committed_record(out, contender, seed, name, minutes[contender]):
                games = read_games(committed_games_path(out, contender, seed))
                record = None  # committed already
            else:
                continue
            if not len(games["score"]):
                print(f"{name} seed {seed} finished no game in {minutes[contender]:g} minutes: left out", flush=True)
                continue
            runs_of[contender].append(games)
            rows.append(summarise(contender, seed, games, minutes[contender], CHECKPOINT_MINUTES, THRESHOLDS))
            if record is not None:  # the run's games and record, committed: the report needs nothing else
                committed = committed_games_path(out, contender, seed)
                committed.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(folder / EPISODES_FILE, committed)
                write_text_whole(committed.with_suffix(".json"), json.dumps(record, indent=1))
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "runs.csv", rows)
    budgets = ", ".join(f"{contender} {minutes[contender]:g} min" for contender in contenders)
    lines = [f"### Pong on both cores of this machine, one training at a time ({budgets})", ""]
    names = labels(entries, runs, config, tune_minutes, out)
    lines += table_lines(rows, contenders, names, CHECKPOINT_MINUTES, THRESHOLDS)
    write_text_whole(out / "head_to_head.md", "\n".join(lines) + "\n")
    most_seeds = max((len(games_of) for games_of in runs_of.values()), default=0)
    spread = "median across seeds, range shaded" if most_seeds > 1 else "one seed each"
    title = f"Pong, one training at a time on both cores: {spread}"
    plot_running_reward(runs_of, names, title, "wall-clock minutes (both cores)", out / "curves.png")
    print((out / "head_to_head.md").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=BENCHMARKS / "results" / "pong_head_to_head")
    parser.add_argument("--runs", type=Path, default=Path("runs/pong_head_to_head"), help="run folders (not committed)")
    parser.add_argument("--config", default="fast", help="our preset (python -m sb3_vpg.pong train --config)")
    parser.add_argument("--contenders", nargs="+", default=list(CONTENDERS), choices=CONTENDERS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    budgets = "every contender's wall clock (default: 60 minutes ours and PPO's, 45 the others')"
    parser.add_argument("--minutes", type=float, default=None, help=budgets)
    parser.add_argument("--torch-threads", type=int, default=2, help="torch threads of the SB3 contenders")
    parser.add_argument("--entries", type=Path, default=DEFAULT_ENTRIES, help="the PPO/A2C entries (YAML)")
    parser.add_argument(
        "--tune-minutes", type=float, default=15.0, help="pong_sb3_tuning.py's --minutes: its best entries compete"
    )
    parser.add_argument("--report-only", action="store_true", help="no training: report the finished runs")
    stop = "also stop each PPO/A2C and zoo run once N games per env have ended (short checks; ours stops by its clock)"
    parser.add_argument("--stop-after-games", type=int, default=None, metavar="N", help=stop)
    args = parser.parse_args()
    entries = read_entries(args.entries)
    runs = args.runs.resolve()
    minutes = {c: DEFAULT_MINUTES[c] if args.minutes is None else args.minutes for c in CONTENDERS}
    contenders = [contender for contender in CONTENDERS if contender in args.contenders]
    if not args.report_only:
        for seed in args.seeds:
            for contender in contenders:
                execute(
                    entries,
                    contender,
                    seed,
                    minutes[contender],
                    runs,
                    args.out,
                    args.config,
                    args.torch_threads,
                    args.tune_minutes,
                    args.stop_after_games,
                )
    report(entries, runs, args.out, args.config, contenders, args.seeds, minutes, args.tune_minutes)


if __name__ == "__main__":
    main()
