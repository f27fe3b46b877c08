"""A day's report: read what the digest shows from the store, build it, write its files.

The digest files and the email are built from the same reading (`digest_for`), so they always
agree; the email takes an exact cut of article row ids, the files a calendar day.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import jinja2

from ..config import Config
from ..errors import DigestWriteError
from ..stages.digest import Digest, DigestInput, build_digest, day_bounds
from ..stages.render import digest_days, template_errors, write_digest
from ..storage.store import Store
from .retention import growth


def read_input(store: Store, period: tuple[datetime, datetime],
               rowids: tuple[int, int] | None = None) -> DigestInput:
    """Everything a digest of `period` shows. With `rowids` (after, upto], the articles are that
    exact cut (an email's), and `period` only says, for readers, what time span it is."""
    start, end = period
    rows = store.articles_by_rowid(*rowids) if rowids else store.articles_between(start, end)
    originals = [r.id for r in rows if r.duplicate_of is None]
    story_ids = sorted({r.story_id or r.id for r in rows if r.duplicate_of is None})
    stories = store.stories_by_id(story_ids)
    followed = sorted({s.follow_up_of for s in stories.values() if s.follow_up_of} - set(stories))
    stories.update(store.stories_by_id(followed))
    # continuing: a reader had the story before: from an earlier email (its first report is in an
    # earlier cut), or, for a day's files, from an earlier day
    told = set(story_ids)
    joined = sorted({r.story_id for r in rows if r.story_id in told and r.id != r.story_id})
    if rowids:
        continuing = frozenset(store.stories_started_by(joined, rowids[0])) if joined else frozenset()
    else:
        continuing = frozenset(sid for sid in joined if sid in stories and stories[sid].first_seen < start)
    return DigestInput(period=period, rows=rows, matches=store.matches_for(originals),
                       previous_week=store.topic_counts(start - timedelta(days=7), start),
                       feeds=store.feeds(), events=store.events_between(start, end), stories=stories,
                       continuing=continuing, messages=store.messages_between(start, end),
                       told=store.titles_by_id(sorted(continuing)) if continuing else {},
                       archive_start=store.archive_start(), edits=store.edits_of(story_ids))


def digest_for(store: Store, config: Config, day: date, labels: dict[str, str], generated: datetime,
               problems: tuple[str, ...] = (), *, period: tuple[datetime, datetime] | None = None,
               rowids: tuple[int, int] | None = None, topics: tuple[str, ...] = (),
               late: bool = False, cap: int | None = None) -> Digest:
    """The digest of calendar day `day` (or of an email's `period`/`rowids`, titled `day`)."""
    data = read_input(store, period or day_bounds(day, config.zone), rowids)
    return build_digest(data, config, day, labels, generated, problems, topics=topics, late=late, cap=cap,
                        updates_apart=rowids is not None)     # an email: what was sent is not news again


def write_for_day(store: Store, config: Config, now: datetime, labels: dict[str, str],
                  day: date | None = None, problems: tuple[str, ...] = ()) -> list[Path]:
    """Build and write the digest files of `day` (default: today in the digest zone).
    Raises DigestWriteError, one line saying what to fix, when the files cannot be written."""
    day = day or now.astimezone(config.zone).date()
    grown = growth(store, config, now, count=False)
    problems = problems + ((grown.warning,) if grown.warning else ())
    try:
        written = sorted(digest_days(config.digest_dir))
        digest = replace(_in_archive(digest_for(store, config, day, labels, now, problems), written, config),
                         store=grown.line)
        files = write_digest(digest, config)
        earlier = [d for d in written if d < digest.date]
        if digest.date not in written and earlier and not [d for d in written if d > digest.date]:
            # a new day's first digest: the day before it gets its "next day" link
            before = date.fromisoformat(earlier[-1])
            write_digest(_in_archive(digest_for(store, config, before, labels, now), written + [digest.date],
                                     config), config)
        return files
    except OSError as e:
        raise DigestWriteError(f"digest files not written to {config.digest_dir}: {e.strerror or e} "
                               "(check [digest] directory: it must be a writable folder)") from None
    except jinja2.TemplateError as e:
        raise DigestWriteError(template_message(e)) from None


def template_message(e: jinja2.TemplateError) -> str:
    """One line naming the template file, its line and what jinja2 found wrong."""
    where = f"{getattr(e, 'filename', None) or getattr(e, 'name', None) or 'a template'}"
    line = f", line {e.lineno}" if getattr(e, "lineno", None) else ""
    return f"digest template {where}{line}: {e.message or e} (check [digest] templates)"


def template_problems(config: Config) -> list[str]:
    """The custom templates that do not compile, one line each (none without a custom folder:
    the built-in templates are tested)."""
    if config.templates_dir is None:
        return []
    return [template_message(e) for e in template_errors(config.templates_dir)]


def _in_archive(digest: Digest, written: list[str], config: Config) -> Digest:
    """The digest as a file of reports/: linked to the index and to the nearest days written."""
    return replace(digest, in_archive=True, images=config.images,
                   previous_day=max((d for d in written if d < digest.date), default=None),
                   next_day=min((d for d in written if d > digest.date), default=None))


def render_day(config: Config, day: date | None, now: datetime | None = None) -> list[Path]:
    """Re-render one day's files from the database (`newsmon digest`)."""
    from ..clock import utcnow
    from .archive import opened

    with opened(config) as store:
        return write_for_day(store, config, now or utcnow(), config.labels, day=day)
