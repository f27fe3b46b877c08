"""The alert pass that cannot lose a story, the digest that is never batched away, and a first
run that is a baseline (issue 23, part B): real loopback receivers, real SQLite files, `newsmon`
as a subprocess where a signal matters, a fixed clock."""

from __future__ import annotations

import json
import math
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from conftest import newsmon, not_created, open_store, rows, write_config
from hypothesis import given, settings
from hypothesis import strategies as st
from test_alerts import NOW, TRUCE, Receiver, _channels, _site, _store_with

from pipeline.app.alerts import poisson_tail, queue_alerts, spike
from pipeline.app.notify import deliver_messages, notify_now, send
from pipeline.app.pipeline import run_once
from pipeline.app.report import render_day
from pipeline.config import load_config
from pipeline.demo.site import FeedItem, article_page, rss_feed
from pipeline.storage.schema import SCHEMA_VERSION

pytestmark = pytest.mark.both_engines  # each test on SQLite and on PostgreSQL (conftest: engine)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def _stored(path, title: str) -> bool:
    try:
        return bool(rows(load_config(path), "SELECT 1 FROM articles WHERE title = ?", [title]))
    except not_created():     # (not created yet)
        return False


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL])
def test_a_story_stored_by_a_run_then_stopped_is_alerted_once_by_the_next_run(site, tmp_path, seeds_dir, receiver,
                                                                             stop):
    """The run stores the story, then is stopped before its alert pass (SIGTERM: exit 143; or
    killed). The next run's pass starts from the stored mark, not from its own start."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    title = "Local ceasefire lets engineers reach the plant"
    site.routes["/truce"] = article_page(title, "Wire", now.date().isoformat(), TRUCE)
    story = FeedItem(title, site.url("/truce"), "truce", now.isoformat().replace("+00:00", "Z"), TRUCE[0])
    site.routes["/w.xml"] = rss_feed("W", site.base, [])
    site.routes["/s.xml"] = rss_feed("S", site.base, [])
    path = write_config(tmp_path, [("wire", site.url("/w.xml")), ("slow", site.url("/s.xml"))],
                        extra=_channels(receiver.url))
    path.write_text(path.read_text().replace("timeout_seconds = 5", "timeout_seconds = 120", 1))
    assert newsmon("run", "--config", str(path)).returncode == 0        # the baseline: both feeds read
    site.routes["/w.xml"] = rss_feed("W", site.base, [story])
    site.routes["/s.xml"] = replace(rss_feed("S", site.base, []), delay=120)   # still fetching when stopped
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "run", "--force", "--config", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not _stored(path, title):
            time.sleep(0.1)
        assert _stored(path, title)
        proc.send_signal(stop)
        proc.wait(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == (128 + stop if stop == signal.SIGTERM else -stop)
    assert receiver.received == []                                       # stopped before its alert pass
    site.routes["/s.xml"] = rss_feed("S", site.base, [])
    for _ in range(2):                                                   # the next run, and one more
        assert newsmon("run", "--force", "--config", str(path)).returncode == 0
    assert [m["title"] for m in receiver.received] == [f"Alert: {title} [Ceasefire]"]


def test_the_mark_moves_only_when_the_pass_commits_and_a_failing_story_stops_no_other(tmp_path, seeds_dir):
    """One story's row is unreadable (its topics are not JSON, as a hand edit could leave it): its
    error is reported, the other story is alerted, and the mark stays, so the range is evaluated
    again once the row is mended, without queueing anything twice."""
    config = load_config(write_config(tmp_path, [], extra=_channels("json://127.0.0.1:9/hook")))
    store = _store_with(config, [("good", NOW - timedelta(hours=1), ("ceasefire",), ["a"]),
                                 ("bad", NOW - timedelta(minutes=30), ("ceasefire",), ["b"])])
    try:
        store.conn.execute("UPDATE stories SET topics = 'not json' WHERE id = 'bad'")
        first = queue_alerts(store, config, NOW)
        assert first.errors and "story bad" in first.errors[0] and not first.advanced
        assert rows(config, "SELECT key FROM messages WHERE kind = 'alert'") == [("good",)]
        assert rows(config, "SELECT rowid_upto FROM marks") == []         # never advanced
        store.conn.execute("""UPDATE stories SET topics = '["ceasefire"]' WHERE id = 'bad'""")
        second = queue_alerts(store, config, NOW)
        assert second.errors == () and second.advanced and second.queued == 1
        assert rows(config, "SELECT rowid_upto FROM marks") == [(2,)]
        assert queue_alerts(store, config, NOW).queued == 0               # nothing new: nothing again
    finally:
        store.close()
    assert sorted(rows(config, "SELECT key FROM messages WHERE kind = 'alert'")) == [("bad",), ("good",)]


def test_a_channel_that_raises_keeps_no_other_channel_from_its_messages(tmp_path, seeds_dir, receiver):
    config = load_config(write_config(tmp_path, [], extra=f'''
[[channels]]
name = "broken"
url = "json://127.0.0.1:9/hook"

[[channels]]
name = "desk"
url = "{receiver.url}"

[[alerts]]
topics = ["ceasefire"]
'''))

    def sender(channel, title, body):        # one channel's delivery raises (a bug, a library error)
        if channel.name == "broken":
            raise RuntimeError("the library broke")
        send(channel, title, body)

    store = _store_with(config, [("s", NOW - timedelta(hours=1), ("ceasefire",), ["a"])])
    try:
        queue_alerts(store, config, NOW)
        broken, desk = deliver_messages(store, config, NOW, sender)
    finally:
        store.close()
    assert broken.errors == ("channel broken: RuntimeError: the library broke",) and broken.pending == 1
    assert desk.sent == 1 and [m["title"] for m in receiver.received] == ["Alert: Story s [Ceasefire]"]


# --- the Poisson tail in log space -----------------------------------------------------------------

def test_a_spike_of_thousands_of_stories_is_measured_not_an_overflow(tmp_path, seeds_dir):
    """172 stories or more overflowed math.factorial and stopped every alert; now it is a spike."""
    config = load_config(write_config(tmp_path, [], extra=_channels("json://127.0.0.1:9/hook")))
    history = [("old", NOW - timedelta(days=20), ("ceasefire",), ["a"])]
    burst = [(f"b{i}", NOW - timedelta(seconds=30 * (i + 1)), ("ceasefire",), ["a"]) for i in range(200)]
    store = _store_with(config, history + burst)
    try:
        done = queue_alerts(store, config, NOW)
    finally:
        store.close()
    assert done.errors == ()
    assert rows(config, "SELECT title FROM messages WHERE kind = 'spike'") == [
        ("Spike: 200 new Ceasefire stories in 3 h",)]
    assert rows(config, "SELECT count(*) FROM messages WHERE kind = 'alert' AND key LIKE 'b%'") == [(200,)]


def _direct(count: int, mean: float) -> float:
    """The tail summed as the textbook writes it: exact enough where factorials stay small."""
    return 1.0 - math.fsum(math.exp(-mean) * mean ** i / math.factorial(i) for i in range(count))


@settings(max_examples=300, deadline=None)
@given(count=st.integers(0, 10 ** 6), mean=st.floats(1e-3, 1e6))
def test_the_poisson_tail_never_raises_stays_a_probability_and_falls_with_the_count(count, mean):
    tail, next_tail = poisson_tail(count, mean), poisson_tail(count + 1, mean)
    assert 0.0 <= next_tail <= 1.0 and 0.0 <= tail <= 1.0
    assert next_tail <= tail + 1e-12                    # monotone (within rounding where the side changes)
    is_spike, _, p = spike(count, [int(mean)] * 3, 3, 0.001)
    assert 0.0 <= p <= 1.0 and isinstance(is_spike, bool)


@settings(max_examples=300, deadline=None)
@given(count=st.integers(0, 60), mean=st.floats(1e-2, 40))
def test_the_poisson_tail_agrees_with_the_direct_sum_where_that_is_exact(count, mean):
    assert poisson_tail(count, mean) == pytest.approx(_direct(count, mean), abs=1e-9)


# --- the chat digest is its own message -------------------------------------------------------------

def test_past_the_hourly_cap_the_chat_digest_still_arrives_whole(site, tmp_path, seeds_dir, clock, receiver):
    """Alerts used the channel's hour (max_per_hour = 2: one alone, the rest batched); the digest,
    due minutes later and in quiet hours, is its own message with its stories, not a line of a batch."""
    stories = [(f"s{i}", f"Ceasefire holds in town number {i}", [
        f"A local ceasefire held in Town{i} on Monday, officials of the Town{i} council said.",
        "Repairs began."]) for i in range(3)]
    feeds = _site(site, stories)
    items = site.routes["/w.xml"]
    site.routes["/w.xml"] = rss_feed("W", site.base, [])
    config = load_config(write_config(tmp_path, feeds, extra="fetch_pages = false\n" + _channels(receiver.url).replace(
        'receives = ["alerts"]', 'receives = ["alerts", "digest"]')
        + '\n[alerting]\nmax_per_hour = 2\nquiet_hours = "07:00-08:00"\n'))
    run_once(config, clock=clock, force=True)                       # the baseline
    site.routes["/w.xml"] = items
    run_once(config, clock=clock, force=True)                       # three stories of 2026-11-23
    clock.now = datetime(2026, 11, 24, 4, 50, tzinfo=timezone.utc)  # 06:50 in Kyiv: the digest is not due
    notify_now(config, clock())
    assert [m["title"] for m in receiver.received] == [
        "Alert: Ceasefire holds in town number 0 [Ceasefire]", "2 more alerts"]     # the hour's cap is used
    clock.now = datetime(2026, 11, 24, 5, 10, tzinfo=timezone.utc)  # 07:10 in Kyiv: due, within the hour, quiet
    [delivered] = notify_now(config, clock())
    assert delivered.sent == 1 and delivered.batched == 0 and len(receiver.received) == 3
    digest = receiver.received[-1]
    assert digest["title"] == "News digest 2026-11-23: 3 stories"
    for i in range(3):
        assert f"- Ceasefire holds in town number {i} (1 outlet)" in digest["message"]


# --- a first run is a baseline ----------------------------------------------------------------------

def test_a_first_reading_and_an_old_item_are_stored_but_not_news(site, tmp_path, seeds_dir, clock, receiver):
    """A new database reads a feed with five fresh ceasefire stories and a 2011 article: no alert,
    surge or spike; the digest lists the fresh ones and says what the first reading was; the 2011
    article is searchable but not listed. Later the same 2011 article's twin on a known feed
    (published long ago) is not alerted either, and a fresh story is."""
    def item(slug: str, title: str, published: str) -> FeedItem:
        text = [f"{title}: a local ceasefire held on Monday around {slug}, officials said.", "Repairs began."]
        return FeedItem(title, site.url(f"/{slug}"), slug, published, " ".join(text))

    fresh = [item(f"town{i}", f"Ceasefire holds in town number {i}", "2026-11-23T06:00:00Z") for i in range(5)]
    old = item("archive", "Ceasefire archive piece from Donetsk", "2011-05-02T09:00:00Z")
    site.routes["/w.xml"] = rss_feed("W", site.base, [*fresh, old])
    path = write_config(tmp_path, [("wire", site.url("/w.xml"))], extra="fetch_pages = false\n" + _channels(
        receiver.url) + "\n[alerting]\nspike_min_stories = 2\n")
    path.write_text(path.read_text().replace("max_age_days = 36500", "max_age_days = 7"))
    config = load_config(path)
    run_once(config, clock=clock, force=True)
    assert notify_now(config, clock())[0].sent == 0 and receiver.received == []
    assert rows(config, "SELECT count(*) FROM messages") == [(0,)]
    digest = json.loads((config.digest_dir / "2026-11-23.json").read_text())
    assert sorted(a["title"] for a in digest["articles"]) == sorted(i.title for i in fresh)
    assert digest["backlog"] == ["first reading of 1 feed: 5 earlier items stored (a baseline: no alerts)",
                                 "1 item published more than 7 days earlier stored, not listed as news "
                                 "(newsmon search finds them)"]
    assert "first reading of 1 feed: 5 earlier items stored" in (config.digest_dir / "2026-11-23.txt").read_text()
    found = newsmon("search", "Donetsk", "--config", str(path))
    assert "Ceasefire archive piece from Donetsk" in found.stdout

    clock.now += timedelta(hours=1)
    later = [item("again", "Ceasefire archive piece, republished", "2011-05-03T09:00:00Z"),
             item("news", "Ceasefire agreed for the river crossing", "2026-11-23T08:30:00Z")]
    site.routes["/w.xml"] = rss_feed("W", site.base, [*fresh, old, *later])
    run_once(config, clock=clock, force=True)
    notify_now(config, clock())
    assert [m["title"] for m in receiver.received] == ["Alert: Ceasefire agreed for the river crossing [Ceasefire]"]
    render_day(config, None, clock())
    titles = [a["title"] for a in json.loads((config.digest_dir / "2026-11-23.json").read_text())["articles"]]
    assert "Ceasefire agreed for the river crossing" in titles and "Ceasefire archive piece, republished" not in titles


def test_no_spike_before_the_topic_has_a_baseline_of_spike_baseline_days(tmp_path, seeds_dir):
    """A two-minute-old database with three fresh stories of a topic once sent "Spike: 3 new …
    stories in 3 h (usually 0.1…)". A spike needs spike_baseline_days (14) of the topic's history."""
    config = load_config(write_config(tmp_path, [], extra=_channels("json://127.0.0.1:9/hook")))
    store = _store_with(config, [(f"b{i}", NOW - timedelta(minutes=2 + i), ("ceasefire",), ["a"]) for i in range(3)])
    try:
        assert queue_alerts(store, config, NOW).errors == ()
    finally:
        store.close()
    assert rows(config, "SELECT 1 FROM messages WHERE kind = 'spike'") == []
    store = _store_with(config, [("first", NOW - timedelta(days=15), ("ceasefire",), ["a"])])   # history
    try:
        queue_alerts(store, config, NOW)
    finally:
        store.close()
    assert rows(config, "SELECT title FROM messages WHERE kind = 'spike'") == [
        ("Spike: 3 new Ceasefire stories in 3 h",)]


@pytest.mark.sqlite_only
def test_the_schema_7_migration_counts_what_an_older_newsmon_stored_as_evaluated(tmp_path, seeds_dir):
    """A database of schema 6 with stories in it: opened by this newsmon, its stories are not
    alerted again (the older one evaluated them by its own rule), and its articles are news."""
    config = load_config(write_config(tmp_path, [], extra=_channels("json://127.0.0.1:9/hook")))
    _store_with(config, [("s", NOW - timedelta(hours=1), ("ceasefire",), ["a"])]).close()
    with sqlite3.connect(config.database) as c:          # back to what schema 6 had
        c.execute("DROP TABLE marks")
        c.execute("ALTER TABLE articles DROP COLUMN backlog")
        c.execute("PRAGMA user_version = 6")
    store = open_store(config)
    try:
        assert queue_alerts(store, config, NOW).queued == 0
    finally:
        store.close()
    assert rows(config, "SELECT backlog FROM articles") == [(None,)]
    assert rows(config, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


def test_a_channel_added_later_starts_from_then_not_from_the_stored_history(site, tmp_path, seeds_dir, clock,
                                                                              receiver):
    """Runs without a channel for alerts move the mark themselves: adding a channel does not send
    the stories already stored as alerts; the next story is alerted."""
    feeds = _site(site)
    story = site.routes["/w.xml"]
    site.routes["/w.xml"] = rss_feed("W", site.base, [])
    path = write_config(tmp_path, feeds, extra="fetch_pages = false\n")
    run_once(load_config(path), clock=clock, force=True)                  # the baseline
    site.routes["/w.xml"] = story
    run_once(load_config(path), clock=clock, force=True)                  # news, but nobody to tell
    assert rows(load_config(path), "SELECT rowid_upto FROM marks") == [(1,)]
    path.write_text(path.read_text() + _channels(receiver.url))
    config = load_config(path)
    assert notify_now(config, clock())[0].sent == 0 and receiver.received == []
    site.routes["/later"] = article_page("Ceasefire agreed for the river crossing", "Wire", "2026-11-23", TRUCE)
    site.routes["/w.xml"] = rss_feed("W", site.base, [FeedItem("Ceasefire agreed for the river crossing",
                                                               site.url("/later"), "later", "2026-11-23T07:00:00Z",
                                                               "Officials agreed a ceasefire for the river crossing.")])
    run_once(config, clock=clock, force=True)
    notify_now(config, clock())
    assert [m["title"] for m in receiver.received] == ["Alert: Ceasefire agreed for the river crossing [Ceasefire]"]
