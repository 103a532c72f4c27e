"""
The rollout side of REINFORCE and VPG: SB3's ``OnPolicyAlgorithm`` with a rollout buffer that hands out only exact
returns, rollouts that an interruption does not cut short, and files written whole.
"""

import io
import pathlib
import sys
import warnings
from collections.abc import Iterable
from typing import Any, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.distributions import Distribution
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.save_util import load_from_zip_file
from stable_baselines3.common.type_aliases import MaybeCallback, PyTorchObs, TensorDict
from stable_baselines3.common.utils import obs_as_tensor
from stable_baselines3.common.vec_env import VecEnv

from sb3_vpg.common import guards
from sb3_vpg.common.buffers import DictEpisodicRolloutBuffer, EpisodicRolloutBuffer
from sb3_vpg.common.capabilities import env_actions, rollout_actor
from sb3_vpg.common.files import replaced_whole
from sb3_vpg.common.saved_models import check_saved_by, fit_optimizers_to_saved, removed_module_errors
from sb3_vpg.common.validation import ArgumentValueError, needs

SelfEpisodicOnPolicyAlgorithm = TypeVar("SelfEpisodicOnPolicyAlgorithm", bound="EpisodicOnPolicyAlgorithm")

# Rows the buffer starts with when batching by episodes (it grows as needed)
EPISODE_BATCH_ROWS = 1024


class DroppedStepsWarning(UserWarning):
    """Env steps that were collected but will never be trained on: the steps of running episodes when the envs are
    reset, or that a saved file does not keep."""


class EpisodicOnPolicyAlgorithm(OnPolicyAlgorithm):
    """
    SB3's ``OnPolicyAlgorithm`` whose rollouts keep every step until its return is exact
    (:class:`~sb3_vpg.common.buffers.EpisodicRolloutBuffer`): the rollout loop, its buffer, the steps an env reset
    or a saved file drops (reported with a :class:`DroppedStepsWarning`), and saving and loading. The update
    (``train``) and the settings are the subclass's (:class:`~sb3_vpg.REINFORCE`), which sets the attributes
    declared here before ``_setup_model``.

    A masking subclass reads the env's masks in :meth:`_action_masks` and applies them in
    :meth:`_get_distribution` and :meth:`_evaluate_actions`.
    """

    rollout_buffer: EpisodicRolloutBuffer
    n_steps: int | None  # type: ignore[assignment]  # None when batching by episodes
    n_episodes: int | None
    use_baseline: bool
    batch_size: int | None
    bootstrap_incomplete: bool
    reset_on_reward: bool
    normalize_advantage: str | bool
    # Of a loaded model: the untrained steps its file could not keep, reported when training goes on
    n_steps_not_in_file: int = 0

    def _check_parameters(self, training: bool = True) -> None:
        """Check the settings (the subclass's): ``learn`` calls it first, for values assigned since construction."""

    def _setup_rollout_buffer(self) -> None:
        """The rollout buffer of ``rollout_buffer_class`` (by default the episodic one for the observation space)."""
        if self.rollout_buffer_class is None:
            is_dict = isinstance(self.observation_space, spaces.Dict)
            self.rollout_buffer_class = DictEpisodicRolloutBuffer if is_dict else EpisodicRolloutBuffer
        self._check_rollout_buffer_size()
        try:
            self.rollout_buffer = self.rollout_buffer_class(  # type: ignore[assignment]
                self.n_steps or EPISODE_BATCH_ROWS,
                self.observation_space,
                self.action_space,
                device=self.device,
                gamma=self.gamma,
                gae_lambda=self.gae_lambda,
                n_envs=self.n_envs,
                bootstrap_incomplete=self.bootstrap_incomplete,  # type: ignore[call-arg]
                reset_on_reward=self.reset_on_reward,
                normalize_advantage=self.normalize_advantage,
                **self.rollout_buffer_kwargs,
            )
        except MemoryError as error:  # numpy refuses an allocation that cannot fit, before touching any memory
            raise ArgumentValueError(
                f"n_steps={self.n_steps} with {self.n_envs} env(s) needs a rollout buffer larger than this machine "
                f"can allocate ({error}): pass a smaller n_steps, or n_episodes"
            ) from None

    def _check_rollout_buffer_size(self) -> None:
        """A rollout buffer of ``n_steps`` rows that numpy can index (its byte size within a C ssize_t)."""
        observation_space = self.observation_space
        parts = observation_space.spaces.values() if isinstance(observation_space, spaces.Dict) else [observation_space]
        row_bytes = sum(int(np.prod(part.shape or (1,))) * int(np.dtype(part.dtype).itemsize) for part in parts)
        rows = (self.n_steps or EPISODE_BATCH_ROWS) * self.n_envs
        needs(
            rows * max(row_bytes, 8) <= sys.maxsize,
            f"n_steps={self.n_steps} with {self.n_envs} env(s) makes a rollout buffer of {rows * row_bytes:.3g} bytes, "
            "more than numpy can index: pass a smaller n_steps, or n_episodes",
        )

    def set_parameters(
        self,
        load_path_or_dict: str | pathlib.Path | io.BufferedIOBase | TensorDict,
        exact_match: bool = True,
        device: th.device | str = "auto",
    ) -> None:
        if isinstance(load_path_or_dict, dict):
            params = dict(load_path_or_dict)
        else:
            params = load_from_zip_file(load_path_or_dict, device=device, load_data=False)[1]
        exact_optimizers = fit_optimizers_to_saved(self, params)
        super().set_parameters(params, exact_match=exact_match and exact_optimizers, device=device)

    @classmethod
    def load(
        cls: type[SelfEpisodicOnPolicyAlgorithm], path: str | pathlib.Path | io.BufferedIOBase, *args: Any, **kwargs: Any
    ) -> SelfEpisodicOnPolicyAlgorithm:
        check_saved_by(cls, path)
        with removed_module_errors(path):
            model = super().load(path, *args, **kwargs)
        # reported by the first learn, where they would have been trained
        model.n_steps_not_in_file = getattr(model, "_untrained_steps_at_save", 0)
        return model

    def save(
        self,
        path: str | pathlib.Path | io.BufferedIOBase,
        exclude: Iterable[str] | None = None,
        include: Iterable[str] | None = None,
    ) -> None:
        # The file keeps no rollout buffer: loading it reports the untrained steps it could not keep
        buffer = getattr(self, "rollout_buffer", None)
        held = buffer.n_carried_steps if isinstance(buffer, EpisodicRolloutBuffer) else 0
        self._untrained_steps_at_save = held + self.n_steps_not_in_file  # with those of its own file, not reported yet
        if isinstance(path, io.BufferedIOBase):
            super().save(path, exclude, include)
            return
        # SB3 writes the zip in place: a kill mid-save would leave a torn file where the last good one was
        target = pathlib.Path(path)
        target = target if target.suffix else target.with_suffix(".zip")  # as SB3 names it
        target.parent.mkdir(parents=True, exist_ok=True)
        with replaced_whole(target) as temporary:
            super().save(temporary, exclude, include)

    def _setup_learn(
        self,
        total_timesteps: int,
        callback: MaybeCallback = None,
        reset_num_timesteps: bool = True,
        tb_log_name: str = "run",
        progress_bar: bool = False,
    ) -> tuple[int, BaseCallback]:
        self._check_parameters()  # values assigned since construction
        if reset_num_timesteps or self._last_obs is None:
            # The envs are about to be reset: the episodes held can never be completed.
            n_dropped = self.rollout_buffer.n_carried_steps
            if n_dropped:
                why = "reset_num_timesteps=True" if reset_num_timesteps else "the envs were set, or stepping them failed"
                warnings.warn(
                    f"{n_dropped} untrained steps of running episodes are dropped: the envs are reset ({why}), so "
                    "their episodes cannot end. learn(..., reset_num_timesteps=False) goes on with them",
                    DroppedStepsWarning,
                    stacklevel=3,
                )
            self.rollout_buffer.clear_carry()
        if self.n_steps_not_in_file:
            warnings.warn(
                f"{self.n_steps_not_in_file} untrained steps of running episodes are dropped: the model was saved "
                "with them, and a file keeps no rollout buffer (as SB3's); the envs start new episodes",
                DroppedStepsWarning,
                stacklevel=3,
            )
            self.n_steps_not_in_file = 0
        return super()._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar)

    def _rollout_complete(self, rollout_buffer: EpisodicRolloutBuffer, n_rollout_steps: int) -> bool:
        if self.n_episodes is not None:
            return rollout_buffer.n_ended_episodes >= self.n_episodes
        return rollout_buffer.n_rollout_steps >= n_rollout_steps

    def collect_rollouts(
        self,
        env: VecEnv,
        callback: BaseCallback,
        rollout_buffer: RolloutBuffer,
        n_rollout_steps: int,
    ) -> bool:
        """
        Collect experience with the current policy until the rollout has ``n_rollout_steps`` steps per env (or
        ``n_episodes`` episodes have ended), then compute the returns. As SB3's version, except that:

        * the end of ``learn``'s ``total_timesteps`` ends an ``n_steps`` rollout early (SB3 runs past the budget to
          finish it); a batch of ``n_episodes``, or a rollout that a callback stopped, is kept whole, and the next
          call goes on with it (SB3 drops it);
        * a policy that offers a rollout actor acts through it (:mod:`sb3_vpg.common.capabilities`), and the values
          ``V(s_t)`` (with a baseline) are computed in one batched pass at the end;
        * time-limit bootstraps are passed to the buffer separately instead of being added to the rewards.

        :param env: The training environment
        :param callback: Callback called at each step (and at the beginning and end of the rollout)
        :param rollout_buffer: Buffer to fill with rollouts (an ``EpisodicRolloutBuffer``)
        :param n_rollout_steps: Number of steps to collect per env (ignored when batching by ``n_episodes``)
        :return: True if the rollout completed, False if it was stopped (by a callback or ``total_timesteps``)
        """
        assert self._last_obs is not None, "No previous observation was provided"
        assert isinstance(rollout_buffer, EpisodicRolloutBuffer), "REINFORCE needs an EpisodicRolloutBuffer"
        self.policy.set_training_mode(False)
        rollout_buffer.reset()
        if self.use_sde:
            self.policy.reset_noise(env.num_envs)

        callback.on_rollout_start()
        actor = rollout_actor(self.policy)  # the weights do not change during the rollout
        # Without an actor the policy acts through forward(), which gives V(s_t) with each action, as SB3 stores them
        # (a policy may override forward() to give values of its own); with one they come in one pass at the end
        values_per_step = actor is None
        # learn() sets the budget; a direct call (as SB3's tests make) collects the whole rollout
        budget = self._total_timesteps if self._total_timesteps > 0 else None

        while not self._rollout_complete(rollout_buffer, n_rollout_steps):
            if budget is not None and self.num_timesteps >= budget:
                if self.n_episodes is not None or rollout_buffer.n_rollout_steps == 0:
                    return False  # the batch of episodes goes on at the next learn(reset_num_timesteps=False)
                break  # learn's budget ends the rollout: its ended episodes are trained, the others carried
            if self.use_sde and self.sde_sample_freq > 0 and rollout_buffer.n_rollout_steps % self.sde_sample_freq == 0:
                self.policy.reset_noise(env.num_envs)

            log_probs: np.ndarray | th.Tensor
            values: th.Tensor | None = None
            action_masks = self._action_masks(env)
            if actor is not None and action_masks is None:
                actions, log_probs = actor.sample(self._last_obs)  # type: ignore[arg-type]
            else:
                actions, values, log_probs = self._act(self._last_obs, action_masks)  # type: ignore[arg-type]
                values_per_step = values_per_step and values is not None

            clipped_actions = env_actions(self.policy, actions)  # the name SB3's callbacks read
            try:
                new_obs, rewards, dones, infos = env.step(clipped_actions)
                guards.check_rewards(rewards, self.num_timesteps)
            except BaseException:
                # Some envs may have stepped and others not: the next learn resets them all, and reports the
                # steps of running episodes it drops
                self._last_obs = None
                raise

            self.num_timesteps += env.num_envs
            self._update_info_buffer(infos, dones)
            # Stored before the callbacks run, so that one that raises (a Ctrl-C) leaves the step kept, and the
            # next learn(reset_num_timesteps=False) goes on from the env's real state
            rollout_buffer.add(
                self._last_obs,
                actions,
                rewards,
                self._last_episode_starts,  # type: ignore[arg-type]
                values,
                log_probs,
                episode_end=dones,
                terminal_values=self._time_limit_values(dones, infos),
                **({} if action_masks is None else {"action_masks": action_masks}),  # for a buffer that keeps them
            )
            self._last_obs = new_obs  # type: ignore[assignment]
            self._last_episode_starts = dones

            # Give access to local variables
            callback.update_locals(locals())
            if not callback.on_step():
                return False  # kept whole: the next learn(reset_num_timesteps=False) goes on with it

        last_values = None
        if self.use_baseline:
            if not values_per_step:
                rollout_buffer.compute_values(self.policy.predict_values, self.batch_size)
            with th.no_grad():
                last_values = self.policy.predict_values(obs_as_tensor(self._last_obs, self.device))  # type: ignore[arg-type]
        rollout_buffer.compute_returns_and_advantage(last_values=last_values, dones=self._last_episode_starts)  # type: ignore[arg-type]
        try:
            guards.check_returns(rollout_buffer.returns[: rollout_buffer.n_ready_steps], rollout_buffer.ready_envs)
            callback.update_locals(locals())
            callback.on_rollout_end()
        except BaseException:  # a callback that raised (a Ctrl-C): the steps wait for the next learn's update
            rollout_buffer.unready()
            raise

        return True

    def _time_limit_values(self, dones: np.ndarray, infos: list[dict[str, Any]]) -> np.ndarray | None:
        """``V(terminal_observation)`` where a time limit cut an episode (with a baseline; None elsewhere): the
        return goes on past the cut."""
        if not self.use_baseline or not dones.any():
            return None
        terminal_values = np.zeros(len(dones), dtype=np.float32)
        for idx in np.flatnonzero(dones):
            info = infos[idx]
            if info.get("terminal_observation") is not None and info.get("TimeLimit.truncated", False):
                terminal_obs = self.policy.obs_to_tensor(info["terminal_observation"])[0]
                with th.no_grad():
                    terminal_values[idx] = self.policy.predict_values(terminal_obs)[0].item()
        return terminal_values

    def _action_masks(self, env: VecEnv) -> np.ndarray | None:
        """The envs' masks of allowed actions for the next step, or None where every action is allowed (here
        always; :class:`~sb3_vpg.MaskableREINFORCE` reads them from the env)."""
        return None

    def _get_distribution(self, observations: PyTorchObs, action_masks: np.ndarray | th.Tensor | None) -> Distribution:
        """The policy's action distribution in ``observations`` (a masking algorithm applies ``action_masks``,
        which are None here)."""
        return self.policy.get_distribution(observations)

    def _evaluate_actions(
        self, observations: PyTorchObs, actions: th.Tensor, action_masks: th.Tensor | None
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor | None]:
        """Values, log-probabilities and entropy of the policy in one forward pass (a masking algorithm applies
        ``action_masks``, which are None here)."""
        return self.policy.evaluate_actions(observations, actions)

    def _act(
        self, observations: np.ndarray | dict[str, np.ndarray], action_masks: np.ndarray | None
    ) -> tuple[np.ndarray, th.Tensor | None, th.Tensor]:
        """Sample actions with the torch policy: the actions (in the env's shape), the values ``V(s_t)`` where a
        baseline needs them and the policy's ``forward()`` gives them (None without a baseline, or where masks are
        applied) and the log-probabilities."""
        action_shape: tuple[int, ...] = self.action_space.shape  # type: ignore[assignment]
        obs_tensor = obs_as_tensor(observations, self.device)
        with th.no_grad():
            if action_masks is None and self.use_baseline:
                actions, values, log_probs = self.policy(obs_tensor)
                return actions.cpu().numpy().reshape((-1, *action_shape)), values, log_probs
            distribution = self._get_distribution(obs_tensor, action_masks)
            actions = distribution.get_actions()
            log_probs = distribution.log_prob(actions)
        # The distribution's actions are flat (n_envs, action_dim): the env gets its own shape, as in
        # ActorCriticPolicy.forward
        return actions.cpu().numpy().reshape((-1, *action_shape)), None, log_probs
