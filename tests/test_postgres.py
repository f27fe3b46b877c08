"""PostgreSQL as the second engine, on a real server (the session's throwaway cluster, see
conftest.pg_server): one schema translated from SQLite's (storage/dialect.py), its migrations,
full-text search with the same results shape and query meaning, the password kept secret, and a
server that cannot be reached reported as one clear error."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from conftest import PG_PASSWORD_ENV, newsmon, rows, write_config

from pipeline.config import load_config
from pipeline.errors import ConfigError, StoreError
from pipeline.records import Article
from pipeline.sanitize import SECRETS, one_line
from pipeline.storage import dialect
from pipeline.storage.schema import SCHEMA_VERSION
from pipeline.storage.search import HIT_END, HIT_START
from pipeline.storage.store import Store

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine(request) -> str:
    """PostgreSQL for every test here (conftest.store_url makes each a fresh database), but for
    those marked sqlite_only, which need no server."""
    return "sqlite" if request.node.get_closest_marker("sqlite_only") else "postgresql"


def _password() -> str | None:
    return os.environ.get(PG_PASSWORD_ENV)


def test_the_postgresql_schema_has_the_tables_and_columns_of_a_new_sqlite_file(store_url, tmp_path):
    """The schema is one: translated by rules (dialect.ddl), PostgreSQL has SQLite's tables with
    the same columns in the same order (`run_id` last in articles); `rowid` (articles' identity,
    and that of the tables with no key of their own), `search_vector` (the search's) and
    newsmon_schema (the version) are PostgreSQL's own."""
    Store.open(tmp_path / "n.db").close()
    with sqlite3.connect(tmp_path / "n.db") as c:
        sqlite_tables = {name: [col[1] for col in c.execute(f"PRAGMA table_info({name})")]
                         for (name,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                         if not name.startswith(("sqlite_", "articles_fts"))}
    store = Store.open(store_url, _password())
    try:
        found = rows(load_config(write_config(tmp_path, [])),
                     "SELECT table_name, column_name FROM information_schema.columns "
                     "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position")
        version = store.conn.execute("SELECT version FROM newsmon_schema").fetchone()[0]
    finally:
        store.close()
    pg_tables: dict[str, list[str]] = {}
    for table, column in found:
        pg_tables.setdefault(table, []).append(column)
    assert pg_tables.pop("newsmon_schema") == ["version"] and version == SCHEMA_VERSION
    assert pg_tables["articles"][:2] == ["rowid", "search_vector"] and pg_tables["articles"][-1] == "run_id"
    del pg_tables["articles"][:2]
    for keyless in ("matches", "bands_built"):                  # SQLite's rowid, as db copy reads it
        assert pg_tables[keyless][0] == "rowid"
        del pg_tables[keyless][0]
    assert pg_tables == sqlite_tables


def test_migrations_run_on_postgresql_as_written_for_sqlite(store_url):
    """A database a step behind (schema 9: no text_dropped) is brought up to date by the same
    MIGRATIONS step, translated; its rows stay."""
    store = Store.open(store_url, _password())
    with store.transaction():
        store.insert_article(_article(1, "Harbour cranes restored"), NOW, store.start_run(NOW))
    store.conn.execute("ALTER TABLE articles DROP COLUMN text_dropped")
    store.conn.execute("UPDATE newsmon_schema SET version = 9")
    store.close()
    store = Store.open(store_url, _password())
    try:
        assert store.conn.execute("SELECT version FROM newsmon_schema").fetchone()[0] == SCHEMA_VERSION
        assert store.conn.execute("SELECT title, text_dropped FROM articles").fetchall() == [
            ("Harbour cranes restored", None)]
    finally:
        store.close()


def test_a_newer_schema_is_refused_and_an_unreachable_server_is_one_clear_error(store_url, tmp_path):
    store = Store.open(store_url, _password())
    store.conn.execute(f"UPDATE newsmon_schema SET version = {SCHEMA_VERSION + 1}")
    store.close()
    with pytest.raises(StoreError, match=f"database schema {SCHEMA_VERSION + 1} is newer than this newsmon"):
        Store.open(store_url, _password())
    with pytest.raises(StoreError, match="cannot open the database"):
        Store.open(store_url, "not-the-password")
    path = write_config(tmp_path, [], extra="")
    text = path.read_text().replace(store_url.rsplit("/", 1)[0], "postgresql://newsmon@127.0.0.1:9")
    path.write_text(text)
    done = newsmon("run", "--config", str(path), timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.returncode != 75       # (not "another run holds the lock": the server is not there)
    assert done.stderr.startswith("newsmon: postgresql://newsmon@127.0.0.1:9/") and "Connection refused" in done.stderr


@pytest.mark.sqlite_only
def test_the_password_comes_from_password_env_never_from_the_url_and_is_masked(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSMON_PG_SECRET", "s3cret-Pg-pass")
    path = tmp_path / "c.toml"
    path.write_text('[storage]\nurl = "postgresql://desk@db.example:5432/news"\npassword_env = "NEWSMON_PG_SECRET"\n')
    config = load_config(path)
    assert config.store == "postgresql://desk@db.example:5432/news" and config.store_password == "s3cret-Pg-pass"
    assert SECRETS.mask("connection refused for s3cret-Pg-pass") == "connection refused for ***"
    assert "s3cret" not in one_line("password s3cret-Pg-pass rejected")
    path.write_text('[storage]\nurl = "postgresql://desk:s3cret@db.example/news"\n')
    with pytest.raises(ConfigError, match=r"c.toml:2: storage.url: .*password_env"):
        load_config(path)
    path.write_text('[storage]\nurl = "mysql://desk@db.example/news"\n')
    with pytest.raises(ConfigError, match=r"c.toml:2: storage.url: expected a postgresql://"):
        load_config(path)


def _article(n: int, title: str, text: str | None = None, feed: str = "f") -> Article:
    return Article(identity=f"guid:{n}", feed=feed, guid=str(n), url=f"https://e.example/{n}",
                   canonical_url=f"https://e.example/{n}", title=title, published=None,
                   text=text or f"{title}, as the report says.", text_source="feed", extraction_note=None,
                   fingerprint=f"{n:064x}", minhash=None, matches=())


ARCHIVE = [
    ("Harbour cranes restored", "The port authority said the harbour cranes work again after the storm."),
    ("Harbour ferry delayed", "Ferry crossings from the harbour were delayed by fog on Monday morning."),
    ("Granary reopened", "The old granary reopened as a library; the harbour district celebrated."),
    ("NATO-led exercise ends", "The NATO-led exercise ended in the Baltic with no incidents reported."),
    ("Ceasefire talks resume", "Envoys resumed ceasefire talks; a truce may follow within days."),
    ("Truce holds in the north", "The truce held overnight, officials said, and ferries resumed."),
]
QUERIES = ["harbour", '"harbour cranes"', "granary OR ferry", "harbour NOT ferry", "harb*", "NATO-led",
           "truce ceasefire", "ceasefire OR truce NOT ferries", "library harbour"]


def _search_all(store: Store, query: str) -> dict:
    found = store.search(query, limit=20)
    return {r["title"]: r for r in found}


def test_search_gives_the_same_articles_and_result_shape_on_both_engines(store_url, tmp_path):
    """tsvector with its GIN index, websearch_to_tsquery and ts_headline give what FTS5 gives for
    every operator query (phrases, OR, NOT, prefix, punctuation): the same articles, the same
    keys, a snippet with the hit marks; the title weighs more than the text in both."""
    stores = [Store.open(tmp_path / "n.db"), Store.open(store_url, _password())]
    try:
        for store in stores:
            run = store.start_run(NOW)
            with store.transaction():
                for n, (title, text) in enumerate(ARCHIVE):
                    store.insert_article(_article(n, title, text), NOW + timedelta(minutes=n), run)
        assert stores[1].conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'articles_search' "
                                      "AND indexdef LIKE '%USING gin%'").fetchone() == (1,)
        for query in QUERIES:
            sqlite_hits, pg_hits = (_search_all(s, query) for s in stores)
            assert set(pg_hits) == set(sqlite_hits) and pg_hits, query
            for title, hit in pg_hits.items():
                assert set(hit) == set(sqlite_hits[title]), query
                assert HIT_START in hit["snippet"] and HIT_END in hit["snippet"] or query == "harbour NOT ferry"
        ranked = [r["title"] for r in stores[1].search("harbour")]
        assert ranked[:2] == [t for t in ranked if t.startswith("Harbour")]        # titles first
        assert [r["title"] for r in stores[1].search("granary", since=NOW + timedelta(minutes=3))] == []
        with pytest.raises(ValueError, match="OR needs a word before it"):
            stores[1].search("OR truce")
    finally:
        for store in stores:
            store.close()


@pytest.mark.sqlite_only
def test_dialect_rules():
    """The translation's generic rules, on the statements the storage writes."""
    t = dialect.translate
    assert t("INSERT OR IGNORE INTO messages (channel, kind) VALUES (?, ?)") == (
        "INSERT INTO messages (channel, kind) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING id")
    assert t("INSERT OR REPLACE INTO signatures (key, version, minhash) VALUES (?, ?, ?)", returning=False) == (
        "INSERT INTO signatures (key, version, minhash) VALUES (%s, %s, %s) ON CONFLICT (key) DO UPDATE SET "
        "version = excluded.version, minhash = excluded.minhash")
    assert t("SELECT count(*) FROM messages WHERE kind IS NOT ? AND key LIKE 'a%'") == (
        "SELECT count(*) FROM messages WHERE kind IS DISTINCT FROM %s AND key LIKE 'a%%'")
    assert "json_array_elements_text(s.topics::json) AS t(value)" in t(
        "SELECT 1 FROM stories s WHERE EXISTS (SELECT 1 FROM json_each(s.topics) t WHERE t.value = ?)")
    assert t("PRAGMA temp_store = MEMORY") is None and t("BEGIN IMMEDIATE") == "BEGIN"
    assert t("DELETE FROM profiles WHERE article_id IN ()") == "DELETE FROM profiles WHERE article_id IN (NULL)"
    assert dialect.ddl("ALTER TABLE articles ADD COLUMN image TEXT;") == [
        'ALTER TABLE articles ADD COLUMN IF NOT EXISTS image TEXT COLLATE "C"']


def test_rows_copied_with_their_own_numbers_then_new_ones_follow_them(store_url):
    """A copy (newsmon db copy) writes ids and rowids as they were; postgres.renumber moves each
    identity past them, so the next run's rows neither collide nor go below (the email cut)."""
    from pipeline.storage import postgres

    store = Store.open(store_url, _password())
    try:
        with store.transaction():
            store.conn.execute("INSERT INTO runs (id, started, status) VALUES (41, '2026-11-01', 'ok')")
            store.conn.execute("INSERT INTO articles (rowid, id, identity, feed, title, first_seen, text, text_source, "
                               "fingerprint) VALUES (900, 'a', 'url:a', 'f', 'Copied', '2026-11-01', 'T.', 'feed', 'x')")
            postgres.renumber(store.conn)
        run = store.start_run(NOW)
        with store.transaction():
            store.insert_article(_article(1, "Stored after the copy"), NOW, run)
        assert run == 42 and store.last_rowid() == 901
    finally:
        store.close()


def test_the_run_lock_holds_across_machines_on_one_database(store_url, tmp_path):
    """Two machines (two configs, each its own lock-file folder) on one database: while one holds
    the run lock (its `db maintain` here), the other's `db maintain` is refused with exit 75,
    naming who holds it; once the holder is gone, it runs. Its lock is the database's advisory
    lock, not the file. A run goes ahead beside the holder, leaving the sending to it (runs and
    daemons share the work: test_workers)."""
    from pipeline.app.archive import exclusive

    here, there = tmp_path / "machine-a", tmp_path / "machine-b"
    here.mkdir()
    there.mkdir()
    config = load_config(write_config(here, []))
    other = write_config(there, [])
    with exclusive(config, role="maintain"):
        refused = newsmon("db", "maintain", "--config", str(other))
        assert refused.returncode == 75, refused.stderr
        assert f"newsmon maintain {os.getpid()}@" in refused.stderr and "run lock" in refused.stderr
        beside = newsmon("run", "--config", str(other))
        assert beside.returncode == 0, beside.stderr
    done = newsmon("db", "maintain", "--config", str(other))
    assert done.returncode == 0, done.stderr
