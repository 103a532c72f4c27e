"""
Long, resumable training of the Karpathy configuration (or the fast preset, ``--config fast``) on Karpathy Pong.

    python -m sb3_vpg.pong train --out runs/karpathy --hours 2     # resumes if runs/karpathy exists
    python -m sb3_vpg.pong plot --out runs/karpathy                # learning_curve.png from the CSV
    python -m sb3_vpg.pong play --model agent.zip --games 20          # full games, each score and the mean
    python -m sb3_vpg.pong record --model agent.zip --out game.gif    # the end of a game it wins
    python -m sb3_vpg.pong export --model runs/karpathy/model-800.zip --out agent.zip   # weights only

A checkpoint is ``<out>/model-<update>.zip`` (model, optimizer state, step and update counters) plus
``<out>/state.json`` (which model file, episodes, running reward, wall seconds, env id), written every
``--checkpoint-every`` updates and at the end. ``state.json`` is replaced atomically after its model file is
complete, so a run killed at any moment resumes from the last complete checkpoint; SIGTERM (``kill <pid>``) stops
it at the next step with a final checkpoint. ``<out>/episodes.csv`` gets
one row per finished episode: episode, steps, wall_seconds, score, running_reward (seed 000's
``running_reward = 0.99 * running_reward + 0.01 * reward_sum``).
"""

import argparse
import csv
import json
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from sb3_vpg import REINFORCE
from sb3_vpg.common.capabilities import rollout_actor
from sb3_vpg.common.returns import running_reward
from sb3_vpg.common.sparse import sparse_rows
from sb3_vpg.pong.configs import CONFIGS, FAST_N_ENVS
from sb3_vpg.pong.wrappers import KARPATHY_PONG_CLASSIC_ID, KARPATHY_PONG_ID

CSV_FIELDS = ("episode", "steps", "wall_seconds", "score", "running_reward")
ENV_IDS = (KARPATHY_PONG_ID, KARPATHY_PONG_CLASSIC_ID)
STATE_FILE = "state.json"
LEGACY_MODEL_FILE = "checkpoint.zip"  # runs checkpointed before state.json named its model file


def make_env(n_envs: int, seed: int, vector_env: bool = False, env_id: str = KARPATHY_PONG_ID) -> VecEnv:
    if vector_env:  # several games on ale-py's C++ threads
        if env_id != KARPATHY_PONG_ID:
            raise ValueError(
                f"--vector-env runs {KARPATHY_PONG_ID} only (ale-py's vector env has a fixed frameskip); "
                f"for {env_id} use --n-envs without --vector-env (SubprocVecEnv)"
            )
        from stable_baselines3.common.vec_env import VecMonitor

        from sb3_vpg.pong.vec_env import KarpathyPongVecEnv

        return VecMonitor(KarpathyPongVecEnv(n_envs, seed=seed))

    def make(rank: int) -> Any:
        def _init() -> gym.Env:
            env = Monitor(gym.make(env_id))
            env.reset(seed=seed + rank)
            return env

        return _init

    factories = [make(rank) for rank in range(n_envs)]
    return SubprocVecEnv(factories) if n_envs > 1 else DummyVecEnv(factories)


def checkpoint_model_path(out: Path) -> Path | None:
    """The model file of the last complete checkpoint in ``out``, or None if there is none."""
    if not (out / STATE_FILE).exists():
        return None
    state = json.loads((out / STATE_FILE).read_text())
    return out / state.get("model", LEGACY_MODEL_FILE)


def write_checkpoint(out: Path, model: REINFORCE, state: dict[str, Any]) -> None:
    """
    Save ``model`` as ``model-<update>.zip``, then point ``state.json`` at it, each by writing a temporary file and
    replacing atomically, then delete the older model files. A kill at any moment leaves ``state.json`` whole and
    naming a complete model file (also when the model file it names is saved again at the same update).
    """
    model_file = f"model-{model._n_updates}.zip"
    model.save(out / f"{model_file}.tmp")
    os.replace(out / f"{model_file}.tmp", out / model_file)
    state = {**state, "model": model_file}
    temporary = out / (STATE_FILE + ".tmp")
    with open(temporary, "w") as file:
        json.dump(state, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, out / STATE_FILE)
    for path in [*out.glob("model-*.zip"), *out.glob("model-*.zip.tmp"), out / LEGACY_MODEL_FILE]:
        if path.name != model_file and path.exists():  # older checkpoints, and files torn by a kill
            path.unlink()


class ProgressLog(BaseCallback):
    """
    Appends each finished episode to the CSV, prints a progress line every ``print_every`` updates, checkpoints
    every ``checkpoint_every`` updates, and stops after a wall-clock budget.
    """

    def __init__(self, out: Path, state: dict[str, Any], checkpoint_every: int, seconds: float, print_every: int = 1):
        super().__init__()
        self.out = out
        self.state = state
        self.checkpoint_every = checkpoint_every
        self.print_every = print_every
        self.deadline = time.monotonic() + seconds
        self.session_start = time.monotonic()
        self.wall_at_start = state["wall_seconds"]
        self.updates_at_checkpoint = 0
        self.updates_at_print = 0
        self.steps_at_print = 0
        self.time_at_print = self.session_start
        self.stop_requested = False

    def request_stop(self, *_: Any) -> None:
        """Stop at the next step, then checkpoint as at the end of the budget (the SIGTERM handler)."""
        self.stop_requested = True

    def _on_training_start(self) -> None:
        self.updates_at_checkpoint = self.updates_at_print = self.model._n_updates
        self.steps_at_print = self.model.num_timesteps

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
        return time.monotonic() < self.deadline and not self.stop_requested

    def _on_rollout_start(self) -> None:
        # After the previous update: a checkpoint here holds the model that the next rollout uses.
        if self.model._n_updates - self.updates_at_print >= self.print_every:
            self.print_progress()
        if self.model._n_updates - self.updates_at_checkpoint >= self.checkpoint_every:
            self.save()

    def print_progress(self) -> None:
        now = time.monotonic()
        steps_per_second = (self.model.num_timesteps - self.steps_at_print) / max(now - self.time_at_print, 1e-9)
        reward = self.state["running_reward"]
        elapsed = int(self.wall_seconds())
        print(
            f"update {self.model._n_updates:,} | episodes {self.state['episodes']:,} | steps {self.model.num_timesteps:,}"
            f" | running reward {'-' if reward is None else f'{reward:.2f}'} | {steps_per_second:,.0f} steps/s"
            f" | elapsed {elapsed // 3600}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}",
            flush=True,
        )
        self.updates_at_print, self.steps_at_print, self.time_at_print = self.model._n_updates, self.model.num_timesteps, now

    def save(self) -> None:
        self.updates_at_checkpoint = self.model._n_updates
        self.state["wall_seconds"] = self.wall_seconds()
        write_checkpoint(self.out, self.model, self.state)  # type: ignore[arg-type]


def train(args: argparse.Namespace) -> None:
    th.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model_path = checkpoint_model_path(out)
    if model_path is not None:
        state = json.loads((out / STATE_FILE).read_text())
        # what a new run records (older runs lack some: their defaults then, or what this command line says)
        recorded = {"env_id": KARPATHY_PONG_ID, "config": "karpathy", "n_envs": 1, "vector_env": False, "seed": args.seed}
        for key, value in recorded.items():
            state.setdefault(key, value)
        for option, key in (("env", "env_id"), ("config", "config")):
            if getattr(args, option) is not None and getattr(args, option) != state[key]:
                raise ValueError(f"--{option} {getattr(args, option)}: the run in {out} has {key} {state[key]}")
        state["n_envs"], state["vector_env"] = args.n_envs or state["n_envs"], args.vector_env or state["vector_env"]
        # fresh env random streams after every resume, reproducible from the run's seed
        env = make_env(state["n_envs"], state["seed"] + state["episodes"], state["vector_env"], state["env_id"])
        model = REINFORCE.load(model_path, env=env)
        print(f"resuming {state['env_id']} ({state['config']}) at {model.num_timesteps:,} steps, episode "
              f"{state['episodes']:,}, update {model._n_updates:,}", flush=True)  # fmt: skip
        # Drop CSV rows of episodes that ended after the checkpoint: they are replayed from the checkpoint.
        with open(out / "episodes.csv") as file:
            rows = [row for row in csv.reader(file)][1:]
        with open(out / "episodes.csv", "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(CSV_FIELDS)
            writer.writerows(row for row in rows if int(row[0]) <= state["episodes"])
    else:
        env_id, config = args.env or KARPATHY_PONG_ID, args.config or "karpathy"
        n_envs, vector_env = args.n_envs or 1, args.vector_env
        if config == "fast" and args.n_envs is None:  # its games on ale-py's threads where the env allows
            n_envs, vector_env = FAST_N_ENVS, vector_env or env_id == KARPATHY_PONG_ID
        state = {"episodes": 0, "running_reward": None, "wall_seconds": 0.0, "env_id": env_id, "config": config,
                 "n_envs": n_envs, "vector_env": vector_env, "seed": args.seed}  # fmt: skip
        env = make_env(n_envs, args.seed, vector_env, env_id)
        kwargs = CONFIGS[config]() if args.n_episodes is None else CONFIGS[config](n_episodes=args.n_episodes)
        model = REINFORCE(env=env, seed=args.seed, verbose=0, **kwargs)
        print(f"new run on {env_id} ({config}, {n_envs} game{'s' * (n_envs > 1)}) in {out}", flush=True)
        with open(out / "episodes.csv", "w", newline="") as file:
            csv.writer(file).writerow(CSV_FIELDS)
    log = ProgressLog(out, state, args.checkpoint_every, args.hours * 3600, args.print_every)
    signal.signal(signal.SIGTERM, log.request_stop)  # `kill <pid>`: stop cleanly with a final checkpoint
    model.learn(args.max_steps, callback=log, reset_num_timesteps=False, log_interval=None)  # type: ignore[arg-type]
    log.save()
    env.close()
    log.print_progress()
    print(f"stopped; checkpoint in {out}", flush=True)


def plot(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(args.out)
    with open(out / "episodes.csv") as file:
        rows = list(csv.DictReader(file))
    state = json.loads((out / STATE_FILE).read_text()) if (out / STATE_FILE).exists() else {}
    env_id, config = state.get("env_id", KARPATHY_PONG_ID), state.get("config", "karpathy")
    episodes = [int(row["episode"]) for row in rows]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(episodes, [float(row["score"]) for row in rows], ".", markersize=2, alpha=0.3, label="episode score")
    ax.plot(episodes, [float(row["running_reward"]) for row in rows], label="running reward (0.99)")
    hours = float(rows[-1]["wall_seconds"]) / 3600 if rows else 0.0
    ax.set_title(f"{config} configuration on {env_id}: {len(rows)} episodes, {hours:.1f} h")
    ax.set_xlabel("episode")
    ax.set_ylabel("game score (-21..21)")
    ax.axhline(0, color="grey", linestyle=":")
    ax.legend()
    fig.tight_layout()
    path = out / "learning_curve.png"
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


def load_agent(path: str) -> REINFORCE:
    """A saved REINFORCE or VPG Pong agent (VPG is a REINFORCE with other defaults: the same acting code)."""
    return REINFORCE.load(path, device="cpu")


def stochastic_actions(model: REINFORCE) -> Callable[[np.ndarray], int]:
    """
    Seed 000's way of playing: each action sampled from the policy (UP with probability P(UP)), with torch's
    global generator. Through the policy's rollout actor where it offers one (the same draws, far less overhead).
    """
    actor = rollout_actor(model.policy)  # a snapshot: the weights do not change while playing

    def act(observation: np.ndarray) -> int:
        if actor is not None:
            actions, _ = actor.sample(sparse_rows(observation[np.newaxis]))
            return int(actions[0])
        action, _ = model.predict(observation, deterministic=False)
        return int(action)

    return act


def play_game(env: gym.Env, act: Callable[[np.ndarray], int], seed: int | None = None,
              on_step: Callable[[], None] | None = None) -> tuple[int, int]:  # fmt: skip
    """One full game; the points won by the agent and by the built-in AI."""
    observation, _ = env.reset(seed=seed)
    points = [0, 0]
    done = False
    while not done:
        observation, reward, terminated, truncated, _ = env.step(act(observation))
        if reward != 0:
            points[0 if float(reward) > 0 else 1] += 1
        if on_step is not None:
            on_step()
        done = terminated or truncated
    return points[0], points[1]


def play(args: argparse.Namespace) -> None:
    th.set_num_threads(1)
    set_random_seed(args.seed)
    act = stochastic_actions(load_agent(args.model))
    env = gym.make(args.env)
    scores = []
    for game in range(1, args.games + 1):
        agent, ai = play_game(env, act, seed=args.seed if game == 1 else None)
        scores.append(agent - ai)
        print(f"game {game}: score {agent - ai:+d} ({'won' if agent > ai else 'lost'} {agent}-{ai})", flush=True)
    won = sum(score > 0 for score in scores)
    print(f"mean score over {len(scores)} games: {np.mean(scores):+.2f} (won {won} of {len(scores)})")


def record(args: argparse.Namespace) -> None:
    """Play games until the agent wins one (or --tries games), then write the end of that game as a GIF."""
    from PIL import Image

    th.set_num_threads(1)
    set_random_seed(args.seed)
    act = stochastic_actions(load_agent(args.model))
    env = gym.make(args.env, render_mode="rgb_array")
    n_frames = int(args.seconds * args.fps)
    best: tuple[int, list[np.ndarray]] | None = None
    for game in range(1, args.tries + 1):
        frames: deque[np.ndarray] = deque(maxlen=n_frames * args.every)  # the end of the game only

        def keep_frame(frames: deque[np.ndarray] = frames) -> None:
            frames.append(env.render())  # type: ignore[arg-type]

        agent, ai = play_game(env, act, seed=args.seed if game == 1 else None, on_step=keep_frame)
        print(f"game {game}: score {agent - ai:+d} ({'won' if agent > ai else 'lost'} {agent}-{ai})", flush=True)
        if best is None or agent - ai > best[0]:
            best = (agent - ai, list(frames)[:: args.every])
        if agent > ai:
            break
    assert best is not None
    images = [Image.fromarray(frame).quantize(colors=32) for frame in best[1]]
    images[0].save(args.out, save_all=True, append_images=images[1:], duration=round(1000 / args.fps), loop=0)
    what = "a game it won" if best[0] > 0 else f"no game won in {args.tries}: its best game"
    print(f"wrote {args.out}: the last {len(images) / args.fps:.0f} s of {what} (score {best[0]:+d})")


def export(args: argparse.Namespace) -> None:
    """
    Write a saved agent without its optimizer state (RMSProp's running averages are as large as the weights): the
    policy weights, its settings and counters, and a fresh optimizer of the same kind. ``REINFORCE.load`` reads it
    as any saved model; training it further starts the optimizer afresh.
    """
    model = load_agent(args.model)
    optimizer = model.policy.optimizer
    model.policy.optimizer = type(optimizer)(model.policy.parameters(), **optimizer.defaults)
    model.save(args.out)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1e6:.1f} MB; {args.model}: "
          f"{Path(args.model).stat().st_size / 1e6:.1f} MB)")  # fmt: skip


class _ShowDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except None (those options say in their help what happens without them)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        return action.help if action.default is None else super()._get_help_string(action)


def main(argv: list[str] | None = None) -> None:
    defaults = _ShowDefaults
    parser = argparse.ArgumentParser(
        "python -m sb3_vpg.pong", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train_parser = commands.add_parser("train", help="train (or resume) a run", formatter_class=defaults)
    train_parser.add_argument("--out", required=True, help="run folder: checkpoint, state.json, episodes.csv")
    env_help = f"env of a new run ({KARPATHY_PONG_ID} if not given); a resumed run keeps its own"
    train_parser.add_argument("--env", choices=ENV_IDS, default=None, help=env_help)
    train_parser.add_argument("--hours", type=float, default=1.0, help="wall-clock budget of this session")
    train_parser.add_argument("--max-steps", type=int, default=10**9, help="total agent-step budget over all sessions")
    config_help = "a new run's: karpathy_kwargs() (seed 000 exactly; if not given) or fast_karpathy_kwargs()"
    train_parser.add_argument("--config", choices=tuple(CONFIGS), default=None, help=config_help)
    n_envs_help = f"games played at once (default 1; {FAST_N_ENVS} on KarpathyPongVecEnv with --config fast)"
    train_parser.add_argument("--n-envs", type=int, default=None, help=n_envs_help)
    train_parser.add_argument("--n-episodes", type=int, default=None, help="episodes per update (default: the config's: 10)")
    train_parser.add_argument("--vector-env", action="store_true", help="KarpathyPongVecEnv instead of Dummy/SubprocVecEnv")
    seed_help = "seed of a new run (its envs get seed, seed + 1, ...; after a resume seed + episodes, ...)"
    train_parser.add_argument("--seed", type=int, default=0, help=seed_help)
    train_parser.add_argument("--checkpoint-every", type=int, default=10, help="updates between checkpoints")
    train_parser.add_argument("--print-every", type=int, default=1, help="updates between progress lines")
    plot_parser = commands.add_parser("plot", help="draw <out>/learning_curve.png from episodes.csv", formatter_class=defaults)
    plot_parser.add_argument("--out", required=True, help="run folder")
    play_parser = commands.add_parser("play", help="play full games with a saved agent, print each score and the mean",
                                      formatter_class=defaults)  # fmt: skip
    record_parser = commands.add_parser("record", help="record the end of a game the agent wins as a GIF",
                                        formatter_class=defaults)  # fmt: skip
    for game_parser in (play_parser, record_parser):
        game_parser.add_argument("--model", required=True, help="a saved REINFORCE/VPG Pong agent (.zip)")
        game_parser.add_argument(
            "--env", choices=ENV_IDS, default=KARPATHY_PONG_ID, help="env to play on (the one it trained on)"
        )
        game_parser.add_argument("--seed", type=int, default=0, help="seed of the env and of the action sampling")
    play_parser.add_argument("--games", type=int, default=20, help="full games (to 21 points) to play")
    record_parser.add_argument("--out", required=True, help="GIF file to write")
    record_parser.add_argument("--tries", type=int, default=10, help="games to play at most until one is won")
    record_parser.add_argument("--seconds", type=float, default=20.0, help="length of the GIF (the end of the game)")
    record_parser.add_argument("--fps", type=float, default=15.0, help="GIF frames per second")
    record_parser.add_argument("--every", type=int, default=2, help="keep every N-th agent step as a frame")
    export_parser = commands.add_parser("export", help="a saved agent without its optimizer state (policy weights only)",
                                        formatter_class=defaults)  # fmt: skip
    export_parser.add_argument("--model", required=True, help="a saved REINFORCE/VPG Pong agent or checkpoint (.zip)")
    export_parser.add_argument("--out", required=True, help="the .zip to write")
    args = parser.parse_args(argv)
    {"train": train, "plot": plot, "play": play, "record": record, "export": export}[args.command](args)


if __name__ == "__main__":
    main()
