"""The long-run command stops, checkpoints and resumes with counters, optimizer state and running reward intact;
the Pong throughput benchmark writes its tables."""

import contextlib
import csv
import io
import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch as th

from sb3_vpg import REINFORCE
from sb3_vpg.common.files import is_temporary
from sb3_vpg.pong.run import checkpoint_model_path
from tests.benchmark_scripts import BENCHMARKS, run_main, run_script
from tests.conftest import SHIPPED_PONG_AGENT, first_in_quick_set

pytest.importorskip("ale_py", reason="the [atari] extra installs ale-py")


def run(*args: str) -> None:
    """A Pong command in this process (its end-to-end runs as a subprocess are the tests that read its output)."""
    from sb3_vpg.pong.cli import main

    main(list(args))


def test_stop_and_resume(tmp_path: Path):
    out = str(tmp_path / "run")
    train = ("train", "--out", out, "--n-episodes", "1", "--checkpoint-every", "1")
    run(*train, "--updates", "2")
    first = REINFORCE.load(checkpoint_model_path(tmp_path / "run"))
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert first._n_updates >= 1 and state["episodes"] >= 1
    assert first.policy.optimizer.state_dict()["state"], "the RMSProp state is saved"

    run(*train, "--updates", "2")
    second = REINFORCE.load(checkpoint_model_path(tmp_path / "run"))
    assert second.num_timesteps > first.num_timesteps
    assert second._n_updates > first._n_updates
    with open(tmp_path / "run" / "episodes.csv") as file:
        rows = list(csv.DictReader(file))
    assert [int(row["episode"]) for row in rows] == list(range(1, len(rows) + 1))
    assert len(rows) == json.loads((tmp_path / "run" / "state.json").read_text())["episodes"] > state["episodes"]
    # Karpathy's running reward, continued across the resume
    for previous, row in itertools.pairwise(rows):
        expected = 0.99 * float(previous["running_reward"]) + 0.01 * float(row["score"])
        assert float(row["running_reward"]) == pytest.approx(expected, abs=2e-4)
        assert int(row["steps"]) >= int(previous["steps"]) and float(row["wall_seconds"]) >= float(previous["wall_seconds"])

    run("plot", "--out", out)
    assert (tmp_path / "run" / "learning_curve.png").stat().st_size > 10_000


def test_vector_env_run(tmp_path: Path):
    out = str(tmp_path / "run")
    run("train", "--out", out, "--vector-env", "--n-envs", "2", "--n-episodes", "1", "--checkpoint-every", "1",
        "--updates", "1")  # fmt: skip
    model = REINFORCE.load(checkpoint_model_path(tmp_path / "run"))
    assert model.n_envs == 2 and model._n_updates >= 1
    with open(tmp_path / "run" / "episodes.csv") as file:
        assert len(list(csv.DictReader(file))) >= 1


@pytest.mark.slow
def test_pong_throughput_benchmark_writes_its_tables(tmp_path):
    """benchmarks/speed/pong_throughput.py on a small budget: every measurement in the CSV, ratios in the table."""
    run_script("speed/pong_throughput.py", "--configs", "vector-2", "--reps", "2", "--steps", "300", "--no-memory",
               "--out", str(tmp_path), timeout=600)  # fmt: skip
    with open(tmp_path / "pong_throughput.csv") as file:
        rows = list(csv.DictReader(file))
    measured = [(int(row["rep"]), row["what"], row["config"]) for row in rows]
    expected = [(rep, what, config) for rep in (0, 1) for what, config in
                (("karpathy-numpy-loop", "single"), ("karpathy-numpy-loop-one-blas-thread", "single"),
                 ("raw-emulator", "vector-2"), ("our-training", "vector-2"))]  # fmt: skip
    assert measured == expected
    assert all(float(row["steps_per_s"]) > 0 for row in rows)
    speed = {(int(row["rep"]), row["what"]): float(row["steps_per_s"]) for row in rows}
    to_raw = sorted(speed[rep, "our-training"] / speed[rep, "raw-emulator"] for rep in (0, 1))
    table = (tmp_path / "pong_throughput.md").read_text()
    # the median of two per-repetition ratios is their mean; the range is the two of them
    assert f"| {(to_raw[0] + to_raw[1]) / 2:.2f} [{to_raw[0]:.2f}, {to_raw[1]:.2f}] |" in table
    assert table.count("| vector-2 |") == 1


@pytest.mark.slow
def test_pong_throughput_ab_benchmark_interleaves_two_versions(tmp_path):
    """benchmarks/speed/pong_throughput_ab.py with this checkout as both versions: each repetition measures both, the
    table gives each version's ratios and ours / baseline."""
    run_script("speed/pong_throughput_ab.py", "--baseline", str(BENCHMARKS.parent), "--configs", "single", "--reps", "2",
               "--steps", "300", "--out", str(tmp_path), timeout=600)  # fmt: skip
    with open(tmp_path / "pong_throughput_ab.csv") as file:
        rows = list(csv.DictReader(file))
    # the order alternates between repetitions
    assert [(row["rep"], row["version"]) for row in rows] == [
        ("0", "ours"),
        ("0", "baseline"),
        ("1", "baseline"),
        ("1", "ours"),
    ]
    ratio = {(row["rep"], row["version"]): float(row["training_over_raw"]) for row in rows}
    assert all(value > 0 for value in ratio.values())
    relative = sorted(ratio[rep, "ours"] / ratio[rep, "baseline"] for rep in ("0", "1"))
    table = (tmp_path / "pong_throughput_ab.md").read_text()
    assert f"| {(relative[0] + relative[1]) / 2:.2f} [{relative[0]:.2f}, {relative[1]:.2f}] |" in table


# Runs the long-run command in a process that SIGKILLs itself in the middle of its second checkpoint.
KILL_MID_SAVE = """
import json, os, pathlib, signal, sys
from sb3_vpg import REINFORCE
from sb3_vpg.pong import cli

stage, out = sys.argv[1], sys.argv[2]
calls = []

def die():
    os.kill(os.getpid(), signal.SIGKILL)

# The second model save writes a torn file and the process dies; with stop_after_first the run is asked to stop
# (SIGTERM) right after the first save, so that the second is the final save at the same update.
def tear_second_save(stop_after_first):
    save = REINFORCE.save
    def torn_save(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            with open(path, "wb") as file:
                file.write(b"PK\\x03\\x04 torn")
            die()
        save(self, path, *args, **kwargs)
        if stop_after_first:
            os.kill(os.getpid(), signal.SIGTERM)  # the run stops at its next step, before update 2
    REINFORCE.save = torn_save

if stage == "model":  # the new model file half written
    tear_second_save(stop_after_first=False)
elif stage == "state":  # the model complete, the new state.json half written (to its temporary file)
    write_text = pathlib.Path.write_text
    def torn_write_text(self, data, *args, **kwargs):
        if self.name.startswith(".state."):
            calls.append(self)
            if len(calls) == 2:
                write_text(self, '{"episodes": ')
                die()
        return write_text(self, data, *args, **kwargs)
    pathlib.Path.write_text = torn_write_text
elif stage == "resave":  # stopped right after the checkpoint at update 1: the final save of update 1, torn
    tear_second_save(stop_after_first=True)
elif stage == "cleanup":  # state.json replaced, the old model file not deleted yet
    replace = os.replace
    def replace_then_die(source, target):
        replace(source, target)
        if os.path.basename(target) == "state.json":
            calls.append(target)
            if len(calls) == 2:
                die()
    os.replace = replace_then_die
cli.main(["train", "--out", out, "--n-episodes", "1", "--checkpoint-every", "1", "--hours", "1"])
"""


# test_crash_consistency.py: every write
@pytest.mark.parametrize("stage", first_in_quick_set(["model", "state", "cleanup", "resave"]))
def test_kill_in_the_middle_of_a_checkpoint_resumes_from_the_last_complete_one(tmp_path: Path, stage: str):
    out = tmp_path / "run"
    killed = subprocess.run([sys.executable, "-c", KILL_MID_SAVE, stage, str(out)], capture_output=True, text=True,
                            timeout=600)  # fmt: skip
    assert killed.returncode == -9, killed.stderr[-3000:]
    state = json.loads((out / "state.json").read_text())  # whole, never torn
    # before the replace the first checkpoint stands; after it, the second
    complete = 2 if stage == "cleanup" else 1
    assert state["model"] == f"model-{complete}.zip" and state["episodes"] == complete
    model = REINFORCE.load(checkpoint_model_path(out))
    assert model._n_updates == complete
    if stage in ("model", "resave"):  # the torn file is a temporary one; the file state.json names is whole
        torn = f"model-{2 if stage == 'model' else 1}"
        temporaries = [path for path in out.iterdir() if path.name.startswith(f".{torn}.") and is_temporary(path)]
        assert len(temporaries) == 1 and temporaries[0].read_bytes().endswith(b"torn")
        assert (stage == "resave") == (out / f"{torn}.zip").exists()

    run("train", "--out", str(out), "--n-episodes", "1", "--checkpoint-every", "1", "--updates", "1")
    state = json.loads((out / "state.json").read_text())
    resumed = REINFORCE.load(checkpoint_model_path(out))
    assert resumed._n_updates > complete and state["episodes"] - resumed._n_updates in (0, 1)  # as in the legacy test
    assert [path.name for path in out.glob("model-*")] == [state["model"]]  # stale and torn files are gone
    assert not [path.name for path in out.iterdir() if is_temporary(path)]
    with open(out / "episodes.csv") as file:
        assert [int(row["episode"]) for row in csv.DictReader(file)] == list(range(1, state["episodes"] + 1))


def test_progress_lines_help_and_plot_message(tmp_path: Path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "sb3_vpg.pong", "train", "--out", str(out), "--n-episodes", "1", "--updates", "2"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("update ")]
    assert len(lines) >= 2
    fields = re.fullmatch(r"update (\d+) \| episodes (\d+) \| steps ([\d,]+) \| running reward (-?\d+\.\d\d) \| "
                          r"([\d,]+) steps/s \| elapsed \d+:\d\d:\d\d", lines[0])  # fmt: skip
    assert fields is not None, lines[0]
    with open(out / "episodes.csv") as file:
        first = next(csv.DictReader(file))
    # update 1 came after the first episode: the line shows its steps and the running reward (= its score)
    assert (fields[1], fields[2], fields[3].replace(",", "")) == ("1", "1", first["steps"])
    assert float(fields[4]) == pytest.approx(float(first["score"]))

    plotted = subprocess.run([sys.executable, "-m", "sb3_vpg.pong", "plot", "--out", str(out)], capture_output=True,
                             text=True, timeout=600)  # fmt: skip
    assert plotted.stdout.strip() == f"wrote {out / 'learning_curve.png'}"

    def help_text(command: str) -> str:
        """``<command> --help`` in this process, its whitespace collapsed."""
        with contextlib.redirect_stdout(io.StringIO()) as printed, pytest.raises(SystemExit):
            run(command, "--help")
        return " ".join(printed.getvalue().split())

    train_help, plot_help = help_text("train"), help_text("plot")
    assert (
        "--n-episodes N_EPISODES episodes per update (default: the config's: 10; not for points, which updates "
        "every 512 steps) --seed"
    ) in train_help
    assert "(default: None)" not in train_help  # options without a default say what happens without them
    assert "seed of a new run (0 if not given;" in train_help
    for option, default in (("--hours", "1.0"), ("--checkpoint-every", "10"), ("--print-every", "1")):
        assert re.search(f"{option} [A-Z_]+ (?:(?! --).)*?\\(default: {default}\\)", train_help), option
    assert "--out OUT run folder" in plot_help and plot_help.startswith("usage: python -m sb3_vpg.pong plot")


def test_legacy_checkpoint_resumes(tmp_path: Path):
    """A run checkpointed before state.json named its model file (checkpoint.zip, no env id) resumes."""
    out = tmp_path / "run"
    run("train", "--out", str(out), "--n-episodes", "1", "--updates", "1")
    state = json.loads((out / "state.json").read_text())
    (out / state.pop("model")).rename(out / "checkpoint.zip")
    del state["env_id"]
    (out / "state.json").write_text(json.dumps(state))
    run("train", "--out", str(out), "--n-episodes", "1", "--updates", "1")
    state = json.loads((out / "state.json").read_text())
    assert state["env_id"] == "KarpathyPong-v0" and not (out / "checkpoint.zip").exists()
    # one episode per update; an episode that ends on the step where the budget runs out is logged, not trained on
    assert state["episodes"] - REINFORCE.load(out / state["model"])._n_updates in (0, 1)


def test_play_and_record_a_saved_agent(tmp_path: Path):
    """play: full games with Karpathy's stochastic actions, each score and the mean, reproducible by seed;
    record: a GIF of the end of the best game when none is won."""
    out = tmp_path / "run"
    run("train", "--out", str(out), "--n-episodes", "1", "--updates", "1")
    model = str(checkpoint_model_path(out))
    play = ["play", "--games", "2", "--seed", "3", "--env", "KarpathyPong-v0"]
    played = subprocess.run([sys.executable, "-m", "sb3_vpg.pong", *play, "--model", model], capture_output=True,
                            text=True, timeout=600)  # fmt: skip
    assert played.returncode == 0, played.stderr[-3000:]
    lines = played.stdout.splitlines()
    games = [re.fullmatch(r"game (\d): score ([+-]\d+) \((won|lost) (\d+)-(\d+)\)", line) for line in lines[:2]]
    assert all(games), lines
    for game in games:
        agent, ai = int(game[4]), int(game[5])
        assert int(game[2]) == agent - ai and 21 in (agent, ai) and (game[3] == "won") == (agent > ai)
    mean = sum(int(game[2]) for game in games) / 2
    assert lines[2] == f"mean score over 2 games: {mean:+.2f} (won {sum(game[3] == 'won' for game in games)} of 2)"

    def first_game(model_path: str) -> str:
        """The first game's line of ``play`` with the same seed, in this process."""
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            run(*play[:2], "1", *play[3:], "--model", model_path)
        return printed.getvalue().splitlines()[0]

    assert first_game(model) == lines[0]  # the same seed, the same game

    exported = tmp_path / "agent.zip"
    run("export", "--model", model, "--out", str(exported))
    original, agent = REINFORCE.load(model), REINFORCE.load(exported)
    assert agent.policy.optimizer.state_dict()["state"] == {} and original.policy.optimizer.state_dict()["state"]
    assert type(agent.policy.optimizer) is th.optim.RMSprop
    assert agent.policy.optimizer.defaults == original.policy.optimizer.defaults
    assert (agent.num_timesteps, agent._n_updates) == (original.num_timesteps, original._n_updates)
    assert exported.stat().st_size < 0.6 * Path(model).stat().st_size
    for a, b in zip(agent.policy.parameters(), original.policy.parameters(), strict=True):
        assert th.equal(a, b)
    assert first_game(str(exported)) == lines[0]  # the same weights play the same game

    gif = tmp_path / "game.gif"
    recorded = subprocess.run([sys.executable, "-m", "sb3_vpg.pong", "record", "--model", model, "--out", str(gif),
                               "--tries", "1", "--seconds", "2", "--fps", "10", "--env", "KarpathyPong-v0"],
                              capture_output=True, text=True, timeout=600)  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr[-3000:]
    from PIL import Image

    with Image.open(gif) as image:
        assert (image.n_frames, image.size) == (20, (160, 210))
    assert "no game won in 1: its best game" in recorded.stdout or "a game it won" in recorded.stdout


def test_long_run_report_finds_first_passes(tmp_path: Path):
    """benchmarks/pong/pong_long_runs.py on a synthetic run: the first episode above each threshold, or 'not yet'."""
    folder = tmp_path / "run"
    folder.mkdir()
    running = [-21.0, -15.0, -14.5, -16.0, -9.0, -5.0, -4.99]  # -15 itself does not pass -15
    with open(folder / "episodes.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(("episode", "steps", "wall_seconds", "score", "running_reward"))
        writer.writerows((i + 1, 1000 * (i + 1), 360.0 * (i + 1), -21, value) for i, value in enumerate(running))
    # one more episode after the last checkpoint: left out of the report
    with open(folder / "episodes.csv", "a", newline="") as file:
        csv.writer(file).writerow((8, 8000, 2880.0, 21, 5.0))
    (folder / "state.json").write_text(json.dumps({"env_id": "KarpathyPongClassic-v0", "episodes": 7}))
    out = tmp_path / "out"
    run_main("pong/pong_long_runs.py", "--run", f"a={folder}", "--run", f"b={folder}=Other-v0", "--out", str(out))
    table = (out / "long_runs.md").read_text()
    expected = "| 7 | 7,000 | 0.70 | -4.99 | -4.99 | 3 / 3,000 / 0.30 | 5 / 5,000 / 0.50 | 7 / 7,000 / 0.70 | not yet |"
    assert f"| a | KarpathyPongClassic-v0 {expected}" in table and f"| b | Other-v0 {expected}" in table
    assert (out / "a" / "episodes.csv").read_text().splitlines() == (folder / "episodes.csv").read_text().splitlines()[:-1]
    assert (out / "long_runs.png").stat().st_size > 10_000


@pytest.mark.slow  # a benchmark's report and a resume; the quick set resumes in test_stop_and_resume
def test_a_run_reported_with_its_checkpoint_resumes_on_another_machine(tmp_path: Path):
    """pong_long_runs.py --with-checkpoint makes <out>/<label> a whole run folder (CSV up to the checkpoint,
    state.json, one model file): copied elsewhere, as a fresh clone would have it, it resumes where the run stood."""
    folder = tmp_path / "run"
    train = ("--n-episodes", "1", "--checkpoint-every", "1", "--env", "KarpathyPongClassic-v0", "--seed", "3")
    run("train", "--out", str(folder), *train, "--updates", "2")
    (folder / "model-0.zip").write_bytes(b"an older checkpoint")  # older model files are not copied
    out = tmp_path / "results"
    for _ in range(2):  # the second report replaces the first copy
        run_main("pong/pong_long_runs.py", "--run", f"classic={folder}", "--out", str(out), "--with-checkpoint")
    state = json.loads((folder / "state.json").read_text())
    copied = out / "classic"
    assert sorted(path.name for path in copied.iterdir()) == ["episodes.csv", state["model"], "state.json"]
    assert (copied / state["model"]).read_bytes() == (folder / state["model"]).read_bytes()

    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(copied, elsewhere)
    saved = REINFORCE.load(elsewhere / state["model"])
    resumed = subprocess.run([sys.executable, "-m", "sb3_vpg.pong", "train", "--out", str(elsewhere), "--updates", "1"],
                             capture_output=True, text=True, timeout=600)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming KarpathyPongClassic-v0 (karpathy) at {saved.num_timesteps:,} steps, episode {state['episodes']:,}" in (
        resumed.stdout
    )
    again = json.loads((elsewhere / "state.json").read_text())
    assert again["episodes"] > state["episodes"] and again["seed"] == 3 and again["env_id"] == "KarpathyPongClassic-v0"


def test_fast_preset_is_karpathys_agent_with_another_training():
    from sb3_vpg.pong import fast_karpathy_kwargs, karpathy_kwargs

    fast, exact = fast_karpathy_kwargs(), karpathy_kwargs()
    # the same agent (input, 200 ReLU units without biases, one Bernoulli logit) and returns; lr 10x
    assert {key for key in fast if fast[key] != exact[key]} == {"learning_rate"}
    assert fast["learning_rate"] == 1e-3 and fast_karpathy_kwargs(learning_rate=5e-4)["learning_rate"] == 5e-4


def test_fast_preset_run_keeps_its_envs_across_a_resume(tmp_path: Path):
    out = tmp_path / "run"
    run("train", "--out", str(out), "--config", "fast", "--n-episodes", "2", "--updates", "1", "--seed", "5")
    state = json.loads((out / "state.json").read_text())
    assert {key: state[key] for key in ("config", "n_envs", "vector_env", "seed", "env_id")} == {
        "config": "fast", "n_envs": 4, "vector_env": True, "seed": 5, "env_id": "KarpathyPong-v0"}  # fmt: skip
    model = REINFORCE.load(checkpoint_model_path(out))
    assert model.n_envs == 4 and model.learning_rate == 1e-3 and model._n_updates >= 1
    run("train", "--out", str(out), "--n-episodes", "2", "--updates", "1")  # no --config, no --n-envs
    resumed = REINFORCE.load(checkpoint_model_path(out))
    assert resumed.n_envs == 4 and resumed._n_updates > model._n_updates
    result = subprocess.run([sys.executable, "-m", "sb3_vpg.pong", "train", "--out", str(out), "--config", "karpathy"],
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 2 and "--config karpathy: the run in" in result.stderr and "has config fast" in result.stderr


def test_points_preset_is_karpathys_agent_updated_on_finished_points():
    from sb3_vpg.pong import karpathy_kwargs, points_karpathy_kwargs
    from sb3_vpg.pong.run import make_env

    points, exact = points_karpathy_kwargs(), karpathy_kwargs()
    # the same agent (input, 200 ReLU units without biases, one Bernoulli logit), returns and optimizer; lr 10x, an
    # update every 512 steps of each game on the points that have ended
    changed = {key for key in points.keys() | exact.keys() if points.get(key, "unset") != exact.get(key, "unset")}
    assert changed == {"learning_rate", "n_episodes", "n_steps", "ent_coef", "use_baseline", "rollout_buffer_kwargs",
                       "policy_kwargs"}  # fmt: skip
    assert (points["learning_rate"], points["n_episodes"], points["n_steps"]) == (1e-3, None, 512)
    assert (points["ent_coef"], points["use_baseline"]) == (0.0, False)  # REINFORCE's defaults, set explicitly
    assert points["rollout_buffer_kwargs"] == {**exact["rollout_buffer_kwargs"], "ready_at": "point"}
    assert points["policy_kwargs"] == {**exact["policy_kwargs"], "value_head": False}
    assert points_karpathy_kwargs(n_steps=256)["n_steps"] == 256
    env = make_env(8, 0, vector_env=True)
    try:
        model = REINFORCE(env=env, **points)
        model.learn(8 * 512 * 2, log_interval=None)  # two updates, each on the points finished by then
        assert model._n_updates == 2 and type(model.policy.optimizer) is th.optim.RMSprop
        assert model.policy.optimizer.defaults["alpha"] == 0.99 and model.policy.optimizer.defaults["eps"] == 1e-5
        assert model.rollout_buffer.ready_at == "point" and model.normalize_advantage == "episode"
    finally:
        env.close()


@pytest.mark.slow  # 8 games; the quick set runs the vector env in test_vector_env_run
def test_points_preset_runs_8_games_on_the_vector_env_and_refuses_n_episodes(tmp_path: Path):
    out = tmp_path / "run"
    run("train", "--out", str(out), "--config", "points", "--updates", "1", "--seed", "2")
    state = json.loads((out / "state.json").read_text())
    assert {key: state[key] for key in ("config", "n_envs", "vector_env", "seed")} == {
        "config": "points", "n_envs": 8, "vector_env": True, "seed": 2}  # fmt: skip
    model = REINFORCE.load(checkpoint_model_path(out))
    assert model.n_envs == 8 and model.n_steps == 512 and model.n_episodes is None and model._n_updates == 1
    for args in (("--config", "points"), ()):  # a new run, and resuming this one
        folder = tmp_path / "new" if args else out
        command = [sys.executable, "-m", "sb3_vpg.pong", "train", "--out", str(folder), *args, "--n-episodes", "4"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert result.returncode == 2, result.stderr[-2000:]
        assert "--n-episodes 4: the points configuration updates every 512 steps of each game" in result.stderr
    assert REINFORCE.load(checkpoint_model_path(out))._n_updates == 1  # the refused resume changed nothing


def test_fast_preset_report(tmp_path: Path):
    """benchmarks/pong/pong_fast_preset.py --report-only on two synthetic 1-hour runs: values at 5/10/15/30/60 minutes
    (none before the first episode ends), minutes and agent steps to -10/-5/0/+10, and their medians (a seed that
    never got there counts as later than all)."""
    # at 12, 24, 36, 48 and 59 minutes of runs that lasted an hour (the last episode ends before the hour does)
    running = {0: [-20.0, -12.0, -9.0, -4.0, 0.5], 1: [-20.0, -15.0, -11.0, -9.5, -6.0]}
    for seed, values in running.items():
        folder = tmp_path / "runs" / f"seed{seed}"
        folder.mkdir(parents=True)
        with open(folder / "episodes.csv", "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(("episode", "steps", "wall_seconds", "score", "running_reward"))
            writer.writerows(
                (i + 1, 10_000 * (i + 1), min(720.0 * (i + 1), 3540.0), 0, value) for i, value in enumerate(values)
            )
        (folder / "state.json").write_text(json.dumps({"env_id": "KarpathyPong-v0", "episodes": 5, "wall_seconds": 3600.0}))
    out = tmp_path / "out"
    report = ("--seeds", "0", "1", "--report-only", "--runs", str(tmp_path / "runs"), "--out", str(out))
    run_main("pong/pong_fast_preset.py", *report)
    table = (out / "fast_preset.md").read_text()
    never = "not reached"

    def row(*cells: str) -> str:
        return "| " + " | ".join(cells) + " |"

    # games, agent steps, steps/s (50,000 steps by the last game, at 59 minutes), 5/10/15/30/60 minutes, minutes
    # to -10/-5/0/+10, agent steps to them
    assert row("fast", "0", "5", "50,000", "14", "-", "-", "-20.00", "-12.00", "0.50",
               "36", "48", "59", never, "30,000", "40,000", "50,000", never) in table  # fmt: skip
    assert row("fast", "1", "5", "50,000", "14", "-", "-", "-20.00", "-15.00", "-6.00",
               "48", never, never, never, "40,000", never, never, never) in table  # fmt: skip
    median = row("-", "-", "-20.00", "-13.50", "-2.75", "42", never, never, never, "35,000", never, never, never)
    assert "| **fast: median of 2** | | | | | " + median[2:] in table
    # a run stopped before the hour has no value at 60 minutes
    state = tmp_path / "runs" / "seed1" / "state.json"
    state.write_text(json.dumps({**json.loads(state.read_text()), "wall_seconds": 3000.0}))
    run_main("pong/pong_fast_preset.py", *report)
    assert "| fast | 1 | 5 | 50,000 | 14 | - | - | -20.00 | -15.00 | - |" in (out / "fast_preset.md").read_text()
    assert (out / "seed1" / "episodes.csv").exists() and (out / "fast_preset.png").stat().st_size > 10_000


@pytest.mark.slow  # two full games of the shipped agent, twice
def test_play_draws_its_actions_from_its_own_seed_not_the_models(tmp_path: Path):
    """``play --seed`` decides the games: loading a model seeds the global generators with the seed it was trained
    with (as SB3's algorithms do), so the games' seed is set after loading; the same weights saved with another
    training seed play the same games."""
    from sb3_vpg.pong.games import play_games

    reseeded = tmp_path / "reseeded.zip"
    model = REINFORCE.load(SHIPPED_PONG_AGENT)
    model.seed = model.seed + 5
    model.save(reseeded)
    assert play_games(SHIPPED_PONG_AGENT, "KarpathyPong-v0", 2, seed=3) == play_games(reseeded, "KarpathyPong-v0", 2, seed=3)
