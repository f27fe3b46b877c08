"""The archive read by story, for `newsmon web`: one function per page, each on a read-only
connection of its own (archive.reading), so a run writing at the same time is never blocked.

They return records and plain dicts; the web layer turns them into HTML and JSON, so the pages
and the API show the same reading. Where the CLI has the same records (`stories --json`,
`search --json`, `status --json`), the same functions make them (stories.story_json,
archive.search_records, status.collect)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime

from ..config import Config
from ..errors import UsageError
from ..records import Match, MessageRecord, StoredArticle, StoryEdit, StoryRecord
from ..stages.digest import Digest
from ..stages.language import language_code
from ..storage.store import parse_time
from . import status
from .alerts import rule_matches
from .archive import reading, search
from .report import digest_for


@dataclass(frozen=True, slots=True)
class StoryPage:
    """A story whole: every report with its matches, what it follows, what follows it, its alerts."""

    story: StoryRecord
    reports: tuple[StoredArticle, ...]          # originals, in the order they were stored (timeline)
    matches: dict[str, list[Match]]              # article id -> its topic matches
    follows: StoryRecord | None                  # the earlier story it develops
    follow_ups: tuple[StoryRecord, ...]          # later stories developing it
    alerts: tuple[MessageRecord, ...]            # chat messages about it (alert, update, surge)
    why: dict[str, dict]                         # article id -> why it joined (why_grouped); the first has none
    corrections: tuple[StoryEdit, ...] = ()      # operators' corrections of it, oldest first


@dataclass(frozen=True, slots=True)
class TodayPage:
    """A day's digest, narrowed by the filters, and its stories per language (for the filter)."""

    digest: Digest
    languages: dict[str, int]                    # language -> stories (before the language filter);
                                                 # "und": no report declares one


UNDECLARED = "und"        # BCP 47's "undetermined": stories none of whose reports declares a language


def today(config: Config, day: date, now: datetime, topic: str | None = None, feed: str | None = None,
          tag: str | None = None, lang: str | None = None) -> TodayPage:
    """The day's digest as the files show it (same ranking), narrowed to a topic, a feed, the
    feeds carrying a tag, or a language (a story is in every language one of its reports
    declares: articles.language). Unknown names are a UsageError (the page says so)."""
    if topic is not None and topic not in config.labels:
        raise UsageError(f"unknown topic {topic!r}")
    names = {f.name for f in config.feeds}
    if feed is not None and feed not in names:
        raise UsageError(f"unknown feed {feed!r}")
    tagged = {f.name for f in config.feeds if tag in f.tags} if tag else None
    if tag is not None and not tagged:
        raise UsageError(f"no feed carries the tag {tag!r}")
    if lang is not None and language_code(lang) != lang:
        raise UsageError(f"lang: expected a language code like en or de (lower case), not {lang!r}")
    with reading(config) as store:
        digest = digest_for(store, config, day, config.labels, now, topics=(topic,) if topic else ())
        if feed is not None or tagged is not None:
            keep = {feed} if feed else tagged
            digest = _narrowed(digest, lambda s: bool(keep & set(s.outlets or (s.feed,))))
        spoken = store.story_languages([s.story_id or s.id for s in digest.articles])
    of = {s.story_id or s.id: spoken.get(s.story_id or s.id) or {UNDECLARED} for s in digest.articles}
    counts = Counter(code for languages in of.values() for code in languages)
    if lang is not None:
        digest = _narrowed(digest, lambda s: lang in of.get(s.story_id or s.id, ()))
    return TodayPage(digest, dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))))


def _narrowed(digest: Digest, wanted) -> Digest:
    """The digest with only the stories `wanted` keeps, in every section."""
    return replace(digest, articles=tuple(s for s in digest.articles if wanted(s)),
                   others=tuple(s for s in digest.others if wanted(s)),
                   topics=tuple(replace(t, articles=tuple(s for s in t.articles if wanted(s))) for t in digest.topics))


def story(config: Config, story_id: str) -> StoryPage | None:
    with reading(config) as store:
        record = store.stories_by_id([story_id]).get(story_id)
        if record is None:
            return None
        reports = store.story_articles(story_id)
        follows = store.stories_by_id([record.follow_up_of]).get(record.follow_up_of) if record.follow_up_of else None
        return StoryPage(record, tuple(reports), store.matches_for([r.id for r in reports]), follows,
                         tuple(store.follow_ups(story_id)), tuple(store.messages_about(story_id)),
                         why_grouped(store, story_id, reports), tuple(store.edits_of([story_id]).get(story_id, ())))


def why_grouped(store, story_id: str, reports: list[StoredArticle]) -> dict[str, dict]:
    """For each report but the one that started the story: why it is in it. As the run's story
    stage decided (articles.grouping, from schema 15: the report it was paired with, its feed
    and title, the model's pair features and probabilities), or, for a near copy the duplicate
    stage put there, its text similarity; `recorded: False` for a report stored before schema 15
    (`newsmon stories --why ID` replays its window)."""
    known = {r.id: r for r in reports}
    out: dict[str, dict] = {}
    for r in reports:
        if r.id == story_id:
            continue
        if r.grouping:
            why = {"recorded": True, "near_copy": False, **json.loads(r.grouping)}
            pair = known.get(why.get("paired_with") or "")
            why["paired_feed"], why["paired_title"] = (pair.feed, pair.title) if pair else (None, None)
        elif r.similarity is not None:
            why = {"recorded": True, "near_copy": True, "similarity": round(r.similarity, 3)}
        else:
            why = {"recorded": False, "near_copy": False}
        out[r.id] = why
    missing = [w["paired_with"] for w in out.values() if w.get("paired_with") and w["paired_title"] is None]
    if missing:                              # paired with a report now in another story (rare)
        titles = store.titles_by_id(missing)
        for w in out.values():
            if w.get("paired_with") in titles:
                w["paired_title"] = titles[w["paired_with"]]
    return out


def search_page(config: Config, query: str, *, topic: str | None = None, feed: str | None = None,
                since: datetime | None = None, until: datetime | None = None, limit: int = 50) -> dict:
    """Search results (the CLI's records), each with its story, and facets counted over them."""
    with reading(config) as store:
        rows = search(config, query, topic=topic, feed=feed, since=since, until=until, limit=limit, store=store)
        stories = store.story_of([r["id"] for r in rows])
    days = Counter(parse_time(r["first_seen"]).astimezone(config.zone).date().isoformat() for r in rows)
    return {"rows": rows, "stories": [stories.get(r["id"]) for r in rows],
            "facets": {"topic": dict(Counter(t for r in rows for t in r["topics"]).most_common()),
                       "feed": dict(Counter(r["feed"] for r in rows).most_common()),
                       "day": dict(sorted(days.items(), reverse=True))}}


def stories_feed(config: Config, topic: str | None = None, limit: int = 50) -> list[StoryRecord]:
    """The stories a topic's Atom feed lists: by latest report, newest first."""
    if topic is not None and topic not in config.labels:
        raise UsageError(f"unknown topic {topic!r}")
    with reading(config) as store:
        return store.recent_stories(topic, limit)


def alert_feed(config: Config, name: str, limit: int = 50, scan: int = 1000) -> list[StoryRecord]:
    """The stories an `[[alerts]]` rule (by its name) matches, as the alert pass matches them
    (alerts.rule_matches): by latest report, newest first, among the `scan` latest stories.
    An unknown name is a LookupError naming the known ones."""
    rule = next((r for r in config.alerts if r.name == name), None)
    if rule is None:
        known = ", ".join(r.name for r in config.alerts) or "none"
        raise LookupError(f"no alert rule named {name!r}; known: {known}")
    with reading(config) as store:
        return [s for s in store.recent_stories(None, scan) if rule_matches(store, rule, s)][:limit]


def stories_by_id(config: Config, ids: list[str]) -> dict[str, StoryRecord]:
    with reading(config) as store:
        return store.stories_by_id(ids)


def days(config: Config) -> list[dict]:
    """The archive by day (digest zone), newest first: original articles stored, and the
    digest formats written for it."""
    with reading(config) as store:
        counts: Counter[str] = Counter()
        for quarter, n in store.quarter_hour_counts():
            counts[datetime.fromisoformat(quarter + "+00:00").astimezone(config.zone).date().isoformat()] += n
    written = {d["date"]: d["formats"] for d in status.digest_files(config)}
    return [{"date": d, "articles": counts.get(d, 0), "digest": written.get(d, [])}
            for d in sorted(set(counts) | set(written), reverse=True)]


def health(config: Config, now: datetime) -> dict:
    """The feeds and runs of `newsmon status --json`, read-only."""
    with reading(config) as store:
        return {"feeds": status.feed_rows(config, store, now), "runs": status.run_rows(store, 10)}


def alerts(config: Config, now: datetime, limit: int = 200) -> dict:
    """Per channel: sent, pending, failed counts (as `status`), and the latest messages."""
    with reading(config) as store:
        channels = status.channel_rows(config, store)
        return {"channels": channels, "messages": store.latest_messages(limit)}
