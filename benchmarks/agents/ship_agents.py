"""
Train, evaluate and ship an agent for every zoo entry of REINFORCE and VPG, in rl-trained-agents' layout:

    agents/<algo>/<env>_1/<env>.zip                 the model (the zoo's final one)
    agents/<algo>/<env>_1/<env>/config.yml, args.yml  what the zoo saved (enjoy reads them)
    agents/<algo>/<env>_1/<env>/vecnormalize.pkl    the observation statistics, for entries with ``normalize``
    agents/<algo>/<env>_1/results.json              10 episodes' reward, length and forward speed, deterministic
                                                    (the keys huggingface_sb3 writes) and sampled ("sampled")
    agents/<algo>/<env>_1/README.md                 a model card in the form huggingface_sb3 writes

and ``agents/agents.md``, the table of every shipped agent (the docs include it). Training goes through our zoo
entry point with the shipped entry and ``--seed``; runs of the same algorithm and env are replaced. The MuJoCo
agents are not trained here: each is the final model (3M steps) of the ``mujoco_benchmark.py`` run whose seed is
nearest the median of the seeds' training returns over their last 100k steps.

    python benchmarks/agents/ship_agents.py --workers 2                  # every entry (about 15 minutes on 2 cores)
    python benchmarks/agents/ship_agents.py --mujoco-only                # the MuJoCo runs' median seeds, once done
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
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

from sb3_vpg.common.files import write_text_whole

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the scripts' library, shared/
from shared.mujoco_runs import MUJOCO_ENVS, MUJOCO_STEPS, MujocoRun, final_zoo_folder, late_mean, read_runs

ROOT = Path(__file__).resolve().parents[2]
ENVS = ("CartPole-v1", "Acrobot-v1", "InvertedPendulum-v5", "LunarLander-v3")
# The MuJoCo envs with a shipped agent, by algorithm: VPG's Humanoid-v5 runs have not finished yet
AGENT_MUJOCO_ENVS = {"reinforce": MUJOCO_ENVS, "vpg": tuple(env_id for env_id in MUJOCO_ENVS if env_id != "Humanoid-v5")}
MUJOCO_RESULTS = ROOT / "benchmarks" / "results" / "mujoco"  # mujoco_benchmark.py --out: the committed rows, the runs
ALGOS = ("reinforce", "vpg")
ALGO_NAMES = {"reinforce": "REINFORCE", "vpg": "VPG"}
N_EVAL_EPISODES = 10
EVAL_SEED = 777  # the evaluation env's: no training run's (the zoo's seeds 0-4, the MuJoCo parts' 1000 k + 0-4)


def train(algo: str, env_id: str, seed: int, scratch: Path) -> Path:
    """Train with the shipped entry through the zoo; the run folder."""
    folder = scratch / f"{algo}_{env_id}"
    shutil.rmtree(folder, ignore_errors=True)
    command = [sys.executable, "-m", "sb3_vpg.zoo", "train", "--algo", algo, "--env", env_id, "-f", str(folder)]
    command += ["--seed", str(seed), "--eval-freq", "-1", "--num-threads", "1"]
    subprocess.run(command, check=True, capture_output=True, env={"SDL_VIDEODRIVER": "dummy", **os.environ})
    return folder / algo / f"{env_id}_1"


@dataclass(frozen=True)
class Evaluation:
    """An agent's score over ``N_EVAL_EPISODES`` episodes of a fresh env (seed ``EVAL_SEED``)."""

    mean_reward: float
    std_reward: float
    mean_length: float
    mean_speed: float | None  # m/s: ``info["x_velocity"]`` over every step, where the env reports it (MuJoCo)

    def as_json(self) -> dict:
        return {
            "mean_reward": round(self.mean_reward, 2),
            "std_reward": round(self.std_reward, 2),
            "mean_ep_length": round(self.mean_length, 1),
            "mean_forward_speed": None if self.mean_speed is None else round(self.mean_speed, 3),
        }


def evaluate(algo: str, model_path: Path, env_id: str, *, deterministic: bool = True) -> Evaluation:
    """``N_EVAL_EPISODES`` episodes on a fresh env (with the agent's observation statistics, frozen, where it has
    them: the rewards are the env's own); sampled actions draw from torch's generator seeded with ``EVAL_SEED``."""
    import gymnasium as gym
    import numpy as np
    import torch as th
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize

    from sb3_vpg.zoo import ZOO_ALGOS

    th.set_num_threads(1)
    env: VecEnv = DummyVecEnv([lambda: Monitor(gym.make(env_id))])
    statistics_file = model_path.parent / env_id / "vecnormalize.pkl"
    if statistics_file.exists():
        env = VecNormalize.load(str(statistics_file), env)
        env.training, env.norm_reward = False, False
    model = ZOO_ALGOS[algo].load(model_path, env=env, device="cpu")
    env.seed(EVAL_SEED)  # after load: load seeds the env with the training run's seed, as SB3's algorithms do
    speeds: list[float] = []

    def record_speed(local_vars: dict, _globals: dict) -> None:
        if "x_velocity" in local_vars["info"]:  # the info of each counted step
            speeds.append(float(local_vars["info"]["x_velocity"]))

    th.manual_seed(EVAL_SEED)
    rewards, lengths = evaluate_policy(
        model, env, N_EVAL_EPISODES, deterministic=deterministic, return_episode_rewards=True, callback=record_speed
    )
    env.close()
    return Evaluation(
        float(np.mean(rewards)), float(np.std(rewards)), float(np.mean(lengths)), float(np.mean(speeds)) if speeds else None
    )


def seed_nearest_median(late_returns: dict[int, float]) -> int:
    """The seed whose return is nearest the median of the seeds' returns (the lower seed of a tie)."""
    median = statistics.median(late_returns.values())
    return min(late_returns, key=lambda seed: (abs(late_returns[seed] - median), seed))


def late_returns(algo: str, env_id: str, results: Path) -> dict[int, float]:
    """Each finished seed's training return over its last 100k steps, from the committed rows in ``results``."""
    runs = read_runs(results, (algo,))[algo, env_id]
    late = {seed: late_mean(runs.returns[seed], "mean_return", MUJOCO_STEPS) for seed in runs.finished(MUJOCO_STEPS)}
    return {seed: value for seed, value in late.items() if value is not None}


def mujoco_seed_choice(algo: str, env_id: str, results: Path) -> tuple[int, str]:
    """The seed whose final model ships, and why (the benchmark's seeds' late returns)."""
    late = late_returns(algo, env_id, results)
    if not late:
        raise FileNotFoundError(f"no finished {algo} {env_id} seed in {results}: python benchmarks/mujoco/mujoco_benchmark.py")
    seed = seed_nearest_median(late)
    returns = ", ".join(f"seed {s}: {value:,.0f}" for s, value in sorted(late.items()))
    return seed, f"nearest the median of the {len(late)} seeds' training returns over their last 100k steps ({returns})"


def evaluation_text(deterministic: Evaluation, sampled: Evaluation, seed_choice: str | None) -> str:
    """A card's evaluation: both kinds of actions, their episode lengths and forward speeds, and which seed ships."""
    lines = [
        f"Evaluated on {N_EVAL_EPISODES} episodes of a fresh env (seed {EVAL_SEED}, which no training run used), "
        "with the mean's or the mode's actions (deterministic) and with actions drawn from the policy (sampled):",
        "",
        "| actions | mean reward +/- std | episode length | forward speed (m/s) |",
        "|---|---|---|---|",
    ]
    for label, evaluation in (("deterministic", deterministic), ("sampled", sampled)):
        speed = "-" if evaluation.mean_speed is None else f"{evaluation.mean_speed:.2f}"
        score = f"{evaluation.mean_reward:.2f} +/- {evaluation.std_reward:.2f}"
        lines.append(f"| {label} | {score} | {evaluation.mean_length:,.0f} | {speed} |")
    if seed_choice is not None:
        lines += ["", f"The benchmark's seed that ships is the one {seed_choice}."]
    return "\n".join(lines)


def model_card(algo: str, env_id: str, mean: float, std: float, seed: int, evaluation: str) -> str:
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
hyperparameters (`config.yml`).

{evaluation}

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


def ship_run(algo: str, env_id: str, run: Path, out: Path) -> Path:
    """Copy a zoo run's final model and the files ``enjoy`` reads into ``out`` in rl-trained-agents' layout."""
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
    return target


def ship(algo: str, env_id: str, seed: int, scratch: Path, out: Path) -> dict:
    """Train a zoo entry with ``seed`` and ship its final model."""
    target = ship_run(algo, env_id, train(algo, env_id, seed, scratch), out)
    return write_card(algo, env_id, target, seed, None)


def ship_mujoco(algo: str, env_id: str, runs: Path, out: Path) -> dict:
    """Ship the final model of the finished MuJoCo benchmark run whose seed is nearest the median (its committed
    rows in ``MUJOCO_RESULTS``, its run folders in ``runs``)."""
    seed, seed_choice = mujoco_seed_choice(algo, env_id, MUJOCO_RESULTS)
    target = ship_run(algo, env_id, final_zoo_folder(MujocoRun(algo, env_id, seed), runs), out)
    return write_card(algo, env_id, target, seed, seed_choice)


def write_card(algo: str, env_id: str, target: Path, seed: int, seed_choice: str | None) -> dict:
    """Evaluate a shipped agent with both kinds of actions and write its results.json and model card."""
    deterministic = evaluate(algo, target / f"{env_id}.zip", env_id)
    sampled = evaluate(algo, target / f"{env_id}.zip", env_id, deterministic=False)
    results = {
        **deterministic.as_json(),
        "is_deterministic": True,
        "n_eval_episodes": N_EVAL_EPISODES,
        "eval_seed": EVAL_SEED,
        "eval_datetime": datetime.datetime.now().isoformat(timespec="seconds"),
        "sampled": sampled.as_json(),
        "training_seed": seed,
        "seed_choice": seed_choice,
    }
    write_text_whole(target / "results.json", json.dumps(results, indent=2) + "\n")
    card = model_card(algo, env_id, deterministic.mean_reward, deterministic.std_reward, seed,
                      evaluation_text(deterministic, sampled, seed_choice))  # fmt: skip
    write_text_whole(target / "README.md", card)
    print(f"{algo} {env_id}: {deterministic.mean_reward:.2f} +/- {deterministic.std_reward:.2f} deterministic, "
          f"{sampled.mean_reward:.2f} +/- {sampled.std_reward:.2f} sampled", flush=True)  # fmt: skip
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
    evaluation = (
        f"The points preset (Karpathy's Pong from Pixels agent at learning rate 1e-3, 8 games at once, updated every "
        f"512 steps of each game on the finished points) after one hour of training on 2 cores, weights only. Mean "
        f"score over {PONG_GAMES} full games with sampled actions "
        f"(`python -m sb3_vpg.pong play --model agents/reinforce/{PONG_ENV}_1/{PONG_ENV}.zip --games {PONG_GAMES}`): "
        f"{mean:.2f} +/- {std:.2f}."
    )
    card = model_card("reinforce", PONG_ENV, mean, std, 0, evaluation).replace(
        f"python -m sb3_vpg.zoo train --algo reinforce --env {PONG_ENV} -f logs --seed 0 --eval-freq -1 --num-threads 1",
        f"{PONG_TRAINING}   # 8 games on ale-py's threads; then python -m sb3_vpg.pong export",
    )
    write_text_whole(target / "README.md", card)
    print(f"reinforce {PONG_ENV}: {mean:.2f} +/- {std:.2f}", flush=True)
    return results


def table_cell(evaluation: dict | None, key: str, form: str) -> str:
    return "-" if evaluation is None or evaluation.get(key) is None else format(evaluation[key], form)


def write_table(out: Path) -> None:
    """agents/agents.md: every shipped agent with its scores, episode length, forward speed and size."""
    lines = [
        f"| algorithm | env | deterministic: mean reward +/- std ({N_EVAL_EPISODES} episodes) | sampled: mean reward +/- std "
        "| episode length, deterministic / sampled | forward speed (m/s), deterministic / sampled | training seed "
        "| model size | evaluated |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for results_file in sorted(out.glob("*/*_1/results.json")):
        algo, env_id = results_file.parent.parent.name, results_file.parent.name[: -len("_1")]
        results = json.loads(results_file.read_text())
        # the Pong agent is evaluated with sampled actions only, as Karpathy's plays
        deterministic, sampled = (results, results.get("sampled")) if results["is_deterministic"] else (None, results)
        size = (results_file.parent / f"{env_id}.zip").stat().st_size / 1e3
        scores = [
            "-" if kind is None else f"{kind['mean_reward']:.2f} +/- {kind['std_reward']:.2f}"
            for kind in (deterministic, sampled)
        ]
        lengths = " / ".join(table_cell(kind, "mean_ep_length", ",.0f") for kind in (deterministic, sampled))
        speeds = " / ".join(table_cell(kind, "mean_forward_speed", ".2f") for kind in (deterministic, sampled))
        lines.append(
            f"| {ALGO_NAMES.get(algo, algo)} | {env_id} | {scores[0]} | {scores[1]} | {lengths} | {speeds} "
            f"| {results.get('training_seed', 0)} | {size:,.0f} kB | {results['eval_datetime'][:10]} |"
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
    parser.add_argument(
        "--mujoco-only", action="store_true", help="only ship the finished MuJoCo runs, each env's seed nearest the median"
    )
    parser.add_argument("--runs", default=str(MUJOCO_RESULTS), help="mujoco_benchmark.py's --out, where its run folders are")
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
                shipped = json.loads((folder / "results.json").read_text())
                write_card(algo, env_id, folder, shipped.get("training_seed", 0), shipped.get("seed_choice"))
        write_table(out)
        return
    if args.pong_only:
        ship_pong(out)
        write_table(out)
        return
    if args.mujoco_only:
        for algo in args.algos:
            for env_id in args.envs or AGENT_MUJOCO_ENVS[algo]:
                ship_mujoco(algo, env_id, Path(args.runs), out)
        write_table(out)
        print((out / "agents.md").read_text())
        return
    jobs = [(algo, env_id) for env_id in args.envs or ENVS for algo in args.algos]
    # the longest first, so that two workers finish together
    jobs.sort(key=lambda job: ENVS.index(job[1]) if job[1] in ENVS else -1, reverse=True)
    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(lambda job: ship(job[0], job[1], args.seed, scratch, out), jobs))
    ship_pong(out)
    write_table(out)
    print((out / "agents.md").read_text())


if __name__ == "__main__":
    main()
