"""An SB3 ``VecEnv`` that emulates several Karpathy Pong games on ale-py's C++ threads."""

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvObs, VecEnvStepReturn

from sb3_vpg.common.extras import extra_needed
from sb3_vpg.common.validation import check_integer, check_number, check_positive_int
from sb3_vpg.pong.wrappers import KARPATHY_FRAME_SHAPE, karpathy_foreground


class KarpathyPongVecEnv(VecEnv):
    """
    ``n_envs`` Pong games in ``ale_py.AtariVectorEnv`` (emulated on C++ threads), with the observations and actions
    of ``KarpathyPong-v0``: 80x80 int8 frame differences (zeros after a reset) and ``Discrete(2)`` (1 = UP).
    SB3 semantics: float32 rewards, ``dones`` with the next episode's first observation, the last frame
    difference in ``infos[i]["terminal_observation"]``, ``TimeLimit.truncated`` for the frame limit; ale-py's
    same-step autoreset is used, so there is no reset step to train on. Wrap it in ``VecMonitor`` for episode
    scores.

    Scores, episode lengths and every observation before the last one of an episode equal ``KarpathyPong-v0``'s
    under the same actions (tested without sticky actions). The one difference: ale-py 0.12.1's vector env hands
    back the frame *before* the terminal one as an episode's final frame, so ``terminal_observation`` is all zeros
    here. It only matters for bootstrapping a time-limit truncation with a learned baseline.

    :param n_envs: Number of games
    :param seed: Seed of the first game at the first ``reset()`` (the others get seed + 1, ...); later resets go
        on from the games' random state, as SB3's ``seed()`` applies to the next reset only
    :param repeat_action_probability: Sticky actions, 0.25 as ``ALE/Pong-v5``
    :param frameskip: Frames per agent step, 4 as ``ALE/Pong-v5``
    :param max_num_frames_per_episode: Truncation limit, as ``ALE/Pong-v5``
    :param num_threads: C++ threads (0: one per game, up to the cores)
    """

    def __init__(
        self,
        n_envs: int,
        seed: int | None = None,
        repeat_action_probability: float = 0.25,
        frameskip: int = 4,
        max_num_frames_per_episode: int = 108_000,
        num_threads: int = 0,
    ):
        with extra_needed():
            import ale_py

        # ale-py checks none of these (0 games segfaults): check them here, naming the argument
        check_positive_int("n_envs", n_envs)
        check_integer("seed", seed, 0, allow_none=True, expected="a non-negative integer or None")
        _check_seeds(seed, n_envs)
        check_number("repeat_action_probability", repeat_action_probability, low=0, high=1)
        check_positive_int("frameskip", frameskip)
        check_positive_int("max_num_frames_per_episode", max_num_frames_per_episode)
        check_integer("num_threads", num_threads, 0, expected="an integer >= 0 (0: one per game, up to the cores)")
        n_envs, frameskip, max_num_frames_per_episode = int(n_envs), int(frameskip), int(max_num_frames_per_episode)
        self.closed = False
        self.ale = ale_py.AtariVectorEnv(
            "pong",
            n_envs,
            num_threads=num_threads,
            img_height=210,
            img_width=160,
            grayscale=False,
            stack_num=1,
            frameskip=frameskip,
            maxpool=False,
            noop_max=0,
            use_fire_reset=False,
            episodic_life=False,
            reward_clipping=False,
            repeat_action_probability=repeat_action_probability,
            max_num_frames_per_episode=max_num_frames_per_episode,
            autoreset_mode="SameStep",
        )
        # The game's action set, as ale-py's AtariEnv.get_action_meanings() names it
        meanings = [action.name for action in self.ale.ale.get_action_set()]
        # Action 0 = DOWN (LEFT), 1 = UP (RIGHT), as TwoActionControl
        self.game_actions = np.array([meanings.index("LEFT"), meanings.index("RIGHT")], dtype=np.int64)
        super().__init__(n_envs, spaces.Box(-1, 1, KARPATHY_FRAME_SHAPE, np.int8), spaces.Discrete(2))
        self._previous = np.zeros((n_envs, *KARPATHY_FRAME_SHAPE), dtype=np.int8)
        self._actions = np.zeros(n_envs, dtype=np.int64)
        # As SB3's vector envs: the seed applies to the next reset only, later resets go on from the games' RNGs
        self.seed(seed)

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError("this KarpathyPongVecEnv is closed: make a new one")

    def reset(self) -> VecEnvObs:
        self._check_open()
        seed = self._seeds[0] if self._seeds else None
        _check_seeds(seed, self.num_envs)
        frames, _ = self.ale.reset(seed=seed)
        self._reset_seeds()
        self._previous = karpathy_foreground(frames[:, -1]).view(np.int8)
        return np.zeros_like(self._previous)

    def step_async(self, actions: np.ndarray) -> None:
        self._check_open()
        actions = np.asarray(actions)
        if actions.size != self.num_envs or not ((actions == 0) | (actions == 1)).all():
            raise ValueError(
                f"actions must be {self.num_envs} values in {{0 (DOWN), 1 (UP)}}, one per game; got {actions.tolist()!r}"
            )
        self._actions = self.game_actions[actions.astype(np.int64).reshape(self.num_envs)]

    def step_wait(self) -> VecEnvStepReturn:
        self._check_open()
        frames, rewards, terminated, truncated, info = self.ale.step(self._actions)
        current = karpathy_foreground(frames[:, -1]).view(np.int8)
        observations = current - self._previous
        dones = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if dones.any():
            final = karpathy_foreground(np.asarray(info["final_obs"])[dones][:, -1]).view(np.int8)
            for k, i in enumerate(np.flatnonzero(dones)):
                infos[i]["terminal_observation"] = final[k] - self._previous[i]
                infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
                observations[i] = 0  # the first observation of the new episode, as FrameDifference's reset
        self._previous = current
        return observations, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        if not self.closed:
            self.ale.close()
            self.closed = True

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        if attr_name == "render_mode":  # asked by SB3's VecEnv; the games are not rendered
            return [None] * len(list(self._get_indices(indices)))
        raise AttributeError(f"KarpathyPongVecEnv has no per-env attribute {attr_name!r}")

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        raise AttributeError(f"KarpathyPongVecEnv has no per-env attribute {attr_name!r}")

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        raise AttributeError(f"KarpathyPongVecEnv has no per-env method {method_name!r}")

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False] * len(list(self._get_indices(indices)))

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None] * self.num_envs


# ale-py seeds each game with a 32-bit integer: seed, seed + 1, ... for the games
MAX_GAME_SEED = 2**31 - 1


def _check_seeds(seed: int | None, n_envs: int) -> None:
    if seed is not None and seed + n_envs - 1 > MAX_GAME_SEED:
        raise ValueError(
            f"seed must leave seed + n_envs - 1 at most 2**31 - 1 (ale-py seeds each game with a 32-bit integer), got "
            f"{seed} for {n_envs} games"
        )
