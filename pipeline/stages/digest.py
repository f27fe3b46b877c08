"""The digest of one calendar day, as data.

The day is a calendar day in the digest time zone; an article belongs to the day it was first
seen (stored), not to its published date, which feeds get wrong. The digest is a list of
stories (stages/stories.py forms them): each appears once, headed by its best report, with every
other report under `also`, its topics as badges, and its place under its main topic (the one its
reports match most strongly). Stories are ranked by the number of outlets, then by their latest
report. Duplicates of seeds or of earlier days' articles are listed apart. This module only
shapes data: app/report.py reads it from the store, render.py writes it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from ..config import Config
from ..records import DayEvent, FeedState, Match, MessageRecord, StoredArticle, StoryRecord
from .flag import relevance
from .health import status_of
from .stories import best_report, report_time


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
class StoryRef:
    """Another story, named: the one a follow-up develops."""

    id: str
    title: str


@dataclass(frozen=True, slots=True)
class Continuing:
    """A story that began before this digest: how many of its reports are new, since when."""

    new_reports: int
    since: str                           # the day (digest zone) of its first report


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
    outlets: tuple[str, ...] = ()        # distinct feeds among its reports here, the lead's first
    latest: datetime | None = None       # its latest report here (ranking)
    follow_up_of: StoryRef | None = None
    continuing: Continuing | None = None

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
    id: str
    label: str
    count: int                           # articles flagged today
    previous_week: int                   # articles flagged over the 7 days before
    articles: tuple[DigestStory, ...]    # the stories this is the main topic of, best first
    stories: int = 0                     # stories flagged under it (shown here or under another)
    more: int = 0                        # stories left out of a capped edition (the email)


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

    @property
    def continuing(self) -> tuple[DigestStory, ...]:
        return tuple(s for s in self.articles if s.continuing)
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
                "stories": len(self.articles),
                "new_articles": self.reports,
                "duplicates_dropped": len(self.duplicates),
                "feeds_checked": len(self.feeds),
                "feeds_failing": len(self.failing_feeds),
                "topics": {t.id: {"label": t.label, "today": t.count, "stories": t.stories,
                                  "previous_7_days": t.previous_week} for t in self.topics},
            },
            "articles": [{
                "url": a.url, "title": a.title, "feed": a.feed, "published": _iso(a.published),
                "first_seen": _iso(a.first_seen), "topics": list(a.topics), "text": a.text,
                "text_source": a.text_source,
                "matches": [{"topic": m.topic, "term": m.term, "field": m.field, "matched": m.matched,
                             "sentence": m.sentence} for m in a.matches],
                "also": [_flat(x) for x in a.also],
                "story_id": a.story_id, "outlets": list(a.outlets), "reports": a.reports,
                "follow_up_of": _flat(a.follow_up_of) if a.follow_up_of else None,
                "continuing": _flat(a.continuing) if a.continuing else None,
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
            "alerts": [_flat(a) for a in self.alerts],
        }


def _flat(record) -> dict:
    """A flat record (no records inside) as a dict: dataclasses.asdict deep-copies every value,
    a tenth of a second for a 5,000-article day."""
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat(timespec="seconds")


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in `zone`, in UTC (23 or 25 hours on DST days)."""
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def _story(story_id: str, reports: list[StoredArticle], data: DigestInput, zone: ZoneInfo) -> DigestStory:
    """One story from its reports in this digest: headed by the best, the others under `also`."""
    lead = best_report(reports)
    rest = sorted((r for r in reports if r is not lead), key=lambda r: (r.published or r.first_seen, r.id))
    # the lead's own matches, and the others' only for topics the lead does not match: a story
    # shows its best report's sentences, not the same sentence as each outlet wrote it
    lead_matches = tuple(data.matches.get(lead.id, ()))
    covered = {m.topic for m in lead_matches}
    matches = lead_matches + tuple(m for r in rest for m in data.matches.get(r.id, ()) if m.topic not in covered)
    record = data.stories.get(story_id)
    followed = data.stories.get(record.follow_up_of) if record and record.follow_up_of else None
    continuing = None
    if story_id in data.continuing and record is not None:
        continuing = Continuing(len(reports), record.first_seen.astimezone(zone).date().isoformat())
    return DigestStory(
        id=lead.id, url=lead.url, title=lead.title, feed=lead.feed, published=lead.published,
        first_seen=lead.first_seen, topics=tuple(dict.fromkeys(t for r in [lead, *rest] for t in r.topics)),
        text=lead.text, matches=matches, text_source=lead.text_source, extraction_note=lead.extraction_note,
        also=tuple(AlsoReported(r.url, r.feed, r.title, _similarity(r, lead, story_id)) for r in rest),
        story_id=story_id,
        outlets=tuple(dict.fromkeys(r.feed for r in [lead, *rest])),
        latest=max(report_time(r.published, r.first_seen) for r in reports),
        follow_up_of=StoryRef(followed.id, followed.title) if followed else None, continuing=continuing)


def _similarity(report: StoredArticle, lead: StoredArticle, story_id: str) -> float | None:
    """A report's shingle similarity within its story: its own (a copy of an earlier report), or,
    for the report that started the story when the lead is a copy of it, the lead's (Jaccard is
    symmetric). None for reports written independently."""
    if report.similarity is None and report.id == story_id:
        return lead.similarity
    return report.similarity


def _main_topic(story: DigestStory, order: list[str]) -> str:
    """The topic a story is listed under: the one its reports match most strongly (title hits,
    then repeated hits), the configured order breaking ties."""
    return max((t for t in story.topics if t in order), key=lambda t: (relevance(story.matches, t), -order.index(t)))


def _ranked(stories: list[DigestStory]) -> list[DigestStory]:
    """More outlets first, then the most recent."""
    return sorted(stories, key=lambda s: (-len(s.outlets), -(s.latest or s.first_seen).timestamp(), s.id))


def build_digest(data: DigestInput, config: Config, day: date, labels: dict[str, str],
                 generated: datetime, problems: tuple[str, ...] = (), *,
                 topics: tuple[str, ...] = (), late: bool = False, cap: int | None = None) -> Digest:
    """The digest of calendar day `day`, or of an email's period titled `day`, from what
    app/report.py read for it (`data`).

    `topics` narrows it to those topic ids (a team's email): only their stories, no others.
    `cap` keeps the best `cap` stories per topic (the email), counting the rest in `more`.
    """
    zone = config.zone
    start, end = data.period
    rows = data.rows
    originals = [r for r in rows if r.duplicate_of is None]
    groups: dict[str, list[StoredArticle]] = {}
    for r in originals:
        groups.setdefault(r.story_id or r.id, []).append(r)
    stories = _ranked([_story(sid, reports, data, zone) for sid, reports in groups.items()])
    all_labels = labels
    if topics:
        stories = [s for s in stories if set(s.topics) & set(topics)]
        labels = {t: label for t, label in labels.items() if t in topics}
    order = list(labels)
    main = {s.story_id: _main_topic(s, order) for s in stories if set(s.topics) & set(order)}

    previous = data.previous_week
    sections = []
    shown_originals = [r for s in stories for r in groups[s.story_id]]
    for topic_id, label in labels.items():
        listed = [s for s in stories if main.get(s.story_id) == topic_id]
        sections.append(TopicSection(
            topic_id, label, sum(topic_id in r.topics for r in shown_originals), previous.get(topic_id, 0),
            tuple(listed[:cap] if cap else listed), stories=sum(topic_id in s.topics for s in stories),
            more=max(0, len(listed) - cap) if cap else 0))
    others = [s for s in stories if s.story_id not in main]

    new_per_feed: dict[str, int] = {}
    for r in shown_originals:
        new_per_feed[r.feed] = new_per_feed.get(r.feed, 0) + 1
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
        articles=tuple(stories),
        topics=tuple(sections),
        others=tuple(others[:cap] if cap else others),
        more_others=max(0, len(others) - cap) if cap else 0,
        reports=len(shown_originals),
        labels=dict(all_labels),
        alerts=tuple(AlertLine(m.channel, m.kind, m.title, m.status, m.last_error) for m in data.messages
                     if m.kind in ("alert", "update", "surge", "spike") and not topics),
        duplicates=tuple(DroppedCopy(r.url, r.title, r.feed, r.duplicate_of, r.similarity)
                         for r in rows if r.duplicate_of is not None and not topics),
        feeds=feeds,
        extraction_failures=tuple(Fallback(r.url, r.title, r.feed, r.extraction_note)
                                  for r in shown_originals if r.text_source == "feed" and r.extraction_note),
        events=tuple(data.events),
        problems=tuple(problems),
    )


