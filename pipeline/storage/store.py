"""The Store: one SQLite connection, and the domains of storage composed onto it.

WAL mode so readers (digest, status, sqlite3 CLI) never block a run; a 15 s busy timeout; write
transactions start with BEGIN IMMEDIATE so two writers queue instead of failing half-way; one
transaction per feed, so a crash loses at most the feed in progress and leaves no partial rows.
Every timestamp is UTC ISO-8601 text ("2026-11-23T07:00:00+00:00"), which sorts as time.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils

from ..errors import StoreError
from .articles import Articles
from .emails import Emails
from .feeds import Feeds
from .runs import Runs
from .schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION
from .search import Search
from .times import article_id, iso, parse_time  # noqa: F401  (the storage's public helpers)


@contextmanager
def guard(path: Path) -> Iterator[None]:
    """The one place a sqlite3 error becomes a StoreError that says where (disk full, read-only
    file, corruption); the open transaction was rolled back, so nothing half-written stays."""
    try:
        yield
    except sqlite3.Error as e:
        raise StoreError(f"{path}: database error: {e} (disk full? read-only? see [storage] database)") from None


class Store(Runs, Feeds, Articles, Emails, Search):
    """The database. Open with `Store.open(path)`; use `transaction()` around every write batch."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    @classmethod
    def open(cls, path: Path) -> "Store":
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=15, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 15000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{path}: database schema {version} is newer than this newsmon "
                                 f"({SCHEMA_VERSION}); upgrade newsmon")
            migrations = "".join(sql for step, sql in MIGRATIONS if 0 < version < step)
            conn.executescript("BEGIN IMMEDIATE;" + migrations + SCHEMA +
                               f"PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
            db = sqlite_utils.Database(conn)
            if not db["articles_fts"].exists():
                # full-text search over title and text, kept current by triggers
                db["articles"].enable_fts(["title", "text"], fts_version="FTS5", create_triggers=True,
                                          tokenize="unicode61 remove_diacritics 2")
        except sqlite3.Error as e:
            raise StoreError(f"{path}: cannot open the database: {e}") from None
        except OSError as e:
            raise StoreError(f"{path}: cannot create the database folder: {e}") from None
        return cls(db)

    def close(self) -> None:
        self.db.conn.close()

    @contextmanager
    def transaction(self) -> Iterator["Store"]:
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

