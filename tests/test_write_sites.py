"""
Every place the package and the benchmarks write a file, found in their syntax trees: a file written whole goes
through ``sb3_vpg.common.files`` (a temporary file, flushed and renamed over the old one), so a kill leaves the old
file or the new one. The only direct writes left are the live logs of a running process and the probes that
check a file can be written, each listed below with why.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SOURCES = sorted([*(ROOT / "sb3_vpg").rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py")])
# Methods that write their receiver's file or the path given as their first argument
WRITING_METHODS = {"write_text", "write_bytes", "savefig", "to_csv", "save"}
# Names that a block of ``replaced_whole`` binds its temporary file to
TEMPORARY_NAMES = {"temporary"}
# (file, function): why a direct write is right there
DIRECT_WRITES_ALLOWED = {
    ("sb3_vpg/common/files.py", "append_lines"): "the appended log itself; readers drop a torn last line",
    ("sb3_vpg/pong/cli.py", "check_out_file"): "a probe: opens for appending, writes nothing",
    ("sb3_vpg/pong/run_folder.py", "_check_writable"): "a probe: opens for appending, writes nothing",
    ("sb3_vpg/common/on_policy_algorithm.py", "save"): "SB3's save to a file object, or to the temporary file of a path",
    ("benchmarks/shared/zoo_runs.py", "execute"): "a subprocess's live log, written while it runs; no result reads it",
    ("benchmarks/mujoco/mujoco_benchmark.py", "execute"): "a subprocess's live log, written while it runs",
    ("benchmarks/pong/pong_head_to_head.py", "train_zoo"): "a subprocess's live log, written while it runs",
    ("benchmarks/classic_control/zoo_tuning.py", "run_study"): "a subprocess's live log, appended while the study runs",
}


def _is_temporary(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Name) and node.id in TEMPORARY_NAMES


def _open_mode(call: ast.Call) -> str:
    mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
    return mode.value if isinstance(mode, ast.Constant) and isinstance(mode.value, str) else "r"


def direct_writes(path: Path) -> list[tuple[str, int, str]]:
    """(enclosing function, line, call) of each write in ``path`` that does not go to a temporary file."""
    tree = ast.parse(path.read_text(), str(path))
    found = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        if isinstance(node, ast.Call):
            callee = node.func
            first = node.args[0] if node.args else None
            if isinstance(callee, ast.Name) and callee.id == "open" and set(_open_mode(node)) & set("wax+"):
                if not _is_temporary(first):
                    found.append((function, node.lineno, ast.unparse(node)))
            elif isinstance(callee, ast.Attribute) and callee.attr in WRITING_METHODS:
                # path.write_text(...) writes its receiver; figure.savefig(path) and model.save(path) their argument
                target = callee.value if callee.attr in ("write_text", "write_bytes") else first
                if target is not None and not _is_temporary(target):  # save() without a path: not a file write
                    found.append((function, node.lineno, ast.unparse(node)))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, "<module>")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=[str(path.relative_to(ROOT)) for path in SOURCES])
def test_every_file_written_whole_goes_through_a_temporary_file(path):
    relative = str(path.relative_to(ROOT))
    writes = [(f, line, call) for f, line, call in direct_writes(path) if (relative, f) not in DIRECT_WRITES_ALLOWED]
    assert not writes, "\n".join(f"{relative}:{line} in {f}: {call}" for f, line, call in writes)


def test_the_allowed_direct_writes_exist():
    """Each allowance names a function that still writes directly: a stale one would hide a new write."""
    for relative, function in DIRECT_WRITES_ALLOWED:
        assert function in {f for f, _, _ in direct_writes(ROOT / relative)}, (relative, function)


def test_the_checker_finds_each_kind_of_write(tmp_path):
    source = tmp_path / "writes.py"
    source.write_text(
        "def f(path, fig, model, frame):\n"
        "    open(path, 'w')\n    open(path, mode='ab')\n    path.write_text('x')\n    fig.savefig(path)\n"
        "    model.save(path)\n    frame.to_csv(path)\n"
        "    with replaced_whole(path) as temporary:\n        temporary.write_text('x')\n        fig.savefig(temporary)\n"
        "    open(path)\n    open(path, 'rb')\n"
    )
    assert [line for _, line, _ in direct_writes(source)] == [2, 3, 4, 5, 6, 7]


def test_a_model_save_that_dies_midway_leaves_the_last_good_file(tmp_path, monkeypatch):
    """REINFORCE.save writes a temporary file and renames it: SB3's in-place zip would leave a torn file."""
    import stable_baselines3.common.base_class as base_class

    from sb3_vpg import REINFORCE

    model = REINFORCE("MlpPolicy", "CartPole-v1", n_steps=8, seed=0)
    model.save(tmp_path / "model")  # SB3's naming: the .zip suffix added
    good = (tmp_path / "model.zip").read_bytes()
    model.learn(16)
    write = base_class.save_to_zip_file

    def dies_midway(path, *args, **kwargs):
        write(path, *args, **kwargs)
        Path(path).write_bytes(Path(path).read_bytes()[:100])  # a torn zip, then the kill
        raise KeyboardInterrupt

    monkeypatch.setattr(base_class, "save_to_zip_file", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        model.save(tmp_path / "model")
    assert (tmp_path / "model.zip").read_bytes() == good
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.zip"]  # no temporary file left
    monkeypatch.setattr(base_class, "save_to_zip_file", write)
    model.save(tmp_path / "model.zip")
    assert REINFORCE.load(tmp_path / "model.zip").num_timesteps == model.num_timesteps
