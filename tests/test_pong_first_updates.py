"""
The Pong command line's results do not change: for each configuration, the same seed gives the same first updates
(weights, steps, episode scores) as the release that wrote ``tests/data/pong_first_updates.json``, over a new run
and its resumed session. Regenerate the file only for a change that is meant to change results:

    python -m tests.test_pong_first_updates
"""

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sb3_vpg.pong.run import EPISODES_FILE, TrainOptions, read_state, train_run
from sb3_vpg.reinforce import REINFORCE

GOLDEN = Path(__file__).parent / "data" / "pong_first_updates.json"
# Each configuration's first session and its resumed one, in updates; karpathy and fast update every episode here
# (--n-episodes 1) so that the first updates come within a few thousand steps
SESSIONS = {
    "karpathy": {"n_episodes": 1, "updates": (2, 1)},
    "fast": {"n_episodes": 1, "updates": (1, 1)},
    "points": {"n_episodes": None, "updates": (2, 1)},
}


def fingerprint(out: Path) -> dict[str, Any]:
    """The last checkpoint's weights (sum and sum of squares per tensor), counters and episode scores."""
    state = read_state(out)
    assert state is not None
    model = REINFORCE.load(out / state.model)
    weights = {name: [float(p.sum()), float((p.double() ** 2).sum())] for name, p in model.policy.state_dict().items()}
    with open(out / EPISODES_FILE) as file:
        scores = [float(row["score"]) for row in csv.DictReader(file)]
    return {"num_timesteps": model.num_timesteps, "n_updates": model._n_updates, "scores": scores, "weights": weights}


def run_sessions(config: str, out: Path) -> list[dict[str, Any]]:
    settings = SESSIONS[config]
    prints = []
    for updates in settings["updates"]:
        # stopped by its updates alone: a wall-clock budget no machine reaches
        options = TrainOptions(config=config, seed=0, n_episodes=settings["n_episodes"], max_updates=updates,
                               hours=10**6, checkpoint_every=10**6, print_every=10**6)  # fmt: skip
        train_run(out, options)
        prints.append(fingerprint(out))
    return prints


@pytest.mark.parametrize("config", SESSIONS)
def test_the_same_seed_gives_the_same_first_updates(config, tmp_path):
    expected = json.loads(GOLDEN.read_text())[config]
    for session, (actual, wanted) in enumerate(zip(run_sessions(config, tmp_path), expected, strict=True)):
        for key in ("num_timesteps", "n_updates", "scores"):
            assert actual[key] == wanted[key], (session, key)
        assert actual["weights"].keys() == wanted["weights"].keys()
        for name, values in wanted["weights"].items():
            np.testing.assert_allclose(actual["weights"][name], values, rtol=1e-5, err_msg=f"session {session}, {name}")


if __name__ == "__main__":
    import tempfile

    golden = {}
    for name in SESSIONS:
        with tempfile.TemporaryDirectory() as folder:
            golden[name] = run_sessions(name, Path(folder))
    GOLDEN.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {GOLDEN}")
