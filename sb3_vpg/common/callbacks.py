"""Callbacks that SB3 does not ship."""

import time

from stable_baselines3.common.callbacks import BaseCallback


class StopTrainingOnWallClock(BaseCallback):
    """
    Stop training once ``max_seconds`` of wall-clock time have passed since training started, so that several
    algorithms can be compared for the same time budget. Works with any SB3 algorithm and from rl_zoo3
    (``-params "callback:[{'sb3_vpg.common.callbacks.StopTrainingOnWallClock': {'max_seconds': 600}}]"``).

    :param max_seconds: Wall-clock budget in seconds, counted from the start of ``learn()``.
    :param verbose: Verbosity level: 0 for no output, 1 to print when training stops.
    """

    def __init__(self, max_seconds: float, verbose: int = 0):
        super().__init__(verbose=verbose)
        if not max_seconds >= 0:
            raise ValueError(f"max_seconds must be a number of seconds >= 0, got {max_seconds!r}")
        self.max_seconds = float(max_seconds)
        self.start_time = 0.0

    def _on_training_start(self) -> None:
        self.start_time = time.perf_counter()

    def _on_step(self) -> bool:
        elapsed = time.perf_counter() - self.start_time
        if elapsed >= self.max_seconds:
            if self.verbose >= 1:
                print(f"Stopping training: {elapsed:.0f} s of wall clock used (budget {self.max_seconds:.0f} s)")
            return False
        return True
