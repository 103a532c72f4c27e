"""
Crash-consistent files: a file that is written whole goes to a temporary file beside it, flushed to disk and renamed
over the old one, so a kill at any moment leaves either the old file or the new one, never a torn one. Logs that
grow by appending read back without a torn last line (the row a kill interrupted).
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Temporary files are named .<stem>.<pid>.tmp<suffix>: hidden, one per writer, and with the file's own suffix so that
# writers that infer the format from it (SB3's save, Pillow, matplotlib) write the same format
TEMPORARY_MARK = ".tmp"


def temporary_path(path: Path) -> Path:
    """Where ``path``'s next version is written before it replaces ``path``."""
    return path.with_name(f".{path.stem}.{os.getpid()}{TEMPORARY_MARK}{path.suffix}")


def is_temporary(path: Path) -> bool:
    """Whether ``path`` is a temporary file of :func:`replaced_whole` (left behind by a kill)."""
    return path.name.startswith(".") and TEMPORARY_MARK in path.name


@contextmanager
def replaced_whole(path: str | os.PathLike) -> Iterator[Path]:
    """
    Yield the path to write ``path``'s new content to; when the block ends, flush it to disk and rename it over
    ``path``. Where the block raises, the temporary file is removed and ``path`` is untouched.

    :param path: The file to write
    """
    path = Path(path)
    temporary = temporary_path(path)
    try:
        yield temporary
        with open(temporary, "rb+") as file:
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _sync_folder(path.parent)


def write_text_whole(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through :func:`replaced_whole`."""
    with replaced_whole(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def append_lines(path: str | os.PathLike, lines: str) -> None:
    """
    Append ``lines`` (ending in a newline) to a log and flush them to disk. A kill during the append can leave a
    torn last line: :func:`whole_lines` reads the log without it.
    """
    with open(path, "a", encoding="utf-8") as file:
        file.write(lines)
        file.flush()
        os.fsync(file.fileno())


def whole_lines(text: str) -> str:
    """``text`` of an appended log up to its last newline: without the line a kill tore."""
    return text[: text.rfind("\n") + 1]


def _sync_folder(folder: Path) -> None:
    """Flush the folder's entries, so that a rename survives a power cut (not possible on every platform)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
