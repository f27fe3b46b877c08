"""Several workers on one PostgreSQL database (issue 26, point 2): two `newsmon run` processes at
once over 200 loopback feeds share the feeds by claims (app/claims.py), store every item once,
and send the day's email and each alert once; a worker SIGKILLed mid-run loses nothing, its
claimed feeds taken over by a later run once their lease has lapsed. Two `newsmon serve` daemons
share the feeds the same way, cycle after cycle; and a worker's story window catches up with the
reports other workers stored since it was loaded."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone

import pytest
from conftest import open_store, rows, write_config
from smtp import SMTPServer
from test_alerts import TRUCE, Receiver, _channels

from pipeline.config import load_config
from pipeline.demo.server import Page
from pipeline.demo.site import FeedItem, rss_feed
from pipeline.storage.store import article_id

FEEDS = 200


@pytest.fixture
def engine():
    return "postgresql"       # workers overlap on PostgreSQL only: SQLite keeps one run at a time


def _text(rng: random.Random) -> str:
    """A text like no other: words of random letters (so no two items make a story)."""
    return " ".join("".join(rng.choice("abcdefghijklmnoprstuvwy") for _ in range(rng.randint(3, 9)))
                    for _ in range(80)) + "."


def _serve(site, cycle: int, delay: float = 0.0, news: dict[int, tuple[str, str]] | None = None) -> list:
    """200 feeds of two items each for `cycle`; `news`: feed number -> (title, text) added."""
    rng = random.Random(cycle)
    feeds = []
    for n in range(FEEDS):
        items = [FeedItem(f"Feed {n} item {cycle}.{i}", site.url(f"/a/{n}/{cycle}/{i}"), f"g-{n}-{cycle}-{i}",
                          "2026-11-23T06:00:00Z", content_html=f"<p>{_text(rng)}</p>") for i in range(2)]
        if news and n in news:
            title, text = news[n]
            items.append(FeedItem(title, site.url(f"/news/{n}"), f"news-{n}", "2026-11-23T06:00:00Z",
                                  content_html=f"<p>{text}</p>"))
        page = rss_feed(f"Feed {n}", site.base, items)
        site.routes[f"/f/{n}.xml"] = Page(page.body, content_type=page.content_type, delay=delay)
        feeds.append((f"feed{n:03d}", site.url(f"/f/{n}.xml")))
    return feeds


def _start(path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipeline", "run", "--config", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _all_due(config) -> None:
    """The feeds' interval has passed (the next cycle), without waiting for it."""
    store = open_store(config)
    try:
        with store.transaction():
            store.conn.execute("UPDATE feeds SET next_due = '2000-01-01T00:00:00+00:00'")
    finally:
        store.close()


def _checks(config, runs_before: int) -> Counter:
    """How many times each feed was checked by the runs after `runs_before`."""
    return Counter(feed for (feed,) in rows(config, "SELECT feed FROM run_feeds WHERE run_id > ?", [runs_before]))


def _last_run(config) -> int:
    return rows(config, "SELECT coalesce(max(id), 0) FROM runs")[0][0]


def test_two_workers_share_200_feeds_and_send_once(site, tmp_path, seeds_dir, store_url):
    news = {17: ("Local ceasefire lets engineers reach the plant", " ".join(TRUCE)),
            142: ("Ceasefire talks: a truce on the eastern front agreed for the harvest",
                  "Both sides agreed a ceasefire along the eastern front from Friday, so that farmers can "
                  "bring in the grain harvest, mediators said. Monitors will patrol the line.")}
    receiver = Receiver()
    with SMTPServer() as smtp:
        email = f'''
[email]
enabled = true
host = "127.0.0.1"
port = {smtp.port}
security = "none"
from = "newsmon <newsmon@example.org>"
send_at = "00:00"
send_empty = true
timeout_seconds = 5

[[email.recipients]]
address = "desk@example.org"
'''
        path = write_config(tmp_path, _serve(site, 1), extra=email + _channels(receiver.url))
        path.write_text(path.read_text().replace("[extract]\n", "[extract]\nfetch_pages = false\n"))
        config = load_config(path)
        open_store(config).close()                       # the schema, made before the workers start
        try:
            for cycle, served in ((1, None), (2, news)):      # 1: the feeds' first reading (a baseline)
                feeds = _serve(site, cycle, news=served)
                if cycle == 2:
                    _all_due(config)
                before, hits_before = _last_run(config), {url: site.hits(url.split(site.base)[1]) for _, url in feeds}
                workers = [_start(path), _start(path)]
                results = [w.communicate(timeout=300) + (w.returncode,) for w in workers]
                assert [r[2] for r in results] == [0, 0], results
                checks = _checks(config, before)
                assert len(checks) == FEEDS and set(checks.values()) == {1}, checks.most_common(3)
                assert all(site.hits(url.split(site.base)[1]) - hits_before[url] == 1 for _, url in feeds)
                per_run = Counter(run for (run,) in rows(config, "SELECT run_id FROM run_feeds WHERE run_id > ?",
                                                         [before]))
                assert len(per_run) == 2, per_run      # both workers took a share of the feeds
            settle = subprocess.run([sys.executable, "-m", "pipeline", "run", "--config", str(path)],
                                    capture_output=True, text=True, timeout=300)   # nothing due: sends what is left
            assert settle.returncode == 0, settle.stderr
            stored = rows(config, "SELECT identity FROM articles")
            assert len(stored) == 2 * FEEDS * 2 + len(news)
            assert rows(config, "SELECT sum(new) FROM run_feeds")[0][0] == len(stored)   # none stored twice
            assert len(smtp.inbox.messages) == 1                        # the day's email, once
            alerted = receiver.identities()
            assert len(alerted) == len(news) and len(set(alerted)) == len(news), alerted   # each story, once
            assert all(a.startswith("newsmon ceasefire story ") for a in alerted)
        finally:
            receiver.stop()


def test_a_killed_worker_loses_nothing_and_its_feeds_are_taken_over(site, tmp_path, seeds_dir, store_url):
    """SIGKILL mid-run: the feeds it claimed are left alone while the lease holds (the next run
    checks the others), then taken over; in the end each feed checked once, every item stored."""
    path = write_config(tmp_path, _serve(site, 1, delay=0.3))
    path.write_text(path.read_text().replace("[extract]\n", "[extract]\nfetch_pages = false\n")
                    .replace("[storage]\n", "[storage]\nclaim_lease_seconds = 20\n"))
    config = load_config(path)
    open_store(config).close()                           # the schema, made before the worker starts
    worker = _start(path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:                 # mid-run: some feeds stored, some claimed
        if rows(config, "SELECT count(*) FROM run_feeds")[0][0] >= 20:
            break
        time.sleep(0.1)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    claimed = {name for (name,) in rows(config, "SELECT name FROM feeds WHERE claimed_by IS NOT NULL")}
    lapses, all_lapsed = (datetime.fromisoformat(t) for t in rows(
        config, "SELECT min(claimed_until), max(claimed_until) FROM feeds")[0])
    done = {name for (name,) in rows(config, "SELECT feed FROM run_feeds")}
    assert claimed and not claimed & done and len(done) < FEEDS
    _serve(site, 1)                                    # (no longer slow)
    first = subprocess.run([sys.executable, "-m", "pipeline", "run", "--config", str(path)],
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    if datetime.now(timezone.utc) < lapses:           # the lease still held: those feeds left alone
        left = {name for (name,) in rows(config, "SELECT name FROM feeds WHERE last_checked IS NULL")}
        assert left == claimed
    time.sleep(max(0.0, (all_lapsed - datetime.now(timezone.utc)).total_seconds()) + 0.5)   # every lease lapsed
    later = subprocess.run([sys.executable, "-m", "pipeline", "run", "--config", str(path)],
                           capture_output=True, text=True, timeout=300)
    assert later.returncode == 0, later.stderr
    assert rows(config, "SELECT count(*) FROM feeds WHERE last_checked IS NULL")[0][0] == 0
    assert rows(config, "SELECT count(*) FROM feeds WHERE claimed_by IS NOT NULL")[0][0] == 0
    checks = Counter(feed for (feed,) in rows(config, "SELECT feed FROM run_feeds"))
    assert len(checks) == FEEDS and set(checks.values()) == {1}
    assert rows(config, "SELECT count(*) FROM articles")[0][0] == FEEDS * 2     # nothing lost


def test_a_worker_sees_what_another_stored_before_deciding(site, tmp_path, seeds_dir, store_url, clock):
    """The same report in two feeds, checked by two workers one after the other: the second,
    whose duplicate index and story window were loaded before the first stored it, still finds
    it (the duplicate index on disk sees every committed row on PostgreSQL: diskindex.EVERY_ROW) and joins its story instead of starting another."""
    import asyncio

    from pipeline.app.pipeline import Pipeline, run_once
    from pipeline.storage.store import Store

    text = "<p>" + " ".join(TRUCE * 3) + "</p>"
    for n in (1, 2):
        site.routes[f"/c/{n}.xml"] = rss_feed(f"C{n}", site.base, [FeedItem(
            "Local ceasefire lets engineers reach the plant", site.url(f"/c/{n}/truce"), f"truce-{n}",
            "2026-11-23T06:00:00Z", content_html=text)])
    path = write_config(tmp_path, [("one", site.url("/c/1.xml")), ("two", site.url("/c/2.xml"))])
    path.write_text(path.read_text().replace("[extract]\n", "[extract]\nfetch_pages = false\n"))
    config = load_config(path)
    store = Store.open(config.store, config.store_password)
    second = Pipeline(config, store, clock=clock).prepare()
    try:
        second.index, second.stories.index(clock())          # loaded before the other worker stores
        run_once(config, clock=clock, only={"one"})           # the first worker
        asyncio.run(second.run([f for f in config.feeds if f.name == "two"], write_digest=False))
    finally:
        second.close()
        store.close()
    (one_id, one_story), (two_story, similarity) = rows(
        config, "SELECT id, story_id FROM articles WHERE feed = 'one'")[0], rows(
        config, "SELECT story_id, similarity FROM articles WHERE feed = 'two'")[0]
    assert two_story == one_story == one_id and similarity == 1.0


def test_a_worker_adding_the_feeds_keeps_what_another_stored_meanwhile(tmp_path, store_url, clock, monkeypatch):
    """Two workers start on a new database: the second reads the feeds missing and adds them just
    after the first did and checked one. The first's check stays (not reset as a changed URL
    would be); a URL changed in the config still starts the feed afresh."""
    from dataclasses import replace

    from pipeline.records import FeedChange, FeedOutcome

    path = write_config(tmp_path, [])
    config = load_config(path)
    store = open_store(config)
    try:
        state = store.ensure_feed("wire", "https://wire.example/rss")
        with store.transaction():
            store.save_feed(store.start_run(clock()), FeedOutcome("wire", state.url, "ok", etag='"v1"'),
                            FeedChange(replace(state, etag='"v1"', last_checked=clock()), ()), clock())
        read = store._feed_rows
        reads = iter([{}])             # the second worker read the table before the first added it
        monkeypatch.setattr(store, "_feed_rows", lambda names: next(reads, read(names)))
        assert store.ensure_feed("wire", "https://wire.example/rss").etag == '"v1"'
        assert store.ensure_feed("wire", "https://wire.example/rss").etag == '"v1"'
        assert store.ensure_feed("wire", "https://wire.example/other").etag is None
    finally:
        store.close()


def test_two_daemons_share_the_feeds_cycle_after_cycle_and_send_once(site, tmp_path, seeds_dir, store_url):
    """Two `newsmon serve` on one database, as on two machines (a config folder each): every feed
    is checked once per cycle by one of them (its fetches at least an interval apart), each item
    stored once, the day's email sent once; SIGTERM stops both with exit 0."""
    interval, count = 3.0, 20
    fetched: dict[int, list[float]] = {n: [] for n in range(count)}

    def timed(n: int, page: Page):
        def answer(handler) -> Page:
            fetched[n].append(time.monotonic())
            return page
        return answer

    feeds = _serve(site, 1, delay=0.4)[:count]
    for n in range(count):
        site.routes[f"/f/{n}.xml"] = timed(n, site.routes[f"/f/{n}.xml"])
    with SMTPServer() as smtp:
        email = (f'[email]\nenabled = true\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\n'
                 'send_at = "00:00"\nsend_empty = true\ntimeout_seconds = 5\n'
                 '[[email.recipients]]\naddress = "desk@example.org"\n')
        paths = []
        for machine in ("a", "b"):
            folder = tmp_path / machine
            folder.mkdir()
            shutil.copytree(seeds_dir, folder / "seeds")
            path = write_config(folder, feeds, extra=email)
            path.write_text(path.read_text().replace("[extract]\n", "[extract]\nfetch_pages = false\n")
                            .replace("[fetch]\n", f"[fetch]\ninterval_minutes = {interval / 60}\n"))
            paths.append(path)
        config = load_config(paths[0])
        open_store(config).close()                       # the schema, made before the daemons start
        daemons = [subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--config", str(p)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for p in paths]
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and min(len(t) for t in fetched.values()) < 3:
                assert all(d.poll() is None for d in daemons), [d.communicate() for d in daemons]
                time.sleep(0.2)
            for d in daemons:
                d.send_signal(signal.SIGTERM)
            outputs = [d.communicate(timeout=60) for d in daemons]
            assert [d.returncode for d in daemons] == [0, 0], outputs
        finally:
            for d in daemons:
                if d.poll() is None:
                    d.kill()
        mails = len(smtp.inbox.messages)
    assert min(len(t) for t in fetched.values()) >= 3, fetched
    gaps = [b - a for times in fetched.values() for a, b in zip(times, times[1:])]
    assert min(gaps) > interval / 2, sorted(gaps)[:5]            # never twice in one cycle
    ran = [sum(int(line.split(": ")[1].split()[0]) for line in err.splitlines() if " run " in line
               and " feed(s), " in line) for _, err in outputs]
    assert all(ran), ran                                        # both daemons took a share
    assert rows(config, "SELECT count(*) FROM articles")[0][0] == 2 * count
    assert rows(config, "SELECT sum(new) FROM run_feeds")[0][0] == 2 * count    # none stored twice
    assert rows(config, "SELECT count(*) FROM feeds WHERE claimed_by IS NOT NULL")[0][0] == 0
    assert mails == 1                                             # the day's email, once


def test_a_workers_story_window_takes_in_what_another_stored_since_it_loaded(site, tmp_path, seeds_dir, store_url):
    """Worker A (a `newsmon run` process) stores a report; worker B, whose story window was read
    before that, then stores another outlet's report of the same event (not a copy): B's window
    catches up with A's report before placing its own (app/storywindow.py), so one story."""
    import asyncio

    from test_stories import _by_id, _today
    from test_stories import _serve as serve_reports

    from pipeline.app.pipeline import Pipeline
    from pipeline.clock import utcnow

    feeds = [serve_reports(site, [_today(_by_id("kharkiv-strike-0314", 1))], "meridian"),
             serve_reports(site, [_today(_by_id("kharkiv-strike-0314", 2))], "ledger")]
    path = write_config(tmp_path, feeds)
    config = load_config(path)
    store = open_store(config)
    worker_b = Pipeline(config, store).prepare()
    try:
        worker_b.stories.index(utcnow())                    # B's window, read before A stores
        worker_a = subprocess.run([sys.executable, "-m", "pipeline", "run", "--config", str(path), "--feed", "meridian"],
                                  capture_output=True, text=True, timeout=300)
        assert worker_a.returncode == 0, worker_a.stderr
        asyncio.run(worker_b.run([f for f in config.feeds if f.name == "ledger"], write_digest=False))
    finally:
        worker_b.close()
        store.close()
    stored = rows(config, "SELECT feed, story_id, duplicate_of FROM articles ORDER BY feed")
    assert [feed for feed, _, _ in stored] == ["ledger", "meridian"] and not any(d for _, _, d in stored)
    assert stored[0][1] == stored[1][1]                      # one story
    assert rows(config, "SELECT outlets, reports FROM stories") == [(2, 2)]


def test_a_window_catching_up_waits_for_ids_committed_out_of_order(store_url, tmp_path, clock):
    """Worker X holds article id N in an open transaction while worker Y commits N + 1: a catch-up
    then takes in N + 1 and looks for N again, which it takes in once X commits; an id that never
    commits (a rolled-back feed) is given up after GAP_SECONDS."""
    from test_postgres import _article

    from pipeline.app.storywindow import WindowMark, catch_up
    from pipeline.stages.profile import profile_of
    from pipeline.stages.stories import StoryIndex

    config = load_config(write_config(tmp_path, []))
    x, y = open_store(config), open_store(config)
    index, mark, ticks = StoryIndex(config.zone), WindowMark(0), iter(range(0, 10_000, 100))
    now = lambda: float(next(ticks))                                   # noqa: E731 (a clock in steps of 100 s)
    entry = lambda row: profile_of(row["title"], row["title"])         # noqa: E731
    try:
        run = x.start_run(clock())
        with x.transaction():
            x.insert_article(_article(1, "Held back by worker X"), clock(), run)
            with y.transaction():
                y.insert_article(_article(2, "Committed by worker Y"), clock(), run)
            assert catch_up(y, index, mark, entry, now) == 1 and len(mark.missing) == 1
        assert catch_up(y, index, mark, entry, now) == 1 and not mark.missing
        assert [m.article_id for m in index.members] == [article_id("guid:2"), article_id("guid:1")]
        with pytest.raises(ZeroDivisionError), x.transaction():     # id 3: handed out, never committed
            x.insert_article(_article(3, "Rolled back"), clock(), run)
            1 / 0
        with y.transaction():
            y.insert_article(_article(4, "After the gap"), clock(), run)
        assert catch_up(y, index, mark, entry, now) == 1 and len(mark.missing) == 1
        while mark.missing:                                            # looked for until GAP_SECONDS
            assert catch_up(y, index, mark, entry, now) == 0
        assert len(index) == 3
    finally:
        x.close()
        y.close()


def test_daemons_do_the_nightly_upkeep_once(tmp_path, store_url):
    """Two daemons' 03:30 jobs on one database: the first does the upkeep; the second, taking the
    advisory lock after it, finds it done and skips it; while another worker holds the lock (a
    run sending), a daemon tries again a minute later."""
    from pipeline.serve import Service
    from pipeline.storage import postgres

    path = write_config(tmp_path, [])
    config = load_config(path)
    daemons = [Service(path, config), Service(path, config)]
    try:
        def upkeeps() -> int:
            return rows(config, "SELECT count(*) FROM maintenance")[0][0]

        with postgres.advisory_lock(config.storage_url, config.store_password, "send"):
            daemons[0].maintain()
        assert upkeeps() == 0                     # another worker held the lock: tried again later
        assert daemons[0].scheduler.get_job("maintain-again") is not None
        daemons[0].maintain()
        assert upkeeps() == 1
        daemons[1].maintain()
        assert upkeeps() == 1                     # done by the other daemon a moment ago
    finally:
        for d in daemons:
            d.pipeline.close()
            d.store.close()
