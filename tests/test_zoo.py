"""The rl_zoo3 entry point, through rl_zoo3's real CLI code paths (small budgets)."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from sb3_vpg.zoo import ZOO_ALGOS, default_config, with_default_config
from tests.conftest import first_in_quick_set, zoo_in_process

ROOT = Path(__file__).parents[1]


def zoo(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "sb3_vpg.zoo", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.parametrize("algo", sorted(ZOO_ALGOS))
def test_shipped_config_is_found_and_used_by_default(algo):
    path = Path(default_config(algo))
    assert path.is_file()
    assert "CartPole-v1" in yaml.safe_load(path.read_text())
    one_thread = ["--num-threads", "1"]
    assert with_default_config(["--algo", algo, "--env", "CartPole-v1"])[-4:] == ["-conf", str(path), *one_thread]
    assert with_default_config(["--algo", algo, "-conf", "mine.yml"]) == ["--algo", algo, "-conf", "mine.yml", *one_thread]
    assert with_default_config(["--algo", algo, "-conf", "a.yml", "--num-threads", "2"])[-2:] == ["--num-threads", "2"]
    assert with_default_config(["--algo", "ppo"]) == ["--algo", "ppo"]


@pytest.mark.parametrize("algo", first_in_quick_set(sorted(ZOO_ALGOS)))
def test_train_then_enjoy_last_and_best_model(algo, tmp_path):
    train = zoo("train", "--algo", algo, "--env", "CartPole-v1", "-f", "logs", "-n", "4096", "--eval-freq", "1024",
                "--eval-episodes", "2", "--seed", "1", "--num-threads", "1", cwd=tmp_path)  # fmt: skip
    assert train.returncode == 0, train.stderr[-3000:]
    run_dir = tmp_path / "logs" / algo / "CartPole-v1_1"
    assert (run_dir / "CartPole-v1.zip").is_file()
    assert (run_dir / "best_model.zip").is_file()
    assert (run_dir / "evaluations.npz").is_file()
    saved = yaml.unsafe_load((run_dir / "CartPole-v1" / "config.yml").read_text())
    assert dict(saved)["n_steps"] == yaml.safe_load(Path(default_config(algo)).read_text())["CartPole-v1"]["n_steps"]
    for extra in ([], ["--load-best"]):
        # 600 steps: at least one whole episode, even of a policy that already balances for CartPole's 500 steps
        enjoy = zoo("enjoy", "--algo", algo, "--env", "CartPole-v1", "-f", "logs", "--no-render", "-n", "600", *extra,
                    cwd=tmp_path)  # fmt: skip
        assert enjoy.returncode == 0, enjoy.stderr[-3000:]
        assert "Episode Reward" in enjoy.stdout or "Atari Episode Score" in enjoy.stdout or "Mean reward" in enjoy.stdout


def test_unknown_algo_gets_rl_zoo3_error(capsys):
    code, stderr = zoo_in_process("train", "--algo", "nope", "--env", "CartPole-v1", capsys=capsys)
    assert code == 2
    assert "argument --algo: invalid choice: 'nope'" in stderr
    assert "Traceback" not in stderr


def test_unknown_env_gets_rl_zoo3_error(tmp_path):
    result = zoo("train", "--algo", "reinforce", "--env", "NopeEnv-v9", cwd=tmp_path)
    assert result.returncode == 1
    assert "ValueError: NopeEnv-v9 not found in gym registry" in result.stderr
    # raised by rl_zoo3's own check, as with `python -m rl_zoo3.train`, not from inside our code
    last_frame = [line for line in result.stderr.splitlines() if line.strip().startswith("File ")][-1]
    assert "rl_zoo3/train.py" in last_frame


def test_unknown_command_says_so(capsys):
    code, stderr = zoo_in_process("fly", capsys=capsys)
    assert code == 2
    assert "usage: python -m sb3_vpg.zoo" in stderr
    assert "error: unknown command 'fly'; choose one of train, enjoy, record_video" in stderr
    code, stderr = zoo_in_process(capsys=capsys)
    assert code == 2 and "error: no command given" in stderr


@pytest.mark.parametrize("flag", first_in_quick_set(["--help", "-h"]))
def test_help_lists_the_commands(tmp_path, flag):
    result = zoo(flag, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for command in ("train", "enjoy", "record_video", "plot_train", "all_plots", "plot_from_file"):
        assert f"\n  {command} " in result.stdout
    assert "rl_zoo3.enjoy" in result.stdout and "--algo reinforce / vpg" in result.stdout


def latest_run(folder: Path) -> Path:
    return max(folder.glob("CartPole-v1_*"), key=lambda path: int(path.name.rsplit("_", 1)[1]))


def saved_config(run_dir: Path) -> dict:
    return dict(yaml.unsafe_load((run_dir / "CartPole-v1" / "config.yml").read_text()))


def test_optimize_with_two_workers_on_sqlite_then_train_a_trial(tmp_path):
    """Two worker processes share one study through SQLite storage; --trial-id rebuilds a trial's kwargs."""
    optimize = ("train", "--algo", "reinforce", "--env", "CartPole-v1", "-f", "logs", "-optimize", "--n-trials", "1",
                "--n-jobs", "1", "--storage", "sqlite:///study.db", "--study-name", "shared", "-n", "1024",
                "--n-evaluations", "1", "--eval-episodes", "2", "--num-threads", "1")  # fmt: skip
    import optuna

    # Create the study (and the SQLite schema) once before the workers start, as with any shared Optuna storage:
    # two workers creating the schema at the same moment race ("table ... already exists").
    optuna.create_study(storage=f"sqlite:///{tmp_path / 'study.db'}", study_name="shared", direction="maximize")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "sb3_vpg.zoo", *optimize, "--seed", str(seed)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    for worker in workers:
        _, stderr = worker.communicate(timeout=600)
        assert worker.returncode == 0, stderr[-3000:]
    study = optuna.load_study(storage=f"sqlite:///{tmp_path / 'study.db'}", study_name="shared")
    assert len(study.trials) == 2
    params = study.trials[1].params

    trial = ("--storage", "sqlite:///study.db", "--study-name", "shared", "--trial-id", "1")
    train = zoo("train", "--algo", "reinforce", "--env", "CartPole-v1", "-f", "logs", *trial, "-n", "512", "--eval-freq", "-1",
                cwd=tmp_path)  # fmt: skip
    assert train.returncode == 0, train.stderr[-3000:]
    config = saved_config(latest_run(tmp_path / "logs" / "reinforce"))
    assert config["learning_rate"] == pytest.approx(params["learning_rate"])
    assert config["n_steps"] == params["n_steps"]
    assert config["normalize_advantage"] == params["normalize_advantage"]
    assert config["use_baseline"] == params["use_baseline"]
    expected_lambda = 1 - params["one_minus_gae_lambda"] if params["use_baseline"] else 1.0
    assert config["gae_lambda"] == pytest.approx(expected_lambda)
    separate = params["use_baseline"] and params["value_optimizer"] == "separate"
    assert config.get("vf_learning_rate") == (pytest.approx(params["vf_learning_rate"]) if separate else None)


@pytest.mark.slow  # the quick set's optimize run is the two-worker one
def test_vpg_study_samples_one_optimizer_or_two(tmp_path):
    """A three-trial VPG study through the zoo, trials 1 and 2 enqueued with a value optimizer of their own and
    with one optimizer; ``--trial-id`` gives each model what its trial sampled (rl_zoo3 ignores ``--trial-id 0``)."""
    import optuna

    from sb3_vpg import VPG

    storage = f"sqlite:///{tmp_path / 'vpg.db'}"
    created = optuna.create_study(storage=storage, study_name="vpg", direction="maximize")
    for value_optimizer in ("separate", "separate", "shared"):
        created.enqueue_trial({"value_optimizer": value_optimizer})
    study = ("--storage", "sqlite:///vpg.db", "--study-name", "vpg")
    optimize = zoo("train", "--algo", "vpg", "--env", "CartPole-v1", "-f", "logs", "-optimize", "--n-trials", "3",
                   "--n-jobs", "1", *study, "-n", "1024", "--n-evaluations", "1", "--eval-episodes", "2",
                   "--num-threads", "1", "--seed", "3", cwd=tmp_path)  # fmt: skip
    assert optimize.returncode == 0, optimize.stderr[-3000:]
    trials = optuna.load_study(storage=storage, study_name="vpg").trials
    assert len(trials) == 3 and all(trial.state == optuna.trial.TrialState.COMPLETE for trial in trials)
    for trial_id, expected in ((1, "separate"), (2, "shared")):
        params = trials[trial_id].params
        assert params["value_optimizer"] == expected
        assert {"learning_rate", "n_value_steps", "one_minus_gae_lambda"} <= set(params)
        train = zoo("train", "--algo", "vpg", "--env", "CartPole-v1", "-f", "logs", *study, "--trial-id", str(trial_id),
                    "-n", "512", "--eval-freq", "-1", cwd=tmp_path)  # fmt: skip
        assert train.returncode == 0, train.stderr[-3000:]
        run = latest_run(tmp_path / "logs" / "vpg")
        model = VPG.load(run / "CartPole-v1.zip")
        assert model.policy.optimizer.param_groups[0]["lr"] == pytest.approx(params["learning_rate"])
        if expected == "separate":
            assert saved_config(run)["vf_learning_rate"] == pytest.approx(params["vf_learning_rate"])
            assert model.value_optimizer.param_groups[0]["lr"] == pytest.approx(params["vf_learning_rate"])
        else:
            assert "vf_learning_rate" not in params and saved_config(run)["vf_learning_rate"] is None
            assert model.value_optimizer is None  # the policy optimizer trains the value function too


def test_python_config_params_overrides_and_continue_training(tmp_path):
    (tmp_path / "my_config.py").write_text(
        "hyperparams = {'CartPole-v1': dict(n_envs=2, n_timesteps=512, policy='MlpPolicy', n_steps=32, learning_rate=0.01)}\n"
    )
    train = zoo("train", "--algo", "vpg", "--env", "CartPole-v1", "-f", "logs", "-conf", "my_config.py",
                "-params", "n_value_steps:3", "gamma:0.95", "--eval-freq", "-1", "--seed", "1", cwd=tmp_path)  # fmt: skip
    assert train.returncode == 0, train.stderr[-3000:]
    first_dir = tmp_path / "logs" / "vpg" / "CartPole-v1_1"
    config = saved_config(first_dir)
    assert (config["n_steps"], config["n_value_steps"], config["gamma"]) == (32, 3, 0.95)

    from sb3_vpg import VPG

    first = VPG.load(first_dir / "CartPole-v1.zip")
    resumed = zoo("train", "--algo", "vpg", "--env", "CartPole-v1", "-f", "logs", "-conf", "my_config.py",
                  "-i", str(first_dir / "CartPole-v1.zip"), "--eval-freq", "-1", "--seed", "2", cwd=tmp_path)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    second = VPG.load(tmp_path / "logs" / "vpg" / "CartPole-v1_2" / "CartPole-v1.zip")
    assert second._n_updates > first._n_updates  # started from the loaded agent's counters


@pytest.mark.parametrize("algo", first_in_quick_set(sorted(ZOO_ALGOS)))
def test_record_video(algo, tmp_path):
    train = zoo("train", "--algo", algo, "--env", "CartPole-v1", "-f", "logs", "-n", "512", "--eval-freq", "-1", cwd=tmp_path)
    assert train.returncode == 0, train.stderr[-3000:]
    video = zoo("record_video", "--algo", algo, "--env", "CartPole-v1", "-f", "logs", "-n", "60", "-o", "videos", cwd=tmp_path)
    assert video.returncode == 0, video.stderr[-3000:]
    videos = list((tmp_path / "videos").glob("*.mp4"))
    assert videos and videos[0].stat().st_size > 1000


def test_zoo_karpathy_entry_is_the_karpathy_configuration():
    import numpy as np
    import torch as th
    from torch import nn

    from sb3_vpg.pong import karpathy_kwargs

    entry = dict(yaml.safe_load(Path(default_config("reinforce")).read_text())["KarpathyPong-v0"])
    # rl_zoo3 evaluates a policy_kwargs string with nn, th and np in scope
    entry["policy_kwargs"] = eval(entry["policy_kwargs"], {"nn": nn, "th": th, "np": np})
    for zoo_only in ("n_envs", "n_timesteps"):
        entry.pop(zoo_only)
    # our entry point reads a rollout_buffer_class by name, as rl_zoo3 reads replay_buffer_class
    from rl_zoo3.utils import get_class_by_name

    entry["rollout_buffer_class"] = get_class_by_name(entry["rollout_buffer_class"])
    assert entry == karpathy_kwargs()


@pytest.mark.slow  # the quick set checks the Karpathy entry's arguments in-process
def test_zoo_fast_pong_module_is_the_fast_preset(tmp_path):
    pytest.importorskip("ale_py")
    from sb3_vpg.zoo_configs.karpathy_pong_fast import hyperparams

    from sb3_vpg.pong.configs import PRESETS, fast_karpathy_kwargs

    fast_n_envs = PRESETS["fast"].n_envs

    assert hyperparams["KarpathyPong-v0"] == {"n_envs": fast_n_envs, "n_timesteps": 20_000_000, **fast_karpathy_kwargs()}
    train = zoo("train", "--algo", "reinforce", "--env", "KarpathyPong-v0", "-conf", "sb3_vpg.zoo_configs.karpathy_pong_fast",
                "-f", "logs", "-n", "8000", "-params", "n_episodes:1", "--eval-freq", "-1", "--num-threads", "1",
                "--seed", "1", cwd=tmp_path)  # fmt: skip
    assert train.returncode == 0, train.stderr[-3000:]
    from sb3_vpg import REINFORCE

    model = REINFORCE.load(tmp_path / "logs" / "reinforce" / "KarpathyPong-v0_1" / "KarpathyPong-v0.zip")
    # 4 games of about 1,000 steps each: learn() stops at 8,000 steps (2,000 per game), after updates on ended episodes
    assert model.n_envs == fast_n_envs and model.lr_schedule(1.0) == 1e-3 and model._n_updates >= 1


def test_pong_smoke_run_with_our_id(tmp_path):
    pytest.importorskip("ale_py")
    train = zoo("train", "--algo", "reinforce", "--env", "KarpathyPong-v0", "-f", "logs", "-n", "3000", "-params",
                "n_episodes:1", "--eval-freq", "-1", "--num-threads", "1", "--seed", "1", cwd=tmp_path)  # fmt: skip
    assert train.returncode == 0, train.stderr[-3000:]
    from sb3_vpg import REINFORCE
    from sb3_vpg.pong.policies import KarpathyPolicy

    model = REINFORCE.load(tmp_path / "logs" / "reinforce" / "KarpathyPong-v0_1" / "KarpathyPong-v0.zip")
    from sb3_vpg.common.sparse import SparseEpisodicRolloutBuffer

    # a random game is about 1,000 steps: learn() stops at 3,000 steps, after an update per ended episode
    assert isinstance(model.policy, KarpathyPolicy) and model._n_updates >= 1
    assert type(model.rollout_buffer) is SparseEpisodicRolloutBuffer and model.rollout_buffer.sparse_samples
    assert model.loss_reduction == "sum" and model.reset_on_reward and model.normalize_advantage == "episode"


def test_configs_ship_in_the_wheel(tmp_path):
    """Build the wheel, unpack it as site-packages would, and find the configs there (not in the checkout)."""
    import zipfile

    root = Path(__file__).parents[1]
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(root)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = tmp_path.glob("sb3_vpg-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = "from sb3_vpg.zoo import default_config; print(default_config('reinforce')); print(default_config('vpg'))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(site)},
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    for line in result.stdout.split():
        path = Path(line)
        assert path.is_relative_to(site) and path.is_file()
        assert "CartPole-v1" in yaml.safe_load(path.read_text())


# the entry of each algorithm that the quick set trains (a MuJoCo one: normalisation is the path CartPole's tests
# miss); the whole set trains the others and the atari entry (10-30 s each)
QUICK_MUJOCO_ENTRY = "HalfCheetah-v5"


def shipped_entries() -> list[Any]:
    """(algo, env id) of every shipped entry not trained elsewhere in this file; ``atari`` as Pong."""
    entries = []
    for algo in sorted(ZOO_ALGOS):
        for key in yaml.safe_load(Path(default_config(algo)).read_text()):
            if key in ("default", "CartPole-v1", "KarpathyPong-v0"):
                continue
            marks = [] if key == QUICK_MUJOCO_ENTRY else [pytest.mark.slow]
            entries.append(pytest.param(algo, "PongNoFrameskip-v4" if key == "atari" else key, marks=marks))
    return entries


@pytest.mark.parametrize(("algo", "env_id"), shipped_entries())
def test_every_shipped_entry_trains_through_the_zoo(algo, env_id, tmp_path):
    entries = yaml.safe_load(Path(default_config(algo)).read_text())
    entry = entries["atari" if env_id.startswith("Pong") else env_id]
    # one rollout of the entry's size; the MuJoCo entries (normalised, episodes of up to 1,000 steps) as many as it
    # takes every env to end an episode, so that REINFORCE updates too
    rollouts = -(-1_000 // entry["n_steps"]) if entry.get("normalize") else 1
    steps = entry["n_envs"] * entry["n_steps"] * rollouts
    train = zoo("train", "--algo", algo, "--env", env_id, "-f", "logs", "-n", str(steps), "--eval-freq", "-1", cwd=tmp_path)
    assert train.returncode == 0, train.stderr[-3000:]
    run = tmp_path / "logs" / algo / f"{env_id}_1"
    model = ZOO_ALGOS[algo].load(run / f"{env_id}.zip")
    assert model.n_envs == entry["n_envs"] and model.n_steps == entry["n_steps"] and model.num_timesteps == steps
    if entry.get("normalize"):
        assert model._n_updates >= 1 and (run / env_id / "vecnormalize.pkl").exists()
    learning_rate = entry["learning_rate"]
    if isinstance(learning_rate, str):  # the zoo's linear schedule, lin_<initial value>, annealed to 0
        initial = float(learning_rate.removeprefix("lin_"))
        assert model.lr_schedule(1.0) == pytest.approx(initial) and model.lr_schedule(0.25) == pytest.approx(initial / 4)
    else:
        assert model.lr_schedule(1.0) == learning_rate
    assert model.use_baseline == entry.get("use_baseline", algo == "vpg")
    assert model.vf_learning_rate == entry.get("vf_learning_rate", 1e-3 if algo == "vpg" else None)
    assert (model.value_optimizer is None) == (model.vf_learning_rate is None)
    assert (
        type(model.policy).__name__
        == {"MlpPolicy": "BoundedActorCriticPolicy", "CnnPolicy": "BoundedActorCriticCnnPolicy"}[entry["policy"]]
    )


def test_batching_by_episodes_from_the_command_line(tmp_path):
    """The shipped CartPole entry batches by n_steps; -params n_episodes:5 batches by episodes instead."""
    assert "n_steps" in yaml.safe_load(Path(default_config("reinforce")).read_text())["CartPole-v1"]
    train = zoo("train", "--algo", "reinforce", "--env", "CartPole-v1", "-f", "logs", "-n", "400", "--eval-freq", "-1",
                "-params", "n_episodes:5", "--seed", "1", "--num-threads", "1", cwd=tmp_path)  # fmt: skip
    assert train.returncode == 0, train.stderr[-3000:]
    from sb3_vpg import REINFORCE

    model = REINFORCE.load(tmp_path / "logs" / "reinforce" / "CartPole-v1_1" / "CartPole-v1.zip")
    assert model.n_episodes == 5 and model._n_updates >= 1


def test_params_that_are_not_python_say_what_is_accepted(tmp_path):
    train = zoo("train", "--algo", "reinforce", "--env", "CartPole-v1", "-f", "logs", "-n", "100",
                "-params", "normalize_advantage:foo", cwd=tmp_path)  # fmt: skip
    assert train.returncode == 2
    assert train.stderr.strip().splitlines()[-1] == (
        "python -m sb3_vpg.zoo train: error: -params normalize_advantage:foo: rl_zoo3 evaluates each value as Python "
        "(NameError: name 'foo' is not defined); numbers, True/False/None and quoted strings are accepted, e.g. "
        "normalize_advantage:\"'foo'\""
    )
    assert not (tmp_path / "logs").exists()


def test_checked_params_leave_other_arguments_alone():
    from sb3_vpg.zoo import with_checked_params

    args = ["--algo", "vpg", "-params", "n_steps:64", "gamma:0.9", "--seed", "1"]
    assert with_checked_params(args) == [
        "--algo",
        "vpg",
        "-params",
        "n_steps:64",
        "gamma:0.9",
        "n_episodes:None",
        "--seed",
        "1",
    ]
    assert with_checked_params(["--algo", "vpg"]) == ["--algo", "vpg"]
    both = ["-params", "n_steps:None", "n_episodes:3"]
    assert with_checked_params(both) == both


@pytest.mark.slow  # the quick set runs record_training in test_the_script_commands_take_our_algorithms
def test_record_training_records_every_checkpoint_through_our_entry_point(tmp_path):
    """rl_zoo3's record_training records each model in a subprocess (``python -m rl_zoo3.record_video``, where
    reinforce is unknown): ours goes through ``python -m sb3_vpg.zoo record_video`` and joins the videos with an
    ffmpeg (moviepy's where the machine has none)."""
    train = zoo("train", "--algo", "reinforce", "--env", "CartPole-v1", "-f", "logs", "-n", "1024", "--save-freq", "512",
                "--eval-freq", "-1", cwd=tmp_path)  # fmt: skip
    assert train.returncode == 0, train.stderr[-3000:]
    record = zoo("record_training", "--algo", "reinforce", "--env", "CartPole-v1", "-f", "logs", "-n", "50", cwd=tmp_path)
    assert record.returncode == 0, record.stderr[-3000:]
    videos = tmp_path / "logs" / "reinforce" / "CartPole-v1_1" / "videos"
    names = sorted(path.name.split("-reinforce")[0] for path in videos.glob("*-step-*.mp4"))
    assert names == ["checkpoint-1024", "checkpoint-512", "final-model"]
    assert (videos / "training.mp4").stat().st_size > sum(path.stat().st_size for path in videos.glob("*-step-*.mp4")) / 2


# The Hugging Face Hub cannot be reached from the test machines: these stand in for its three calls, so that
# push_to_hub writes every file it would upload into hub/<repo> and reports the upload instead of doing it.
OFFLINE_HUB = """
import sys
from pathlib import Path
from huggingface_hub import HfApi

HfApi.create_repo = lambda self, repo_id, **kwargs: f"https://huggingface.co/{repo_id}"
HfApi.snapshot_download = lambda self, repo_id, local_dir, **kwargs: Path(local_dir).mkdir(parents=True, exist_ok=True)
HfApi.upload_folder = lambda self, repo_id, folder_path, **kwargs: print(f"UPLOAD {folder_path} TO {repo_id}")
from sb3_vpg.zoo import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("algo", first_in_quick_set(sorted(ZOO_ALGOS)))
def test_push_to_hub_writes_what_it_would_upload_with_the_shipped_agents_card_fields(algo, tmp_path):
    train = zoo("train", "--algo", algo, "--env", "CartPole-v1", "-f", "logs", "-n", "512", "--eval-freq", "-1", cwd=tmp_path)
    assert train.returncode == 0, train.stderr[-3000:]
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "OMP_NUM_THREADS": "1"}
    push = subprocess.run(
        [sys.executable, "-c", OFFLINE_HUB, "push_to_hub", "--algo", algo, "--env", "CartPole-v1", "-f", "logs",
         "-orga", "someone", "--no-render"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert push.returncode == 0, push.stderr[-3000:]
    repo = tmp_path / "hub" / f"{algo}-CartPole-v1"
    assert f"UPLOAD {Path('hub') / repo.name} TO someone/{algo}-CartPole-v1" in push.stdout
    for name in (f"{algo}-CartPole-v1.zip", "config.yml", "args.yml", "env_kwargs.yml", "train_eval_metrics.zip",
                 "results.json", "README.md"):  # fmt: skip
        assert (repo / name).is_file(), name
    card = (repo / "README.md").read_text()
    front_matter = yaml.safe_load(card.split("---")[1])
    shipped = yaml.safe_load((ROOT / "agents" / algo / "CartPole-v1_1" / "README.md").read_text().split("---")[1])
    assert front_matter["library_name"] == shipped["library_name"] == "stable-baselines3"
    assert front_matter["model-index"][0]["name"].lower() == algo == shipped["model-index"][0]["name"].lower()
    metric = front_matter["model-index"][0]["results"][0]["metrics"][0]
    assert metric["type"] == shipped["model-index"][0]["results"][0]["metrics"][0]["type"] == "mean_reward"
    # the card's commands know our algorithms
    assert f"python -m sb3_vpg.zoo load_from_hub --algo {algo} --env CartPole-v1 -orga someone" in card
    assert "rl_zoo3." not in card and "pip install rl_zoo3" not in card


@pytest.mark.parametrize("command", first_in_quick_set(["record_training", "push_to_hub", "load_from_hub"]))
def test_the_script_commands_take_our_algorithms(command, tmp_path):
    """Their arguments are parsed under ``if __name__ == "__main__"``: ours are registered before."""
    result = zoo(command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "reinforce" in result.stdout and "vpg" in result.stdout


TINY_TOUR_ENTRY = {
    "TinyTour-v0": {"policy": "MlpPolicy", "n_envs": 8, "n_timesteps": 4000, "n_steps": 16, "learning_rate": 3e-3,
                    "use_baseline": True, "bootstrap_incomplete": False},
}  # fmt: skip


@pytest.mark.parametrize("algo", first_in_quick_set(["reinforce_mask", "vpg_mask"]))
def test_masked_algorithms_train_through_the_zoo_and_evaluate_with_masks(algo, tmp_path):
    """Training and the zoo's evaluation during it use the env's masks (every evaluated tour is feasible);
    enjoy plays without them, as rl_zoo3's enjoy passes none to predict."""
    entry = {"TinyTour-v0": {**TINY_TOUR_ENTRY["TinyTour-v0"], **({"n_value_steps": 5} if algo == "vpg_mask" else {})}}
    (tmp_path / "tour.yml").write_text(yaml.safe_dump(entry))
    common = ("--algo", algo, "--env", "TinyTour-v0", "--gym-packages", "sb3_vpg.common.envs", "-f", "logs")
    train = zoo("train", *common, "-conf", "tour.yml", "--seed", "0", "--eval-freq", "1000", "--eval-episodes", "2",
                cwd=tmp_path)  # fmt: skip
    assert train.returncode == 0, train.stderr[-3000:]
    import numpy as np

    evaluations = np.load(tmp_path / "logs" / algo / "TinyTour-v0_1" / "evaluations.npz")["results"]
    assert len(evaluations) == 4 and (evaluations > -10).all()  # -10: the cost of an infeasible city
    enjoy = zoo("enjoy", *common, "--no-render", "-n", "20", cwd=tmp_path)
    assert enjoy.returncode == 0, enjoy.stderr[-3000:]


def test_masked_algorithms_need_an_entry_of_the_users(tmp_path):
    result = zoo("train", "--algo", "reinforce_mask", "--env", "TinyTour-v0", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--algo reinforce_mask has no shipped entries" in result.stderr and "-conf <file.yml>" in result.stderr
