"""
The head to head's worker: trains one PPO/A2C entry of ``configs/pong_head_to_head.yml`` on ``KarpathyPongVecEnv``
in a process of its own, every game to the run folder's ``episodes.csv``. ``pong_head_to_head.py`` and
``pong_sb3_tuning.py`` start it (``shared.pong_entries.train_entry``):

    python benchmarks/pong/head_to_head_worker.py ppo-lr-1e-3 --seed 0 --minutes 15 --run-folder runs/h2h/seed0
"""

import argparse
import sys
from pathlib import Path
from typing import Any

from sb3_vpg.pong.run_folder import EPISODES_FILE

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the scripts' library, shared/
from shared.pong_entries import DEFAULT_ENTRIES, Entries, read_entries


def sb3_model(entry: dict[str, Any], env: Any, seed: int) -> Any:
    """The PPO or A2C model of an entry, on ``env``: ``MlpPolicy`` with one hidden layer of 200 ReLU units."""
    import torch as th
    from stable_baselines3 import A2C, PPO

    settings = dict(entry)
    algo = {"ppo": PPO, "a2c": A2C}[settings.pop("algo")]
    settings.pop("n_envs")
    policy_kwargs: dict[str, Any] = dict(net_arch=[200], activation_fn=th.nn.ReLU)
    if settings.pop("rmsprop_tf_like", False):
        from stable_baselines3.common.sb2_compat.rmsprop_tf_like import RMSpropTFLike

        policy_kwargs.update(optimizer_class=RMSpropTFLike, optimizer_kwargs=dict(eps=1e-5))
    return algo("MlpPolicy", env, seed=seed, verbose=0, policy_kwargs=policy_kwargs, **settings)


def train_sb3(
    entries: Entries,
    name: str,
    seed: int,
    minutes: float,
    folder: Path,
    torch_threads: int,
    stop_after_games: int | None = None,
) -> None:
    """Train the SB3 entry ``name`` on ``KarpathyPongVecEnv`` for ``minutes``, every game to ``episodes.csv``
    (the columns of ``python -m sb3_vpg.pong train``'s); with ``stop_after_games``, stop earlier once that many
    games per env have ended (SB3's ``StopTrainingOnMaxEpisodes``)."""
    import torch as th
    from stable_baselines3.common.callbacks import BaseCallback, StopTrainingOnMaxEpisodes
    from stable_baselines3.common.vec_env import VecMonitor

    from sb3_vpg.common.callbacks import StopTrainingOnWallClock
    from sb3_vpg.pong.callbacks import EpisodeLog
    from sb3_vpg.pong.vec_env import KarpathyPongVecEnv

    th.set_num_threads(torch_threads)
    entry = entries.settings[name]
    env = VecMonitor(KarpathyPongVecEnv(entry["n_envs"], seed=seed))
    model = sb3_model(entry, env, seed)
    (folder / EPISODES_FILE).unlink(missing_ok=True)  # a new run
    callbacks: list[BaseCallback] = [EpisodeLog(folder), StopTrainingOnWallClock(minutes * 60)]
    if stop_after_games is not None:
        callbacks.append(StopTrainingOnMaxEpisodes(stop_after_games))
    model.learn(10**10, callback=callbacks)
    env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("entry", help="the entry's name in --entries")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, required=True, help="the wall clock of the run")
    parser.add_argument("--run-folder", type=Path, required=True)
    parser.add_argument("--torch-threads", type=int, default=2)
    parser.add_argument("--entries", type=Path, default=DEFAULT_ENTRIES, help="the PPO/A2C entries (YAML)")
    parser.add_argument("--stop-after-games", type=int, default=None, metavar="N", help="stop once N games per env ended")
    args = parser.parse_args()
    entries = read_entries(args.entries)
    train_sb3(entries, args.entry, args.seed, args.minutes, args.run_folder, args.torch_threads, args.stop_after_games)


if __name__ == "__main__":
    main()
