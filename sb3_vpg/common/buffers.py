"""Rollout buffers that give every step its exact return within its own episode."""

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.type_aliases import DictRolloutBufferSamples, PyTorchObs, RolloutBufferSamples

from sb3_vpg.common.returns import (
    NormalizeMode,
    check_normalize_mode,
    episode_ids,
    gae_advantages,
    n_complete_steps,
    normalize_advantages,
    point_ends,
)

READY_AT: tuple[str, ...] = ("episode", "point")


def _as_float32_row(values: th.Tensor | np.ndarray) -> np.ndarray:
    """One value per env as a flat array (numpy casts it to float32 where it is stored)."""
    if isinstance(values, th.Tensor):
        values = values.detach().cpu().numpy()
    return np.reshape(values, -1)


# SB3's on-policy classes add steps without episode_end. They build this buffer when they load a file that names it
# (A2C.load of a REINFORCE file): that model keeps the file's other settings too (max_grad_norm=None, two optimizers)
_FILLED_BY_OTHER_ALGORITHM = (
    "{buffer}.add() needs episode_end, which only sb3-vpg's algorithms pass: this model was probably loaded from a "
    "file saved by REINFORCE or VPG with another class (e.g. A2C.load or PPO.load), and keeps that file's rollout "
    "buffer and settings. load the file with its own class (REINFORCE.load, VPG.load, MaskableREINFORCE.load, ...); "
    "to start another algorithm from its weights where the networks match: "
    "other.policy.load_state_dict(model.policy.state_dict())"
)


class EpisodicRolloutBuffer(RolloutBuffer):
    """
    Rollout buffer for Monte-Carlo policy gradients (REINFORCE, VPG), for array observations.

    As SB3's ``RolloutBuffer`` it stores each step once, in preallocated arrays shaped ``(rows, n_envs, ...)``
    (one row per vectorised step, observations in the observation space's own dtype). Unlike it, it only hands out
    steps whose return is exact:

    * a step whose episode ended inside the held data gets its discounted reward-to-go up to that end;
    * a step whose episode is still running stays in the buffer (carried over) and enters a later update once its
      episode ends, or, with ``bootstrap_incomplete=True``, is cut and bootstrapped with the learned baseline
      ``V(s_T)``;
    * an episode cut by a time limit is bootstrapped with ``V(terminal_observation)`` (the ``terminal_values``
      passed to :meth:`add`, zero when there is no baseline, so without a baseline it counts as ended);
    * the unfinished steps of an env that starts a new episode without ending the old one (the env was reset) can
      never get their return: they are dropped.

    Each env has its own first untrained row, so envs whose episodes end at different times share the table; the
    rows every env has trained on are reclaimed when the table is full, and it grows when they are too few
    (batching by episodes, long carried episodes). A rollout interrupted before
    :meth:`compute_returns_and_advantage` (a callback's stop, the end of ``learn``) stays whole: the next
    :meth:`reset` resumes it.

    As in SB3 (``RolloutBuffer``/``DictRolloutBuffer``), one class holds one kind of observation: a subclass changes
    how they are stored by overriding :meth:`_observation_arrays`, :meth:`_write_observations` and
    :meth:`_observation_samples` (:class:`DictEpisodicRolloutBuffer`,
    :class:`~sb3_vpg.common.sparse.SparseEpisodicRolloutBuffer`). The return maths lives in
    :mod:`sb3_vpg.common.returns`.

    :param buffer_size: Rows to allocate (steps per env per rollout); the buffer grows as needed
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
        ``"episode"`` (standardise within each episode, as Karpathy's Pong from Pixels does); see
        :func:`~sb3_vpg.common.returns.normalize_advantages`
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
        check_normalize_mode(normalize_advantage)
        if ready_at not in READY_AT:
            raise ValueError(f"ready_at must be one of {READY_AT}, got {ready_at!r}")
        if ready_at == "point" and not reset_on_reward:
            raise ValueError("ready_at='point' needs reset_on_reward=True: only then does a point end its return")
        self._check_observation_space(observation_space)
        # RolloutBuffer's __init__ ends with reset(), which here allocates nothing: the table is allocated below
        super().__init__(buffer_size, observation_space, action_space, device, gae_lambda, gamma, n_envs)
        self.ready_at = ready_at
        self.bootstrap_incomplete = bootstrap_incomplete
        self.reset_on_reward = reset_on_reward
        self.normalize_advantage = normalize_advantage
        self.arrays = self._allocate(max(buffer_size, 1))
        self.first_untrained = np.zeros(n_envs, dtype=np.int64)  # per env: its first row not yet trained on
        self.rollout_start = 0  # first row of the rollout being collected (its values are not computed yet)
        self.n_ended_episodes = 0  # episodes that ended since the last compute_returns_and_advantage

    # --- how observations are stored: one kind per class ---

    def _check_observation_space(self, observation_space: spaces.Space) -> None:
        if isinstance(observation_space, spaces.Dict):
            raise ValueError("EpisodicRolloutBuffer holds array observations; use DictEpisodicRolloutBuffer for a Dict space")

    def _observation_arrays(self, n_rows: int) -> dict[str, np.ndarray]:
        """Empty observation storage for ``n_rows`` rows, as named arrays whose first two axes are (row, env)."""
        return {"observations": np.zeros((n_rows, self.n_envs, *self.obs_shape), dtype=self.observation_space.dtype)}

    def _write_observations(self, row: int, obs: Any) -> None:
        """Store one vectorised step's observations (the one copy of them the buffer makes)."""
        self.arrays["observations"][row] = np.reshape(obs, (self.n_envs, *self.obs_shape))

    def _observation_samples(self, rows: np.ndarray, envs: np.ndarray) -> PyTorchObs:
        """The stored observations of the steps ``(rows[i], envs[i])``, as the policy takes them."""
        return th.as_tensor(self.arrays["observations"][rows, envs], device=self.device)

    # --- storage ---

    def _allocate(self, n_rows: int) -> dict[str, np.ndarray]:
        shape = (n_rows, self.n_envs)
        return {
            **self._observation_arrays(n_rows),
            # float32 for every action space, as the log-likelihoods of SB3's distributions expect
            "actions": np.zeros((*shape, self.action_dim), dtype=np.float32),
            "rewards": np.zeros(shape, dtype=np.float32),
            "episode_ends": np.zeros(shape, dtype=bool),
            "values": np.zeros(shape, dtype=np.float32),
            "log_probs": np.zeros(shape, dtype=np.float32),
            "terminal_values": np.zeros(shape, dtype=np.float32),
            "advantages": np.zeros(shape, dtype=np.float64),
        }

    @property
    def capacity(self) -> int:
        return len(self.arrays["rewards"])

    def _make_room(self) -> None:
        """The table is full: move the untrained rows to the front if at least half of it is trained (each row is
        moved at most about once on average), otherwise double it."""
        reclaimable = int(self.first_untrained.min(initial=self.pos))
        if 2 * reclaimable >= self.capacity:
            kept = self.pos - reclaimable
            for array in self.arrays.values():
                array[:kept] = array[reclaimable : self.pos]
            self.pos = kept
            self.first_untrained -= reclaimable
            self.rollout_start = max(self.rollout_start - reclaimable, 0)
        else:
            bigger = self._allocate(2 * self.capacity)
            for name, array in self.arrays.items():
                bigger[name][: self.pos] = array[: self.pos]
            self.arrays = bigger

    def _clear_ready(self) -> None:
        self.ready_rows = self.ready_envs = np.zeros(0, dtype=np.int64)
        self.n_ready_steps = 0
        self.n_ready_episodes = 0
        self.values = self.returns = self.advantages = self.log_probs = np.zeros(0, dtype=np.float32)
        self.trained_advantages = np.zeros(0, dtype=np.float32)
        self.actions = np.zeros((0, self.action_dim), dtype=np.float32)

    # --- the rollout ---

    def reset(self) -> None:
        """Start a rollout, or resume one that was interrupted; untrained steps are kept."""
        self._clear_ready()
        # What compute_returns_and_advantage changed, until the update that trains its steps is done: see unready()
        self._before_ready: tuple[np.ndarray, int, int] | None = None
        self.generator_ready = False
        self.full = False

    @property
    def n_rollout_steps(self) -> int:
        """Steps per env collected in the current rollout (an interrupted one's included)."""
        return self.pos - self.rollout_start

    @property
    def n_carried_steps(self) -> int:
        """Steps held until their episode ends (after :meth:`compute_returns_and_advantage`), or all the untrained
        steps of an interrupted rollout."""
        return int((self.pos - self.first_untrained).sum())

    def clear_carry(self) -> None:
        """Forget every untrained step (the envs were reset, so their episodes can never end)."""
        self.pos = self.rollout_start = self.n_ended_episodes = 0
        self.first_untrained[:] = 0
        self._clear_ready()

    def add(
        self,
        obs: Any,
        action: np.ndarray,
        reward: np.ndarray,
        episode_start: np.ndarray,
        value: th.Tensor | np.ndarray | None,
        log_prob: th.Tensor | np.ndarray,
        *,
        episode_end: np.ndarray | None = None,
        terminal_values: np.ndarray | None = None,
    ) -> None:
        """
        Store one vectorised step.

        :param obs: Observations the actions were taken in, one per env
        :param action: Actions taken
        :param reward: Rewards received
        :param episode_start: True where ``obs`` is the first observation of an episode
        :param value: Baseline values ``V(obs)``, or None (no baseline, or :meth:`compute_values` at the end)
        :param log_prob: Log-probabilities of the actions
        :param episode_end: True where the step ended its episode (the env's ``dones``)
        :param terminal_values: ``V(terminal_observation)`` where an episode was truncated by a time limit at
            this step (zero elsewhere and without a baseline)
        """
        if episode_end is None:
            raise TypeError(_FILLED_BY_OTHER_ALGORITHM.format(buffer=type(self).__name__))
        if self.pos == self.capacity:
            self._make_room()
        row, arrays = self.pos, self.arrays
        episode_start = np.asarray(episode_start, dtype=bool)
        if row > 0 and episode_start.any():
            # An env whose untrained steps end in an unfinished episode was reset: drop those steps
            reset = episode_start & (self.first_untrained < row) & ~arrays["episode_ends"][row - 1]
            self.first_untrained[reset] = row
        self._write_observations(row, obs)
        arrays["actions"][row] = action.reshape(self.n_envs, self.action_dim)
        arrays["rewards"][row] = reward
        arrays["episode_ends"][row] = episode_end
        arrays["values"][row] = 0.0 if value is None else _as_float32_row(value)
        arrays["log_probs"][row] = _as_float32_row(log_prob)
        arrays["terminal_values"][row] = 0.0 if terminal_values is None else terminal_values
        self.n_ended_episodes += int(np.count_nonzero(episode_end))
        self.pos += 1

    def compute_values(self, predict_values: Callable[[PyTorchObs], th.Tensor], batch_size: int | None = None) -> None:
        """
        Fill in ``V(s_t)`` for every step of the current rollout with batched forward passes: the weights do not
        change during a rollout, so these are the values a per-step forward would have given.

        :param predict_values: The policy's ``predict_values``
        :param batch_size: Observations per forward pass (None: all at once)
        """
        rows, envs = (index.ravel() for index in np.mgrid[self.rollout_start : self.pos, 0 : self.n_envs])
        batch_size = batch_size or max(len(rows), 1)
        values = self.arrays["values"]
        with th.no_grad():
            for start in range(0, len(rows), batch_size):
                batch = slice(start, start + batch_size)
                values[rows[batch], envs[batch]] = _as_float32_row(
                    predict_values(self._observation_samples(rows[batch], envs[batch]))
                )

    def compute_returns_and_advantage(self, last_values: th.Tensor | None, dones: np.ndarray) -> None:
        """
        Compute the returns and advantages of every step whose return is known; the others stay for later.

        :param last_values: ``V(s_T)`` of the observations after the last step (None without a baseline)
        :param dones: whether the last step of each env ended its episode (as given to :meth:`add`)
        """
        if self.n_rollout_steps == 0:
            raise RuntimeError("compute_returns_and_advantage() called on an empty rollout")
        last = np.zeros(self.n_envs) if last_values is None else last_values.detach().cpu().numpy().flatten()
        self._before_ready = (self.first_untrained.copy(), self.rollout_start, self.n_ended_episodes)
        arrays = self.arrays
        ready_rows: list[np.ndarray] = []
        ready_envs: list[np.ndarray] = []
        ready_groups: list[np.ndarray] = []
        self.n_ready_episodes = 0
        for env in range(self.n_envs):
            rows = np.arange(self.first_untrained[env], self.pos)
            episode_ends = arrays["episode_ends"][rows, env]
            rewards = arrays["rewards"][rows, env]
            if self.bootstrap_incomplete:
                n_ready = len(rows)
            elif self.ready_at == "point":
                n_ready = n_complete_steps(episode_ends | point_ends(rewards))
            else:
                n_ready = n_complete_steps(episode_ends)
            if n_ready == 0:
                continue
            rows, episode_ends, rewards = rows[:n_ready], episode_ends[:n_ready], rewards[:n_ready]
            values = arrays["values"][rows, env]
            bootstrap = arrays["terminal_values"][rows, env].astype(np.float64)
            if not episode_ends[-1]:  # cut at the end of the rollout: bootstrap with V(s_T)
                bootstrap[-1] = last[env]
            ends = episode_ends.copy()
            if self.reset_on_reward:
                scored = point_ends(rewards)
                ends |= scored
                bootstrap[scored] = 0.0
            advantages = gae_advantages(
                rewards[:, None], values[:, None], ends[:, None], self.gamma, self.gae_lambda, bootstrap[:, None]
            )
            arrays["advantages"][rows, env] = advantages[:, 0]
            ready_rows.append(rows)
            ready_envs.append(np.full(n_ready, env))
            ready_groups.append(episode_ids(episode_ends) + sum(map(len, ready_groups)))  # distinct labels across envs
            self.n_ready_episodes += int(episode_ends.sum())
            self.first_untrained[env] += n_ready
        self.rollout_start = self.pos
        self.n_ended_episodes = 0
        if ready_rows:
            self._finalize(np.concatenate(ready_rows), np.concatenate(ready_envs), np.concatenate(ready_groups))

    def unready(self) -> None:
        """
        Take back the last :meth:`compute_returns_and_advantage`: the update that was to train its steps failed or
        was interrupted (a Ctrl-C, a callback that raised, a non-finite loss), so its steps are held again, as a
        rollout that is collected but not computed, and the next ``learn`` computes and trains them.
        """
        if self._before_ready is None:
            return
        first_untrained, self.rollout_start, self.n_ended_episodes = self._before_ready
        self.first_untrained[:] = first_untrained
        self._before_ready = None
        self._clear_ready()
        self.generator_ready = False

    def _finalize(self, rows: np.ndarray, envs: np.ndarray, groups: np.ndarray) -> None:
        """The ready steps, env-major as SB3 orders them, and their per-step arrays as ``get()`` serves them."""
        self.ready_rows, self.ready_envs, self.n_ready_steps = rows, envs, len(rows)
        arrays = self.arrays
        advantages = arrays["advantages"][rows, envs]
        self.values = arrays["values"][rows, envs]
        self.returns = (advantages + self.values).astype(np.float32)
        # as SB3's buffers: the advantages as computed; the update gets them standardised (PPO does it in train())
        self.advantages = advantages.astype(np.float32)
        self.trained_advantages = normalize_advantages(advantages, groups, self.normalize_advantage).astype(np.float32)
        self.actions = arrays["actions"][rows, envs]
        self.log_probs = arrays["log_probs"][rows, envs]

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
        per_step = (self.actions, self.values, self.log_probs, self.trained_advantages, self.returns)
        tensors = tuple(th.as_tensor(array[batch_inds], device=self.device) for array in per_step)
        observations = self._observation_samples(self.ready_rows[batch_inds], self.ready_envs[batch_inds])
        return self._samples_type(observations, *tensors)  # type: ignore[arg-type]


class DictEpisodicRolloutBuffer(EpisodicRolloutBuffer):
    """
    :class:`EpisodicRolloutBuffer` for ``Dict`` observation spaces (as SB3's ``DictRolloutBuffer``): each key's
    observations are stored as an array of their own. Same parameters.
    """

    obs_shape: dict[str, tuple[int, ...]]  # type: ignore[assignment]
    observation_space: spaces.Dict
    _samples_type = DictRolloutBufferSamples

    def _check_observation_space(self, observation_space: spaces.Space) -> None:
        if not isinstance(observation_space, spaces.Dict):
            raise ValueError(f"DictEpisodicRolloutBuffer needs a Dict observation space, got {observation_space}")

    def _observation_arrays(self, n_rows: int) -> dict[str, np.ndarray]:
        return {
            f"observations/{key}": np.zeros((n_rows, self.n_envs, *shape), dtype=self.observation_space[key].dtype)
            for key, shape in self.obs_shape.items()
        }

    def _write_observations(self, row: int, obs: Any) -> None:
        for key, shape in self.obs_shape.items():
            self.arrays[f"observations/{key}"][row] = np.reshape(obs[key], (self.n_envs, *shape))

    def _observation_samples(self, rows: np.ndarray, envs: np.ndarray) -> dict[str, th.Tensor]:
        return {
            key: th.as_tensor(self.arrays[f"observations/{key}"][rows, envs], device=self.device) for key in self.obs_shape
        }
