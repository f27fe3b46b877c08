"""The real pipeline over real HTTP on 127.0.0.1, into a real SQLite file and a real PostgreSQL
database (both_engines: each test runs on both)."""

from __future__ import annotations

import asyncio

import pytest
from conftest import digest_json as _digest
from conftest import rows as _rows
from world import GONE_SUMMARY, HARVEST_STORY, HOSTILE_TITLE, NATO_STORY, broken_routes, serve_world

from pipeline.app.pipeline import run_once

pytestmark = pytest.mark.both_engines


def test_full_run_stores_flags_dedups_and_writes_the_digest(site, make_config, clock):
    feeds = serve_world(site)
    config = make_config(list(feeds.items()))
    report = run_once(config, clock=clock, force=True)

    assert [f.status for f in report.feeds] == ["ok", "ok"]
    digest = _digest(config)
    by_title = {a["title"]: a for a in digest["articles"]}

    nato = by_title["Ministers meet in Oslo on air defence"]
    assert nato["topics"] == ["nato"]
    assert nato["url"] == site.url("/a/nato-oslo")          # tracking parameter gone
    assert nato["text"].startswith(NATO_STORY[0])
    assert "Advertisement" not in nato["text"] and "All rights reserved" not in nato["text"]
    assert {"topic": "nato", "sentence": NATO_STORY[0]}.items() <= nato["matches"][0].items()

    assert by_title["Sunflower harvest ends late after rain"]["topics"] == []
    assert by_title["Sunflower harvest ends late after rain"]["text"].startswith(HARVEST_STORY[0])

    # the page is gone (404): the feed's own summary is used, and the health section says so
    gone = by_title["Power plant repairs under local ceasefire"]
    assert gone["text"] == GONE_SUMMARY and gone["text_source"] == "feed"
    assert gone["topics"] == ["ceasefire"]
    assert any("HTTP 404" in x["note"] for x in digest["extraction_failures"])

    # page text too short to be the article: feed text instead
    live = by_title["Live: updates"]
    assert live["text_source"] == "feed" and live["topics"] == ["ceasefire"]

    # the republished seed is stored as a duplicate and kept out of the stories
    assert "Ukraine reconsiders NATO membership" not in by_title
    assert digest["duplicates"] == [{
        "url": site.url("/b/republished"), "title": "Ukraine reconsiders NATO membership",
        "feed": "weekly-b", "duplicate_of": "seeds/004_896c57e66a8301f0.txt", "similarity": 1.0}]

    assert [(f["name"], f["status"], f["error"]) for f in digest["feeds"]] == \
        [("daily-a", "ok", None), ("weekly-b", "ok", None)]
    assert {f["name"]: f["new"] for f in digest["feeds"]} == {"daily-a": 4, "weekly-b": 2}
    assert report.new_articles == 6 and report.duplicates == 1
    assert sorted(p.rsplit(".", 1)[1] for p in report.digest_files) == ["html", "json", "md", "txt"]


def test_feed_titles_and_links_are_plain_and_safe(site, make_config, clock):
    feeds = serve_world(site)
    config = make_config(list(feeds.items()))
    run_once(config, clock=clock, force=True)
    digest = _digest(config)
    hostile = [a for a in digest["articles"] if "Breaking" in a["title"]][0]
    # an Atom title of type text is plain text: its "<script>" is words to show, not markup
    assert hostile["title"] == HOSTILE_TITLE
    assert hostile["url"] is None                            # javascript: link dropped
    assert hostile["text"] == "A summary with markup in it."
    html = (config.digest_dir / "2026-11-23.html").read_text()
    assert "<script>" not in html and "javascript:" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Breaking &amp; &lt;b&gt;bold&lt;/b&gt; news" in html


def test_second_run_is_conditional_and_does_no_extraction(site, make_config, clock):
    feeds = serve_world(site)
    config = make_config(list(feeds.items()))
    run_once(config, clock=clock, force=True)
    pages_before = [p for p, _ in site.requests if not p.endswith(".xml")]
    count_before = _rows(config, "SELECT count(*) FROM articles")[0][0]

    second = run_once(config, clock=clock, force=True)
    assert [f.status for f in second.feeds] == ["not_modified", "not_modified"]
    feed_requests = [h for p, h in site.requests if p.endswith(".xml")][-2:]
    assert all("if-none-match" in h for h in feed_requests)
    assert [p for p, _ in site.requests if not p.endswith(".xml")] == pages_before
    assert _rows(config, "SELECT count(*) FROM articles")[0][0] == count_before
    assert second.new_articles == 0


def test_rerun_against_a_feed_without_validators_adds_nothing(site, make_config, clock):
    feeds = serve_world(site)
    page = site.routes["/a/rss.xml"]
    counter = {"n": 0}

    def changing_feed(handler):  # new bytes every time, so no 304 is possible
        counter["n"] += 1
        return type(page)(page.body + f"<!-- {counter['n']} -->".encode(), content_type=page.content_type)

    site.routes["/a/rss.xml"] = changing_feed
    config = make_config([("daily-a", feeds["daily-a"])])
    run_once(config, clock=clock, force=True)
    pages = len([p for p, _ in site.requests if p.startswith("/a/") and not p.endswith(".xml")])
    again = run_once(config, clock=clock, force=True)
    assert again.feeds[0].status == "ok" and again.new_articles == 0
    assert len([p for p, _ in site.requests if p.startswith("/a/") and not p.endswith(".xml")]) == pages
    assert _rows(config, "SELECT count(*), count(DISTINCT identity) FROM articles") == [(4, 4)]
    assert _rows(config, "SELECT count(*) FROM runs WHERE status = 'ok'") == [(2,)]


def test_broken_feeds_are_recorded_and_the_run_goes_on(site, make_config, clock):
    feeds = serve_world(site)
    bad = broken_routes(site)
    config = make_config([("daily-a", feeds["daily-a"])] + list(bad.items()))
    report = run_once(config, clock=clock, force=True)
    status = {f.name: (f.status, f.error) for f in report.feeds}
    assert status["daily-a"] == ("ok", None)
    assert status["five-hundred"] == ("error", "HTTP 500 Internal Server Error")
    assert status["html-page"][0] == "error" and "not a feed" in status["html-page"][1]
    assert status["refused"][0] == "error" and "cannot connect" in status["refused"][1]
    health = {f["name"]: f for f in _digest(config)["feeds"]}
    assert health["five-hundred"]["status"] == "error"
    assert health["five-hundred"]["consecutive_failures"] == 1
    md = (config.digest_dir / "2026-11-23.md").read_text()
    assert "**five-hundred** error since" in md and "HTTP 500" in md
    assert _rows(config, "SELECT feeds_ok, feeds_failed, status FROM runs") == [(1, 3, "ok")]

    run_once(config, clock=clock, force=True)
    assert _rows(config, "SELECT consecutive_failures FROM feeds WHERE name = 'html-page'") == [(2,)]
    run_once(config, clock=clock, force=True)     # the third failure in a row: failing
    health = {f["name"]: f for f in _digest(config)["feeds"]}
    assert health["five-hundred"]["health"] == "failing"
    assert health["daily-a"]["health"] == "ok"
    md = (config.digest_dir / "2026-11-23.md").read_text()
    assert "**five-hundred** failing since" in md and "(3 in a row)" in md
    assert "five-hundred failing: 3 failures in a row: HTTP 500" in md


def test_feed_text_only_mode_fetches_no_pages(site, make_config, clock):
    feeds = serve_world(site)
    config = make_config([("daily-a", feeds["daily-a"])], extra="fetch_pages = false\n")
    run_once(config, clock=clock, force=True)
    assert [p for p, _ in site.requests if not p.endswith(".xml")] == []
    texts = _rows(config, "SELECT text_source, count(*) FROM articles GROUP BY text_source")
    assert texts == [("feed", 4)]
    assert _digest(config)["extraction_failures"] == []


def test_a_near_copy_is_grouped_the_same_day_and_dropped_on_a_later_day(site, make_config, clock):
    from datetime import timedelta

    from pipeline.demo.site import FeedItem, article_page, rss_feed

    story = NATO_STORY + ["The ministers will meet again in February to review deliveries."]
    copy = ["OSLO (Example Wire) — " + NATO_STORY[0]] + NATO_STORY[1:] + [story[-1],
            "Copyright 2026 Example Wire. Distributed under licence."]
    site.routes.update({
        "/orig": article_page("Ministers meet in Oslo", "Daily A", "2026-11-23", story),
        "/copy": article_page("Oslo meeting on air defence", "Wire", "2026-11-23", copy),
        "/late": article_page("Oslo: ministers on air defence", "Weekly", "2026-11-24", copy),
    })
    site.routes["/a.xml"] = rss_feed("A", site.base, [FeedItem("Ministers meet in Oslo", site.url("/orig"), "o", "2026-11-23T05:00:00Z")])
    site.routes["/w.xml"] = rss_feed("W", site.base, [FeedItem("Oslo meeting on air defence", site.url("/copy"), "c", "2026-11-23T06:00:00Z")])
    config = make_config([("a", site.url("/a.xml")), ("w", site.url("/w.xml"))])
    run_once(config, clock=clock, force=True)
    digest = _digest(config)
    [lead] = digest["articles"]
    assert lead["url"] == site.url("/orig") and lead["also"][0]["url"] == site.url("/copy")
    assert 0.5 <= lead["also"][0]["similarity"] < 1.0
    assert digest["duplicates"] == []

    clock.now += timedelta(days=1)
    # another outlet (another host): one host serving one text at two URLs would be a wall
    late = site.url("/late").replace("127.0.0.1", "localhost")
    site.routes["/w.xml"] = rss_feed("W", site.base, [
        FeedItem("Oslo meeting on air defence", site.url("/copy"), "c", "2026-11-23T06:00:00Z"),
        FeedItem("Oslo: ministers on air defence", late, "l", "2026-11-24T06:00:00Z")])
    run_once(config, clock=clock, force=True)
    next_day = _digest(config, "2026-11-24")
    assert next_day["articles"] == []
    [dup] = next_day["duplicates"]
    assert dup["url"] == late and dup["duplicate_of"] in (site.url("/orig"), site.url("/copy"))


def test_the_digest_is_rewritten_only_when_something_it_shows_changed(site, make_config, clock, caplog):
    import logging
    import os

    from pipeline.demo.server import Page

    feeds = serve_world(site)
    config = make_config(list(feeds.items()))
    run_once(config, clock=clock, force=True)
    html = config.digest_dir / "2026-11-23.html"
    os.utime(html, (1, 1))                                     # mark it: a rewrite changes the time
    with caplog.at_level(logging.INFO, logger="newsmon"):
        run_once(config, clock=clock, force=True)              # all 304: nothing new, nothing broken
    assert html.stat().st_mtime == 1
    assert "digest unchanged (no new article, no feed health change): not rewritten" in caplog.text
    site.routes["/b/atom.xml"] = Page(b"oops", status=500, content_type="text/plain")
    run_once(config, clock=clock, force=True)                  # a feed now fails: the health section changes
    assert html.stat().st_mtime > 1 and "weekly-b" in html.read_text()


def test_a_run_with_nothing_new_never_loads_the_duplicate_index(site, make_config, clock):
    """The index (2.45 s at 100,000 articles) is read only when an article needs it."""
    from conftest import open_store

    from pipeline.app.pipeline import Pipeline

    feeds = serve_world(site)
    config = make_config(list(feeds.items()))
    run_once(config, clock=clock, force=True)
    store = open_store(config)
    pipeline = Pipeline(config, store, clock=clock).prepare()
    try:
        report = asyncio.run(pipeline.run(pipeline.due_feeds(force=True)))
        assert {f.status for f in report.feeds} == {"not_modified"}
        assert pipeline._index is None
    finally:
        pipeline.close()
        store.close()
