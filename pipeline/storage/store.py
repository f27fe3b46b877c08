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
from ..options import address_key
from .articles import Articles
from .emails import Emails
from .feeds import Feeds
from .messages import Messages
from .runs import Runs
from .schema import BACKFILL_STORIES, MIGRATIONS, SCHEMA, SCHEMA_VERSION
from .search import Search
from .stories import Stories
from .times import article_id, iso, parse_time  # noqa: F401  (the storage's public helpers)


@contextmanager
def guard(path: Path) -> Iterator[None]:
    """The one place a sqlite3 error becomes a StoreError that says where (disk full, read-only
    file, corruption); the open transaction was rolled back, so nothing half-written stays."""
    try:
        yield
    except sqlite3.Error as e:
        raise StoreError(f"{path}: database error: {e} (disk full? read-only? see [storage] database)") from None


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


class Store(Runs, Feeds, Articles, Emails, Search, Stories, Messages):
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
            conn.executescript("BEGIN IMMEDIATE;" + migrations + SCHEMA)
            if 0 < version < 3:
                _key_recipients(conn)
            if 0 < version < 4:
                conn.execute(BACKFILL_STORIES)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")          # (executescript would commit first, outside the transaction)
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

