"""
Training speed against the raw env, REINFORCE and VPG beside SB3's A2C and PPO, in one run.

Each (task, algorithm) is trained for a fixed number of steps in a process of its own, one torch thread; the same
process steps the same VecEnv with random actions drawn in one numpy call per step, half before and half after
training (the raw env speed), so the ratio training / raw compares like with like on a noisy machine. Repetitions
are interleaved (every configuration once, then again), and the table gives the median over them. With
``--compare-with DIR`` the same REINFORCE/VPG configurations also run from another checkout of sb3_vpg (e.g. the
last release), in the same run.

Tasks: CartPole-v1 with 8 envs (REINFORCE ``n_steps=32``, A2C with SB3's defaults) and HalfCheetah-v5 with one env
and 4,000 steps per update (REINFORCE ``n_steps=4000``, VPG's defaults, PPO with SB3's defaults). Other arguments
are the algorithms' defaults.

Outputs in ``--out`` (default ``benchmarks/results/rollout_speed``): ``runs.csv`` (one row per measurement),
``summary.md`` (medians, ratios, the date, the machine). Nothing else may run on the machine meanwhile.

    python benchmarks/speed/rollout_speed.py --repeats 3
    python benchmarks/speed/rollout_speed.py --repeats 3 --compare-with /tmp/sb3-vpg-0.4.0   # a checkout of the release
"""

import argparse
import csv
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sb3_vpg.common.files import replaced_whole, write_text_whole

HERE = Path(__file__).resolve().parent  # where a child process imports this script from
BENCHMARKS = HERE.parent
ROOT = BENCHMARKS.parent
# (task, algorithm): the env, its number of envs, the algorithm's arguments and the steps trained
CONFIGS: dict[tuple[str, str], dict] = {
    ("CartPole-v1", "REINFORCE"): {"n_envs": 8, "kwargs": {"n_steps": 32}, "steps": 100_000},
    ("CartPole-v1", "A2C"): {"n_envs": 8, "kwargs": {}, "steps": 50_000},
    ("HalfCheetah-v5", "REINFORCE"): {"n_envs": 1, "kwargs": {"n_steps": 4000}, "steps": 40_000},
    ("HalfCheetah-v5", "VPG"): {"n_envs": 1, "kwargs": {}, "steps": 40_000},
    ("HalfCheetah-v5", "PPO"): {"n_envs": 1, "kwargs": {}, "steps": 16_384},
}
OURS = ("REINFORCE", "VPG")


def measure(task: str, algo: str, raw_steps: int) -> dict:
    """Raw env steps/s, then training steps/s, in this process (one torch thread)."""
    import numpy as np
    import torch as th

    th.set_num_threads(1)
    from stable_baselines3 import A2C, PPO
    from stable_baselines3.common.env_util import make_vec_env

    import sb3_vpg

    config = CONFIGS[(task, algo)]
    env = make_vec_env(task, n_envs=config["n_envs"], seed=0)
    action_space = env.action_space
    rng = np.random.default_rng(0)

    def raw_seconds() -> float:
        """Half the raw steps with random actions drawn in one numpy call per step."""
        env.reset()
        start = time.perf_counter()
        for _ in range(raw_steps // 2 // env.num_envs):
            if hasattr(action_space, "n"):
                actions = rng.integers(0, action_space.n, env.num_envs)
            else:
                actions = rng.uniform(action_space.low, action_space.high, (env.num_envs, *action_space.shape))
            env.step(actions)
        return time.perf_counter() - start

    raw_before = raw_seconds()
    algo_class = {"REINFORCE": sb3_vpg.REINFORCE, "VPG": sb3_vpg.VPG, "A2C": A2C, "PPO": PPO}[algo]
    model = algo_class("MlpPolicy", env, seed=0, **config["kwargs"])
    start = time.perf_counter()
    model.learn(config["steps"])
    train = model.num_timesteps / (time.perf_counter() - start)
    raw = raw_steps // env.num_envs * env.num_envs / (raw_before + raw_seconds())  # before and after training
    return {"raw_steps_per_s": round(raw), "train_steps_per_s": round(train), "version": sb3_vpg.__version__}


def readme_example(num_threads: int | None) -> dict:
    """The README's plain-Python example (20,000 steps of CartPole-v1, 4 envs) with torch's default threads (None)
    or ``num_threads``; its training steps/s."""
    import torch as th
    from stable_baselines3.common.env_util import make_vec_env

    from sb3_vpg import REINFORCE

    if num_threads is not None:
        th.set_num_threads(num_threads)
    env = make_vec_env("CartPole-v1", n_envs=4, seed=0)
    model = REINFORCE("MlpPolicy", env, n_steps=8, learning_rate=3e-3, seed=0)
    start = time.perf_counter()
    model.learn(total_timesteps=20_000)
    return {"torch_threads": th.get_num_threads(), "train_steps_per_s": round(20_000 / (time.perf_counter() - start))}


def busy_machine_example(repeats: int) -> list[dict]:
    """The README example beside one busy process (a Python loop on one core), with torch's default threads and
    with one, interleaved."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        rows = []
        for repeat in range(repeats):
            for num_threads in (None, 1):
                code = f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import rollout_speed; " + (
                    f"print(json.dumps(rollout_speed.readme_example({num_threads!r})))"
                )
                result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                row = {"repeat": repeat, **json.loads(result.stdout.strip().splitlines()[-1])}
                print(row, flush=True)
                rows.append(row)
        return rows
    finally:
        busy.kill()


def run_in_subprocess(task: str, algo: str, raw_steps: int, source: Path) -> dict:
    code = f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import rollout_speed; " + (
        f"print(json.dumps(rollout_speed.measure({task!r}, {algo!r}, {raw_steps})))"
    )
    env = {**os.environ, "PYTHONPATH": str(source), "OMP_NUM_THREADS": "1"}
    # in the source's folder, so that its sb3_vpg is the one imported
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=source, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repetitions of every configuration")
    parser.add_argument("--raw-steps", type=int, default=80_000, help="random-action steps for the raw env speed")
    parser.add_argument("--compare-with", type=Path, help="another checkout of sb3-vpg to run REINFORCE/VPG from too")
    parser.add_argument("--out", type=Path, default=BENCHMARKS / "results" / "rollout_speed")
    parser.add_argument("--busy", action="store_true", help="only the README example on a machine with one core busy")
    parser.add_argument("--report-only", action="store_true", help="no training: the summary of the committed runs.csv")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    if args.busy:
        busy_rows = busy_machine_example(args.repeats)
        with replaced_whole(args.out / "busy_readme_example.csv") as temporary, open(temporary, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=list(busy_rows[0]))
            writer.writeheader()
            writer.writerows(busy_rows)
        for threads in sorted({row["torch_threads"] for row in busy_rows}):
            speeds = [row["train_steps_per_s"] for row in busy_rows if row["torch_threads"] == threads]
            print(f"{threads} torch thread(s), one core busy: median {statistics.median(speeds):,.0f} steps/s")
        return

    sources = [("this checkout", ROOT)] + ([("compared", args.compare_with.resolve())] if args.compare_with else [])
    jobs = [
        (label, source, task, algo)
        for label, source in sources
        for task, algo in CONFIGS
        if label == "this checkout" or algo in OURS
    ]
    if args.report_only:
        with open(args.out / "runs.csv") as file:
            rows = [{**row, "repeat": int(row["repeat"])} for row in csv.DictReader(file)]
        for row in rows:
            for key in ("raw_steps_per_s", "train_steps_per_s", "ratio"):
                row[key] = float(row[key])
    else:
        rows = []
        for repeat in range(args.repeats):
            for label, source, task, algo in jobs:
                result = run_in_subprocess(task, algo, args.raw_steps, source)
                row = {"date": str(datetime.date.today()), "repeat": repeat, "source": label, "task": task, "algo": algo}
                row.update(result)
                row["ratio"] = round(row["train_steps_per_s"] / row["raw_steps_per_s"], 3)
                print(row, flush=True)
                rows.append(row)
        with replaced_whole(args.out / "runs.csv") as temporary, open(temporary, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    write_text_whole(args.out / "summary.md", summary(rows, {label for label, *_ in jobs}))
    print((args.out / "summary.md").read_text())


def summary(rows: list[dict], sources: set[str]) -> str:
    """Medians over the repetitions: steps/s, raw steps/s, their ratio, and the ratio to the peer's steps/s in the
    same repetition (A2C on CartPole, PPO on HalfCheetah)."""
    peers = {"CartPole-v1": "A2C", "HalfCheetah-v5": "PPO"}
    date = rows[0].get("date", "")
    n_repeats = len({row["repeat"] for row in rows})
    lines = [
        "# Training speed against the raw env",
        "",
        f"Measured {date} on {platform.processor() or platform.machine()}, {os.cpu_count()} cores, nothing else "
        f"running; one torch thread; median of {n_repeats} interleaved repetitions "
        "(`python benchmarks/speed/rollout_speed.py`): each ratio is the median of the ratios within a repetition, so "
        "it is not the ratio of the medians beside it.",
        "",
        "| task | algorithm | version | training steps/s | raw env steps/s | training / raw (median of the repetitions' "
        "ratios) | steps/s against the peer (median of the repetitions' ratios) |",
        "|---|---|---|---|---|---|---|",
    ]
    keys = list(dict.fromkeys((row["source"], row["task"], row["algo"]) for row in rows))
    for source, task, algo in keys:
        mine = [row for row in rows if (row["source"], row["task"], row["algo"]) == (source, task, algo)]
        train = statistics.median(row["train_steps_per_s"] for row in mine)
        raw = statistics.median(row["raw_steps_per_s"] for row in mine)
        ratio = statistics.median(row["ratio"] for row in mine)
        against = ""
        if algo != peers[task]:
            peer = {r["repeat"]: r["train_steps_per_s"] for r in rows if (r["task"], r["algo"]) == (task, peers[task])}
            against = f"{statistics.median(row['train_steps_per_s'] / peer[row['repeat']] for row in mine):.2f}x {peers[task]}"
        lines.append(f"| {task} | {algo} | {mine[0]['version']} | {train:,.0f} | {raw:,.0f} | {ratio:.2f} | {against} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
