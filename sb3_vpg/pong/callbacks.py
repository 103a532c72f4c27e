"""The callbacks of a Pong run: its episode log, the progress line and the checkpoint every N updates, and the
stops (a budget of updates, a signal)."""

import csv
import io
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from sb3_vpg.common.files import (
    append_lines,
    write_text_whole,
)
from sb3_vpg.pong.run_folder import (
    CSV_FIELDS,
    EPISODES_FILE,
    RunState,
    write_checkpoint,
)
from sb3_vpg.pong.scores import running_reward


class EpisodeLog(BaseCallback):
    """
    Appends each finished episode to ``<out>/episodes.csv`` (with its header where the file is new) and keeps the
    run's counters in ``state`` up to date: episodes, Karpathy's running reward and the run's wall seconds (those
    recorded before this session plus this session's, by ``clock``). Works with any SB3 algorithm whose env has a
    ``Monitor``/``VecMonitor``.

    :param out: The run folder
    :param state: The run's state, updated in place (default: a new run's)
    :param clock: Seconds since any fixed point (``time.monotonic``; a test may give a clock of its own)
    """

    def __init__(self, out: Path, state: RunState | None = None, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.out, self.clock = out, clock
        self.state = RunState() if state is None else state
        self.wall_at_start = self.state.wall_seconds
        self.session_start = clock()
        if not (out / EPISODES_FILE).exists():
            write_text_whole(out / EPISODES_FILE, ",".join(CSV_FIELDS) + "\n")

    def wall_seconds(self) -> float:
        return self.wall_at_start + self.clock() - self.session_start

    def _on_step(self) -> bool:
        state = self.state
        rows = []
        for info in self.locals["infos"]:
            if "episode" in info:
                score = float(info["episode"]["r"])
                state.running_reward = running_reward(state.running_reward, score)
                state.episodes += 1
                state.wall_seconds = self.wall_seconds()
                rows.append((state.episodes, self.num_timesteps, round(state.wall_seconds, 1), score,
                             round(state.running_reward, 4)))  # fmt: skip
        if rows:
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerows(rows)
            append_lines(self.out / EPISODES_FILE, text.getvalue())
        return True


class EveryNUpdates(BaseCallback):
    """
    Calls :meth:`on_updates` once ``every`` updates have been made since the last call (or the start of training),
    at the start of the next rollout: after the update, with the model the next rollout uses.

    :param every: Updates between calls
    """

    def __init__(self, every: int):
        super().__init__()
        self.every = every
        self.updates_at_last = 0

    def _on_training_start(self) -> None:
        self.updates_at_last = self.model._n_updates

    def _on_step(self) -> bool:
        return True

    def _on_rollout_start(self) -> None:
        if self.model._n_updates - self.updates_at_last >= self.every:
            self.on_updates()

    def on_updates(self) -> None:
        self.updates_at_last = self.model._n_updates


class ProgressPrinter(EveryNUpdates):
    """
    Prints a progress line (update, episodes, steps, running reward, steps per second, the run's wall time) every
    ``print_every`` updates, after the update.

    :param episode_log: The run's :class:`EpisodeLog` (its counters and clock)
    :param print_every: Updates between lines
    """

    def __init__(self, episode_log: EpisodeLog, print_every: int = 1):
        super().__init__(print_every)
        self.episode_log = episode_log
        self.steps_at_print = 0
        self.time_at_print = episode_log.clock()

    def _on_training_start(self) -> None:
        super()._on_training_start()
        self.steps_at_print = self.model.num_timesteps

    def on_updates(self) -> None:
        self.print_progress()

    def print_progress(self) -> None:
        now = self.episode_log.clock()
        steps_per_second = (self.model.num_timesteps - self.steps_at_print) / max(now - self.time_at_print, 1e-9)
        reward = self.episode_log.state.running_reward
        elapsed = int(self.episode_log.wall_seconds())
        print(
            f"update {self.model._n_updates:,} | episodes {self.episode_log.state.episodes:,} | steps "
            f"{self.model.num_timesteps:,} | running reward {'-' if reward is None else f'{reward:.2f}'} | "
            f"{steps_per_second:,.0f} steps/s | elapsed {elapsed // 3600}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}",
            flush=True,
        )
        super().on_updates()
        self.steps_at_print, self.time_at_print = self.model.num_timesteps, now


class Checkpointer(EveryNUpdates):
    """
    Writes the run's checkpoint (:func:`~sb3_vpg.pong.run_folder.write_checkpoint`) every ``checkpoint_every``
    updates, after the update (so that it holds the model the next rollout uses), and when :meth:`save` is called.

    :param out: The run folder
    :param episode_log: The run's :class:`EpisodeLog` (the state written beside the model)
    :param checkpoint_every: Updates between checkpoints
    """

    def __init__(self, out: Path, episode_log: EpisodeLog, checkpoint_every: int):
        super().__init__(checkpoint_every)
        self.out, self.episode_log = out, episode_log

    def on_updates(self) -> None:
        self.save()

    def save(self) -> None:
        super().on_updates()
        self.episode_log.state.wall_seconds = self.episode_log.wall_seconds()
        write_checkpoint(self.out, self.model, self.episode_log.state)  # type: ignore[arg-type]


class StopTrainingOnUpdates(BaseCallback):
    """Stops training at the first step after ``max_updates`` updates of this ``learn`` call (None: never)."""

    def __init__(self, max_updates: int | None):
        super().__init__()
        self.max_updates, self.updates_at_start = max_updates, 0

    def _on_training_start(self) -> None:
        self.updates_at_start = self.model._n_updates

    def _on_step(self) -> bool:
        return self.max_updates is None or self.model._n_updates - self.updates_at_start < self.max_updates


class StopTrainingOnRequest(BaseCallback):
    """Stops training at the next step once :meth:`request_stop` was called (by a signal handler)."""

    def __init__(self) -> None:
        super().__init__()
        self.stop_requested = False

    def request_stop(self, *_: Any) -> None:
        self.stop_requested = True

    def _on_step(self) -> bool:
        return not self.stop_requested


@contextmanager
def stop_on_signals(stop: StopTrainingOnRequest) -> Iterator[None]:
    """
    SIGTERM (``kill <pid>``) and a first Ctrl-C (SIGINT) stop the run at its next step, with a final checkpoint; a
    second Ctrl-C aborts at once (``KeyboardInterrupt``; the last complete checkpoint stands).
    """

    def on_interrupt(*_: Any) -> None:
        if stop.stop_requested:
            raise KeyboardInterrupt
        print("stopping at the next step with a final checkpoint (Ctrl-C again to abort)", flush=True)
        stop.request_stop()

    previous = signal.signal(signal.SIGTERM, stop.request_stop), signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
