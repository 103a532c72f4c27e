"""
SB3's own generic tests with REINFORCE and VPG added wherever they run A2C, at the installed SB3 version.

The sdist of ``stable-baselines3`` on PyPI ships its ``tests/``. This script downloads the installed version's
sdist, copies its tests to a work folder and rewrites them there (never in this repository), then runs pytest on
the cases that train REINFORCE or VPG:

* every list, tuple or set literal of names holding ``A2C`` also holds ``REINFORCE`` and ``VPG`` (parametrisations,
  and the ``model_class in [A2C, PPO]`` checks that choose on-policy arguments); in any list or tuple, an element
  that is a tuple holding ``A2C`` (``(A2C, dict(n_steps=1))``) gets a copy for each of ours;
* ``x == A2C`` becomes ``x in (A2C, REINFORCE, VPG)`` and ``x != A2C`` its negation;
* a dict literal keyed by ``A2C`` gets the same value under ``REINFORCE`` and ``VPG``; one whose value holds ``A2C``
  gets an entry for each of ours, the key suffixed;
* ``from sb3_vpg import REINFORCE, VPG`` is added to every file that imports A2C.

``DESELECTED`` lists the cases that assert something of A2C/PPO that REINFORCE does not promise, each with why.

    python .ci/sb3_suite.py                 # the whole generic suite, pytest -n 2
    python .ci/sb3_suite.py -- -x -k gae    # extra pytest arguments after --
"""

import argparse
import ast
import subprocess
import sys
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path

OURS = ("REINFORCE", "VPG")
# SB3's test files that train an algorithm chosen by a parametrisation or an A2C/PPO branch
GENERIC_FILES = (
    "test_callbacks.py",
    "test_cnn.py",
    "test_custom_policy.py",
    "test_deterministic.py",
    "test_dict_env.py",
    "test_distributions.py",
    "test_gae.py",
    "test_identity.py",
    "test_logger.py",
    "test_predict.py",
    "test_run.py",
    "test_save_load.py",
    "test_sde.py",
    "test_spaces.py",
    "test_tensorboard.py",
    "test_train_eval_mode.py",
)
# node id (as pytest prints it after the rewrite) -> why REINFORCE/VPG is not held to it
DESELECTED = {
    **{
        f"test_gae.py::test_gae_computation[{episodes}-{gamma}-{lam}-REINFORCE]": (
            "asserts advantages of returns minus the policy's value; REINFORCE without use_baseline subtracts none "
            "and refuses gae_lambda < 1 (VPG, which has a baseline, runs it)"
        )
        for episodes in (1, 3)
        for gamma in ("1.0", "0.99")
        for lam in ("1.0", "0.9")
    },
    "test_gae.py::test_infinite_horizon": (
        "asserts that 500 steps of A2C's value learning (one optimizer, lr 0.01, 5-step rollouts) come within 1.0 of "
        "the infinite-horizon value; REINFORCE learns no value without use_baseline, VPG's value optimizer "
        "(lr 1e-3) ends 1.3 from it"
    ),
    "test_identity.py::test_discrete": (
        "asserts a reward that A2C/PPO reach within a fixed budget with their own defaults (A2C: 5-step rollouts); "
        "REINFORCE's default 2,048-step rollout makes a handful of updates in it"
    ),
    "test_identity.py::test_continuous": "as test_discrete, on the Box identity env (A2C: 2,000 steps)",
}

CONFTEST = '''
import pytest

OURS = {names!r}


def _holds_ours(value):
    if isinstance(value, (list, tuple, set)):
        return any(_holds_ours(element) for element in value)
    return getattr(value, "__name__", None) in OURS


def pytest_collection_modifyitems(config, items):
    """Only the cases that train one of ours."""
    def ours(item):
        return any(_holds_ours(value) for value in getattr(getattr(item, "callspec", None), "params", {{}}).values())

    kept = [item for item in items if ours(item)]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept
'''


class AddOurs(ast.NodeTransformer):
    """The rewrite the module docstring describes."""

    @staticmethod
    def is_a2c(node: ast.AST) -> bool:
        return isinstance(node, ast.Name) and node.id == "A2C"

    def holds_a2c(self, node: ast.AST) -> bool:
        return any(self.is_a2c(child) for child in ast.walk(node))

    @staticmethod
    def replaced(node: ast.AST, name: str) -> ast.AST:
        """A copy of ``node`` with every ``A2C`` name replaced by ``name``."""
        copy = ast.parse(ast.unparse(node), mode="eval").body
        for child in ast.walk(copy):
            if isinstance(child, ast.Name) and child.id == "A2C":
                child.id = name
        return copy

    def visit_sequence(self, node: ast.List | ast.Tuple | ast.Set) -> ast.AST:
        self.generic_visit(node)
        extra: list[ast.expr] = []
        names_only = all(isinstance(element, ast.Name) for element in node.elts)  # a list of classes, not a record
        for element in node.elts:
            if self.is_a2c(element) and names_only:
                extra += [ast.Name(id=name, ctx=ast.Load()) for name in OURS]
            elif isinstance(element, ast.Tuple | ast.List) and self.holds_a2c(element):
                extra += [self.replaced(element, name) for name in OURS]  # type: ignore[misc]
        node.elts = [*node.elts, *extra]
        return node

    visit_List = visit_Tuple = visit_Set = visit_sequence

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq | ast.NotEq) and self.is_a2c(node.comparators[0]):
            names = ast.Tuple(elts=[ast.Name(id=n, ctx=ast.Load()) for n in ("A2C", *OURS)], ctx=ast.Load())
            operator = ast.In() if isinstance(node.ops[0], ast.Eq) else ast.NotIn()
            return ast.Compare(left=node.left, ops=[operator], comparators=[names])
        return node

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        self.generic_visit(node)
        for key, value in list(zip(node.keys, node.values, strict=True)):
            if key is not None and self.is_a2c(key):
                node.keys += [ast.Name(id=name, ctx=ast.Load()) for name in OURS]
                node.values += [value] * len(OURS)
            elif isinstance(key, ast.Constant) and isinstance(key.value, str) and self.holds_a2c(value):
                node.keys += [ast.Constant(f"{key.value}_{name.lower()}") for name in OURS]
                node.values += [self.replaced(value, name) for name in OURS]  # type: ignore[misc]
        return node

    def visit_Module(self, node: ast.Module) -> ast.AST:
        self.generic_visit(node)
        imports_a2c = any(
            isinstance(child, ast.ImportFrom) and any(alias.name == "A2C" for alias in child.names) for child in node.body
        )
        if imports_a2c:
            ours = ast.ImportFrom(module="sb3_vpg", names=[ast.alias(name=name) for name in OURS], level=0)
            first = next(i for i, child in enumerate(node.body) if isinstance(child, ast.Import | ast.ImportFrom))
            node.body.insert(first, ours)
        return node


def rewrite(source: str) -> str:
    tree = AddOurs().visit(ast.parse(source))
    return ast.unparse(ast.fix_missing_locations(tree))


def fetch_tests(work: Path) -> Path:
    """The installed SB3 version's tests, from its sdist on PyPI."""
    version = metadata.version("stable-baselines3")
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", "-d", str(work)]
    subprocess.run([*command, f"stable-baselines3=={version}"], check=True)
    (sdist,) = work.glob("stable_baselines3-*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(work, filter="data")
    return work / f"stable_baselines3-{version}"


def prepare(sdist: Path) -> Path:
    """The rewritten generic tests, with SB3's pytest settings and our selection hook, in ``sdist/generic``."""
    suite = sdist / "generic"
    suite.mkdir(exist_ok=True)
    for name in GENERIC_FILES:
        (suite / name).write_text(rewrite((sdist / "tests" / name).read_text()))
    (suite / "conftest.py").write_text(CONFTEST.format(names=set(OURS)))
    return suite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="sb3-suite-"))
    work.mkdir(parents=True, exist_ok=True)
    suite = prepare(fetch_tests(work))
    deselect = [arg for node in DESELECTED for arg in ("--deselect", f"{suite.name}/{node}")]
    # SB3's pytest settings (its pyproject.toml) apply: the rootdir is the sdist
    command = [sys.executable, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider", *deselect, *args.pytest_args, suite.name]
    raise SystemExit(subprocess.run(command, cwd=suite.parent).returncode)


if __name__ == "__main__":
    main()
