"""Rollout buffers that give every step its exact return within its own episode."""

from collections.abc import Generator
from typing import Any, Literal

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.type_aliases import DictRolloutBufferSamples, RolloutBufferSamples

from sb3_vpg.common.returns import (
    episode_ids,
    gae_advantages,
    n_complete_steps,
    normalize,
    normalize_per_group,
    point_ends,
)

NormalizeMode = Literal["none", "batch", "episode"]
NORMALIZE_MODES: tuple[str, ...] = ("none", "batch", "episode")
READY_AT: tuple[str, ...] = ("episode", "point")

# Per-step fields besides the observation, in the order they are stored.
_FIELDS = ("actions", "rewards", "episode_starts", "values", "log_probs", "terminal_values")


def _as_float32_row(values: th.Tensor | np.ndarray) -> np.ndarray:
    """One value per env as a flat float32 array."""
    if isinstance(values, th.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float32).reshape(-1)


class NonFiniteError(FloatingPointError):
    """A reward, return, loss or gradient that is NaN or infinite: training stops before the weights change."""


class EpisodicRolloutBuffer(RolloutBuffer):
    """
    Rollout buffer for Monte-Carlo policy gradients (REINFORCE, VPG), for array observations.

    Unlike SB3's ``RolloutBuffer`` it grows with the data (so a rollout can run until a number of episodes has
    ended) and it only hands out steps whose return is exact:

    * a step whose episode ended inside the collected data gets its discounted reward-to-go up to that end;
    * a step whose episode is still running is either carried over (kept and prepended to the same env's data
      at the next rollout, so it enters a later update with its complete return), or, with
      ``bootstrap_incomplete=True``, cut and bootstrapped with the learned baseline ``V(s_T)``;
    * an episode cut by a time limit is bootstrapped with ``V(terminal_observation)`` (the ``terminal_values``
      passed to :meth:`add`, zero when there is no baseline, so without a baseline it counts as ended).

    Observations are stored with the observation space's own dtype (no float copies). As in SB3
    (``RolloutBuffer``/``DictRolloutBuffer``), one class holds one kind of observation: a subclass changes how
    they are stored by overriding the four ``_*_observations`` methods (:class:`DictEpisodicRolloutBuffer`,
    :class:`~sb3_vpg.common.sparse.SparseEpisodicRolloutBuffer`). The return maths lives in
    :mod:`sb3_vpg.common.returns`.

    :param buffer_size: Expected steps per env per rollout (a hint: the buffer grows as needed)
    :param observation_space: Observation space
    :param action_space: Action space
    :param device: PyTorch device
    :param gae_lambda: GAE lambda; 1 gives Monte-Carlo returns minus the baseline
    :param gamma: Discount factor
    :param n_envs: Number of parallel environments
    :param bootstrap_incomplete: Cut unfinished episodes at the end of the rollout and bootstrap them with
        the value passed to :meth:`compute_returns_and_advantage` (needs a learned baseline), instead of
        carrying them into the next rollout
    :param reset_on_reward: Pong point-boundary mode: the discounted sum restarts after every non-zero reward
    :param normalize_advantage: ``"none"``, ``"batch"`` (standardise over all steps of the update) or
        ``"episode"`` (standardise within each episode, as Karpathy's Pong from Pixels does)
    :param ready_at: When a step's return is known: ``"episode"`` (default) once its episode has ended, or
        ``"point"`` (needs ``reset_on_reward``) once its point has ended, since the point-boundary return stops
        there. With ``"point"`` an update takes every finished point and carries only the point still running,
        so frequent updates train on fresh data; ``"episode"`` standardisation then works on the part of each
        episode that is in the update.
    """

    _samples_type: type[RolloutBufferSamples | DictRolloutBufferSamples] = RolloutBufferSamples

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: th.device | str = "auto",
        gae_lambda: float = 1.0,
        gamma: float = 0.99,
        n_envs: int = 1,
        bootstrap_incomplete: bool = False,
        reset_on_reward: bool = False,
        normalize_advantage: NormalizeMode = "none",
        ready_at: str = "episode",
    ):
        if normalize_advantage not in NORMALIZE_MODES:
            raise ValueError(f"normalize_advantage must be one of {NORMALIZE_MODES}, got {normalize_advantage!r}")
        if ready_at not in READY_AT:
            raise ValueError(f"ready_at must be one of {READY_AT}, got {ready_at!r}")
        if ready_at == "point" and not reset_on_reward:
            raise ValueError("ready_at='point' needs reset_on_reward=True: only then does a point end its return")
        self.ready_at = ready_at
        self._check_observation_space(observation_space)
        self.bootstrap_incomplete = bootstrap_incomplete
        self.reset_on_reward = reset_on_reward
        self.normalize_advantage = normalize_advantage
        # Unfinished episodes per env, carried into the next rollout: obs plus one array per field.
        self.carry: list[dict[str, Any] | None] = [None] * n_envs
        super().__init__(buffer_size, observation_space, action_space, device, gae_lambda, gamma, n_envs)

    # --- how observations are stored: one kind per class ---

    def _check_observation_space(self, observation_space: spaces.Space) -> None:
        if isinstance(observation_space, spaces.Dict):
            raise ValueError("EpisodicRolloutBuffer holds array observations; use DictEpisodicRolloutBuffer for a Dict space")

    def _copy_observations(self, obs: Any) -> Any:
        """One vectorised step's observations as stored (a copy: the env may reuse its arrays)."""
        return np.array(obs).reshape((self.n_envs, *self.obs_shape))

    def _concat_observations(self, parts: list[Any]) -> Any:
        """Stored observations, concatenated along the step axis."""
        return np.concatenate(parts)

    def _index_observations(self, obs: Any, index: slice | np.ndarray) -> Any:
        """The stored observations at ``index`` (a slice or an index array; the result keeps the step axis)."""
        return obs[index]

    def _observation_samples(self, obs: Any) -> th.Tensor | dict[str, th.Tensor]:
        """Stored observations as what the policy is trained on."""
        return self.to_torch(obs)

    # --- the rollout ---

    def reset(self) -> None:
        """Start a new rollout. Carried-over steps are kept."""
        self._steps: list[dict[str, Any]] = []
        self.n_ready_steps = 0
        self.n_ready_episodes = 0
        self.pos = 0
        self.full = False
        self.generator_ready = False

    @property
    def n_carried_steps(self) -> int:
        """Steps held back until their episode ends."""
        return sum(0 if part is None else len(part["rewards"]) for part in self.carry)

    def clear_carry(self) -> None:
        """Forget unfinished episodes (their envs were reset)."""
        self.carry = [None] * self.n_envs

    def add(
        self,
        obs: Any,
        action: np.ndarray,
        reward: np.ndarray,
        episode_start: np.ndarray,
        value: th.Tensor | None,
        log_prob: th.Tensor | np.ndarray,
        terminal_values: np.ndarray | None = None,
    ) -> None:
        """
        Store one vectorised step.

        :param obs: Observations the actions were taken in, one per env
        :param action: Actions taken
        :param reward: Rewards received
        :param episode_start: True where ``obs`` is the first observation of an episode
        :param value: Baseline values ``V(obs)``, or None without a baseline
        :param log_prob: Log-probabilities of the actions
        :param terminal_values: ``V(terminal_observation)`` where an episode was truncated by a time limit at
            this step (zero elsewhere and without a baseline)
        """
        zeros = np.zeros(self.n_envs, dtype=np.float32)
        self._steps.append(
            {
                "obs": self._copy_observations(obs),
                # float32 for every action space, as the log-likelihoods of SB3's distributions expect
                "actions": np.asarray(action, dtype=np.float32).reshape((self.n_envs, self.action_dim)),
                "rewards": np.asarray(reward, dtype=np.float32).reshape(self.n_envs),
                "episode_starts": np.asarray(episode_start, dtype=bool).reshape(self.n_envs),
                "values": zeros if value is None else _as_float32_row(value),
                "log_probs": _as_float32_row(log_prob),
                "terminal_values": zeros if terminal_values is None else np.asarray(terminal_values, np.float32),
            }
        )
        self.pos += 1

    def _env_columns(self) -> list[dict[str, Any]]:
        """This rollout's steps, one column per env, with the carried-over steps of the same env in front."""
        stacked = {field: np.stack([step[field] for step in self._steps]) for field in _FIELDS}  # (n_steps, n_envs)
        columns = []
        for env_idx in range(self.n_envs):
            env_slice = slice(env_idx, env_idx + 1)
            column: dict[str, Any] = {
                "obs": self._concat_observations([self._index_observations(step["obs"], env_slice) for step in self._steps])
            }
            for field in _FIELDS:
                column[field] = stacked[field][:, env_idx]
            carried = self.carry[env_idx]
            if carried is not None and not column["episode_starts"][0]:
                # The env went on with the same episode: glue the carried steps in front.
                column["obs"] = self._concat_observations([carried["obs"], column["obs"]])
                for field in _FIELDS:
                    column[field] = np.concatenate([carried[field], column[field]])
            # (If the env was reset since, e.g. by a new ``learn()``, the carried steps belong to an abandoned
            # episode whose return will never be known: they are dropped.)
            columns.append(column)
        return columns

    def carry_everything(self) -> None:
        """Carry this (interrupted) rollout's steps whole into the next one, ended episodes included: the next
        ``compute_returns_and_advantage`` serves those that have ended by then, so nothing is lost or cut."""
        if self._steps:
            self.carry = list(self._env_columns())
            self._steps = []

    def compute_returns_and_advantage(self, last_values: th.Tensor | None, dones: np.ndarray) -> None:
        """
        Compute returns and advantages of every step whose return is known, and carry the rest over.

        :param last_values: ``V(s_T)`` of the observations after the last step (None without a baseline)
        :param dones: whether the last step of each env ended its episode
        :raises NonFiniteError: where a return is not finite (nothing is stored then)
        """
        if not self._steps:
            raise RuntimeError("compute_returns_and_advantage() called on an empty rollout")
        last = np.zeros(self.n_envs) if last_values is None else last_values.detach().cpu().numpy().flatten()
        columns = self._env_columns()
        ready: list[dict[str, Any]] = []
        carry: list[dict[str, Any] | None] = []
        for env_idx, column in enumerate(columns):
            episode_ends = np.zeros(len(column["rewards"]), dtype=bool)
            episode_ends[:-1] = column["episode_starts"][1:]
            episode_ends[-1] = dones[env_idx]
            if self.bootstrap_incomplete:
                n_ready = len(episode_ends)
            elif self.ready_at == "point":
                n_ready = n_complete_steps(episode_ends | point_ends(column["rewards"]))
            else:
                n_ready = n_complete_steps(episode_ends)
            carry.append(None if n_ready == len(episode_ends) else self._slice_column(column, n_ready))
            if n_ready == 0:
                continue
            part = self._slice_column(column, 0, n_ready)
            part_ends = episode_ends[:n_ready]
            bootstrap = part["terminal_values"].astype(np.float64)
            if not part_ends[-1]:  # cut at the end of the rollout: bootstrap with V(s_T)
                bootstrap[-1] = last[env_idx]
            ends = part_ends.copy()
            if self.reset_on_reward:
                scored = point_ends(part["rewards"])
                ends |= scored
                bootstrap[scored] = 0.0
            advantages = gae_advantages(
                part["rewards"][:, None],
                part["values"][:, None],
                ends[:, None],
                self.gamma,
                self.gae_lambda,
                bootstrap[:, None],
            )[:, 0]
            part["returns"] = advantages + part["values"]
            self._check_finite("return", part["returns"].astype(np.float32), env_idx)  # as it is trained on
            if self.normalize_advantage == "episode":
                advantages = normalize_per_group(advantages, episode_ids(part_ends))
            part["advantages"] = advantages
            ready.append(part)
            self.n_ready_episodes += int(part_ends.sum())
        self.carry = carry
        for step in self._steps:  # the columns hold the observations now: free the per-step copies
            del step["obs"]
        self._finalize(ready)

    @staticmethod
    def _check_finite(what: str, values: np.ndarray, env_idx: int) -> None:
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            raise NonFiniteError(
                f"non-finite {what} {values[bad[0]]} for env {env_idx} at step {bad[0]} of its data in this rollout "
                f"(carried steps first); check the rewards and values of that env"
            )

    def _slice_column(self, column: dict[str, Any], start: int, stop: int | None = None) -> dict[str, Any]:
        index = slice(start, stop)
        return {key: self._index_observations(value, index) if key == "obs" else value[index] for key, value in column.items()}

    def _finalize(self, ready: list[dict[str, Any]]) -> None:
        """Flatten the ready steps of all envs (env-major, as SB3 does) into the arrays ``get()`` serves."""
        self.n_ready_steps = sum(len(part["rewards"]) for part in ready)
        if self.n_ready_steps == 0:
            return
        self.ready_observations = self._concat_observations([part["obs"] for part in ready])
        self.actions = np.concatenate([part["actions"] for part in ready])
        self.values = np.concatenate([part["values"] for part in ready])
        self.log_probs = np.concatenate([part["log_probs"] for part in ready])
        self.returns = np.concatenate([part["returns"] for part in ready]).astype(np.float32)
        advantages = np.concatenate([part["advantages"] for part in ready])
        if self.normalize_advantage == "batch":
            advantages = normalize(advantages)
        self.advantages = advantages.astype(np.float32)

    def get(  # type: ignore[override]
        self, batch_size: int | None = None
    ) -> Generator[RolloutBufferSamples | DictRolloutBufferSamples, None, None]:
        """
        Yield the ready steps in order, ``batch_size`` at a time (all at once when None).

        REINFORCE accumulates the gradient over all of them before one optimiser step, so no shuffling.
        """
        if batch_size is None:
            batch_size = max(self.n_ready_steps, 1)
        for start in range(0, self.n_ready_steps, batch_size):
            yield self._get_samples(np.arange(start, min(start + batch_size, self.n_ready_steps)))

    def _get_samples(  # type: ignore[override]
        self, batch_inds: np.ndarray, env: Any = None
    ) -> RolloutBufferSamples | DictRolloutBufferSamples:
        arrays = (self.actions, self.values, self.log_probs, self.advantages, self.returns)
        tensors = tuple(self.to_torch(array[batch_inds]) for array in arrays)
        observations = self._observation_samples(self._index_observations(self.ready_observations, batch_inds))
        return self._samples_type(observations, *tensors)  # type: ignore[arg-type]


class DictEpisodicRolloutBuffer(EpisodicRolloutBuffer):
    """
    :class:`EpisodicRolloutBuffer` for ``Dict`` observation spaces (as SB3's ``DictRolloutBuffer``): each key's
    observations are stored as an array of their own. Same parameters.
    """

    obs_shape: dict[str, tuple[int, ...]]  # type: ignore[assignment]
    _samples_type = DictRolloutBufferSamples

    def _check_observation_space(self, observation_space: spaces.Space) -> None:
        if not isinstance(observation_space, spaces.Dict):
            raise ValueError(f"DictEpisodicRolloutBuffer needs a Dict observation space, got {observation_space}")

    def _copy_observations(self, obs: Any) -> dict[str, np.ndarray]:
        return {key: np.array(part).reshape((self.n_envs, *self.obs_shape[key])) for key, part in obs.items()}

    def _concat_observations(self, parts: list[Any]) -> dict[str, np.ndarray]:
        return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}

    def _index_observations(self, obs: Any, index: slice | np.ndarray) -> dict[str, np.ndarray]:
        return {key: value[index] for key, value in obs.items()}

    def _observation_samples(self, obs: Any) -> dict[str, th.Tensor]:
        return {key: self.to_torch(value) for key, value in obs.items()}
