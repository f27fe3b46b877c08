"""PostgreSQL behind the sqlite3 connection's interface, so the storage modules stay one set.

`PgConnection` offers what the Store's domains use of a sqlite3.Connection (execute, executemany,
executescript, in_transaction, a cursor's rowcount, lastrowid and description), every statement
translated by dialect.translate. Connections come from a small pool per URL (psycopg_pool), in
autocommit mode: the Store's own BEGIN/COMMIT/SAVEPOINT statements make the transactions, as on
SQLite. psycopg is imported only when a `postgresql://` URL is opened.
"""

from __future__ import annotations

import atexit
import os
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterable, Iterator

from . import dialect

POOL_SIZE = 4           # connections per URL and process: a run uses one, `newsmon web` a few
_pools: dict[tuple[str, str | None, bool], Any] = {}
_pools_lock = threading.Lock()


def is_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def errors() -> tuple[type[BaseException], ...]:
    """psycopg's error class, when it is loaded (a store was opened by URL); else none."""
    import sys

    psycopg = sys.modules.get("psycopg")
    return (psycopg.Error,) if psycopg else ()


class _Cursor:
    """A psycopg cursor as the storage reads a sqlite3 one."""

    def __init__(self, cursor, lastrowid: int | None = None):
        self._cursor = cursor
        self.lastrowid = lastrowid
        self.rowcount = cursor.rowcount if cursor is not None else 0
        self.description = cursor.description if cursor is not None else None

    def fetchone(self):
        return self._cursor.fetchone() if self._rows() else None

    def fetchall(self) -> list:
        return self._cursor.fetchall() if self._rows() else []

    def __iter__(self) -> Iterator:
        return iter(self.fetchall())

    def _rows(self) -> bool:
        return self._cursor is not None and self._cursor.description is not None


class PgConnection:
    """One pooled connection, handed back to its pool by close()."""

    engine = "postgresql"

    def __init__(self, pool, raw):
        self._pool, self.raw = pool, raw

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, params: Iterable = ()) -> _Cursor:
        statement = dialect.translate(sql)
        if statement is None:
            return _Cursor(None)
        params = tuple(params)
        cursor = self.raw.execute(statement, dialect.named(params) if dialect.BY_NAME.search(statement) else params)
        lastrowid = None
        if " RETURNING " in statement and cursor.description is not None and " RETURNING " not in sql.upper():
            row = cursor.fetchone()
            lastrowid = row[0] if row else None
        return _Cursor(cursor, lastrowid)

    def executemany(self, sql: str, rows: Iterable) -> _Cursor:
        statement = dialect.translate(sql, returning=False)
        rows = [tuple(r) for r in rows]
        if statement is None or not rows:
            return _Cursor(None)
        if dialect.BY_NAME.search(statement):
            rows = [dialect.named(r) for r in rows]
        with self.raw.cursor() as cursor:
            cursor.executemany(statement, rows)
            return _Cursor(None)

    def executescript(self, script: str) -> None:
        """A schema script: its DDL translated (dialect.ddl); BEGIN/COMMIT as written."""
        for statement in dialect.ddl(script):
            self.raw.execute(dialect.translate(statement, returning=False) or "SELECT 1", ())

    def close(self) -> None:
        if self.raw is None:
            return
        if self.in_transaction:
            self.raw.execute("ROLLBACK")
        self._pool.putconn(self.raw)
        self.raw = None


def _configure(conn) -> None:
    """Python's True/False stored as 1/0 in INTEGER columns, as sqlite3 stores them."""
    from psycopg.types.numeric import IntDumper

    conn.adapters.register_dumper(bool, IntDumper)


def connect(url: str, password: str | None = None, readonly: bool = False) -> PgConnection:
    """A connection from the pool of this URL (made on first use): autocommit, the Store's
    statements making the transactions; `readonly`: every transaction read-only (newsmon web)."""
    from psycopg_pool import ConnectionPool

    key = (url, password, readonly)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": 15}
            if password:
                kwargs["password"] = password
            if readonly:
                kwargs["options"] = "-c default_transaction_read_only=on"
            import psycopg

            psycopg.connect(url, **kwargs).close()     # the server's own words if it cannot be reached
            pool = ConnectionPool(url, min_size=1, max_size=POOL_SIZE, kwargs=kwargs, configure=_configure,
                                  check=ConnectionPool.check_connection, open=False, name="newsmon")
            pool.open(wait=True, timeout=15)
            _pools[key] = pool
    return PgConnection(pool, pool.getconn(timeout=30))


@atexit.register
def close_pools() -> None:
    with _pools_lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()


# --- the schema version (SQLite's PRAGMA user_version)

_SCHEMA_LOCK = 0x6E6577736D6F6E   # "newsmon": the advisory lock key of schema changes


def lock_schema(conn: PgConnection) -> int:
    """Inside a transaction: wait for any other process changing the schema, then the version."""
    conn.raw.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
    conn.raw.execute(f"CREATE TABLE IF NOT EXISTS {dialect.VERSION_TABLE} (version BIGINT NOT NULL)")
    return version(conn)


def version(conn: PgConnection) -> int:
    """The schema version of the database (0: none yet)."""
    exists = conn.raw.execute("SELECT to_regclass(%s)", (dialect.VERSION_TABLE,)).fetchone()[0]
    row = conn.raw.execute(f"SELECT max(version) FROM {dialect.VERSION_TABLE}").fetchone() if exists else None
    return row[0] or 0 if row else 0


def set_version(conn: PgConnection, number: int) -> None:
    conn.raw.execute(f"DELETE FROM {dialect.VERSION_TABLE}")
    conn.raw.execute(f"INSERT INTO {dialect.VERSION_TABLE} (version) VALUES (%s)", (number,))


def renumber(conn: PgConnection) -> None:
    """After rows were written with their own numbers (a copy of an archive, `newsmon db copy`):
    each identity column's sequence set past the highest number, so the next insert does not
    collide with a copied row. (Identity columns are BY DEFAULT, so a copy may give numbers.)"""
    for table, column in dialect.identity_columns().items():
        conn.raw.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                         f"coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)")


# --- the writers' lock: a cut of the articles (last_rowid) waits for ids still in flight

WRITERS_LOCK = 0x6E6D7772    # "nmwr": held shared by each write transaction (Store._begin)


def settled_last_rowid(conn: PgConnection) -> int:
    """The highest article id with every lower id committed or gone: taken with the writers'
    lock held alone for an instant (it waits for the write transactions open now; those begun
    after it get higher ids, as the sequence only grows)."""
    conn.raw.execute("SELECT pg_advisory_lock(%s)", (WRITERS_LOCK,))
    try:
        return conn.raw.execute("SELECT coalesce(max(rowid), 0) FROM articles").fetchone()[0]
    finally:
        conn.raw.execute("SELECT pg_advisory_unlock(%s)", (WRITERS_LOCK,))


# --- the deciders' lock: one worker at a time decides new articles and stores them

DECIDERS_LOCK = 0x6E6D6463    # "nmdc": taken by a unit that decides articles (Store.transaction(decides=True))


def lock_decisions(conn: PgConnection) -> None:
    """Inside a transaction: wait until no other worker's transaction holds the deciders' lock,
    then hold it until this one ends. The holder before committed first, so every statement
    after this sees its articles (READ COMMITTED: each statement reads what was committed
    when it began)."""
    conn.raw.execute("SELECT pg_advisory_xact_lock(%s)", (DECIDERS_LOCK,))


# --- one actor at a time across machines: the run lock's PostgreSQL half

RUN_LOCK = 0x6E6D7275     # "nmru": the advisory lock key of prune, maintain, copy and the one sender


@contextmanager
def advisory_lock(url: str, password: str | None, role: str, wait_seconds: float = 0) -> Iterator[None]:
    """Held for a command's whole life (prune, maintain, copy), or the moment a worker sends or
    does the daemon's upkeep (app/archive.single_actor), on a connection of its own, outside the pool:
    the server releases a session's advisory lock when its connection ends, however the process
    died. The holder names itself (`application_name`), so the one refused can say who holds it.
    With `wait_seconds`, a run holding it is waited for (polled each second), the daemon never."""
    import psycopg

    from ..errors import LockHeld

    me = f"newsmon {role} {os.getpid()}@{socket.gethostname()}"[:63]
    conn = psycopg.connect(url, autocommit=True, password=password, connect_timeout=15, application_name=me)
    try:
        deadline = time.monotonic() + wait_seconds
        while not conn.execute("SELECT pg_try_advisory_lock(%s)", (RUN_LOCK,)).fetchone()[0]:
            holder = conn.execute(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.objid = %s AND l.granted", (RUN_LOCK,)).fetchone()
            name = holder[0] if holder else "another newsmon"
            if " serve " in f"{name} " or time.monotonic() >= deadline:
                raise LockHeld(f"{name} holds the database's run lock ({url}); not starting")
            time.sleep(1)
        yield
    finally:
        conn.close()
