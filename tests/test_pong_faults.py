"""Faults of the Pong command line and vector env: a one-line error that names the file or option, nothing lost."""

import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch as th
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sb3_vpg import REINFORCE, VPG
from sb3_vpg.pong import cli
from sb3_vpg.pong.cli import build_parser, check_gif_options
from sb3_vpg.pong.run import StopTrainingOnRequest, checkpoint_model_path, locked_run_folder, read_state, stop_on_signals
from tests.conftest import first_in_quick_set

pytest.importorskip("ale_py", reason="the [atari] extra installs ale-py")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A run folder after one update (one episode per update)."""
    out = tmp_path_factory.mktemp("pong") / "run"
    cli.main(["train", "--out", str(out), "--n-episodes", "1", "--updates", "1"])
    return out


@pytest.fixture
def run_copy(trained_run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(trained_run, out)
    return out


def fails(capsys: pytest.CaptureFixture, *argv: str) -> str:
    """Run the command line; assert it exits with status 2 and one line on stderr; that line."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(list(argv))
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines, "no error message"
    return lines[-1]


STATE_FAULTS = {
    "torn": ('{"episodes": ', "is not valid JSON"),
    "empty": ("", "is not valid JSON"),
    "not-an-object": ("[1, 2]", "holds a JSON list, not an object"),
    "missing-keys": ('{"episodes": 1}', "lacks running_reward, wall_seconds"),
    "bogus-config": (None, "config must be one of ('karpathy', 'fast', 'points'), got 'bogus'"),
    "negative-episodes": (None, "episodes must be a count of episodes, got -4"),
}


@pytest.mark.parametrize("fault", STATE_FAULTS)
def test_unusable_state_json_is_named(capsys, run_copy, fault):
    text, message = STATE_FAULTS[fault]
    state = json.loads((run_copy / "state.json").read_text())
    if fault == "bogus-config":
        text = json.dumps({**state, "config": "bogus"})
    elif fault == "negative-episodes":
        text = json.dumps({**state, "episodes": -4})
    (run_copy / "state.json").write_text(text)
    line = fails(capsys, "train", "--out", str(run_copy), "--updates", "1")
    assert line.startswith(f"python -m sb3_vpg.pong train: error: {run_copy / 'state.json'}: ")
    assert message in line and "start a new run with another --out" in line
    assert (run_copy / "state.json").read_text() == text  # nothing was overwritten


def test_missing_model_file_is_named(capsys, run_copy):
    model = json.loads((run_copy / "state.json").read_text())["model"]
    (run_copy / model).unlink()
    line = fails(capsys, "train", "--out", str(run_copy))
    assert f"names the model file {model}, which is not in {run_copy}" in line


def test_missing_episode_log_is_named(capsys, run_copy):
    (run_copy / "episodes.csv").unlink()
    assert f"{run_copy / 'episodes.csv'}: is missing" in fails(capsys, "train", "--out", str(run_copy))
    assert "is missing" in fails(capsys, "plot", "--out", str(run_copy))


def test_several_classic_games_run_in_subprocesses(capsys, tmp_path):
    """--n-envs without --vector-env: a SubprocVecEnv whose workers register the ids themselves."""
    out = tmp_path / "run"
    cli.main(["train", "--out", str(out), "--env", "KarpathyPongClassic-v0", "--n-envs", "2", "--max-steps", "200"])
    assert "new run on KarpathyPongClassic-v0 (karpathy, 2 games)" in capsys.readouterr().out
    assert REINFORCE.load(checkpoint_model_path(out)).num_timesteps == 200


def test_max_steps_is_the_budget_of_the_run_over_its_sessions(capsys, tmp_path):
    out = tmp_path / "run"
    for _ in range(2):
        cli.main(["train", "--out", str(out), "--n-episodes", "1", "--max-steps", "300"])
    assert "the run has 300 steps, --max-steps 300: nothing to train" in capsys.readouterr().out
    assert REINFORCE.load(checkpoint_model_path(out)).num_timesteps == 300
    cli.main(["train", "--out", str(out), "--max-steps", "450"])  # a larger budget goes on to it
    assert REINFORCE.load(checkpoint_model_path(out)).num_timesteps == 450


def test_a_second_train_on_the_same_folder_is_refused(capsys, run_copy):
    episodes = (run_copy / "episodes.csv").read_text()
    with locked_run_folder(run_copy):  # a session training in it
        line = fails(capsys, "train", "--out", str(run_copy), "--updates", "1")
    assert f"--out {run_copy}: another 'train' is running in this folder (it holds {run_copy / '.lock'})" in line
    assert (run_copy / "episodes.csv").read_text() == episodes
    cli.main(["train", "--out", str(run_copy), "--max-steps", "1"])  # the lock went with the session
    assert "nothing to train" in capsys.readouterr().out


def test_a_folder_that_cannot_be_written_is_refused_before_training(capsys, tmp_path):
    # /sys: a folder that even root cannot write in
    assert "--out /sys: cannot be written (" in fails(capsys, "train", "--out", "/sys", "--updates", "1")
    (tmp_path / "file").write_text("")
    below_a_file = tmp_path / "file" / "run"
    assert f"--out {below_a_file}: cannot be written (Not a directory)" in fails(capsys, "train", "--out", str(below_a_file))


def _train_without_root_powers(out: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m sb3_vpg.pong train --out out *args`` as an ordinary user would run it: where the tests run as root,
    without the capabilities that let root write whatever the file modes say (setpriv, util-linux)."""
    command = [sys.executable, "-m", "sb3_vpg.pong", "train", "--out", str(out), *args]
    if os.geteuid() == 0:
        no_override = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--bounding-set={no_override}", f"--inh-caps={no_override}", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("read_only", "refused"),
    first_in_quick_set(
        [(".", True), ("state.json", False), ("episodes.csv", True), ("model-1.zip", False), (".lock", True)], keep=2
    ),
)
def test_a_resume_that_could_not_write_its_checkpoint_is_refused_before_training(run_copy, read_only, refused):
    """A resume writes new files in the folder (each checkpoint, then state.json, renamed over the old ones) and
    appends to episodes.csv: with either made impossible by the file modes it is refused in one line before an
    update, and the folder is as it was; a read-only file that is replaced by a rename does not stop it. (A
    read-only folder whose lock file existed trained, then failed writing its checkpoint.)"""
    before = {path.name: path.read_bytes() for path in run_copy.iterdir()}
    os.chmod(run_copy / read_only, 0o555 if read_only == "." else 0o444)
    try:
        result = _train_without_root_powers(run_copy, "--updates", "1")
    finally:
        if (run_copy / read_only).exists():  # a resume deletes the older model file
            os.chmod(run_copy / read_only, 0o755 if read_only == "." else 0o644)
    if refused:
        assert result.returncode == 2 and "update " not in result.stdout
        assert f"--out {run_copy}: cannot be written (" in result.stderr and "Permission denied" in result.stderr
        assert {path.name: path.read_bytes() for path in run_copy.iterdir()} == before
    else:
        assert result.returncode == 0, result.stderr
        assert read_state(run_copy).model == "model-2.zip"


def test_out_that_is_a_file(capsys, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    assert f"--out {tmp_path / 'file'}: is a file, not a run folder" in fails(capsys, "train", "--out", str(tmp_path / "file"))


def test_config_label_is_checked_against_the_model(capsys, run_copy):
    state = json.loads((run_copy / "state.json").read_text())
    (run_copy / "state.json").write_text(json.dumps({**state, "config": "fast"}))  # the model is the karpathy one
    line = fails(capsys, "train", "--out", str(run_copy))
    assert "says config 'fast', but its model has learning_rate=0.0001 (that config has 0.001)" in line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--n-envs", "0"], "argument --n-envs: expected a number of games from 1 to 256, got '0'"),
        (["--hours", "-1"], "argument --hours: expected a positive finite number, got '-1'"),
        (["--hours", "nan"], "argument --hours: expected a positive finite number, got 'nan'"),
        (["--n-episodes", "0"], "argument --n-episodes: expected a positive integer"),
        (["--checkpoint-every", "0"], "argument --checkpoint-every: expected a positive integer"),
        (["--seed", "-1"], "argument --seed: expected an integer in [0, 2,147,483,647] (ALE's game seeds), got '-1'"),
    ],
)
def test_bad_train_options(capsys, tmp_path, argv, message):
    assert message in fails(capsys, "train", "--out", str(tmp_path / "run"), *argv)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seed", "3"], "--seed 3: the run in {out} has seed 0; leave --seed out to resume it"),
        (["--config", "fast"], "--config fast: the run in {out} has config karpathy"),
        (["--env", "KarpathyPongClassic-v0"], "--env KarpathyPongClassic-v0: the run in {out} has env_id KarpathyPong-v0"),
    ],
)
def test_options_a_run_cannot_change_are_refused(capsys, run_copy, argv, message):
    assert message.format(out=run_copy) in fails(capsys, "train", "--out", str(run_copy), *argv)


def test_options_given_on_resume_are_applied_and_recorded(capsys, run_copy):
    cli.main(["train", "--out", str(run_copy), "--n-episodes", "2", "--updates", "1"])
    assert "resuming KarpathyPong-v0 (karpathy) at" in capsys.readouterr().out
    state = json.loads((run_copy / "state.json").read_text())
    model = REINFORCE.load(checkpoint_model_path(run_copy))
    assert model.n_episodes == 2 and model._n_updates == 2
    with open(run_copy / "episodes.csv") as file:
        assert len(list(csv.DictReader(file))) == state["episodes"] >= 3  # 1 + 2 episodes, none dropped


@pytest.mark.parametrize(
    "stop", [pytest.param(signal.SIGINT, id="ctrl-c"), pytest.param(signal.SIGTERM, id="sigterm", marks=pytest.mark.slow)]
)
def test_a_signal_stops_with_a_final_checkpoint_and_the_next_run_resumes(tmp_path: Path, stop: signal.Signals):
    """Ctrl-C (SIGINT) stops a run as SIGTERM (``kill <pid>``) does: at the next step, with a final checkpoint."""
    out = tmp_path / "run"
    command = [sys.executable, "-m", "sb3_vpg.pong", "train", "--out", str(out), "--n-episodes", "1", "--hours", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("update 2 "):  # two updates done, no checkpoint yet (every 10)
            break
    process.send_signal(stop)
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-3000:]
    if stop == signal.SIGINT:
        assert "stopping at the next step with a final checkpoint (Ctrl-C again to abort)" in stdout
    assert stdout.rstrip().endswith(f"stopped; checkpoint in {out}")
    state = json.loads((out / "state.json").read_text())
    assert REINFORCE.load(checkpoint_model_path(out))._n_updates >= 2
    with open(out / "episodes.csv") as file:
        assert len(list(csv.DictReader(file))) == state["episodes"] >= 2
    resumed = subprocess.run([*command[:-2], "--updates", "1"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0 and "resuming" in resumed.stdout
    with open(out / "episodes.csv") as file:
        assert len(list(csv.DictReader(file))) > state["episodes"]  # kept, and grown


def test_second_ctrl_c_aborts(tmp_path: Path):
    stop = StopTrainingOnRequest()
    previous = signal.getsignal(signal.SIGINT)
    with stop_on_signals(stop):
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.stop_requested
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is previous  # restored


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["play", "--games", "0"], "argument --games: expected a positive integer, got '0'"),
        (["record", "--out", "x.gif", "--seconds", "0"], "argument --seconds: expected a positive finite number"),
        (["record", "--out", "x.gif", "--seconds", "inf"], "argument --seconds: expected a positive finite number"),
        (["record", "--out", "x.gif", "--fps", "0"], "argument --fps: expected a positive finite number"),
        (["record", "--out", "x.gif", "--fps", "inf"], "argument --fps: expected a positive finite number, got 'inf'"),
        (["record", "--out", "x.gif", "--every", "0"], "argument --every: expected a positive integer"),
        (["record", "--out", "x.gif", "--tries", "0"], "argument --tries: expected a positive integer"),
    ],
)
def test_bad_game_options(capsys, trained_run, argv, message):
    model = str(checkpoint_model_path(trained_run))
    assert message in fails(capsys, *argv, "--model", model)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--fps", "0.001", "--fps 0.001: a GIF plays 0.0015 to 100 frames a second"),  # was struct.error, after the games
        ("--fps", "1e300", "--fps 1e+300: a GIF plays 0.0015 to 100 frames a second"),  # was OverflowError
        ("--seconds", "1e9", "--seconds 1e+09 at --fps 15 is 15,000,000,000 frames; a GIF of at most 10,000"),
        ("--every", "100000", "--every 100000 with --seconds 20 at --fps 15 keeps 30,000,000 game frames in memory"),
    ],
)
def test_gif_options_a_gif_cannot_take_are_refused_before_the_games(capsys, trained_run, option, value, message):
    model = str(checkpoint_model_path(trained_run))
    assert message in fails(capsys, "record", "--model", model, "--out", "x.gif", option, value)
    assert "game 1" not in capsys.readouterr().out


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    fps=st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(["0", "-1", "", "nan", "1e-300", "1e300"]),
    seconds=st.floats(allow_nan=True, allow_infinity=True),
    every=st.integers(-5, 10**12) | st.integers(1, 50_000),
)
@example(fps=0.5, seconds=1.0, every=1_000_001)  # found in CI: one GIF frame, a million game frames kept
def test_every_gif_option_value_is_used_or_refused_naming_its_option(fps, seconds, every):
    """Each value argparse could be given for --fps, --seconds and --every: refused in one line naming the option
    (argparse's type, then check_gif_options), or taken, and then the GIF's numbers are ones PIL and a deque take."""
    parser = build_parser()
    argv = [
        "record",
        "--model",
        "m.zip",
        "--out",
        "x.gif",
        "--fps",
        str(fps),
        "--seconds",
        str(seconds),
        "--every",
        str(every),
    ]
    try:
        args = parser.parse_args(argv)
    except SystemExit:
        return  # argparse printed "argument --x: expected ..." (test_bad_game_options checks the lines)
    try:
        check_gif_options(args.fps, args.seconds, args.every)
    except ValueError as error:
        assert str(error).startswith(("--fps ", "--seconds ", "--every "))
        return
    frames = max(int(args.seconds * args.fps), 1)  # as record_gif counts them
    assert frames <= 10_000 and frames * args.every <= 20_000  # kept in memory: 2 GB of raw frames at most
    assert 10 <= round(1000 / args.fps) <= 655_350  # PIL writes it as centiseconds in 16 bits


def test_record_checks_its_output_before_playing(capsys, trained_run, tmp_path):
    model = str(checkpoint_model_path(trained_run))
    missing = tmp_path / "missing" / "game.gif"
    line = fails(capsys, "record", "--model", model, "--out", str(missing))
    assert f"--out {missing}: the folder {missing.parent} does not exist" in line
    assert "must be a .gif file" in fails(capsys, "record", "--model", model, "--out", str(tmp_path / "game.png"))
    assert "--model nothing.zip: no such file" in fails(capsys, "play", "--model", "nothing.zip")


def test_outputs_that_cannot_be_written_are_named_before_the_work(capsys, trained_run, tmp_path):
    model = str(checkpoint_model_path(trained_run))
    (tmp_path / "file").write_text("")
    below_a_file = tmp_path / "file" / "game.gif"
    line = fails(capsys, "record", "--model", model, "--out", str(below_a_file))
    assert f"--out {below_a_file}: {tmp_path / 'file'} is a file, not a folder" in line
    # /sys: a folder that even root cannot write in; record finds out before it plays
    assert "--out /sys/game.gif: cannot be written (" in fails(capsys, "record", "--model", model, "--out", "/sys/game.gif")
    assert "game 1" not in capsys.readouterr().out
    assert "--out /sys/agent.zip: cannot be written (" in fails(capsys, "export", "--model", model, "--out", "/sys/agent.zip")
    line = fails(capsys, "export", "--model", model, "--out", str(tmp_path / "file" / "agent.zip"))
    assert f"--out {tmp_path / 'file' / 'agent.zip'}: {tmp_path / 'file'} is a file, not a folder" in line


def test_an_agent_of_another_env_is_refused_before_playing(capsys, tmp_path):
    from stable_baselines3.common.env_util import make_vec_env

    import sb3_vpg.pong  # noqa: F401  (KarpathyPolicy)

    agent = REINFORCE("KarpathyPolicy", make_vec_env("CartPole-v1", n_envs=1, seed=0), n_steps=8, seed=0)
    agent.save(tmp_path / "cartpole.zip")
    line = fails(capsys, "play", "--model", str(tmp_path / "cartpole.zip"), "--games", "1")
    assert f"--model {tmp_path / 'cartpole.zip'}: was trained on observations Box(" in line
    assert "but KarpathyPong-v0 has Box(-1, 1, (80, 80), int8); pass an agent trained on this env (--env)" in line


def test_an_episode_log_with_a_broken_row_is_named(capsys, run_copy):
    path = run_copy / "episodes.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, "2,,12.5,-21.0,-20.5"]) + "\n")
    line = fails(capsys, "train", "--out", str(run_copy), "--updates", "1")
    assert f"{path}: line {len(lines) + 1} is not a row of numbers (" in line
    assert f"{path}: line {len(lines) + 1} is not a row of numbers" in fails(capsys, "plot", "--out", str(run_copy))


def test_a_seed_beyond_ale_pys_32_bits_is_named(capsys, tmp_path):
    argv = ["train", "--out", str(tmp_path / "run"), "--vector-env", "--n-envs", "2", "--seed", str(2**31 - 1)]
    assert "seed must leave seed + n_envs - 1 at most 2**31 - 1 (ale-py seeds each game with a 32-bit integer), got " \
           "2147483647 for 2 games" in fails(capsys, *argv)  # fmt: skip


def test_export_writes_the_file_it_reports(capsys, trained_run, tmp_path):
    model = str(checkpoint_model_path(trained_run))
    (tmp_path / "agent").write_text("a file of the user's, not to be reported as the export")
    cli.main(["export", "--model", model, "--out", str(tmp_path / "agent")])
    assert capsys.readouterr().out.startswith(f"wrote {tmp_path / 'agent.zip'} (")
    assert REINFORCE.load(tmp_path / "agent.zip").policy.optimizer.state_dict()["state"] == {}
    assert (tmp_path / "agent").read_text().startswith("a file of the user's")
    (tmp_path / "folder.zip").mkdir()
    assert f"--out {tmp_path / 'folder.zip'}: is a folder" in fails(
        capsys, "export", "--model", model, "--out", str(tmp_path / "folder.zip")
    )


def test_export_of_a_vpg_drops_both_optimizer_states(capsys, tmp_path):
    from stable_baselines3.common.env_util import make_vec_env

    vpg = VPG("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2, seed=0), n_steps=32, n_value_steps=2, seed=0)
    vpg.learn(64)
    vpg.save(tmp_path / "vpg.zip")
    cli.main(["export", "--model", str(tmp_path / "vpg.zip"), "--out", str(tmp_path / "weights.zip")])
    exported = VPG.load(tmp_path / "weights.zip")
    assert exported.policy.optimizer.state_dict()["state"] == {} and exported.value_optimizer is not None
    assert exported.value_optimizer.state_dict()["state"] == {}
    for a, b in zip(exported.policy.parameters(), vpg.policy.parameters(), strict=True):
        assert th.equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(n_envs=0), "n_envs must be a positive integer, got 0"),
        (dict(n_envs=-1), "n_envs must be a positive integer, got -1"),
        (dict(n_envs=1.5), "n_envs must be a positive integer, got 1.5"),
        (dict(n_envs="2"), "n_envs must be a positive integer, got '2'"),
        (dict(n_envs=1, repeat_action_probability=1.5), r"repeat_action_probability must be a finite number in \[0, 1\]"),
        (dict(n_envs=1, frameskip=0), "frameskip must be a positive integer"),
        (dict(n_envs=1, seed=-3), "seed must be a non-negative integer or None"),
        (dict(n_envs=1, num_threads=-1), "num_threads must be an integer >= 0"),
    ],
)
def test_vector_env_arguments_are_checked(kwargs, message):
    from sb3_vpg.pong.vec_env import KarpathyPongVecEnv

    with pytest.raises(ValueError, match=message):
        KarpathyPongVecEnv(**kwargs)


def test_vector_env_rejects_bad_actions_and_use_after_close():
    from sb3_vpg.pong.vec_env import KarpathyPongVecEnv

    env = KarpathyPongVecEnv(2, seed=0)
    env.reset()
    for actions in (np.array([-1, 0]), np.array([0, 2]), np.array([1])):
        with pytest.raises(ValueError, match=r"actions must be 2 values in \{0 \(DOWN\), 1 \(UP\)\}"):
            env.step(actions)
    env.step(np.array([0, 1]))
    env.close()
    with pytest.raises(RuntimeError, match="is closed"):
        env.step(np.array([0, 1]))
    with pytest.raises(RuntimeError, match="is closed"):
        env.reset()
    env.close()  # twice is fine


def _frames_of_random_play(env, n_steps: int = 300) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.array([env.step(rng.integers(0, 2, env.num_envs))[0] for _ in range(n_steps)])


def test_vector_env_seeds_the_first_reset_only_as_sb3_vector_envs():
    """A seed, given to the constructor or to seed(), applies to the next reset only (SB3's VecEnv semantics): a
    reset after it goes on from the games' random state instead of replaying the same games (sticky actions)."""
    from sb3_vpg.pong.vec_env import KarpathyPongVecEnv

    first, second = KarpathyPongVecEnv(1, seed=3), KarpathyPongVecEnv(1, seed=3)
    plays = {}
    for name, env in (("first", first), ("second", second)):
        env.reset()
        before = _frames_of_random_play(env)
        env.reset()
        plays[name] = (before, _frames_of_random_play(env))
    assert np.array_equal(plays["first"][0], plays["second"][0])  # same seed, same games
    assert np.array_equal(plays["first"][1], plays["second"][1])
    assert not np.array_equal(plays["first"][0], plays["first"][1])  # a reset does not replay them
    first.seed(3)
    first.reset()
    assert np.array_equal(_frames_of_random_play(first), plays["first"][0])  # seed() replays from the start


def test_the_train_options_are_the_command_line_and_the_recorded_settings(tmp_path: Path):
    """Each field of TrainOptions is one option of `train` (and nothing else is, but --out); a new run's state.json
    records exactly the fields marked as settings, resolved."""
    from dataclasses import fields

    from sb3_vpg.pong.run import FLAGS, RECORDED, TrainOptions, train_options

    parser = cli.build_parser()
    args = parser.parse_args(["train", "--out", "x", "--env", "KarpathyPongClassic-v0", "--updates", "3", "--seed", "7",
                              "--vector-env", "--hours", "0.5"])  # fmt: skip
    assert train_options(args) == TrainOptions(
        env_id="KarpathyPongClassic-v0", max_updates=3, seed=7, vector_env=True, hours=0.5
    )
    train_flags = {flag for action in parser._subparsers._group_actions[0].choices["train"]._actions  # type: ignore[union-attr]
                   for flag in action.option_strings} - {"-h", "--help", "--out"}  # fmt: skip
    assert train_flags == set(FLAGS.values()) and len(FLAGS) == len(fields(TrainOptions))
    assert RECORDED == {"env_id": "fixed", "config": "fixed", "n_envs": "changeable", "vector_env": "changeable",
                        "seed": "fixed"}  # fmt: skip
    cli.main(["train", "--out", str(tmp_path), "--env", "KarpathyPongClassic-v0", "--n-episodes", "1", "--updates", "1",
              "--hours", "1000"])  # fmt: skip
    state = json.loads((tmp_path / "state.json").read_text())
    assert {key: state[key] for key in RECORDED} == {"env_id": "KarpathyPongClassic-v0", "config": "karpathy",
                                                     "n_envs": 1, "vector_env": False, "seed": 0}  # fmt: skip
    assert set(state) == {*RECORDED, "episodes", "running_reward", "wall_seconds", "model"}


# Values argparse may accept that a consumer may not: zero, negative, tiny, huge, not a number, empty, beyond 32 bits
EXTREME_VALUES = ["0", "-1", "1e-300", "1e300", "nan", "inf", "", "2147483648", str(2**64), "0.5"]


def _typed_options() -> list[tuple[str, str, str]]:
    """(command, flag, dest) of every option of every subcommand that takes a typed value."""
    parser = build_parser()
    choices = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    return [
        (command, action.option_strings[-1], action.dest)
        for command, subparser in choices.items()
        for action in subparser._actions
        if action.option_strings and action.type is not None
    ]


REQUIRED = {"train": ["--out", "run"], "plot": ["--out", "run"], "play": ["--model", "m.zip"],
            "record": ["--model", "m.zip", "--out", "g.gif"], "export": ["--model", "m.zip", "--out", "a.zip"]}  # fmt: skip


@pytest.mark.parametrize(("command", "flag", "dest"), _typed_options())
def test_every_typed_option_takes_a_value_its_consumer_takes_or_names_itself(capsys, command, flag, dest):
    """Each extreme value of each typed option either parses to a finite number within the option's range (ALE's
    31-bit seeds, at most MAX_GAMES games) or is refused by the parser in one line that names the option."""
    from sb3_vpg.pong.run import MAX_GAME_SEED, MAX_GAMES

    for value in EXTREME_VALUES:
        try:
            args = build_parser().parse_args([command, *REQUIRED[command], flag, value])
        except SystemExit as exit_info:
            assert exit_info.code == 2
            line = capsys.readouterr().err.strip().splitlines()[-1]
            assert f"argument {flag}: expected " in line and repr(value) in line, line
            continue
        parsed = getattr(args, dest)
        assert math.isfinite(parsed) and parsed >= 0, (flag, value, parsed)
        if flag == "--seed":
            assert parsed <= MAX_GAME_SEED
        if flag == "--n-envs":
            assert parsed <= MAX_GAMES


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    option=st.sampled_from(_typed_options()),
    value=st.one_of(
        st.integers(min_value=-(2**80), max_value=2**80).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.text(max_size=12),
    ),
)
def test_typed_option_values_drawn_by_hypothesis(capsys, option, value):
    """As above, with values hypothesis draws: every value parses to a finite number within the option's range, or
    the parser refuses it in one line that names the option (before any game is played)."""
    from sb3_vpg.pong.run import MAX_GAME_SEED, MAX_GAMES

    command, flag, dest = option
    try:
        args = build_parser().parse_args([command, *REQUIRED[command], flag, value])
    except SystemExit as exit_info:
        assert exit_info.code == 2
        line = capsys.readouterr().err.strip().splitlines()[-1]
        assert f"argument {flag}: " in line, line
        return
    parsed = getattr(args, dest)
    assert math.isfinite(parsed) and parsed >= 0, (flag, value, parsed)
    assert flag != "--seed" or parsed <= MAX_GAME_SEED
    assert flag != "--n-envs" or parsed <= MAX_GAMES


def test_extreme_accepted_values_are_used_as_given(capsys, tmp_path):
    """The largest seed ALE takes, budgets and intervals of 10^30: a run trains and resumes (whose seed, the run's
    plus its episodes, wraps within ALE's range). Before, seeds past 2**31 - 1 ended in ALE's message, not naming
    --seed."""
    out = tmp_path / "run"
    huge = str(10**30)
    cli.main(["train", "--out", str(out), "--env", "KarpathyPongClassic-v0", "--n-episodes", "1", "--updates", "1",
              "--seed", "2147483647", "--hours", "1e300", "--max-steps", huge, "--checkpoint-every", huge,
              "--print-every", huge])  # fmt: skip
    cli.main(["train", "--out", str(out), "--updates", "1"])
    assert read_state(out).settings.seed == 2147483647 and read_state(out).episodes == 2  # type: ignore[union-attr]


@pytest.mark.parametrize("command", ["record", "export"])
def test_an_out_name_the_filesystem_refuses_is_refused_naming_out(capsys, trained_run, tmp_path, command):
    """A file name longer than the filesystem takes ends in one line naming --out (was a traceback)."""
    model = str(checkpoint_model_path(trained_run))
    out = tmp_path / ("a" * 300 + (".gif" if command == "record" else ".zip"))
    line = fails(capsys, command, "--model", model, "--out", str(out))
    assert line.startswith(f"python -m sb3_vpg.pong {command}: error: --out {out}: cannot be written (File name too long)")


def test_a_resume_says_how_many_steps_its_checkpoint_did_not_keep(capsys, run_copy):
    """The final save holds the step taken after the session's last update, which a file does not keep: the
    resume line reports it (in place of learn's DroppedStepsWarning, which does not come)."""
    import warnings

    from sb3_vpg import DroppedStepsWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", DroppedStepsWarning)
        cli.main(["train", "--out", str(run_copy), "--updates", "1"])
    assert "; 1 step of running episodes not kept" in capsys.readouterr().out
