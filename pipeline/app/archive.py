"""The archive as the operators' commands use it: one way to open the store, search, export.

`opened(config)` is the one place a command opens the database and is sure to close it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import ExitStack, contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Iterator

from ..config import Config
from ..errors import StoreError, UsageError, did_you_mean
from ..storage import postgres
from ..storage.schema import SCHEMA_VERSION
from ..storage.store import Store, guard


def open_store(config: Config) -> Store:
    """The config's store: its PostgreSQL URL ([storage] url) or its SQLite file."""
    return Store.open(config.store, config.store_password)


@contextmanager
def exclusive(config: Config, role: str = "run", wait_seconds: float = 0) -> Iterator[None]:
    """One at a time: the lock file beside the SQLite database (which also finds the local daemon
    to signal), and on PostgreSQL the database's advisory lock too, which holds across machines.
    Runs and the daemon hold it on SQLite only; prune, maintain, copy and `digest --send` on both."""
    from ..lock import run_lock

    with run_lock(config.database, role=role, wait_seconds=wait_seconds), ExitStack() as held:
        if config.storage_url:
            try:
                held.enter_context(postgres.advisory_lock(config.storage_url, config.store_password, role,
                                                          wait_seconds))
            except postgres.errors() as e:
                raise StoreError(f"{config.storage_url}: cannot take the run lock: {e}") from None
        yield


@contextmanager
def daemon_lock(config: Config) -> Iterator[None]:
    """What `newsmon serve` holds for its life. SQLite: the run lock (one writer: one daemon, and
    a cron run beside it exits 75). PostgreSQL: the lock file only, so one daemon per config
    folder (the file is where `feeds add`, `feeds reload` and `digest --send` find the local
    daemon to signal); the database is shared: other daemons and runs, here or on other machines,
    claim feeds beside it, and what one actor at a time does (sending, upkeep) takes the
    advisory lock for that moment (`single_actor`)."""
    if not config.storage_url:
        with exclusive(config, role="serve"):
            yield
        return
    from ..lock import run_lock

    with run_lock(config.database, role="serve"):
        yield


@contextmanager
def single_actor(config: Config, role: str) -> Iterator[bool]:
    """What one worker at a time does (sending the due email and alerts, the daemon's nightly
    upkeep): on PostgreSQL, the database's advisory run lock tried once, True when this worker
    holds it, False when another worker does, which then does the work; on SQLite the run (or
    the daemon) already holds the run lock: True."""
    from ..errors import LockHeld

    if not config.storage_url:
        yield True
        return
    try:
        lock = postgres.advisory_lock(config.storage_url, config.store_password, role)
        lock.__enter__()
    except LockHeld:
        yield False
        return
    except postgres.errors() as e:
        raise StoreError(f"{config.storage_url}: cannot take the run lock: {e}") from None
    try:
        yield True
    finally:
        lock.__exit__(None, None, None)


@contextmanager
def reading(config: Config) -> Iterator[Store]:
    """A read-only connection (`newsmon web`): never blocks a run. Each server thread keeps its
    own SQLite connection between requests (_kept_reader): opening one per request cost more than
    the story page's queries (SQLite parses the schema again and starts with an empty page cache:
    ~5x a story's reading). One that fails is closed, and the next request opens another. On
    PostgreSQL the pool keeps the connections (fewer than the server's threads): one is taken
    for the request and handed back."""
    if config.storage_url:
        store = Store.open_readonly(config.store, config.store_password)
        try:
            with guard(config.store):
                yield store
        finally:
            store.conn.close()
        return
    store = _kept_reader(config.database)
    try:
        with guard(config.store):
            yield store
    except StoreError:
        _forget_reader(config.database)
        raise


_READERS = threading.local()      # per thread: database path -> (the file's identity, its Store)


def _kept_reader(path: Path) -> Store:
    """This thread's read-only Store on `path`, kept while it is the same file (device and inode:
    a database moved aside and replaced is opened afresh) of this newsmon's schema; the check
    is one PRAGMA. A missing file or another schema is a StoreError, as Store.open_readonly says."""
    kept: dict = _READERS.__dict__.setdefault("stores", {})
    held = kept.get(path)
    if held is not None:
        try:
            st = path.stat()
            if held[0] == (st.st_dev, st.st_ino) and \
                    held[1].conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                return held[1]
        except (OSError, sqlite3.Error):
            pass
        _forget_reader(path)
    store = Store.open_readonly(path)
    try:
        st = path.stat()
    except OSError:
        store.conn.close()
        raise StoreError(f"{path}: no database yet (run `newsmon run` first; see [storage] database)") from None
    kept[path] = ((st.st_dev, st.st_ino), store)
    return store


def _forget_reader(path: Path) -> None:
    held = _READERS.__dict__.get("stores", {}).pop(path, None)
    if held is not None:
        held[1].conn.close()


def write_stamp(config: Config) -> tuple[int, ...]:
    """Changes whenever anything is committed to the database: the modification times and sizes of
    the file and its write-ahead log (every commit appends to the log, a checkpoint writes the
    file). A reading cached under it is current as long as the stamp is the same. On PostgreSQL:
    the server's write-ahead log insert position, which every commit moves at once (the write
    position lags behind an asynchronous commit)."""
    if config.storage_url:
        with reading(config) as store:
            return (store.conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0],)
    out: list[int] = []
    for path in (config.database, config.database.with_name(config.database.name + "-wal")):
        try:
            st = path.stat()
            out += [st.st_mtime_ns, st.st_size, st.st_ino]
        except OSError:
            out += [0, 0, 0]
    return tuple(out)


@contextmanager
def opened(config: Config) -> Iterator[Store]:
    store = open_store(config)
    try:
        with guard(config.store):
            yield store
    finally:
        store.close()


def search(config: Config, query: str, *, raw: bool = False, topic: str | None = None, feed: str | None = None,
           since: datetime | None = None, until: datetime | None = None, limit: int = 20,
           store: Store | None = None) -> list[dict]:
    """Original articles matching `query`, best first, with `topics` decoded (on `store` when
    given: the web server's read-only connection)."""
    topic = config.topic_id(topic) if topic else None      # ids and labels; unknown: the nearest
    with (nullcontext(store) if store is not None else opened(config)) as store:
        if feed:                         # a feed of the config, or one gone from it but archived
            stored = [f.name for f in store.feeds()]
            if feed not in stored:
                try:
                    feed = config.feed_name(feed)
                except UsageError:
                    names = sorted(set(stored) | {f.name for f in config.feeds})
                    raise UsageError(f"no feed named {feed!r}{did_you_mean(feed, names)}; "
                                     "see `newsmon feeds list`") from None
        try:
            rows = store.search(query, raw=raw, topic=topic, feed=feed, since=since, until=until, limit=limit)
        except (sqlite3.OperationalError, *postgres.errors(), ValueError) as e:
            raise UsageError(f"bad search query {query!r}: {e}") from None
    return [{**r, "topics": json.loads(r["topics"])} for r in rows]


def one_line_snippet(text: str | None, bold: bool) -> str:
    """A search snippet on one line, its hits in the terminal's bold or unmarked."""
    from ..storage.search import HIT_END, HIT_START

    text = " ".join((text or "").split())
    if bold:
        return text.replace(HIT_START, "\x1b[1m").replace(HIT_END, "\x1b[22m")
    return text.replace(HIT_START, "").replace(HIT_END, "")


def hit_parts(text: str | None) -> list[str]:
    """A search snippet on one line, split at its hits: plain text at even places, hits at odd."""
    from ..storage.search import HIT_END, HIT_START

    return " ".join((text or "").split()).replace(HIT_END, HIT_START).split(HIT_START)


# what one search result is, to the CLI's --json and the web API alike
SEARCH_FIELDS = ("first_seen", "feed", "title", "url", "topics", "snippet", "rank")


def search_records(rows: list[dict]) -> list[dict]:
    """The records of a search as the CLI's --json and the web API give them: snippets on one
    line, unmarked."""
    return [{**{k: r[k] for k in SEARCH_FIELDS}, "snippet": one_line_snippet(r["snippet"], False)} for r in rows]


@contextmanager
def exported(config: Config, since: datetime | None, duplicates: bool) -> Iterator[Iterator[dict]]:
    """The stored articles, streamed (the store stays open while they are read)."""
    with opened(config) as store:
        yield store.export_rows(since, include_duplicates=duplicates)


def feed_titles(config: Config) -> dict[str, str]:
    """The feeds' own titles, as stored (for OPML export); none before the first run."""
    if not config.storage_url and not config.database.exists():
        return {}
    with opened(config) as store:
        return {f.name: f.title for f in store.feeds() if f.title}
