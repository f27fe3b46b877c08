"""Frozen records that cross stage boundaries.

No feedparser dict, aiohttp response or trafilatura object leaves the module that produced it:
each stage takes and returns these. All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Mapping


@dataclass(frozen=True, slots=True)
class Response:
    """What fetch.py hands over: bytes and headers, never a live connection."""

    url: str                              # final URL, after redirects
    status: int                           # 200 or 304
    headers: Mapping[str, str]            # lower-cased header names
    body: bytes                           # decoded (no content-encoding), capped
    moved_to: str | None = None           # set when a 301/308 moved the resource permanently


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed, as plain text and safe links."""

    feed: str                             # feed name from config
    guid: str | None                      # the feed's id/guid, when it has one
    link: str | None                      # http(s) link to the article page, or None
    title: str                            # plain text, no markup
    published: datetime | None            # UTC; None when missing or impossible
    content_html: str                     # the feed's own content or summary (sanitised HTML)
    authors: tuple[str, ...] = ()         # names, as the feed gives them
    image: str | None = None              # its lead image: media:thumbnail, media:content or an image
                                          # enclosure, an absolute http(s) URL (urls.http_url)
    language: str | None = None           # as the item (xml:lang) or its feed (<language>) declares it:
                                          # the primary subtag, lower case (parse.language_code)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str                            # the feed's own title
    entries: tuple[FeedEntry, ...]
    warning: str | None                   # what was wrong but read anyway: ill-formed XML/JSON (where,
                                          # how many items), a repaired encoding, items skipped


@dataclass(frozen=True, slots=True)
class Match:
    """One topic hit, with enough context to show and explain it."""

    topic: str                            # topic id, e.g. "nato"
    term: str                             # the configured term or pattern that matched
    field: Literal["title", "text"]       # where it matched
    start: int                            # character offsets in that field
    end: int
    matched: str                          # the words as written in the text ("cease fire")
    sentence: str                         # the sentence around the match, whitespace folded


@dataclass(frozen=True, slots=True)
class Article:
    """The record that flows extract -> clean -> dedup -> flag -> store.

    Each stage returns a copy with its own fields filled (dataclasses.replace).
    """

    identity: str                         # "guid:…", "url:…" or "hash:…" (see dedup.identity_of)
    feed: str                             # feed name
    guid: str | None
    url: str | None                       # final article URL after redirects, or the entry link
    canonical_url: str | None             # url without tracking parameters and fragment
    title: str
    published: datetime | None            # UTC
    text: str                             # cleaned full text
    text_source: Literal["page", "feed"]  # where the text came from
    extraction_note: str | None = None    # why the page text was not used, when it was not
    fingerprint: str = ""                 # sha256 of the normalised text (exact-duplicate key)
    minhash: bytes | None = None          # near-duplicate signature (dedup.signature), None if short
    duplicate_of: str | None = None       # "seeds/<file>" or an earlier article's URL: left out
    story_id: str | None = None           # id of a same-day article telling the same story
    similarity: float | None = None       # to what it duplicates or groups with (1.0 = identical)
    matches: tuple[Match, ...] = ()
    profile: object | None = None         # stories.Profile: what the story stage compares
    image: str | None = None              # lead image: the feed's, else the page's og:image (absolute
                                          # http(s) only)
    follow_up_of: str | None = None       # the earlier story this one develops (set by the story stage)
    backlog: str | None = None            # stored but not news: "first" (its feed's first reading) or
                                          # "old" (published more than [fetch] max_age_days earlier)
    language: str | None = None           # declared by the item or its feed, else by its page's <html lang>
    grouping: dict | None = None          # why it joined its story (StoryDesk.place): stored as JSON

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.topic for m in self.matches))


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """What happened to one feed in one run; failures are values, not exceptions."""

    name: str
    url: str                              # the URL fetched (after a permanent redirect: the new one)
    status: Literal["ok", "not_modified", "error"]
    error: str | None = None
    new: int = 0                          # new articles stored (duplicates included)
    duplicates: int = 0
    extraction_failures: int = 0          # articles that fell back to the feed's own text
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None
    retry_after: float | None = None
    title: str | None = None
    http_status: int | None = None       # for errors that came with an HTTP status (410 disables)
    warning: str | None = None           # an "ok" feed with something wrong: ill-formed, items skipped,
                                         # a consent or bot wall; shown in the digest and status


@dataclass(frozen=True, slots=True)
class RunReport:
    run_id: int
    started: datetime
    finished: datetime
    feeds: tuple[FeedOutcome, ...]
    digest_files: tuple[str, ...] = field(default=())
    stopped: bool = False                 # a stop (SIGTERM/SIGINT) dropped the feeds still in flight
    digest_error: str | None = None       # the day's files could not be written (the email still goes)

    @property
    def failed_feeds(self) -> tuple[FeedOutcome, ...]:
        return tuple(f for f in self.feeds if f.status == "error")

    @property
    def new_articles(self) -> int:
        return sum(f.new - f.duplicates for f in self.feeds)

    @property
    def duplicates(self) -> int:
        return sum(f.duplicates for f in self.feeds)


@dataclass(frozen=True, slots=True)
class FeedState:
    """A feed as stored between runs (storage's `feeds` table, typed): what health decides from."""

    name: str
    url: str                              # current URL (updated by a permanent redirect)
    configured_url: str                   # as written in the config
    title: str | None = None              # the feed's own title
    etag: str | None = None               # validators for conditional GET
    last_modified: str | None = None
    status: str | None = None             # ok | not_modified | error; None before the first check
    last_error: str | None = None
    warning: str | None = None            # read with a problem at its last check
    error_since: datetime | None = None   # first failure of the current failing streak
    consecutive_failures: int = 0
    last_checked: datetime | None = None
    last_success: datetime | None = None
    last_new_item: datetime | None = None
    first_checked: datetime | None = None
    next_due: datetime | None = None      # when it is checked next (backoff included)
    disabled: str | None = None           # why newsmon stopped fetching it (410 Gone); None = active
    items_seen: int = 0


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """A change of a feed worth telling the reader once: moved, gone, failing, recovered."""

    kind: Literal["moved", "gone", "failing", "recovered"]
    detail: str


@dataclass(frozen=True, slots=True)
class FeedChange:
    """What one check did to a feed (health.transition): its new state and the events to report."""

    state: FeedState
    events: tuple[FeedEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article as stored (storage's `articles` table, typed), read back for digests and replays."""

    id: str                               # sha1 of identity
    identity: str
    feed: str
    guid: str | None
    url: str | None
    canonical_url: str | None
    title: str
    published: datetime | None
    first_seen: datetime                  # decides its digest day
    text: str
    text_source: Literal["page", "feed"]
    extraction_note: str | None
    fingerprint: str
    duplicate_of: str | None              # seeds/<file> or an article URL; None = original
    story_id: str | None
    similarity: float | None
    topics: tuple[str, ...]
    backlog: str | None = None            # stored but not news: "first" | "old" (stages/backlog.py)
    image: str | None = None              # lead image URL (schema 9), None when none was found
    language: str | None = None           # declared language, "en" (schema 15), None when none was
    grouping: str | None = None           # why it joined its story, JSON (schema 15; stages.stories.grouping)


@dataclass(frozen=True, slots=True)
class EmailRecord:
    """One stored email (storage's `emails` table, typed): what exactly-once delivery decides from."""

    id: int
    digest_date: str                      # YYYY-MM-DD in the digest zone
    recipient: str
    message_id: str
    period_start: datetime
    period_end: datetime
    rowid_after: int                      # the exact cut: articles with rowid_after < rowid <= rowid_upto
    rowid_upto: int
    status: str                           # pending | sent | failed | skipped | superseded
    late: bool
    articles: int                         # the stories it lists (the digest's entries; the column's old name)
    attempts: int
    data_started: bool                    # handed to the server: it may have been delivered
    last_error: str | None
    message: bytes                        # the exact bytes, so a retry sends the same message
    sent_at: datetime | None = None       # when the server accepted it


@dataclass(frozen=True, slots=True)
class DayEvent:
    """A stored feed event (storage's `feed_events`), for the digest's health section."""

    feed: str
    at: datetime
    kind: str                             # moved | gone | failing | recovered
    detail: str


@dataclass(frozen=True, slots=True)
class StoryReport:
    """One report of a story, as much as keeping its story's row current needs (no text)."""

    id: str
    title: str
    feed: str
    text_source: str
    published: datetime | None
    first_seen: datetime
    topics: tuple[str, ...]
    text_length: int


@dataclass(frozen=True, slots=True)
class StoryRecord:
    """A story as stored (storage's `stories` table, typed): the reports of one event."""

    id: str                               # the id of the article that started it
    first_seen: datetime                  # when its first report was stored
    last_seen: datetime                   # when its latest report was stored
    lead: str                             # article id of its best report (stories.best_report)
    title: str                            # the lead's title
    reports: int                          # original articles in it
    outlets: int                          # distinct feeds among them
    topics: tuple[str, ...]               # every topic any of its reports is flagged under
    follow_up_of: str | None = None       # the earlier story it develops


@dataclass(frozen=True, slots=True)
class StoryEdit:
    """An operator's correction of a story (storage's `story_edits` table, typed): a report pinned
    to a story, which no later run undoes."""

    id: int
    at: datetime                          # when it was made
    kind: str                             # split (a story of its own) | move (into another story) |
                                          # merge (one row per report of the merged-in story)
    article_id: str                       # the report placed
    story_from: str                       # the story it was in
    story_to: str                         # the story it is in since

    def note(self) -> str:
        """The correction in words, as `stories --why`, the digest and the web story page say it."""
        verb = {"split": "split off from story", "move": "moved from story",
                "merge": "merged in with story"}[self.kind]
        return f"{self.article_id} {verb} {self.story_from} by an operator on {self.at:%Y-%m-%d %H:%M} UTC"

    def to_json(self) -> dict:
        return {"kind": self.kind, "article": self.article_id, "from": self.story_from, "to": self.story_to,
                "at": self.at.isoformat(), "note": self.note()}


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One stored message (storage's `messages` table, typed)."""

    id: int
    channel: str
    kind: str
    key: str
    title: str
    body: str
    status: str
    attempts: int
    next_try: datetime | None
    last_error: str | None
    created: datetime
    sent_at: datetime | None
