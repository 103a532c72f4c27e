"""Callbacks that SB3 does not ship."""

import os
import time
from collections.abc import Callable

from stable_baselines3.common.callbacks import BaseCallback

from sb3_vpg.common.files import append_lines, write_text_whole


class StopTrainingOnWallClock(BaseCallback):
    """
    Stop training once ``max_seconds`` of wall-clock time have passed since training started, so that several
    algorithms can be compared for the same time budget. Works with any SB3 algorithm and from rl_zoo3
    (``-params "callback:[{'sb3_vpg.common.callbacks.StopTrainingOnWallClock': {'max_seconds': 600}}]"``).

    :param max_seconds: Wall-clock budget in seconds, counted from the start of ``learn()``.
    :param verbose: Verbosity level: 0 for no output, 1 to print when training stops.
    :param clock: Seconds since any fixed point (``time.perf_counter``; a test may give a clock of its own)
    """

    def __init__(self, max_seconds: float, verbose: int = 0, clock: Callable[[], float] = time.perf_counter):
        super().__init__(verbose=verbose)
        if not max_seconds >= 0:
            raise ValueError(f"max_seconds must be a number of seconds >= 0, got {max_seconds!r}")
        self.max_seconds = float(max_seconds)
        self.clock = clock
        self.start_time = 0.0

    def _on_training_start(self) -> None:
        self.start_time = self.clock()

    def _on_step(self) -> bool:
        elapsed = self.clock() - self.start_time
        if elapsed >= self.max_seconds:
            if self.verbose >= 1:
                print(f"Stopping training: {elapsed:.0f} s of wall clock used (budget {self.max_seconds:.0f} s)")
            return False
        return True


class RolloutCsvLog(BaseCallback):
    """
    Append one CSV row per rollout to ``path``, summarising the episodes that ended during it: the total timesteps
    at its end, how many episodes ended and the columns of :meth:`_summary`. Episodes are read from the
    ``episode`` entry that SB3's ``Monitor``/``VecMonitor`` put in ``infos``, so they are the env's own even under
    ``VecNormalize``. A ``learn`` that stops inside a rollout (a step budget, a callback) writes the steps it took
    as a row of their own.

    :param path: The CSV file; created with its header if missing, appended to otherwise.
    :param timestep_offset: Added to the model's ``num_timesteps`` in each row: the steps a resumed run had done
        before this ``learn`` (rl_zoo3 continues a trained agent with its step counter reset to 0).
    """

    FIELDS: tuple[str, ...] = ("timesteps", "episodes")

    def __init__(self, path: str, timestep_offset: int = 0):
        super().__init__()
        if timestep_offset < 0:
            raise ValueError(f"timestep_offset must be a number of steps >= 0, got {timestep_offset!r}")
        self.path = path
        self.timestep_offset = int(timestep_offset)
        self.episodes: list[dict[str, float]] = []  # of the episodes that ended since the last row
        self.written_at: int | None = None  # num_timesteps of the last row

    def _on_training_start(self) -> None:
        if not os.path.exists(self.path):
            write_text_whole(self.path, ",".join(self.FIELDS) + "\n")
        self.written_at = self.num_timesteps

    def _on_step(self) -> bool:
        self.episodes += [self._episode(index, info) for index, info in enumerate(self.locals["infos"]) if "episode" in info]
        return True

    def _episode(self, env_index: int, info: dict) -> dict[str, float]:
        """What a row needs of an episode that ended in env ``env_index`` with the final ``info``."""
        return {"r": float(info["episode"]["r"]), "l": float(info["episode"]["l"])}

    def _summary(self, episodes: list[dict[str, float]]) -> list[str]:
        """The row's columns after ``episodes`` (empty strings where no episode ended)."""
        raise NotImplementedError

    def _on_rollout_end(self) -> None:
        self._write_row()

    def _on_training_end(self) -> None:
        if self.num_timesteps != self.written_at:  # stopped inside a rollout
            self._write_row()

    def _write_row(self) -> None:
        cells = [str(self.timestep_offset + self.num_timesteps), str(len(self.episodes)), *self._summary(self.episodes)]
        append_lines(self.path, ",".join(cells) + "\n")
        self.episodes, self.written_at = [], self.num_timesteps


def _mean_cell(values: list[float]) -> str:
    return f"{sum(values) / len(values):.6g}" if values else ""


class RolloutReturnLog(RolloutCsvLog):
    """
    A :class:`RolloutCsvLog` of the episodes' mean return (the training batch's return, as Spinning Up logs it
    each epoch). Works with any on-policy SB3 algorithm and from rl_zoo3
    (``-params "callback:[{'sb3_vpg.common.callbacks.RolloutReturnLog': {'path': 'returns.csv'}}]"``).

    :param path: The CSV file; created with its header if missing, appended to otherwise.
    :param timestep_offset: As :class:`RolloutCsvLog`'s.
    """

    FIELDS = ("timesteps", "episodes", "mean_return")

    def _summary(self, episodes: list[dict[str, float]]) -> list[str]:
        return [_mean_cell([episode["r"] for episode in episodes])]


class RolloutMotionLog(RolloutCsvLog):
    """
    A :class:`RolloutCsvLog` of how the episodes moved: their mean length and their mean forward speed, each
    episode's speed the mean of ``info[speed_key]`` over its steps (MuJoCo's locomotion envs report
    ``x_velocity``). A locomotion score that a policy standing still reaches (Hopper's and Walker2d's healthy
    reward) shows here as a long episode at speed ~0.

    :param path: The CSV file; created with its header if missing, appended to otherwise.
    :param timestep_offset: As :class:`RolloutCsvLog`'s.
    :param speed_key: The ``info`` entry with the forward speed of a step; an env without it leaves the column empty.
    """

    FIELDS = ("timesteps", "episodes", "mean_length", "mean_speed")

    def __init__(self, path: str, timestep_offset: int = 0, speed_key: str = "x_velocity"):
        super().__init__(path, timestep_offset)
        self.speed_key = speed_key
        self.speed_sums: list[float] = []
        self.speed_steps: list[int] = []

    def _on_step(self) -> bool:
        infos = self.locals["infos"]
        if len(self.speed_sums) != len(infos):
            self.speed_sums, self.speed_steps = [0.0] * len(infos), [0] * len(infos)
        for index, info in enumerate(infos):
            if self.speed_key in info:
                self.speed_sums[index] += float(info[self.speed_key])
                self.speed_steps[index] += 1
        super()._on_step()
        for index, info in enumerate(infos):
            if "episode" in info:
                self.speed_sums[index], self.speed_steps[index] = 0.0, 0
        return True

    def _episode(self, env_index: int, info: dict) -> dict[str, float]:
        episode = super()._episode(env_index, info)
        if self.speed_steps[env_index]:
            episode["speed"] = self.speed_sums[env_index] / self.speed_steps[env_index]
        return episode

    def _summary(self, episodes: list[dict[str, float]]) -> list[str]:
        speeds = [episode["speed"] for episode in episodes if "speed" in episode]
        return [_mean_cell([episode["l"] for episode in episodes]), _mean_cell(speeds) if len(speeds) == len(episodes) else ""]
