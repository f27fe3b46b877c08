"""SQLite storage: the schema is the contract between runs.

WAL mode so readers (digest, status, sqlite3 CLI) never block a run; a 15 s busy timeout; write
transactions start with BEGIN IMMEDIATE so two writers queue instead of failing half-way; one
transaction per feed, so a crash loses at most the feed in progress and leaves no partial rows.
Every timestamp is UTC ISO-8601 text ("2026-11-23T07:00:00+00:00"), which sorts as time.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

import sqlite_utils

from ..errors import StoreError
from ..records import Article, FeedChange, FeedOutcome, FeedState
from ..sanitize import one_line

SCHEMA_VERSION = 2

# How a database of an older schema version is brought up to date, in order: (version, statements).
# Each step only adds; no stored article changes identity, so nothing is reported twice.
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (2, """
        ALTER TABLE feeds ADD COLUMN warning TEXT;
        ALTER TABLE run_feeds ADD COLUMN warning TEXT;
    """),                                # (the walls table is new in v2: SCHEMA creates it)
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    name                 TEXT PRIMARY KEY,   -- from config
    url                  TEXT NOT NULL,      -- current URL (updated by a permanent redirect)
    configured_url       TEXT NOT NULL,      -- URL as written in the config
    title                TEXT,               -- the feed's own title
    etag                 TEXT,               -- validators for conditional GET
    last_modified        TEXT,
    status               TEXT,               -- ok | not_modified | error; NULL before first check
    last_error           TEXT,
    error_since          TEXT,               -- first failure of the current failing streak
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_checked         TEXT,
    last_success         TEXT,
    last_new_item        TEXT,
    first_checked        TEXT,
    next_due             TEXT,               -- when the feed is checked next (backoff included)
    disabled             TEXT,               -- why newsmon stopped fetching it (410 Gone); NULL = active
    items_seen           INTEGER NOT NULL DEFAULT 0,
    warning              TEXT                -- read with a problem at its last check: ill-formed
                                             -- XML/JSON, items skipped, a consent or bot wall (v2)
);
CREATE TABLE IF NOT EXISTS walls (         -- consent or bot walls seen (v2): one text, many URLs
    host        TEXT NOT NULL,
    fingerprint TEXT NOT NULL,               -- of the wall's extracted text
    last_seen   TEXT NOT NULL,
    PRIMARY KEY (host, fingerprint)
);
CREATE TABLE IF NOT EXISTS feed_events (
    id     INTEGER PRIMARY KEY,
    feed   TEXT NOT NULL,
    at     TEXT NOT NULL,
    kind   TEXT NOT NULL,                    -- moved | gone | failing | recovered
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feed_events_at ON feed_events (at);
CREATE TABLE IF NOT EXISTS articles (
    id              TEXT PRIMARY KEY,        -- sha1 of identity
    identity        TEXT NOT NULL UNIQUE,    -- guid:<feed>:<guid> | url:<canonical> | hash:<sha256>
    feed            TEXT NOT NULL,
    guid            TEXT,
    url             TEXT,                    -- final URL after redirects
    canonical_url   TEXT,                    -- without tracking parameters
    title           TEXT NOT NULL,
    published       TEXT,                    -- as the feed says, NULL when missing or impossible
    first_seen      TEXT NOT NULL,           -- when newsmon stored it: decides its digest day
    text            TEXT NOT NULL,           -- cleaned full text
    text_source     TEXT NOT NULL CHECK (text_source IN ('page', 'feed')),
    extraction_note TEXT,                    -- why the page text was not used
    fingerprint     TEXT NOT NULL,           -- sha256 of the normalised text
    duplicate_of    TEXT,                    -- seeds/<file> or an article URL; NULL = original
    story_id        TEXT,                    -- the story it belongs to: its own id, or that of a
                                             -- same-day article it nearly duplicates
    similarity      REAL,                    -- shingle Jaccard to what it duplicates/groups with
    topics          TEXT NOT NULL DEFAULT '[]',  -- JSON array of topic ids
    run_id          INTEGER
);
CREATE INDEX IF NOT EXISTS articles_first_seen ON articles (first_seen);
CREATE INDEX IF NOT EXISTS articles_canonical_url ON articles (canonical_url);
CREATE INDEX IF NOT EXISTS articles_fingerprint ON articles (fingerprint);
CREATE TABLE IF NOT EXISTS matches (
    article_id TEXT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    topic      TEXT NOT NULL,
    term       TEXT NOT NULL,                -- the rule's term or pattern
    field      TEXT NOT NULL CHECK (field IN ('title', 'text')),
    start      INTEGER NOT NULL,
    "end"      INTEGER NOT NULL,
    matched    TEXT NOT NULL,                -- the words as written
    sentence   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS matches_article ON matches (article_id);
CREATE INDEX IF NOT EXISTS matches_topic ON matches (topic);
CREATE INDEX IF NOT EXISTS articles_story ON articles (story_id);
CREATE TABLE IF NOT EXISTS signatures (
    key     TEXT PRIMARY KEY,                -- article id, or seeds/<file>
    version TEXT NOT NULL,                   -- how it was computed; another version is recomputed
    minhash BLOB                             -- NUM_PERM little-endian uint32; NULL for short texts
);
CREATE TABLE IF NOT EXISTS seeds (
    path        TEXT PRIMARY KEY,            -- seeds/<file>
    fingerprint TEXT NOT NULL,
    text        TEXT NOT NULL,
    loaded      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id           INTEGER PRIMARY KEY,
    started      TEXT NOT NULL,
    finished     TEXT,
    status       TEXT NOT NULL,              -- running | ok | failed | interrupted (killed, or stopped
                                             -- by a signal)
    feeds_ok     INTEGER NOT NULL DEFAULT 0,
    feeds_failed INTEGER NOT NULL DEFAULT 0,
    new_articles INTEGER NOT NULL DEFAULT 0,
    duplicates   INTEGER NOT NULL DEFAULT 0,
    error        TEXT
);
CREATE TABLE IF NOT EXISTS emails (
    id           INTEGER PRIMARY KEY,
    digest_date  TEXT NOT NULL,              -- the day it is sent for (digest zone)
    recipient    TEXT NOT NULL,
    message_id   TEXT NOT NULL UNIQUE,
    period_start TEXT NOT NULL,              -- UTC, for people: when its period began and ended
    period_end   TEXT NOT NULL,
    rowid_after  INTEGER NOT NULL,           -- the exact cut: articles with rowid_after < rowid
    rowid_upto   INTEGER NOT NULL,           --   <= rowid_upto (rowids only grow), no time ties
    status       TEXT NOT NULL,              -- pending | sent | failed | skipped | superseded
    late         INTEGER NOT NULL DEFAULT 0, -- covers a gap after downtime
    articles     INTEGER NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    data_started INTEGER NOT NULL DEFAULT 0, -- 1 once the message was handed to the server (may be delivered)
    last_error   TEXT,
    created      TEXT NOT NULL,
    sent_at      TEXT,
    message      BLOB NOT NULL,              -- the exact bytes, so a retry sends the same message
    UNIQUE (digest_date, recipient)
);
CREATE TABLE IF NOT EXISTS run_feeds (
    run_id              INTEGER NOT NULL REFERENCES runs (id),
    feed                TEXT NOT NULL,
    status              TEXT NOT NULL,
    error               TEXT,
    new                 INTEGER NOT NULL DEFAULT 0,
    duplicates          INTEGER NOT NULL DEFAULT 0,
    extraction_failures INTEGER NOT NULL DEFAULT 0,
    warning             TEXT,                -- as feeds.warning, for this run (v2)
    PRIMARY KEY (run_id, feed)
);
"""


def article_id(identity: str) -> str:
    return hashlib.sha1(identity.encode("utf-8")).hexdigest()


def iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat(timespec="seconds")


def parse_time(value: str | None) -> datetime | None:
    """A stored timestamp back as an aware datetime."""
    return datetime.fromisoformat(value) if value else None


class Store:
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

    # --- runs

    def start_run(self, started: datetime) -> int:
        """A new run row. Runs hold the lock, so any other "running" row is one that was killed."""
        with self.transaction():
            self.db.execute("UPDATE runs SET status = 'interrupted', "
                            "error = 'the process was killed or crashed before the run finished' "
                            "WHERE status = 'running'")
            return self.db["runs"].insert({"started": iso(started), "status": "running"}).last_pk

    def finish_run(self, run_id: int, finished: datetime, outcomes: tuple[FeedOutcome, ...],
                   error: str | None = None, status: str | None = None) -> None:
        with self.transaction():
            self.db["runs"].update(run_id, {
                "finished": iso(finished),
                "status": status or ("failed" if error else "ok"),
                "feeds_ok": sum(o.status != "error" for o in outcomes),
                "feeds_failed": sum(o.status == "error" for o in outcomes),
                "new_articles": sum(o.new - o.duplicates for o in outcomes),
                "duplicates": sum(o.duplicates for o in outcomes),
                "error": error,
            })

    # --- seeds

    def upsert_seeds(self, seeds: list[tuple[str, str, str]], now: datetime) -> None:
        """(path, fingerprint, text) rows; idempotent, so every run can call it."""
        with self.transaction():
            existing = {r["path"]: r["fingerprint"] for r in self.db.query("SELECT path, fingerprint FROM seeds")}
            rows = [{"path": p, "fingerprint": f, "text": t, "loaded": iso(now)}
                    for p, f, t in seeds if existing.get(p) != f]
            if rows:
                self.db["seeds"].upsert_all(rows, pk="path")

    def index_rows(self) -> Iterator[dict]:
        """Seeds, then original articles oldest first, with their stored signatures."""
        yield from self.db.query(
            "SELECT s.path AS key, s.path AS ref, 'seed' AS kind, NULL AS first_seen, NULL AS story_id, "
            "s.fingerprint, g.version, g.minhash FROM seeds s LEFT JOIN signatures g ON g.key = s.path "
            "ORDER BY s.path")
        yield from self.db.query(
            "SELECT a.id AS key, coalesce(a.url, a.identity) AS ref, 'article' AS kind, a.first_seen, "
            "coalesce(a.story_id, a.id) AS story_id, a.fingerprint, g.version, g.minhash "
            "FROM articles a LEFT JOIN signatures g ON g.key = a.id "
            "WHERE a.duplicate_of IS NULL ORDER BY a.first_seen, a.id")

    def save_signatures(self, rows: list[tuple[str, str, bytes | None]]) -> None:
        """(key, version, minhash) rows; call inside a transaction."""
        self.db.conn.executemany("INSERT OR REPLACE INTO signatures (key, version, minhash) VALUES (?, ?, ?)", rows)

    def text_of(self, key: str) -> str | None:
        table, column = ("seeds", "path") if key.startswith("seeds/") else ("articles", "id")
        row = self.db.execute(f"SELECT text FROM {table} WHERE {column} = ?", [key]).fetchone()
        return row[0] if row else None

    # --- feeds

    _FEED_TIMES = ("error_since", "last_checked", "last_success", "last_new_item", "first_checked", "next_due")

    def _feed(self, row: dict) -> FeedState:
        values = {k: row[k] for k in FeedState.__dataclass_fields__ if k in row}
        for k in self._FEED_TIMES:
            values[k] = parse_time(values.get(k))
        values["consecutive_failures"] = values.get("consecutive_failures") or 0
        values["items_seen"] = values.get("items_seen") or 0
        return FeedState(**values)

    def feed_state(self, name: str) -> FeedState | None:
        rows = list(self.db.query("SELECT * FROM feeds WHERE name = ?", [name]))
        return self._feed(rows[0]) if rows else None

    def feeds(self) -> list[FeedState]:
        return [self._feed(r) for r in self.db.query("SELECT * FROM feeds ORDER BY name")]

    def ensure_feed(self, name: str, url: str) -> FeedState:
        """The stored state of a configured feed; a changed config URL starts it afresh
        (validators, redirect, 410 and failure streak forgotten)."""
        state = self.feed_state(name)
        if state is None or state.configured_url != url:
            with self.transaction():
                self.db["feeds"].upsert({"name": name, "url": url, "configured_url": url,
                                         "etag": None, "last_modified": None, "disabled": None,
                                         "next_due": None, "consecutive_failures": 0,
                                         "error_since": None}, pk="name")
            state = self.feed_state(name)
        return state

    def add_event(self, feed: str, at: datetime, kind: str, detail: str) -> None:
        self.db["feed_events"].insert({"feed": feed, "at": iso(at), "kind": kind, "detail": detail})

    def events_between(self, start: datetime, end: datetime) -> list[dict]:
        return list(self.db.query("SELECT * FROM feed_events WHERE at >= ? AND at < ? ORDER BY at, id",
                                  [iso(start), iso(end)]))

    def known(self, identities: list[str], canonicals: list[str]) -> set[str]:
        """Which of these identities and canonical URLs are stored: one query for a whole feed."""
        found: set[str] = set()
        for column, values in (("identity", identities), ("canonical_url", canonicals)):
            for start in range(0, len(values), 500):
                part = values[start:start + 500]
                marks = ",".join("?" * len(part))
                found.update(r[0] for r in self.db.execute(
                    f"SELECT {column} FROM articles WHERE {column} IN ({marks})", part))
        return found

    def titles_of(self, identities: list[str]) -> dict[str, str]:
        """identity -> title of the stored articles among these identities."""
        out: dict[str, str] = {}
        for start in range(0, len(identities), 500):
            part = identities[start:start + 500]
            marks = ",".join("?" * len(part))
            out.update(self.db.execute(f"SELECT identity, title FROM articles WHERE identity IN ({marks})", part))
        return out

    def save_feed(self, run_id: int, outcome: FeedOutcome, change: FeedChange, now: datetime) -> None:
        """Persist one check (health.transition's change), its events and the per-run row.
        Call inside the feed's transaction. What servers said is sanitised at this edge too."""
        state = change.state
        columns = [f for f in FeedState.__dataclass_fields__ if f != "name"]
        values = [iso(getattr(state, c)) if c in self._FEED_TIMES else getattr(state, c) for c in columns]
        values = [one_line(v) if isinstance(v, str) and c in ("title", "last_error", "warning", "url") else v
                  for c, v in zip(columns, values)]
        self.db.execute(f"UPDATE feeds SET {', '.join(f'{c} = ?' for c in columns)} WHERE name = ?",
                        values + [state.name])
        for event in change.events:
            self.add_event(state.name, now, event.kind, one_line(event.detail))
        self.db.execute(
            "INSERT OR REPLACE INTO run_feeds (run_id, feed, status, error, new, duplicates, extraction_failures, "
            "warning) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, outcome.name, outcome.status, outcome.error and one_line(outcome.error), outcome.new,
             outcome.duplicates, outcome.extraction_failures, outcome.warning and one_line(outcome.warning)])

    def page_urls_by_fingerprint(self, fingerprints: set[str], since: datetime) -> list[tuple[str, str]]:
        """(fingerprint, canonical URL) of articles stored since `since` with a page text of one of
        these fingerprints: what tells a consent or bot wall from an article."""
        values, out = sorted(fingerprints), []
        for start in range(0, len(values), 500):
            part = values[start:start + 500]
            marks = ",".join("?" * len(part))
            out.extend(self.db.execute(
                f"SELECT fingerprint, coalesce(canonical_url, url) FROM articles WHERE fingerprint IN ({marks}) "
                "AND text_source = 'page' AND first_seen >= ?", part + [iso(since)]).fetchall())
        return [(fp, url) for fp, url in out if url]

    def known_walls(self, keys: set[tuple[str, str]], since: datetime) -> set[tuple[str, str]]:
        """Which (host, fingerprint) pairs were found to be walls since `since`."""
        rows = self.db.execute("SELECT host, fingerprint FROM walls WHERE last_seen >= ?", [iso(since)])
        return {(h, f) for h, f in rows} & keys

    def remember_walls(self, keys: set[tuple[str, str]], now: datetime) -> None:
        """Call inside a transaction."""
        self.db.conn.executemany(
            "INSERT INTO walls (host, fingerprint, last_seen) VALUES (?, ?, ?) "
            "ON CONFLICT (host, fingerprint) DO UPDATE SET last_seen = excluded.last_seen",
            [(h, f, iso(now)) for h, f in keys])

    # --- articles

    _ARTICLE_COLUMNS = ("id", "identity", "feed", "guid", "url", "canonical_url", "title", "published",
                        "first_seen", "text", "text_source", "extraction_note", "fingerprint", "duplicate_of",
                        "story_id", "similarity", "topics", "run_id")
    _INSERT_ARTICLE = (f"INSERT OR IGNORE INTO articles ({', '.join(_ARTICLE_COLUMNS)}) "
                       f"VALUES ({', '.join('?' * len(_ARTICLE_COLUMNS))})")

    def insert_article(self, article: Article, first_seen: datetime, run_id: int,
                       signature: tuple[str, bytes | None] | None = None) -> bool:
        """Insert once; False when its identity is already stored (a rerun is harmless).

        Plain SQL here rather than sqlite-utils' insert: this is the hot path of a run, and
        the table's shape is fixed by SCHEMA above."""
        aid = article_id(article.identity)
        cursor = self.db.conn.execute(self._INSERT_ARTICLE, (
            aid, article.identity, article.feed, article.guid, article.url, article.canonical_url,
            article.title, iso(article.published), iso(first_seen), article.text, article.text_source,
            article.extraction_note, article.fingerprint, article.duplicate_of,
            None if article.duplicate_of else (article.story_id or aid), article.similarity,
            json.dumps(list(article.topics)), run_id))
        if cursor.rowcount == 0:
            return False
        if signature is not None and article.duplicate_of is None:
            self.save_signatures([(aid, signature[0], signature[1])])
        self._insert_matches(aid, article.matches)
        return True

    # --- reading, for the digest and status

    def articles_between(self, start: datetime, end: datetime) -> list[dict]:
        return list(self.db.query(
            "SELECT * FROM articles WHERE first_seen >= ? AND first_seen < ? ORDER BY first_seen, id",
            [iso(start), iso(end)]))

    def articles_by_rowid(self, after: int, upto: int) -> list[dict]:
        return list(self.db.query(
            "SELECT * FROM articles WHERE rowid > ? AND rowid <= ? ORDER BY first_seen, id", [after, upto]))

    def last_rowid(self, before: datetime | None = None) -> int:
        """The highest article rowid (stored before `before`, when given); 0 for none."""
        if before is None:
            row = self.db.execute("SELECT max(rowid) FROM articles").fetchone()
        else:
            row = self.db.execute("SELECT max(rowid) FROM articles WHERE first_seen < ?", [iso(before)]).fetchone()
        return row[0] or 0

    def matches_for(self, ids: list[str]) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {i: [] for i in ids}
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            marks = ",".join("?" * len(part))
            for r in self.db.query(f'SELECT * FROM matches WHERE article_id IN ({marks}) '
                                   f'ORDER BY article_id, field DESC, start', part):
                out[r["article_id"]].append(r)
        return out

    def topic_counts(self, start: datetime, end: datetime) -> dict[str, int]:
        rows = self.db.query(
            "SELECT m.topic, count(DISTINCT a.id) AS n FROM articles a JOIN matches m ON m.article_id = a.id "
            "WHERE a.first_seen >= ? AND a.first_seen < ? AND a.duplicate_of IS NULL GROUP BY m.topic",
            [iso(start), iso(end)])
        return {r["topic"]: r["n"] for r in rows}

    def originals_since(self, start: datetime) -> Iterator[dict]:
        yield from self.db.query(
            "SELECT id, url, title, text, topics, first_seen FROM articles "
            "WHERE first_seen >= ? AND duplicate_of IS NULL ORDER BY first_seen", [iso(start)])

    def replace_matches(self, aid: str, matches) -> None:
        """New topic matches for a stored article; call inside a transaction."""
        self.db.execute("DELETE FROM matches WHERE article_id = ?", [aid])
        self._insert_matches(aid, matches)
        topics = list(dict.fromkeys(m.topic for m in matches))
        self.db.execute("UPDATE articles SET topics = ? WHERE id = ?", [json.dumps(topics), aid])

    def _insert_matches(self, aid: str, matches) -> None:
        self.db.conn.executemany(
            'INSERT INTO matches (article_id, topic, term, field, start, "end", matched, sentence) '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(aid, m.topic, m.term, m.field, m.start, m.end, m.matched, m.sentence) for m in matches])

    # --- emails

    def emails_for(self, recipient: str) -> list[dict]:
        return list(self.db.query("SELECT * FROM emails WHERE recipient = ? ORDER BY digest_date, id",
                                  [recipient]))

    def add_email(self, row: dict) -> int:
        with self.transaction():
            return self.db["emails"].insert(row).last_pk

    def update_email(self, email_id: int, **fields) -> None:
        with self.transaction():
            self.db["emails"].update(email_id, fields)

    def sends(self, limit: int = 50) -> list[dict]:
        return list(self.db.query(
            "SELECT digest_date, recipient, status, late, articles, attempts, last_error AS error, sent_at, "
            "message_id FROM emails ORDER BY digest_date DESC, id DESC LIMIT ?", [limit]))

    # --- archive: search and export

    def search(self, query: str, *, raw: bool = False, topic: str | None = None, feed: str | None = None,
               since: datetime | None = None, limit: int = 20) -> list[dict]:
        """Original articles matching an FTS5 query, best first (bm25, title weighted 5x).

        Without `raw`, each word is quoted, so punctuation in what an operator types ("NATO-led",
        "U.S.") is searched for, not read as query syntax.
        """
        match = query if raw else self.db.quote_fts(query)
        where, args = ["articles_fts MATCH ?", "a.duplicate_of IS NULL"], [match]
        if since is not None:
            where.append("a.first_seen >= ?")
            args.append(iso(since))
        if feed:
            where.append("a.feed = ?")
            args.append(feed)
        if topic:
            where.append("EXISTS (SELECT 1 FROM matches m WHERE m.article_id = a.id AND m.topic = ?)")
            args.append(topic)
        sql = ("SELECT a.id, a.first_seen, a.published, a.feed, a.title, a.url, a.topics, "
               "snippet(articles_fts, 1, '**', '**', '…', 20) AS snippet, "
               "bm25(articles_fts, 5.0, 1.0) AS rank "
               "FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid "
               f"WHERE {' AND '.join(where)} ORDER BY rank LIMIT ?")
        return list(self.db.query(sql, args + [limit]))

    def export_rows(self, since: datetime | None = None, include_duplicates: bool = False) -> Iterator[dict]:
        where = ["first_seen >= ?"] if since else []
        if not include_duplicates:
            where.append("duplicate_of IS NULL")
        sql = ("SELECT id, first_seen, published, feed, title, url, topics, duplicate_of, story_id, similarity, "
               "text_source, extraction_note, text FROM articles"
               + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY first_seen, id")
        yield from self.db.query(sql, [iso(since)] if since else [])

    def recent_runs(self, limit: int = 10) -> list[dict]:
        return list(self.db.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit]))


