"""The Store: one connection (an SQLite file, or PostgreSQL: storage/postgres.py), and the
domains of storage composed onto it.

WAL mode so readers (digest, status, sqlite3 CLI) never block a run; a 15 s busy timeout; write
transactions start with BEGIN IMMEDIATE so two writers queue instead of failing half-way; each
feed's writes are one unit (a transaction, or a savepoint of a run's group commit: `grouped`), so
a crash leaves whole feeds or nothing, never partial rows.
Every timestamp is UTC ISO-8601 text ("2026-11-23T07:00:00+00:00"), which sorts as time.
"""

from __future__ import annotations

import re
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import StoreError
from ..options import address_key
from . import dialect, postgres
from .articles import Articles
from .bands import Bands
from .connected import Connected
from .emails import Emails
from .feeds import Feeds
from .messages import Messages
from .reading import Reading
from .retention import Retention
from .runs import Runs
from .schema import BACKFILL_STORIES, INDEX_UNLESS_RUN, MARK_EXISTING, MIGRATIONS, SCHEMA, SCHEMA_VERSION
from .search import Search
from .stories import Stories
from .storyedits import StoryEdits
from .times import article_id, iso, parse_time  # noqa: F401  (the storage's public helpers)


def database_errors() -> tuple[type[BaseException], ...]:
    """What either engine raises: sqlite3's errors, and psycopg's once a PostgreSQL store is open."""
    return (sqlite3.Error,) + postgres.errors()


@contextmanager
def guard(path: Path | str) -> Iterator[None]:
    """The one place a database error becomes a StoreError that says where (disk full, read-only
    file, corruption, a lost server); the open transaction was rolled back, so nothing
    half-written stays."""
    try:
        yield
    except database_errors() as e:
        hint = "see [storage] url" if postgres.is_url(path) else "disk full? read-only? see [storage] database"
        raise StoreError(f"{path}: database error: {e} ({hint})") from None


def _key_recipients(conn: sqlite3.Connection) -> None:
    """Schema 3: delivery history keyed on the bare address, so "Desk <desk@x>" after "desk@x"
    is the same recipient and is not sent the day's email again. Where both forms hold a row for
    the same day, the one that went out (or may have) stays."""
    rows = conn.execute("SELECT id, digest_date, recipient, status, data_started FROM emails ORDER BY id").fetchall()
    keep: dict[tuple[str, str], tuple[int, bool]] = {}
    for email_id, day, recipient, status, started in rows:
        key, delivered = (day, address_key(recipient)), status in ("sent", "skipped") or bool(started)
        if key in keep and (keep[key][1] or not delivered):
            conn.execute("DELETE FROM emails WHERE id = ?", (email_id,))
            continue
        if key in keep:
            conn.execute("DELETE FROM emails WHERE id = ?", (keep[key][0],))
        keep[key] = (email_id, delivered)
        conn.execute("UPDATE emails SET recipient = ? WHERE id = ?", (key[1] + f"\0{email_id}", email_id))
    conn.execute("UPDATE emails SET recipient = substr(recipient, 1, instr(recipient, char(0)) - 1) "
                 "WHERE instr(recipient, char(0)) > 0")


_ADD_COLUMN = re.compile(r"\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(\w+)", re.I)


def _missing_only(conn: sqlite3.Connection, script: str) -> str:
    """The migration statements still to apply: a column a file already has is not added again
    (a file whose user_version was set back, or one a newer newsmon touched), since SQLite has no
    ADD COLUMN IF NOT EXISTS; every other statement is kept as it is."""
    kept = []
    for statement in script.split(";"):
        added = _ADD_COLUMN.match(statement)
        if added and any(r[1] == added.group(2) for r in conn.execute(f"PRAGMA table_info({added.group(1)})")):
            continue
        kept.append(statement)
    return ";".join(kept)


def connect_existing(target: Path | str, mode: str, busy_ms: int, password: str | None = None):
    """A connection to a database that exists at this schema version (`mode`: ro or rw, SQLite's
    URI modes; on PostgreSQL, ro makes every transaction read-only): nothing is created or
    migrated, which only a run does. Else a StoreError. `target`: a file, or a postgresql:// URL."""
    if postgres.is_url(target):
        return _connect_existing_url(str(target), mode, busy_ms, password)
    path = Path(target)
    if not path.is_file():
        raise StoreError(f"{path}: no database yet (run `newsmon run` first; see [storage] database)")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True, timeout=busy_ms / 1000,
                               isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as e:
        raise StoreError(f"{path}: cannot open the database: {e}") from None
    if version != SCHEMA_VERSION:
        conn.close()
        raise StoreError(f"{path}: database schema {version}, this newsmon reads {SCHEMA_VERSION} "
                         "(a `newsmon run` brings an older file up to date)")
    return conn


def _connect_existing_url(url: str, mode: str, busy_ms: int, password: str | None) -> "postgres.PgConnection":
    """connect_existing on PostgreSQL: a pooled connection (read-only ones from a pool of their
    own), a row lock waited for at most `busy_ms` as SQLite's busy timeout."""
    try:
        conn = postgres.connect(url, password, readonly=mode == "ro")
        conn.raw.execute(f"SET lock_timeout = {int(busy_ms)}")
        version = postgres.version(conn)
    except postgres.errors() as e:
        raise StoreError(f"{url}: cannot open the database: {e}") from None
    if version != SCHEMA_VERSION:
        conn.close()
        raise StoreError(f"{url}: no database yet (run `newsmon run` first; see [storage] url)" if not version
                         else f"{url}: database schema {version}, this newsmon reads {SCHEMA_VERSION} "
                         "(a `newsmon run` brings it up to date)")
    return conn


def _upgrade_rows(conn, version: int) -> None:
    """The migration steps done in Python or by rewriting rows, after the tables: both engines."""
    if 0 < version < 3:
        _key_recipients(conn)
    if 0 < version < 4:
        conn.execute(BACKFILL_STORIES)
    if 0 < version < 7:
        conn.execute(MARK_EXISTING)   # the alert pass starts after what an older newsmon evaluated


class Store(Runs, Feeds, Articles, Emails, Search, Stories, Messages, Reading, Retention, Bands, StoryEdits, Connected):
    """The database. Open with `Store.open(path)`; use `transaction()` around every write batch."""

    def __init__(self, conn: "sqlite3.Connection | postgres.PgConnection"):
        self.conn = conn
        self.engine = getattr(conn, "engine", "sqlite")   # sqlite | postgresql
        self._group_seconds: float | None = None   # set while grouped(): see there
        self._group_began = 0.0
        self._depth = 0                             # units (savepoints) open in the group
        self._deciding = False                      # the open transaction holds the deciders' lock
        self._unindexed: list[int] = []             # articles inserted, not yet in the search index

    @classmethod
    def open(cls, path: Path | str, password: str | None = None) -> "Store":
        """The store at `path`: an SQLite file (made if missing), or a `postgresql://` URL
        (`password` for its user), its schema brought up to date either way."""
        if postgres.is_url(path):
            return cls._open_postgresql(str(path), password)
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=15, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 15000")
            # a new file gives pages back in steps (`db maintain`); set before WAL, which writes
            # the header; on a file with tables it changes nothing until a VACUUM
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{path}: database schema {version} is newer than this newsmon "
                                 f"({SCHEMA_VERSION}); upgrade newsmon")
            migrations = _missing_only(conn, "".join(sql for step, sql in MIGRATIONS if 0 < version < step))
            conn.executescript("BEGIN IMMEDIATE;" + migrations + SCHEMA)
            _upgrade_rows(conn, version)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")          # (executescript would commit first, outside the transaction)
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'articles_fts'").fetchone() is None:
                # full-text search over title and text: new articles are added by their unit
                # (Articles.index_for_search), updates and deletes by triggers
                import sqlite_utils  # (here: a new database only; every other start goes without it)

                articles = sqlite_utils.Database(conn)["articles"]
                articles.enable_fts(["title", "text"], fts_version="FTS5", create_triggers=True,
                                    tokenize="unicode61 remove_diacritics 2")
            # schema 6: the articles a run inserts are indexed by their unit, in one statement
            # (Articles.index_for_search: a trigger per row cost ~5x as much); rows written any
            # other way (by hand, another tool) still by the trigger, so the index never misses one
            trigger = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'articles_ai'").fetchone()
            if trigger is None or "run_id IS NULL" not in trigger[0]:
                conn.executescript(f"BEGIN IMMEDIATE; DROP TRIGGER IF EXISTS articles_ai; {INDEX_UNLESS_RUN}; COMMIT;")
        except sqlite3.Error as e:
            raise StoreError(f"{path}: cannot open the database: {e}") from None
        except OSError as e:
            raise StoreError(f"{path}: cannot create the database folder: {e}") from None
        return cls(conn)

    @classmethod
    def _open_postgresql(cls, url: str, password: str | None) -> "Store":
        """Schema and migrations as on SQLite (translated: dialect.ddl), in one transaction under
        an advisory lock, so two workers starting together do not both create the tables."""
        try:
            conn = postgres.connect(url, password)
        except postgres.errors() as e:
            raise StoreError(f"{url}: cannot open the database: {e}") from None
        try:
            conn.execute("BEGIN")
            version = postgres.lock_schema(conn)
            if version > SCHEMA_VERSION:
                raise StoreError(f"{url}: database schema {version} is newer than this newsmon "
                                 f"({SCHEMA_VERSION}); upgrade newsmon")
            conn.executescript("".join(sql for step, sql in MIGRATIONS if 0 < version < step) + SCHEMA)
            conn.raw.execute(dialect.SEARCH_INDEX)
            _upgrade_rows(conn, version)
            postgres.set_version(conn, SCHEMA_VERSION)
            conn.execute("COMMIT")
        except postgres.errors() as e:
            conn.close()
            raise StoreError(f"{url}: cannot open the database: {e}") from None
        except BaseException:
            conn.close()
            raise
        return cls(conn)

    @classmethod
    def open_readonly(cls, path: Path | str, password: str | None = None) -> "Store":
        """A connection that can only read (SQLite `mode=ro`; on PostgreSQL read-only
        transactions): the web server's, one per server thread (app/archive.reading), so a run
        writing at the same time is never blocked (WAL: readers see the last commit; between
        requests it holds no read transaction). Nothing is created or migrated: a missing
        database, or one of another schema, is a StoreError."""
        return cls(connect_existing(path, "ro", 15_000, password))

    def renumber(self) -> None:
        """After rows were written with their own numbers (`db copy`): the next number an insert
        takes follows them. SQLite numbers past the largest by itself; PostgreSQL's identity
        sequences are set (postgres.renumber)."""
        if self.engine == "postgresql":
            postgres.renumber(self.conn)

    def close(self) -> None:
        self.flush()
        self.conn.close()

    @contextmanager
    def transaction(self, decides: bool = False) -> Iterator["Store"]:
        """One unit of writes, all or nothing. Inside `grouped()` it is a savepoint of the group's
        transaction (rolled back alone on error), committed with the others by `flush()`.

        `decides`: the unit decides new articles against the stored ones (a copy? which story?)
        and stores them, or writes what such units write (the bands' mark). Several PostgreSQL
        workers decide at once, and a decision must see every article decided before it: the
        unit first takes the deciders' lock (postgres.lock_decisions), held until its
        transaction commits, and that commit comes as the unit ends, not with the group's half
        second, so the lock is held for one feed's decisions and inserts. A worker waiting for
        it waits whole (these calls are synchronous): its requests in flight and its extraction
        processes go on, it starts nothing new. On SQLite there is one writer (the run lock; the
        group's BEGIN IMMEDIATE): nothing to take."""
        conn = self.conn
        if self._group_seconds is None:
            self._begin()
            if decides:
                self._lock_decisions()
            try:
                yield self
                self.index_for_search()
            except BaseException:
                self._unindexed.clear()
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
            return
        if not conn.in_transaction:
            self._begin()
            self._group_began = time.monotonic()
        with self._savepoint("unit"):
            if decides:
                self._lock_decisions()
            try:
                yield self
                self.index_for_search()
            except BaseException:
                self._unindexed.clear()        # (inner units indexed theirs when they ended)
                raise
        self.flush(older_than=0.0 if self._deciding else self._group_seconds)

    def _lock_decisions(self) -> None:
        if self.engine != "sqlite":
            postgres.lock_decisions(self.conn)
            self._deciding = True

    def _begin(self) -> None:
        """A write transaction. On PostgreSQL it holds the writers' lock shared, so that
        `last_rowid` (which takes it alone) waits for every article id handed out to be committed:
        several workers' ids commit out of order, and a cut made past an id still in flight would
        let the email and alert passes skip that article for good."""
        self.conn.execute("BEGIN IMMEDIATE")
        self._deciding = False
        if self.engine != "sqlite":
            self.conn.raw.execute("SELECT pg_advisory_xact_lock_shared(%s)", (postgres.WRITERS_LOCK,))

    @contextmanager
    def _savepoint(self, kind: str) -> Iterator[None]:
        """A savepoint of the open transaction: released at the end, rolled back to on error.
        While it is open no group commit happens (flush: `_depth`)."""
        conn = self.conn
        self._depth += 1
        name = f"{kind}{self._depth}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            if conn.in_transaction:        # (SQLite may have rolled back already: disk full)
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            raise
        else:
            conn.execute(f"RELEASE {name}")
        finally:
            self._depth -= 1

    @contextmanager
    def fault_boundary(self) -> Iterator[None]:
        """A part of the open transaction that may fail alone (one story of the alert pass): a
        savepoint, rolled back to on error, the error going on up, the rest of the transaction
        standing. PostgreSQL needs it: there a failed statement aborts its whole transaction,
        where SQLite undoes only the statement. Outside a transaction it is nothing."""
        if not self.conn.in_transaction:
            yield
            return
        with self._savepoint("fault"):
            yield

    @contextmanager
    def grouped(self, seconds: float) -> Iterator["Store"]:
        """Group commit: the transactions inside share one SQLite transaction, committed when it
        is `seconds` old (checked as each ends, and by the caller's `flush`) and on leaving.

        A run stores a thousand feeds; a commit each (and FTS5 flushing its index at every one)
        cost a first run of 1,000 feeds ~1 s of CPU. Crash safety is unchanged in kind: each
        feed is still all or nothing (its own savepoint), and a crash loses at most the last
        `seconds` of finished feeds, which are fetched again by the next run (their validators
        went with them). On leaving by an exception other than the database's own, the finished
        feeds are kept."""
        if self._group_seconds is not None:      # already grouped (nested): the outer one decides
            yield self
            return
        self._group_seconds = seconds
        if self.engine != "sqlite":
            try:
                yield self
            except database_errors():
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            finally:
                self._group_seconds = None
                self.flush()
            return
        # Each unit's savepoint keeps the pages it changes in a sub-journal, a temporary file by
        # default: in memory instead (a feed's pages at most), for the group only. A first run of
        # 1,000 feeds: system CPU 0.5 -> 0.25 s, the units' writes ~20% cheaper.
        temp_store = self.conn.execute("PRAGMA temp_store").fetchone()[0]
        self.conn.execute("PRAGMA temp_store = MEMORY")
        try:
            yield self
        except sqlite3.Error:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        finally:
            self._group_seconds = None
            try:
                self.flush()
            finally:
                self.conn.execute(f"PRAGMA temp_store = {int(temp_store)}")

    def flush(self, older_than: float = 0.0) -> None:
        """Commit the group's transaction when no unit is open in it and it is `older_than` s old."""
        conn = self.conn
        if self._depth == 0 and conn.in_transaction and time.monotonic() - self._group_began >= older_than:
            conn.execute("COMMIT")
