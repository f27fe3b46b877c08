"""Retention and upkeep through the CLI on a fixed clock: what `db prune` drops and keeps, stories
kept consistent, search after a prune, and SIGKILL during prune or maintain."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from conftest import Clock, newsmon, rows, write_config
from smtp import free_port
from test_email import deliver, email_section
from test_serve import start, wait_for
from test_stories import _by_id, _serve
from world import NATO_STORY, serve_world

from pipeline.app.pipeline import run_once
from pipeline.config import load_config
from pipeline.demo.site import FeedItem, article_page, rss_feed
from pipeline.storage.schema import SCHEMA_VERSION
from pipeline.storage.store import Store


def config_with(tmp_path: Path, feeds, storage: str = "", extra: str = ""):
    path = write_config(tmp_path, feeds, extra)
    path.write_text(path.read_text().replace("[storage]\n", f"[storage]\n{storage}\n", 1))
    return load_config(path)


def db(config, *args: str) -> subprocess.CompletedProcess:
    return newsmon("db", *args, "--config", str(config.path))


def at(clock, days: float) -> str:
    return (clock.now + timedelta(days=days)).isoformat()


def test_old_texts_are_dropped_and_search_then_finds_titles_only(site, tmp_path, seeds_dir, clock):
    config = config_with(tmp_path, list(serve_world(site).items()))
    run_once(config, clock=clock, force=True)
    before = rows(config, "SELECT id, title, url, feed, first_seen, topics, story_id FROM articles ORDER BY id")
    matches = rows(config, "SELECT count(*) FROM matches")[0][0]
    assert len(before) >= 3 and matches > 0
    found = newsmon("search", "interceptor", "--json", "--config", str(config.path))
    assert [r["title"] for r in json.loads(found.stdout)] == ["Ministers meet in Oslo on air defence"]

    early = db(config, "prune", "--now", at(clock, 89))                      # not yet 90 days old
    assert early.returncode == 0 and "texts dropped (stored before 2026-11-22 08:00 UTC): 0 went" in early.stdout
    dry = db(config, "prune", "--dry-run", "--json", "--now", at(clock, 91))
    assert json.loads(dry.stdout)["texts_dropped"] == len(before) and json.loads(dry.stdout)["articles_deleted"] == 0
    assert rows(config, "SELECT count(*) FROM articles WHERE text_dropped IS NOT NULL") == [(0,)]

    done = db(config, "prune", "--now", at(clock, 91))
    assert done.returncode == 0, done.stderr
    assert f"{len(before)} went" in done.stdout and "kept forever" in done.stdout
    assert rows(config, "SELECT count(*) FROM articles WHERE text != '' OR text_dropped IS NULL") == [(0,)]
    assert rows(config, "SELECT id, title, url, feed, first_seen, topics, story_id FROM articles ORDER BY id") == before
    assert rows(config, "SELECT count(*) FROM matches")[0][0] == matches      # topics and their evidence stay
    assert rows(config, "SELECT count(*) FROM profiles") == [(0,)]
    for word, titles in (("interceptor", []), ("Oslo", ["Ministers meet in Oslo on air defence"])):
        found = newsmon("search", word, "--json", "--config", str(config.path))
        assert [r["title"] for r in json.loads(found.stdout)] == titles, word
    assert db(config, "prune", "--now", at(clock, 92)).stdout.startswith(
        "texts dropped (stored before 2026-11-25 08:00 UTC): 0 went")          # a rerun finds nothing left

    # a copy of a slimmed article, within [dedup] window_days, is still caught (by its fingerprint)
    clock.now += timedelta(days=91)
    site.routes["/c/nato"] = site.routes["/a/nato-oslo"]
    site.routes["/c.xml"] = rss_feed("C", site.base, [FeedItem("Oslo talks", site.url("/c/nato"), "c-1",
                                                               "2027-02-22T06:00:00Z", "Oslo.")])
    config = config_with(tmp_path, list(serve_world(site).items()) + [("c", site.url("/c.xml"))])
    run_once(config, clock=clock, force=True)
    [(copy,)] = rows(config, "SELECT duplicate_of FROM articles WHERE feed = 'c'")
    assert copy is not None and "/a/nato-oslo" in copy


def test_a_story_whose_lead_is_pruned_keeps_a_lead_and_an_empty_story_goes(site, tmp_path, seeds_dir, clock):
    kharkiv_1, kharkiv_2, odesa = _by_id("kharkiv-strike-0314", 1), _by_id("kharkiv-strike-0314", 2), \
        _by_id("odesa-strike-0314", 1)
    first = [_serve(site, [kharkiv_1, odesa], "meridian")]
    config = config_with(tmp_path, first, storage="keep_days = 7")
    run_once(config, clock=clock, force=True)
    clock.now += timedelta(days=1)
    config = config_with(tmp_path, first + [_serve(site, [kharkiv_2], "ledger")], storage="keep_days = 7")
    run_once(config, clock=clock, force=True)
    stories = {r[0]: r for r in rows(config, "SELECT title, lead, reports, outlets, id FROM stories")}
    kharkiv = next(r for t, r in stories.items() if t == kharkiv_1.title or t == kharkiv_2.title)
    assert kharkiv[2:4] == (2, 2)
    lead_before = rows(config, "SELECT feed FROM articles WHERE id = ?", [kharkiv[1]])
    assert lead_before == [("meridian",)]                  # the first report leads, and is the one pruned

    out = db(config, "prune", "--now", at(clock, 6.5))      # meridian: 7.5 days old, ledger 6.5
    assert out.returncode == 0, out.stderr
    assert "articles deleted: 2 went" in out.stdout and "1 recomputed, 1 deleted" in out.stdout
    left = rows(config, "SELECT id, lead, title, reports, outlets FROM stories")
    ledger_id = rows(config, "SELECT id FROM articles WHERE feed = 'ledger'")[0][0]
    assert left == [(kharkiv[4], ledger_id, kharkiv_2.title, 1, 1)]
    assert rows(config, "SELECT story_id FROM articles") == [(kharkiv[4],)]
    for table, column in (("matches", "article_id"), ("profiles", "article_id"), ("signatures", "key")):
        assert rows(config, f"SELECT count(*) FROM {table} WHERE {column} NOT IN (SELECT id FROM articles) "
                            f"AND {column} NOT LIKE 'seeds/%'") == [(0,)], table
    assert rows(config, "SELECT count(*) FROM articles_fts") == [(1,)]
    digest = newsmon("digest", "--date", "2026-11-24", "--config", str(config.path))
    assert digest.returncode == 0, digest.stderr


def test_prune_keeps_what_a_pending_email_or_message_needs(site, tmp_path, seeds_dir, clock):
    """An email that could not go (the server is down) still needs its period's articles; so does
    a recipient's next email, and a pending alert its story."""
    feeds = list(serve_world(site).items())
    config = config_with(tmp_path, feeds, storage="keep_days = 7", extra=email_section(free_port()))
    run_once(config, clock=clock, force=True)            # 10:00 in Kyiv: the email is due, the server is down
    deliver(config, clock)
    assert rows(config, "SELECT status FROM emails") == [("pending",), ("pending",)]
    stored = rows(config, "SELECT count(*) FROM articles")[0][0]

    out = db(config, "prune", "--now", at(clock, 100))
    assert out.returncode == 0, out.stderr
    assert "articles deleted: 0 went" in out.stdout and "texts dropped" in out.stdout
    assert rows(config, "SELECT count(*) FROM articles WHERE text != ''") == [(stored,)]

    # the email goes out: the articles it covered may go now, but not those after its cut
    with sqlite3.connect(config.database) as c:
        c.execute("UPDATE emails SET status = 'sent'")
    clock.now += timedelta(days=1)        # a new outlet's report
    config = config_with(tmp_path, feeds + [_serve(site, [_by_id("kharkiv-strike-0314", 2)], "ledger")],
                         storage="keep_days = 7", extra=email_section(free_port()))
    run_once(config, clock=clock, force=True)     # (its email not tried yet: only the recipients' cut keeps it)
    later = rows(config, "SELECT id, story_id FROM articles WHERE first_seen >= ?", [clock.now.isoformat()])
    assert len(later) == 1
    store = Store.open(config.database)
    try:        # a pending chat alert about the first day's lead story
        story = rows(config, "SELECT id FROM stories ORDER BY first_seen LIMIT 1")[0][0]
        with store.transaction():
            store.queue_message("desk", "alert", story, "Alert", "body", clock.now)
    finally:
        store.close()
    out = db(config, "prune", "--now", at(clock, 100))
    assert out.returncode == 0, out.stderr
    left = rows(config, "SELECT id, story_id FROM articles")
    assert set(later) <= set(left)                                        # after the sent email's cut
    assert {s for _, s in left} >= {story}                                # the pending alert's story
    assert len(left) < stored + len(later)                                # and the rest went


def bulk_archive(config, n: int, clock) -> None:
    """`n` articles a year old, as by another tool (indexed by the trigger), in plain SQL."""
    Store.open(config.database).close()
    text = " ".join(f"word{i % 997} sentence{i % 13}" for i in range(600))
    with sqlite3.connect(config.database) as c:
        c.execute("""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                     INSERT INTO articles (id, identity, feed, title, first_seen, text, text_source, fingerprint,
                                           story_id, topics)
                     SELECT 'bulk' || i, 'hash:' || i, 'old', 'Old story ' || i, ?, ? || ' n' || i, 'page',
                            'fp' || i, 'bulk' || i, '["nato"]' FROM n""",
                  [n, (clock.now - timedelta(days=400)).isoformat(), text])
        c.execute("""INSERT INTO stories (id, first_seen, last_seen, lead, title, reports, outlets)
                     SELECT id, first_seen, first_seen, id, title, 1, 1 FROM articles""")


def kill_during(config, args: list[str], started: str) -> None:
    """Start `newsmon ARGS`, SIGKILL it once `started` (SQL) counts something, and check the file."""
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", *args, "--config", str(config.path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        with sqlite3.connect(config.database, timeout=30) as c:
            if c.execute(started).fetchone()[0]:
                break
        time.sleep(0.01)
    assert proc.poll() is None, "finished before it could be killed: make the archive bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    with sqlite3.connect(config.database, timeout=30) as c:
        assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        c.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")   # raises if corrupt


def test_sigkill_during_prune_or_maintain_loses_nothing_and_the_next_run_completes(site, tmp_path, seeds_dir, clock):
    feeds = list(serve_world(site).items())
    config = config_with(tmp_path, feeds)
    bulk_archive(config, 20_000, clock)
    now = at(clock, 0)
    kill_during(config, ["db", "prune", "--now", now], "SELECT count(*) FROM articles WHERE id LIKE 'bulk%' "
                                                       "AND text = ''")
    with sqlite3.connect(config.database) as c:
        # whole batches: every article either still whole, slimmed with its mark, or gone with its story
        assert c.execute("SELECT count(*) FROM articles WHERE (text = '') != (text_dropped IS NOT NULL)").fetchone() == (0,)
        assert c.execute("SELECT count(*) FROM stories WHERE lead NOT IN (SELECT id FROM articles)").fetchone() == (0,)
        assert c.execute("SELECT count(*) FROM articles_fts").fetchone() == c.execute(
            "SELECT count(*) FROM articles").fetchone()
    config = config_with(tmp_path, feeds, storage="keep_days = 365")
    kill_during(config, ["db", "maintain", "--now", now], "SELECT count(*) < 20000 FROM articles")
    with sqlite3.connect(config.database) as c:     # each story went with its last report, in one transaction
        assert c.execute("SELECT count(*) FROM stories WHERE id NOT IN (SELECT story_id FROM articles)").fetchone() == (0,)
        assert c.execute("SELECT count(*) FROM articles_fts").fetchone() == c.execute(
            "SELECT count(*) FROM articles").fetchone()
    out = db(config, "maintain", "--now", now)
    assert out.returncode == 0, out.stderr
    assert rows(config, "SELECT count(*) FROM articles WHERE id LIKE 'bulk%'") == [(0,)]
    assert rows(config, "SELECT count(*) FROM stories") == [(0,)]
    run = newsmon("run", "--config", str(config.path))
    assert run.returncode == 0, run.stderr
    assert rows(config, "SELECT count(*) FROM articles")[0][0] >= 3
    assert rows(config, "PRAGMA integrity_check") == [("ok",)]


def test_the_daemon_catches_up_on_missed_upkeep_at_start(site, tmp_path, seeds_dir, clock):
    """Nightly at 03:30, and at start-up when none ran in the last day (a machine asleep at night)."""
    config = config_with(tmp_path, list(serve_world(site).items()), storage="keep_days = 365")
    bulk_archive(config, 50, clock)
    proc = start(config.path)
    try:
        assert wait_for(lambda: rows(config, "SELECT count(*) FROM maintenance") == [(1,)], timeout=60)
        assert rows(config, "SELECT articles_deleted FROM maintenance") == [(50,)]
        assert rows(config, "SELECT count(*) FROM articles WHERE id LIKE 'bulk%'") == [(0,)]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    again = start(config.path)          # done within the day: not again at the next start
    try:
        time.sleep(5)                   # (its start-up jobs run at once: feeds are not due yet)
        assert again.poll() is None
    finally:
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=30) == 0
    assert rows(config, "SELECT count(*) FROM maintenance") == [(1,)]


def test_status_and_the_digest_show_the_store_its_growth_and_warn_before_the_disk_fills(tmp_path, seeds_dir):
    class TwoDaysAgo:
        now = datetime.now(timezone.utc) + timedelta(days=400 - 2)     # (bulk_archive goes 400 days back)
    for warn_days, warned in ((30, False), (1_000_000, True)):     # a million days: any disk fills sooner
        config = config_with(tmp_path, [], storage=f"disk_warning_days = {warn_days}")
        if not warned:
            bulk_archive(config, 70, TwoDaysAgo)
        out = newsmon("status", "--json", "--config", str(config.path))
        assert out.returncode == 0, out.stderr
        store = json.loads(out.stdout)["store"]
        size = config.database.stat().st_size          # (the WAL folded back in as the last connection closed)
        assert size <= store["bytes"] <= size + 5_000_000 and store["articles"] == 70
        assert (store["articles_per_day_7"], store["articles_per_day_30"]) == (10.0, 2.3)
        assert store["bytes_per_day"] > 0 and store["days_until_full"] > 1000
        assert (store["warning"] is not None) == warned
        text = newsmon("status", "--config", str(config.path)).stdout
        assert "10 a day (last 7 days)" in text and ("WARNING: the disk holding newsmon.db fills" in text) == warned
        digest = newsmon("digest", "--config", str(config.path))
        assert digest.returncode == 0, digest.stderr
        day = json.loads(next(config.digest_dir.glob("*.json")).read_text())
        assert day["store"].split(";")[1] == store["line"].split(";")[1] == " 10 a day (last 7 days), 2 (30 days)"
        assert any("fills in" in p for p in day["problems"]) == warned
        assert "Store: " in next(config.digest_dir.glob("*.txt")).read_text()


def test_the_growth_rate_is_the_upkeeps_recorded_sizes_and_the_digest_counts_no_table(tmp_path, seeds_dir):
    """Once nightly upkeeps span a week, the store's growth is theirs (what retention gives back
    included), and the digest's store line leaves out the total of articles, whose count reads
    a whole index (its cost grows with the archive: 66 ms at 900,000 articles, bench soak)."""
    class TwoDaysAgo:
        now = datetime.now(timezone.utc) + timedelta(days=400 - 2)
    config = config_with(tmp_path, [])
    bulk_archive(config, 70, TwoDaysAgo)
    now = datetime.now(timezone.utc)
    with sqlite3.connect(config.database) as c:        # nine nights, 3 MB more each, the last one smaller
        for night in range(9, 0, -1):
            at = (now - timedelta(days=night)).isoformat()
            size = 100_000_000 + (9 - night) * 3_000_000 - (2_000_000 if night == 1 else 0)
            c.execute("INSERT INTO maintenance (started, finished, texts_dropped, articles_deleted, size_before, "
                      "size_after) VALUES (?, ?, 0, 0, ?, ?)", [at, at, size, size])
    store = json.loads(newsmon("status", "--json", "--config", str(config.path)).stdout)["store"]
    # from the night 8 days ago (the last one at least 7 days before the last) to last night
    assert store["bytes_per_day"] == round((124_000_000 - 2_000_000 - 103_000_000) / 7)
    assert store["articles"] == 70 and "70 articles" in store["line"]
    digest = newsmon("digest", "--config", str(config.path))
    assert digest.returncode == 0, digest.stderr
    line = json.loads(next(config.digest_dir.glob("*.json")).read_text())["store"]
    assert "articles" not in line.split(";")[0] and line.split(";")[1] == store["line"].split(";")[1]
    assert "disk full in ~" in line                  # (the free space moves between the two: not compared)


def test_a_run_compares_new_articles_with_the_dedup_window_only(site, tmp_path, seeds_dir, clock):
    """[dedup] window_days bounds what a run loads: a copy within it is a duplicate, a copy of an
    article stored before it is taken as new (the seeds are always compared)."""
    def outlet(name: str, day: int) -> tuple[str, str]:
        site.routes[f"/{name}/nato"] = article_page("Ministers meet in Oslo", name, "2026-11-23", NATO_STORY)
        site.routes[f"/{name}.xml"] = rss_feed(name, site.base, [FeedItem(
            "Ministers meet in Oslo", site.url(f"/{name}/nato"), f"{name}-1",
            (clock.now + timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ"), NATO_STORY[0])])
        return name, site.url(f"/{name}.xml")

    feeds = [outlet("first", 0)]
    for day, name in ((0, None), (10, "within"), (40, "beyond")):
        if name:
            feeds.append(outlet(name, day))
        config = config_with(tmp_path, feeds, extra="[dedup]\nwindow_days = 30\n")
        run_once(config, clock=Clock(clock.now + timedelta(days=day)), force=True)
    stored = dict(rows(config, "SELECT feed, duplicate_of FROM articles"))
    assert stored == {"first": None, "within": site.url("/first/nato"), "beyond": None}


def test_prune_and_maintain_wait_for_a_run_with_wait_and_exit_75_without(tmp_path, seeds_dir):
    import threading

    from pipeline.lock import run_lock

    config = config_with(tmp_path, [])
    Store.open(config.database).close()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:                 # a run holding the lock, as `newsmon run` does
        with run_lock(config.database):
            held.set()
            release.wait(30)
    for args, code in ((["prune"], 75), (["maintain", "--wait", "20"], 0)):
        holder = threading.Thread(target=hold)
        holder.start()
        held.wait(10)
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", "db", *args, "--config", str(config.path)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2)
        release.set()
        out, err = proc.communicate(timeout=60)
        holder.join()
        held.clear()
        release.clear()
        assert proc.returncode == code, err
        if code == 75:
            assert "another newsmon run" in err
    assert rows(config, "SELECT count(*) FROM maintenance") == [(1,)]


def test_an_old_file_is_switched_to_incremental_vacuum_once_and_then_gives_space_back(tmp_path, seeds_dir, clock):
    config = config_with(tmp_path, [], storage="keep_days = 365")
    config.database.parent.mkdir(parents=True)
    with sqlite3.connect(config.database) as c:     # a file as newsmon made them before schema 10
        c.execute("CREATE TABLE feeds (name TEXT PRIMARY KEY)")
    bulk_archive(config, 3000, clock)
    assert rows(config, "PRAGMA auto_vacuum") == [(0,)]
    out = db(config, "maintain", "--now", at(clock, 0))
    assert "run `newsmon db maintain --vacuum` once" in out.stdout
    assert rows(config, "SELECT count(*) FROM articles") == [(0,)]
    freed = config.database.stat().st_size
    switched = db(config, "maintain", "--vacuum", "--json", "--now", at(clock, 0))
    assert switched.returncode == 0, switched.stderr
    assert json.loads(switched.stdout)["auto_vacuum"] == "incremental"
    assert rows(config, "PRAGMA auto_vacuum") == [(2,)] and config.database.stat().st_size < freed / 5

    bulk_archive(config, 3000, clock)                # from now on each maintain gives the space back
    full = config.database.stat().st_size
    report = json.loads(db(config, "maintain", "--json", "--now", at(clock, 0)).stdout)
    assert report["prune"]["articles_deleted"] == 3000 and report["vacuumed_pages"] > 0
    assert config.database.stat().st_size < full / 5
    assert rows(config, "PRAGMA integrity_check") == [("ok",)]
    assert Store.open(config.database).conn.execute("PRAGMA auto_vacuum").fetchone() == (2,)


def test_a_version_6_file_gets_the_retention_column_and_table(tmp_path, seeds_dir, clock):
    config = config_with(tmp_path, [])
    bulk_archive(config, 10, clock)
    with sqlite3.connect(config.database) as c:     # as schema 6 left a file
        c.executescript("DROP TABLE maintenance; ALTER TABLE articles DROP COLUMN text_dropped; "
                        "PRAGMA user_version = 6;")
    out = db(config, "maintain", "--now", at(clock, 0))
    assert out.returncode == 0, out.stderr
    assert rows(config, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert rows(config, "SELECT count(*) FROM articles WHERE text_dropped IS NOT NULL") == [(10,)]
    assert rows(config, "SELECT texts_dropped FROM maintenance") == [(10,)]


def test_a_prune_batch_starts_after_the_last_one_and_the_prune_still_drops_every_text(tmp_path, seeds_dir, clock):
    """Each batch reads on from the previous one's last row (the rows below are dropped or kept):
    without that, every batch of a year's prune scanned the whole dropped archive again."""
    config = config_with(tmp_path, [])
    bulk_archive(config, 1200, clock)
    from pipeline.storage.retention import Keep

    store = Store.open(config.database)
    n, last = store.drop_texts(clock.now - timedelta(days=90), Keep(None, frozenset()), clock.now, after_rowid=600)
    assert (n, last) == (500, 1100)
    assert rows(config, "SELECT min(rowid), max(rowid) FROM articles WHERE text_dropped IS NOT NULL") == [(601, 1100)]
    store.close()
    done = db(config, "prune", "--now", at(clock, 0))
    assert done.returncode == 0, done.stderr
    assert rows(config, "SELECT count(*) FROM articles WHERE text != '' OR text_dropped IS NULL") == [(0,)]
    assert json.loads(db(config, "prune", "--dry-run", "--json", "--now", at(clock, 0)).stdout)["texts_dropped"] == 0
