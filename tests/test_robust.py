"""Robust by construction: no feed can stop a run, lose an item or reach a reader raw.

Every case was seen breaking newsmon (an aborted run, an item lost for good, a raw escape printed);
each runs through real parts: a loopback server, the real pipeline and worker pool, a real SQLite
file, the CLI as a subprocess where exit codes and signals matter.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from conftest import newsmon, rows, write_config
from world import HARVEST_STORY, NATO_STORY

from pipeline.app.pipeline import run_once
from pipeline.config import load_config
from pipeline.demo.server import Page
from pipeline.demo.site import FeedItem, article_page, rss_feed

# what must never reach a reader: escapes, C0/C1 controls, bidi overrides
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")




def rss(items: list[str], head: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return (head + '<rss version="2.0"><channel><title>T</title><link>http://example.org/</link>'
            + "".join(items) + "</channel></rss>").encode("utf-8")


def item(guid: str, title: str, link: str | None = None, description: str = "", date: str | None = None) -> str:
    return ("<item>" + f"<guid isPermaLink=\"false\">{guid}</guid><title>{title}</title>"
            + (f"<link>{link}</link>" if link else "") + (f"<pubDate>{date}</pubDate>" if date else "")
            + f"<description>{description}</description></item>")


def healthy(site) -> tuple[str, str]:
    """A well-behaved feed served beside the hostile ones: all of its items must always be stored."""
    site.routes["/healthy.xml"] = rss_feed("Healthy", site.base, [
        FeedItem(f"Healthy item {i}", f"http://healthy.example/{i}", f"h{i}", "2026-11-23T05:00:00Z",
                 f"Healthy summary number {i} about the sunflower harvest in Poltava.") for i in range(3)])
    return "healthy", site.url("/healthy.xml")


def digest_texts(config) -> str:
    return "".join((config.digest_dir / f"2026-11-23.{fmt}").read_text() for fmt in ("html", "md", "txt", "json"))




# --- one odd item or header never aborts a run --------------------------------------------------

BAD_LINKS = ["http://h:99999/x", "http://h:abc/x", "http://a..b/x", "https://" + "x" * 300 + ".org/",
             "http://[::1/x"]


@pytest.mark.parametrize("fetch_pages", ["false", "true"])
def test_invalid_item_links_cost_the_link_not_the_run(site, make_config, clock, fetch_pages):
    site.routes["/bad.xml"] = Page(rss([item(f"b{i}", f"Bad link {i}", link, f"Summary {i} of a story.")
                                        for i, link in enumerate(BAD_LINKS)]))
    config = make_config([("bad", site.url("/bad.xml")), healthy(site)], extra=f"fetch_pages = {fetch_pages}\n")
    report = run_once(config, clock=clock, force=True)
    by_name = {f.name: f for f in report.feeds}
    assert by_name["bad"].status == "ok" and by_name["healthy"].status == "ok"
    # every item is kept (its guid identifies it), without the link that could not be used
    stored = dict(rows(config, "SELECT title, url FROM articles WHERE feed = 'bad'"))
    assert stored == {f"Bad link {i}": None for i in range(len(BAD_LINKS))}
    # (feedparser itself already drops the unclosed IPv6 bracket)
    assert by_name["bad"].warning == f"{len(BAD_LINKS) - 1} item links refused (not a valid http(s) URL)"
    assert rows(config, "SELECT count(*) FROM articles WHERE feed = 'healthy'") == [(3,)]


@pytest.mark.parametrize("value", ["nan", "inf", "-5", "1e309", "-inf", "Blah, 99 Foo 2026 99:99:99 GMT", "9" * 400])
def test_any_retry_after_is_a_recorded_feed_error(site, make_config, clock, value):
    site.routes["/busy.xml"] = Page(b"busy", status=503, headers={"Retry-After": value})
    config = make_config([("busy", site.url("/busy.xml")), healthy(site)], extra="fetch_pages = false\n")
    report = run_once(config, clock=clock, force=True)
    busy = {f.name: f for f in report.feeds}["busy"]
    assert busy.status == "error" and busy.error.startswith("HTTP 503")
    [(next_due,)] = rows(config, "SELECT next_due FROM feeds WHERE name = 'busy'")
    # never sooner than the backoff, never later than the cap (240 min), whatever the header said
    assert clock.now < datetime.fromisoformat(next_due) <= clock.now + timedelta(minutes=240)
    assert rows(config, "SELECT count(*) FROM articles WHERE feed = 'healthy'") == [(3,)]


@pytest.mark.parametrize("ref", ["&#xD800;", "&#x110000;", "&#0;", "&#55296;", "&#99999999999999999999;", "&#x1b;"])
def test_character_references_xml_forbids_become_a_replacement_character(site, make_config, clock, ref):
    site.routes["/refs.xml"] = Page(rss([item("r1", f"Before {ref} after", "http://example.org/r1", f"Text {ref} here.")]))
    config = make_config([("refs", site.url("/refs.xml")), healthy(site)], extra="fetch_pages = false\n")
    report = run_once(config, clock=clock, force=True)
    assert {f.status for f in report.feeds} == {"ok"}
    [(title,)] = rows(config, "SELECT title FROM articles WHERE feed = 'refs'")
    assert title.startswith("Before") and title.endswith("after") and not RAW.search(title)


def test_a_feed_that_raises_anywhere_is_a_recorded_error_and_an_item_that_raises_is_skipped(
        site, make_config, clock, monkeypatch):
    """The boundaries themselves, by fault injection: what no one anticipated still costs only
    its feed or its item."""
    from pipeline.app import pipeline as run_mod

    site.routes["/boom.xml"] = rss_feed("Boom", site.base, [FeedItem("x", "http://example.org/x", "x", "2026-11-23T05:00:00Z", "x")])
    site.routes["/items.xml"] = rss_feed("Items", site.base, [
        FeedItem(t, f"http://example.org/{t}", t, "2026-11-23T05:00:00Z", f"{t} summary") for t in ("good", "poison", "fine")])
    original_fresh, original_article = run_mod.fresh_entries, run_mod.Pipeline._article

    def fresh(store, entries, skipped):
        if entries and entries[0].feed == "boom":
            raise KeyError("something nobody anticipated")
        return original_fresh(store, entries, skipped)

    async def article(self, entry, *args):
        if entry.title == "poison":
            raise ValueError("an item nobody anticipated")
        return await original_article(self, entry, *args)

    monkeypatch.setattr(run_mod, "fresh_entries", fresh)
    monkeypatch.setattr(run_mod.Pipeline, "_article", article)
    config = make_config([("boom", site.url("/boom.xml")), ("items", site.url("/items.xml")), healthy(site)],
                         extra="fetch_pages = false\n")
    report = run_once(config, clock=clock, force=True)
    by_name = {f.name: f for f in report.feeds}
    assert by_name["boom"].status == "error"
    assert by_name["boom"].error == "could not process the feed (KeyError: 'something nobody anticipated')"
    assert by_name["items"].status == "ok" and by_name["items"].warning == "1 item skipped: ValueError"
    assert sorted(t for (t,) in rows(config, "SELECT title FROM articles WHERE feed = 'items'")) == ["fine", "good"]
    health = (config.digest_dir / "2026-11-23.txt").read_text()
    assert "could not process the feed (KeyError" in health and "1 item skipped: ValueError" in health


def test_the_cli_run_survives_every_hostile_feed_at_once(site, tmp_path, seeds_dir):
    site.routes["/port.xml"] = Page(rss([item("p", "Port", "http://h:99999/x")]))
    site.routes["/ref.xml"] = Page(rss([item("s", "Surrogate &#xD800; title", "http://example.org/s")]))
    site.routes["/nan.xml"] = Page(b"x", status=429, headers={"Retry-After": "nan"})
    site.routes["/esc.xml"] = Page(b"x", status=500, reason="Oops \x1b]0;pwned\x07\x1b[2J\u202eevil")
    feeds = [("port", site.url("/port.xml")), ("ref", site.url("/ref.xml")), ("nan", site.url("/nan.xml")),
             ("esc", site.url("/esc.xml")), healthy(site)]
    path = write_config(tmp_path, feeds, extra="fetch_pages = false\n")
    done = newsmon("run", "--config", str(path))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and not RAW.search(done.stdout + done.stderr)
    assert "feed esc failed: HTTP 500 Oops evil" in done.stderr
    config = load_config(path)
    assert rows(config, "SELECT count(*) FROM articles WHERE feed = 'healthy'") == [(3,)]
    status = newsmon("status", "--config", str(path))
    assert status.returncode == 0 and "HTTP 500 Oops evil" in status.stdout and not RAW.search(status.stdout)
    listing = newsmon("feeds", "list", "--config", str(path))
    assert listing.returncode == 0 and "esc" in listing.stdout and not RAW.search(listing.stdout)
    today = next(p for p in config.digest_dir.glob("*.txt") if p.name != "index.html")
    digests = "".join(p.read_text() for p in config.digest_dir.glob(today.stem + ".*"))
    assert "HTTP 500 Oops evil" in digests and not RAW.search(digests)
    assert newsmon("run", "--force", "--fail-on-feed-errors", "--config", str(path)).returncode == 3


# --- no item is lost ------------------------------------------------------------------------------

def test_distinct_items_sharing_one_link_are_all_stored_and_the_shared_page_is_not_their_text(
        site, make_config, clock):
    show = site.url("/show")
    site.routes["/show"] = article_page("The Show", "Pod", "2026-11-23", HARVEST_STORY)
    episodes = [FeedItem(f"Episode {i}: guest number {i}", show, f"ep-{i}", f"2026-11-{10 + i:02d}T05:00:00Z",
                         f"In episode {i} we talk with guest {i} about topic {i * 7}.") for i in range(12)]
    site.routes["/pod.xml"] = rss_feed("Pod", site.base, episodes)
    config = make_config([("pod", site.url("/pod.xml"))])
    run_once(config, clock=clock, force=True)
    stored = rows(config, "SELECT title, text, duplicate_of, story_id, id FROM articles ORDER BY title")
    assert len(stored) == 12
    assert all(text.startswith("In episode") and dup is None and story == aid for _, text, dup, story, aid in stored)
    assert site.hits("/show") == 0            # no item's article: not fetched at all

    # later episodes of the same feed are stored as they come
    site.routes["/pod.xml"] = rss_feed("Pod", site.base, episodes + [
        FeedItem("Episode 12: a new guest", show, "ep-12", "2026-11-23T05:00:00Z", "A new episode.")])
    run_once(config, clock=clock, force=True)
    assert rows(config, "SELECT count(*) FROM articles") == [(13,)]


def test_items_without_guids_that_differ_only_by_fragment_are_distinct(site, make_config, clock):
    live = site.url("/live")
    updates = [FeedItem(f"Update {i}", f"{live}#update-{i}", None, f"2026-11-23T0{i}:00:00Z",
                        f"Live update number {i}: the talks continue in room {i}.") for i in range(1, 5)]
    site.routes["/live.xml"] = rss_feed("Live", site.base, updates)
    config = make_config([("live", site.url("/live.xml"))], extra="fetch_pages = false\n")
    run_once(config, clock=clock, force=True)
    assert rows(config, "SELECT count(*) FROM articles") == [(4,)]
    assert run_once(config, clock=clock, force=True).new_articles == 0      # and a rerun adds nothing


def test_a_sponsor_post_beside_the_post_it_links_to_is_kept(site, make_config, clock):
    post = site.url("/post")
    site.routes["/post"] = article_page("The post", "Blog", "2026-11-23", NATO_STORY)
    site.routes["/blog.xml"] = rss_feed("Blog", site.base, [
        FeedItem("The post", post, "post-1", "2026-11-23T05:00:00Z", "The post itself."),
        FeedItem("Sponsored: read the post", post, "sponsor-1", "2026-11-23T06:00:00Z", "A word from our sponsor.")])
    config = make_config([("blog", site.url("/blog.xml"))])
    run_once(config, clock=clock, force=True)
    assert sorted(t for (t,) in rows(config, "SELECT title FROM articles")) == ["Sponsored: read the post", "The post"]


def test_an_oldest_first_feed_longer_than_the_cap_keeps_its_newest_items(site, make_config, clock):
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    items = [FeedItem(f"Item {i}", f"http://example.org/{i}", f"g{i}",
                      (start + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ"), f"Summary {i}")
             for i in range(300)]                                  # oldest first, 300 > the cap of 200
    site.routes["/old-first.xml"] = rss_feed("Old first", site.base, items)
    config = make_config([("old", site.url("/old-first.xml"))], extra="fetch_pages = false\n")
    run_once(config, clock=clock, force=True)
    titles = {t for (t,) in rows(config, "SELECT title FROM articles")}
    assert titles == {f"Item {i}" for i in range(100, 300)}


JSON_FEED_11 = {
    "version": "https://jsonfeed.org/version/1.1", "title": "JSON outlet", "home_page_url": "http://example.org/",
    "items": [
        {"id": "j1", "url": "http://example.org/j1", "title": "Talks on a ceasefire resume",
         "content_html": "<p>Delegations met <b>again</b> on Thursday.</p>", "date_published": "2026-11-23T05:00:00Z",
         "authors": [{"name": "A. Writer"}]},
        {"id": 2, "external_url": "http://example.org/j2", "content_text": "A post without a title, about NATO.",
         "date_modified": "2026-11-23T04:00:00+02:00"},
        {"id": "j3", "url": "http://example.org/j3", "title": "Summary only", "summary": "Just a summary."},
        "not an object",
    ]}


@pytest.mark.parametrize("content_type", ["application/feed+json", "application/json", "text/plain"])
def test_json_feeds_are_read_by_content_type_or_by_content(site, make_config, clock, content_type):
    site.routes["/feed.json"] = Page(json.dumps(JSON_FEED_11).encode(), content_type=content_type)
    config = make_config([("json", site.url("/feed.json"))], extra="fetch_pages = false\n")
    report = run_once(config, clock=clock, force=True)
    assert report.feeds[0].status == "ok" and report.feeds[0].warning == "1 item skipped: not a JSON object"
    stored = {r[0]: r[1:] for r in rows(config, "SELECT guid, title, url, text, published, topics FROM articles")}
    assert stored["j1"] == ("Talks on a ceasefire resume", "http://example.org/j1",
                            "Delegations met again on Thursday.", "2026-11-23T05:00:00+00:00", '["ceasefire"]')
    assert stored["2"][:2] == ("A post without a title, about NATO.", "http://example.org/j2")
    assert stored["2"][3] == "2026-11-23T02:00:00+00:00"
    assert stored["j3"][2] == "Just a summary."
    assert rows(config, "SELECT title FROM feeds") == [("JSON outlet",)]


def test_json_feed_1_0_and_a_cut_off_one(site, make_config, clock):
    v10 = {"version": "https://jsonfeed.org/version/1", "title": "Old", "items": [
        {"id": "a", "url": "http://example.org/a", "title": "One", "content_text": "First.", "author": {"name": "X"}},
        {"id": "b", "url": "http://example.org/b", "title": "Two", "content_text": "Second."}]}
    body = json.dumps(v10).encode()
    site.routes["/v10.json"] = Page(body, content_type="application/json")
    site.routes["/cut.json"] = Page(body[:body.index(b'"Two"') + 3], content_type="application/json")
    site.routes["/not.json"] = Page(b'{"rss": {"channel": {}}}', content_type="application/json")
    config = make_config([("v10", site.url("/v10.json")), ("cut", site.url("/cut.json")),
                          ("not", site.url("/not.json"))], extra="fetch_pages = false\n")
    report = {f.name: f for f in run_once(config, clock=clock, force=True).feeds}
    assert report["v10"].status == "ok" and report["v10"].new == 2
    assert report["cut"].status == "ok" and report["cut"].new == 1
    assert report["cut"].warning.startswith("ill-formed JSON at character") and "1 item(s) read" in report["cut"].warning
    assert report["not"].status == "error" and "JSON, but not a JSON Feed" in report["not"].error


def test_undeclared_latin_1_is_read_as_feedparser_would(site, make_config, clock):
    titles = ["Masters en Psycho : une simplification très complexe",
              "Ibope: Bolsonaro perde de Haddad em simulações de 2º turno",
              "Ça coûte cher à Noël, déjà vu"]
    body = ('<rss version="2.0"><channel><title>Flux</title>' + "".join(
        f"<item><guid>l{i}</guid><title>{t}</title><description>Résumé {i} à lire.</description></item>"
        for i, t in enumerate(titles)) + "</channel></rss>").encode("latin-1")
    site.routes["/latin.xml"] = Page(body, content_type="application/rss+xml")      # no charset, no declaration
    config = make_config([("latin", site.url("/latin.xml"))], extra="fetch_pages = false\n")
    report = run_once(config, clock=clock, force=True)
    assert report.feeds[0].warning == "no encoding declared and not UTF-8; read as cp1252"
    assert sorted(t for (t,) in rows(config, "SELECT title FROM articles")) == sorted(titles)


def test_escaped_markup_in_a_plain_text_title_is_kept_as_text(site, make_config, clock):
    site.routes["/t.xml"] = rss_feed("T", site.base, [
        FeedItem("The <dialog> element", "http://example.org/d", "d", "2026-11-23T05:00:00Z", "About HTML."),
        FeedItem("Fish & chips <3", "http://example.org/f", "f", "2026-11-23T05:00:00Z", "About food.")])
    config = make_config([("t", site.url("/t.xml"))], extra="fetch_pages = false\n")
    run_once(config, clock=clock, force=True)
    assert sorted(t for (t,) in rows(config, "SELECT title FROM articles")) == ["Fish & chips <3", "The <dialog> element"]
    html = (config.digest_dir / "2026-11-23.html").read_text()
    assert "The &lt;dialog&gt; element" in html and "<dialog>" not in html


# --- bounded work ---------------------------------------------------------------------------------

def test_a_huge_description_does_not_make_a_healthy_slow_feed_time_out(site, make_config, clock):
    # one 2.4 MB line whose every sentence end is followed by a footer's first word: the glued-
    # footer check once took time quadratic in it (~40 s on the event loop for 240 KB)
    huge = "Done.Copyright 2026 " * 120_000
    site.routes["/huge.xml"] = Page(rss([item("h", "Huge", "http://example.org/h", huge)]))
    name, url = healthy(site)
    site.routes["/slow.xml"] = Page(site.routes["/healthy.xml"].body, delay=1.5, content_type="application/rss+xml")
    config = make_config([("huge", site.url("/huge.xml")), ("slow", site.url("/slow.xml"))],
                         extra="fetch_pages = false\n")
    report = {f.name: f for f in run_once(config, clock=clock, force=True).feeds}
    assert report["slow"].status == "ok" and report["slow"].new == 3       # timeout is 5 s in the tests
    assert report["huge"].status == "ok"
    [(n,)] = rows(config, "SELECT length(text) FROM articles WHERE feed = 'huge'")
    assert n > 2_000_000


def slow_pages(site, count: int, delay: float) -> str:
    for i in range(count):
        site.routes[f"/slow/{i}"] = Page(article_page(f"Slow {i}", "Slow", "2026-11-23", NATO_STORY).body, delay=delay)
    site.routes["/slow.xml"] = rss_feed("Slow", site.base, [
        FeedItem(f"Slow {i}", site.url(f"/slow/{i}"), f"s{i}", "2026-11-23T05:00:00Z", f"Slow summary {i}.")
        for i in range(count)])
    return site.url("/slow.xml")


def test_the_run_deadline_records_unfinished_feeds_and_the_run_still_writes_its_digest(site, tmp_path, seeds_dir):
    feeds = [("slow", slow_pages(site, 30, 1.0)), healthy(site)]
    path = write_config(tmp_path, feeds)
    path.write_text(path.read_text().replace("[fetch]\n", "[fetch]\nrun_deadline_minutes = 0.05\nper_host = 1\n"))
    started = time.monotonic()
    done = newsmon("run", "--config", str(path))
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30                        # 30 pages x 1 s one at a time, cut at 3 s
    assert "feed slow failed: run deadline reached (0.05 min); checked again next run" in done.stderr
    config = load_config(path)
    assert rows(config, "SELECT count(*) FROM articles WHERE feed = 'slow'") == [(0,)]   # whole feeds only
    assert rows(config, "SELECT count(*) FROM articles WHERE feed = 'healthy'") == [(3,)]
    assert "run deadline reached" in next(config.digest_dir.glob("*.txt")).read_text()


def signal_mid_feed(site, args: list[str], sig: int) -> tuple[str, float, int]:
    """Start newsmon, signal it once the slow feed's pages are being fetched; (stderr, seconds
    from the signal to the exit, exit code)."""
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while site.hits("/slow/0") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    stopped_at = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return err, time.monotonic() - stopped_at, proc.returncode


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_newsmon_run_within_seconds_and_keeps_whole_feeds_only(site, tmp_path, seeds_dir, sig):
    path = write_config(tmp_path, [("slow", slow_pages(site, 60, 1.0)), healthy(site)])
    err, took, code = signal_mid_feed(site, ["run", "--config", str(path)], sig)
    assert took < 5
    assert code == 128 + sig, err
    assert f"stopped by {sig.name}" in err and "Traceback" not in err
    config = load_config(path)
    assert rows(config, "SELECT count(*) FROM articles WHERE feed = 'slow'") == [(0,)]
    assert rows(config, "SELECT status FROM runs") == [("interrupted",)]
    # the next run does the feed whole
    site.routes.update({f"/slow/{i}": Page(site.routes[f"/slow/{i}"].body) for i in range(60)})
    assert newsmon("run", "--config", str(path)).returncode == 0
    assert rows(config, "SELECT count(*) FROM articles WHERE feed = 'slow'") == [(60,)]


def test_sigterm_stops_the_daemon_within_seconds_mid_feed(site, tmp_path, seeds_dir):
    path = write_config(tmp_path, [("slow", slow_pages(site, 200, 1.0))])
    err, took, code = signal_mid_feed(site, ["serve", "--config", str(path)], signal.SIGTERM)
    assert code == 0, err
    assert took < 10                       # it took 101 s before (past TimeoutStopSec=90)
    assert rows(load_config(path), "SELECT count(*) FROM articles") == [(0,)]


# --- nothing raw reaches a reader -------------------------------------------------------------------

def test_reason_phrases_locations_and_titles_are_sanitised_everywhere(site, make_config, clock):
    site.routes["/esc.xml"] = Page(b"x", status=503, reason="Busy \x1b[31mred\x1b[0m \x1b]8;;http://evil\x07link\x1b]8;;\x07 \u202etxt.exe")
    site.routes["/moved.xml"] = Page(status=301, headers={"Location": "/target.xml\x1b[2J\u202e"})
    site.routes["/bidi.xml"] = rss_feed("Bidi \u202eyrros", site.base, [FeedItem(
        "Title \u202egnp.exe \x1b[1mbold\x1b[0m \u2066isolate\u2069", "http://example.org/b", "b", "2026-11-23T05:00:00Z",
        "Body \x1b]0;title\x07 text \u202e here.")])
    config = make_config([("esc", site.url("/esc.xml")), ("moved", site.url("/moved.xml")),
                          ("bidi", site.url("/bidi.xml"))], extra="fetch_pages = false\n")
    report = {f.name: f for f in run_once(config, clock=clock, force=True).feeds}
    assert report["esc"].error == "HTTP 503 Busy red link txt.exe"
    assert "\x1b" not in report["moved"].error and "\u202e" not in report["moved"].error
    [(title, text)] = rows(config, "SELECT title, text FROM articles")
    assert title == "Title gnp.exe bold isolate" and text == "Body text here."
    stored = json.dumps(rows(config, "SELECT * FROM feeds") + rows(config, "SELECT * FROM articles")
                        + rows(config, "SELECT * FROM run_feeds"), ensure_ascii=False)
    assert not RAW.search(stored)
    assert not RAW.search(digest_texts(config))


def test_markdown_link_targets_cannot_become_live_html(site, make_config, clock):
    evil = "http://x.example/a<img src=x onerror=alert(1)>"
    site.routes["/md.xml"] = Page(rss([item("m", "Evil link", evil.replace("<", "&lt;").replace(">", "&gt;"), "Text.")]))
    config = make_config([("md", site.url("/md.xml"))], extra="fetch_pages = false\n")
    run_once(config, clock=clock, force=True)
    md = (config.digest_dir / "2026-11-23.md").read_text()
    assert "(<http://x.example/a%3Cimg%20src=x%20onerror=alert%281%29%3E>)" in md
    assert "<img" not in md


# --- walls are failures, not stories ------------------------------------------------------------------

WALL = ["We value your privacy. We and our 842 partners store and access information on your device, "
        "such as cookies, and process personal data to show you personalised ads and content.",
        "Click accept to consent to the use of this technology across the web, or manage your choices "
        "at any time by returning to this site. Your choices will be signalled to our partners."]


def test_a_consent_wall_served_for_every_page_is_an_extraction_failure_not_a_story(site, make_config, clock):
    for i in range(5):
        site.routes[f"/news/{i}"] = article_page("Before you continue", "Wall", "2026-11-23", WALL)
    topics = ["drone strike on a depot", "grain corridor reopens", "new bridge opens", "talks in Geneva", "snow in the west"]
    site.routes["/wall.xml"] = rss_feed("Walled", site.base, [
        FeedItem(f"Story {i}: {t}", site.url(f"/news/{i}"), f"w{i}", "2026-11-23T05:00:00Z",
                 f"Our own summary of story {i}: {t}, with details that only this report has.")
        for i, t in enumerate(topics)])
    config = make_config([("walled", site.url("/wall.xml"))])
    report = run_once(config, clock=clock, force=True)
    stored = rows(config, "SELECT text, text_source, duplicate_of, story_id, id FROM articles")
    assert len(stored) == 5
    assert all(src == "feed" and dup is None and story == aid and text.startswith("Our own summary")
               for text, src, dup, story, aid in stored)
    assert report.feeds[0].warning == "consent or bot wall at 127.0.0.1: 5 pages (the feed's text was used)"
    digest = json.loads((config.digest_dir / "2026-11-23.json").read_text())
    assert len(digest["articles"]) == 5 and all(a["also"] == [] for a in digest["articles"])
    assert "consent or bot wall at 127.0.0.1: 5 pages" in (config.digest_dir / "2026-11-23.txt").read_text()

    # the next day, one more page behind the same wall: caught by the stored pages, not a duplicate
    clock.now += timedelta(days=1)
    site.routes["/news/9"] = site.routes["/news/0"]
    site.routes["/wall.xml"] = rss_feed("Walled", site.base, [FeedItem(
        "Story 9: a new one", site.url("/news/9"), "w9", "2026-11-24T05:00:00Z", "Our own summary of story 9.")])
    run_once(config, clock=clock, force=True)
    assert rows(config, "SELECT text_source, duplicate_of FROM articles WHERE guid = 'w9'") == [("feed", None)]


# --- ill-formed feeds are visible ---------------------------------------------------------------------

def test_a_truncated_feed_is_ok_with_a_warning_in_the_digest_and_status(site, tmp_path, seeds_dir):
    body = rss_feed("Cut", "http://example.org/", [FeedItem(f"Item {i}", f"http://example.org/{i}", f"c{i}",
                                                            "2026-11-23T05:00:00Z", f"Summary {i}.") for i in range(5)]).body
    cut = body[:body.index(b"<item>", body.index(b"Item 1"))] + b"<item><title>Item 2"
    site.routes["/cut.xml"] = Page(cut, content_type="application/rss+xml")
    path = write_config(tmp_path, [("cut", site.url("/cut.xml"))], extra="fetch_pages = false\n")
    assert newsmon("run", "--config", str(path)).returncode == 0
    config = load_config(path)
    assert rows(config, "SELECT count(*) FROM articles") == [(2,)]
    status = json.loads(newsmon("status", "--json", "--config", str(path)).stdout)
    [feed] = status["feeds"]
    assert feed["status"] == "ok"
    assert re.fullmatch(r"ill-formed XML at line \d+ \(.+\): 2 item\(s\) read; items after it may be missing",
                        feed["warning"])
    digest = next(config.digest_dir.glob("*.md")).read_text()
    assert "cut read with a warning: ill-formed XML at line" in digest


# --- the schema moves forward without re-reporting ----------------------------------------------------

def test_a_version_1_database_is_migrated_and_nothing_is_reported_twice(site, make_config, clock):
    from pipeline.storage.store import SCHEMA_VERSION

    site.routes["/f.xml"] = rss_feed("F", site.base, [FeedItem(f"Item {i}", f"http://example.org/{i}", f"g{i}",
                                                                "2026-11-23T05:00:00Z", f"Summary {i}.") for i in range(3)])
    config = make_config([("f", site.url("/f.xml"))], extra="fetch_pages = false\n")
    run_once(config, clock=clock, force=True)
    with sqlite3.connect(config.database) as c:                    # make it a version-1 file
        c.execute("ALTER TABLE feeds DROP COLUMN warning")
        c.execute("ALTER TABLE run_feeds DROP COLUMN warning")
        c.execute("ALTER TABLE articles DROP COLUMN image")
        c.execute("PRAGMA user_version = 1")
    report = run_once(config, clock=clock, force=True)
    assert report.feeds[0].status in ("ok", "not_modified") and report.new_articles == 0
    assert rows(config, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert ("warning",) in rows(config, "SELECT name FROM pragma_table_info('feeds')")
    assert rows(config, "SELECT count(*) FROM articles") == [(3,)]


def test_items_told_apart_by_fragment_are_not_reported_again_after_the_upgrade(site, make_config, clock):
    """Before schema 2, guid-less items differing only by fragment were all keyed on the page:
    the first was stored, the rest lost. After the upgrade the rest arrive; the first stays known."""
    from pipeline.storage.store import article_id

    live = site.url("/live")
    site.routes["/live.xml"] = rss_feed("Live", site.base, [
        FeedItem(f"Update {i}", f"{live}#update-{i}", None, f"2026-11-23T0{i}:00:00Z", f"Live update {i}.")
        for i in range(1, 4)])
    config = make_config([("live", site.url("/live.xml"))], extra="fetch_pages = false\n")
    run_once(config, clock=clock, force=True)
    with sqlite3.connect(config.database) as c:        # what schema 1 had stored: one row, keyed on the page
        c.execute("DELETE FROM articles WHERE title != 'Update 1'")
        [(aid, canonical)] = c.execute("SELECT id, canonical_url FROM articles").fetchall()
        c.execute("UPDATE articles SET identity = ?, id = ?, story_id = ? WHERE id = ?",
                  [f"url:{canonical}", article_id(f"url:{canonical}"), article_id(f"url:{canonical}"), aid])
        c.execute("UPDATE feeds SET etag = NULL")
    report = run_once(config, clock=clock, force=True)
    assert report.new_articles == 2
    assert sorted(t for (t,) in rows(config, "SELECT title FROM articles")) == ["Update 1", "Update 2", "Update 3"]
