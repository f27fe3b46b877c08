"""The Store's units of writes on a real SQLite file: transactions, and the group commit of a run
(store.grouped), where each feed is a savepoint and finished feeds are committed together."""

from __future__ import annotations

import sqlite3

import pytest

from pipeline.storage.store import Store


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "n.db")
    s.db.conn.execute("CREATE TABLE t (v TEXT)")
    yield s
    s.close()


def seen_by_another_process(store: Store) -> list[str]:
    """What a reader (status, the digest, a second connection) sees: committed rows only."""
    with sqlite3.connect(store.db.conn.execute("PRAGMA database_list").fetchone()[2]) as other:
        return [v for (v,) in other.execute("SELECT v FROM t ORDER BY rowid")]


def write(store: Store, value: str, fail: bool = False) -> None:
    with store.transaction():
        store.db.conn.execute("INSERT INTO t VALUES (?)", (value,))
        if fail:
            raise ValueError("this feed broke half-way")


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
