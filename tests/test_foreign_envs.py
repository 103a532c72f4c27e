"""Every public wrapper, policy and env factory applied to envs it was not made for (CartPole, MountainCar, Pendulum,
a Dict-observation env, an Atari game that is not Pong): each works or raises a ValueError or TypeError that says
what it needs, never an AttributeError, IndexError or KeyError from inside."""

from collections.abc import Callable

import ale_py
import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import sb3_vpg.pong  # noqa: F401  # registers the "KarpathyPolicy" name
from sb3_vpg import REINFORCE, VPG
from sb3_vpg.pong.wrappers import FrameDifference, KarpathyPreprocess, TwoActionControl, make_karpathy_pong

gym.register_envs(ale_py)


def dict_env() -> gym.Env:
    env = gym.make("CartPole-v1")
    return gym.wrappers.TransformObservation(
        env, lambda obs: {"position": obs[:2], "velocity": obs[2:]}, spaces.Dict({
            "position": spaces.Box(-np.inf, np.inf, (2,), np.float32),
            "velocity": spaces.Box(-np.inf, np.inf, (2,), np.float32),
        })
    )  # fmt: skip


ENVS: dict[str, Callable[[], gym.Env]] = {
    "CartPole": lambda: gym.make("CartPole-v1"),
    "MountainCar": lambda: gym.make("MountainCar-v0"),
    "Pendulum": lambda: gym.make("Pendulum-v1"),
    "Dict": dict_env,
    "Breakout": lambda: gym.make("ALE/Breakout-v5"),
}


def exercise(env: gym.Env) -> None:
    """Reset and take a few actions, as a user's first lines would."""
    env.reset(seed=0)
    for _ in range(3):
        env.step(env.action_space.sample())


COMPONENTS: dict[str, Callable[[gym.Env], object]] = {
    "TwoActionControl": lambda env: exercise(TwoActionControl(env)),
    "KarpathyPreprocess": lambda env: exercise(KarpathyPreprocess(env)),
    "FrameDifference": lambda env: exercise(FrameDifference(env)),
    "Karpathy pipeline": lambda env: exercise(FrameDifference(KarpathyPreprocess(TwoActionControl(env)))),
    "KarpathyPolicy": lambda env: REINFORCE("KarpathyPolicy", env, n_steps=8).learn(8),
    "KarpathyPolicy with a value head": lambda env: VPG(
        "KarpathyPolicy", env, n_steps=8, policy_kwargs=dict(value_head=True)
    ).learn(8),
    "MlpPolicy with tanh bounds": lambda env: REINFORCE(
        "MultiInputPolicy" if isinstance(env.observation_space, spaces.Dict) else "MlpPolicy",
        env,
        n_steps=8,
        policy_kwargs=dict(action_bounds="tanh"),
    ).learn(8),
}


@pytest.mark.parametrize("env_name", list(ENVS))
@pytest.mark.parametrize("component", list(COMPONENTS))
def test_a_component_works_or_says_what_it_needs(component, env_name):
    env = ENVS[env_name]()
    try:
        COMPONENTS[component](env)
    except (ValueError, TypeError) as error:
        message = str(error)
        assert len(message) > 20 and "\n" not in message.strip(), message  # one line that says something
    finally:
        env.close()


def test_make_karpathy_pong_takes_another_game_or_says_why_not():
    """Breakout has RIGHT and LEFT and raw 210x160x3 frames: the pipeline runs (with Pong's background colours)."""
    env = make_karpathy_pong("ALE/Breakout-v5")
    observation, _ = env.reset(seed=0)
    assert observation.shape == (80, 80) and observation.dtype == np.int8
    env.close()
    with pytest.raises(ValueError, match=r"this game has no \['UPWARD'\] action; its actions are \['NOOP', 'FIRE'"):
        TwoActionControl(gym.make("ALE/Breakout-v5"), up="UPWARD")


def test_two_action_control_on_a_non_atari_env_names_what_it_needs():
    """The listed fault: TwoActionControl on CartPole was an AttributeError from get_action_meanings."""
    with pytest.raises(TypeError, match=r"TwoActionControl needs an Atari env .*get_action_meanings.*CartPole"):
        TwoActionControl(gym.make("CartPole-v1"))
    with pytest.raises(TypeError, match="TwoActionControl needs a Discrete action space, got Box"):
        TwoActionControl(gym.make("Pendulum-v1"))
