"""The documentation keeps its promises: the README is the front page and the manual lives in
docs/; every relative link between them (and to files of the repository) points at a file that
exists, every `#anchor` at a heading that page has, and the options table in docs/configuration.md
is what `python -m pipeline.options` prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, doc_text

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _prose(text: str) -> str:
    """The text outside fenced code blocks (a `# comment` in a TOML example is no heading)."""
    kept, fence = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence:
            kept.append(line)
    return "\n".join(kept)


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as
    hyphens, a repeated heading numbered."""
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", _prose(text), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def test_the_anchor_rule_is_githubs():
    assert anchors("# A\n## Operators' tools\n## Stories: independent reports of one event\n## newsmon web\n"
                   "```\n# not a heading\n```\n## A\n") == {
        "a", "a-1", "operators-tools", "stories-independent-reports-of-one-event", "newsmon-web"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_points_at_a_file_and_heading_that_exist(page):
    text = page.read_text()
    checked = 0
    for target in LINK.findall(_prose(text)):
        if re.match(r"[a-z]+:", target):            # https:, mailto: — not ours to check offline
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{page.name}: link to {target}: no such file"
        assert file.is_relative_to(ROOT), f"{page.name}: link to {target} leaves the repository"
        if anchor:
            assert file.suffix == ".md", f"{page.name}: anchor into a non-Markdown file: {target}"
            assert anchor in anchors(file.read_text()), f"{page.name}: link to {target}: no such heading"
        checked += 1
    assert page.name == "scaling.md" or checked, f"{page.name} links nowhere"


def test_the_readme_is_a_front_page_that_links_every_page_of_the_manual():
    readme = doc_text("README")
    assert len(readme) < 12_000, "the README is the front page; the manual goes to docs/"
    linked = {Path(t.partition("#")[0]).name for t in LINK.findall(readme) if t.startswith("docs/")}
    assert linked >= {p.name for p in (ROOT / "docs").glob("*.md")}
    assert "make demo" in readme and "make test" in readme


def test_the_options_table_is_what_python_m_pipeline_options_prints():
    printed = subprocess.run([sys.executable, "-m", "pipeline.options"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
    page = doc_text("configuration")
    block = page.split("a test keeps them equal -->\n", 1)[1].split("<!-- options end -->", 1)[0]
    assert block == printed


def test_the_exit_codes_the_cli_test_allows_are_in_the_manuals_table():
    from test_cli import DOCUMENTED_EXIT_CODES

    section = doc_text("operations").split("\n### Exit codes\n", 1)[1].split("\n## ", 1)[0]
    listed = {int(c) for row in re.findall(r"^\| ([\d, ]+) \|", section, re.MULTILINE) for c in row.split(",")}
    assert DOCUMENTED_EXIT_CODES <= listed
