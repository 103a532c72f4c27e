"""A figure quoted on a page is the one in its result file: one figure per claim, wherever it is quoted.

The benchmarks page and the home page include their tables from the result files and the README (one copy by
construction); the pages that quote figures in their own words are checked here against the files."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
ZOO_RESULTS = ROOT / "benchmarks" / "results" / "zoo"
PONG_AGENT_RESULTS = ROOT / "agents" / "reinforce" / "KarpathyPong-v0_1" / "results.json"
PAGE_ROW = re.compile(r"^\| (?P<env>[A-Za-z0-9-]+-v\d) \| (?P<steps>\w+) \|(?P<cells>.*)\|$", re.MULTILINE)
FIGURE = re.compile(r"-?\d[\d,]*\.\d \+- \d[\d,]*\.\d")


def zoo_final_evaluations(env_id: str) -> dict[str, str]:
    """``{algorithm: "mean +- s.e."}`` of the final evaluations in the zoo benchmark's table of ``env_id``."""
    table = (ZOO_RESULTS / f"{env_id}.md").read_text()
    rows = [line.split("|")[1:-1] for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    return {cells[0].strip(): cells[2].strip() for cells in rows[1:]}


@pytest.mark.parametrize(("page", "algorithm"), [("reinforce.md", "REINFORCE"), ("vpg.md", "VPG")])
def test_the_module_pages_quote_the_zoo_benchmark(page, algorithm):
    """The module page's results table: ours, the zoo's A2C and PPO, as the zoo benchmark's tables have them."""
    text = (ROOT / "docs" / "modules" / page).read_text()
    rows = list(PAGE_ROW.finditer(text))
    assert {row["env"] for row in rows} >= {"CartPole-v1", "Acrobot-v1", "InvertedPendulum-v5"}
    for row in rows:
        quoted = [FIGURE.search(cell) for cell in row["cells"].split("|")]
        expected = zoo_final_evaluations(row["env"])
        for match, name in zip(quoted, (algorithm, "A2C", "PPO"), strict=True):
            assert match is not None and match.group() == expected[name], (row["env"], name)


def test_the_readme_quotes_the_zoo_benchmark():
    """Each algorithm's figure in the README's rows of the zoo's envs is the mean of the zoo benchmark's table."""
    readme = (ROOT / "README.md").read_text()
    for env_id in ("CartPole-v1", "Acrobot-v1"):
        (row,) = [line for line in readme.splitlines() if line.startswith(f"| {env_id},")]
        expected = zoo_final_evaluations(env_id)
        for name in ("REINFORCE", "VPG", "A2C", "PPO"):
            quoted = re.search(rf"{name} (-?\d+\.\d)", row)
            assert quoted is not None and expected[name].startswith(quoted.group(1) + " +-"), (env_id, name)


def pong_agent_figure() -> str:
    """The shipped Pong agent's figure as its card (``results.json``) gives it."""
    results = json.loads(PONG_AGENT_RESULTS.read_text())
    scores = results["scores"]
    return (
        f"{sum(score > 0 for score in scores)} of {len(scores)} full games, mean score {results['mean_reward']:+.2f} "
        f"(standard deviation {results['std_reward']:.2f})"
    )


@pytest.mark.parametrize("page", ["README.md", "docs/pong.md"])
def test_the_pages_quote_the_pong_agents_card(page):
    text = (ROOT / page).read_text()
    assert pong_agent_figure() in text
    # no other count of games won is given for it
    assert not re.search(r"(won|wins) \d+ of 20 games", text)


MUJOCO_REPORT = ROOT / "benchmarks" / "results" / "mujoco" / "mujoco.md"
MUJOCO_PAIR = re.compile(r"(HalfCheetah|Hopper|Walker2d|Swimmer|Ant|Humanoid) (-?\d[\d,]*\d|-?\d) / (\d[\d,]*\d|\d)\b")


def mujoco_anchor_rows(anchor: str) -> dict[str, tuple[str, str]]:
    """``{env: (ours, the anchor's)}`` of the MuJoCo report's table against the anchors, for one anchor."""
    rows = {}
    for line in MUJOCO_REPORT.read_text().splitlines():
        cells = [cell.strip() for cell in line.split("|")[1:-1]]
        if len(cells) == 8 and cells[2] == anchor:
            rows[cells[0].split()[0]] = (cells[6].split(" (")[0], cells[5].split(" (")[0])
    return rows


def test_the_readme_quotes_the_mujoco_report():
    """The README's MuJoCo row gives, for REINFORCE against Tianshou's REINFORCE and VPG against Tianshou's A2C,
    every env's "ours / the anchor's" as the generated report has them."""
    (row,) = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| MuJoCo")]
    reinforce_part, vpg_part = row.split("VPG against Tianshou's A2C")
    for part, anchor in ((reinforce_part, "Tianshou REINFORCE"), (vpg_part, "Tianshou A2C")):
        quoted = {env: (ours, theirs) for env, ours, theirs in MUJOCO_PAIR.findall(part)}
        expected = mujoco_anchor_rows(anchor)
        assert quoted == {env: figures for env, figures in expected.items() if figures[0] != "-"}, anchor
