"""Feed health policy: when a feed is due, how failures back off, what its status means.

- A healthy feed is due every `interval` minutes (with a little slack, so a 15-minute timer
  never misses a 15-minute feed by a second).
- Each consecutive failure doubles the wait, up to the cap: 15, 30, 60, 120, 240, 240… minutes.
  A Retry-After from a 429/503 is honoured when it asks for longer. A failing feed is never
  dropped: it keeps being retried at the cap.
- Status, as the digest and `newsmon status` show it:
    ok         last check worked (new items or 304)
    error      last check failed, fewer than `failing_after` times in a row
    failing    `failing_after` or more failures in a row: listed in every digest until it recovers
    gone       the server said 410 Gone: disabled until its URL changes in the config
    stale      works, but no new item for `stale_after_days`
    unchecked  configured, never checked yet
"""

from __future__ import annotations

from datetime import datetime, timedelta


def backoff_minutes(interval: float, failures: int, cap: float) -> float:
    if failures <= 0:
        return interval
    return min(interval * 2 ** (failures - 1), max(cap, interval))


def next_due(now: datetime, interval: float, failures: int, cap: float,
             retry_after_seconds: float | None = None) -> datetime:
    wait = timedelta(minutes=backoff_minutes(interval, failures, cap))
    if retry_after_seconds is not None:
        wait = max(wait, timedelta(seconds=min(retry_after_seconds, cap * 60)))
    return now + wait


def is_due(next_due_at: str | None, now: datetime, interval: float) -> bool:
    if not next_due_at:
        return True
    slack = timedelta(seconds=min(60.0, interval * 60 * 0.1))
    return datetime.fromisoformat(next_due_at) <= now + slack


def status_of(row: dict, now: datetime, failing_after: int, stale_after_days: float) -> str:
    """The health label of a stored feed row (see the module docstring)."""
    if row.get("disabled"):
        return "gone"
    if row.get("status") is None:
        return "unchecked"
    failures = row.get("consecutive_failures") or 0
    if failures:
        return "failing" if failures >= failing_after else "error"
    since = row.get("last_new_item") or row.get("first_checked")
    if since and datetime.fromisoformat(since) < now - timedelta(days=stale_after_days):
        return "stale"
    return "ok"
