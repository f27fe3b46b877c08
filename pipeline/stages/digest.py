"""The digest of one calendar day, as data.

The day is a calendar day in the digest time zone; an article belongs to the day it was first
seen (stored), not to its published date, which feeds get wrong. Duplicates of seeds or earlier
articles are listed apart and kept out of the stories. Flagged stories come first, grouped by
topic and ordered by relevance (title hits, then repeated hits); an article with several topics
appears under each. This module only shapes data: app/report.py reads it from the store,
render.py writes it out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from ..config import Config
from ..records import DayEvent, FeedState, Match, StoredArticle
from .flag import relevance
from .health import status_of


@dataclass(frozen=True, slots=True)
class DigestInput:
    """What a digest is built from, read from the store by app/report.py."""

    period: tuple[datetime, datetime]    # UTC [start, end) the digest covers
    rows: list[StoredArticle]            # the period's articles (originals and duplicates)
    matches: dict[str, list[Match]]      # article id -> its topic matches
    previous_week: dict[str, int]        # topic -> articles flagged over the 7 days before start
    feeds: list[FeedState]               # every stored feed (health)
    events: list[DayEvent]               # feed events of the period
    earlier_leads: dict[str, StoredArticle] = field(default_factory=dict)  # story id -> its lead,
                                         # when a reader had that story in an earlier email


@dataclass(frozen=True, slots=True)
class AlsoReported:
    """Another copy of a story, listed under its lead."""

    url: str | None
    feed: str
    title: str
    similarity: float | None


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
class StoryUpdate:
    """More reports of a story a reader already had (in an earlier email): listed once, as
    "also reported by", never as a new story."""

    title: str                           # the story's lead, as first sent
    url: str | None
    feed: str
    topics: tuple[str, ...]
    also: tuple[AlsoReported, ...]


@dataclass(frozen=True, slots=True)
class DigestArticle:
    id: str
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
    also: tuple[AlsoReported, ...] = ()  # other copies of the same story


@dataclass(frozen=True, slots=True)
class TopicSection:
    id: str
    label: str
    count: int                           # articles flagged today
    previous_week: int                   # articles flagged over the 7 days before
    articles: tuple[DigestArticle, ...]


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
    articles: tuple[DigestArticle, ...]  # every new story of the day, flagged or not
    topics: tuple[TopicSection, ...]
    others: tuple[DigestArticle, ...]    # not flagged
    duplicates: tuple[DroppedCopy, ...]
    feeds: tuple[FeedHealth, ...]
    period_start: str = ""               # what it covers, local time: [start, end)
    period_end: str = ""
    late: bool = False                   # an email covering a gap after downtime
    topic_filter: tuple[str, ...] = ()   # a team's email: only these topics
    extraction_failures: tuple[Fallback, ...] = field(default=())
    events: tuple[DayEvent, ...] = field(default=())  # feed events of the day: moved, gone, failing, recovered
    problems: tuple[str, ...] = field(default=())  # run-level problems (unreadable seed files, …)
    updates: tuple[StoryUpdate, ...] = field(default=())  # new reports of stories already emailed

    @property
    def failing_feeds(self) -> tuple[FeedHealth, ...]:
        """Every feed whose last check failed, gone ones included: nothing hidden."""
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
                "new_articles": len(self.articles),
                "duplicates_dropped": len(self.duplicates),
                "feeds_checked": len(self.feeds),
                "feeds_failing": len(self.failing_feeds),
                "topics": {t.id: {"label": t.label, "today": t.count, "previous_7_days": t.previous_week}
                           for t in self.topics},
            },
            "articles": [{
                "url": a.url, "title": a.title, "feed": a.feed, "published": _iso(a.published),
                "first_seen": _iso(a.first_seen), "topics": list(a.topics), "text": a.text,
                "text_source": a.text_source,
                "matches": [{"topic": m.topic, "term": m.term, "field": m.field, "matched": m.matched,
                             "sentence": m.sentence} for m in a.matches],
                "also": [asdict(x) for x in a.also],
            } for a in self.articles],
            "duplicates": [asdict(x) for x in self.duplicates],
            "updates": [asdict(u) for u in self.updates],
            "feeds": [{"name": f.name, "url": f.url, "status": f.status, "health": f.health,
                       "error": f.error, "error_since": f.error_since,
                       "consecutive_failures": f.consecutive_failures, "last_success": f.last_success,
                       "last_new_item": f.last_new_item, "next_due": f.next_due, "new": f.new,
                       "warning": f.warning}
                      for f in self.feeds],
            "extraction_failures": [asdict(x) for x in self.extraction_failures],
            "events": [{"feed": e.feed, "at": _iso(e.at), "kind": e.kind, "detail": e.detail} for e in self.events],
            "problems": list(self.problems),
        }


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat(timespec="seconds")


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in `zone`, in UTC (23 or 25 hours on DST days)."""
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def _article(row: StoredArticle, matches: list[Match]) -> DigestArticle:
    return DigestArticle(
        id=row.id, url=row.url, title=row.title, feed=row.feed, published=row.published,
        first_seen=row.first_seen, topics=row.topics, text=row.text, matches=tuple(matches),
        text_source=row.text_source, extraction_note=row.extraction_note)


def _updates(rows: list[StoredArticle], leads: dict[str, StoredArticle]) -> tuple[StoryUpdate, ...]:
    by_story: dict[str, list[StoredArticle]] = {}
    for r in rows:
        by_story.setdefault(r.story_id, []).append(r)
    return tuple(StoryUpdate(leads[sid].title, leads[sid].url, leads[sid].feed,
                             tuple(dict.fromkeys(leads[sid].topics + tuple(t for r in rs for t in r.topics))),
                             tuple(AlsoReported(r.url, r.feed, r.title, r.similarity) for r in rs))
                 for sid, rs in by_story.items())


def _group_stories(articles: list[DigestArticle], story_of: dict[str, str],
                   similarity: dict[str, float | None]) -> list[DigestArticle]:
    """One entry per story: the earliest published copy leads, the others go into its `also`."""
    groups: dict[str, list[DigestArticle]] = {}
    for a in articles:
        groups.setdefault(story_of[a.id], []).append(a)
    stories = []
    for members in groups.values():
        members.sort(key=lambda a: (a.published or a.first_seen, a.first_seen, a.id))
        lead, rest = members[0], members[1:]
        if rest:
            lead = replace(lead, also=tuple(
                AlsoReported(a.url, a.feed, a.title, similarity[a.id] or similarity[lead.id])  # Jaccard is symmetric
                for a in rest))
        stories.append(lead)
    stories.sort(key=lambda a: (a.first_seen, a.id))
    return stories


def build_digest(data: DigestInput, config: Config, day: date, labels: dict[str, str],
                 generated: datetime, problems: tuple[str, ...] = (), *,
                 topics: tuple[str, ...] = (), late: bool = False) -> Digest:
    """The digest of calendar day `day`, or of an email's period titled `day`, from what
    app/report.py read for it (`data`).

    `topics` narrows it to those topic ids (a team's email): only their stories, no others.
    """
    zone = config.zone
    start, end = data.period
    rows = data.rows
    originals = [r for r in rows if r.duplicate_of is None and r.story_id not in data.earlier_leads]
    updates = _updates([r for r in rows if r.duplicate_of is None and r.story_id in data.earlier_leads],
                       data.earlier_leads)
    matches = data.matches
    articles = tuple(_group_stories([_article(r, matches[r.id]) for r in originals],
                                    {r.id: r.story_id or r.id for r in originals},
                                    {r.id: r.similarity for r in originals}))
    if topics:
        articles = tuple(a for a in articles if set(a.topics) & set(topics))
        updates = tuple(u for u in updates if set(u.topics) & set(topics))
        labels = {t: label for t, label in labels.items() if t in topics}

    previous = data.previous_week
    sections = []
    for topic_id, label in labels.items():
        flagged = [a for a in articles if topic_id in a.topics]
        flagged.sort(key=lambda a: (-relevance(a.matches, topic_id), a.first_seen))
        sections.append(TopicSection(topic_id, label, len(flagged), previous.get(topic_id, 0),
                                     tuple(flagged)))

    new_per_feed: dict[str, int] = {}
    for a in articles:
        new_per_feed[a.feed] = new_per_feed.get(a.feed, 0) + 1
    configured = {f.name for f in config.feeds if f.enabled}
    fetch = config.fetch
    feeds = tuple(
        FeedHealth(name=f.name, url=f.url, status=f.status or "unchecked",
                   health=status_of(f, generated, fetch.failing_after, fetch.stale_after_days),
                   error=f.last_error or f.disabled, error_since=_iso(f.error_since),
                   consecutive_failures=f.consecutive_failures, last_success=_iso(f.last_success),
                   last_new_item=_iso(f.last_new_item), next_due=_iso(f.next_due),
                   new=new_per_feed.get(f.name, 0), warning=f.warning)
        for f in data.feeds if f.name in configured)

    return Digest(
        date=day.isoformat(), timezone=config.timezone,
        generated=generated.astimezone(zone).isoformat(timespec="seconds"),
        period_start=start.astimezone(zone).isoformat(timespec="minutes"),
        period_end=end.astimezone(zone).isoformat(timespec="minutes"),
        late=late, topic_filter=tuple(topics),
        articles=articles,
        topics=tuple(sections),
        others=tuple(a for a in articles if not a.topics),
        duplicates=tuple(DroppedCopy(r.url, r.title, r.feed, r.duplicate_of, r.similarity)
                         for r in rows if r.duplicate_of is not None and not topics),
        feeds=feeds,
        extraction_failures=tuple(Fallback(a.url, a.title, a.feed, a.extraction_note)
                                  for a in articles if a.text_source == "feed" and a.extraction_note),
        events=tuple(data.events),
        problems=tuple(problems),
        updates=updates,
    )


