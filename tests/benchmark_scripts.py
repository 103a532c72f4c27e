"""Shared by the tests that run the scripts under ``benchmarks/`` as a user would: in a fresh Python process."""

import csv
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def run_script(script: str, *args: str, timeout: float) -> str:
    """Run ``benchmarks/<script>`` with this Python, assert that it succeeded and return what it printed."""
    command = [sys.executable, str(BENCHMARKS / script), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def read_csv(path: Path) -> list[dict]:
    with open(path) as file:
        return list(csv.DictReader(file))
