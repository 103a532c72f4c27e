"""
Train, evaluate and ship an agent for every zoo entry of REINFORCE and VPG, in rl-trained-agents' layout:

    agents/<algo>/<env>_1/<env>.zip                 the model (the zoo's final one)
    agents/<algo>/<env>_1/<env>/config.yml, args.yml  what the zoo saved (enjoy reads them)
    agents/<algo>/<env>_1/<env>/vecnormalize.pkl    the observation statistics, for entries with ``normalize``
    agents/<algo>/<env>_1/results.json              mean and std of 10 deterministic evaluation episodes
    agents/<algo>/<env>_1/README.md                 a model card in the form huggingface_sb3 writes

and ``agents/agents.md``, the table of every shipped agent (the docs include it). Training goes through our zoo
entry point with the shipped entry and ``--seed``; runs of the same algorithm and env are replaced. The MuJoCo
agents are not trained here: each is seed 0's run of ``mujoco_benchmark.py`` (3M steps), its final model.

    python benchmarks/agents/ship_agents.py --workers 2                  # every entry (about 15 minutes on 2 cores)
    python benchmarks/agents/ship_agents.py --mujoco-only                # seed 0's MuJoCo runs, once they are done
    python benchmarks/agents/ship_agents.py --mujoco-only --envs Hopper-v5  # one env's
    python benchmarks/agents/ship_agents.py --algos reinforce --envs CartPole-v1
    python benchmarks/agents/ship_agents.py --pong-only                   # the Pong agent's card (10 full games)
    python benchmarks/agents/ship_agents.py --evaluate-only               # every card re-evaluated on this machine
    python -m sb3_vpg.zoo enjoy --algo reinforce --env LunarLander-v3 -f agents --no-render -n 5000
"""

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from sb3_vpg.common.files import write_text_whole

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the scripts' library, shared/
from shared.mujoco_runs import MUJOCO_ENVS, MujocoRun, final_zoo_folder

ROOT = Path(__file__).resolve().parents[2]
ENVS = ("CartPole-v1", "Acrobot-v1", "InvertedPendulum-v5", "LunarLander-v3")
# The MuJoCo envs with a shipped agent: Humanoid-v5's benchmark runs have not finished yet, so it has none
AGENT_MUJOCO_ENVS = tuple(env_id for env_id in MUJOCO_ENVS if env_id != "Humanoid-v5")
MUJOCO_RESULTS = ROOT / "benchmarks" / "results" / "mujoco"  # mujoco_benchmark.py --out
ALGOS = ("reinforce", "vpg")
ALGO_NAMES = {"reinforce": "REINFORCE", "vpg": "VPG"}
N_EVAL_EPISODES = 10
EVAL_SEED = 1000  # the evaluation env's seed: other than the training seeds


def train(algo: str, env_id: str, seed: int, scratch: Path) -> Path:
    """Train with the shipped entry through the zoo; the run folder."""
    folder = scratch / f"{algo}_{env_id}"
    shutil.rmtree(folder, ignore_errors=True)
    command = [sys.executable, "-m", "sb3_vpg.zoo", "train", "--algo", algo, "--env", env_id, "-f", str(folder)]
    command += ["--seed", str(seed), "--eval-freq", "-1", "--num-threads", "1"]
    subprocess.run(command, check=True, capture_output=True, env={"SDL_VIDEODRIVER": "dummy", **os.environ})
    return folder / algo / f"{env_id}_1"


def evaluate(algo: str, model_path: Path, env_id: str) -> tuple[float, float]:
    """Mean and std of the episode rewards of ``N_EVAL_EPISODES`` deterministic episodes on a fresh env (with the
    agent's observation statistics, frozen, where it has them: the rewards are the env's own)."""
    import gymnasium as gym
    import torch as th
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize

    from sb3_vpg.zoo import ZOO_ALGOS

    th.set_num_threads(1)
    env: VecEnv = DummyVecEnv([lambda: Monitor(gym.make(env_id))])
    env.seed(EVAL_SEED)
    statistics = model_path.parent / env_id / "vecnormalize.pkl"
    if statistics.exists():
        env = VecNormalize.load(str(statistics), env)
        env.training, env.norm_reward = False, False
    model = ZOO_ALGOS[algo].load(model_path, env=env, device="cpu")
    mean, std = evaluate_policy(model, env, n_eval_episodes=N_EVAL_EPISODES, deterministic=True)
    env.close()
    return float(mean), float(std)


def model_card(algo: str, env_id: str, mean: float, std: float, seed: int) -> str:
    name = ALGO_NAMES[algo]
    shipping = " --mujoco-only" if env_id in MUJOCO_ENVS else ""
    if env_id in MUJOCO_ENVS:
        training = (
            f"python benchmarks/mujoco/mujoco_benchmark.py --algos {algo} --envs {env_id} --seeds {seed}   # 3M steps; "
            f"the final model, with its observation statistics ({env_id}/vecnormalize.pkl)"
        )
    else:
        training = f"python -m sb3_vpg.zoo train --algo {algo} --env {env_id} -f logs --seed {seed} --eval-freq -1"
        training += " --num-threads 1"
    return f"""---
library_name: stable-baselines3
tags:
- {env_id}
- deep-reinforcement-learning
- reinforcement-learning
- stable-baselines3
- sb3-vpg
model-index:
- name: {name}
  results:
  - task:
      type: reinforcement-learning
      name: reinforcement-learning
    dataset:
      name: {env_id}
      type: {env_id}
    metrics:
    - type: mean_reward
      value: {mean:.2f} +/- {std:.2f}
      name: mean_reward
      verified: false
---

# **{name}** Agent playing **{env_id}**

This is a trained model of a **{name}** agent playing **{env_id}**, using
sb3-vpg (REINFORCE and VPG for Stable-Baselines3) and the
[RL Zoo](https://github.com/DLR-RM/rl-baselines3-zoo) through sb3-vpg's entry point, with sb3-vpg's shipped
hyperparameters (`config.yml`). Mean reward over {N_EVAL_EPISODES} deterministic evaluation episodes: {mean:.2f} +/- {std:.2f}.

## Usage (with sb3-vpg's zoo entry point)

```bash
# sb3-vpg is not on PyPI: install it from a clone of its repository, in the clone's folder
pip install -c constraints.txt -e ".[zoo]"  # also [box2d]: LunarLander-v3, [mujoco]: its envs, [atari]: Pong
python -m sb3_vpg.zoo enjoy --algo {algo} --env {env_id} -f agents --no-render -n 5000
```

## Training (with sb3-vpg's zoo entry point)

```bash
{training}
```

or, for every shipped agent, `python benchmarks/agents/ship_agents.py{shipping}`.

## Hyperparameters

See `{env_id}/config.yml`.
"""


def benchmark_run(algo: str, env_id: str, seed: int) -> Path:
    """The zoo folder of the last part of a finished ``mujoco_benchmark.py`` run (its final model)."""
    return final_zoo_folder(MujocoRun(algo, env_id, seed), MUJOCO_RESULTS)


def without_callbacks(text: str, key_path: tuple[str, ...]) -> str:
    """A zoo-saved YAML (an OrderedDict) without the benchmark's callbacks (their machine paths are no part of the
    agent): ``key_path`` leads to the hyperparameters."""
    saved = yaml.load(text, Loader=yaml.UnsafeLoader)  # the zoo's own file, as rl_zoo3 reads it
    hyperparams = saved
    for key in key_path:
        hyperparams = hyperparams[key]
    if hyperparams is not None:  # None: a run with no -params
        hyperparams.pop("callback", None)
    return yaml.dump(saved)


def ship(algo: str, env_id: str, seed: int, scratch: Path, out: Path) -> dict:
    run = benchmark_run(algo, env_id, seed) if env_id in MUJOCO_ENVS else train(algo, env_id, seed, scratch)
    target = out / algo / f"{env_id}_1"
    shutil.rmtree(target, ignore_errors=True)
    (target / env_id).mkdir(parents=True)
    shutil.copy(run / f"{env_id}.zip", target / f"{env_id}.zip")
    if (run / env_id / "vecnormalize.pkl").exists():
        shutil.copy(run / env_id / "vecnormalize.pkl", target / env_id / "vecnormalize.pkl")
    write_text_whole(target / env_id / "config.yml", without_callbacks((run / env_id / "config.yml").read_text(), ()))
    # the zoo records the config file by its absolute path on the training machine: name the shipped one instead
    args = without_callbacks((run / env_id / "args.yml").read_text(), ("hyperparams",))
    conf_line = next(line for line in args.splitlines() if line.strip().startswith("- ") and "zoo_configs" in line)
    args = args.replace(conf_line, conf_line[: conf_line.index("- ") + 2] + f"sb3_vpg/zoo_configs/{algo}.yml")
    write_text_whole(target / env_id / "args.yml", args)
    return write_card(algo, env_id, target, seed)


def write_card(algo: str, env_id: str, target: Path, seed: int) -> dict:
    """Evaluate a shipped agent and write its results.json and model card."""
    mean, std = evaluate(algo, target / f"{env_id}.zip", env_id)
    results = {
        "mean_reward": round(mean, 2),
        "std_reward": round(std, 2),
        "is_deterministic": True,
        "n_eval_episodes": N_EVAL_EPISODES,
        "eval_datetime": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    write_text_whole(target / "results.json", json.dumps(results, indent=2) + "\n")
    write_text_whole(target / "README.md", model_card(algo, env_id, mean, std, seed))
    print(f"{algo} {env_id}: {mean:.2f} +/- {std:.2f}", flush=True)
    return results


PONG_ENV = "KarpathyPong-v0"
PONG_GAMES = 10
PONG_TRAINING = "python -m sb3_vpg.pong train --config points --seed 0 --hours 1 --out runs/pong_points/seed0"


def evaluate_pong(model_path: Path) -> list[int]:
    """Scores of ``PONG_GAMES`` full games (agent minus AI), with Karpathy's stochastic actions, seed 0."""
    from sb3_vpg.pong.games import play_games

    return play_games(model_path, PONG_ENV, PONG_GAMES, seed=0)


def ship_pong(out: Path) -> dict:
    """The Pong agent is not trained here (the points preset's hour, see PONG_TRAINING): evaluate it and write its
    results.json and card."""
    import numpy as np

    target = out / "reinforce" / f"{PONG_ENV}_1"
    scores = evaluate_pong(target / f"{PONG_ENV}.zip")
    mean, std = float(np.mean(scores)), float(np.std(scores))
    results = {
        "mean_reward": round(mean, 2),
        "std_reward": round(std, 2),
        "is_deterministic": False,  # Karpathy's agent samples its actions
        "n_eval_episodes": PONG_GAMES,
        "eval_datetime": datetime.datetime.now().isoformat(timespec="seconds"),
        "scores": scores,
    }
    write_text_whole(target / "results.json", json.dumps(results, indent=2) + "\n")
    card = (
        model_card("reinforce", PONG_ENV, mean, std, 0)
        .replace(
            f"python -m sb3_vpg.zoo train --algo reinforce --env {PONG_ENV} -f logs --seed 0 --eval-freq -1 --num-threads 1",
            f"{PONG_TRAINING}   # 8 games on ale-py's threads; then python -m sb3_vpg.pong export",
        )
        .replace(
            f"Mean reward over {N_EVAL_EPISODES} deterministic evaluation episodes",
            f"The points preset (Karpathy's Pong from Pixels agent at learning rate 1e-3, 8 games at once, updated every "
            f"512 steps of each game on the finished points) after one hour of "
            f"training on 2 cores, weights only. Mean score over {PONG_GAMES} full games with sampled actions "
            f"(`python -m sb3_vpg.pong play --model agents/reinforce/{PONG_ENV}_1/{PONG_ENV}.zip --games {PONG_GAMES}`)",
        )
    )
    write_text_whole(target / "README.md", card)
    print(f"reinforce {PONG_ENV}: {mean:.2f} +/- {std:.2f}", flush=True)
    return results


def write_table(out: Path) -> None:
    """agents/agents.md: every shipped agent with its score and size."""
    lines = [
        f"| algorithm | env | mean reward +/- std ({N_EVAL_EPISODES} episodes) | actions | model size | evaluated |",
        "|---|---|---|---|---|---|",
    ]
    for results_file in sorted(out.glob("*/*_1/results.json")):
        algo, env_id = results_file.parent.parent.name, results_file.parent.name[: -len("_1")]
        results = json.loads(results_file.read_text())
        size = (results_file.parent / f"{env_id}.zip").stat().st_size / 1e3
        lines.append(
            f"| {ALGO_NAMES.get(algo, algo)} | {env_id} | {results['mean_reward']:.2f} +/- {results['std_reward']:.2f} "
            f"| {'deterministic' if results['is_deterministic'] else 'sampled'} | {size:,.0f} kB "
            f"| {results['eval_datetime'][:10]} |"
        )
    write_text_whole(out / "agents.md", "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", nargs="+", default=list(ALGOS), choices=ALGOS)
    parser.add_argument("--envs", nargs="+", help=f"default: {' '.join(ENVS)} (with --mujoco-only: {' '.join(MUJOCO_ENVS)})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="trainings at a time (one torch thread each)")
    parser.add_argument("--out", default=str(ROOT / "agents"))
    parser.add_argument("--scratch", default=str(ROOT / "runs" / "agents"), help="training runs (not committed)")
    parser.add_argument("--pong-only", action="store_true", help="only evaluate the shipped Pong agent (not trained here)")
    parser.add_argument("--mujoco-only", action="store_true", help="only ship the finished MuJoCo benchmark runs of --seed")
    parser.add_argument(
        "--evaluate-only",
        action="store_true",
        help="re-evaluate the shipped agents' cards on this machine, without training (scores of chaotic envs depend on "
        "the CPU's vector kernels)",
    )
    args = parser.parse_args()
    out, scratch = Path(args.out), Path(args.scratch)
    if args.evaluate_only:
        for folder in sorted(out.glob("*/*_1")):
            algo, env_id = folder.parent.name, folder.name.removesuffix("_1")
            if env_id != PONG_ENV and algo in args.algos and (not args.envs or env_id in args.envs):
                seed = int(dict(yaml.unsafe_load((folder / env_id / "args.yml").read_text()))["seed"])  # the zoo's own file
                write_card(algo, env_id, folder, seed)
        write_table(out)
        return
    if args.pong_only:
        ship_pong(out)
        write_table(out)
        return
    if args.mujoco_only:
        for env_id in args.envs or AGENT_MUJOCO_ENVS:
            for algo in args.algos:
                ship(algo, env_id, args.seed, scratch, out)
        write_table(out)
        print((out / "agents.md").read_text())
        return
    jobs = [(algo, env_id) for env_id in args.envs or ENVS for algo in args.algos]
    # the longest first, so that two workers finish together
    jobs.sort(key=lambda job: ENVS.index(job[1]) if job[1] in ENVS else -1, reverse=True)
    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(lambda job: ship(*job, args.seed, scratch, out), jobs))
    ship_pong(out)
    write_table(out)
    print((out / "agents.md").read_text())


if __name__ == "__main__":
    main()
