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

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from ..config import Config
from ..records import StoredArticle
from .digest_records import (  # noqa: F401  (re-exported: the digest's records)
    AlertLine,
    AlsoReported,
    Continuing,
    Digest,
    DigestInput,
    DigestStory,
    DroppedCopy,
    Fallback,
    FeedHealth,
    StoryRef,
    TopicSection,
    _flat,
    _iso,
)
from .flag import relevance
from .health import status_of
from .outlets import outlet_of
from .stories import best_report, report_time


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in `zone`, in UTC (23 or 25 hours on DST days)."""
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def _story(story_id: str, reports: list[StoredArticle], data: DigestInput, zone: ZoneInfo,
           outlet=lambda r: r.feed) -> DigestStory:
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
        continuing = Continuing(len(reports), record.first_seen.astimezone(zone).date().isoformat(),
                                data.told.get(story_id, record.title))
    return DigestStory(
        id=lead.id, url=lead.url, title=lead.title, feed=lead.feed, published=lead.published,
        first_seen=lead.first_seen, topics=tuple(dict.fromkeys(t for r in [lead, *rest] for t in r.topics)),
        text=lead.text, matches=matches, text_source=lead.text_source, extraction_note=lead.extraction_note,
        also=tuple(AlsoReported(r.url, r.feed, r.title, _similarity(r, lead, story_id), outlet(r)) for r in rest),
        story_id=story_id,
        outlets=tuple(dict.fromkeys(outlet(r) for r in [lead, *rest])), outlet=outlet(lead),
        image=next((r.image for r in [lead, *rest] if r.image), None),
        latest=max(report_time(r.published, r.first_seen) for r in reports),
        follow_up_of=StoryRef(followed.id, followed.title) if followed else None, continuing=continuing,
        corrections=tuple(data.edits.get(story_id, ())))


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
                 topics: tuple[str, ...] = (), late: bool = False, cap: int | None = None,
                 updates_apart: bool = False) -> Digest:
    """The digest of calendar day `day`, or of an email's period titled `day`, from what
    app/report.py read for it (`data`).

    `topics` narrows it to those topic ids (a team's email): only their stories, no others.
    `cap` keeps the best `cap` stories per topic (the email), counting the rest in `more`.
    `updates_apart` (the email): a story the reader already had is not listed as a story again,
    headed by its new report, but under `updates`: its new reports as "also reported by".
    """
    zone = config.zone
    start, end = data.period
    rows = data.rows
    originals = [r for r in rows if r.duplicate_of is None and r.backlog != "old"]    # old: not news
    groups: dict[str, list[StoredArticle]] = {}
    for r in originals:
        groups.setdefault(r.story_id or r.id, []).append(r)
    outlet = outlet_of(config, data.feeds)
    stories = _ranked([_story(sid, reports, data, zone, outlet) for sid, reports in groups.items()])
    all_labels = labels
    if topics:
        stories = [s for s in stories if set(s.topics) & set(topics)]
        labels = {t: label for t, label in labels.items() if t in topics}
    order = list(labels)
    main = {s.story_id: _main_topic(s, order) for s in stories if set(s.topics) & set(order)}
    updates = [s for s in stories if updates_apart and s.continuing]
    told = {s.story_id for s in updates}

    previous = data.previous_week
    sections = []
    shown_originals = [r for s in stories for r in groups[s.story_id]]
    for topic_id, label in labels.items():
        listed = [s for s in stories if main.get(s.story_id) == topic_id and s.story_id not in told]
        elsewhere = tuple((s, main[s.story_id]) for s in stories
                          if topic_id in s.topics and main.get(s.story_id, topic_id) != topic_id
                          and s.story_id not in told)
        sections.append(TopicSection(
            topic_id, label, sum(topic_id in r.topics for r in shown_originals), previous.get(topic_id, 0),
            tuple(listed[:cap] if cap else listed), stories=sum(topic_id in s.topics for s in stories),
            more=max(0, len(listed) - cap) if cap else 0, elsewhere=elsewhere))
    others = [s for s in stories if s.story_id not in main and s.story_id not in told]

    new_per_feed: dict[str, int] = {}
    for r in shown_originals:
        new_per_feed[r.feed] = new_per_feed.get(r.feed, 0) + 1
    configured = {f.name for f in config.feeds if f.enabled}
    fetch = config.fetch
    outside = None
    if data.archive_start is not None and end <= data.archive_start:
        began = data.archive_start.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        outside = (f"This day is outside the archive: the database begins {began} ({config.timezone}), "
                   "so nothing was collected then and feed health is not known for it.")
        configured = set()
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
        updates=tuple(updates),
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
        backlog=() if topics else backlog_lines(rows, config.fetch.max_age_days),
        outside_archive=outside,
    )


def backlog_lines(rows: list[StoredArticle], max_age_days: float) -> tuple[str, ...]:
    """What the period stored that is not news (stages/backlog.py), said in a line each."""
    first = [r for r in rows if r.backlog == "first" and r.duplicate_of is None]
    old = sum(r.backlog == "old" and r.duplicate_of is None for r in rows)
    lines = []
    if first:
        feeds = len({r.feed for r in first})
        lines.append(f"first reading of {feeds} feed{'s' if feeds != 1 else ''}: {len(first)} earlier "
                     f"item{'s' if len(first) != 1 else ''} stored (a baseline: no alerts)")
    if old:
        lines.append(f"{old} item{'s' if old != 1 else ''} published more than {max_age_days:g} days earlier "
                     "stored, not listed as news (newsmon search finds them)")
    return tuple(lines)


