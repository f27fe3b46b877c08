"""The day a report is about, from the days its profile names (stages/profile.py reads them:
"on Tuesday", "yesterday", "March 4") and when it was published: what the story stage compares."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from .profile import Profile


def event_day(profile: Profile, when: datetime, zone: ZoneInfo) -> tuple[date, bool]:
    """(the day the report is about, whether the text names it): a named weekday is the latest
    such day up to the published day, a date without a year the nearest to it."""
    return _resolve(profile.day_named, when.astimezone(zone).date())


def event_days(profile: Profile, when: datetime, zone: ZoneInfo) -> frozenset[date]:
    """Every day the lead names (empty: it names none). A development names the day of the event
    it develops too ("police on Wednesday named the man killed Tuesday night"), which is how it
    is told from a report of another day's event."""
    local = when.astimezone(zone).date()
    days = (_resolve(named, local) for named in (profile.day_named, *profile.more_days) if named)
    return frozenset(day for day, named in days if named)


def _resolve(named: tuple[str, int, int] | None, local: date) -> tuple[date, bool]:
    if named is None:
        return local, False
    kind, a, b = named
    if kind == "relative":
        return local + timedelta(days=a), True
    if kind == "weekday":
        return local - timedelta(days=(local.weekday() - a) % 7), True
    try:
        named_day = min((date(local.year + k, a, b) for k in (-1, 0, 1)), key=lambda d: abs((d - local).days))
    except ValueError:
        return local, False
    if named_day > local:          # a date ahead ("takes effect on March 25") is not what happened
        return local, False
    return named_day, True
