"""
Karpathy Pong throughput and memory, in one run: raw emulator, our training, and Karpathy's numpy loop.

For each env configuration (``single``: one ``KarpathyPong-v0`` in a DummyVecEnv, exactly Karpathy's setup;
``vector-N``: N games in ``KarpathyPongVecEnv`` on ale-py's C++ threads), each repetition measures
* raw emulator throughput: random UP/DOWN actions through the same env configuration, no policy;
* our training throughput: ``REINFORCE`` with the Karpathy configuration (updates every 10 episodes included);
and, once per repetition, Karpathy's numpy loop (one env, a float64 forward per step, backward per episode,
RMSProp every 10 episodes), written out below, twice: with numpy's default BLAS threads (as a user would run
it) and in a fresh process with one BLAS thread (our training uses one torch thread). Training and raw are
timed from reset envs. Ratios are taken within a repetition; the table gives their median and range. Then one
process per configuration measures the peak RSS that collecting and training on one 10-episode batch adds, per
stored pixel (6400 per step).

Outputs in benchmarks/results/ (or --out): pong_throughput.csv, pong_throughput.md.

    python benchmarks/speed/pong_throughput.py --reps 5 --steps 6000
"""

import argparse
import csv
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from sb3_vpg.common.files import replaced_whole, write_text_whole

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the scripts' library, shared/
from shared.tables import median_range

RESULTS = Path(__file__).resolve().parents[1] / "results"


def make_env(config: str, seed: int = 0) -> Any:
    """``single``: one ``KarpathyPong-v0`` in a DummyVecEnv; ``vector-N``: N games in ``KarpathyPongVecEnv``."""
    from sb3_vpg.pong import envs as pong_envs

    if config == "single":
        return pong_envs.make_env(1, seed)
    return pong_envs.make_env(int(config.split("-")[1]), seed, vector_env=True)


def raw_steps_per_second(config: str, steps: int) -> float:
    env = make_env(config)
    env.seed(0)
    env.reset()
    rng = np.random.default_rng(0)
    n_calls = max(steps // env.num_envs, 1)
    start = time.perf_counter()
    for _ in range(n_calls):
        env.step(rng.integers(0, 2, size=env.num_envs))
    seconds = time.perf_counter() - start
    env.close()
    return n_calls * env.num_envs / seconds


def training_steps_per_second(config: str, steps: int) -> float:
    from sb3_vpg import REINFORCE
    from sb3_vpg.pong import karpathy_kwargs

    env = make_env(config)
    model = REINFORCE(env=env, seed=0, **karpathy_kwargs())
    model.learn(0)  # resets the envs outside the timing, as raw_steps_per_second does
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    seconds = time.perf_counter() - start
    env.close()
    return model.num_timesteps / seconds


def karpathy_loop_steps_per_second(steps: int) -> float:
    """Karpathy's training loop as written there (numpy, one env, its own prepro), on ALE/Pong-v5."""
    import gymnasium as gym

    import sb3_vpg  # noqa: F401

    H, D, batch_size, learning_rate, gamma, decay_rate = 200, 80 * 80, 10, 1e-4, 0.99, 0.99
    rng = np.random.default_rng(0)
    model = {"W1": rng.standard_normal((H, D)) / np.sqrt(D), "W2": rng.standard_normal(H) / np.sqrt(H)}
    grad_buffer = {k: np.zeros_like(v) for k, v in model.items()}
    rmsprop_cache = {k: np.zeros_like(v) for k, v in model.items()}

    def sigmoid(x):
        return 1.0 / (1.0 + np.exp(-x))

    def discount_rewards(r):
        discounted_r = np.zeros_like(r)
        running_add = 0.0
        for t in reversed(range(0, r.size)):
            if r[t] != 0:
                running_add = 0.0
            running_add = running_add * gamma + r[t]
            discounted_r[t] = running_add
        return discounted_r

    def policy_forward(x):
        h = np.dot(model["W1"], x)
        h[h < 0] = 0
        return sigmoid(np.dot(model["W2"], h)), h

    def policy_backward(eph, epdlogp, epx):
        dW2 = np.dot(eph.T, epdlogp).ravel()
        dh = np.outer(epdlogp, model["W2"])
        dh[eph <= 0] = 0
        return {"W1": np.dot(dh.T, epx), "W2": dW2}

    def prepro(image):
        image = image[35:195]
        image = image[::2, ::2, 0]
        image[image == 144] = 0
        image[image == 109] = 0
        image[image != 0] = 1
        return image.astype(np.float64).ravel()

    import ale_py

    gym.register_envs(ale_py)
    env = gym.make("ALE/Pong-v5")  # the same emulator settings as KarpathyPong-v0; RIGHT (2) = UP, LEFT (3) = DOWN
    observation, _ = env.reset(seed=0)
    prev_x = None
    xs, hs, dlogps, drs = [], [], [], []
    episode_number = 0
    start = time.perf_counter()
    for _ in range(steps):
        cur_x = prepro(observation)
        x = cur_x - prev_x if prev_x is not None else np.zeros(D)
        prev_x = cur_x
        aprob, h = policy_forward(x)
        action = 2 if rng.uniform() < aprob else 3
        xs.append(x)
        hs.append(h)
        dlogps.append((1 if action == 2 else 0) - aprob)
        observation, reward, terminated, truncated, _ = env.step(action)
        drs.append(reward)
        if terminated or truncated:
            episode_number += 1
            epx, eph, epdlogp, epr = np.vstack(xs), np.vstack(hs), np.vstack(dlogps), np.vstack(drs)
            xs, hs, dlogps, drs = [], [], [], []
            discounted_epr = discount_rewards(epr)
            discounted_epr -= np.mean(discounted_epr)
            discounted_epr /= np.std(discounted_epr)
            epdlogp *= discounted_epr
            grad = policy_backward(eph, epdlogp, epx)
            for k in model:
                grad_buffer[k] += grad[k]
            if episode_number % batch_size == 0:
                for k, v in model.items():
                    g = grad_buffer[k]
                    rmsprop_cache[k] = decay_rate * rmsprop_cache[k] + (1 - decay_rate) * g**2
                    model[k] += learning_rate * g / (np.sqrt(rmsprop_cache[k]) + 1e-5)
                    grad_buffer[k] = np.zeros_like(v)
            observation, _ = env.reset()
            prev_x = None
    return steps / (time.perf_counter() - start)


def karpathy_loop_one_blas_thread(steps: int) -> float:
    """The same loop in a fresh process whose numpy BLAS has one thread (it reads the setting at import)."""
    one_thread = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    result = subprocess.run(
        [sys.executable, __file__, "--karpathy-loop-only", "--steps", str(steps)],
        env={**os.environ, **one_thread},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.split()[-1])


def current_rss() -> int:
    with open("/proc/self/statm") as file:
        return int(file.read().split()[1]) * resource.getpagesize()


def batch_memory(config: str, queue: Any) -> None:
    """Peak RSS added by collecting and training on one 10-episode batch, per stored pixel."""
    import torch as th

    th.set_num_threads(1)
    from stable_baselines3.common.callbacks import BaseCallback

    from sb3_vpg import REINFORCE
    from sb3_vpg.pong import karpathy_kwargs

    class FirstBatch(BaseCallback):
        """Records the first rollout's steps and episodes, and stops training at the step after its update."""

        def __init__(self) -> None:
            super().__init__()
            self.steps = self.episodes = 0

        def _on_rollout_end(self) -> None:
            self.steps, self.episodes = self.model.num_timesteps, self.model.rollout_buffer.n_ready_episodes

        def _on_step(self) -> bool:
            return self.model._n_updates == 0

    # Warm up on a one-episode batch (imports, torch kernels, the emulator), then measure a fresh 10-episode one.
    warm_up = REINFORCE(env=make_env(config), seed=1, **karpathy_kwargs(n_episodes=1))
    warm_up.learn(10**9, callback=FirstBatch())
    env = make_env(config)
    model = REINFORCE(env=env, seed=0, **karpathy_kwargs())
    before = current_rss()
    peak = before
    sampling = True

    def sample() -> None:  # ru_maxrss is a lifetime peak: sample the current RSS instead
        nonlocal peak
        while sampling:
            peak = max(peak, current_rss())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    first_batch = FirstBatch()
    model.learn(10**9, callback=first_batch)  # one rollout (until 10 episodes have ended) and its update
    sampling = False
    sampler.join()
    steps = first_batch.steps
    queue.put((config, steps, first_batch.episodes, (peak - before) / (steps * 6400)))


def measure(configs: list[str], reps: int, steps: int) -> list[dict[str, Any]]:
    """Every measurement, interleaved by repetition so that machine noise hits every configuration alike."""
    rows: list[dict[str, Any]] = []
    for rep in range(reps):
        rows.append({"rep": rep, "what": "karpathy-numpy-loop", "config": "single",
                     "steps_per_s": karpathy_loop_steps_per_second(steps)})  # fmt: skip
        rows.append({"rep": rep, "what": "karpathy-numpy-loop-one-blas-thread", "config": "single",
                     "steps_per_s": karpathy_loop_one_blas_thread(steps)})  # fmt: skip
        for config in configs:
            rows.append({"rep": rep, "what": "raw-emulator", "config": config,
                         "steps_per_s": raw_steps_per_second(config, steps)})  # fmt: skip
            rows.append({"rep": rep, "what": "our-training", "config": config,
                         "steps_per_s": training_steps_per_second(config, steps)})  # fmt: skip
            print(rows[-2], rows[-1], flush=True)
    return rows


def measure_memory(configs: list[str]) -> list[tuple[str, int, int, float]]:
    """Per configuration, in a fresh process each: (config, steps, episodes, peak RSS added per stored pixel)."""
    memory = []
    context = multiprocessing.get_context("spawn")
    for config in configs:
        queue = context.Queue()
        process = context.Process(target=batch_memory, args=(config, queue))
        process.start()
        memory.append(queue.get())
        process.join()
    return memory


def median(rows: list[dict[str, Any]], what: str, config: str) -> float:
    return statistics.median(row["steps_per_s"] for row in rows if row["what"] == what and row["config"] == config)


def ratio_cell(rows: list[dict[str, Any]], what: str, config: str, baseline: str, baseline_config: str) -> str:
    """The median over the repetitions of (ours / the baseline measured in the same repetition), [min, max]."""
    by_rep = {(row["rep"], row["what"], row["config"]): row["steps_per_s"] for row in rows}
    reps = sorted({row["rep"] for row in rows})
    values = [by_rep[rep, what, config] / by_rep[rep, baseline, baseline_config] for rep in reps]
    return median_range(values)


def markdown(rows: list[dict[str, Any]], memory: list[tuple[str, int, int, float]], configs: list[str], steps: int) -> str:
    reps = len({row["rep"] for row in rows})
    lines = [
        f"# Karpathy Pong throughput ({reps} repetitions of {steps} agent steps, medians)",
        "",
        f"Machine: {os.cpu_count()} cores; date {time.strftime('%Y-%m-%d')}; one torch thread.",
        f"Karpathy's numpy loop: {median(rows, 'karpathy-numpy-loop', 'single'):,.0f} steps/s with numpy's default "
        f"BLAS threads, {median(rows, 'karpathy-numpy-loop-one-blas-thread', 'single'):,.0f} with one.",
        "Ratios: median over the repetitions of (ours / baseline measured in the same repetition), [min, max].",
        "",
        "| env configuration | raw emulator steps/s | our training steps/s | training / raw | training / Karpathy's loop "
        "| training / Karpathy's loop (one BLAS thread) | raw / Karpathy's loop |",
        "|---|---|---|---|---|---|---|",
    ]
    for config in configs:
        raw, ours = median(rows, "raw-emulator", config), median(rows, "our-training", config)
        to_raw = ratio_cell(rows, "our-training", config, "raw-emulator", config)
        to_seed = ratio_cell(rows, "our-training", config, "karpathy-numpy-loop", "single")
        to_seed_one_thread = ratio_cell(rows, "our-training", config, "karpathy-numpy-loop-one-blas-thread", "single")
        raw_to_seed = ratio_cell(rows, "raw-emulator", config, "karpathy-numpy-loop", "single")
        lines.append(f"| {config} | {raw:,.0f} | {ours:,.0f} | {to_raw} | {to_seed} | {to_seed_one_thread} | {raw_to_seed} |")
    if memory:
        header = "| env configuration | steps in the 10-episode batch | episodes | peak RSS added per stored pixel (bytes) |"
        lines += ["", header, "|---|---|---|---|"]
        lines += [f"| {config} | {steps:,} | {episodes} | {per_pixel:.2f} |" for config, steps, episodes, per_pixel in memory]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["single", "vector-2", "vector-4", "vector-8"])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--out", default=str(RESULTS), help="folder for pong_throughput.csv and .md")
    parser.add_argument("--karpathy-loop-only", action="store_true", help=argparse.SUPPRESS)  # one measurement, printed
    args = parser.parse_args()
    if args.karpathy_loop_only:
        print(karpathy_loop_steps_per_second(args.steps))
        return
    import torch as th

    th.set_num_threads(1)
    rows = measure(args.configs, args.reps, args.steps)
    memory = [] if args.no_memory else measure_memory(args.configs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with replaced_whole(out / "pong_throughput.csv") as temporary, open(temporary, "w", newline="") as file:
        writer = csv.DictWriter(file, ["rep", "what", "config", "steps_per_s"])
        writer.writeheader()
        writer.writerows(rows)
    summary = markdown(rows, memory, args.configs, args.steps)
    write_text_whole(out / "pong_throughput.md", summary)
    print(summary)


if __name__ == "__main__":
    main()
