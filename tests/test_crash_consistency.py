"""
A Pong run folder survives a kill at any write: ``tests/kill_points.py`` kills ``python -m sb3_vpg.pong train``
(SIGKILL) at each write point of a train / checkpoint / resume cycle in turn, and the run is resumed to its end.
After every kill the folder's state names a whole model, the resume succeeds, nothing before the last checkpoint is
lost and no episode is logged twice.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from sb3_vpg import REINFORCE
from sb3_vpg.common.files import is_temporary
from sb3_vpg.pong.run import read_episodes, read_state

pytest.importorskip("ale_py", reason="the [atari] extra installs ale-py")

HARNESS = Path(__file__).with_name("kill_points.py")
UPDATES = 3  # the cycle: a new run of 2 updates with a checkpoint after each, then a resume for the third
NEW_RUN = ["--env", "KarpathyPongClassic-v0", "--n-episodes", "1", "--checkpoint-every", "1"]
# The write points are dealt to shards (point k to shard k % SHARDS); the quick set runs the first
SHARDS = 12
# The rows that do not depend on the machine's speed
COMPARED = ("episode", "steps", "score", "running_reward")


def train(out: Path, kill_at: int, *args: str) -> tuple[subprocess.CompletedProcess, int]:
    """Run ``train --out out *args``, killed at its ``kill_at``-th write point in ``out`` (0: never); the process and
    the number of write points it reached (None where it was killed)."""
    command = [sys.executable, str(HARNESS), str(out), str(kill_at), "--", "train", "--out", str(out), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    lines = result.stdout.strip().splitlines()
    reached = int(lines[-1].removeprefix("write points: ")) if lines and lines[-1].startswith("write points") else None
    return result, reached


def updates_done(out: Path) -> int:
    state = read_state(out) if (out / "state.json").exists() else None
    return 0 if state is None else int(state.model.removeprefix("model-").removesuffix(".zip"))


def run_to_the_end(out: Path) -> None:
    """Resume ``out`` (or start it anew) until it has made UPDATES updates, unkilled."""
    if updates_done(out) == UPDATES:  # killed after its last checkpoint
        return
    result, _ = train(out, 0, *NEW_RUN, "--updates", str(UPDATES - updates_done(out)))
    assert result.returncode == 0, result.stderr[-2000:]


def rows(out: Path) -> list[tuple]:
    return [tuple(row[column] for column in COMPARED) for row in read_episodes(out)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[list[tuple], list[int]]:
    """The cycle unkilled: its episodes, and the number of write points of each of its two commands."""
    out = tmp_path_factory.mktemp("reference") / "run"
    first, first_points = train(out, 0, *NEW_RUN, "--updates", str(UPDATES - 1))
    second, second_points = train(out, 0, "--updates", "1")
    assert first.returncode == second.returncode == 0, first.stderr[-2000:] + second.stderr[-2000:]
    assert updates_done(out) == UPDATES
    return rows(out), [first_points, second_points]


@pytest.mark.slow  # the quick set kills a checkpoint at each of its stages (test_karpathy_pong_run.py)
@pytest.mark.parametrize("shard", range(SHARDS))
def test_a_kill_at_any_write_loses_nothing_before_the_checkpoint(tmp_path, reference, shard):
    reference_rows, points = reference
    assert points[0] >= 30 and points[1] >= 15  # the harness sees the writes (opens, appends, renames, deletions)
    cases = [(command, k) for command, n in enumerate(points) for k in range(1, n + 1)]
    for command, kill_at in cases[shard::SHARDS]:
        out = tmp_path / f"killed-in-{command}-at-{kill_at}"
        if command == 1:  # the resume: the new run unkilled first
            train(out, 0, *NEW_RUN, "--updates", str(UPDATES - 1))
        killed, reached = train(out, kill_at, *([] if command else NEW_RUN), "--updates", "1" if command else str(UPDATES - 1))
        what = f"killed at write point {kill_at} of command {command}"
        assert killed.returncode == -9 and reached is None, f"{what}: not killed ({killed.returncode}) {killed.stderr[-2000:]}"
        # Right after the kill: a state names a whole model, and its episodes are logged
        checkpointed = 0
        if (out / "state.json").exists():
            state = read_state(out)
            assert state is not None
            model = REINFORCE.load(out / state.model)
            assert model._n_updates == updates_done(out), what
            checkpointed = state.episodes
        run_to_the_end(out)
        final = rows(out)
        assert final[:checkpointed] == reference_rows[:checkpointed], f"{what}: rows before the checkpoint changed"
        assert [row[0] for row in final] == list(range(1, len(final) + 1)), f"{what}: episodes lost or logged twice"
        assert read_state(out).episodes == len(final) and updates_done(out) == UPDATES, what  # type: ignore[union-attr]
        steps = [row[1] for row in final]
        assert steps == sorted(set(steps)), f"{what}: the steps column goes back"
        # a session stops at the first step after its last update: that step is counted, its episode cut
        assert REINFORCE.load(out / read_state(out).model).num_timesteps >= steps[-1], what  # type: ignore[union-attr]
        assert not [path.name for path in out.iterdir() if is_temporary(path) or path.suffix == ".tmp"], what
