"""`newsmon web`'s people (schema 11): sessions, read and starred stories, saved searches, visits,
private feed keys. Users themselves are declared in the config ([[web.users]]).

Reads run on the page's own read-only connection. Writes run on `open_writer`'s connection, each
in one short transaction (BEGIN IMMEDIATE … COMMIT around a statement or two): a run holding the
write lock makes it wait (busy timeout), and it holds the lock for well under a millisecond, so
a run's writer is never blocked long. Functions take the connection and plain values."""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import StoreError
from .store import connect_existing, database_errors

BUSY_MS = 10_000                 # we wait for a run's group commit (it commits every ~0.5 s)


def open_writer(target: Path | str, password: str | None = None):
    """A connection for reading state only (an SQLite file, or a postgresql:// URL): never
    creates or migrates the database (a run does). On SQLite synchronous=NORMAL, as a run's: in
    WAL a commit then waits for no fsync (a power cut may lose the last marks, never corrupt the
    file), so the write lock is held for a fraction of a ms."""
    conn = connect_existing(target, "rw", BUSY_MS, password)
    if isinstance(conn, sqlite3.Connection):
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


@contextmanager
def short(conn) -> Iterator:
    """One short write transaction, all or nothing."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    except database_errors() as e:
        raise StoreError(f"cannot save the reading state: {e}") from None


# --- sessions


def add_session(conn, token_hash: str, user: str, csrf: str, credential: str, created: str, expires: str) -> None:
    conn.execute("DELETE FROM sessions WHERE expires < ?", [created])
    conn.execute("INSERT INTO sessions (token_hash, user, csrf, credential, created, expires) VALUES (?, ?, ?, ?, ?, ?)",
                 [token_hash, user, csrf, credential, created, expires])


def session(conn, token_hash: str, now: str) -> tuple[str, str, str] | None:
    """(user, csrf, credential) of a live session."""
    row = conn.execute("SELECT user, csrf, credential FROM sessions WHERE token_hash = ? AND expires > ?",
                       [token_hash, now]).fetchone()
    return tuple(row) if row else None


def drop_session(conn, token_hash: str) -> None:
    conn.execute("DELETE FROM sessions WHERE token_hash = ?", [token_hash])


# --- read and starred stories


def set_mark(conn, table: str, user: str, story_id: str, on: bool, at: str) -> None:
    assert table in ("reads", "stars")
    if on:
        conn.execute(f"INSERT OR IGNORE INTO {table} (user, story_id, at) VALUES (?, ?, ?)", [user, story_id, at])
    else:
        conn.execute(f"DELETE FROM {table} WHERE user = ? AND story_id = ?", [user, story_id])


def marked(conn, table: str, user: str, story_ids: list[str] | None = None) -> set[str]:
    """The user's read (or starred) stories: among `story_ids`, or all."""
    assert table in ("reads", "stars")
    if story_ids is None:
        return {r[0] for r in conn.execute(f"SELECT story_id FROM {table} WHERE user = ?", [user])}
    return _among(conn, f"SELECT story_id FROM {table} WHERE user = ? AND story_id", [user], story_ids)


def _among(conn, select: str, params: list, ids: list[str]) -> set[str]:
    """The first column of `select … IN (ids)`, in chunks of 500 (SQLite's variable limit)."""
    out: set[str] = set()
    for at in range(0, len(ids), 500):
        part = ids[at:at + 500]
        out |= {r[0] for r in conn.execute(f"{select} IN ({','.join('?' * len(part))})", [*params, *part])}
    return out


def reported_since(conn, story_ids: list[str], since: str) -> set[str]:
    """Those of the stories with a report stored after `since`."""
    return _among(conn, "SELECT id FROM stories WHERE last_seen > ? AND id", [since], story_ids)


def state_stamp(conn, user: str) -> tuple:
    """Changes whenever the user's marks or visit change: a page rendered for them is current
    while it is the same."""
    return conn.execute(
        "SELECT (SELECT count(*) || max(at) FROM reads WHERE user = ?1), "
        "(SELECT count(*) || max(at) FROM stars WHERE user = ?1), "
        "(SELECT previous FROM visits WHERE user = ?1)", [user]).fetchone()


# --- visits


def visit(conn, user: str, now: str, new_visit_before: str) -> None:
    """A page view: a visit whose latest view is older than `new_visit_before` ended, so its
    end becomes `previous` (what "new since your last visit" counts from)."""
    conn.execute("INSERT INTO visits (user, previous, latest) VALUES (?, NULL, ?) ON CONFLICT (user) DO UPDATE SET "
                 "previous = CASE WHEN latest < ?3 THEN latest ELSE previous END, latest = excluded.latest",
                 [user, now, new_visit_before])


def previous_visit(conn, user: str) -> str | None:
    row = conn.execute("SELECT previous FROM visits WHERE user = ?", [user]).fetchone()
    return row[0] if row else None


# --- saved searches


def save_search(conn, user: str, name: str, query: str, filters: dict, at: str) -> int:
    conn.execute("INSERT INTO saved_searches (user, name, query, filters, created) VALUES (?, ?, ?, ?, ?) "
                 "ON CONFLICT (user, name) DO UPDATE SET query = excluded.query, filters = excluded.filters",
                 [user, name, query, json.dumps(filters, sort_keys=True), at])
    return conn.execute("SELECT id FROM saved_searches WHERE user = ? AND name = ?", [user, name]).fetchone()[0]


def saved_searches(conn, user: str) -> list[dict]:
    return [{"id": r[0], "name": r[1], "query": r[2], "filters": json.loads(r[3]), "created": r[4]}
            for r in conn.execute("SELECT id, name, query, filters, created FROM saved_searches WHERE user = ? "
                                  "ORDER BY name", [user])]


def delete_search(conn, user: str, search_id: int) -> None:
    conn.execute("DELETE FROM saved_searches WHERE user = ? AND id = ?", [user, search_id])


# --- private feed keys


def feed_key(conn, user: str) -> str | None:
    row = conn.execute("SELECT key FROM feed_keys WHERE user = ?", [user]).fetchone()
    return row[0] if row else None


def set_feed_key(conn, user: str, key: str, at: str) -> None:
    conn.execute("INSERT INTO feed_keys (user, key, created) VALUES (?, ?, ?) ON CONFLICT (user) DO UPDATE SET "
                 "key = excluded.key, created = excluded.created", [user, key, at])


def user_of_key(conn, key: str) -> str | None:
    row = conn.execute("SELECT user FROM feed_keys WHERE key = ?", [key]).fetchone()
    return row[0] if row else None
