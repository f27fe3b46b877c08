"""The digest's records: what stages/digest.py builds and render.py writes out, one line per field.

Kept apart from the building rules so that each module reads in one sitting; stages/digest.py
re-exports them, so callers import them from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..records import DayEvent, FeedState, Match, MessageRecord, StoredArticle, StoryEdit, StoryRecord


@dataclass(frozen=True, slots=True)
class DigestInput:
    """What a digest is built from, read from the store by app/report.py."""

    period: tuple[datetime, datetime]    # UTC [start, end) the digest covers
    rows: list[StoredArticle]            # the period's articles (originals and duplicates)
    matches: dict[str, list[Match]]      # article id -> its topic matches
    previous_week: dict[str, int]        # topic -> articles flagged over the 7 days before start
    feeds: list[FeedState]               # every stored feed (health)
    events: list[DayEvent]               # feed events of the period
    stories: dict[str, StoryRecord] = field(default_factory=dict)  # the rows' stories and the
                                         # stories they follow up
    continuing: frozenset[str] = frozenset()  # stories a reader had before this digest (an earlier
                                         # day, or an earlier email)
    messages: list[MessageRecord] = field(default_factory=list)  # chat messages of the period, and
                                         # any still pending
    told: dict[str, str] = field(default_factory=dict)  # continuing story -> the title of its
                                         # first report (what the reader had)
    archive_start: datetime | None = None  # the first run or article stored: the database's life
                                         # begins there (None: nothing yet)
    edits: dict[str, list[StoryEdit]] = field(default_factory=dict)  # story id -> operators'
                                         # corrections of it (split, move, merge)


@dataclass(frozen=True, slots=True)
class AlsoReported:
    """Another copy of a story, listed under its lead."""

    url: str | None
    feed: str
    title: str
    similarity: float | None
    outlet: str = ""                     # who published it (outlet_names): the feed's title, or the
                                         # publisher of an aggregator's item


@dataclass(frozen=True, slots=True)
class DroppedCopy:
    """An article left out as a copy of a seed or of an earlier day's article."""

    url: str | None
    title: str
    feed: str
    duplicate_of: str
    similarity: float | None


@dataclass(frozen=True, slots=True)
class Fallback:
    """An article whose full text could not be had: the feed's own text was used."""

    url: str | None
    title: str
    feed: str
    note: str


@dataclass(frozen=True, slots=True)
class StoryRef:
    """Another story, named: the one a follow-up develops."""

    id: str
    title: str


@dataclass(frozen=True, slots=True)
class Continuing:
    """A story that began before this digest: how many of its reports are new, since when."""

    new_reports: int
    since: str                           # the day (digest zone) of its first report
    title: str = ""                      # the story as the reader first had it (its first report)


@dataclass(frozen=True, slots=True)
class DigestStory:
    """One story of the digest, as its best report (stories.best_report) with the others
    under `also`; `topics` and `matches` are those of all its reports."""

    id: str                              # the lead report's article id
    url: str | None
    title: str
    feed: str
    published: datetime | None
    first_seen: datetime
    topics: tuple[str, ...]
    text: str
    matches: tuple[Match, ...]
    text_source: str
    extraction_note: str | None
    also: tuple[AlsoReported, ...] = ()  # the story's other reports in this digest
    story_id: str = ""
    outlets: tuple[str, ...] = ()        # distinct outlets (publishers) among its reports here, the
                                         # lead's first: two alert feeds citing one page are one
    outlet: str = ""                     # the lead's outlet
    image: str | None = None             # the lead's image, else the first report's that has one
    latest: datetime | None = None       # its latest report here (ranking)
    follow_up_of: StoryRef | None = None
    continuing: Continuing | None = None
    corrections: tuple[StoryEdit, ...] = ()   # operators' corrections of this story, oldest first

    @property
    def reports(self) -> int:
        return 1 + len(self.also)


@dataclass(frozen=True, slots=True)
class AlertLine:
    """A chat message of the day: what was sent where, and what is still waiting."""

    channel: str
    kind: str                            # alert | update | surge | spike
    title: str
    status: str                          # sent | batched | pending | failed
    error: str | None


@dataclass(frozen=True, slots=True)
class TopicSection:
    """A topic's stories are every story any of whose reports it flags: one definition for the
    summary, the section, the email subject and the chat digest. A story is shown as a card once,
    under its main topic; the other topics it is flagged with list it under `elsewhere`."""

    id: str
    label: str
    count: int                           # articles flagged today
    previous_week: int                   # articles flagged over the 7 days before
    articles: tuple[DigestStory, ...]    # the stories this is the main topic of, best first
    stories: int = 0                     # the topic's stories: main here + elsewhere, before any cap
    more: int = 0                        # main stories left out of a capped edition (the email)
    elsewhere: tuple[tuple[DigestStory, str], ...] = ()  # its stories shown under another topic,
                                         # with that topic's id


@dataclass(frozen=True, slots=True)
class FeedHealth:
    name: str
    url: str
    status: str                          # last check: ok | not_modified | error | unchecked
    health: str                          # ok | error | failing | gone | stale | unchecked (health.py)
    error: str | None
    error_since: str | None
    consecutive_failures: int
    last_success: str | None
    last_new_item: str | None
    next_due: str | None
    new: int                             # new articles from this feed in the digest's period
    warning: str | None = None           # read with a problem at its last check (ill-formed, walls, …)


@dataclass(frozen=True, slots=True)
class Digest:
    date: str
    timezone: str
    generated: str
    articles: tuple[DigestStory, ...]    # every story of the day, flagged or not, best first
    topics: tuple[TopicSection, ...]
    others: tuple[DigestStory, ...]      # not flagged
    duplicates: tuple[DroppedCopy, ...]
    feeds: tuple[FeedHealth, ...]
    period_start: str = ""               # what it covers, local time: [start, end)
    period_end: str = ""
    late: bool = False                   # an email covering a gap after downtime
    topic_filter: tuple[str, ...] = ()   # a team's email: only these topics
    extraction_failures: tuple[Fallback, ...] = field(default=())
    events: tuple[DayEvent, ...] = field(default=())  # feed events of the day: moved, gone, failing, recovered
    problems: tuple[str, ...] = field(default=())  # run-level problems (unreadable seed files, …)
    reports: int = 0                     # original articles in the stories
    labels: dict[str, str] = field(default_factory=dict)  # every topic id -> its label (badges)
    alerts: tuple[AlertLine, ...] = field(default=())    # chat alerts of the period and any pending
    more_others: int = 0                 # unflagged stories left out of a capped edition
    store: str = ""                      # the day's files: the store's size and growth (app/retention.py)
    updates: tuple[DigestStory, ...] = field(default=())  # an email's stories the reader already
                                         # had: "Updates to stories already sent", not news again
    backlog: tuple[str, ...] = field(default=())  # what was stored but is not news (stages/backlog.py)
    full_url: str | None = None          # an email's link to the day's HTML digest ([digest] base_url)
    previous_day: str | None = None      # the digest files beside it (reports/): the nearest earlier
    next_day: str | None = None          #   and later days written; navigation of the files only
    in_archive: bool = False             # a file of reports/ (links to index.html and to other days)
    images: bool = False                 # show lead images ([digest] images, [email] images)
    outside_archive: str | None = None   # the day ends before the database's life began: what to say
                                         # instead of feed health (which would be today's)

    @property
    def continuing(self) -> tuple[DigestStory, ...]:
        return tuple(s for s in self.articles if s.continuing)
    @property
    def failing_feeds(self) -> tuple[FeedHealth, ...]:
        """Feeds failing (`failing_after` failures in a row, health.py) or gone: the summary's count."""
        return tuple(f for f in self.feeds if f.health in ("failing", "gone"))

    @property
    def erring_feeds(self) -> tuple[FeedHealth, ...]:
        """Feeds whose last check failed, fewer than `failing_after` times in a row."""
        return tuple(f for f in self.feeds if f.health == "error")

    @property
    def unhealthy_feeds(self) -> tuple[FeedHealth, ...]:
        """Every feed whose last check failed, gone ones included: the health block hides none."""
        return tuple(f for f in self.feeds if f.health in ("error", "failing", "gone"))

    @property
    def warned_feeds(self) -> tuple[FeedHealth, ...]:
        """Feeds that answered but were read with a problem: nothing lost goes unsaid."""
        return tuple(f for f in self.feeds if f.warning and f.health not in ("error", "failing", "gone"))

    @property
    def stale_feeds(self) -> tuple[FeedHealth, ...]:
        return tuple(f for f in self.feeds if f.health == "stale")

    def to_json(self) -> dict:
        return {
            "date": self.date,
            "timezone": self.timezone,
            "generated": self.generated,
            "period": {"start": self.period_start, "end": self.period_end},
            "late": self.late,
            "topic_filter": list(self.topic_filter),
            "summary": {
                "stories": len(self.articles),
                "new_articles": self.reports,
                "duplicates_dropped": len(self.duplicates),
                "feeds_checked": len(self.feeds),
                "feeds_failing": len(self.failing_feeds),
                "feeds_with_errors": len(self.erring_feeds),
                "topics": {t.id: {"label": t.label, "today": t.count, "stories": t.stories,
                                  "previous_7_days": t.previous_week} for t in self.topics},
            },
            "articles": [{
                "url": a.url, "title": a.title, "feed": a.feed, "outlet": a.outlet, "published": _iso(a.published),
                "first_seen": _iso(a.first_seen), "topics": list(a.topics), "text": a.text, "image": a.image,
                "text_source": a.text_source,
                "matches": [{"topic": m.topic, "term": m.term, "field": m.field, "matched": m.matched,
                             "sentence": m.sentence} for m in a.matches],
                "also": [_flat(x) for x in a.also],
                "story_id": a.story_id, "outlets": list(a.outlets), "reports": a.reports,
                "follow_up_of": _flat(a.follow_up_of) if a.follow_up_of else None,
                "continuing": _flat(a.continuing) if a.continuing else None,
                "corrections": [e.to_json() for e in a.corrections],
            } for a in self.articles],
            "duplicates": [_flat(x) for x in self.duplicates],
            "feeds": [{"name": f.name, "url": f.url, "status": f.status, "health": f.health,
                       "error": f.error, "error_since": f.error_since,
                       "consecutive_failures": f.consecutive_failures, "last_success": f.last_success,
                       "last_new_item": f.last_new_item, "next_due": f.next_due, "new": f.new,
                       "warning": f.warning}
                      for f in self.feeds],
            "extraction_failures": [_flat(x) for x in self.extraction_failures],
            "events": [{"feed": e.feed, "at": _iso(e.at), "kind": e.kind, "detail": e.detail} for e in self.events],
            "problems": list(self.problems),
            **({"store": self.store} if self.store else {}),   # (the day's files only)
            "backlog": list(self.backlog),
            "outside_archive": self.outside_archive,
            "alerts": [_flat(a) for a in self.alerts],
        }


def _flat(record) -> dict:
    """A flat record (no records inside) as a dict: dataclasses.asdict deep-copies every value,
    a tenth of a second for a 5,000-article day."""
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat(timespec="seconds")
