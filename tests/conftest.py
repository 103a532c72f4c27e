import contextlib
import fcntl
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch as th

# The Pong agent that ships with the package (agents/, rl-trained-agents' layout)
SHIPPED_PONG_AGENT = Path(__file__).parents[1] / "agents" / "reinforce" / "KarpathyPong-v0_1" / "KarpathyPong-v0.zip"

# The benchmarks' library (benchmarks/shared/), importable by the tests as the scripts import it
sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))

# One torch thread per test process: pytest-xdist runs one worker per core, and two threads were measured
# slower than one on these machines (benchmarks/speed/pong_throughput.py ran slower with two torch threads than with one).
th.set_num_threads(1)


def first_in_quick_set(values: list[Any], keep: int = 1) -> list[Any]:
    """Test parameters of a repeated end-to-end run: the first ``keep`` run in the quick set, the others in the whole
    set only (marked slow). A tuple value is the parameters of one case."""
    return [
        pytest.param(*(value if isinstance(value, tuple) else (value,)), marks=[] if i < keep else [pytest.mark.slow])
        for i, value in enumerate(values)
    ]


def zoo_in_process(*args: str, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """``python -m sb3_vpg.zoo`` in this process (where a fresh process adds nothing to what is checked): its exit
    code and its stderr."""
    from sb3_vpg.zoo import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    return code, capsys.readouterr().err


# The tests' Ray clusters: no token authentication (its token file, ~/.ray/auth_token, is one per machine, and a Ray
# started elsewhere on the machine may replace it meanwhile) and workers at the tests' priority (at Ray's default
# niceness, 15, the other pytest worker's tests starved them and an actor took minutes to start)
RAY_TEST_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "RAY_worker_niceness": "0"}


@contextlib.contextmanager
def one_ray_cluster_at_a_time() -> Iterator[None]:
    """Held while a test has a Ray cluster on this machine: two clusters side by side (two pytest-xdist workers)
    fail to start their nodes, so the second waits for the first to stop."""
    with open(Path(tempfile.gettempdir()) / "sb3_vpg_ray_tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
