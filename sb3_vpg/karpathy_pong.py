"""
Long, resumable training of the Karpathy configuration on ``KarpathyPong-v0``.

    python -m sb3_vpg.karpathy_pong train --out runs/karpathy --hours 2     # resumes if runs/karpathy exists
    python -m sb3_vpg.karpathy_pong plot --out runs/karpathy                # learning_curve.png from the CSV

``<out>/checkpoint.zip`` (model, optimizer state, step and update counters) and ``<out>/state.json`` (episodes,
running reward, wall seconds) are written every ``--checkpoint-every`` updates and at the end;
``<out>/episodes.csv`` gets one row per finished episode: episode, steps, wall_seconds, score, running_reward
(seed 000's ``running_reward = 0.99 * running_reward + 0.01 * reward_sum``).
"""

import argparse
import csv
import json
import os
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from sb3_vpg import REINFORCE, karpathy_kwargs
from sb3_vpg.common.returns import running_reward

CSV_FIELDS = ("episode", "steps", "wall_seconds", "score", "running_reward")


def make_env(n_envs: int, seed: int, vector_env: bool = False) -> VecEnv:
    if vector_env:  # several games on ale-py's C++ threads
        from stable_baselines3.common.vec_env import VecMonitor

        from sb3_vpg.common.vec_env import KarpathyPongVecEnv

        return VecMonitor(KarpathyPongVecEnv(n_envs, seed=seed))

    def make(rank: int) -> Any:
        def _init() -> gym.Env:
            env = Monitor(gym.make("KarpathyPong-v0"))
            env.reset(seed=seed + rank)
            return env

        return _init

    factories = [make(rank) for rank in range(n_envs)]
    return SubprocVecEnv(factories) if n_envs > 1 else DummyVecEnv(factories)


class ProgressLog(BaseCallback):
    """Appends each finished episode to the CSV; checkpoints every few updates; stops after a wall-clock budget."""

    def __init__(self, out: Path, state: dict[str, Any], checkpoint_every: int, seconds: float):
        super().__init__()
        self.out = out
        self.state = state
        self.checkpoint_every = checkpoint_every
        self.deadline = time.monotonic() + seconds
        self.session_start = time.monotonic()
        self.wall_at_start = state["wall_seconds"]
        self.updates_at_checkpoint = 0

    def wall_seconds(self) -> float:
        return self.wall_at_start + time.monotonic() - self.session_start

    def _on_step(self) -> bool:
        rows = []
        for info in self.locals["infos"]:
            if "episode" in info:
                score = float(info["episode"]["r"])
                self.state["running_reward"] = running_reward(self.state["running_reward"], score)
                self.state["episodes"] += 1
                rows.append((self.state["episodes"], self.num_timesteps, round(self.wall_seconds(), 1), score,
                             round(self.state["running_reward"], 4)))  # fmt: skip
        if rows:
            with open(self.out / "episodes.csv", "a", newline="") as file:
                csv.writer(file).writerows(rows)
        return time.monotonic() < self.deadline

    def _on_rollout_start(self) -> None:
        # After the previous update: a checkpoint here holds the model that the next rollout uses.
        if self.model._n_updates - self.updates_at_checkpoint >= self.checkpoint_every:
            self.save()

    def save(self) -> None:
        self.updates_at_checkpoint = self.model._n_updates
        self.state["wall_seconds"] = self.wall_seconds()
        self.model.save(self.out / "checkpoint_tmp.zip")
        os.replace(self.out / "checkpoint_tmp.zip", self.out / "checkpoint.zip")
        (self.out / "state.json").write_text(json.dumps(self.state))


def train(args: argparse.Namespace) -> None:
    th.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = make_env(args.n_envs, args.seed, args.vector_env)
    if (out / "checkpoint.zip").exists():
        state = json.loads((out / "state.json").read_text())
        model = REINFORCE.load(out / "checkpoint.zip", env=env)
        print(f"resuming at {model.num_timesteps} steps, episode {state['episodes']}, update {model._n_updates}")
        # Drop CSV rows of episodes that ended after the checkpoint: they are replayed from the checkpoint.
        with open(out / "episodes.csv") as file:
            rows = [row for row in csv.reader(file)][1:]
        with open(out / "episodes.csv", "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(CSV_FIELDS)
            writer.writerows(row for row in rows if int(row[0]) <= state["episodes"])
    else:
        state = {"episodes": 0, "running_reward": None, "wall_seconds": 0.0}
        model = REINFORCE(env=env, seed=args.seed, verbose=0, **karpathy_kwargs(n_episodes=args.n_episodes))
        with open(out / "episodes.csv", "w", newline="") as file:
            csv.writer(file).writerow(CSV_FIELDS)
    log = ProgressLog(out, state, args.checkpoint_every, args.hours * 3600)
    model.learn(args.max_steps, callback=log, reset_num_timesteps=False, log_interval=None)  # type: ignore[arg-type]
    log.save()
    env.close()
    print(f"stopped at {model.num_timesteps} steps, episode {state['episodes']}, running reward {state['running_reward']}")


def plot(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(args.out)
    with open(out / "episodes.csv") as file:
        rows = list(csv.DictReader(file))
    episodes = [int(row["episode"]) for row in rows]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(episodes, [float(row["score"]) for row in rows], ".", markersize=2, alpha=0.3, label="episode score")
    ax.plot(episodes, [float(row["running_reward"]) for row in rows], label="running reward (0.99)")
    hours = float(rows[-1]["wall_seconds"]) / 3600 if rows else 0.0
    ax.set_title(f"Karpathy configuration on KarpathyPong-v0: {len(rows)} episodes, {hours:.1f} h")
    ax.set_xlabel("episode")
    ax.set_ylabel("game score (-21..21)")
    ax.axhline(0, color="grey", linestyle=":")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "learning_curve.png", dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    train_parser = commands.add_parser("train")
    train_parser.add_argument("--out", required=True)
    train_parser.add_argument("--hours", type=float, default=1.0, help="wall-clock budget of this session")
    train_parser.add_argument("--max-steps", type=int, default=10**9, help="total agent-step budget over all sessions")
    train_parser.add_argument("--n-envs", type=int, default=1)
    train_parser.add_argument("--n-episodes", type=int, default=10, help="episodes per update (seed 000: 10)")
    train_parser.add_argument("--vector-env", action="store_true", help="KarpathyPongVecEnv instead of Dummy/SubprocVecEnv")
    train_parser.add_argument("--seed", type=int, default=0)
    train_parser.add_argument("--checkpoint-every", type=int, default=10, help="updates between checkpoints")
    plot_parser = commands.add_parser("plot")
    plot_parser.add_argument("--out", required=True)
    args = parser.parse_args()
    train(args) if args.command == "train" else plot(args)


if __name__ == "__main__":
    main()
