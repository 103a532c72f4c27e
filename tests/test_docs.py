"""Every Python example in the docs and the README runs (an example that no longer runs turns CI red)."""

import re
from pathlib import Path

import pytest

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


@pytest.mark.parametrize(("name", "code"), examples(), ids=[name for name, _ in examples()])
def test_docs_example_runs(name, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that save a model write it here
    exec(compile(code, name, "exec"), {"__name__": "__docs__"})
