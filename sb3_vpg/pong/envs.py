"""The games a Pong run trains on: one process per game, or several games on ale-py's threads."""

from typing import Any

import gymnasium as gym
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from sb3_vpg.pong.run_folder import RunFolderError
from sb3_vpg.pong.vec_env import MAX_GAME_SEED
from sb3_vpg.pong.wrappers import KARPATHY_PONG_ID


def make_env(
    n_envs: int, seed: int, vector_env: bool = False, env_id: str = KARPATHY_PONG_ID, ray_address: str | None = None
) -> VecEnv:
    """``n_envs`` games of ``env_id``: in a ``KarpathyPongVecEnv`` (ale-py's C++ threads) with ``vector_env``, in a
    ``RayVecEnv`` (one actor per game) on the cluster at ``ray_address`` (``"local"``: a local one), else in a
    ``DummyVecEnv`` (one game) or ``SubprocVecEnv``; each game's episodes logged by a monitor. The games' seeds,
    ``seed`` + 0, 1, ..., wrap around within ALE's range (a resume's seed grows with the episodes)."""
    seed %= MAX_GAME_SEED + 2 - n_envs
    if vector_env and ray_address is not None:
        raise RunFolderError("--ray-address plays the games as SubprocVecEnv would; leave --vector-env out")
    if vector_env:
        if env_id != KARPATHY_PONG_ID:
            raise RunFolderError(
                f"--vector-env runs {KARPATHY_PONG_ID} only (ale-py's vector env has a fixed frameskip); "
                f"for {env_id} use --n-envs without --vector-env (SubprocVecEnv)"
            )
        from stable_baselines3.common.vec_env import VecMonitor

        from sb3_vpg.pong.vec_env import KarpathyPongVecEnv

        return VecMonitor(KarpathyPongVecEnv(n_envs, seed=seed))

    def make(rank: int) -> Any:
        def _init() -> gym.Env:
            import sb3_vpg.pong  # noqa: F401  (registers the ids, also in a SubprocVecEnv worker)

            env = Monitor(gym.make(env_id))
            env.reset(seed=seed + rank)
            return env

        return _init

    factories = [make(rank) for rank in range(n_envs)]
    if ray_address is not None:
        from sb3_vpg.common.ray_vec_env import RayVecEnv

        return RayVecEnv(factories, address=None if ray_address == "local" else ray_address)
    return SubprocVecEnv(factories) if n_envs > 1 else DummyVecEnv(factories)
