"""The feedparser project's own test feeds (../shared/corpora/feedparser), served over loopback
through newsmon's fetch and parse stages: each is parsed or recorded as a feed error — no crash,
no hang. Skips when the corpus is absent (a clone without shared/ beside it)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from conftest import write_config

from pipeline.app.pipeline import run_once
from pipeline.config import load_config
from pipeline.demo.server import Page

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
    # measured: 12 of 2,107 are no feed or broken beyond use (13 before JSON Feed was read); more
    # means a regression in what newsmon reads
    assert len(errors) <= 12
    assert [p for p, _ in site.requests if not p.startswith("/c/")] == []   # nothing but the feeds
    reasons = Counter(re.sub(r"\(.*", "", f.error).strip() for f in errors)
    by_folder = Counter(files[int(f.name[1:])].relative_to(CORPUS).parts[0] for f in errors)
    with capsys.disabled():
        print(f"\nfeedparser corpus over loopback: {len(files)} feeds, {len(files) - len(errors)} parsed, "
              f"{len(errors)} recorded as feed errors, {report.new_articles} articles stored")
        for reason, n in reasons.most_common():
            print(f"  {n:5d}  {reason}")
        print("  errors by folder: " + ", ".join(f"{k} {v}" for k, v in sorted(by_folder.items())))


EXTERNAL = CORPUS.parent / "external" / "feeds.tar.xz"
# mojibake: UTF-8 read as a single-byte charset, or bytes no charset could read
_MOJIBAKE = re.compile("Ã[\x80-\xbf]|â€|Â[\xa0-\xbf]|\ufffd")


def expected_items(body: bytes, suffix: str) -> int | None:
    """How many distinct items the file's format defines, by newsmon's identity rule (guid, else
    canonical link, else content), read by feedparser — or by the JSON Feed spec with the standard
    json module. None: no independent count (a cut-off JSON body)."""
    import io
    import json

    import feedparser

    from pipeline.stages.urls import canonical_url

    if suffix == ".json":
        try:
            data = json.loads(body.decode("utf-8-sig"), strict=False)
        except ValueError:
            return None
        if not str(data.get("version", "")).startswith(("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")):
            return 0
        entries = [{"id": str(i["id"]) if i.get("id") is not None else None, "link": i.get("url"),
                    "content": i.get("content_html") or i.get("content_text") or i.get("summary")}
                   for i in data["items"] if isinstance(i, dict)]
    else:
        entries = [{"id": e.get("id"), "link": e.get("link"), "title": e.get("title"),
                    "content": e.get("summary") or "".join(c.get("value", "") for c in e.get("content") or ())}
                   for e in feedparser.parse(io.BytesIO(body)).entries]
    keys = set()
    # items without a guid that differ only by fragment are distinct (comments, live updates)
    fragments: dict[str, set] = {}
    for e in entries:
        if not e.get("id") and canonical_url(e.get("link")):
            fragments.setdefault(canonical_url(e["link"]), set()).add(canonical_url(e["link"], keep_fragment=True))
    for e in entries:
        if e.get("id"):
            keys.add(("guid", " ".join(e["id"].split())))
        elif canonical_url(e.get("link")):
            page = canonical_url(e["link"])
            keys.add(("url", canonical_url(e["link"], keep_fragment=len(fragments[page]) > 1)))
        elif e.get("title") or e.get("content"):
            keys.add(("text", e.get("title"), e.get("content")))
    return len(keys)


@pytest.mark.skipif(not EXTERNAL.is_file(), reason="../shared/corpora/external is absent")
def test_the_100_captured_feeds_from_other_projects_lose_nothing(site, tmp_path, seeds_dir, capsys):
    """Podcasts, blogs, news sites, JSON Feed 1.0/1.1, undeclared encodings: served as a plain
    server would (no charset in the content type), each feed stores every item its format defines,
    with no title garbled, and the run has no error but for the one file that is no feed."""
    import sqlite3
    import tarfile

    with tarfile.open(EXTERNAL) as tar:
        tar.extractall(tmp_path / "captures", filter="data")
    files = sorted(p for p in (tmp_path / "captures").rglob("*") if p.is_file() and p.name != "LICENSE")
    assert len(files) == 100
    feeds, expected = [], {}
    for i, path in enumerate(files):
        body = path.read_bytes()
        ctype = "application/json" if path.suffix == ".json" else "application/xml"
        site.routes[f"/x/{i}"] = Page(body, content_type=ctype)
        name = f"x{i:03d}"
        feeds.append((name, site.url(f"/x/{i}")))
        expected[name] = expected_items(body, path.suffix)
    path = write_config(tmp_path, feeds, extra="fetch_pages = false\n")
    path.write_text(path.read_text().replace("[fetch]\n", "[fetch]\nmax_items_per_feed = 100000\n"))
    config = load_config(path)
    report = run_once(config, force=True)

    outcomes = {o.name: o for o in report.feeds}
    rel = {f"x{i:03d}": str(p.relative_to(tmp_path / "captures")) for i, p in enumerate(files)}
    errors = {rel[n]: o.error for n, o in outcomes.items() if o.status == "error"}
    # the one JSON file that is RSS written as JSON (no JSON Feed version, no items) is no feed
    assert errors == {"feeds/netnewswire/ScriptingNews.json":
                      "JSON, but not a JSON Feed (no jsonfeed.org version and items)"}
    with sqlite3.connect(config.database) as c:
        stored = dict(c.execute("SELECT feed, count(*) FROM articles GROUP BY feed").fetchall())
        titles = c.execute("SELECT feed, title FROM articles").fetchall()
    short = {rel[n]: (stored.get(n, 0), want) for n, want in expected.items()
             if want is not None and stored.get(n, 0) != want}
    assert short == {}
    assert stored[next(n for n, r in rel.items() if r.endswith("allthis-partial.json"))] == 2
    garbled = [(rel[f], t) for f, t in titles if _MOJIBAKE.search(t)]
    assert garbled == []
    all_titles = {t for _, t in titles}
    assert any(t.startswith("Masters en Psycho") and t.endswith("très complexe") for t in all_titles)
    assert any("simulações" in t for t in all_titles)
    warned = {rel[n]: o.warning for n, o in outcomes.items() if o.warning}
    with capsys.disabled():
        print(f"\nexternal captures: {len(files)} feeds, {sum(stored.values())} items stored, "
              f"{len(errors)} not a feed, {len(warned)} read with a warning")
        for path, warning in sorted(warned.items()):
            print(f"  {path}: {warning[:110]}")


OPML = CORPUS.parent / "external" / "opml.tar.xz"


@pytest.mark.skipif(not OPML.is_file(), reason="../shared/corpora/external is absent")
def test_the_24_real_opml_lists_import_whole_and_round_trip(tmp_path, seeds_dir, capsys):
    """Every outline with an xmlUrl is imported, merged as a duplicate or reported; names are
    readable in any script; `config check` passes; export -> import gives the same URLs, titles
    and tags."""
    import subprocess
    import sys
    import tarfile

    from pipeline.app.feeds import export_opml, import_opml
    from pipeline.opml import parse_opml

    with tarfile.open(OPML) as tar:
        tar.extractall(tmp_path / "opml", filter="data")
    lists = sorted(p for p in (tmp_path / "opml").rglob("*.opml"))
    assert len(lists) == 24
    totals = Counter()
    for i, path in enumerate(lists):
        folder = tmp_path / f"c{i}"
        folder.mkdir()
        (folder / "seeds").symlink_to(seeds_dir)
        config_path = folder / "newsmon.toml"
        config_path.write_text('[storage]\ndatabase = "newsmon.db"\n[seeds]\ndirectory = "seeds"\n'
                               '[digest]\ndirectory = "reports"\n')
        data = path.read_bytes()
        outlines = len(re.findall(rb"xmlUrl\s*=", data, re.IGNORECASE))
        report = import_opml(config_path, data)
        unread = [p for p in report.problems if "could not be read" in p]
        assert report.added + report.duplicates + len(report.invalid) + len(unread) == outlines, path
        check = subprocess.run([sys.executable, "-m", "pipeline", "config", "check", "--config", str(config_path)],
                               capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, (path, check.stdout, check.stderr)
        config = load_config(config_path)
        assert not [f.name for f in config.feeds if re.fullmatch(r"feed(-\d+)?", f.name)], path
        back = {(f.url, f.title, f.tags) for f in parse_opml(export_opml(config)).feeds}
        assert back == {(f.url, f.title or f.name, f.tags) for f in config.feeds}, path
        totals.update(outlines=outlines, added=report.added, duplicates=report.duplicates,
                      invalid=len(report.invalid), salvaged=len(report.problems) - len(unread), unread=len(unread),
                      schemeless=report.schemeless)
    assert totals["unread"] == 0 and totals["invalid"] == 0
    with capsys.disabled():
        print(f"\nOPML lists: {len(lists)}, {totals['outlines']} outlines: {totals['added']} imported, "
              f"{totals['duplicates']} duplicates merged, {totals['schemeless']} without a scheme taken as https, "
              f"{totals['salvaged']} problems reported (ill-formed outlines read from their line), "
              f"{totals['invalid']} invalid, {totals['unread']} unread")
