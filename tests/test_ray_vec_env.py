"""RayVecEnv on a real two-node Ray cluster on this machine: a head and a worker node started with ``ray start`` (each
with its own ports and temp dir) by the fixture, and stopped by it."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv
from stable_baselines3.common.vec_env.base_vec_env import CloudpickleWrapper, VecEnv

from sb3_vpg import REINFORCE, VPG
from tests.conftest import RAY_TEST_ENV, one_ray_cluster_at_a_time

ray = pytest.importorskip("ray", reason="the [ray] extra installs Ray")

from sb3_vpg.common.ray_vec_env import RayVecEnv  # noqa: E402

pytestmark = pytest.mark.slow  # a cluster of two nodes starts in 10-30 s

RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_node(temp_dir: str, *head_or_address: str) -> None:
    """``ray start`` of one node, every port its own (two nodes share this machine)."""
    ports = [
        "--node-manager-port", str(free_port()), "--object-manager-port", str(free_port()),
        "--dashboard-agent-listen-port", str(free_port()), "--dashboard-agent-grpc-port", str(free_port()),
        "--runtime-env-agent-port", str(free_port()), "--metrics-export-port", str(free_port()),
        "--min-worker-port", "0", "--max-worker-port", "0",
    ]  # fmt: skip
    command = [RAY, "start", *head_or_address, "--num-cpus", "2", "--node-ip-address", "127.0.0.1", "--temp-dir", temp_dir,
               "--disable-usage-stats", *ports]  # fmt: skip
    started = subprocess.run(command, capture_output=True, text=True, timeout=180, env={**os.environ, **RAY_TEST_ENV})
    assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-3000:]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """The address of a cluster of two nodes, this process connected to it."""
    environment = mock.patch.dict(os.environ, RAY_TEST_ENV)
    environment.start()
    # short temp dirs: Ray's sockets live there, and a socket's path has at most 107 characters
    head_dir, worker_dir = tempfile.mkdtemp(prefix="rayh", dir="/tmp"), tempfile.mkdtemp(prefix="rayw", dir="/tmp")
    port = free_port()
    address = f"127.0.0.1:{port}"
    machine = one_ray_cluster_at_a_time()
    machine.__enter__()
    try:
        start_node(head_dir, "--head", "--port", str(port), "--include-dashboard", "false",
                   "--ray-client-server-port", str(free_port()))  # fmt: skip
        start_node(worker_dir, "--address", address)
        ray.init(address=address, log_to_driver=False)
        assert len([node for node in ray.nodes() if node["Alive"]]) == 2
        yield address
    finally:
        ray.shutdown()
        stop_nodes(head_dir, worker_dir)
        shutil.rmtree(head_dir, ignore_errors=True)
        shutil.rmtree(worker_dir, ignore_errors=True)
        machine.__exit__(None, None, None)
        environment.stop()


def stop_nodes(*temp_dirs: str) -> None:
    """Stop the processes of the nodes that keep their files in ``temp_dirs`` (each names its session folder on its
    command line), and only those: ``ray stop`` would stop every node of the machine, another test run's too."""
    ours = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue  # gone, or not a process
        if proc.name.isdigit() and any(temp_dir in command for temp_dir in temp_dirs):
            ours.append(int(proc.name))
    for stop in (signal.SIGTERM, signal.SIGKILL):
        for pid in ours:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, stop)
        time.sleep(2)


def gymnasium_time_limit() -> type[gym.Wrapper]:
    """gymnasium's own TimeLimit, also where rl_zoo3 has replaced ``gym.wrappers.TimeLimit`` by its subclass."""
    return next(cls for cls in gym.wrappers.TimeLimit.__mro__ if cls.__module__ == "gymnasium.wrappers.common")


def cartpoles(n: int) -> list:
    return [lambda: gym.make("CartPole-v1") for _ in range(n)]


def test_envs_are_placed_on_both_nodes(cluster):
    env = RayVecEnv(cartpoles(4), n_actors=2)
    try:
        assert env.groups == [[0, 1], [2, 3]]
        node_ids = {node["NodeID"][:12] for node in ray.nodes() if node["Alive"]}
        assert {node.split()[0] for node in env.nodes} == node_ids  # SPREAD: one actor on each node
    finally:
        env.close()


def test_the_actors_run_at_the_tests_priority(cluster):
    """The fixture's nodes run their workers at niceness 0: at Ray's default (15) the other pytest worker's tests
    starved the actors (regression: minutes to start one in the whole set)."""
    env = RayVecEnv(cartpoles(2), n_actors=2)
    try:
        niceness = ray.get([actor.__ray_call__.remote(lambda _: os.nice(0)) for actor in env.actors])
        assert niceness == [os.nice(0)] * 2
    finally:
        env.close()


def test_steps_resets_and_attributes_are_subproc_vec_envs(cluster):
    """Step for step the same as DummyVecEnv (the reference of SubprocVecEnv's behaviour): observations, rewards,
    dones, terminal observations and time-limit flags, reset infos; attributes and methods by index."""
    make = [lambda: gym.make("CartPole-v1", max_episode_steps=30) for _ in range(3)]
    ray_env, dummy = RayVecEnv(make, n_actors=2), DummyVecEnv(make)
    try:
        for env in (ray_env, dummy):
            env.seed(7)
        np.testing.assert_array_equal(ray_env.reset(), dummy.reset())
        rng = np.random.default_rng(0)
        for _ in range(100):
            actions = rng.integers(2, size=3)
            (obs, rewards, dones, infos), expected = ray_env.step(actions), dummy.step(actions)
            np.testing.assert_array_equal(obs, expected[0])
            np.testing.assert_array_equal(rewards, expected[1])
            np.testing.assert_array_equal(dones, expected[2])
            for info, expected_info in zip(infos, expected[3], strict=True):
                assert info.keys() == expected_info.keys()
                if "terminal_observation" in info:
                    np.testing.assert_array_equal(info["terminal_observation"], expected_info["terminal_observation"])
                    assert info["TimeLimit.truncated"] == expected_info["TimeLimit.truncated"]
        assert ray_env.get_attr("spec", indices=[2, 0])[0].id == "CartPole-v1"
        ray_env.set_attr("marker", 5, indices=[1, 2])
        assert ray_env.get_attr("marker", indices=[2, 1]) == [5, 5]
        assert ray_env.has_attr("marker") is False and ray_env.has_attr("spec") is True
        assert ray_env.env_method("get_wrapper_attr", "spec", indices=0)[0].id == "CartPole-v1"
        assert ray_env.env_is_wrapped(gym.wrappers.OrderEnforcing) == [True, True, True]
        assert ray_env.env_is_wrapped(gym.wrappers.RecordEpisodeStatistics, indices=[1]) == [False]
    finally:
        ray_env.close()
        dummy.close()


def test_env_is_wrapped_answers_as_subproc_vec_env_also_after_rl_zoo3_patched_time_limit(cluster):
    """SubprocVecEnv's workers are fresh processes, as the actors are: once rl_zoo3 is imported here (it replaces
    gymnasium's TimeLimit by its PatchedTimeLimit), the envs they built are not PatchedTimeLimit's instances, and
    both say so (regression: the whole test set expected True after another module had imported rl_zoo3)."""
    import rl_zoo3  # noqa: F401  # patches gymnasium.wrappers.TimeLimit for the rest of this process

    assert gym.wrappers.TimeLimit.__name__ == "PatchedTimeLimit"
    original_time_limit = gymnasium_time_limit()
    make = [lambda: gym.make("CartPole-v1", max_episode_steps=30) for _ in range(3)]
    ray_env, subproc = RayVecEnv(make, n_actors=2), SubprocVecEnv(make)
    try:
        for wrapper in (gym.wrappers.TimeLimit, gym.Wrapper, gym.wrappers.OrderEnforcing):
            assert ray_env.env_is_wrapped(wrapper) == subproc.env_is_wrapped(wrapper), wrapper
        # gymnasium's own TimeLimit, which SubprocVecEnv's pickle refuses to send (its module now names another)
        assert ray_env.env_is_wrapped(original_time_limit) == [True, True, True]
        assert ray_env.env_is_wrapped(gym.wrappers.TimeLimit) == [False, False, False]
    finally:
        ray_env.close()
        subproc.close()


@pytest.mark.parametrize("algo", [REINFORCE, VPG, A2C, PPO], ids=lambda algo: algo.__name__)
def test_the_same_seed_gives_the_same_weights_as_dummy_vec_env(cluster, algo):
    kwargs = {"n_steps": 16} if algo in (REINFORCE, VPG, PPO) else {}
    kwargs |= {"batch_size": 32} if algo is PPO else {}
    weights = []
    for vec_env in (DummyVecEnv(cartpoles(4)), RayVecEnv(cartpoles(4), n_actors=2)):
        model = algo("MlpPolicy", vec_env, seed=0, **kwargs)
        model.learn(512)
        weights.append([p.detach().clone() for p in model.policy.parameters()])
        vec_env.close()
    for ours, reference in zip(*weights, strict=True):
        assert th.equal(ours, reference)


def test_masked_reinforce_reads_the_masks_through_it(cluster):
    pytest.importorskip("sb3_contrib", reason="the [masks] extra installs sb3-contrib")
    from sb3_contrib.common.maskable.utils import get_action_masks

    from sb3_vpg import MaskableREINFORCE

    make = [lambda: gym.make("sb3_vpg.common.envs:TinyTour-v0") for _ in range(2)]  # the actors import the module too
    ray_env, dummy = RayVecEnv(make, n_actors=2), DummyVecEnv(make)
    try:
        ray_env.reset(), dummy.reset()
        np.testing.assert_array_equal(get_action_masks(ray_env), get_action_masks(dummy))
        weights = []
        for env in (dummy, ray_env):
            model = MaskableREINFORCE("MlpPolicy", env, n_steps=8, seed=0)
            model.learn(256)
            weights.append([p.detach().clone() for p in model.policy.parameters()])
        for ours, reference in zip(*weights, strict=True):
            assert th.equal(ours, reference)
    finally:
        ray_env.close()
        dummy.close()


def test_a_killed_actor_is_named_and_nothing_trained_is_lost(cluster, tmp_path):
    env = RayVecEnv(cartpoles(4), n_actors=2)
    model = REINFORCE("MlpPolicy", env, n_steps=16, seed=0)
    model.learn(640)
    trained = [p.detach().clone() for p in model.policy.parameters()]
    steps, updates = model.num_timesteps, model._n_updates
    ray.kill(env.actors[1])
    with pytest.raises(RuntimeError, match=rf"envs \[2, 3\] on node {env.nodes[1].split()[0]}"):
        model.learn(640, reset_num_timesteps=False)
    assert (model.num_timesteps, model._n_updates) == (steps, updates)
    for after, before in zip(model.policy.parameters(), trained, strict=True):
        assert th.equal(after, before)
    model.save(tmp_path / "model")
    loaded = REINFORCE.load(tmp_path / "model")
    observations = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(observations, deterministic=True)[0],
                                  model.predict(observations, deterministic=True)[0])  # fmt: skip
    # training goes on with a new env, the counters where they stood
    model.set_env(DummyVecEnv(cartpoles(4)))
    model.learn(320, reset_num_timesteps=False)
    assert model.num_timesteps >= steps + 320


def test_an_env_that_cannot_be_built_is_named(cluster):
    with pytest.raises(RuntimeError, match=r"lost the Ray actor of envs \[0\] on node not known yet: .*NoSuchEnv"):
        RayVecEnv([lambda: gym.make("NoSuchEnv-v0")])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="env_fns must build at least one env"):
        RayVecEnv([])
    with pytest.raises(ValueError, match=r"n_actors must be an integer from 1 to the number of envs \(2\), got 3"):
        RayVecEnv(cartpoles(2), n_actors=3)


def test_it_is_a_vec_env():
    assert issubclass(RayVecEnv, VecEnv)


def test_pong_games_on_the_cluster_train_as_in_subprocesses(cluster, tmp_path):
    """``python -m sb3_vpg.pong train --ray-address``: the games in Ray actors on both nodes give the update that
    the same games in SubprocVecEnv give (same seed, same steps, same weights, same episodes)."""
    pytest.importorskip("ale_py", reason="the [atari] extra installs ale-py")
    from sb3_vpg.pong.cli import main
    from sb3_vpg.pong.run import checkpoint_model_path

    common = ("--n-envs", "2", "--n-episodes", "1", "--updates", "1", "--checkpoint-every", "1", "--seed", "3")
    main(["train", "--out", str(tmp_path / "ray"), "--ray-address", cluster, *common])
    main(["train", "--out", str(tmp_path / "subproc"), *common])
    on_ray, in_subprocesses = (REINFORCE.load(checkpoint_model_path(tmp_path / name)) for name in ("ray", "subproc"))
    assert on_ray._n_updates == in_subprocesses._n_updates == 1
    assert on_ray.num_timesteps == in_subprocesses.num_timesteps
    theirs = in_subprocesses.policy.state_dict()
    for name, ours in on_ray.policy.state_dict().items():
        assert th.equal(ours, theirs[name]), name

    def episodes(name: str) -> list[tuple[str, ...]]:
        lines = (tmp_path / name / "episodes.csv").read_text().splitlines()
        header = lines[0].split(",")
        return [tuple(v for k, v in zip(header, line.split(","), strict=True) if k != "wall_seconds") for line in lines]

    assert episodes("ray") == episodes("subproc")

    with pytest.raises(SystemExit) as refused:
        main(["train", "--out", str(tmp_path / "both"), "--vector-env", "--ray-address", cluster, *common])
    assert refused.value.code == 2


def test_mujoco_benchmark_runs_are_ray_tasks_on_the_cluster(cluster, tmp_path, monkeypatch):
    """``mujoco_benchmark.py --ray-address``: two short runs as Ray tasks of the two-node cluster, through the real
    zoo CLI; each trains to its budget with its checkpoints, and a second call reuses them."""
    pytest.importorskip("mujoco", reason="the [mujoco] extra installs MuJoCo")
    from tests.benchmark_scripts import import_script

    mujoco_benchmark = import_script("mujoco/mujoco_benchmark.py")
    monkeypatch.setattr(mujoco_benchmark, "MUJOCO_STEPS", 4_000)
    monkeypatch.setattr(mujoco_benchmark, "MUJOCO_EVAL_FREQ", 2_000)
    monkeypatch.setattr(mujoco_benchmark, "CHECKPOINT_FREQ", 2_000)
    runs = [mujoco_benchmark.MujocoRun("vpg", "Hopper-v5", seed) for seed in (0, 1)]
    outcomes = list(mujoco_benchmark.results_on_ray(runs, tmp_path, cluster))
    node_ids = {node["NodeID"][:12] for node in ray.nodes() if node["Alive"]}
    for seed, outcome in enumerate(outcomes):
        assert outcome.startswith(f"trained  vpg Hopper-v5 seed {seed} from 0 steps"), outcome
        assert outcome.split(" on node ")[-1] in node_ids
        part = runs[seed].folder(tmp_path) / "from0000000"
        assert sorted(mujoco_benchmark.checkpoints(part)) == [2_000, 4_000]
    again = list(mujoco_benchmark.results_on_ray(runs, tmp_path, cluster))
    assert all(outcome.startswith("reused ") for outcome in again), again


def test_a_wrapper_class_is_sent_by_its_import_path():
    """The actors receive the wrapper class's import path, never the class: a copy of the class (what unpickling a
    class sent by value gives) names the same path, and base classes count as isinstance counts them."""
    from sb3_vpg.common.ray_vec_env import EnvGroup, class_path

    original = gymnasium_time_limit()
    copy = type(original.__name__, original.__bases__, {k: v for k, v in vars(original).items() if k != "__dict__"})
    assert copy is not original and class_path(copy) == class_path(original) == "gymnasium.wrappers.common.TimeLimit"
    group = EnvGroup(CloudpickleWrapper([lambda: gym.make("CartPole-v1"), lambda: gym.make("CartPole-v1").unwrapped]))
    assert group.is_wrapped(class_path(copy), [0, 1]) == [True, False]
    assert group.is_wrapped(class_path(gym.Wrapper), [0, 1]) == [True, False]  # a base class of TimeLimit
    assert group.is_wrapped(class_path(gym.wrappers.RecordEpisodeStatistics), [0]) == [False]
    local = type("LocalWrapper", (gym.Wrapper,), {})
    assert group.is_wrapped(class_path(local), [0]) == [False]
    # what RayVecEnv sends its actors: the path, a string that every pickle sends as it is
    with mock.patch.object(RayVecEnv, "_per_env", autospec=True, return_value=[True]) as per_env:
        assert RayVecEnv.__new__(RayVecEnv).env_is_wrapped(copy, indices=[0]) == [True]
    assert per_env.call_args.args[1:] == ("is_wrapped", [0], "gymnasium.wrappers.common.TimeLimit")
