"""
Tuning on several machines: two worker processes of ``python -m sb3_vpg.zoo train -optimize`` share one Optuna study
through a real PostgreSQL server and through a journal file, and stop together at ``--max-total-trials``.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

MAX_TOTAL_TRIALS = 3


def postgres_binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None)
    assert found, f"{name} not found: install Debian's postgresql package (.ci/run does)"
    return str(found)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of its own on a free loopback port, with an empty database; stopped afterwards."""
    # not under pytest's tmp_path: its folders are private to root, and the server runs as another user
    folder = Path(tempfile.mkdtemp(prefix="sb3-vpg-postgres-"))
    data, port = folder / "data", free_port()
    # PostgreSQL refuses to run as root: run it as the postgres user the package creates
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(folder, "postgres")
    subprocess.run([*as_user, postgres_binary("initdb"), "-D", str(data), "-A", "trust", "-U", "tuner"],
                   check=True, capture_output=True)  # fmt: skip
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    subprocess.run([*as_user, postgres_binary("pg_ctl"), "-D", str(data), "-o", options, "-w", "start",
                    "-l", str(folder / "server.log")], check=True, capture_output=True)  # fmt: skip
    try:
        subprocess.run([postgres_binary("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "tuner", "optuna"],
                       check=True, capture_output=True)  # fmt: skip
        yield f"postgresql://tuner@127.0.0.1:{port}/optuna"
    finally:
        subprocess.run([*as_user, postgres_binary("pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def optuna_storage(storage: str) -> str | optuna.storages.BaseStorage:
    """The storage as rl_zoo3 opens a --storage argument: a path ending in .log is a journal file."""
    if storage.endswith(".log"):
        return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(storage))
    return storage


def run_two_workers(storage: str, cwd: Path) -> list[str]:
    """Two optimize workers on one study; each worker's stderr (Optuna logs its trials there)."""
    optimize = ["train", "--algo", "reinforce", "--env", "CartPole-v1", "-f", "logs", "-optimize", "--n-trials", "10",
                "--max-total-trials", str(MAX_TOTAL_TRIALS), "--n-jobs", "1", "--storage", storage,
                "--study-name", "shared", "-n", "1024", "--n-evaluations", "1", "--eval-episodes", "2"]  # fmt: skip
    # the study (and the storage's schema) is created once before the workers start: two workers creating a fresh
    # storage at the same moment race
    optuna.create_study(storage=optuna_storage(storage), study_name="shared", direction="maximize")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    workers = []
    for seed in (1, 2):
        command = [sys.executable, "-m", "sb3_vpg.zoo", *optimize, "--seed", str(seed)]
        workers.append(subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        time.sleep(1.0)  # the first worker starts its first trial before the second asks how many there are
    outputs = []
    for worker in workers:
        _, stderr = worker.communicate(timeout=600)
        assert worker.returncode == 0, stderr[-3000:]
        outputs.append(stderr)
    return outputs


def check_study(storage: str, outputs: list[str]) -> None:
    study = optuna.load_study(storage=optuna_storage(storage), study_name="shared")
    assert len(study.trials) == MAX_TOTAL_TRIALS
    assert all(trial.state == optuna.trial.TrialState.COMPLETE for trial in study.trials)
    # every worker ran trials of the study (Optuna logs "Trial <n> finished" for the trials of its process)
    finished = [output.count("finished with value") for output in outputs]
    assert all(count >= 1 for count in finished) and sum(finished) == MAX_TOTAL_TRIALS, finished


def test_two_workers_share_a_study_on_postgresql(postgres_url, tmp_path):
    outputs = run_two_workers(postgres_url, tmp_path)
    check_study(postgres_url, outputs)


@pytest.mark.slow  # the quick set shares a study on PostgreSQL
def test_two_workers_share_a_study_in_a_journal_file(tmp_path):
    """rl_zoo3 turns a --storage path ending in .log into Optuna's JournalStorage (a file on a shared file system)."""
    outputs = run_two_workers(str(tmp_path / "study.log"), tmp_path)
    check_study(str(tmp_path / "study.log"), outputs)
