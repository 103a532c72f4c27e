"""Callbacks that SB3 does not ship."""

import os
import time
from collections.abc import Callable

from stable_baselines3.common.callbacks import BaseCallback


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


class RolloutReturnLog(BaseCallback):
    """
    Append one CSV row per rollout to ``path``: the total timesteps at its end, how many episodes ended during it
    and their mean return (the training batch's return, as Spinning Up logs it each epoch). Returns are read from
    the ``episode`` entry that SB3's ``Monitor``/``VecMonitor`` put in ``infos``, so they are the env's own rewards
    even under ``VecNormalize``. A ``learn`` that stops inside a rollout (a step budget, a callback) writes the
    steps it took as a row of their own. Works with any on-policy SB3 algorithm and from rl_zoo3
    (``-params "callback:[{'sb3_vpg.common.callbacks.RolloutReturnLog': {'path': 'returns.csv'}}]"``).

    :param path: The CSV file; created with its header if missing, appended to otherwise.
    :param timestep_offset: Added to the model's ``num_timesteps`` in each row: the steps a resumed run had done
        before this ``learn`` (rl_zoo3 continues a trained agent with its step counter reset to 0).
    """

    FIELDS = ("timesteps", "episodes", "mean_return")

    def __init__(self, path: str, timestep_offset: int = 0):
        super().__init__()
        if timestep_offset < 0:
            raise ValueError(f"timestep_offset must be a number of steps >= 0, got {timestep_offset!r}")
        self.path = path
        self.timestep_offset = int(timestep_offset)
        self.returns: list[float] = []  # of the episodes that ended since the last row
        self.written_at: int | None = None  # num_timesteps of the last row

    def _on_training_start(self) -> None:
        if not os.path.exists(self.path):
            with open(self.path, "w") as file:
                file.write(",".join(self.FIELDS) + "\n")
        self.written_at = self.num_timesteps

    def _on_step(self) -> bool:
        self.returns += [float(info["episode"]["r"]) for info in self.locals["infos"] if "episode" in info]
        return True

    def _on_rollout_end(self) -> None:
        self._write_row()

    def _on_training_end(self) -> None:
        if self.num_timesteps != self.written_at:  # stopped inside a rollout
            self._write_row()

    def _write_row(self) -> None:
        mean = f"{sum(self.returns) / len(self.returns):.6g}" if self.returns else ""
        with open(self.path, "a") as file:
            file.write(f"{self.timestep_offset + self.num_timesteps},{len(self.returns)},{mean}\n")
        self.returns, self.written_at = [], self.num_timesteps
