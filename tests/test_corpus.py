"""The feedparser project's own test feeds (../shared/corpora/feedparser), served over loopback
through newsmon's fetch and parse stages: each is parsed or recorded as a feed error — no crash,
no hang. Skips when the corpus is absent (a clone without shared/ beside it)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.demo.server import Page
from pipeline.run import run_once

from conftest import write_config

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "feedparser"
_HEADER = re.compile(r"^Header:\s*([\w-]+):\s*(.*)$", re.MULTILINE)


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.suffix in (".xml", ".json") and p.is_file())


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpora/feedparser is absent")
def test_every_corpus_feed_is_parsed_or_recorded_as_an_error(site, tmp_path, seeds_dir, capsys):
    files = corpus_files()
    assert len(files) > 2000
    feeds = []
    for i, path in enumerate(files):
        body = path.read_bytes()
        head = body[:2000].decode("latin-1")
        headers = {k: v.strip() for k, v in _HEADER.findall(head)}
        ctype = next((v for k, v in headers.items() if k.lower() == "content-type"),
                     "application/feed+json" if path.suffix == ".json" else "application/xml")
        headers = {k: v for k, v in headers.items() if k.lower() not in ("content-type", "content-length")}
        route = f"/c/{i}"
        site.routes[route] = Page(body, content_type=ctype, headers=headers)
        feeds.append((f"c{i:04d}", site.url(route)))
    # their links point at public hosts: article pages are never fetched
    config = load_config(write_config(tmp_path, feeds, extra="fetch_pages = false\n"))
    report = run_once(config, force=True)

    assert len(report.feeds) == len(files)
    assert {f.status for f in report.feeds} <= {"ok", "error"}
    errors = [f for f in report.feeds if f.status == "error"]
    assert all(f.error for f in errors)
    assert [p for p, _ in site.requests if not p.startswith("/c/")] == []   # nothing but the feeds
    reasons = Counter(re.sub(r"\(.*", "", f.error).strip() for f in errors)
    by_folder = Counter(files[int(f.name[1:])].relative_to(CORPUS).parts[0] for f in errors)
    with capsys.disabled():
        print(f"\nfeedparser corpus over loopback: {len(files)} feeds, {len(files) - len(errors)} parsed, "
              f"{len(errors)} recorded as feed errors, {report.new_articles} articles stored")
        for reason, n in reasons.most_common():
            print(f"  {n:5d}  {reason}")
        print("  errors by folder: " + ", ".join(f"{k} {v}" for k, v in sorted(by_folder.items())))
