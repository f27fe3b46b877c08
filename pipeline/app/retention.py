"""Months unattended: retention, upkeep and growth.

Retention rules ([storage] keep_text_days, keep_days; README "Operations"):
- After keep_text_days (90) an article's text is emptied (`text_dropped` says when). Its title,
  URL, outlet, times, topics and topic matches, story, and every email or message that named it
  stay; its search entry then holds the title alone; its story profile goes (only the 4-day story
  window reads it). Its duplicate signature stays, so a copy of it is still caught within
  [dedup] window_days (by fingerprint, or a near match whose estimate is sure).
- After keep_days (default: never) the whole row goes, with its search entry, topic matches,
  profile, signature and duplicate-index bands. The stories it belonged to are recomputed: a
  story whose lead went gets its best remaining report as lead, and its counts; a story with no
  report left goes.
- Never touched, whatever their age: the articles an unsent email or a recipient's next email
  would cover (above the lowest rowid cut still open, deliver.py), and the reports of a story a
  pending chat message is about. Emails and messages themselves are never pruned: they carry
  their own bytes and are the delivery ledger.
Each step is a short transaction (storage/retention.py: BATCH articles), so a kill at any point
leaves whole batches done and the rest for the next prune; nothing is half-deleted.

Upkeep (`maintain`): the prune, then the bands of the on-disk duplicate index for any article
without them (app/diskindex.catch_up: an archive from before schema 12, rows another tool
wrote), then the search index's merges (merge_search_index: incremental, in bounded steps that
follow the day's growth; the whole index only with `db maintain --full`, or spread over nights
once the delete markers and new segments have grown to a share of it), `PRAGMA optimize`,
incremental vacuum (a file made before schema 10 has none until one `db maintain --vacuum`), and a
WAL checkpoint (TRUNCATE) last, so the log the rest wrote is folded back too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from ..config import Config
from ..options import address_key
from ..storage.retention import FTS_MERGE_PAGES, FTS_MERGE_STEPS, FTS_PACE, FTS_RECLAIM_SHARE
from ..storage.store import Store
from .stories import refresh_story

log = logging.getLogger("newsmon.retention")

# Growth is measured over this many days; a rate over fewer days of history says too little.
RATE_DAYS = 7
# The daemon's upkeep: nightly at this local time (digest zone), and at start-up when none ran
# for this long.
MAINTAIN_AT = (3, 30)
MAINTAIN_EVERY = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class PruneReport:
    texts_dropped: int             # articles whose text was (or would be) emptied
    articles_deleted: int          # articles removed whole
    stories_refreshed: int         # stories whose lead or counts were recomputed
    stories_deleted: int           # stories with no report left
    text_before: datetime          # texts of articles stored before this go
    delete_before: datetime | None  # articles stored before this go; None: keep_days is not set
    kept_after_rowid: int | None   # articles above this rowid were kept for an email
    kept_stories: int              # stories kept for a pending message
    dry_run: bool
    complete: bool = True          # False: stopped early (a stop request); the next prune goes on


@dataclass(frozen=True, slots=True)
class SearchMerge:
    steps: int                     # transactions of ~FTS_MERGE_PAGES pages each
    budget: int                    # the most steps this upkeep allowed itself
    whole: bool                    # a whole-index merge was started (or `--full` asked for one)
    segments_before: int
    segments_after: int
    pages_before: int              # the index's leaf pages (~4 KB each)
    pages_after: int


@dataclass(frozen=True, slots=True)
class MaintainReport:
    prune: PruneReport | None      # None: --no-prune
    fts_merge_steps: int
    vacuumed_pages: int            # free pages given back
    auto_vacuum: str               # none | full | incremental (none: run `db maintain --vacuum` once)
    checkpoint_busy: bool          # a reader kept the WAL checkpoint from finishing (tried next time)
    size_before: int               # database + WAL, bytes
    size_after: int
    search_merge: SearchMerge | None = None


@dataclass(frozen=True, slots=True)
class Growth:
    database_bytes: int            # main file + WAL
    free_bytes: int                # free pages inside the file (reused before it grows)
    disk_free_bytes: int | None           # left on the file system holding it
    articles: int | None           # stored, all ages (None: not counted, see growth)
    per_day_7: float               # articles a day, mean of the last 7 days
    per_day_30: float              # … of the last 30
    bytes_per_day: float           # growth: between the upkeeps of the last 7+ days, or the 7-day rate x bytes an article costs now
    days_until_full: float | None  # at that rate; None: not growing
    warning: str | None            # set when days_until_full < [storage] disk_warning_days

    @property
    def line(self) -> str:
        """One line for people: the digest's health block, `status`."""
        full = ("not growing" if self.days_until_full is None else
                f"disk full in ~{self.days_until_full:,.0f} days at that rate")
        total = "" if self.articles is None else f", {self.articles:,} articles"
        rate = (f"{size_text(self.database_bytes)}{total}; {self.per_day_7:,.0f} a day "
                f"(last 7 days), {self.per_day_30:,.0f} (30 days)")
        if self.disk_free_bytes is None:          # PostgreSQL: the server's disk, not seen from here
            return f"{rate} (PostgreSQL: the server watches its disk)"
        return f"{rate}; {size_text(self.disk_free_bytes)} free on disk, {full}"


def upkeep_rate(sizes: list[tuple[str, int]]) -> float | None:
    """Bytes a day the store grew from the upkeep RATE_DAYS or more before the last one to the
    last (sizes: (started, size after), oldest first); None when they span less."""
    nights = [(datetime.fromisoformat(at), n) for at, n in sizes]
    if not nights:
        return None
    last_at, last_size = nights[-1]
    earlier = [(at, n) for at, n in nights if at <= last_at - timedelta(days=RATE_DAYS)]
    if not earlier:
        return None
    first_at, first_size = earlier[-1]
    return max(0.0, (last_size - first_size) / ((last_at - first_at).total_seconds() / 86400))


def size_text(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            break
        n /= 1024
    return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"


def _keep(store: Store, config: Config):
    recipients = [address_key(r.address) for r in config.email.recipients] if config.email.enabled else []
    return store.keep_for_delivery(recipients)


def prune(store: Store, config: Config, now: datetime, dry_run: bool = False,
          should_stop: Callable[[], bool] = lambda: False) -> PruneReport:
    """Apply [storage] keep_text_days and keep_days (see the module docstring); with `dry_run`,
    count what would go and change nothing."""
    retention = config.retention
    text_before = now - timedelta(days=retention.keep_text_days)
    delete_before = now - timedelta(days=retention.keep_days) if retention.keep_days else None
    keep = _keep(store, config)
    report = dict(text_before=text_before, delete_before=delete_before, kept_after_rowid=keep.after_rowid,
                  kept_stories=len(keep.stories), dry_run=dry_run)
    if dry_run:
        deleted = store.articles_to_delete(delete_before, keep) if delete_before else 0
        if delete_before is None:
            dropped = store.texts_to_drop(text_before, keep)
        elif delete_before >= text_before:            # keep_days <= keep_text_days: rows go whole
            dropped = 0
        else:                                         # what is not deleted anyway
            dropped = store.texts_to_drop(text_before, keep) - store.texts_to_drop(delete_before, keep)
        return PruneReport(dropped, deleted, 0, 0, **report)
    store.set_fts_automerge(False)     # the upkeep's merges follow (storage/retention.FTS_AUTOMERGE)
    try:
        return _prune(store, keep, now, text_before, delete_before, report, should_stop)
    finally:
        store.set_fts_automerge(not store.fts_shape().merging)


def _prune(store: Store, keep, now: datetime, text_before: datetime, delete_before: datetime | None,
           report: dict, should_stop: Callable[[], bool]) -> PruneReport:
    from . import diskindex  # (numpy: for a prune that deletes, not for `status`, which imports this module)

    deleted = refreshed = stories_gone = 0
    complete = True
    while delete_before is not None:
        if should_stop():
            complete = False
            break
        with store.transaction():
            n, stories = store.delete_articles(delete_before, keep, diskindex.band_rows)
            for story_id in sorted(stories):
                if store.story_has_reports(story_id):
                    refresh_story(store, story_id, store.follow_up_of(story_id))
                    refreshed += 1
                else:
                    store.delete_story(story_id)
                    stories_gone += 1
        deleted += n
        if n == 0:
            break
    dropped = after_rowid = 0
    while complete:
        if should_stop():
            complete = False
            break
        n, after_rowid = store.drop_texts(text_before, keep, now, after_rowid)
        dropped += n
        if n == 0:
            break
    if deleted or dropped:
        log.info("prune: %d texts dropped, %d articles deleted, %d stories refreshed, %d deleted",
                 dropped, deleted, refreshed, stories_gone)
    return PruneReport(dropped, deleted, refreshed, stories_gone, complete=complete, **report)


def merge_search_index(store: Store, now: datetime, full: bool = False,
                       should_stop: Callable[[], bool] = lambda: False) -> SearchMerge:
    """The search index's share of the upkeep, each step a short transaction.

    Nightly: incremental FTS5 merges (a level's 4 segments into one, or a merge under way carried
    on), at most FTS_PACE times the pages FTS5 wrote since the last upkeep and FTS_MERGE_STEPS
    steps: the work follows the day's growth. What an incremental merge never drops are the
    postings of texts the prune emptied and their delete markers (only a merge into the oldest
    segment does, and SQLite 3.40's FTS5 has no secure-delete); so once what sits above the
    deepest level reaches FTS_RECLAIM_SHARE of it, one whole-index step starts merging every
    segment into one, which the next nights' steps carry on within the same pace. Amortised,
    that rewrite costs a few times the growth it waited for. `full` (`db maintain --full`): the
    whole index merged into one now, to the end (the nightly step of before, every night)."""
    before = store.fts_shape()
    last = store.fts_mark()
    if full:
        budget = None
    else:
        grown = before.written - last if last is not None and before.written >= last else before.pages
        budget = max(1, min(FTS_MERGE_STEPS, -(-FTS_PACE * grown // FTS_MERGE_PAGES)))
    whole = full or (not before.merging and len(before.segments) > 1
                     and before.pages - before.oldest_pages >= FTS_RECLAIM_SHARE * before.oldest_pages)
    steps = 0
    while (budget is None or steps < budget) and not should_stop() and store.fts_merge_step(whole=whole and (
            full or steps == 0)):
        steps += 1
    after = store.fts_shape()
    store.set_fts_automerge(not after.merging)     # a whole merge under way: not carried on by runs
    if store.engine != "postgresql":
        store.set_fts_mark(after.written, now)
    return SearchMerge(steps, budget or steps, whole, len(before.segments), len(after.segments),
                       before.pages, after.pages)


def maintain(store: Store, config: Config, now: datetime, *, apply_retention: bool = True,
             vacuum: bool = False, full: bool = False,
             should_stop: Callable[[], bool] = lambda: False) -> MaintainReport:
    """The nightly upkeep (module docstring); each step a short transaction of its own."""
    def total() -> int:
        size = store.size(config.database)
        return size.database + size.wal

    before = total()
    pruned = prune(store, config, now, should_stop=should_stop) if apply_retention else None
    from .diskindex import catch_up

    catch_up(store, should_stop)       # the duplicate index's bands: a run then has none to build
    merged = merge_search_index(store, now, full, should_stop)
    store.optimize()
    if vacuum and not should_stop():
        store.checkpoint()
        store.vacuum_full()
    mode, vacuumed = store.auto_vacuum(), 0
    if mode == "incremental":
        while not should_stop():
            n = store.vacuum_step()
            vacuumed += n
            if n == 0:
                break
    busy = store.checkpoint()[0] != 0
    report = MaintainReport(pruned, merged.steps, vacuumed, mode, busy, before, total(), merged)
    store.record_maintenance(now, now, pruned.texts_dropped if pruned else 0, pruned.articles_deleted if pruned else 0,
                             report.size_before, report.size_after)
    return report


def maintenance_due(store: Store, now: datetime, every: timedelta = MAINTAIN_EVERY) -> bool:
    """For the daemon's start: no upkeep recorded in the last day (a machine asleep at night);
    with `every`, none in that time (a daemon on PostgreSQL, another worker's upkeep)."""
    last = store.last_maintenance()
    return last is None or datetime.fromisoformat(last["started"]) <= now - every


def growth(store: Store, config: Config, now: datetime, count: bool = True) -> Growth:
    """The store's size and how fast it grows: for `status` and the digest's health block.

    The rate is the store's own growth between the upkeeps of the last RATE_DAYS or more (their
    recorded sizes: what retention gives back included), when there are such; otherwise the
    bytes an article costs now times the articles of the last RATE_DAYS. `count=False` (the
    digest) leaves out the total of stored articles unless that estimate needs it: counting a
    table reads a whole index, a cost that grows with the archive (66 ms at 900,000 articles)."""
    size = store.size(config.database)
    # the last RATE_DAYS UTC days, today's so far included; the last 30 days to the minute
    per_7 = store.articles_since((now.date() - timedelta(days=RATE_DAYS - 1)).isoformat()) / RATE_DAYS
    per_30 = store.articles_since(now - timedelta(days=30)) / 30
    bytes_per_day = upkeep_rate(store.maintained_sizes(now - timedelta(days=30)))
    articles = store.article_count() if count or bytes_per_day is None else None
    if bytes_per_day is None:
        used = size.database + size.wal - size.free
        bytes_per_day = used / articles * per_7 if articles else 0.0
    # free pages inside the file are filled before the file grows
    until_full = (size.disk_free + size.free) / bytes_per_day if bytes_per_day > 0 and size.disk_free is not None \
        else None
    warning = None
    if until_full is not None and until_full < config.retention.disk_warning_days:
        warning = (f"the disk holding {config.database.name} fills in ~{until_full:.0f} days at the last "
                   f"{RATE_DAYS} days' rate: free space, or lower [storage] keep_days / keep_text_days")
    return Growth(size.database + size.wal, size.free, size.disk_free, articles, round(per_7, 1), round(per_30, 1),
                  round(bytes_per_day), None if until_full is None else round(until_full, 1), warning)
