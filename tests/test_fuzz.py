"""Property-based fuzzing (Hypothesis): generated hostile feeds never stop a run or reach a reader raw.

Each example serves one generated feed — RSS, Atom or JSON Feed, with hostile links, ports, hosts,
dates, entities, character references, control and bidi characters, huge strings, wrong or
missing encodings, truncated bodies, and hostile status lines and headers (Retry-After forms,
content types, reason phrases) — over loopback beside a healthy feed whose items are new each
time. The properties, checked on every example:
- the run completes (no exception leaves it) and records both feeds;
- every item of the healthy feed is stored;
- no control, escape or bidi character is stored, in an outcome (what `run` prints) or in any of
  the day's digest files.
One pipeline (and worker pool) serves all examples, each on its own day, as the daemon would.

Profiles: NEWSMON_FUZZ_PROFILE=ci (the default, in `make test`: a few hundred examples) or
`fuzz` (`make fuzz`: 2,000 examples and more).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import SEEDS, write_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.app.pipeline import Pipeline
from pipeline.config import FeedConfig, load_config
from pipeline.demo.server import LoopbackSite, Page
from pipeline.demo.site import FeedItem, rss_feed
from pipeline.storage.store import Store

_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]
settings.register_profile("ci", max_examples=250, deadline=timedelta(seconds=30),
                          suppress_health_check=_CHECKS, derandomize=False, print_blob=True)
settings.register_profile("fuzz", max_examples=2500, deadline=timedelta(seconds=30),
                          suppress_health_check=_CHECKS, print_blob=True)
PROFILE = os.environ.get("NEWSMON_FUZZ_PROFILE", "ci")
settings.load_profile(PROFILE)

RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

HOSTILE_BITS = [
    "\x1b[2J", "\x1b]0;pwned\x07", "\x1b]8;;http://evil\x07", "\x9b31m", "\x1b", "\u202e", "\u2066", "\u200f",
    "\x00", "\x07", "\x7f", "\x85", "\ufeff", "\ufffe", "&#xD800;", "&#x110000;", "&#0;", "&#x1b;", "&#27;",
    "&#x202e;", "&#99999999999;", "&undefined;", "&amp;", "&lt;b&gt;x&lt;/b&gt;", "&nbsp;", "<b>bold</b>",
    "<script>alert(1)</script>", "]]>", "<![CDATA[", "<", ">", "&", '"', "'", "\r\n", "\t", "é", "ё", "中",
    "🙂", "A" * 5000, "word. " * 3000,
]
HOSTILE_LINKS = [
    "http://h:99999/x", "http://h:abc/x", "http://a..b/x", "http://[::1/x", "http://-/x", "http:///x",
    "javascript:alert(1)", "file:///etc/passwd", "data:text/html,<script>", "//example.org/x", "/relative",
    "http://x.example/a<img src=x onerror=alert(1)>", "http://x.example/\x1b[2J", "https://\u202eevil.example/",
    "http://example.org/p#frag", "http://example.org/p#other", "http://" + "a" * 70 + ".example/",
    "https://example.org/" + "x" * 5000, "http://user:pass@example.org:0/", "http://127.0.0.1:1/x", "",
]
DATES = ["", "Mon, 99 Foo 9999 99:99:99 GMT", "0000-00-00T00:00:00Z", "2026-11-23T05:00:00Z",
         "9999-12-31T23:59:59Z", "-1", "1e309", "nan", "Tue, 24 Nov 2026 07:00:00 +9900",
         "1969-12-31T23:59:59Z", "2026-02-30T25:61:61Z"]
RETRY_AFTER = ["nan", "inf", "-inf", "-5", "1e309", "0", "3600", "99999999999999999999", "garbage",
               "Wed, 21 Oct 2015 07:28:00 GMT", "Mon, 99 Foo 9999"]
CONTENT_TYPES = ["application/rss+xml", "application/atom+xml", "application/feed+json", "application/json",
                 "text/xml; charset=utf-8", "text/xml; charset=latin-1", "text/html", "text/plain; charset=bogus",
                 "application/xml; charset=utf-16", "application/octet-stream", ""]
ENCODINGS = ["utf-8", "latin-1", "cp1251", "utf-16", "cp1252"]


def hostile_text(max_parts: int = 6) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(st.sampled_from(HOSTILE_BITS), st.text(max_size=40)), max_size=max_parts).map("".join)


@st.composite
def hostile_feed(draw) -> tuple[Page, bool]:
    """A generated feed body and response, and whether its pages are fetched."""
    kind = draw(st.sampled_from(["rss", "atom", "json"]))
    items = draw(st.lists(st.fixed_dictionaries({
        "guid": st.one_of(st.none(), hostile_text(2), st.sampled_from(["dup", "dup", "1"])),
        "title": hostile_text(),
        "link": st.one_of(st.sampled_from(HOSTILE_LINKS), hostile_text(2)),
        "date": st.one_of(st.sampled_from(DATES), hostile_text(1)),
        "text": hostile_text(8),
    }), max_size=8))
    escape = draw(st.booleans())                  # raw injection or escaped text
    esc = (lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")) if escape else (lambda s: s)
    if kind == "json":
        body = json.dumps({"version": draw(st.sampled_from(["https://jsonfeed.org/version/1.1",
                                                            "https://jsonfeed.org/version/1", "bogus"])),
                           "title": draw(hostile_text(2)),
                           "items": [{"id": it["guid"], "url": it["link"], "title": it["title"],
                                      "content_html": it["text"], "date_published": it["date"]}
                                     for it in items] + draw(st.lists(st.sampled_from([1, None, "x", [], {}]), max_size=2))},
                          ensure_ascii=draw(st.booleans()))
    elif kind == "rss":
        body = ('<rss version="2.0"><channel><title>' + esc(draw(hostile_text(2))) + "</title>" + "".join(
            "<item>" + (f"<guid>{esc(it['guid'])}</guid>" if it["guid"] is not None else "")
            + f"<title>{esc(it['title'])}</title><link>{esc(it['link'])}</link>"
            + f"<pubDate>{esc(it['date'])}</pubDate><description>{esc(it['text'])}</description></item>"
            for it in items) + "</channel></rss>")
    else:
        body = ('<feed xmlns="http://www.w3.org/2005/Atom"><title>' + esc(draw(hostile_text(2))) + "</title>" + "".join(
            "<entry>" + (f"<id>{esc(it['guid'])}</id>" if it["guid"] is not None else "")
            + f"<title type=\"{draw(st.sampled_from(['text', 'html']))}\">{esc(it['title'])}</title>"
            + f"<link href=\"{esc(it['link']).replace(chr(34), '&quot;')}\"/>"
            + f"<updated>{esc(it['date'])}</updated><content type=\"html\">{esc(it['text'])}</content></entry>"
            for it in items) + "</feed>")
    encoding = draw(st.sampled_from(ENCODINGS))
    if kind != "json" and draw(st.booleans()):
        body = f'<?xml version="1.0" encoding="{draw(st.sampled_from(ENCODINGS + ["bogus"]))}"?>' + body
    data = body.encode(encoding, errors="surrogatepass" if encoding.startswith("utf") else "replace")
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]          # cut short
    status = draw(st.sampled_from([200, 200, 200, 200, 404, 410, 429, 500, 503]))
    headers = {}
    if draw(st.booleans()):
        headers["Retry-After"] = draw(st.sampled_from(RETRY_AFTER))
    if draw(st.booleans()):
        headers["ETag"] = draw(hostile_text(1)).replace("\r", "").replace("\n", "") or '"e"'
    reason = draw(st.one_of(st.none(), hostile_text(3))) if status != 200 else None
    reason = reason and reason.replace("\r", "").replace("\n", "")
    page = Page(data, status=status, content_type=draw(st.sampled_from(CONTENT_TYPES)), headers=headers,
                reason=reason)
    return page, draw(st.booleans())


class Harness:
    """One loopback site, database and pipeline for every example; each example is a new day."""

    def __init__(self, tmp: Path):
        self.site = LoopbackSite().__enter__()
        (tmp / "seeds").mkdir()
        for seed in SEEDS.iterdir():
            (tmp / "seeds" / seed.name).write_bytes(seed.read_bytes())
        self.config = load_config(write_config(tmp, [("healthy", self.site.url("/healthy.xml"))]))
        self.store = Store.open(self.config.database)
        self.day = datetime(2026, 1, 1, 8, 0, tzinfo=timezone.utc)
        self.pipeline = Pipeline(self.config, self.store, clock=lambda: self.day).prepare()
        self.counter = itertools.count()
        self.site.routes["/page"] = Page(b"<html><body><p>" + "\x1b[2J\u202e hostile page text. ".encode() * 40
                                         + b"</p></body></html>")

    def close(self) -> None:
        self.pipeline.close()
        self.store.close()
        self.site.__exit__(None, None, None)

    def run(self, page: Page, fetch_pages: bool):
        n = next(self.counter)
        self.day += timedelta(days=1)
        self.site.routes[f"/fz/{n}"] = page
        self.site.routes["/healthy.xml"] = rss_feed("Healthy", self.site.base, [
            FeedItem(f"Healthy {n}-{i}", self.site.url("/page") if fetch_pages else f"http://healthy.example/{n}/{i}",
                     f"h{n}-{i}", "2026-01-01T05:00:00Z", f"Healthy summary {n} {i} about the harvest.")
            for i in range(3)])
        feeds = [FeedConfig("healthy", self.site.url("/healthy.xml"), False, (), True),
                 FeedConfig(f"fz{n}", self.site.url(f"/fz/{n}"), fetch_pages, (), True)]
        for f in feeds:
            self.store.ensure_feed(f.name, f.url)
        report = asyncio.run(self.pipeline.run(feeds))
        return n, report


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    h = Harness(tmp_path_factory.mktemp("fuzz"))
    yield h
    h.close()


def _no_raw(where: str, value) -> None:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    found = RAW.search(text)
    assert found is None, f"raw character {found.group(0)!r} in {where}: {text[max(0, found.start() - 40):found.end() + 40]!r}"


@given(generated=hostile_feed())
def test_generated_hostile_feeds_never_stop_a_run_or_reach_a_reader_raw(harness, generated):
    page, fetch_pages = generated
    n, report = harness.run(page, fetch_pages)
    outcomes = {o.name: o for o in report.feeds}
    assert set(outcomes) == {"healthy", f"fz{n}"}
    assert outcomes["healthy"].status == "ok", outcomes["healthy"]
    assert outcomes[f"fz{n}"].status in ("ok", "error")
    with sqlite3.connect(harness.config.database) as c:
        healthy = c.execute("SELECT count(*) FROM articles WHERE guid LIKE ?", [f"h{n}-%"]).fetchone()[0]
        assert healthy == 3
        _no_raw("articles", c.execute("SELECT title, text, url, guid FROM articles WHERE feed = ?",
                                      [f"fz{n}"]).fetchall())
        _no_raw("feeds", c.execute("SELECT title, url, last_error, warning FROM feeds WHERE name = ?",
                                   [f"fz{n}"]).fetchall())
    for o in report.feeds:                         # what `newsmon run` prints
        _no_raw("outcome", [o.error, o.warning, o.title])
    day = harness.day.astimezone(harness.config.zone).date().isoformat()
    for fmt in harness.config.digest_formats:
        _no_raw(f"{day}.{fmt}", (harness.config.digest_dir / f"{day}.{fmt}").read_text(encoding="utf-8"))


@settings(max_examples=6 if PROFILE == "ci" else 40, deadline=None)
@given(generated=st.lists(hostile_feed(), min_size=1, max_size=4))
def test_generated_feeds_through_the_cli_exit_0_or_3(generated, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "seeds").mkdir()
    with LoopbackSite() as site:
        feeds = [("healthy", site.url("/healthy.xml"))]
        site.routes["/healthy.xml"] = rss_feed("Healthy", site.base, [
            FeedItem(f"Healthy {i}", f"http://healthy.example/{i}", f"h{i}", "2026-01-01T05:00:00Z", "Healthy.")
            for i in range(3)])
        for i, (page, _) in enumerate(generated):
            site.routes[f"/g/{i}"] = page
            feeds.append((f"g{i}", site.url(f"/g/{i}")))
        path = write_config(tmp, feeds, extra="fetch_pages = false\n")
        for args, codes in ((["run"], {0}), (["run", "--force", "--fail-on-feed-errors"], {0, 3})):
            done = subprocess.run([sys.executable, "-m", "pipeline", *args, "--config", str(path)],
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode in codes, done.stderr
            assert "Traceback" not in done.stderr
            _no_raw("stdout/stderr", done.stdout + done.stderr)
        with sqlite3.connect(load_config(path).database) as c:
            assert c.execute("SELECT count(*) FROM articles WHERE feed = 'healthy'").fetchone()[0] == 3
