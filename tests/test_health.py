"""Feed scheduling and health over real HTTP: backoff, Retry-After, 410, permanent redirects."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from world import serve_world

from pipeline.app.pipeline import run_once
from pipeline.demo.server import Page
from pipeline.records import FeedEvent, FeedOutcome, FeedState
from pipeline.stages.health import HealthPolicy, backoff_minutes, is_due, next_due, scheduled, status_of, transition

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def test_backoff_doubles_up_to_the_cap_and_honours_retry_after():
    assert [backoff_minutes(15, n, 240) for n in range(7)] == [15, 15, 30, 60, 120, 240, 240]
    assert next_due(NOW, 15, 0, 240) == NOW + timedelta(minutes=15)
    assert next_due(NOW, 15, 1, 240, retry_after_seconds=3600) == NOW + timedelta(hours=1)
    assert next_due(NOW, 15, 1, 240, retry_after_seconds=10 ** 9) == NOW + timedelta(hours=4)


def test_due_has_a_little_slack_for_timers():
    policy = HealthPolicy(15, 240, 3)
    assert is_due(FeedState("f", "u", "u"), NOW, policy)
    assert is_due(FeedState("f", "u", "u", next_due=NOW + timedelta(seconds=30)), NOW, policy)
    assert not is_due(FeedState("f", "u", "u", next_due=NOW + timedelta(minutes=5)), NOW, policy)


# (stored next_due from now, consecutive failures) -> due now? The policy never schedules further
# ahead than the interval (15) or, while failing, the cap (240): a time beyond that was written
# while the clock ran ahead, and must not silence the feed until the clock catches up.
SCHEDULES = [
    ("healthy, interval ahead: waits", timedelta(minutes=15), 0, False),
    ("healthy, beyond the interval: clock stepped back", timedelta(minutes=16), 0, True),
    ("healthy, 30 days ahead", timedelta(days=30), 0, True),
    ("failing, at the cap: waits", timedelta(minutes=240), 5, False),
    ("failing, beyond the cap", timedelta(minutes=241), 5, True),
    ("failing, 30 days ahead", timedelta(days=30), 1, True),
]


@pytest.mark.parametrize("ahead, failures, due", [s[1:] for s in SCHEDULES], ids=[s[0] for s in SCHEDULES])
def test_a_stored_time_beyond_the_longest_wait_is_due(ahead, failures, due):
    state = FeedState("f", "u", "u", next_due=NOW + ahead, consecutive_failures=failures)
    assert is_due(state, NOW, POLICY) is due
    assert scheduled(state, NOW, POLICY) == (NOW if due else NOW + ahead)


def test_every_wait_the_policy_sets_is_trusted():
    """The bound agrees with next_due: nothing transition schedules is mistaken for a clock step."""
    for failures in range(8):
        for retry_after in (None, 60, 7200, 10 ** 9):
            at = next_due(NOW, 15, failures, 240, retry_after if failures else None)
            state = FeedState("f", "u", "u", next_due=at, consecutive_failures=failures)
            assert scheduled(state, NOW, POLICY) == at


def test_status_labels():
    base = FeedState("f", "http://x/f", "http://x/f", status="ok", last_new_item=NOW - timedelta(days=1))
    assert status_of(base, NOW, 3, 7) == "ok"
    assert status_of(replace(base, consecutive_failures=2), NOW, 3, 7) == "error"
    assert status_of(replace(base, consecutive_failures=3), NOW, 3, 7) == "failing"
    assert status_of(replace(base, disabled="HTTP 410"), NOW, 3, 7) == "gone"
    assert status_of(replace(base, last_new_item=NOW - timedelta(days=8)), NOW, 3, 7) == "stale"
    assert status_of(replace(base, status=None), NOW, 3, 7) == "unchecked"


POLICY = HealthPolicy(interval_minutes=15, backoff_cap_minutes=240, failing_after=3)
FRESH = FeedState("f", "http://x/f", "http://x/f")
OK = FeedOutcome("f", "http://x/f", "ok", new=2, etag='"e2"', last_modified="Mon", title="F")
ERR = FeedOutcome("f", "http://x/f", "error", error="HTTP 500 Oops", http_status=500)
T0 = NOW - timedelta(hours=3)

# (previous state, outcome) -> what the change must hold; one row per rule of the module docstring
TRANSITIONS = [
    ("first success", FRESH, OK,
     dict(status="ok", consecutive_failures=0, first_checked=NOW, last_success=NOW, last_new_item=NOW,
          items_seen=2, etag='"e2"', title="F", next_due=NOW + timedelta(minutes=15)), []),
    ("a 304 keeps the validators", replace(FRESH, etag='"e1"', status="ok"),
     FeedOutcome("f", "http://x/f", "not_modified", etag='"e1"'),
     dict(status="not_modified", etag='"e1"', last_new_item=None, next_due=NOW + timedelta(minutes=15)), []),
    ("first failure backs off from the interval", FRESH, ERR,
     dict(consecutive_failures=1, error_since=NOW, last_error="HTTP 500 Oops", next_due=NOW + timedelta(minutes=15)), []),
    ("third failure is reported as failing once", replace(FRESH, consecutive_failures=2, error_since=T0), ERR,
     dict(consecutive_failures=3, error_since=T0, next_due=NOW + timedelta(minutes=60)),
     [FeedEvent("failing", "3 failures in a row: HTTP 500 Oops")]),
    ("fourth failure says nothing new", replace(FRESH, consecutive_failures=3, error_since=T0), ERR,
     dict(consecutive_failures=4, next_due=NOW + timedelta(minutes=120)), []),
    ("the cap holds", replace(FRESH, consecutive_failures=9, error_since=T0), ERR,
     dict(consecutive_failures=10, next_due=NOW + timedelta(minutes=240)), []),
    ("Retry-After asks for longer", FRESH, replace(ERR, retry_after=7200.0),
     dict(next_due=NOW + timedelta(hours=2)), []),
    ("410 disables", FRESH, replace(ERR, http_status=410, error="HTTP 410 Gone"),
     dict(disabled="HTTP 410 Gone since 2026-11-23T08:00:00+00:00"),
     [FeedEvent("gone", "http://x/f answered 410 Gone; no longer fetched (change its url in the config to start again)")]),
    ("recovery after failing", replace(FRESH, consecutive_failures=4, error_since=T0, last_error="x"), OK,
     dict(consecutive_failures=0, error_since=None, last_error=None),
     [FeedEvent("recovered", "working again after 4 failures")]),
    ("recovery before failing says nothing", replace(FRESH, consecutive_failures=1, error_since=T0), OK,
     dict(consecutive_failures=0), []),
    ("a permanent move updates the URL once", FRESH, replace(OK, moved_to="http://y/f", url="http://y/f"),
     dict(url="http://y/f"), [FeedEvent("moved", "http://x/f moved permanently to http://y/f")]),
    ("a warning is kept while ok, dropped on error", replace(FRESH, warning="old"), replace(OK, warning="ill-formed"),
     dict(warning="ill-formed"), []),
]


@pytest.mark.parametrize("previous, outcome, expected, events",
                         [t[1:] for t in TRANSITIONS], ids=[t[0] for t in TRANSITIONS])
def test_health_transition(previous, outcome, expected, events):
    change = transition(previous, outcome, NOW, POLICY)
    assert {k: getattr(change.state, k) for k in expected} == expected
    assert list(change.events) == events


def _feed_row(config, name: str) -> dict:
    with sqlite3.connect(config.database) as c:
        c.row_factory = sqlite3.Row
        return dict(c.execute("SELECT * FROM feeds WHERE name = ?", [name]).fetchone())


def test_a_failing_feed_is_retried_later_and_later_but_never_dropped(site, make_config, clock):
    site.routes["/down.xml"] = Page(b"down", status=503, content_type="text/plain")
    config = make_config([("down", site.url("/down.xml"))])
    waits = []
    for _ in range(6):
        run_once(config, clock=clock)
        row = _feed_row(config, "down")
        due = datetime.fromisoformat(row["next_due"])
        waits.append(round((due - clock.now).total_seconds() / 60))
        assert run_once(config, clock=clock).feeds == ()        # not due yet: not fetched
        clock.now = due
    assert waits == [15, 30, 60, 120, 240, 240]
    assert site.hits("/down.xml") == 6
    assert row["consecutive_failures"] == 6 and row["disabled"] is None


def test_retry_after_on_429_sets_the_next_check(site, make_config, clock):
    site.routes["/busy.xml"] = Page(b"", status=429, headers={"Retry-After": "7200"})
    config = make_config([("busy", site.url("/busy.xml"))])
    run_once(config, clock=clock)
    due = datetime.fromisoformat(_feed_row(config, "busy")["next_due"])
    assert due - clock.now == timedelta(hours=2)


def test_410_gone_disables_the_feed_and_says_so(site, make_config, clock):
    feeds = serve_world(site)
    site.routes["/gone.xml"] = Page(b"gone", status=410, content_type="text/plain")
    config = make_config([("daily-a", feeds["daily-a"]), ("old", site.url("/gone.xml"))])
    run_once(config, clock=clock)
    clock.now += timedelta(days=1)
    again = run_once(config, clock=clock)
    assert [f.name for f in again.feeds] == ["daily-a"]
    assert site.hits("/gone.xml") == 1
    day1 = json.loads((config.digest_dir / "2026-11-23.json").read_text())
    assert [e["kind"] for e in day1["events"]] == ["gone"]
    day2 = json.loads((config.digest_dir / "2026-11-24.json").read_text())
    [old] = [f for f in day2["feeds"] if f["name"] == "old"]
    assert old["health"] == "gone" and "410" in old["error"]      # still listed the next day


def test_permanent_redirect_updates_the_url_and_is_reported_once(site, make_config, clock):
    feeds = serve_world(site)
    site.routes["/moved.xml"] = Page(status=301, headers={"Location": "/a/rss.xml"})
    config = make_config([("daily-a", site.url("/moved.xml"))])
    run_once(config, clock=clock)
    assert _feed_row(config, "daily-a")["url"] == feeds["daily-a"]
    run_once(config, clock=clock, force=True)
    assert site.hits("/moved.xml") == 1              # the second run went to the new URL
    digest = json.loads((config.digest_dir / "2026-11-23.json").read_text())
    assert [(e["kind"], e["feed"]) for e in digest["events"]] == [("moved", "daily-a")]
    assert digest["feeds"][0]["url"] == feeds["daily-a"]


def test_a_run_while_the_clock_ran_ahead_does_not_silence_the_feeds(site, tmp_path, seeds_dir):
    """A run made while the system clock was 30 days ahead stores checks due in 30 days. Once the
    clock is right again, `newsmon run` (cron, a subprocess on the real clock) fetches every feed
    at once and `status` shows them due within their interval, not in a month."""
    from conftest import Clock, newsmon, write_config

    from pipeline.config import load_config

    feeds = serve_world(site)
    path = write_config(tmp_path, list(feeds.items()))
    config = load_config(path)
    ahead = Clock(datetime.now(timezone.utc) + timedelta(days=30))
    run_once(config, clock=ahead)
    assert datetime.fromisoformat(_feed_row(config, "daily-a")["next_due"]) > ahead.now
    hits = {name: site.hits(url.removeprefix(site.base)) for name, url in feeds.items()}
    before = datetime.now(timezone.utc)
    for feed in json.loads(newsmon("status", "--json", "--config", str(path)).stdout)["feeds"]:
        assert before - timedelta(minutes=1) < datetime.fromisoformat(feed["next_due"]) <= datetime.now(timezone.utc)

    done = newsmon("run", "--config", str(path))
    assert done.returncode == 0, done.stderr
    assert all(site.hits(url.removeprefix(site.base)) == hits[name] + 1 for name, url in feeds.items())

    status = newsmon("status", "--json", "--config", str(path))
    now = datetime.now(timezone.utc)
    for feed in json.loads(status.stdout)["feeds"]:
        assert now < datetime.fromisoformat(feed["next_due"]) <= now + timedelta(minutes=15), feed
