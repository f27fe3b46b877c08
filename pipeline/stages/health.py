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

All of it is one pure transition, `transition(previous, outcome, now, policy) -> FeedChange`: the
new state and the events (moved, gone, failing, recovered); the store only persists the change.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ..config import Config, FeedConfig
from ..records import FeedChange, FeedEvent, FeedOutcome, FeedState


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


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    interval_minutes: float               # the feed's interval
    backoff_cap_minutes: float            # failing feeds are retried at most this far apart
    failing_after: int                    # consecutive failures before "failing" is reported


def policy_for(config: Config, feed: FeedConfig) -> HealthPolicy:
    fetch = config.fetch
    return HealthPolicy(config.interval(feed), fetch.backoff_cap_minutes, fetch.failing_after)


def longest_wait(failures: int, policy: HealthPolicy) -> timedelta:
    """The furthest ahead `next_due` schedules a check: the interval, or while failing the cap
    (which also bounds Retry-After)."""
    if failures <= 0:
        return timedelta(minutes=policy.interval_minutes)
    return timedelta(minutes=max(policy.interval_minutes, policy.backoff_cap_minutes))


def scheduled(state: FeedState, now: datetime, policy: HealthPolicy) -> datetime | None:
    """When the feed is checked next, as far as the stored time can be trusted: one beyond the
    longest wait from now is not the policy's (see the module docstring) and means now."""
    if state.next_due is not None and state.next_due > now + longest_wait(state.consecutive_failures, policy):
        return now
    return state.next_due


def is_due(state: FeedState, now: datetime, policy: HealthPolicy) -> bool:
    at = scheduled(state, now, policy)
    if at is None:
        return True
    slack = timedelta(seconds=min(60.0, policy.interval_minutes * 60 * 0.1))
    return at <= now + slack


def transition(previous: FeedState, outcome: FeedOutcome, now: datetime, policy: HealthPolicy) -> FeedChange:
    """The feed after one check: counters, validators, schedule and the events to report once."""
    failed = outcome.status == "error"
    failures = previous.consecutive_failures + 1 if failed else 0
    state = replace(
        previous, status=outcome.status, last_checked=now, first_checked=previous.first_checked or now,
        last_error=outcome.error if failed else None, consecutive_failures=failures,
        error_since=(previous.error_since or now) if failed else None,
        warning=None if failed else outcome.warning,
        next_due=next_due(now, policy.interval_minutes, failures, policy.backoff_cap_minutes, outcome.retry_after))
    events = []
    if failed and outcome.http_status == 410:
        state = replace(state, disabled=f"HTTP 410 Gone since {now.isoformat(timespec='seconds')}")
        events.append(FeedEvent("gone", f"{outcome.url} answered 410 Gone; no longer fetched "
                                        "(change its url in the config to start again)"))
    elif failed and failures == policy.failing_after:
        events.append(FeedEvent("failing", f"{failures} failures in a row: {outcome.error}"))
    elif not failed and previous.consecutive_failures >= policy.failing_after:
        events.append(FeedEvent("recovered", f"working again after {previous.consecutive_failures} failures"))
    if outcome.moved_to and outcome.moved_to != previous.url:
        events.append(FeedEvent("moved", f"{previous.url} moved permanently to {outcome.moved_to}"))
        state = replace(state, url=outcome.moved_to)
    if not failed:
        state = replace(state, last_success=now, title=outcome.title or previous.title)
        if outcome.status == "ok":
            state = replace(state, etag=outcome.etag, last_modified=outcome.last_modified)
    if outcome.new:
        state = replace(state, last_new_item=now, items_seen=previous.items_seen + outcome.new)
    return FeedChange(state, tuple(events))


def status_of(state: FeedState, now: datetime, failing_after: int, stale_after_days: float) -> str:
    """The health label of a stored feed (see the module docstring)."""
    if state.disabled:
        return "gone"
    if state.status is None:
        return "unchecked"
    if state.consecutive_failures:
        return "failing" if state.consecutive_failures >= failing_after else "error"
    since = state.last_new_item or state.first_checked
    if since and since < now - timedelta(days=stale_after_days):
        return "stale"
    return "ok"


def shown_in_digest(state: FeedState) -> tuple:
    """What the digest's health section shows of a feed (its times aside): when it changes, the
    day's digest is written again."""
    return (state.status == "error", state.consecutive_failures, state.last_error, state.warning, state.disabled,
            state.url)
