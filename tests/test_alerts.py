"""Alerts and team channels through real parts: Apprise posting to an HTTP receiver on 127.0.0.1,
real SQLite files, `newsmon` as a subprocess where a crash or the daemon matter."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from conftest import insert_row, newsmon, not_created, open_store, rows, write_config

from pipeline.app.alerts import queue_alerts, spike
from pipeline.app.notify import notify_now
from pipeline.app.pipeline import run_once
from pipeline.config import load_config
from pipeline.demo.site import FeedItem, article_page, rss_feed
from pipeline.records import StoryRecord
from pipeline.storage.store import Store

pytestmark = pytest.mark.both_engines  # each test on SQLite and on PostgreSQL (conftest: engine)


class Receiver:
    """A chat service on 127.0.0.1: records what Apprise posts, answers `status`; can go down
    and come back on the same port; `on_post` runs before it answers (to simulate a crash)."""

    def __init__(self, port: int = 0):
        self.received: list[dict] = []
        self.paths: list[str] = []
        self.status = 200
        self.on_post = None
        self.port = port
        self.start()

    def start(self) -> None:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                outer.received.append(json.loads(body))
                outer.paths.append(self.path)
                if outer.on_post:
                    outer.on_post()
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def identities(self) -> list[str]:
        return [m["message"].splitlines()[-1] for m in self.received]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


TRUCE = ["A local ceasefire held for six hours on Monday around the Zaporizhzhia plant, letting "
         "repair crews reach a damaged line near Enerhodar, the operator said.",
         "Inspectors accompanied the engineers. Shelling resumed in the evening; nobody was hurt."]


def _site(site, stories=(("truce", "Local ceasefire lets engineers reach the plant", TRUCE),)):
    items = []
    for slug, title, paragraphs in stories:
        site.routes[f"/{slug}"] = article_page(title, "Wire", "2026-11-23", paragraphs)
        items.append(FeedItem(title, site.url(f"/{slug}"), slug, "2026-11-23T06:00:00Z", paragraphs[0]))
    site.routes["/w.xml"] = rss_feed("W", site.base, items)
    return [("wire", site.url("/w.xml"))]


def _baseline(site, run) -> None:
    """The feed read once before its stories arrive: a first reading is a baseline, never an
    alert (stages/backlog.py), so a story must come after it to be news."""
    feed = site.routes["/w.xml"]
    site.routes["/w.xml"] = rss_feed("W", site.base, [])
    run()
    site.routes["/w.xml"] = feed


def _channels(url: str, extra: str = "") -> str:
    return f'''
[[channels]]
name = "desk"
url = "{url}"
receives = ["alerts"]

[[alerts]]
name = "ceasefire"
topics = ["ceasefire"]
{extra}'''


def test_an_alert_reaches_the_channel_once(site, tmp_path, seeds_dir, clock, receiver):
    config = load_config(write_config(tmp_path, _site(site), extra=_channels(receiver.url)))
    _baseline(site, lambda: run_once(config, clock=clock, force=True))
    run_once(config, clock=clock, force=True)
    [delivered] = notify_now(config, clock())
    assert delivered.sent == 1 and len(receiver.received) == 1
    message = receiver.received[0]
    assert message["title"].startswith("Alert: Local ceasefire lets engineers reach the plant [Ceasefire]")
    assert receiver.identities()[0].startswith("newsmon ceasefire story ")
    run_once(config, clock=clock, force=True)                      # a rerun: nothing new, nothing sent
    notify_now(config, clock())
    notify_now(config, clock())                                     # a pass repeated: nothing new
    assert len(receiver.received) == 1


def test_an_outage_keeps_the_alert_pending_and_recovery_delivers_it_once(site, tmp_path, seeds_dir, clock, receiver):
    config = load_config(write_config(tmp_path, _site(site), extra=_channels(receiver.url)))
    _baseline(site, lambda: run_once(config, clock=clock, force=True))
    receiver.stop()                                                 # the chat service is down
    run_once(config, clock=clock, force=True)
    [down] = notify_now(config, clock())
    assert down.sent == 0 and down.pending == 1 and down.errors
    status = json.loads(newsmon("status", "--json", "--config", str(config.path)).stdout)
    assert status["channels"][0]["pending"] == 1 and "Connection" in status["channels"][0]["last_error"]
    receiver.start()                                                # back, on the same port
    assert notify_now(config, clock())[0].sent == 0 # not before its retry time
    clock.now += timedelta(minutes=1)
    assert notify_now(config, clock())[0].sent == 1
    clock.now += timedelta(hours=2)
    notify_now(config, clock())
    assert len(receiver.received) == 1


def test_a_refusal_no_retry_can_fix_is_reported_with_the_setting(site, tmp_path, seeds_dir, clock, receiver):
    receiver.status = 401
    path = write_config(tmp_path, _site(site), extra=_channels(receiver.url))
    _baseline(site, lambda: newsmon("run", "--config", str(path)))
    done = newsmon("run", "--force", "--config", str(path))
    assert done.returncode == 0
    assert "channel desk: 1 NOT sent (permanent failure" in done.stderr
    status = json.loads(newsmon("status", "--json", "--config", str(path)).stdout)
    [channel] = status["channels"]
    assert channel["failed"] == 1 and "error=401" in channel["last_error"]
    assert "check [[channels]] desk url" in channel["last_error"]
    digest = next(load_config(path).digest_dir.glob("*.md")).read_text()
    assert "## Alerts (0 sent)" in digest and "— failed: channel desk:" in digest
    assert newsmon("run", "--force", "--config", str(path)).returncode == 0
    assert len(receiver.received) == 1                              # never retried


def test_a_crash_between_accepted_and_recorded_repeats_only_that_message(site, tmp_path, seeds_dir, receiver):
    feeds = _site(site, (("truce", "Local ceasefire lets engineers reach the plant", TRUCE),
                         ("talks", "Ceasefire talks resume in Geneva", [
                             "Delegations met in Geneva on Monday to resume talks on a ceasefire framework "
                             "for the southern front, diplomats said.", "A third round is planned."])))
    path = write_config(tmp_path, feeds, extra=_channels(receiver.url))
    _baseline(site, lambda: newsmon("run", "--config", str(path)))
    process = {}
    receiver.on_post = lambda: os.kill(process["pid"], signal.SIGKILL) if len(receiver.received) == 1 else None
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "run", "--force", "--config", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process["pid"] = proc.pid
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL and len(receiver.received) == 1
    receiver.on_post = None
    assert newsmon("run", "--config", str(path)).returncode == 0   # the next run sends what is pending
    ids = receiver.identities()
    assert len(ids) == 3 and ids[0] == ids[1] and ids[2] != ids[0]  # the one in flight repeated, once
    assert rows(load_config(path), "SELECT status, count(*) FROM messages GROUP BY status") == [("sent", 2)]


def test_the_daemon_alerts_within_a_cycle_exactly_once_across_an_outage_and_a_restart(site, tmp_path, seeds_dir,
                                                                                     receiver):
    path = write_config(tmp_path, _site(site), extra=_channels(receiver.url))
    _baseline(site, lambda: newsmon("run", "--config", str(path)))
    rows(load_config(path), "UPDATE feeds SET next_due = NULL")     # due again when the daemon starts
    receiver.stop()                                                 # down when the story arrives

    def serve():
        return subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--config", str(path)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    daemon = serve()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _statuses(path):
            time.sleep(0.3)
        assert _statuses(path) == [("pending",)]
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
    receiver.start()
    daemon = serve()                                                # restarted, the service back
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not receiver.received:
            time.sleep(0.3)
        assert len(receiver.received) == 1
        time.sleep(3)                                               # further cycles send nothing more
        assert len(receiver.received) == 1
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
    assert _statuses(path) == [("sent",)]


def _statuses(path) -> list[tuple]:
    """The stored messages' statuses; none before the daemon has created the database."""
    try:
        return rows(load_config(path), "SELECT status FROM messages")
    except not_created():
        return []


# --- rules on a stored history, with a fixed clock --------------------------------------------------

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def _store_with(config, stories: list[tuple[str, datetime, tuple[str, ...], list[str]]]) -> Store:
    """Stories as a run would have stored them: (id, first seen, topics, feeds of its reports)."""
    store = open_store(config)
    with store.transaction():
        for sid, when, topics, feeds in stories:
            for n, feed in enumerate(feeds):
                aid = sid if n == 0 else f"{sid}-{n}"
                insert_row(store, "articles", {
                    "id": aid, "identity": f"url:https://x.example/{aid}", "feed": feed, "url": f"https://x.example/{aid}",
                    "title": f"Story {sid}", "first_seen": (when + timedelta(minutes=20 * n)).isoformat(),
                    "text": "Text.", "text_source": "page", "fingerprint": aid, "story_id": sid,
                    "topics": json.dumps(list(topics))})
            store.save_story(StoryRecord(sid, when, when + timedelta(minutes=20 * (len(feeds) - 1)), sid, f"Story {sid}",
                                         len(feeds), len(feeds), topics))
    return store


def test_a_spike_against_the_same_hours_of_past_days_alerts_once_then_cools_down(tmp_path, seeds_dir):
    config = load_config(write_config(tmp_path, [], extra=_channels("json://127.0.0.1:9/hook")))
    history = [(f"h{d}", NOW - timedelta(days=d, hours=1), ("ceasefire",), ["a"]) for d in range(1, 16, 2)]
    burst = [(f"b{i}", NOW - timedelta(minutes=10 + 15 * i), ("ceasefire",), ["a"]) for i in range(6)]
    store = _store_with(config, history + burst)
    try:
        queue_alerts(store, config, NOW)
        spikes = rows(config, "SELECT key, title FROM messages WHERE kind = 'spike'")
        assert [t for _, t in spikes] == ["Spike: 6 new Ceasefire stories in 3 h"]
        queue_alerts(store, config, NOW + timedelta(hours=1))   # within the cooldown
        assert len(rows(config, "SELECT 1 FROM messages WHERE kind = 'spike'")) == 1
    finally:
        store.close()
    assert spike(6, [0, 1, 0, 1, 0, 1, 0], 3, 0.001)[0]
    assert not spike(3, [3, 2, 4, 3, 3, 2, 4], 3, 0.001)[0]          # a usual count for these hours
    assert not spike(2, [0] * 14, 3, 0.001)[0]                       # below the minimum


def test_a_story_confirmed_by_five_outlets_within_two_hours_surges_once(tmp_path, seeds_dir):
    config = load_config(write_config(tmp_path, [], extra=_channels("json://127.0.0.1:9/hook")))
    store = _store_with(config, [("fast", NOW - timedelta(hours=2), ("nato",), ["a", "b", "c", "d", "e"]),
                                 ("slow", NOW - timedelta(hours=30), ("nato",), ["a", "b", "c", "d"] + ["e"])])
    try:
        store.conn.execute("UPDATE articles SET first_seen = ? WHERE id = 'slow-4'", [(NOW - timedelta(hours=1)).isoformat()])
        store.conn.execute("UPDATE stories SET last_seen = ? WHERE id = 'slow'", [(NOW - timedelta(hours=1)).isoformat()])
        queue_alerts(store, config, NOW)
        queue_alerts(store, config, NOW)
    finally:
        store.close()
    assert rows(config, "SELECT kind, key FROM messages WHERE kind = 'surge'") == [("surge", "fast")]


def test_the_hourly_cap_sends_the_overflow_as_one_batched_message(site, tmp_path, seeds_dir, clock, receiver):
    stories = [(f"s{i}", f"Ceasefire holds in town number {i}", [
        f"A local ceasefire held in Town{i} on Monday, officials of the Town{i} council said.",
        "Repairs began."]) for i in range(5)]
    config = load_config(write_config(tmp_path, _site(site, stories),
                                      extra="fetch_pages = false\n" + _channels(receiver.url) + "\n[alerting]\nmax_per_hour = 2\n"))
    _baseline(site, lambda: run_once(config, clock=clock, force=True))
    run_once(config, clock=clock, force=True)
    [delivered] = notify_now(config, clock())
    assert delivered.sent == 1 and delivered.batched == 4            # one alert alone, then one batch of four
    assert len(receiver.received) == 2 and receiver.received[1]["title"] == "4 more alerts"
    assert rows(config, "SELECT status, count(*) FROM messages GROUP BY status ORDER BY status") == [
        ("batched", 4), ("sent", 2)]


def test_channel_settings_are_checked_with_file_line_and_key(tmp_path, seeds_dir):
    path = write_config(tmp_path, [], extra='''
[[channels]]
name = "desk"
url = "slack://T1/B1/{password}"
topics = ["weather"]

[[channels]]
name = "desk"
url = "not a url"
password_env = "X"

[[alerts]]
channels = ["nowhere"]
''')
    done = newsmon("config", "check", "--config", str(path))
    assert done.returncode == 2
    for expected in ("channels[1].topics: unknown topic id(s) weather", "channels[2].name: duplicate channel name",
                     "channels[2].url: expected an Apprise URL", "alerts[1].channels: unknown channel(s) nowhere"):
        assert expected in done.stdout + done.stderr, expected
    assert f"{path}:" in done.stdout + done.stderr


def test_channels_test_and_probe(tmp_path, seeds_dir, receiver):
    path = write_config(tmp_path, [], extra=_channels(receiver.url))
    done = newsmon("channels", "test", "desk", "--config", str(path))
    assert done.returncode == 0 and receiver.received[0]["title"] == "newsmon test message"
    assert newsmon("channels", "test", "nope", "--config", str(path)).returncode == 2
    receiver.status = 404
    failed = newsmon("channels", "test", "desk", "--config", str(path))
    assert failed.returncode == 1 and "error=404" in failed.stderr
    probe = newsmon("config", "check", "--probe", "--config", str(path))
    assert "probe: channel desk: ok" in probe.stdout and len(receiver.received) == 2   # the probe sends nothing


def test_ntfy_channels_and_quiet_hours(site, tmp_path, seeds_dir, clock, receiver):
    """The same alert through Apprise's ntfy:// scheme; in quiet hours it waits, then goes out."""
    extra = f'''
[[channels]]
name = "duty"
url = "ntfy://127.0.0.1:{receiver.port}/duty"

[[alerts]]
topics = ["ceasefire"]

[alerting]
quiet_hours = "09:00-11:00"
'''
    config = load_config(write_config(tmp_path, _site(site), extra=extra))
    _baseline(site, lambda: run_once(config, clock=clock, force=True))
    run_once(config, clock=clock, force=True)             # 08:00 UTC is 10:00 in Kyiv: quiet
    assert notify_now(config, clock())[0].sent == 0 and receiver.received == []
    clock.now += timedelta(hours=1, minutes=30)                     # 11:30 in Kyiv
    assert notify_now(config, clock())[0].sent == 1
    [message] = receiver.received
    assert message["topic"] == "duty" and message["title"].startswith("Alert: Local ceasefire")


def test_a_story_alerts_once_then_once_more_when_more_outlets_report_it(tmp_path, seeds_dir):
    config = load_config(write_config(tmp_path, [], extra=_channels("json://127.0.0.1:9/hook")))
    store = _store_with(config, [("s", NOW - timedelta(hours=1), ("ceasefire",), ["a", "b"])])
    try:
        queue_alerts(store, config, NOW)
        assert rows(config, "SELECT kind FROM messages") == [("alert",)]
        insert_row(store, "articles", {"id": "s-2", "identity": "url:https://x.example/s-2", "feed": "c",
                                     "url": "https://x.example/s-2", "title": "Story s", "first_seen": NOW.isoformat(),
                                     "text": "Text.", "text_source": "page", "fingerprint": "s-2", "story_id": "s",
                                     "topics": '["ceasefire"]'})
        store.conn.execute("UPDATE stories SET last_seen = ?, outlets = 3, reports = 3 WHERE id = 's'", [NOW.isoformat()])
        for _ in range(2):                                          # a third outlet: one update, not two
            queue_alerts(store, config, NOW)
    finally:
        store.close()
    assert rows(config, "SELECT kind, title FROM messages ORDER BY id") == [
        ("alert", "Alert: Story s [Ceasefire]"), ("update", "Now 3 outlets: Story s [Ceasefire]")]


def test_a_channel_gets_the_previous_days_digest_once_from_send_at(site, tmp_path, seeds_dir, clock, receiver):
    extra = f'''
[digest]
base_url = "https://news.example.org/digests/"

[[channels]]
name = "team"
url = "{receiver.url}"
receives = ["digest"]
'''
    path = write_config(tmp_path, _site(site), extra=extra)
    text = path.read_text().replace('[digest]\ndirectory = "reports"\nformats = ["html", "md", "json", "txt"]\n'
                                    'timezone = "Europe/Kyiv"\n', "")
    path.write_text(text.replace('[digest]\nbase_url', '[digest]\ndirectory = "reports"\ntimezone = "Europe/Kyiv"\nbase_url'))
    config = load_config(path)
    run_once(config, clock=clock, force=True)                       # stories of 2026-11-23
    assert notify_now(config, clock())[0].sent == 0  # the day is not over
    clock.now = datetime(2026, 11, 24, 5, 30, tzinfo=timezone.utc)   # 07:30 in Kyiv, after send_at
    assert notify_now(config, clock())[0].sent == 1
    notify_now(config, clock())
    [message] = receiver.received
    assert message["title"] == "News digest 2026-11-23: 1 story"
    assert rows(config, "SELECT key, status FROM messages ORDER BY id") == [("2026-11-22", "skipped"),
                                                                          ("2026-11-23", "sent")]
    assert "- Local ceasefire lets engineers reach the plant (1 outlet) http" in message["message"]
    assert "Full digest: https://news.example.org/digests/2026-11-23.html" in message["message"]


def test_a_batch_that_failed_is_retried_once_even_within_the_same_minute(site, tmp_path, seeds_dir, clock, receiver):
    """The overflow batch failed (service down); the next cycle, in the same minute, finds the same
    batch identity stored: it waits for its retry time, then goes out once with its alerts."""
    stories = [(f"s{i}", f"Ceasefire holds in town number {i}", [
        f"A local ceasefire held in Town{i} on Monday, officials of the Town{i} council said.",
        "Repairs began."]) for i in range(4)]
    config = load_config(write_config(tmp_path, _site(site, stories),
                                      extra="fetch_pages = false\n" + _channels(receiver.url)
                                      + "\n[alerting]\nmax_per_hour = 1\nspike_min_stories = 100\n"))  # alerts only
    _baseline(site, lambda: run_once(config, clock=clock, force=True))
    run_once(config, clock=clock, force=True)
    receiver.status = 503                                           # the batch is refused, for now
    [first] = notify_now(config, clock())
    assert first.batched == 0 and first.errors and first.pending == 4
    [again] = notify_now(config, clock())           # the same minute: no crash, no send
    assert again.batched == 0 and len(receiver.received) == 1
    receiver.status = 200
    clock.now += timedelta(minutes=1)
    [later] = notify_now(config, clock())
    assert later.batched == 4 and len(receiver.received) == 2 and receiver.received[1]["title"] == "4 more alerts"
    assert rows(config, "SELECT kind, status FROM messages WHERE kind = 'batch'") == [("batch", "sent")]


def test_the_secret_comes_from_the_environment_never_the_file(tmp_path, seeds_dir, receiver):
    path = write_config(tmp_path, [], extra=f'''
[[channels]]
name = "desk"
url = "json://127.0.0.1:{receiver.port}/{{password}}"
password_env = "NEWSMON_TEST_HOOK_SECRET"
''')
    env = {**os.environ, "NEWSMON_TEST_HOOK_SECRET": "s3cret-hook"}
    done = subprocess.run([sys.executable, "-m", "pipeline", "channels", "test", "desk", "--config", str(path)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and receiver.paths == ["/s3cret-hook"]
    assert "s3cret" not in path.read_text()
    unset = newsmon("config", "check", "--probe", "--config", str(path))
    assert "environment variable NEWSMON_TEST_HOOK_SECRET is not set here" in unset.stdout
