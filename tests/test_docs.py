"""Every Python example in the docs runs (a docs example that no longer runs turns CI red)."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[1] / "docs"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def examples() -> list[tuple[str, str]]:
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        if "_build" in page.parts:
            continue
        for number, block in enumerate(PYTHON_BLOCK.findall(page.read_text()), start=1):
            found.append((f"{page.relative_to(DOCS)}#{number}", block))
    return found


def test_the_docs_have_examples():
    pages = {name.split("#")[0] for name, _ in examples()}
    assert {"index.md", "modules/reinforce.md", "modules/vpg.md"} <= pages


@pytest.mark.parametrize(("name", "code"), examples(), ids=[name for name, _ in examples()])
def test_docs_example_runs(name, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that save a model write it here
    exec(compile(code, name, "exec"), {"__name__": "__docs__"})
