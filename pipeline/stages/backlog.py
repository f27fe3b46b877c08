"""Backlog: what a run stores that is not news.

A feed read for the first time brings its whole backlog, and any feed may carry an item from
2011. Both are stored and searchable like everything else, but neither is news:
- **first**: an item of its feed's first successful reading: the baseline newsmon starts from.
  It is listed in that day's digest (it is this week's, not today's alarm) but raises no alert,
  surge or spike, and the digest says "first reading of N feeds: M earlier items stored";
- **old**: an item published more than `[fetch] max_age_days` before it was stored, whatever
  the reading: not listed among the day's stories, never alerted (the digest counts them).
An item without a date is taken as news: feeds that omit dates are not punished for it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from ..config import FetchOptions
from ..records import Article


def backlog_of(published: datetime | None, first_reading: bool, now: datetime, max_age_days: float) -> str | None:
    """"old", "first", or None (news). "old" first: the digest leaves an old item out even
    when it came with a first reading."""
    if published is not None and published < now - timedelta(days=max_age_days):
        return "old"
    return "first" if first_reading else None


def mark_backlog(articles: list[Article], first_reading: bool, now: datetime, fetch: FetchOptions) -> list[Article]:
    """The feed's articles, each with its backlog mark (None: news)."""
    return [replace(a, backlog=backlog_of(a.published, first_reading, now, fetch.max_age_days)) for a in articles]
