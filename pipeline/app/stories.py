"""Stories in a run: the window of recent articles the story stage compares with, and the
stories row kept current as reports join."""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo

from ..records import StoryRecord
from ..stages.profile import PROFILE_VERSION, Profile, profile_of
from ..stages.stories import (
    WINDOW,
    Assignment,
    StoryIndex,
    best_report,
    group,
    grouping,
    recorded_grouping,
    report_time,
)
from ..storage.store import Store, iso, parse_time
from .semantic import embedder_of, model_for, with_vector
from .storywindow import WindowMark, catch_up
from .windowfile import Seen, read_window, window_path, write_window

log = logging.getLogger("newsmon")

# Articles stored this long before the window opens are loaded too: a report published late
# (or with no date) may still be compared with what came in a day before the window.
LOAD_MARGIN = timedelta(hours=24)


def open_story_index(store: Store, zone: ZoneInfo, now: datetime, embedder=None, seen: Seen | None = None) -> StoryIndex:
    """The story window: every original article stored in the last WINDOW + LOAD_MARGIN, with
    its profile. Missing profiles, or ones of another PROFILE_VERSION, are computed from the
    stored text and saved, so the next start is fast. With an embeddings backend, each profile
    gets its sentence vector from the stored title and text (vectors are not stored: a model
    changed in the config applies at once). `seen` records what was read (app/windowfile.py).
    Call it outside a transaction."""
    index = StoryIndex(zone, model_for(embedder))
    since = now - WINDOW - LOAD_MARGIN
    add_rows(store, index, store.window_rows(since), store.merged_parts(since), embedder, seen)
    log.debug("story window: %d articles", len(index))
    return index


def add_rows(store: Store, index: StoryIndex, rows, parts: dict[str, str], embedder=None,
             seen: Seen | None = None) -> None:
    """Stored originals (window rows, oldest first) added to `index` with their profiles (those
    recomputed saved); with `seen`, each row's first_seen and rowid noted."""
    recomputed: list[tuple] = []
    for row in rows:
        profile = window_profile(store, row, embedder, recomputed)
        first_seen = parse_time(row["first_seen"])
        index.add(row["id"], row["story_id"] or row["id"], row["feed"],
                  report_time(parse_time(row["published"]), first_seen), profile, parts.get(row["id"], ""))
        if seen is not None:
            seen.first_seen.append(row["first_seen"])
            seen.read(row)
    if recomputed:
        with store.transaction():
            store.save_profiles(recomputed)


def kept_story_index(store: Store, zone: ZoneInfo, now: datetime, path: Path) -> StoryIndex:
    """open_story_index through the window kept at `path` (SQLite, no embeddings backend): the
    kept one moved on and caught up with what was stored since when it may be used, else loaded
    from the store; kept again either way (app/windowfile.py)."""
    since, edits = now - WINDOW - LOAD_MARGIN, store.edits_mark()
    index = StoryIndex(zone, model_for(None))
    seen = read_window(path, store, index, iso(since))
    if seen is None:
        seen = Seen(upto=store.top_rowid())
        index = open_story_index(store, zone, now, seen=seen)
        seen.upto_id = store.article_id_at(seen.upto)
    else:
        rows = store.rows_after(seen.upto, [])
        for row in rows:
            seen.read(row)
        add_rows(store, index, [r for r in rows if r["duplicate_of"] is None and r["first_seen"] >= iso(since)],
                 store.merged_parts(since), seen=seen)
        log.debug("story window: %d articles, %d read from the store", len(index), len(rows))
    write_window(path, index, seen, iso(since), edits)
    return index


def window_profile(store: Store, row: dict, embedder=None, recomputed: list[tuple] | None = None) -> Profile:
    """A stored original's profile as the window holds it: the stored one, or (another
    PROFILE_VERSION, none) computed from the stored text and added to `recomputed` to be saved;
    with its sentence vector when there is an embeddings backend."""
    if row["version"] == PROFILE_VERSION:
        profile = Profile.from_json(json.loads(row["data"]))
    else:
        profile = profile_of(row["title"], store.text_of(row["id"]) or "")
        if recomputed is not None:
            recomputed.append((row["id"], PROFILE_VERSION, profile.to_json()))
    if embedder is not None:
        profile = with_vector(profile, row["title"], store.text_of(row["id"]) or "", embedder)
    return profile


def refresh_story(store: Store, story_id: str, follow_up_of: str | None = None) -> StoryRecord:
    """Recompute a story's row from its reports (lead, counts, topics) and save it; inside the
    feed's transaction, after the article was inserted."""
    reports = store.story_reports(story_id)
    lead = best_report(reports, length=lambda r: r.text_length)
    record = StoryRecord(id=story_id, first_seen=min(r.first_seen for r in reports),
                         last_seen=max(r.first_seen for r in reports), lead=lead.id, title=lead.title,
                         reports=len(reports), outlets=len({r.feed for r in reports}),
                         topics=tuple(dict.fromkeys(t for r in reports for t in r.topics)),
                         follow_up_of=follow_up_of)
    store.save_story(record)
    return record


# The daemon rebuilds its window this often, so that it holds WINDOW + LOAD_MARGIN, not months.
RELOAD_AFTER = timedelta(hours=6)


class StoryDesk:
    """The story stage within a run: which story each new original article joins (or starts),
    its profile saved, its story's row refreshed, and the window kept current."""

    def __init__(self, store: Store, zone: ZoneInfo, backend=None, window_file: Path | None = None):
        """`backend`: a function giving the embeddings backend (or None), called on first need,
        so that a run with nothing due never loads a model. `window_file`: where the window is
        kept between runs (SQLite; app/windowfile.py); None: loaded from the store each time."""
        self.store, self.zone, self._backend, self._embedder = store, zone, backend, None
        self.window_file = window_file
        self._index: StoryIndex | None = None
        self._mark: WindowMark | None = None     # PostgreSQL: what the window has seen (storywindow.py)
        self._loaded: datetime | None = None
        self._edits = 0                  # the operators' story edits the window was read with

    @classmethod
    def for_config(cls, store: Store, config) -> "StoryDesk":
        return cls(store, config.zone, lambda: embedder_of(config),
                   None if config.storage_url else window_path(config.database))

    def ready(self, reports_may_come: bool) -> None:
        """Before a run's feeds: the embeddings backend loaded when reports may come, so that a
        folder that cannot be loaded stops the run with a ConfigError before its first feed."""
        if reports_may_come:
            self.embedder

    @property
    def embedder(self):
        """The embeddings backend, loaded once (a folder that cannot be loaded: ConfigError)."""
        if self._backend is not None:
            self._embedder, self._backend = self._backend(), None
        return self._embedder

    def index(self, now: datetime, check_edits: bool = False) -> StoryIndex:
        """The window, read from the store the first time a run needs it (and again after
        RELOAD_AFTER, or with `check_edits` when an operator corrected a story since: a daemon's
        window must not pull a split-off report back). Call it outside a transaction: loading
        may save recomputed profiles."""
        edits = self.store.edits_mark() if check_edits or self._index is None else self._edits
        if self._index is None or self._loaded is None or now - self._loaded > RELOAD_AFTER or edits != self._edits:
            mark = WindowMark.at_load(self.store) if self.store.engine != "sqlite" else None
            kept = self.window_file is not None and self.embedder is None and self.store.engine == "sqlite"
            self._index, self._loaded, self._edits = (
                kept_story_index(self.store, self.zone, now, self.window_file) if kept
                else open_story_index(self.store, self.zone, now, self.embedder), now, edits)
            self._mark = mark
            if mark is not None:
                mark.known.update(m.article_id for m in self._index.members)
        return self._index

    def caught_up(self, now: datetime) -> StoryIndex:
        """The window, with what other workers committed since it last looked (PostgreSQL; on
        SQLite the window's own writer is the only one): before an article is placed."""
        index = self.index(now, check_edits=True)
        if self._mark is not None:
            added = catch_up(self.store, index, self._mark, lambda row: window_profile(self.store, row, self.embedder))
            if added:
                log.debug("story window: %d articles stored by other workers taken in", added)
        return index

    @contextmanager
    def forgetting_on_error(self) -> Iterator[None]:
        """Around a feed's transaction: if it fails, the window may hold articles that were not
        stored, so it is read again next time."""
        try:
            yield
        except BaseException:
            self._index = None
            raise

    def place(self, article, now: datetime):
        """The article with its story (None: it starts one) and follow-up decided. A same-day copy
        found by the duplicate index keeps its original's story."""
        if article.profile is None:
            article = replace(article, profile=profile_of(article.title, article.text))
        if self.embedder is not None:
            article = replace(article, profile=with_vector(article.profile, article.title, article.text, self.embedder))
        if article.story_id is not None:
            return article
        try:
            found = self.caught_up(now).assign(article.profile, report_time(article.published, now), article.feed,
                                           explain=False)
        except Exception:        # the story stage may miss a grouping, never lose an article
            log.warning("article %s: not compared with stories (a new story of its own)", article.url or article.title,
                        exc_info=log.isEnabledFor(logging.DEBUG))
            return article
        if not (found.story_id or found.follow_up_of):
            return article       # a story of its own (the common case: no copy to make)
        log.debug("article %s: %s story %s (score %.2f; shared %s)", article.url or article.title,
                  "joins" if found.story_id else "follows up", found.story_id or found.follow_up_of,
                  found.score, ", ".join(found.shared_entities + found.shared_terms))
        return replace(article, story_id=found.story_id, follow_up_of=found.follow_up_of,
                       grouping=grouping(found) if found.story_id else None)

    def record(self, article, aid: str, now: datetime) -> None:
        """After the article's insert, inside the feed's transaction."""
        story_id = article.story_id or aid
        self.store.save_profiles([(aid, PROFILE_VERSION, article.profile.to_json())])
        if story_id == aid:        # a new story: itself, nothing to read back
            self.store.save_story(StoryRecord(aid, now, now, aid, article.title, 1, 1, article.topics,
                                              article.follow_up_of))
        else:
            refresh_story(self.store, story_id)
        if self._mark is not None:
            self._mark.known.add(aid)
        self.index(now).add(aid, story_id, article.feed, report_time(article.published, now), article.profile)


def day_stories(config, day: date, topic: str | None = None, now: datetime | None = None):
    """The stories of a digest day (`newsmon stories`), as the digest shows them: best first,
    each with every report. `topic` narrows them to one topic id."""
    from ..clock import utcnow
    from .archive import opened
    from .report import digest_for

    labels = config.labels
    topic = config.topic_id(topic) if topic is not None else None   # id or label; unknown: the nearest
    with opened(config) as store:
        digest = digest_for(store, config, day, labels, now or utcnow(), topics=(topic,) if topic else ())
    return digest.articles


def story_json(s) -> dict:
    """A digest story as `newsmon stories --json` and the web API (/api/v1/today) give it."""
    return {"story_id": s.story_id, "title": s.title, "url": s.url, "topics": list(s.topics),
            "outlets": list(s.outlets), "reports": [{"feed": s.feed, "title": s.title, "url": s.url}] + [
                {"feed": c.feed, "title": c.title, "url": c.url} for c in s.also],
            "follow_up_of": s.follow_up_of.id if s.follow_up_of else None,
            "continuing": s.continuing.new_reports if s.continuing else None}


def why(config, article_id: str) -> tuple[dict, Assignment]:
    """Why a stored article is in its story (`newsmon stories --why ID`): the window as the run
    had it when the article came (the articles stored before it, in the WINDOW + LOAD_MARGIN
    before it was first seen), the article placed against it again, with the pair features and
    the model's probability for its closest report in the story it joined or came closest to, and
    the operators' corrections of its story (`corrections`, as the digest and the web give them).

    A report the model joined to its story carries the decision the run recorded (articles.grouping,
    schema 15): that is what the run saw, and it wins over the replay. The replay rebuilds the
    window at once, so its members' weighted vectors use the window's final document frequencies,
    where the run's were computed as the window grew (StoryIndex._vector_of): the same pair can
    score a little differently. The replay is for a report that started its own story (how close
    it came, which veto kept it out) and for reports stored before schema 15."""
    from ..errors import UsageError
    from .archive import opened

    with opened(config) as store:
        row = next(store.query("SELECT id, title, feed, published, first_seen, coalesce(story_id, id) AS story_id, "
                               "grouping "
                               "FROM articles WHERE id = ? OR id LIKE ? || '%' ORDER BY id = ? DESC LIMIT 1",
                               [article_id, article_id, article_id]), None) if article_id else None
        if row is None:
            raise UsageError(f"no article {article_id!r}; `newsmon stories --json` lists their ids")
        found = recorded_grouping(row.pop("grouping")) or _replayed(store, config, row)
        corrections = [e.to_json() for e in store.edits_of([row["story_id"]]).get(row["story_id"], [])]
    return {**row, "corrections": corrections, "recorded": found.recorded}, found


def _replayed(store: Store, config, row: dict) -> Assignment:
    """The article (`row`) placed again against the window its run had: the originals stored
    before it in the WINDOW + LOAD_MARGIN before it was first seen, profiled as a run loads them."""
    from ..errors import UsageError

    since = parse_time(row["first_seen"]) - WINDOW - LOAD_MARGIN
    embedder = embedder_of(config)
    index = StoryIndex(config.zone, model_for(embedder))
    parts = store.merged_parts(since)
    for r in store.window_rows(since):
        profile = window_profile(store, r, embedder)
        when = report_time(parse_time(r["published"]), parse_time(r["first_seen"]))
        if r["id"] == row["id"]:
            return index.assign(profile, when, row["feed"])
        index.add(r["id"], r["story_id"] or r["id"], r["feed"], when, profile, parts.get(r["id"], ""))
    raise UsageError(f"article {row['id']} is a copy of another: its story is its original's")


def would_join(store: Store, zone: ZoneInfo, title: str, text: str, now: datetime,
               embedder=None) -> tuple[Assignment, str | None]:
    """Which story a text would join now (`newsmon dedup check`), and that story's title."""
    found = open_story_index(store, zone, now, embedder).assign(
        with_vector(profile_of(title, text), title, text, embedder), now)
    target = found.story_id or found.closest
    story = store.stories_by_id([target]).get(target) if target else None
    return found, story.title if story else None


@dataclass(frozen=True, slots=True)
class IncomingReport:
    """One report given to `newsmon stories group` (a JSON line)."""

    id: str                   # the caller's id, echoed back
    title: str
    text: str                 # full text, or "" for a headline alone
    outlet: str               # the feed or outlet: same-outlet reports are a feature of the model
    published: datetime       # timezone-aware (a time without a zone is read as UTC)
    lang: str = ""            # as given; the stage reads every language the same way


def read_reports(lines: Iterable[str]) -> Iterator[IncomingReport]:
    """JSON lines {"id", "title", "text", "outlet", "published" (ISO 8601), "lang"} in arrival
    order; blank lines skipped. A line that is not one raises UsageError naming it."""
    from ..errors import UsageError

    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            published = datetime.fromisoformat(str(data["published"]).replace("Z", "+00:00"))
            yield IncomingReport(str(data["id"]), str(data.get("title") or ""), str(data.get("text") or ""),
                                 str(data.get("outlet") or ""),
                                 published if published.tzinfo else published.replace(tzinfo=timezone.utc),
                                 str(data.get("lang") or ""))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            what = f"missing {e}" if isinstance(e, KeyError) else str(e)
            raise UsageError(f"line {number}: not a report ({what}); expected a JSON object with "
                             f'"id", "title", "text", "outlet", "published" (ISO 8601)') from None


def group_reports(zone: ZoneInfo, lines: Iterable[str], embedder=None) -> Iterator[tuple[str, str]]:
    """(report id, story id) for each report, grouped in memory by the story stage and the model
    a run uses (with its embeddings backend, if any), in the digest's time zone (named days are
    read there); no database is touched."""
    return group(read_reports(lines), zone, embedder=embedder)
