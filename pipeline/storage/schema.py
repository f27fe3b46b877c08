"""The schema: the contract between runs, with a comment on every column.

Every timestamp is UTC ISO-8601 text ("2026-11-23T07:00:00+00:00"), which sorts as time. A file
of an older version is migrated when opened (MIGRATIONS, in order; each step only adds).
"""

from __future__ import annotations

SCHEMA_VERSION = 16

# How a database of an older schema version is brought up to date, in order: (version, statements).
# Each step only adds; no stored article changes identity, so nothing is reported twice.
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (2, """
        ALTER TABLE feeds ADD COLUMN warning TEXT;
        ALTER TABLE run_feeds ADD COLUMN warning TEXT;
    """),                                # (the walls table is new in v2: SCHEMA creates it)
    (3, ""),                             # emails.recipient holds the bare, lower-cased address:
                                         # store.Store.open rewrites older rows (needs Python)
    (4, ""),                             # stories and profiles are new (SCHEMA creates them);
                                         # BACKFILL_STORIES makes a story of each stored group
    (5, ""),                             # messages is new (SCHEMA creates it)
    (6, ""),                             # the search index's insert trigger fires only for rows
                                         # inserted outside a run (INDEX_UNLESS_RUN, set by
                                         # Store.open); a run indexes its own in one statement
    (7, """
        ALTER TABLE articles ADD COLUMN backlog TEXT;
    """),                                # marks is new (SCHEMA creates it); Store.open sets the
                                         # alert pass's mark to the newest article (MARK_EXISTING):
                                         # what an older newsmon stored, its own rule evaluated
    (9, """
        ALTER TABLE articles ADD COLUMN image TEXT;
    """),                                # the lead image of each article (the digest's cards)
    (10, """
        ALTER TABLE articles ADD COLUMN text_dropped TEXT;
    """),                                # retention (storage/retention.py); the maintenance table
                                         # is new (SCHEMA creates it); a new file is made with
                                         # incremental auto-vacuum (Store.open)
    (11, ""),                            # `newsmon web`'s people: sessions, reads, stars,
                                         # saved_searches, visits, feed_keys are new (SCHEMA)
    (12, ""),                            # bands and bands_built are new (SCHEMA creates them); the
                                         # stored originals' bands are built in bounded batches by
                                         # the first run that needs the index, or `db maintain`
                                         # (app/diskindex.catch_up), not here: a large archive
                                         # would hold every command's start for minutes;
                                         # stories_follow_up is new (a prune deleting 20,000
                                         # stories scanned the table once for each)
    (13, ""),                            # story_edits is new (SCHEMA creates it): operators'
                                         # splits, moves and merges of stories
    (14, ""),                            # copy_progress is new (SCHEMA creates it): `newsmon db copy`
    (15, """
        ALTER TABLE articles ADD COLUMN language TEXT;
        ALTER TABLE articles ADD COLUMN grouping TEXT;
    """),                                # the web reader's language filter and "why grouped"; the
                                         # index on messages.key is new (SCHEMA creates it: a story
                                         # page's alerts; its follow-ups use v12's stories_follow_up)
    (16, """
        ALTER TABLE feeds ADD COLUMN claimed_by TEXT;
        ALTER TABLE feeds ADD COLUMN claimed_until TEXT;
    """),                                # feed claims of PostgreSQL's workers (app/claims.py)
)

# Schema 7: the alert pass starts after what an older newsmon stored (it evaluated those itself).
MARK_EXISTING = """
INSERT OR IGNORE INTO marks (name, rowid_upto, at)
SELECT 'alerts', coalesce(max(rowid), 0), strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now') FROM articles
"""

# Schema 6: the full-text index's insert trigger, for rows without a run (by hand, another tool).
INDEX_UNLESS_RUN = """
CREATE TRIGGER articles_ai AFTER INSERT ON articles WHEN new.run_id IS NULL BEGIN
    INSERT INTO articles_fts (rowid, title, text) VALUES (new.rowid, new.title, new.text);
END"""

# Schema 4: every group of original articles sharing a story_id becomes a row of `stories`.
BACKFILL_STORIES = """
INSERT OR IGNORE INTO stories (id, first_seen, last_seen, lead, title, reports, outlets, topics)
SELECT a.story_id, min(a.first_seen), max(a.first_seen), a.story_id,
       coalesce((SELECT l.title FROM articles l WHERE l.id = a.story_id), max(a.title)),
       count(*), count(DISTINCT a.feed),
       (SELECT json_group_array(DISTINCT t.value) FROM articles b, json_each(b.topics) t
         WHERE b.story_id = a.story_id AND b.duplicate_of IS NULL)
FROM articles a WHERE a.duplicate_of IS NULL AND a.story_id IS NOT NULL GROUP BY a.story_id;
"""

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
    warning              TEXT,               -- read with a problem at its last check: ill-formed
                                             -- XML/JSON, items skipped, a consent or bot wall (v2)
    claimed_by           TEXT,               -- the worker checking it now (PostgreSQL, v16):
                                             -- "host:pid:nonce"; NULL = nobody
    claimed_until        TEXT                -- its claim's lease ends then: another worker may take
                                             -- it over (the first died); NULL = unclaimed (v16)
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
    story_id        TEXT,                    -- the story it belongs to (stories.id): its own id
                                             -- when it started one
    similarity      REAL,                    -- shingle Jaccard to what it duplicates/groups with
    topics          TEXT NOT NULL DEFAULT '[]',  -- JSON array of topic ids
    backlog         TEXT,                    -- stored but not news (v7): 'first' (its feed's first
                                             -- reading) | 'old' (published more than [fetch]
                                             -- max_age_days before it was stored); NULL = news
    image           TEXT,                    -- lead image, an absolute http(s) URL (v9): the feed's
                                             -- media:thumbnail/content or enclosure, else og:image
    text_dropped    TEXT,                    -- when retention emptied `text` ([storage] keep_text_days);
                                             -- NULL = the full text is kept (v10)
    language        TEXT,                    -- primary language subtag, lower case ("en", "de"), as
                                             -- the item, its feed or its page declares it; NULL =
                                             -- none declared (v15)
    grouping        TEXT,                    -- why it joined its story, as the story stage decided
                                             -- (JSON: the report it was paired with, the model's
                                             -- pair features and scores); NULL = it started its
                                             -- story, or was stored before v15 (v15)
    run_id          INTEGER                  -- the run that stored it (NULL: written outside a run);
                                             -- last, so that a test can drop any column above it
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
CREATE TABLE IF NOT EXISTS stories (         -- the reports of one event (v4; stages/stories.py forms them)
    id           TEXT PRIMARY KEY,           -- the id of the article that started it
    first_seen   TEXT NOT NULL,              -- when its first report was stored
    last_seen    TEXT NOT NULL,              -- when its latest report was stored
    lead         TEXT NOT NULL,              -- article id of its best report: the earliest full
                                             -- text, or the longest (stories.best_report)
    title        TEXT NOT NULL,              -- the lead's title
    reports      INTEGER NOT NULL,           -- original articles in it (same-day copies included)
    outlets      INTEGER NOT NULL,           -- distinct feeds among them
    topics       TEXT NOT NULL DEFAULT '[]', -- JSON array: every topic any report is flagged under
    follow_up_of TEXT                        -- the earlier story it develops; NULL if none
);
CREATE INDEX IF NOT EXISTS stories_last_seen ON stories (last_seen);
CREATE INDEX IF NOT EXISTS stories_follow_up ON stories (follow_up_of);  -- (v12) a pruned story's
                                             -- follow-ups lose the link: a scan of all stories each
CREATE TABLE IF NOT EXISTS messages (        -- chat messages to channels, exactly once each (v5)
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL,               -- [[channels]] name
    kind        TEXT NOT NULL,               -- alert | update | spike | surge | digest | batch
    key         TEXT NOT NULL,               -- what it is about: story id, topic and hour, day
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,               -- the exact text, so a retry sends the same message
    status      TEXT NOT NULL,               -- pending | sent | failed (permanent) | batched (went out
                                             -- inside a batch message) | superseded (a batch
                                             -- replaced by one carrying more alerts) |
                                             -- skipped (a digest of a day without stories)
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try    TEXT,                        -- a failed attempt is retried from then (backoff)
    last_error  TEXT,
    created     TEXT NOT NULL,
    sent_at     TEXT,
    UNIQUE (channel, kind, key)              -- the identity: stored before sending, so never twice
);
CREATE INDEX IF NOT EXISTS messages_status ON messages (status, channel);
CREATE INDEX IF NOT EXISTS messages_key ON messages (key);                     -- v15: a story's alerts
CREATE TABLE IF NOT EXISTS marks (           -- how far a pass over the articles has got (v7)
    name       TEXT PRIMARY KEY,             -- the pass: 'alerts'
    rowid_upto INTEGER NOT NULL,             -- articles with rowid <= this were evaluated by it
    at         TEXT NOT NULL                 -- when it last advanced
);
CREATE TABLE IF NOT EXISTS profiles (        -- what the story stage compares, per original (v4)
    article_id TEXT PRIMARY KEY,
    version    TEXT NOT NULL,                -- stories.PROFILE_VERSION; another is recomputed
    data       TEXT NOT NULL                 -- JSON: stories.Profile.to_json()
);
CREATE TABLE IF NOT EXISTS signatures (
    key     TEXT PRIMARY KEY,                -- article id, or seeds/<file>
    version TEXT NOT NULL,                   -- how it was computed; another version is recomputed
    minhash BLOB                             -- NUM_PERM little-endian uint32; NULL for short texts
);
CREATE TABLE IF NOT EXISTS bands (          -- the near-duplicate index on disk (v12; storage/bands.py)
    key     INTEGER NOT NULL,                -- one band's key (stages/dedup.band_keys, as signed 64 bits)
    band    INTEGER NOT NULL,                -- which of the signature's BANDS
    article INTEGER NOT NULL,                -- articles.rowid of an original with a signature
    PRIMARY KEY (key, band, article)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bands_built (    -- how far `bands` is built (v12): one row
    version    TEXT NOT NULL,                -- the signature version its keys come from
    rowid_upto INTEGER NOT NULL              -- every article with rowid <= this has its rows
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
    recipient    TEXT NOT NULL,              -- the bare address, lower-cased (options.address_key, v3)
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
CREATE TABLE IF NOT EXISTS maintenance (      -- each `db maintain`, by hand, timer or daemon (v10)
    id               INTEGER PRIMARY KEY,
    started          TEXT NOT NULL,
    finished         TEXT NOT NULL,
    texts_dropped    INTEGER NOT NULL,       -- retention: articles slimmed to their title
    articles_deleted INTEGER NOT NULL,       -- retention: articles removed whole
    size_before      INTEGER NOT NULL,       -- database + WAL, bytes
    size_after       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (       -- `newsmon web` sign-ins (v11); users are in the config
    token_hash TEXT PRIMARY KEY,             -- sha256 of the cookie's random token (never the token)
    user       TEXT NOT NULL,                -- [[web.users]] name, or a trusted proxy's user
    csrf       TEXT NOT NULL,                -- the synchronizer token every form of the session carries
    credential TEXT NOT NULL,                -- sha256 of the password hash it signed in with (a new
                                             -- password ends it); '' = made for a trusted proxy's user
    created    TEXT NOT NULL,
    expires    TEXT NOT NULL                 -- after this the cookie is refused and the row deleted
);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires);
CREATE TABLE IF NOT EXISTS reads (          -- stories a user marked read (v11)
    user     TEXT NOT NULL,
    story_id TEXT NOT NULL,
    at       TEXT NOT NULL,
    PRIMARY KEY (user, story_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stars (          -- stories a user starred (v11)
    user     TEXT NOT NULL,
    story_id TEXT NOT NULL,
    at       TEXT NOT NULL,
    PRIMARY KEY (user, story_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS saved_searches ( -- a user's searches, each also an Atom feed (v11)
    id      INTEGER PRIMARY KEY,
    user    TEXT NOT NULL,
    name    TEXT NOT NULL,
    query   TEXT NOT NULL,                   -- FTS5 words, as typed
    filters TEXT NOT NULL DEFAULT '{}',      -- JSON: topic, feed, since, until (those given)
    created TEXT NOT NULL,
    UNIQUE (user, name)
);
CREATE TABLE IF NOT EXISTS visits (         -- "new since your last visit" (v11)
    user     TEXT PRIMARY KEY,
    previous TEXT,                           -- when the visit before this one ended; NULL: first
    latest   TEXT NOT NULL                   -- the latest page view of this visit
);
CREATE TABLE IF NOT EXISTS feed_keys (      -- a user's private key in feed URLs (readers cannot sign in) (v11)
    user TEXT PRIMARY KEY,
    key  TEXT NOT NULL UNIQUE,               -- random; a new one revokes the old URLs
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS story_edits (     -- an operator's corrections of stories (v13), in order
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,                -- when it was made
    kind       TEXT NOT NULL CHECK (kind IN ('split', 'move', 'merge')),
    article_id TEXT NOT NULL,                -- the report it placed (a merge: one row per report moved)
    story_from TEXT NOT NULL,                -- the story it was in
    story_to   TEXT NOT NULL                 -- the story it is pinned to (split: a story of its own);
                                             -- with story_from, a pair never linked again (split, move)
);
CREATE INDEX IF NOT EXISTS story_edits_article ON story_edits (article_id);
CREATE INDEX IF NOT EXISTS story_edits_to ON story_edits (story_to);
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
CREATE TABLE IF NOT EXISTS copy_progress (   -- `newsmon db copy` INTO this database, per table (v14);
                                             -- never copied itself (storage/copying.py)
    name     TEXT PRIMARY KEY,               -- the table copied, or 'search index' (rebuilt last)
    source   TEXT NOT NULL,                  -- the database copied from: its path, or URL without password
    last_key TEXT,                           -- JSON: the key of the last row copied, in the source's
                                             -- key order; NULL = none yet
    copied   INTEGER NOT NULL DEFAULT 0,     -- rows copied so far
    done     TEXT                            -- when the table was finished; NULL = not yet
);
"""
