"""People in `newsmon web`: sessions, read and starred stories, saved searches, "new since your
last visit", private feed keys (storage/people.py holds the SQL).

Reads go through the page's read-only connection (archive.reading); each write is one short
transaction (people.short) on the server's own reading-state connection (_writing), so a run
writing at the same time waits at most a moment and is never blocked long. Tokens: the cookie's is random (32 bytes) and stored
only as its sha256, so a copy of the database signs no one in."""

from __future__ import annotations

import hashlib
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator

from ..config import Config
from ..errors import StoreError
from ..storage import people as db
from .archive import reading

VISIT_GAP = timedelta(minutes=30)   # a page view after this long without one starts a new visit


@dataclass(frozen=True, slots=True)
class Session:
    user: str
    csrf: str                        # the synchronizer token its forms carry


@dataclass(frozen=True, slots=True)
class Marks:
    """What the user has done with the stories of a page."""

    read: frozenset[str] = frozenset()
    starred: frozenset[str] = frozenset()
    since: datetime | None = None    # the end of the previous visit
    new: frozenset[str] = frozenset()  # stories with a report stored after it

    def of(self, story_id: str) -> dict[str, bool]:
        """One story's marks as the pages show them and the API gives them: "new" is a story
        with a report since the previous visit that the user has not marked read."""
        read = story_id in self.read
        return {"read": read, "starred": story_id in self.starred, "new": story_id in self.new and not read}


def _iso(t: datetime) -> str:
    """As the archive stores times (UTC, whole seconds), so they compare as text."""
    return t.astimezone(timezone.utc).isoformat(timespec="seconds")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_WRITERS: dict[str, tuple[threading.Lock, object]] = {}     # database path -> its state writer
_WRITERS_GUARD = threading.Lock()


@contextmanager
def _writing(config: Config) -> Iterator:
    """One short transaction on the server's one reading-state connection to this database, kept
    open (opening one costs ~1 ms, and closing the last connection to a WAL file checkpoints it);
    changes are serialised on it. A connection that failed is dropped, and the next change opens
    a new one (a database replaced or upgraded meanwhile)."""
    key = str(config.store)
    with _WRITERS_GUARD:
        if key not in _WRITERS:
            _WRITERS[key] = (threading.Lock(), db.open_writer(config.store, config.store_password))
        lock, conn = _WRITERS[key]
    with lock:
        try:
            with db.short(conn):
                yield conn
        except StoreError:
            with _WRITERS_GUARD:
                _WRITERS.pop(key, None)
            conn.close()
            raise


def credential(config: Config, user: str) -> str:
    """What a session of `user` was signed in with: the sha256 of their password hash in the
    config ('' for a user the trusted proxy names). A new password, or a user removed from the
    config, ends the sessions made before (at the server's next start, which reads the config)."""
    hashes = {u.name: u.password_hash for u in config.web.users}
    return hashlib.sha256(hashes[user].encode()).hexdigest() if user in hashes else ""


def sign_in(config: Config, user: str, now: datetime, by_proxy: bool = False) -> tuple[str, Session]:
    """A new session: (the cookie's token, the session)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + timedelta(days=config.web.session_days)
    with _writing(config) as conn:
        db.add_session(conn, token_hash(token), user, csrf, "" if by_proxy else credential(config, user),
                       _iso(now), _iso(expires))
    return token, Session(user, csrf)


def session(config: Config, token: str, now: datetime, by_proxy: bool = False) -> Session | None:
    """The live session of a cookie's token: a password session while the user's password is the
    one it signed in with; a proxy's session only through the proxy (`by_proxy`)."""
    with reading(config) as store:
        found = db.session(store.conn, token_hash(token), _iso(now))
    if found is None:
        return None
    user, csrf, signed_with = found
    valid = by_proxy if signed_with == "" else signed_with == credential(config, user)
    return Session(user, csrf) if valid else None


def sign_out(config: Config, token: str) -> None:
    with _writing(config) as conn:
        db.drop_session(conn, token_hash(token))


def mark(config: Config, user: str, story_id: str, what: str, now: datetime) -> None:
    """what: read | unread | star | unstar."""
    table = {"read": "reads", "unread": "reads", "star": "stars", "unstar": "stars"}[what]
    with _writing(config) as conn:
        db.set_mark(conn, table, user, story_id, what in ("read", "star"), _iso(now))


def marks(config: Config, user: str, story_ids: list[str] | None = None) -> Marks:
    with reading(config) as store:
        since = db.previous_visit(store.conn, user)
        new = db.reported_since(store.conn, story_ids, since) if since and story_ids else set()
        return Marks(frozenset(db.marked(store.conn, "reads", user, story_ids)),
                     frozenset(db.marked(store.conn, "stars", user, story_ids)),
                     datetime.fromisoformat(since) if since else None, frozenset(new))


def stamp(config: Config, user: str) -> tuple:
    with reading(config) as store:
        return db.state_stamp(store.conn, user)


def visit(config: Config, user: str, now: datetime) -> None:
    with _writing(config) as conn:
        db.visit(conn, user, _iso(now), _iso(now - VISIT_GAP))


def save_search(config: Config, user: str, name: str, query: str, filters: dict, now: datetime) -> int:
    with _writing(config) as conn:
        return db.save_search(conn, user, name, query, {k: v for k, v in filters.items() if v}, _iso(now))


def saved_searches(config: Config, user: str) -> list[dict]:
    with reading(config) as store:
        return db.saved_searches(store.conn, user)


def delete_search(config: Config, user: str, search_id: int) -> None:
    with _writing(config) as conn:
        db.delete_search(conn, user, search_id)


def feed_key(config: Config, user: str, now: datetime, renew: bool = False) -> str:
    """The user's private key for feed URLs, made on first use; `renew`: a new one (the old URLs stop)."""
    if not renew:
        with reading(config) as store:
            key = db.feed_key(store.conn, user)
        if key:
            return key
    key = secrets.token_urlsafe(24)
    with _writing(config) as conn:
        if renew or db.feed_key(conn, user) is None:
            db.set_feed_key(conn, user, key, _iso(now))
        return db.feed_key(conn, user)


def user_of_key(config: Config, key: str) -> str | None:
    with reading(config) as store:
        return db.user_of_key(store.conn, key)
