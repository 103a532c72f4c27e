"""
Gymnasium wrappers for the input pipeline of Karpathy's "Pong from Pixels" (2016,
http://karpathy.github.io/2016/05/31/rl/), usable with any SB3
algorithm, and the registered id ``KarpathyPong-v0`` that puts them together.
"""

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sb3_vpg.common.extras import extra_needed

ATARI_FRAME_SHAPE = (210, 160, 3)
KARPATHY_FRAME_SHAPE = (80, 80)
# Red-channel values of Pong's two background colours (``prepro`` in Karpathy's Pong from Pixels)
PONG_BACKGROUND = (144, 109)


def karpathy_foreground(frames: np.ndarray, background: tuple[int, ...] = PONG_BACKGROUND) -> np.ndarray:
    """``(..., 210, 160, 3)`` frames -> ``(..., 80, 80)`` bool: crop rows 35:195, keep every second row and column
    of the red channel, background colours False, everything else (paddles, ball) True."""
    cropped = frames[..., 35:195:2, ::2, 0]
    foreground = np.ones(cropped.shape, dtype=bool)
    for colour in background:  # two comparisons are ~5x faster than np.isin on an 80x80 frame
        foreground &= cropped != colour
    return foreground


def karpathy_preprocess(frame: np.ndarray, background: tuple[int, ...] = PONG_BACKGROUND) -> np.ndarray:
    """Karpathy's ``prepro``: a 210x160x3 frame -> 80x80 uint8 in {0, 1}."""
    return karpathy_foreground(frame, background).view(np.uint8)


class KarpathyPreprocess(gym.ObservationWrapper):
    """
    Karpathy's ``prepro`` as a wrapper: an ``(80, 80)`` ``uint8`` observation in {0, 1}.

    :param env: An Atari env with raw ``(210, 160, 3)`` RGB frames
    :param background: Red-channel values erased as background
    """

    def __init__(self, env: gym.Env, background: tuple[int, ...] = PONG_BACKGROUND):
        shape = getattr(env.observation_space, "shape", None)
        if shape != ATARI_FRAME_SHAPE:
            raise ValueError(
                f"KarpathyPreprocess expects raw Atari frames of shape {ATARI_FRAME_SHAPE} (obs_type='rgb'), "
                f"got observation_space {env.observation_space}"
            )
        super().__init__(env)
        self.background = tuple(background)
        self.observation_space = spaces.Box(0, 1, KARPATHY_FRAME_SHAPE, np.uint8)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return karpathy_preprocess(observation, self.background)


class FrameDifference(gym.Wrapper):
    """
    Current minus previous observation, ``int8`` in {-1, 0, 1}; all zeros on the first step after a reset
    (Karpathy feeds ``cur_x - prev_x`` with ``prev_x = 0`` only implicitly; zeros keep the first input honest).

    :param env: An env with binary ``uint8`` observations (e.g. :class:`KarpathyPreprocess`)
    """

    def __init__(self, env: gym.Env):
        space = env.observation_space
        if not (
            isinstance(space, spaces.Box) and space.dtype == np.uint8 and np.all(space.low == 0) and np.all(space.high == 1)
        ):
            raise ValueError(f"FrameDifference expects a binary uint8 Box observation space (0/1), got {space}")
        super().__init__(env)
        self.observation_space = spaces.Box(-1, 1, space.shape, np.int8)
        self._previous = np.zeros(space.shape, dtype=np.int8)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        observation, info = self.env.reset(**kwargs)
        self._previous = observation.astype(np.int8)
        return np.zeros_like(self._previous), info

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        current = observation.astype(np.int8)
        difference = current - self._previous
        self._previous = current
        return difference, reward, terminated, truncated, info


class TwoActionControl(gym.ActionWrapper):
    """
    ``Discrete(2)`` control: action 1 is the game's "up" action, action 0 its "down" action, both looked up by
    name in ``get_action_meanings()``. In Pong, ``RIGHT`` moves the paddle up and ``LEFT`` down (Karpathy's
    actions 2 and 3), so those are the defaults; a Bernoulli policy's probability is then
    P(up) as in Karpathy's Pong from Pixels.

    :param env: An ALE env
    :param up: Name of the action mapped to 1
    :param down: Name of the action mapped to 0
    """

    def __init__(self, env: gym.Env, up: str = "RIGHT", down: str = "LEFT"):
        if not isinstance(env.action_space, spaces.Discrete):
            raise TypeError(f"TwoActionControl needs a Discrete action space, got {env.action_space}")
        get_action_meanings = getattr(env.unwrapped, "get_action_meanings", None)
        if not callable(get_action_meanings):
            raise TypeError(
                "TwoActionControl needs an Atari env that names its actions (get_action_meanings(), as ale-py's do), "
                f"got {env.unwrapped}"
            )
        super().__init__(env)
        meanings = list(get_action_meanings())
        missing = [name for name in (up, down) if name not in meanings]
        if missing:
            raise ValueError(f"TwoActionControl: this game has no {missing} action; its actions are {meanings}")
        self.game_actions = (meanings.index(down), meanings.index(up))
        self.action_space = spaces.Discrete(2)

    def action(self, action: Any) -> int:
        return self.game_actions[int(action)]


def make_karpathy_pong(game_id: str = "ALE/Pong-v5", **ale_kwargs: Any) -> gym.Env:
    """
    ``ALE/Pong-v5`` (frameskip 4, sticky actions 0.25, minimal action set) -> two-action control -> Karpathy
    preprocessing -> frame difference. Rewards are untouched, so any ``Monitor`` logs the game score (-21..21).

    :param game_id: The ALE id to wrap (``"Pong-v0"`` for Karpathy's own settings, see
        :func:`make_karpathy_pong_classic`)
    :param ale_kwargs: Passed to ``gymnasium.make(game_id, ...)`` (e.g. ``repeat_action_probability``)
    """
    with extra_needed():
        import ale_py

    gym.register_envs(ale_py)
    env = gym.make(game_id, **ale_kwargs)
    return FrameDifference(KarpathyPreprocess(TwoActionControl(env)))


def make_karpathy_pong_classic(**ale_kwargs: Any) -> gym.Env:
    """
    Karpathy's own environment: gym's ``Pong-v0`` as ale-py still registers it (every agent step repeats the
    action for a frameskip drawn uniformly from 2, 3, 4; sticky actions 0.25; minimal action set; episodes cut
    at 108,000 frames as in v5), with the same wrappers as ``KarpathyPong-v0``. ``ale_py.AtariVectorEnv`` takes
    only a fixed frameskip, so several of these run in a ``SubprocVecEnv``.

    :param ale_kwargs: Passed to ``gymnasium.make("Pong-v0", ...)``
    """
    return make_karpathy_pong("Pong-v0", **ale_kwargs)


KARPATHY_PONG_ID = "KarpathyPong-v0"
# Karpathy's gym Pong-v0 settings (frameskip drawn from 2-4 at every step) through the same wrappers
KARPATHY_PONG_CLASSIC_ID = "KarpathyPongClassic-v0"


def register_karpathy_pong() -> None:
    if KARPATHY_PONG_ID not in gym.registry:
        gym.register(KARPATHY_PONG_ID, entry_point="sb3_vpg.pong.wrappers:make_karpathy_pong")
    if KARPATHY_PONG_CLASSIC_ID not in gym.registry:
        gym.register(KARPATHY_PONG_CLASSIC_ID, entry_point="sb3_vpg.pong.wrappers:make_karpathy_pong_classic")
