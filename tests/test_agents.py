"""Every shipped agent (agents/, rl-trained-agents' layout) plays with no training, and its card says what it scores."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.benchmark_scripts import import_script

ROOT = Path(__file__).parents[1]
AGENTS = ROOT / "agents"
SHIPPED = sorted((folder.parent.name, folder.name[: -len("_1")]) for folder in AGENTS.glob("*/*_1"))
# The agent the quick set plays (a few seconds); the whole set plays every one (10-30 s each)
QUICK_AGENT = ("reinforce", "CartPole-v1")


def agents(*, without: str | None = None) -> list[Any]:
    """The shipped agents as test parameters: REINFORCE's CartPole agent in the quick set, the others in the whole
    set."""
    return [
        pytest.param(algo, env_id, id=f"{algo}-{env_id}", marks=[] if (algo, env_id) == QUICK_AGENT else [pytest.mark.slow])
        for algo, env_id in SHIPPED
        if env_id != without
    ]


def ship_agents_module():
    return import_script("agents/ship_agents.py")


def test_an_agent_for_every_shipped_entry():
    module = ship_agents_module()
    entries = {(algo, env_id) for algo in ("reinforce", "vpg") for env_id in (*module.ENVS, *module.AGENT_MUJOCO_ENVS[algo])}
    assert entries <= set(SHIPPED)


@pytest.mark.parametrize(("algo", "env_id"), SHIPPED, ids=[f"{algo}-{env_id}" for algo, env_id in SHIPPED])
def test_agent_files_and_model_card(algo, env_id):
    folder = AGENTS / algo / f"{env_id}_1"
    for path in (f"{env_id}.zip", f"{env_id}/config.yml", f"{env_id}/args.yml", "results.json", "README.md"):
        assert (folder / path).is_file(), path
    results = json.loads((folder / "results.json").read_text())
    # the Pong agent samples its actions, as Karpathy's; the others are evaluated deterministically
    assert results["n_eval_episodes"] == 10 and results["is_deterministic"] is (env_id != "KarpathyPong-v0")
    front_matter = yaml.safe_load((folder / "README.md").read_text().split("---")[1])
    assert front_matter["library_name"] == "stable-baselines3" and env_id in front_matter["tags"]
    metric = front_matter["model-index"][0]["results"][0]["metrics"][0]
    assert metric["type"] == "mean_reward"
    assert metric["value"] == f"{results['mean_reward']:.2f} +/- {results['std_reward']:.2f}"
    assert (folder / f"{env_id}.zip").stat().st_size < 6e6


@pytest.mark.parametrize(("algo", "env_id"), agents())
def test_agent_plays_through_the_zoo_without_training(algo, env_id, tmp_path):
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "sb3_vpg.zoo", "enjoy", "--algo", algo, "--env", env_id, "-f", str(AGENTS),
               "--no-render", "-n", "300", "--deterministic"]  # fmt: skip
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (tmp_path / "logs").exists()  # nothing was trained


@pytest.mark.parametrize(("algo", "env_id"), agents(without="KarpathyPong-v0"))
def test_agent_scores_what_its_card_says(algo, env_id):
    """The evaluations that wrote results.json, repeated: the same env seed, the same episodes, deterministic and
    sampled (from the same torch seed); the card's table gives them."""
    folder = AGENTS / algo / f"{env_id}_1"
    results = json.loads((folder / "results.json").read_text())
    module = ship_agents_module()
    deterministic = module.evaluate(algo, folder / f"{env_id}.zip", env_id)
    sampled = module.evaluate(algo, folder / f"{env_id}.zip", env_id, deterministic=False)
    assert results["eval_seed"] == module.EVAL_SEED
    assert {key: results[key] for key in deterministic.as_json()} == deterministic.as_json()
    assert results["sampled"] == sampled.as_json()
    assert module.evaluation_text(deterministic, sampled, results["seed_choice"]) in (folder / "README.md").read_text()


def test_an_agent_is_evaluated_on_the_held_out_env_seed(monkeypatch):
    """The evaluation env plays ``EVAL_SEED``'s episodes, not the training run's (loading a model seeds its env with
    the seed it was trained with, as SB3's algorithms do)."""
    module = ship_agents_module()
    model = AGENTS / "reinforce" / "Acrobot-v1_1" / "Acrobot-v1.zip"
    scores = set()
    for seed in (module.EVAL_SEED, module.EVAL_SEED + 1):
        monkeypatch.setattr(module, "EVAL_SEED", seed)
        scores.add(module.evaluate("reinforce", model, "Acrobot-v1"))
    assert len(scores) == 2


def test_the_seed_nearest_the_median_ships():
    module = ship_agents_module()
    assert module.seed_nearest_median({0: 10.0, 1: 50.0, 2: 30.0, 3: 20.0, 4: 40.0}) == 2
    assert module.seed_nearest_median({0: 10.0, 1: 30.0, 2: 20.0}) == 2
    assert module.seed_nearest_median({3: 10.0, 1: 20.0}) == 1  # a tie: the lower seed
    assert module.seed_nearest_median({0: 100.0, 1: 0.0, 2: 40.0, 3: 60.0}) == 2  # median 50: a tie of 2 and 3


def test_a_shipped_mujoco_agent_is_its_benchmark_seed_nearest_the_median():
    """Each shipped MuJoCo agent of the current entries names the seed whose final model it is, and that seed is the
    one nearest the median of the committed runs' late training returns."""
    module = ship_agents_module()
    for algo, env_id in SHIPPED:
        results = json.loads((AGENTS / algo / f"{env_id}_1" / "results.json").read_text())
        if results.get("seed_choice") is None:
            continue  # a zoo entry's agent, or a MuJoCo agent of an entry whose seeds have not finished
        expected_seed, expected_choice = module.mujoco_seed_choice(algo, env_id, module.MUJOCO_RESULTS)
        assert (results["training_seed"], results["seed_choice"]) == (expected_seed, expected_choice)


@pytest.mark.slow  # 10 full games of Pong; the quick set plays two in test_karpathy_pong_run.py
def test_pong_agent_plays_the_games_its_card_reports():
    """The Pong agent samples its actions (as Karpathy's): the same seed plays the same 10 games."""
    folder = AGENTS / "reinforce" / "KarpathyPong-v0_1"
    results = json.loads((folder / "results.json").read_text())
    assert ship_agents_module().evaluate_pong(folder / "KarpathyPong-v0.zip") == results["scores"]
    assert results["is_deterministic"] is False and len(results["scores"]) == results["n_eval_episodes"] == 10
