"""
Steps/s of DummyVecEnv, SubprocVecEnv and RayVecEnv on this machine, in one run, and the cost of a round trip.

Each VecEnv steps its envs with random actions (one numpy call per step, drawn before the clock starts) for a fixed
number of vectorised steps after a warm-up; repetitions are interleaved (every configuration once, then again) and
the table gives the median. RayVecEnv runs on a local Ray cluster of this machine's cores with one actor per core
(each actor asks for a CPU; the envs are grouped, consecutive envs per actor), which is how it would run on each
machine of a cluster. The round trip is the time per vectorised step of one CartPole env in its own process or actor
minus the same env stepped in this process: what every step pays for leaving the process, before any env work.

From these, on paper: Pong's agent steps/s and hours per 10M agent steps for 4, 16 and 64 cores spread over
machines, where the emulators' work spreads over the cores and the learner's does not (its cost per step from
``benchmarks/results/pong_throughput.md``).

Outputs in ``--out`` (default ``benchmarks/results/vec_env_throughput``): ``runs.csv`` (one row per measurement)
and ``summary.md``. Nothing else may run on the machine meanwhile.

    python benchmarks/speed/vec_env_throughput.py --repeats 3
"""

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the scripts' library, shared/
from shared import BENCHMARKS, tables

from sb3_vpg.common.files import write_text_whole

# env id -> vectorised steps measured per configuration (about a second of work at 2 envs)
ENVS = {"CartPole-v1": 4000, "HalfCheetah-v5": 1000, "KarpathyPong-v0": 300}
N_ENVS = (2, 4, 8, 16)
VEC_ENVS = ("DummyVecEnv", "SubprocVecEnv", "RayVecEnv")
WARM_UP = 20
CORES = os.cpu_count() or 1
# One process's Pong: raw emulator and training agent steps/s (benchmarks/results/pong_throughput.md, row single)
PONG_RAW_STEPS_PER_S = 4008
PONG_TRAINING_STEPS_PER_S = 3009
GAMES_PER_CORE = 4
PAPER_CORES = (4, 16, 64)


def env_factory(env_id: str, seed: int) -> Callable[[], gym.Env]:
    def make() -> gym.Env:
        import sb3_vpg.pong  # noqa: F401  (registers KarpathyPong-v0, also in a worker or an actor)

        env = gym.make(env_id)
        env.reset(seed=seed)
        return env

    return make


def make_vec_env(kind: str, env_id: str, n_envs: int) -> VecEnv:
    factories = [env_factory(env_id, seed) for seed in range(n_envs)]
    if kind == "DummyVecEnv":
        return DummyVecEnv(factories)
    if kind == "SubprocVecEnv":
        return SubprocVecEnv(factories)
    from sb3_vpg.common.ray_vec_env import RayVecEnv

    return RayVecEnv(factories, n_actors=min(n_envs, CORES))


def seconds_per_step(env: VecEnv, n_steps: int) -> float:
    rng = np.random.default_rng(0)
    space = env.action_space
    if isinstance(space, gym.spaces.Discrete):
        actions = rng.integers(space.n, size=(WARM_UP + n_steps, env.num_envs))
    else:
        shape = (WARM_UP + n_steps, env.num_envs, *space.shape)
        actions = rng.uniform(space.low, space.high, size=shape).astype(space.dtype)
    env.reset()
    for step in range(WARM_UP):
        env.step(actions[step])
    start = time.perf_counter()
    for step in range(WARM_UP, WARM_UP + n_steps):
        env.step(actions[step])
    return (time.perf_counter() - start) / n_steps


def measure(kind: str, env_id: str, n_envs: int, n_steps: int) -> float:
    env = make_vec_env(kind, env_id, n_envs)
    try:
        return seconds_per_step(env, n_steps)
    finally:
        env.close()


def summary(rows: list[dict]) -> str:
    n_envs_measured = sorted({row["n_envs"] for row in rows if row["n_envs"] > 1})
    most = n_envs_measured[-1]

    def median(kind: str, env_id: str, n_envs: int) -> float:
        return statistics.median(
            row["env_steps_per_s"] for row in rows if (row["vec_env"], row["env_id"], row["n_envs"]) == (kind, env_id, n_envs)
        )

    round_trip = {
        kind: 1e6 * statistics.median(row["seconds_per_step"] for row in rows if row["vec_env"] == kind and row["n_envs"] == 1)
        - 1e6
        * statistics.median(row["seconds_per_step"] for row in rows if row["vec_env"] == "DummyVecEnv" and row["n_envs"] == 1)
        for kind in ("SubprocVecEnv", "RayVecEnv")
    }
    repeats = max(row["repeat"] for row in rows) + 1
    lines = [
        "## Steps/s of DummyVecEnv, SubprocVecEnv and RayVecEnv",
        "",
        f"Measured {rows[0]['date']} on {platform.processor() or platform.machine()}, {CORES} cores, nothing else "
        f"running; env steps per second (all envs together), median of {repeats} interleaved repetitions. RayVecEnv: a "
        f"local Ray cluster, {CORES} actors at most (one per core), the envs grouped over them. Random actions.",
        "",
        "| env | envs | DummyVecEnv | SubprocVecEnv | RayVecEnv | Ray / Dummy | Ray / Subproc |",
        "|---|---|---|---|---|---|---|",
    ]
    for env_id in ENVS:
        for n_envs in n_envs_measured:
            dummy, subproc, on_ray = (median(kind, env_id, n_envs) for kind in VEC_ENVS)
            lines.append(
                f"| {env_id} | {n_envs} | {dummy:,.0f} | {subproc:,.0f} | {on_ray:,.0f} | {on_ray / dummy:.2f} | "
                f"{on_ray / subproc:.2f} |"
            )
    dummy_pong = median("DummyVecEnv", "KarpathyPong-v0", most)
    learner = 1 / PONG_TRAINING_STEPS_PER_S - 1 / PONG_RAW_STEPS_PER_S  # seconds of learner work per agent step
    lines += [
        "",
        "Round trip (one CartPole env in its own process or actor, minus the same env in this process, per step): "
        f"SubprocVecEnv {round_trip['SubprocVecEnv']:,.0f} us, RayVecEnv {round_trip['RayVecEnv']:,.0f} us. An actor's "
        "envs pay it once per step together, so it stops paying where an actor's share of a step (its envs' step time) "
        f"is under it: a Pong step costs about {1e6 / dummy_pong:,.0f} us in this process, a HalfCheetah step "
        f"{1e6 / median('DummyVecEnv', 'HalfCheetah-v5', most):,.0f} us, a CartPole step "
        f"{1e6 / median('DummyVecEnv', 'CartPole-v1', most):,.1f} us.",
        "",
        "### Pong on more cores, on paper",
        "",
        f"One process trains Karpathy's Pong at {PONG_TRAINING_STEPS_PER_S:,} agent steps/s where its emulator alone "
        f"steps at {PONG_RAW_STEPS_PER_S:,} (`benchmarks/results/pong_throughput.md`, row single): the learner (actions "
        f"and updates) costs {1e6 * learner:,.0f} us per agent step and stays on one core. With the games on n cores "
        f"of a Ray cluster, {GAMES_PER_CORE} per core, an agent step costs 1 / (n x {PONG_RAW_STEPS_PER_S:,}) s of "
        f"emulation plus the learner's {1e6 * learner:,.0f} us plus the round trip shared by the "
        f"{GAMES_PER_CORE} x n games of a step:",
        "",
        "| cores for the games | agent steps/s | hours per 10M agent steps |",
        "|---|---|---|",
    ]
    for cores in PAPER_CORES:
        seconds = 1 / (cores * PONG_RAW_STEPS_PER_S) + learner + round_trip["RayVecEnv"] / 1e6 / (GAMES_PER_CORE * cores)
        lines.append(f"| {cores} | {1 / seconds:,.0f} | {10e6 * seconds / 3600:.2f} |")
    lines += [
        "",
        f"The learner bounds it: past 16 cores the rate approaches 1 / {1e6 * learner:,.0f} us = {1 / learner:,.0f} "
        "agent steps/s, so more cores pay only with a learner that keeps up (batched actions on the games of a step, "
        "updates beside the rollout). No run of ours has reached +15 yet: the wall-clock to +15 is its step count over "
        "these rates (Dopamine's Rainbow needs 2.5M agent steps; the Pong issue's goal is 10M).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=BENCHMARKS / "results" / "vec_env_throughput")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-envs", type=int, nargs="+", default=list(N_ENVS), help="the numbers of envs measured")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the steps measured (a test's budget)")
    args = parser.parse_args()
    import ray

    # Ray's workers at SubprocVecEnv's priority: Ray's default niceness (15) gives them what other processes leave
    ray.init(num_cpus=CORES, include_dashboard=False, log_to_driver=False, _system_config={"worker_niceness": 0})
    rows = []
    date = str(datetime.date.today())
    configs = [(kind, "CartPole-v1", 1, ENVS["CartPole-v1"]) for kind in VEC_ENVS]
    configs += [(kind, env_id, n, steps) for env_id, steps in ENVS.items() for n in args.n_envs for kind in VEC_ENVS]
    for repeat in range(args.repeats):
        for kind, env_id, n_envs, steps in configs:
            n_steps = max(1, int(steps * args.scale))
            seconds = measure(kind, env_id, n_envs, n_steps)
            rows.append({"date": date, "repeat": repeat, "vec_env": kind, "env_id": env_id, "n_envs": n_envs,
                         "steps": n_steps, "seconds_per_step": seconds, "env_steps_per_s": n_envs / seconds})  # fmt: skip
            print(f"{repeat} {kind:13} {env_id:16} {n_envs:2} envs: {n_envs / seconds:10,.0f} env steps/s", flush=True)
    ray.shutdown()
    args.out.mkdir(parents=True, exist_ok=True)
    tables.write_csv(args.out / "runs.csv", rows)
    write_text_whole(args.out / "summary.md", summary(rows))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
