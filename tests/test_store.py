"""The Store's units of writes on a real SQLite file and a real PostgreSQL database (both_engines):
transactions, and the group commit of a run (store.grouped), where each feed is a savepoint and
finished feeds are committed together. The tests of SQLite's own machinery (its sub-journal
setting, FTS5, triggers, the file's schema) are sqlite_only."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timezone

import pytest
from conftest import PG_PASSWORD_ENV

from pipeline.records import Article
from pipeline.storage.store import Store

pytestmark = pytest.mark.both_engines


@pytest.fixture
def store(tmp_path, store_url):
    s = Store.open(store_url or tmp_path / "n.db", os.environ.get(PG_PASSWORD_ENV))
    s.conn.executescript("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")    # (PostgreSQL: translated)
    yield s
    s.close()


def seen_by_another_process(store: Store) -> list[str]:
    """What a reader (status, the digest, a second connection) sees: committed rows only."""
    if store.engine == "postgresql":
        import psycopg

        with psycopg.connect(store.conn.raw.info.dsn, password=os.environ.get(PG_PASSWORD_ENV)) as other:
            return [v for (v,) in other.execute("SELECT v FROM t ORDER BY id")]
    with sqlite3.connect(store.conn.execute("PRAGMA database_list").fetchone()[2]) as other:
        return [v for (v,) in other.execute("SELECT v FROM t ORDER BY id")]


def write(store: Store, value: str, fail: bool = False) -> None:
    with store.transaction():
        store.conn.execute("INSERT INTO t (v) VALUES (?)", (value,))
        if fail:
            raise ValueError("this feed broke half-way")


@pytest.mark.sqlite_only
def test_a_group_keeps_its_savepoints_journal_in_memory_and_gives_the_setting_back(store):
    """Within a run's group each feed's savepoint journals in memory (a feed's pages at most);
    after it, a long sort (digest, export) may spill to temporary files again."""
    temp_store = lambda: store.conn.execute("PRAGMA temp_store").fetchone()[0]  # noqa: E731
    before = temp_store()
    with store.grouped(60):
        write(store, "feed a")
        assert temp_store() == 2                # MEMORY
    assert temp_store() == before != 2
    with pytest.raises(ValueError), store.grouped(60):
        write(store, "feed b", fail=True)
    assert temp_store() == before and seen_by_another_process(store) == ["feed a"]


def test_a_grouped_unit_that_fails_is_rolled_back_alone(store):
    with store.grouped(60):
        write(store, "feed a")
        with pytest.raises(ValueError):
            write(store, "feed b", fail=True)
        write(store, "feed c")
        assert seen_by_another_process(store) == []        # not committed yet: younger than 60 s
    assert seen_by_another_process(store) == ["feed a", "feed c"]


def test_a_group_commits_once_it_is_old_enough(store):
    with store.grouped(0.0):
        write(store, "feed a")                               # 0 s old is old enough: committed
        assert seen_by_another_process(store) == ["feed a"]
        with store.grouped(60):                              # nested: the outer group decides
            write(store, "feed b")
        assert seen_by_another_process(store) == ["feed a", "feed b"]


def test_leaving_a_group_by_an_error_keeps_the_finished_feeds(store):
    with pytest.raises(KeyboardInterrupt), store.grouped(60):
        write(store, "feed a")
        raise KeyboardInterrupt                              # a stop: whole feeds are kept
    assert seen_by_another_process(store) == ["feed a"]


def test_flush_commits_what_is_pending(store):
    with store.grouped(60):
        write(store, "feed a")
        store.flush(older_than=60)
        assert seen_by_another_process(store) == []
        store.flush()
        assert seen_by_another_process(store) == ["feed a"]


def article(n: int, title: str) -> Article:
    return Article(identity=f"guid:{n}", feed="f", guid=str(n), url=f"https://e.example/{n}",
                   canonical_url=f"https://e.example/{n}", title=title, published=None,
                   text=f"{title}, as the report says.", text_source="feed", extraction_note=None,
                   fingerprint=f"{n:064x}", minhash=None, matches=())


def fts_ok(store: Store) -> bool:
    try:
        store.db.conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")
        return True
    except sqlite3.DatabaseError:
        return False


def test_new_articles_are_searchable_at_commit_and_a_failed_feed_leaves_no_trace(store):
    """(PostgreSQL: the GIN index is kept by the server; FTS5's integrity check is SQLite's.)"""
    now = datetime(2026, 11, 23, tzinfo=timezone.utc)
    run = store.start_run(now)
    with store.grouped(60):
        with store.transaction():
            store.insert_article(article(1, "Harbour cranes restored"), now, run)
        with pytest.raises(ValueError), store.transaction():
            store.insert_article(article(2, "Harbour ferry delayed"), now, run)
            raise ValueError("the feed broke after its insert")
        with store.transaction():
            store.insert_article(article(3, "Granary reopened"), now, run)
    found = [r["title"] for r in store.search("harbour OR granary")]
    assert sorted(found) == ["Granary reopened", "Harbour cranes restored"]
    assert store.engine == "postgresql" or fts_ok(store)
    aid = store.conn.execute("SELECT id FROM articles WHERE title = 'Granary reopened'").fetchone()[0]
    with store.transaction():
        store.replace_matches(aid, ())                       # an update re-indexes the row
    assert store.engine == "postgresql" or fts_ok(store)
    assert [r["title"] for r in store.search("granary")] == ["Granary reopened"]


@pytest.mark.sqlite_only
def test_rows_written_outside_a_run_are_indexed_by_the_trigger_even_in_an_old_database(tmp_path):
    from pipeline.storage.store import SCHEMA_VERSION
    Store.open(tmp_path / "n.db").close()
    with sqlite3.connect(tmp_path / "n.db") as c:                 # as newsmon 5 left it
        c.execute("DROP TRIGGER articles_ai")
        c.execute("CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN "
                  "INSERT INTO articles_fts (rowid, title, text) VALUES (new.rowid, new.title, new.text); END")
        c.execute("ALTER TABLE articles DROP COLUMN image")          # (schema 9's)
        c.execute("PRAGMA user_version = 5")
    store = Store.open(tmp_path / "n.db")
    try:
        assert store.db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 6
        with store.transaction():        # by another tool: no run_id
            store.db.conn.execute("INSERT INTO articles (id, identity, feed, title, text, first_seen, text_source, "
                                  "fingerprint, topics) VALUES ('x', 'url:x', 'f', 'Dam inspected', 'Text.', "
                                  "'2026-11-23', 'page', 'fp', '[]')")
        with store.transaction():        # and later updated: the update trigger finds it indexed
            store.db.conn.execute("UPDATE articles SET title = 'Dam inspected twice' WHERE id = 'x'")
        assert fts_ok(store)
        assert store.db.conn.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'twice'").fetchone() == (1,)
    finally:
        store.close()


@pytest.mark.sqlite_only
def test_the_manual_describes_the_schema_a_new_database_has(tmp_path):
    """The manual's database section (docs/operations.md) is a promise: its `user_version` is the
    schema's, and its table lists exactly the tables a new database file holds (FTS5's own shadow
    tables aside)."""
    import re

    from conftest import doc_text

    from pipeline.storage.schema import SCHEMA_VERSION

    readme = doc_text("operations")
    section = readme.split("\n## The database\n", 1)[1].split("\n## ", 1)[0]
    [said] = re.findall(r"`PRAGMA user_version` = (\d+)", section)
    documented = set(re.findall(r"^\| ([a-z_]+) \|", section, re.MULTILINE)) - {"table"}
    Store.open(tmp_path / "n.db").close()
    with sqlite3.connect(tmp_path / "n.db") as c:
        version = c.execute("PRAGMA user_version").fetchone()[0]
        tables = {name for (name,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                  if not name.startswith(("sqlite_", "articles_fts_"))}
    assert int(said) == SCHEMA_VERSION == version
    assert documented == tables


def test_a_search_without_filters_ranks_from_the_index_first_and_still_leaves_every_copy_out(store):
    """Search.search's two-step path (no filter) gives what the joined query gives (any filter
    that keeps everything), copies left out even when they outrank every original."""
    from dataclasses import replace

    now = datetime(2026, 11, 23, tzinfo=timezone.utc)
    run = store.start_run(now)
    with store.transaction():
        for n in range(200):              # copies: the word in the title too, so they rank first
            store.insert_article(replace(article(n, "Harbour harbour cranes"), duplicate_of="https://e.example/x"),
                                 now, run)
        for n in range(200, 230):
            store.insert_article(article(n, f"Granary {n} near the harbour"), now, run)
    fast = store.search("harbour", limit=20)
    joined = store.search("harbour", limit=20, since=datetime(2000, 1, 1, tzinfo=timezone.utc))
    assert fast == joined and len(fast) == 20 and all(r["title"].startswith("Granary") for r in fast)
    assert [r["rank"] for r in fast] == sorted(r["rank"] for r in fast)
    assert len(store.search("harbour", limit=100)) == 30 and store.search("nothingsuch") == []
