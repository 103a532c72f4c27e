"""Shared by the tests that run the scripts under ``benchmarks/`` as a user would: in a fresh Python process."""

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from unittest import mock

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def import_script(script: str) -> ModuleType:
    """``benchmarks/<script>`` (``<subject>/<name>.py``) as a module, to test its functions in this process."""
    path = BENCHMARKS / script
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def run_script(script: str, *args: str, timeout: float) -> str:
    """Run ``benchmarks/<script>`` with this Python, assert that it succeeded and return what it printed."""
    command = [sys.executable, str(BENCHMARKS / script), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def read_csv(path: Path) -> list[dict]:
    with open(path) as file:
        return list(csv.DictReader(file))


def run_main(script: str, *args: str) -> None:
    """``benchmarks/<script>``'s ``main()`` in this process with ``args`` as its command line: for the jobs where a
    fresh process adds nothing (reports of files on disk, small runs); ``run_script`` runs a script as a user would."""
    module = import_script(script)
    with mock.patch.object(sys, "argv", [str(BENCHMARKS / script), *args]):
        module.main()
