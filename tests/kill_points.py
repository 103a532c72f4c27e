"""
Run ``python -m sb3_vpg.pong`` and kill it (SIGKILL) at its N-th write point in a folder, as SQLite's crash tests do:

    python tests/kill_points.py FOLDER N -- train --out FOLDER ...

The write points in FOLDER, counted in the order the process reaches them: opening a file for writing, each append
to a file opened for appending (killed halfway through it: a torn line), the first write to a file opened for
writing (killed halfway: a torn file), a rename and a deletion (killed just before). With N = 0 nothing is killed and
the number of write points reached is printed last, as ``write points: <n>``.
"""

import builtins
import io
import os
import signal
import sys
from pathlib import Path
from typing import Any

FOLDER = Path(os.path.abspath(sys.argv[1]))
KILL_AT = int(sys.argv[2])
reached = 0


def _in_folder(path: Any) -> bool:
    try:
        return Path(os.path.abspath(os.fsdecode(path))).parent == FOLDER
    except TypeError:  # a file descriptor
        return False


def _write_point() -> bool:
    """Count a write point; whether the process is to die at it."""
    global reached
    reached += 1
    return reached == KILL_AT


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _WatchedFileIO(io.FileIO):
    """A file opened for writing in the folder: each append and its first write are write points (at the
    level of the operating system's writes, under Python's buffers)."""

    _written = False

    def write(self, data: Any) -> int:
        appending = "a" in self.mode
        if appending or not self._written:
            self._written = True
            if _write_point():
                super().write(bytes(data)[: len(data) // 2])
                os.fsync(self.fileno())
                _die()
        return super().write(data)


_open = io.open


def _watched_open(file: Any, mode: str = "r", buffering: int = -1, encoding: Any = None, errors: Any = None,
                  newline: Any = None, closefd: bool = True, opener: Any = None) -> Any:  # fmt: skip
    if not _in_folder(file) or not any(flag in mode for flag in "wax+"):
        return _open(file, mode, buffering, encoding, errors, newline, closefd, opener)
    if _write_point():
        _die()
    raw = _WatchedFileIO(file, "".join(flag for flag in mode if flag in "rwax+"), closefd, opener=opener)
    buffered = (io.BufferedRandom if "+" in mode else io.BufferedWriter)(raw)
    return buffered if "b" in mode else io.TextIOWrapper(buffered, encoding, errors, newline)


def _killed_before(function: Any) -> Any:
    def watched(path: Any, *args: Any, **kwargs: Any) -> Any:
        if _in_folder(path) and _write_point():
            _die()
        return function(path, *args, **kwargs)

    return watched


builtins.open = io.open = _watched_open  # type: ignore[assignment]
os.replace, os.rename, os.unlink, os.remove = map(_killed_before, (os.replace, os.rename, os.unlink, os.remove))

if __name__ == "__main__":
    from sb3_vpg.pong import cli

    try:
        cli.main(sys.argv[sys.argv.index("--") + 1 :])
    finally:
        print(f"write points: {reached}", flush=True)
