"""
Rollouts across machines: a ``VecEnv`` whose envs live in Ray actors, with ``SubprocVecEnv``'s behaviour. This
module needs Ray (the ``[ray]`` extra); ``import sb3_vpg`` does not.
"""

import contextlib
import itertools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import ray
from ray.exceptions import RayActorError
from stable_baselines3.common.vec_env.base_vec_env import (
    CloudpickleWrapper,
    VecEnv,
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
)
from stable_baselines3.common.vec_env.patch_gym import _patch_env
from stable_baselines3.common.vec_env.subproc_vec_env import _stack_obs


def class_path(cls: type) -> str:
    """A class's import path (its module and qualified name): how pickle names a class it sends by reference."""
    return f"{cls.__module__}.{cls.__qualname__}"


def wrapper_class_paths(env: gym.Env) -> set[str]:
    """The import paths of every class of the env's wrappers, their base classes included."""
    paths: set[str] = set()
    while isinstance(env, gym.Wrapper):
        paths.update(class_path(cls) for cls in type(env).__mro__)
        env = env.env
    return paths


class EnvGroup:
    """The envs of one Ray actor, stepped in one call: what ``SubprocVecEnv``'s worker does for one env, for each of
    them (the automatic reset, ``terminal_observation`` and ``TimeLimit.truncated``)."""

    def __init__(self, env_fns: CloudpickleWrapper):
        self.envs = [_patch_env(env_fn()) for env_fn in env_fns.var]

    def node(self) -> str:
        """The Ray node this actor runs on: its id and IP address."""
        context = ray.get_runtime_context()
        return f"{context.get_node_id()[:12]} ({ray.util.get_node_ip_address()})"

    def step(self, actions: list[Any]) -> list[tuple]:
        results = []
        for env, action in zip(self.envs, actions, strict=True):
            observation, reward, terminated, truncated, info = env.step(action)
            done = terminated or truncated
            info["TimeLimit.truncated"] = truncated and not terminated
            reset_info: dict[str, Any] = {}
            if done:
                info["terminal_observation"] = observation
                observation, reset_info = env.reset()
            results.append((observation, reward, done, info, reset_info))
        return results

    def reset(self, seeds: list[int | None], options: list[dict]) -> list[tuple]:
        return [
            env.reset(seed=seed, **({"options": option} if option else {}))
            for env, seed, option in zip(self.envs, seeds, options, strict=True)
        ]

    def spaces(self) -> tuple[gym.Space, gym.Space]:
        return self.envs[0].observation_space, self.envs[0].action_space

    def render(self) -> list[Any]:
        return [env.render() for env in self.envs]

    def get_attr(self, name: str, positions: list[int]) -> list[Any]:
        return [self.envs[i].get_wrapper_attr(name) for i in positions]

    def has_attr(self, name: str) -> bool:
        try:
            for env in self.envs:
                env.get_wrapper_attr(name)
        except AttributeError:
            return False
        return True

    def set_attr(self, name: str, value: Any, positions: list[int]) -> list[None]:
        for i in positions:
            setattr(self.envs[i], name, value)
        return [None] * len(positions)

    def env_method(self, name: str, args: tuple, kwargs: dict, positions: list[int]) -> list[Any]:
        return [self.envs[i].get_wrapper_attr(name)(*args, **kwargs) for i in positions]

    def is_wrapped(self, wrapper_path: str, positions: list[int]) -> list[bool]:
        """Whether each env has a wrapper whose class, or one of its base classes, has the import path
        ``wrapper_path``."""
        return [wrapper_path in wrapper_class_paths(self.envs[i]) for i in positions]

    def close(self) -> None:
        for env in self.envs:
            env.close()


class RayVecEnv(VecEnv):
    """
    ``SubprocVecEnv`` over a Ray cluster: the envs are built by ``env_fns`` inside Ray actors, each actor holds a
    group of consecutive envs and steps them in one call, so a vectorised step costs one round trip per actor, not
    per env. Its behaviour is ``SubprocVecEnv``'s (the automatic reset with ``terminal_observation``,
    ``TimeLimit.truncated``, ``reset_infos``, seeds and options, ``get_attr``/``set_attr``/``env_method``,
    ``env_is_wrapped``, ``render``), so REINFORCE, VPG, A2C and PPO train on it unchanged, and with the same seed to
    the same weights as on ``DummyVecEnv``; sb3-contrib's ``get_action_masks`` reads masks through ``env_method``.

    An actor that dies (its node went away, or it was killed) makes the next call raise a ``RuntimeError`` that names
    its envs and its node; the model that was training keeps everything it had trained (REINFORCE drops the
    unfinished episodes, as it does when a ``SubprocVecEnv`` fails) and goes on with a new env (``set_env``).

    Ray runs its workers, these actors among them, at niceness 15 (``SubprocVecEnv``'s processes run at the
    learner's): on a node where anything else keeps the cores busy the envs get only what it leaves, and an actor
    can take minutes to start. Start the nodes with ``RAY_worker_niceness=0`` in their environment (``ray start``,
    or ``ray.init`` of a local cluster) to give the envs the learner's priority.

    :param env_fns: Functions that build the envs (as ``SubprocVecEnv``'s); they are sent to the actors
    :param n_actors: How many actors (at most one per env); None: one actor per env
    :param address: The Ray cluster to connect to where Ray is not initialised yet (``"auto"``, ``"host:port"``);
        None starts a local one, as ``ray.init()`` does
    :param actor_options: Options of each actor (``ray.remote``'s: ``num_cpus``, ``resources``,
        ``scheduling_strategy``, ...); default: one CPU each, spread over the nodes (``"SPREAD"``)
    """

    def __init__(
        self,
        env_fns: list[Callable[[], gym.Env]],
        n_actors: int | None = None,
        address: str | None = None,
        actor_options: dict[str, Any] | None = None,
    ):
        n_envs = len(env_fns)
        if n_envs == 0:
            raise ValueError("env_fns must build at least one env, got an empty list")
        n_actors = n_envs if n_actors is None else n_actors
        if isinstance(n_actors, bool) or not isinstance(n_actors, int) or not 1 <= n_actors <= n_envs:
            raise ValueError(f"n_actors must be an integer from 1 to the number of envs ({n_envs}), got {n_actors!r}")
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        options = {"num_cpus": 1, "scheduling_strategy": "SPREAD", **(actor_options or {})}
        # consecutive envs per actor, the first actors taking one more where they do not divide evenly
        bounds = np.linspace(0, n_envs, n_actors + 1).round().astype(int)
        self.groups = [list(range(start, end)) for start, end in itertools.pairwise(bounds)]
        remote_group = ray.remote(EnvGroup).options(**options)
        self.actors: list[Any] = [
            remote_group.remote(CloudpickleWrapper([env_fns[i] for i in group])) for group in self.groups
        ]
        self.nodes = self._call_all("node", [(actor, ()) for actor in self.actors])
        self.waiting = False
        self.closed = False
        observation_space, action_space = self._call_all("spaces", [(self.actors[0], ())])[0]
        super().__init__(n_envs, observation_space, action_space)

    def _call_all(self, method: str, calls: list[tuple[Any, tuple]]) -> list[Any]:
        """Call ``method`` on each actor with its arguments, all at once, and wait for every answer; an actor that died
        is named with its envs and node."""
        refs = [getattr(actor, method).remote(*args) for actor, args in calls]
        try:
            return ray.get(refs)
        except RayActorError as error:
            raise self._lost_actor(error) from error

    def _lost_actor(self, error: RayActorError) -> RuntimeError:
        dead = [i for i, actor in enumerate(self.actors) if not self._alive(actor)]
        where = "; ".join(
            f"envs {self.groups[i]} on node {self.nodes[i] if hasattr(self, 'nodes') else 'not known yet'}" for i in dead
        )
        # Ray's message ends with the cause: an error raised while the actor built its envs, or why it died
        cause = (str(error).strip().splitlines() or [""])[-1]
        return RuntimeError(f"RayVecEnv lost the Ray actor of {where or 'an env group'}: {type(error).__name__}: {cause}")

    @staticmethod
    def _alive(actor: Any) -> bool:
        try:
            ray.get(actor.spaces.remote(), timeout=10)
        except Exception:
            return False
        return True

    def _per_env(self, method: str, indices: VecEnvIndices, *args: Any) -> list[Any]:
        """``method`` of the actors that hold ``indices`` (each given ``args`` and the positions of its envs among
        them); the values in the order of ``indices``, as ``SubprocVecEnv`` gives them."""
        order = list(self._get_indices(indices))
        calls, envs = [], []
        for actor, group in zip(self.actors, self.groups, strict=True):
            positions = [position for position, env in enumerate(group) if env in order]
            if positions:
                calls.append((actor, (*args, positions)))
                envs += [group[position] for position in positions]
        values = dict(zip(envs, (value for group in self._call_all(method, calls) for value in group), strict=True))
        return [values[env] for env in order]

    def step_async(self, actions: np.ndarray) -> None:
        self._step_refs = [
            actor.step.remote([actions[i] for i in group]) for actor, group in zip(self.actors, self.groups, strict=True)
        ]
        self.waiting = True

    def step_wait(self) -> VecEnvStepReturn:
        try:
            results = [result for group in ray.get(self._step_refs) for result in group]
        except RayActorError as error:
            raise self._lost_actor(error) from error
        finally:
            self.waiting = False
        obs, rewards, dones, infos, self.reset_infos = zip(*results, strict=True)  # type: ignore[assignment]
        return _stack_obs(obs, self.observation_space), np.stack(rewards), np.stack(dones), infos  # type: ignore[return-value]

    def reset(self) -> VecEnvObs:
        calls = [
            (actor, ([self._seeds[i] for i in group], [self._options[i] for i in group]))
            for actor, group in zip(self.actors, self.groups, strict=True)
        ]
        results = [result for group in self._call_all("reset", calls) for result in group]
        obs, self.reset_infos = zip(*results, strict=True)  # type: ignore[assignment]
        self._reset_seeds()
        self._reset_options()
        return _stack_obs(obs, self.observation_space)

    def close(self) -> None:
        if self.closed:
            return
        with contextlib.suppress(RuntimeError):  # an actor that is gone has nothing left to close
            self._call_all("close", [(actor, ()) for actor in self.actors])
        for actor in self.actors:
            ray.kill(actor)
        self.closed = True

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.render_mode != "rgb_array":
            warnings.warn(
                f"The render mode is {self.render_mode}, but this method assumes it is `rgb_array` to obtain images."
            )
            return [None for _ in range(self.num_envs)]
        return [image for group in self._call_all("render", [(actor, ()) for actor in self.actors]) for image in group]

    def has_attr(self, attr_name: str) -> bool:
        return all(self._call_all("has_attr", [(actor, (attr_name,)) for actor in self.actors]))

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return self._per_env("get_attr", indices, attr_name)

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        self._per_env("set_attr", indices, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        return self._per_env("env_method", indices, method_name, method_args, method_kwargs)

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        # The class goes by its import path, which is how SubprocVecEnv's pipe sends it (pickle, by reference), so
        # the answers are SubprocVecEnv's; a string also spares the actors importing the class's module (once
        # rl_zoo3 is imported, gym.wrappers.TimeLimit is rl_zoo3's PatchedTimeLimit)
        return self._per_env("is_wrapped", indices, class_path(wrapper_class))
