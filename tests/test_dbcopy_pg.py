"""`newsmon db copy` to and from PostgreSQL (issue 26, moving an archive): the demo archive from
its SQLite file into a PostgreSQL database (`--to postgresql://…`, the password from PGPASSWORD),
then from there (the config's [storage] url) back into a new SQLite file, with equal counts and
checksums on every side; the copy on PostgreSQL is a working store (search, the next numbers).
The 100,000-article case is marked `large` (~5 minutes at load ~10 on 2 shared cores)."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import PG_PASSWORD_ENV, newsmon, open_store, write_config
from test_dbcopy import checksums, config_for, generated

from pipeline.config import load_config
from pipeline.storage import dialect
from pipeline.storage.copying import plans


@pytest.fixture
def engine(request) -> str:
    """A fresh PostgreSQL database for each test (conftest.store_url)."""
    return "postgresql"


def copy(config: Path, target: str, password: str | None = None, timeout: float = 600) -> tuple[int, dict | str]:
    env = {"PGPASSWORD": password} if password else {}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        done = newsmon("db", "copy", "--config", str(config), "--to", target, "--json", timeout=timeout)
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    try:
        return done.returncode, json.loads(done.stdout)
    except json.JSONDecodeError:
        return done.returncode, done.stdout + done.stderr


def found_ids(config: Path) -> set[str]:
    done = newsmon("search", "NATO", "--json", "--limit", "50", "--config", str(config))
    assert done.returncode == 0, done.stderr
    return {r["url"] for r in json.loads(done.stdout)}


def test_the_plan_to_or_from_postgresql_orders_every_table_by_what_both_engines_have():
    """SQLite keeps a row id in every table, PostgreSQL only in the articles and the tables with
    no key of their own: a copy across the two goes by that row id there, by the key elsewhere."""
    planned = {p.name: p for p in plans(row_id_in=dialect.row_id_tables())}
    assert planned["articles"].key == ("rowid",) and planned["matches"].key == ("rowid",)
    assert planned["runs"].key == ("id",) and planned["bands"].key == ("key", "band", "article")
    assert planned["reads"].key == ("user", "story_id") and "rowid" not in planned["feeds"].columns


def test_the_demo_archive_goes_to_postgresql_and_back_with_equal_counts_and_checksums(store_url, tmp_path):
    data = tmp_path / "data"
    demo = newsmon("-q", "demo", "--reports", str(tmp_path / "reports"), "--data", str(data),
                   "--seeds", str(Path(__file__).resolve().parent.parent / "seeds"))
    assert demo.returncode == 0, demo.stderr
    config = data / "demo.toml"
    password = os.environ[PG_PASSWORD_ENV]

    code, forth = copy(config, store_url, password)
    assert code == 0, forth
    assert forth["equal"] and forth["search_index"] is None
    (tmp_path / "pg").mkdir(exist_ok=True)
    pg_config = write_config(tmp_path / "pg", [])          # [storage] url = the test's database
    back_file = tmp_path / "back.db"
    code, back = copy(pg_config, str(back_file))
    assert code == 0, back
    assert back["equal"] and back["search_index"] is None
    assert checksums(forth, "source") == checksums(forth, "target") == checksums(back, "source") \
        == checksums(back, "target")
    assert forth["tables"]["articles"]["target_rows"] >= 10 and forth["tables"]["runs"]["target_rows"] == 2
    assert {n for n, t in forth["tables"].items() if t["source_rows"]} >= {"articles", "stories", "feeds", "runs",
                                                                           "matches", "signatures"}

    # the articles keep their row ids (emails and marks count by them), there and back
    with sqlite3.connect(load_config(config).database) as a, sqlite3.connect(back_file) as b:
        order = "SELECT rowid, id FROM articles ORDER BY rowid"
        assert a.execute(order).fetchall() == b.execute(order).fetchall()

    # the copy on PostgreSQL is a working store: search finds the articles the source finds
    # (snippets are each engine's own), and the next run takes the next number (the identity
    # sequences follow the copied rows)
    found = found_ids(config)
    assert found and found_ids(pg_config) == found

    # copied again: nothing to copy, checked again; the file back is a store newsmon reads
    code, again = copy(config, store_url, password)
    assert code == 0 and again["equal"] and not any(t["copied_now"] for t in again["tables"].values())
    assert found_ids(config_for(tmp_path, back_file)) == found
    store = open_store(load_config(pg_config))
    try:
        assert store.start_run(datetime(2026, 12, 1, tzinfo=timezone.utc)) == 3
    finally:
        store.close()


@pytest.mark.large
def test_a_100000_article_archive_goes_to_postgresql_and_back_with_equal_counts_and_checksums(store_url, tmp_path):
    """The generated archive of test_dbcopy's large case, every table a run fills, through
    PostgreSQL and back into a new SQLite file (`python -m bench scale --copy` times it)."""
    source = generated(tmp_path / "source.db", 100_000)
    code, forth = copy(config_for(tmp_path, source), store_url, os.environ[PG_PASSWORD_ENV], timeout=1800)
    assert code == 0, forth
    (tmp_path / "pg").mkdir()
    code, back = copy(write_config(tmp_path / "pg", []), str(tmp_path / "back.db"), timeout=1800)
    assert code == 0, back
    assert forth["tables"]["articles"]["source_rows"] == 100_000
    assert {"emails", "messages", "signatures", "profiles", "stories", "run_feeds", "matches"} <= {
        n for n, t in forth["tables"].items() if t["source_rows"]}
    assert checksums(forth, "source") == checksums(forth, "target") == checksums(back, "source") \
        == checksums(back, "target")
    assert forth["equal"] and back["equal"] and back["search_index"] is None
    with sqlite3.connect(source) as a, sqlite3.connect(tmp_path / "back.db") as b:
        search = "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'NATO'"
        assert a.execute(search).fetchone() == b.execute(search).fetchone() != (0,)


def test_a_foreign_postgresql_target_is_refused(store_url, tmp_path):
    """A PostgreSQL database holding another archive is not copied into (exit 2), as a file."""
    other = tmp_path / "other.db"
    store = open_store(load_config(config_for(tmp_path, other)))
    store.close()
    (tmp_path / "pg").mkdir(exist_ok=True)
    pg_config = write_config(tmp_path / "pg", [])
    store = open_store(load_config(pg_config))
    try:
        with store.transaction():
            store.conn.execute("INSERT INTO runs (started, status) VALUES ('2026-11-23T07:00:00+00:00', 'ok')")
    finally:
        store.close()
    code, out = copy(config_for(tmp_path, other), store_url, os.environ[PG_PASSWORD_ENV])
    assert code == 2 and "not empty" in str(out), out
