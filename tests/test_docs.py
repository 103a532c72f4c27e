"""Every Python example in the docs and the README runs (an example that no longer runs turns CI red)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RAY_TEST_ENV, one_ray_cluster_at_a_time

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def examples() -> list[tuple[str, str]]:
    """The Python blocks of the docs pages and of the README (the front page), named page#number."""
    found = []
    for page in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]:
        if "_build" in page.parts:
            continue
        for number, block in enumerate(PYTHON_BLOCK.findall(page.read_text()), start=1):
            found.append((f"{page.relative_to(ROOT)}#{number}", block))
    return found


def test_the_docs_have_examples():
    pages = {name.split("#")[0] for name, _ in examples()}
    assert {"README.md", "docs/index.md", "docs/guide.md", "docs/modules/reinforce.md", "docs/modules/vpg.md"} <= pages


def example_params() -> list:
    """The examples as test parameters; one that starts a Ray cluster (10-30 s) runs in the whole set."""
    slow = [pytest.mark.slow]
    return [pytest.param(name, code, id=name, marks=slow if "RayVecEnv" in code else []) for name, code in examples()]


@pytest.mark.parametrize(("name", "code"), example_params())
def test_docs_example_runs(name, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that save a model write it here
    if "RayVecEnv" not in code:
        exec(compile(code, name, "exec"), {"__name__": "__docs__"})
        return
    # In a process of its own: Ray's driver state outlives ray.shutdown(), and a later cluster in this pytest worker
    # (tests/test_ray_vec_env.py) then lost its actors
    with one_ray_cluster_at_a_time():
        done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                              env={**os.environ, **RAY_TEST_ENV, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


def test_the_link_checker_finds_missing_pages_and_anchors(tmp_path):
    """CI runs .ci/check_links.py on the built site; here on a small site of its own."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("check_links", ROOT / ".ci" / "check_links.py")
    check_links = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(check_links)  # type: ignore[union-attr]
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text(
        '<a href="api.html#good">ok</a> <a href="api.html#gone">x</a> <a href="missing.html">x</a>'
        '<a href="https://example.org/#any">external</a> <a href="#top">self</a> <p id="top"></p>'
    )
    (tmp_path / "api.html").write_text('<h1 id="good">API</h1> <a href="sub/">dir</a>')
    (tmp_path / "sub" / "index.html").write_text('<a href="../index.html#nowhere">x</a>')
    assert check_links.broken_links(tmp_path) == [
        "index.html: api.html#gone (no anchor #gone in api.html)",
        "index.html: missing.html (no such file)",
        "sub/index.html: ../index.html#nowhere (no anchor #nowhere in index.html)",
    ]
