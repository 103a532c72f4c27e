"""
A model-based test of the algorithm core: hypothesis drives REINFORCE and VPG through what an unlucky user does
(``learn`` in chunks, a callback that stops or raises at step j as a Ctrl-C does, a Ctrl-C once the returns are
computed or inside an optimizer's step, an env that raises or returns a non-finite reward at step j, save and load,
``set_env``, ``predict``) on 1-3 envs of random episode lengths, and after
every rule checks what was trained against the envs' own record of every step:

* every return REINFORCE trained on equals the brute-force return of an unbroken, whole episode;
* no env step is trained twice;
* every step is trained, still held for training, or reported as dropped (a ``DroppedStepsWarning``, or the
  exception that stopped it), never lost silently.

CI runs it derandomised with a bounded number of examples; ``STATE_MACHINE_EXAMPLES=1000`` runs a longer profile.
"""

import contextlib
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_vpg import REINFORCE, VPG, DroppedStepsWarning, NonFiniteError

GAMMA = 0.5  # powers of two: the returns are exact in float32 as well as in the oracle's float64


class EnvFault(RuntimeError):
    """What a faulty env raises."""


class Interrupt(Exception):
    """What a callback raises, as a Ctrl-C would."""


@dataclass
class Record:
    """Every step the envs took, by serial number: (env, episode, reward), and each episode's steps and end."""

    steps: dict[int, tuple[int, int, float]] = field(default_factory=dict)
    episodes: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    ended: set[tuple[int, int]] = field(default_factory=set)
    faults: dict[str, int | None] = field(default_factory=lambda: {"raise_at": None, "nan_at": None})
    next_serial: int = 1

    def oracle_return(self, serial: int) -> float | None:
        """The discounted return from step ``serial`` to the end of its episode; None where the episode did not end
        (it was cut by a reset)."""
        env, episode, _ = self.steps[serial]
        if (env, episode) not in self.ended:
            return None
        later = self.episodes[(env, episode)]
        later = later[later.index(serial) :]
        return sum(GAMMA**k * self.steps[s][2] for k, s in enumerate(later))


class SerialEnv(gym.Env):
    """Episodes of 1-6 steps (drawn from the env's own seed); the observation names the step (its serial number,
    the row of :class:`Record`) and the reward is a small integer of it. Raises, or returns NaN, at the serial
    ``record.faults`` names."""

    observation_space = spaces.Box(-1e9, 1e9, (2,), np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self, index: int, record: Record, seed: int):
        self.index, self.record = index, record
        self.lengths = np.random.default_rng(seed)
        self.episode = 0
        self.serial = 0
        self.length = self.t = 0

    def _observe(self) -> np.ndarray:
        return np.array([self.index, self.serial], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        self.episode += 1
        self.length, self.t = int(self.lengths.integers(1, 7)), 0
        self.serial = self._take_serial()
        return self._observe(), {}

    def _take_serial(self) -> int:
        serial = self.record.next_serial
        self.record.next_serial += 1
        return serial

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        record = self.record
        if record.faults["raise_at"] == self.serial:
            record.faults["raise_at"] = None
            raise EnvFault(f"env {self.index} fails at step {self.serial}")
        reward = float((self.serial * 7) % 5 - 2)
        if record.faults["nan_at"] == self.serial:
            record.faults["nan_at"] = None
            reward = float("nan")
        key = (self.index, self.episode)
        record.steps[self.serial] = (self.index, self.episode, reward)
        record.episodes.setdefault(key, []).append(self.serial)
        self.t += 1
        terminated = self.t == self.length
        if terminated:
            record.ended.add(key)
        self.serial = self._take_serial()  # the next observation's step
        return self._observe(), reward, terminated, False, {}


class TrainedSteps(BaseCallback):
    """Reads, at the end of each rollout, the steps the update is about to train and their returns; they count as
    trained once the update is done (the model's update count has moved on), at the next rollout or the end of
    ``learn``."""

    def __init__(self, machine: "LearningSessions"):
        super().__init__()
        self.machine = machine
        self.about_to_train: tuple[np.ndarray, np.ndarray, int] | None = None

    def _on_step(self) -> bool:
        return True

    def _on_rollout_start(self) -> None:
        self.confirm()

    def _on_rollout_end(self) -> None:
        buffer = self.model.rollout_buffer
        n = buffer.n_ready_steps
        observations = buffer._observation_samples(buffer.ready_rows[:n], buffer.ready_envs[:n])
        serials = observations[:, 1].cpu().numpy().astype(np.int64)
        returns = np.asarray(buffer.returns[:n], dtype=np.float64)
        self.about_to_train = (serials, returns, self.model._n_updates) if n else None
        self.machine.weights_before_update = [p.detach().clone() for p in self.model.policy.parameters()]

    def confirm(self) -> None:
        if self.about_to_train is not None and self.model._n_updates > self.about_to_train[2]:
            self.machine.trained_now(*self.about_to_train[:2])
        self.about_to_train = None


class RaiseAtRolloutEnd(BaseCallback):
    """Raises :class:`Interrupt` at the end of the ``at``-th rollout of this learn call, once its returns are
    computed, as a Ctrl-C in a callback's ``on_rollout_end`` would."""

    def __init__(self, at: int):
        super().__init__()
        self.at, self.rollouts = at, 0

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.rollouts += 1
        if self.rollouts == self.at:
            raise Interrupt


class StopOrRaiseAt(BaseCallback):
    """Returns False, or raises :class:`Interrupt`, at the ``at``-th step of this learn call."""

    def __init__(self, at: int, action: str):
        super().__init__()
        self.at, self.action, self.calls = at, action, 0

    def _on_step(self) -> bool:
        self.calls += 1
        if self.calls == self.at:
            if self.action == "raise":
                raise Interrupt
            return False
        return True


class LearningSessions(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.record = Record()
        self.trained: set[int] = set()
        self.reported = 0  # steps reported as dropped (by a warning or the exception that stopped them)
        self.pending = 0  # steps a saved file did not keep, reported by the next learn

    @initialize(
        algo=st.sampled_from(["REINFORCE", "REINFORCE+baseline", "VPG"]),
        n_envs=st.integers(1, 3),
        batching=st.sampled_from(["n_steps", "n_episodes"]),
        size=st.integers(1, 8),
        normalize=st.sampled_from(["none", "batch", "episode"]),
        seed=st.integers(0, 2**16),
        bootstrap=st.sampled_from([None, False]),
    )
    def build(self, algo: str, n_envs: int, batching: str, size: int, normalize: Any, seed: int, bootstrap: Any) -> None:
        self.algo, self.n_envs, self.seed = algo, n_envs, seed
        self.kwargs: dict[str, Any] = dict(gamma=GAMMA, seed=seed, normalize_advantage=normalize)
        self.kwargs["n_steps" if batching == "n_steps" else "n_episodes"] = size
        if algo == "REINFORCE+baseline":
            # by default it bootstraps the episodes a rollout of n_steps cuts, as VPG
            self.kwargs.update(use_baseline=True, bootstrap_incomplete=bootstrap)
        if algo == "VPG":
            self.kwargs["gae_lambda"] = 1.0  # VPG's returns bootstrap where a rollout cuts an episode
        self.cls = VPG if algo == "VPG" else REINFORCE
        self.model = self.cls("MlpPolicy", self.make_env(), **self.kwargs)

    def make_env(self) -> DummyVecEnv:
        self.env_seed = getattr(self, "env_seed", self.seed) + 10
        return DummyVecEnv([lambda i=i: SerialEnv(i, self.record, self.env_seed + i) for i in range(self.n_envs)])

    # --- what the machine sees trained -------------------------------------------------------------------------

    def trained_now(self, serials: np.ndarray, returns: np.ndarray) -> None:
        assert len(set(serials.tolist())) == len(serials), "a step trained twice in one update"
        twice = self.trained.intersection(serials.tolist())
        assert not twice, f"steps trained again: {sorted(twice)[:5]}"
        self.trained.update(serials.tolist())
        if self.model.bootstrap_incomplete:  # the returns are bootstrapped where a rollout cut an episode
            return
        for serial, trained_return in zip(serials.tolist(), returns.tolist(), strict=True):
            expected = self.record.oracle_return(serial)
            assert expected is not None, f"step {serial} trained, but its episode was cut by a reset"
            assert trained_return == pytest.approx(expected, abs=1e-4), f"step {serial}: {trained_return} != {expected}"

    def learn(self, steps: int, reset: bool = False, callback: BaseCallback | None = None) -> None:
        trained_steps = TrainedSteps(self)
        callbacks = [trained_steps] + ([callback] if callback is not None else [])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                self.model.learn(steps, callback=callbacks, reset_num_timesteps=reset)
            finally:
                trained_steps.confirm()
                self.count_reported(caught)
                self.pending = 0

    def count_reported(self, caught: list) -> None:
        for warning in caught:
            if issubclass(warning.category, DroppedStepsWarning):
                self.reported += int(re.search(r"(\d+) untrained steps", str(warning.message)).group(1))  # type: ignore[union-attr]

    # --- rules ---------------------------------------------------------------------------------------------------

    @rule(steps=st.integers(1, 40))
    def learn_a_chunk(self, steps: int) -> None:
        self.learn(steps)

    @rule(steps=st.integers(1, 40))
    def learn_anew(self, steps: int) -> None:
        self.learn(steps, reset=True)

    @rule(steps=st.integers(2, 40), at=st.integers(1, 40), action=st.sampled_from(["stop", "raise"]))
    def a_callback_stops_or_raises(self, steps: int, at: int, action: str) -> None:
        with contextlib.suppress(Interrupt):  # the user's Ctrl-C, then learn(..., reset_num_timesteps=False)
            self.learn(steps, callback=StopOrRaiseAt(at, action))

    @rule(
        steps=st.integers(1, 40),
        at=st.integers(1, 3),
        where=st.sampled_from(["rollout_end", "policy_step", "value_step"]),
    )
    def an_update_is_interrupted(self, steps: int, at: int, where: str) -> None:
        """A Ctrl-C once the returns are computed: in a callback's on_rollout_end, or inside an optimizer's step
        after it changed the weights (the policy's, or the value optimizer's when there is one)."""
        self.weights_before_update = None
        callback = RaiseAtRolloutEnd(at) if where == "rollout_end" else None
        optimizer = self.model.policy.optimizer
        if where == "value_step" and self.model.value_optimizer is not None:
            optimizer = self.model.value_optimizer
        if callback is None:
            real_step, calls = optimizer.step, [0]

            def step_then_interrupt(*args: Any, **kwargs: Any) -> Any:
                calls[0] += 1
                result = real_step(*args, **kwargs)
                if calls[0] == at:
                    raise Interrupt  # the weights have changed: the update must be undone whole
                return result

            optimizer.step = step_then_interrupt  # type: ignore[method-assign]
        try:
            with contextlib.suppress(Interrupt):
                self.learn(steps, callback=callback)
                return
            # interrupted: the weights are those before the update
            assert self.weights_before_update is not None
            for parameter, before in zip(self.model.policy.parameters(), self.weights_before_update, strict=True):
                assert th.equal(parameter.detach(), before), "an interrupted update changed the weights"
        finally:
            if callback is None:
                del optimizer.step  # the optimizer's own method again

    @rule(ahead=st.integers(0, 12), fault=st.sampled_from(["raise_at", "nan_at"]))
    def an_env_fails(self, ahead: int, fault: str) -> None:
        self.record.faults[fault] = self.record.next_serial + ahead
        stepped_before = len(self.record.steps)
        try:
            self.learn(40)
        except (EnvFault, NonFiniteError):
            # the step of each env that stepped in the failed vector step is reported by the exception
            self.reported += len(self.record.steps) - stepped_before - self.stored_since(stepped_before)
        self.record.faults = {"raise_at": None, "nan_at": None}

    def stored_since(self, stepped_before: int) -> int:
        """Of the steps the envs took since the envs' record had ``stepped_before`` steps, those the model holds or
        trained (the others were taken in the failed vector step)."""
        new = list(self.record.steps)[stepped_before:]
        held = self.held_serials()
        return sum(serial in held or serial in self.trained for serial in new)

    def held_serials(self) -> set[int]:
        buffer = self.model.rollout_buffer
        serials = set()
        for env in range(buffer.n_envs):
            rows = np.arange(buffer.first_untrained[env], buffer.pos)
            if len(rows):
                observations = buffer._observation_samples(rows, np.full(len(rows), env))
                serials.update(observations[:, 1].cpu().numpy().astype(np.int64).tolist())
        return serials

    @rule()
    def save_and_load(self) -> None:
        path = f"/tmp/state-machine-{os.getpid()}.zip"
        self.model.save(path)
        self.pending += len(self.held_serials())
        self.model = self.cls.load(path, env=self.make_env())
        os.remove(path)

    @rule()
    def set_env(self) -> None:
        self.model.set_env(self.make_env())

    @precondition(lambda self: self.model._last_obs is not None)
    @rule()
    def predict(self) -> None:
        before = len(self.record.steps)
        self.model.predict(self.model._last_obs, deterministic=True)
        assert len(self.record.steps) == before  # predict takes no env step

    # --- the invariant ---------------------------------------------------------------------------------------------

    @invariant()
    def every_step_is_trained_held_or_reported(self) -> None:
        held = self.held_serials()
        assert not held & self.trained, "a step held for training was trained already"
        n_steps = len(self.record.steps)
        assert len(self.trained) + len(held) + self.reported + self.pending == n_steps, (
            f"{n_steps} env steps: {len(self.trained)} trained, {len(held)} held, {self.reported} reported dropped, "
            f"{self.pending} not in the saved file (reported by the next learn)"
        )


def sessions_settings(default_examples: int) -> settings:
    return settings(
        max_examples=int(os.environ.get("STATE_MACHINE_EXAMPLES", default_examples)),
        stateful_step_count=12,
        deadline=None,
        derandomize="STATE_MACHINE_EXAMPLES" not in os.environ,
    )


@pytest.mark.slow
class TestLearningSessions(LearningSessions.TestCase):  # type: ignore[name-defined]
    """The whole set's run: 40 derandomised sequences."""

    settings = sessions_settings(40)


class TestLearningSessionsQuick(LearningSessions.TestCase):  # type: ignore[name-defined]
    """The quick set's run: the first few sequences (the quick set keeps within minutes)."""

    settings = sessions_settings(8)
