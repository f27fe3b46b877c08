"""`newsmon web` through real parts: a real pipeline run against loopback feeds makes the archive
(SQLite, and PostgreSQL: both_engines), the real server (uvicorn) listens on 127.0.0.1 on a free port, requests go over HTTP.
No mocks; nothing leaves the machine."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from conftest import newsmon, open_store, rows, write_config
from test_alerts import TRUCE, Receiver

from pipeline.app.notify import notify_now
from pipeline.app.pipeline import run_once
from pipeline.config import load_config
from pipeline.demo.site import FeedItem, article_page, rss_feed
from pipeline.web.openapi import OPENAPI, PEOPLE
from pipeline.web.serve import bound_socket, server

pytestmark = pytest.mark.both_engines  # each test on SQLite and on PostgreSQL (conftest: engine)

DAY = "2026-11-23"
HOSTILE = 'Ceasefire <script>alert("x")</script><img src=x onerror=alert(1)> holds'
TALKS = ["Delegations met in Geneva on Monday to resume talks on a ceasefire framework for the southern "
         "front, diplomats said.", "A third round is planned for December."]
RAIL = ["The national railway restored the night train to the coast after a month of repairs to the bridge "
        "near the harbour, the company said.", "Tickets went on sale at noon."]


def _publish(site, outlets: dict[str, list[tuple[str, str, list[str]]]]) -> list[tuple[str, str]]:
    feeds = []
    for name, items in outlets.items():
        entries = []
        for slug, title, paragraphs in items:
            site.routes[f"/{name}/{slug}"] = article_page(title, name, DAY, paragraphs)
            entries.append(FeedItem(title, site.url(f"/{name}/{slug}"), f"{name}-{slug}", "2026-11-23T06:00:00Z",
                                    paragraphs[0]))
        site.routes[f"/{name}.xml"] = rss_feed(name, site.base, entries)
        feeds.append((name, site.url(f"/{name}.xml")))
    return feeds


class Archive:
    """A config and the archive a real run made: the truce reported by two outlets (one title
    hostile), talks, an unflagged rail story, a feed that fails; one alert sent to a channel."""

    def __init__(self, site, tmp_path, clock, receiver):
        outlets = {"wire": [("truce", "Local ceasefire lets engineers reach the plant", TRUCE),
                            ("talks", "Ceasefire talks resume in Geneva", TALKS),
                            ("rail", "Night train to the coast is back", RAIL)],
                   "herald": [("truce", HOSTILE, TRUCE)]}
        later = dict(outlets)
        feeds = _publish(site, {k: [] for k in outlets})          # a first reading is a baseline
        feeds.append(("broken", site.url("/missing.xml")))
        extra = ("\n[web]\nmax_stale_seconds = 0\n"    # every page current at once (the default keeps 5 s)
                 f'\n[[channels]]\nname = "desk"\nurl = "{receiver.url}"\nreceives = ["alerts"]\n\n'
                 '[[alerts]]\nname = "ceasefire"\ntopics = ["ceasefire"]\n')
        self.path = write_config(tmp_path, feeds, extra=extra)
        self.path.write_text(self.path.read_text().replace('name = "herald"\n', 'name = "herald"\ntags = ["regional"]\n'))
        self.config = load_config(self.path)
        self.clock = clock
        run_once(self.config, clock=clock, force=True)
        _publish(site, later)
        herald = site.routes["/herald.xml"]     # herald declares its language (fr-FR); wire's pages theirs (en)
        site.routes["/herald.xml"] = replace(herald, body=herald.body.replace(b"<channel>", b"<channel><language>fr-FR</language>", 1))
        clock.now += timedelta(minutes=20)
        run_once(self.config, clock=clock, force=True)
        notify_now(self.config, clock())

    def sql(self, query: str, args=()) -> list[tuple]:
        return rows(self.config, query, args)

    def story_of(self, title_like: str) -> str:
        return self.sql("SELECT story_id FROM articles WHERE title LIKE ? AND duplicate_of IS NULL",
                        [title_like])[0][0]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def archive(site, tmp_path, seeds_dir, clock, receiver) -> Archive:
    return Archive(site, tmp_path, clock, receiver)


class Web:
    """The real server in a thread, on 127.0.0.1 and a free port."""

    def __init__(self, config):
        sock = bound_socket("127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = server(config, sock)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                break
            time.sleep(0.02)

    def get(self, path: str, method: str = "GET", data: bytes | None = None):
        """(status, headers, body text) of one request."""
        request = urllib.request.Request(self.base + path, method=method, data=data)
        try:
            with urllib.request.urlopen(request, timeout=20) as r:
                return r.status, r.headers, r.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode("utf-8")

    def page(self, path: str) -> str:
        status, headers, body = self.get(path)
        assert status == 200, (path, status, body[:300])
        assert "script-src" not in headers["content-security-policy"]      # no script at all
        assert headers["content-security-policy"].startswith("default-src 'none'")
        return body

    def api(self, path: str):
        status, headers, body = self.get(path)
        assert status == 200 and headers["content-type"].startswith("application/json"), (path, status, body[:300])
        return json.loads(body)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def web(archive):
    w = Web(archive.config)
    yield w
    w.stop()


def cli_json(archive: Archive, *args: str):
    done = newsmon(*args, "--json", "--config", str(archive.path))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# --- pages and their twins


def test_today_shows_the_days_stories_as_the_digest_ranks_them_and_filters(archive, web):
    truce, talks, rail = (archive.story_of(t) for t in ("Local ceasefire%", "Ceasefire talks%", "Night train%"))
    html = web.page(f"/?date={DAY}")
    assert all(f'href="/story/{s}"' in html for s in (truce, talks, rail))
    assert '<section class="topic" id="topic-ceasefire">' in html and '<section class="topic" id="others">' in html
    assert html.index(truce) < html.index(talks) < html.index('id="others"') < html.index(rail)  # 2 outlets first
    twin = web.api(f"/api/v1/today?date={DAY}")
    cli = cli_json(archive, "stories", "--date", DAY)
    assert twin["stories"] == cli["stories"] and len(twin["stories"]) == 3     # the CLI's records, the same
    ceasefire = web.api(f"/api/v1/today?date={DAY}&topic=ceasefire")
    assert [s["story_id"] for s in ceasefire["stories"]] == [truce, talks]
    assert ceasefire["stories"] == cli_json(archive, "stories", "--date", DAY, "--topic", "ceasefire")["stories"]
    herald = web.page(f"/?date={DAY}&feed=herald")
    assert truce in herald and talks not in herald and rail not in herald
    regional = web.api(f"/api/v1/today?date={DAY}&tag=regional")
    assert [s["story_id"] for s in regional["stories"]] == [truce] and 'name="tag"' in html
    assert web.get(f"/api/v1/today?date={DAY}&tag=nosuch")[0] == 400
    assert web.api("/api/v1/today?date=2026-11-20")["stories"] == []
    assert web.get(f"/?date={DAY}", method="HEAD")[0] == 200
    assert 'http-equiv="refresh"' not in html and 'http-equiv="refresh" content="300"' in web.page("/")  # today: live
    status, _, body = web.get(f"/?date={DAY}&topic=nosuch")
    assert status == 400 and "unknown topic" in body
    assert web.get("/?date=yesterday")[0] == 400


def test_a_story_shows_every_report_in_order_with_matches_and_the_alert_sent(archive, web):
    story_id = archive.story_of("Local ceasefire%")
    html = web.page(f"/story/{story_id}")
    assert html.count('class="report"') == 2 and "wire" in html and "herald" in html
    assert "<mark>ceasefire</mark>" in html.lower()
    assert "No alert was sent" not in html and 'class="status-sent">sent<' in html
    twin = web.api(f"/api/v1/stories/{story_id}")
    assert [r["feed"] for r in twin["reports"]] == [f for (f,) in archive.sql(
        "SELECT feed FROM articles WHERE story_id = ? AND duplicate_of IS NULL ORDER BY first_seen, rowid", [story_id])]
    assert twin["story"]["reports"] == 2 and twin["story"]["outlets"] == 2
    assert any(m["topic"] == "ceasefire" for r in twin["reports"] for m in r["matches"])
    assert [(a["channel"], a["kind"], a["status"]) for a in twin["alerts"]] == [("desk", "alert", "sent")]
    assert web.get("/story/nosuch")[0] == 404 and web.get("/api/v1/stories/nosuch")[0] == 404


def test_today_filters_by_language_declared_by_the_feed_or_the_page_with_counts(archive, web):
    """herald's feed declares fr-FR (kept as "fr"); wire's feed declares none, its pages say
    <html lang="en">. A story is in every language one of its reports declares."""
    truce, talks, rail = (archive.story_of(t) for t in ("Local ceasefire%", "Ceasefire talks%", "Night train%"))
    assert sorted(archive.sql("SELECT DISTINCT feed, language FROM articles WHERE duplicate_of IS NULL")) == [
        ("herald", "fr"), ("wire", "en")]
    every = web.api(f"/api/v1/today?date={DAY}")
    assert every["languages"] == {"en": 3, "fr": 1}
    french = web.api(f"/api/v1/today?date={DAY}&lang=fr")
    assert [s["story_id"] for s in french["stories"]] == [truce] and french["languages"] == {"en": 3, "fr": 1}
    english = web.api(f"/api/v1/today?date={DAY}&lang=en&topic=ceasefire")
    assert [s["story_id"] for s in english["stories"]] == [truce, talks] and english["languages"] == {"en": 2, "fr": 1}
    assert web.api(f"/api/v1/today?date={DAY}&lang=de")["stories"] == []
    html = web.page(f"/?date={DAY}&lang=fr")
    assert f'href="/story/{truce}"' in html and talks not in html and rail not in html
    assert '<option value="fr" selected>fr (1)</option>' in html and '<option value="en">en (3)</option>' in html
    status, _, body = web.get(f"/?date={DAY}&lang=French")
    assert status == 400 and "language code" in body
    assert web.get(f"/api/v1/today?date={DAY}&lang=EN")[0] == 400


def test_a_story_says_why_each_later_report_was_grouped(archive, web):
    """As the run's story stage decided it: the report it was paired with, the model's pair
    features and probabilities (the same figures `newsmon stories --why` replays)."""
    talks = archive.story_of("Ceasefire talks%")
    truce = archive.story_of("Local ceasefire%")
    [(later, grouping)] = archive.sql("SELECT id, grouping FROM articles WHERE story_id = ? AND id != story_id "
                                      "AND duplicate_of IS NULL", [truce])
    assert grouping is not None         # a join by the model (the texts differ in their headlines)
    twin = web.api(f"/api/v1/stories/{truce}")
    why = {r["id"]: r["why"] for r in twin["reports"]}
    assert why[truce] is None and set(why) == {truce, later}
    recorded = why[later]
    assert "grouping" not in twin["reports"][0]
    stored = json.loads(grouping)
    [(first_feed,)] = archive.sql("SELECT feed FROM articles WHERE id = ?", [truce])
    assert recorded["paired_with"] == truce and recorded["paired_feed"] == first_feed and not recorded["near_copy"]
    assert recorded["story"] == truce and 0.5 <= recorded["pair_score"] <= 1 and recorded["features"] == stored["features"]
    assert recorded["features"]["title"] > 0 and "bias" not in recorded["features"]
    said = cli_json(archive, "stories", "--why", later)          # the CLI gives the run's record too
    assert said["recorded"] and said["model_story"] == truce and said["pair_score"] == recorded["pair_score"]
    assert said["pair_features"] == recorded["features"]
    html = web.page(f"/story/{truce}")
    assert html.count('class="why"') == 1 and "Grouped:" in html
    assert f'<a href="#report-{truce}">{first_feed}' in html and f"{recorded['pair_score']:.2f}" in html
    assert 'class="why"' not in web.page(f"/story/{talks}")       # one report: nothing to explain
    # an article stored before schema 15 has no record: the CLI replays its window instead (its
    # members' weights from the window's final document frequencies, so the figures may differ
    # a little from the run's, never the story)
    store = open_store(archive.config)
    with store.transaction():
        store.conn.execute("UPDATE articles SET grouping = NULL WHERE id = ?", [later])
    store.close()
    replayed = cli_json(archive, "stories", "--why", later)
    assert not replayed["recorded"] and replayed["model_story"] == truce and replayed["pair_score"] >= 0.5
    assert set(replayed["pair_features"]) >= {"title", "body"}


def test_search_gives_the_clis_records_with_snippets_facets_and_date_ranges(archive, web):
    twin = web.api("/api/v1/search?q=ceasefire")
    cli = cli_json(archive, "search", "ceasefire")
    assert twin["results"] == cli and len(cli) == 3
    assert twin["facets"]["feed"] == {"wire": 2, "herald": 1} and twin["facets"]["day"] == {DAY: 3}
    assert twin["facets"]["topic"]["ceasefire"] == 3
    assert set(twin["stories"]) == {archive.story_of("Local ceasefire%"), archive.story_of("Ceasefire talks%")}
    html = web.page("/search?q=ceasefire")
    assert "<mark>" in html and "3 results" in html and f"/story/{archive.story_of('Ceasefire talks%')}" in html
    assert web.api(f"/api/v1/search?q=ceasefire&since={DAY}&until={DAY}")["results"] == cli
    assert web.api("/api/v1/search?q=ceasefire&since=2026-11-24")["results"] == []
    assert web.api("/api/v1/search?q=ceasefire&until=2026-11-22")["results"] == []
    assert web.api("/api/v1/search?q=ceasefire&feed=herald")["facets"]["feed"] == {"herald": 1}


def test_days_feeds_and_alerts_pages_and_their_twins(archive, web):
    days = web.api("/api/v1/days")["days"]
    assert days[0]["date"] == DAY and days[0]["articles"] == 4 and "html" in days[0]["digest"]
    assert f'href="/digests/{DAY}.html"' in web.page("/days")
    status, headers, body = web.get(f"/digests/{DAY}.html")
    assert status == 200 and "Local ceasefire" in body and "script" not in headers["content-security-policy"]
    assert web.get("/digests/2026-01-01.html")[0] == 404
    feeds = web.api("/api/v1/feeds")
    assert feeds["feeds"] == cli_json(archive, "status")["feeds"]          # `status --json`'s records
    broken = next(f for f in feeds["feeds"] if f["name"] == "broken")
    assert broken["status"] in ("error", "failing") and "404" in broken["last_error"]
    assert "404" in web.page("/feeds") and 'class="health-' in web.page("/feeds")
    alerts = web.api("/api/v1/alerts")
    assert [(c["name"], c["sent"], c["pending"], c["failed"]) for c in alerts["channels"]] == [("desk", 2, 0, 0)]
    assert {m["key"] for m in alerts["messages"]} == {archive.story_of("Local ceasefire%"),
                                                      archive.story_of("Ceasefire talks%")}
    assert f'href="/story/{archive.story_of("Local ceasefire%")}"' in web.page("/alerts")


def test_the_openapi_description_names_every_api_route_and_each_page_has_its_twin(web):
    spec = web.api("/api/v1/openapi.json")
    assert spec == json.loads(json.dumps(OPENAPI)) and spec["openapi"].startswith("3.")
    routes = {r.path for r in web.server.config.app.routes}
    shared = {p for p, item in spec["paths"].items() if not item.get(PEOPLE)}     # (the rest: test_webauth)
    assert {p for p in routes if p.startswith(("/api/v1/", "/feeds/"))} == shared   # and the Atom feeds
    for page in ("/", "/search", "/days", "/feeds", "/alerts"):
        twin = "/api/v1/today" if page == "/" else "/api/v1" + page
        assert page in routes and twin in routes


# --- feeds out


def test_an_atom_feed_per_topic_has_one_entry_per_story_updated_as_reports_join(archive, web, site):
    parsed = feedparser.parse(web.get("/feeds/topic/ceasefire.atom")[2].encode())
    assert not parsed.bozo and parsed.version == "atom10"
    talks = archive.story_of("Ceasefire talks%")
    assert {e.id for e in parsed.entries} == {f"tag:newsmon,2026:story:{s}"
                                              for s in (talks, archive.story_of("Local ceasefire%"))}
    assert HOSTILE in {e.title for e in parsed.entries}       # as text, escaped in the XML
    entry = next(e for e in parsed.entries if e.id.endswith(talks))
    before = entry.updated
    assert entry.link == f"{web.base}/story/{talks}"
    outlets = {s["story_id"]: s["outlets"] for s in web.api(f"/api/v1/today?date={DAY}")["stories"]}
    assert outlets[talks] == ["wire"]
    # a third outlet reports the talks later: the story's entry is updated, still one entry
    feeds = _publish(site, {"courier": [("talks", "Geneva talks on a ceasefire resume", TALKS[:1] + [
        "Negotiators from both sides arrived on Monday morning, the courier reported."])]})
    archive.config = load_config(write_config(archive.path.parent, [
        *[(n, site.url(f"/{n}.xml")) for n in ("wire", "herald")], *feeds]))
    archive.clock.now += timedelta(hours=1)
    run_once(archive.config, clock=archive.clock, force=True)
    assert archive.story_of("Geneva talks on a ceasefire%") == talks
    again = feedparser.parse(web.get("/feeds/topic/ceasefire.atom")[2].encode())
    entry = next(e for e in again.entries if e.id.endswith(talks))
    assert len(again.entries) == 2 and entry.updated > before
    outlets = {s["story_id"]: s["outlets"] for s in web.api(f"/api/v1/today?date={DAY}")["stories"]}
    assert outlets[talks] == ["wire", "courier"]                 # Today is current too (nothing kept stale)
    assert web.get("/feeds/topic/nosuch.atom")[0] == 400


def test_an_atom_feed_per_search_lists_the_matching_stories(archive, web):
    status, headers, body = web.get("/feeds/search.atom?q=ceasefire")
    assert status == 200 and headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(body.encode())
    assert not parsed.bozo and len(parsed.entries) == 2        # three articles, two stories
    assert "newsmon search: ceasefire" == parsed.feed.title
    harbour = feedparser.parse(web.get("/feeds/search.atom?q=night+train+harbour")[2].encode())
    assert not harbour.bozo and [e.title for e in harbour.entries] == ["Night train to the coast is back"]
    assert harbour.feed.id == "tag:newsmon,2026:search:night%20train%20harbour"
    assert web.get("/feeds/search.atom")[0] == 400


def test_an_atom_feed_per_alert_rule_lists_the_stories_the_rule_matches(archive, site):
    """Matched as the alert pass matches (whole words: "NATO" is not in "Senator Donato"), topics
    and min_outlets included; an unknown rule is a 404 naming the known ones."""
    feeds = _publish(site, {"courier": [
        ("nato", "NATO defence ministers meet in Brussels",
         ["NATO defence ministers met in Brussels on Monday to discuss air defence.", "The meeting lasted hours."]),
        ("bakery", "Senator Donato opens a bakery in Ohio",
         ["Senator Donato cut the ribbon at a new bakery in Columbus on Monday.", "It sells bread from Tuesday."])]})
    rules = ('\n[[alerts]]\nname = "nato"\nterms = ["NATO"]\n'
             '\n[[alerts]]\nname = "ceasefire"\ntopics = ["ceasefire"]\n'
             '\n[[alerts]]\nname = "wide truce"\ntopics = ["ceasefire"]\nmin_outlets = 2\n')
    config = load_config(write_config(archive.path.parent, [
        *[(n, site.url(f"/{n}.xml")) for n in ("wire", "herald")], *feeds], extra=rules))
    archive.clock.now += timedelta(hours=1)
    run_once(config, clock=archive.clock, force=True)
    nato, donato = archive.story_of("NATO defence%"), archive.story_of("Senator Donato%")
    truce, talks = archive.story_of("Local ceasefire%"), archive.story_of("Ceasefire talks%")
    w = Web(config)
    try:
        def entries(path: str) -> dict[str, feedparser.FeedParserDict]:
            status, headers, body = w.get(path)
            assert status == 200 and headers["content-type"].startswith("application/atom+xml"), (path, body[:300])
            parsed = feedparser.parse(body.encode())
            assert not parsed.bozo and parsed.version == "atom10", path
            return {e.id.rpartition(":")[2]: e for e in parsed.entries}

        got = entries("/feeds/alert/nato.atom")
        assert set(got) == {nato} and donato not in got
        assert got[nato].link == f"{w.base}/story/{nato}"
        last_seen = archive.sql("SELECT last_seen FROM stories WHERE id = ?", [nato])[0][0]
        assert datetime.fromisoformat(got[nato].updated) == datetime.fromisoformat(last_seen).replace(microsecond=0)
        assert set(entries("/feeds/alert/ceasefire.atom")) == {truce, talks}
        assert set(entries("/feeds/alert/wide%20truce.atom")) == {truce}                # two outlets, not one
        status, _, body = w.get("/feeds/alert/nosuch.atom")
        assert status == 404 and "nato, ceasefire, wide truce" in body
    finally:
        w.stop()


# --- safety


def test_hostile_feed_text_is_shown_inert_and_links_are_http_only(archive, web):
    story_id = archive.story_of("Local ceasefire%")
    for path in (f"/?date={DAY}", f"/story/{story_id}", "/search?q=ceasefire", "/alerts"):
        html = web.page(path)
        assert "<script" not in html and "<img" not in html, path
    assert "&lt;script&gt;" in web.page(f"/story/{story_id}")
    archive.sql("UPDATE articles SET url = 'javascript:alert(1)' WHERE feed = 'herald'")
    html = web.page(f"/story/{story_id}")
    assert "javascript:" not in html and html.count('rel="noreferrer noopener"') == 1


@pytest.mark.sqlite_only
def test_the_server_is_read_only_and_never_blocks_a_writer(archive, web):
    status, headers, _ = web.get("/", method="POST", data=b"x=1")
    assert status == 405 and headers["allow"] == "GET, HEAD"
    assert web.get("/api/v1/today", method="DELETE")[0] == 405
    writer = sqlite3.connect(archive.config.database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")                    # a run in the middle of its transaction
    writer.execute("UPDATE stories SET title = 'being rewritten'")
    try:
        started = time.monotonic()
        html = web.page(f"/?date={DAY}")                      # reads the last commit
        assert archive.story_of("Local ceasefire%") in html and "being rewritten" not in html
        assert time.monotonic() - started < 5
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@pytest.mark.sqlite_only     # (SQLite's kept connections and its log; PostgreSQL's are its pool's)
def test_the_servers_kept_connections_hold_no_read_between_requests_and_see_each_commit(archive, web):
    """Each server thread keeps its read-only connection between requests (app/archive.reading):
    idle, it holds no read transaction, so a writer's checkpoint empties the whole log; and the
    next request reads what was committed since."""
    story_id = archive.story_of("Local ceasefire%")
    for path in (f"/story/{story_id}", f"/api/v1/stories/{story_id}", "/search?q=ceasefire", "/feeds", "/alerts") * 8:
        web.page(path) if not path.startswith("/api/") else web.api(path)
    writer = sqlite3.connect(archive.config.database, isolation_level=None)
    try:
        writer.execute("UPDATE stories SET title = 'Rewritten after the reads' WHERE id = ?", [story_id])
        busy, log, done = writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert (busy, log, done) == (0, 0, 0)          # no reader held back any of the log
    finally:
        writer.close()
    assert all(web.api(f"/api/v1/stories/{story_id}")["story"]["title"] == "Rewritten after the reads"
               for _ in range(8))


def test_newsmon_web_as_a_subprocess_serves_and_refuses_a_public_address(archive):
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "web", "--port", "0", "--config", str(archive.path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "read-only" in line
        base = line.split(" on ")[1].split()[0].rstrip("/")
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{base}/api/v1/today?date={DAY}", timeout=5) as r:
                    assert len(json.loads(r.read())["stories"]) == 3
                break
            except urllib.error.URLError:
                time.sleep(0.1)
        else:
            pytest.fail("newsmon web did not answer")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    refused = newsmon("web", "--host", "0.0.0.0", "--config", str(archive.path))
    assert refused.returncode == 2 and "refusing to listen on 0.0.0.0" in refused.stderr
    assert "[[web.users]]" in refused.stderr
    taken = bound_socket("127.0.0.1", 0)                     # a port someone else listens on
    try:
        busy = newsmon("web", "--port", str(taken.getsockname()[1]), "--config", str(archive.path))
    finally:
        taken.close()
    assert busy.returncode == 2 and "cannot listen on 127.0.0.1:" in busy.stderr and "Traceback" not in busy.stderr


def _niceness(stat: str) -> int:
    """Field 19 of /proc/PID/stat (proc(5)), counted after the command name's closing parenthesis."""
    return int(stat.rpartition(")")[2].split()[16])


@pytest.mark.sqlite_only
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("setting", [None, 7, 0])
def test_newsmon_web_lowers_its_own_priority_so_a_run_gets_the_cores_first(tmp_path, seeds_dir, setting):
    """`[web] nice` (10 by default; 0 keeps the niceness it was started with) holds for every
    thread of the server, the pages' pool included (on Linux a niceness is per thread)."""
    extra = "" if setting is None else f"\n[web]\nnice = {setting}\n"
    path = write_config(tmp_path, [], extra=extra)
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "web", "--port", "0", "--config", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        base = line.split(" on ")[1].split()[0].rstrip("/")
        for _ in range(4):                                   # the pages' threads exist once they served
            try:
                urllib.request.urlopen(f"{base}/api/v1/days", timeout=10)
            except urllib.error.HTTPError as e:
                assert e.code == 503                         # (no database yet: fine here)
        started_at = os.nice(0)                              # what it inherited from this test
        wanted = max(started_at, 10 if setting is None else setting)
        threads = list(Path(f"/proc/{proc.pid}/task").iterdir())
        assert len(threads) >= 2 and f"nice {wanted};" in line       # uvicorn's, and a page's
        assert {_niceness((t / "stat").read_text()) for t in threads} == {wanted}
        assert _niceness(Path(f"/proc/{proc.pid}/stat").read_text()) == wanted
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_with_no_database_yet_the_pages_say_so(tmp_path, seeds_dir):
    config = load_config(write_config(tmp_path, []))
    w = Web(config)
    try:
        status, _, body = w.get("/")
        assert status == 503 and "run `newsmon run` first" in body
        assert w.get("/api/v1/days")[0] == 503
    finally:
        w.stop()
    assert not config.database.exists()                 # the server created nothing



# --- a real browser: Debian's chromium, headless


def chromium(args: list[str], tmp_path) -> subprocess.CompletedProcess:
    """Headless Chromium on our loopback server only (no sync, no updates, a fresh profile).
    Skips where there is no browser, except in CI (CI set), where that is a failure."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("CI: chromium is missing (apt-get install -y chromium)")
        pytest.skip("no chromium here (apt-get install -y chromium)")
    profile = tmp_path / "chromium-profile"
    return subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--no-first-run",
                           f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.sqlite_only       # (the pages are the same on both engines: one browser run is enough)
def test_a_real_browser_renders_today_and_a_story_with_hostile_text_inert(archive, web, tmp_path):
    from html.parser import HTMLParser

    story_id = archive.story_of("Local ceasefire%")
    for name, path in (("today", f"/?date={DAY}"), ("story", f"/story/{story_id}")):
        dom = chromium(["--dump-dom", web.base + path], tmp_path)
        assert dom.returncode == 0, dom.stderr[-2000:]

        class Elements(HTMLParser):
            found: list[str] = []

            def handle_starttag(self, tag, attrs):
                self.found.append(tag)
                assert not any(k.startswith("on") for k, _ in attrs), (tag, attrs)   # no handler injected

        parser = Elements()
        parser.found = []
        parser.feed(dom.stdout)
        assert "script" not in parser.found and "img" not in parser.found, name
        assert "mark" in parser.found or name == "today"
        assert HOSTILE in dom.stdout.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")  # shown as text
        shot = tmp_path / f"{name}.png"
        done = chromium([f"--screenshot={shot}", "--window-size=1100,900", "--hide-scrollbars", web.base + path],
                        tmp_path)
        assert done.returncode == 0 and shot.stat().st_size > 10_000, done.stderr[-2000:]
        keep = os.environ.get("NEWSMON_SCREENSHOTS")
        if keep:
            shutil.copy(shot, Path(keep) / shot.name)


def test_a_whole_day_reading_is_kept_until_a_write_and_then_at_most_max_stale_seconds(archive):
    from dataclasses import replace

    from pipeline.web.pages import Readings

    reads = []

    def read():
        reads.append(1)
        return len(reads)

    def write():
        archive.sql("UPDATE feeds SET items_seen = items_seen + 1 WHERE name = 'wire'")

    at_once = Readings(archive.config)                               # max_stale_seconds = 0 (this archive)
    assert [at_once.get(("k",), read), at_once.get(("k",), read)] == [1, 1]    # nothing written: kept
    write()
    assert at_once.get(("k",), read) == 2                            # written: read again
    bounded = Readings(replace(archive.config, web=replace(archive.config.web, max_stale_seconds=1)))
    assert bounded.get(("k",), read) == 3
    write()
    assert bounded.get(("k",), read) == 3                            # written, but kept up to 1 s
    time.sleep(1.1)
    assert bounded.get(("k",), read) == 4
