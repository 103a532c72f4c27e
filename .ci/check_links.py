"""
Every local link of the built docs leads somewhere: its page exists and, where it names an anchor, the page has an
element with that id. Sphinx's -W catches neither (viewcode's "[docs]" links on the _modules pages point at the
api page's anchors of the objects it documents, whatever it documents).

Usage: python .ci/check_links.py [docs/_build/html]
"""

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class Links(HTMLParser):
    """The ids of a page and the hrefs of its links."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)
            if tag == "a" and name == "href" and value:
                self.hrefs.append(value)


def broken_links(site: Path) -> list[str]:
    pages = {}
    for page in site.rglob("*.html"):
        parser = Links()
        parser.feed(page.read_text(encoding="utf-8"))
        pages[page.resolve()] = parser
    broken = []
    for page, parser in sorted(pages.items()):
        for href in parser.hrefs:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith("mailto:"):
                continue  # external: not checked here (no network in CI)
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            where = f"{page.relative_to(site.resolve())}: {href}"
            if target not in pages:
                if not target.exists():
                    broken.append(f"{where} (no such file)")
                continue
            if parts.fragment and unquote(parts.fragment) not in pages[target].ids:
                broken.append(f"{where} (no anchor #{parts.fragment} in {target.name})")
    return broken


if __name__ == "__main__":
    site = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/_build/html")
    broken = broken_links(site)
    print("\n".join(broken) or f"every local link and anchor of {site} resolves")
    sys.exit(1 if broken else 0)
