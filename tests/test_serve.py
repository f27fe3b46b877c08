"""`newsmon serve` as systemd runs it: a real subprocess, second-scale intervals, real signals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_config
from world import serve_world


def wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def start(path: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipeline", "--log-format", "json", "serve", "--config", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_daemon_fetches_on_schedule_writes_the_digest_and_stops_on_sigterm(site, tmp_path, seeds_dir):
    feeds = serve_world(site)
    path = write_config(tmp_path, list(feeds.items()))
    text = path.read_text().replace("[fetch]\n", "[fetch]\ninterval_minutes = 0.02\n")   # 1.2 s
    path.write_text(text)
    proc = start(path)
    try:
        assert wait_for(lambda: site.hits("/a/rss.xml") >= 3), "feed not fetched on schedule"
        assert wait_for(lambda: any((tmp_path / "reports").glob("????-??-??.json")))
        digest = json.loads(next((tmp_path / "reports").glob("????-??-??.json")).read_text())
        assert len(digest["articles"]) == 6

        # a second process cannot run beside the daemon
        other = subprocess.run([sys.executable, "-m", "pipeline", "run", "--config", str(path)],
                               capture_output=True, text=True, timeout=60)
        assert other.returncode == 75
        second = subprocess.run([sys.executable, "-m", "pipeline", "serve", "--config", str(path)],
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 75         # SQLite: one daemon (PostgreSQL: any number, test_workers)

        # a bad config on SIGHUP is refused and the daemon keeps going
        path.write_text(text + "\n[fetch]\nbogus = 1\n")
        proc.send_signal(signal.SIGHUP)
        hits = site.hits("/a/rss.xml")
        assert wait_for(lambda: site.hits("/a/rss.xml") >= hits + 2)

        # a good config on SIGHUP is taken: a feed added to it starts being fetched
        site.routes["/c.xml"] = site.routes["/a/rss.xml"]
        path.write_text(text + f'\n[[feeds]]\nname = "added"\nurl = "{site.url("/c.xml")}"\n')
        proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: site.hits("/c.xml") >= 2), "the reloaded config's new feed was not scheduled"

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    logs = [json.loads(line) for line in proc.stderr.read().splitlines() if line.startswith("{")]
    messages = [e["message"] for e in logs]
    assert any("reload refused, keeping the running config" in m for m in messages)
    assert any(m.startswith("config reloaded from") and "3 feeds" in m for m in messages)
    assert any(m.startswith("SIGTERM: stopping") for m in messages) and messages[-1] == "stopped"
    assert all("feed" in e and "url" in e for e in logs if e["message"].startswith("feed "))


def test_daemon_sends_the_due_digest_once_across_restarts(site, tmp_path, seeds_dir):
    from smtp import SMTPServer

    feeds = serve_world(site)
    with SMTPServer() as smtp:
        email = (f'\n[email]\nenabled = true\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\n'
                 f'send_at = "00:00"\n[[email.recipients]]\naddress = "desk@example.org"\n')
        path = write_config(tmp_path, list(feeds.items()), extra=email)
        for attempt in range(2):                      # a machine that slept, then a restart
            proc = start(path)
            try:
                assert wait_for(lambda: len(smtp.inbox.messages) >= 1), "the due digest was not sent"
                time.sleep(2)                         # time for a wrong second send to show
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(timeout=30) == 0
            finally:
                if proc.poll() is None:
                    proc.kill()
        assert len(smtp.inbox.messages) == 1
        assert smtp.inbox.messages[0][1] == ["desk@example.org"]


def _email_config(site, tmp_path, port: int) -> Path:
    from test_email import email_section

    feeds = serve_world(site)
    path = write_config(tmp_path, list(feeds.items()), extra=email_section(port).replace('send_at = "07:00"', 'send_at = "00:00"'))
    path.write_text(path.read_text().replace("[fetch]\n", "[fetch]\ninterval_minutes = 0.02\n"))   # 1.2 s
    return path


def test_the_daemon_retries_a_pending_email_within_cycles_not_tomorrow(site, tmp_path, seeds_dir):
    from smtp import SMTPServer, free_port

    port = free_port()
    path = _email_config(site, tmp_path, port)            # the mail server is down at first
    proc = start(path)
    try:
        assert wait_for(lambda: "not delivered (pending)" in _log_so_far(proc), 30)
        with SMTPServer(port=port) as smtp:               # back up: the next tries deliver it
            assert wait_for(lambda: len(smtp.inbox.messages) == 2, 45), "pending email not retried"
            time.sleep(3)
            assert len(smtp.inbox.messages) == 2          # once per recipient, not once per cycle
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_digest_send_beside_the_daemon_asks_it_to_send(site, tmp_path, seeds_dir):
    from smtp import SMTPServer, free_port

    port = free_port()
    path = _email_config(site, tmp_path, port)
    proc = start(path)
    try:
        assert wait_for(lambda: "not delivered (pending)" in _log_so_far(proc), 30)
        with SMTPServer(port=port) as smtp:
            asked = subprocess.run([sys.executable, "-m", "pipeline", "digest", "--send", "--config", str(path)],
                                   capture_output=True, text=True, timeout=60)
            assert asked.returncode == 0, asked.stderr
            assert f"the running daemon (pid {proc.pid}) was asked to send the due email now" in asked.stdout
            assert wait_for(lambda: len(smtp.inbox.messages) == 2, 10), "the daemon did not send at once"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_feed_edits_reach_the_running_daemon(site, tmp_path, seeds_dir):
    feeds = serve_world(site)
    path = write_config(tmp_path, list(feeds.items()))
    path.write_text(path.read_text().replace("[fetch]\n", "[fetch]\ninterval_minutes = 0.02\n"))
    site.routes["/extra.xml"] = site.routes["/a/rss.xml"]
    proc = start(path)
    try:
        assert wait_for(lambda: site.hits("/a/rss.xml") >= 2)
        from pipeline.app.feeds import reload_daemon
        from pipeline.configedit import append_feed, edit, new_feed

        edit(path, lambda doc: append_feed(doc, new_feed("extra", site.url("/extra.xml"))))
        assert reload_daemon(path) == proc.pid
        assert wait_for(lambda: site.hits("/extra.xml") >= 2, 20), "the daemon did not take the edit"
        disabled = subprocess.run([sys.executable, "-m", "pipeline", "feeds", "disable", "extra", "--config", str(path)],
                                  capture_output=True, text=True, timeout=60)
        assert f"the running daemon (pid {proc.pid}) was told to reload the config" in disabled.stdout
    finally:
        # the stop comes while the reload `feeds disable` asked for may be under way: it stops all the
        # same (it deadlocked in APScheduler's shutdown in 5 of 12 runs before Service.edits)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_the_daemon_fetches_feeds_a_run_scheduled_while_the_clock_ran_ahead(site, tmp_path, seeds_dir):
    """A run 30 days ahead of the real clock left every feed due in 30 days (15-minute interval).
    The daemon started on the right clock fetches them within seconds, not in a month."""
    from datetime import datetime, timedelta, timezone

    from conftest import Clock

    from pipeline.app.pipeline import run_once
    from pipeline.config import load_config

    feeds = serve_world(site)
    path = write_config(tmp_path, list(feeds.items()))
    run_once(load_config(path), clock=Clock(datetime.now(timezone.utc) + timedelta(days=30)))
    hits = site.hits("/a/rss.xml")
    proc = start(path)
    try:
        assert wait_for(lambda: site.hits("/a/rss.xml") > hits, 20), "the daemon waits for the wrong clock"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


_LOGS: dict[int, list[str]] = {}


def _log_so_far(proc) -> str:
    """What the daemon logged so far (read without blocking)."""
    import os
    import select

    lines = _LOGS.setdefault(proc.pid, [])
    fd = proc.stderr.fileno()
    os.set_blocking(fd, False)
    while select.select([fd], [], [], 0)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        lines.append(chunk.decode(errors="replace"))
    return "".join(lines)


def _many_seeds(seeds_dir: Path, count: int = 3000) -> None:
    """Seed files enough that the daemon's start-up (reading and cleaning them) takes seconds."""
    text = next(seeds_dir.glob("*.txt")).read_text()
    for n in range(count):
        (seeds_dir / f"bulk_{n:05d}.txt").write_text(f"Item {n}.\n{text}")


def _pid_published(path: Path, proc) -> bool:
    lock = path.parent / "data" / "newsmon.db.lock"
    return lock.exists() and lock.read_text().startswith(f"{proc.pid} serve")


def test_signals_while_the_daemon_starts_are_handled_not_fatal(site, tmp_path, seeds_dir):
    """`feeds disable` (SIGHUP) or `digest --send` (SIGUSR1) may come the moment the pid is in the
    lock file, while the daemon still reads 3,000 seed files: it survives both and serves; SIGTERM
    in the same window stops it cleanly (exit 0)."""
    feeds = serve_world(site)
    path = write_config(tmp_path, list(feeds.items()))
    path.write_text(path.read_text().replace("[fetch]\n", "[fetch]\ninterval_minutes = 0.02\n"))
    _many_seeds(seeds_dir)
    proc = start(path)
    try:
        assert wait_for(lambda: _pid_published(path, proc), 30)
        proc.send_signal(signal.SIGHUP)
        proc.send_signal(signal.SIGUSR1)
        assert "serving" not in _log_so_far(proc), "the signals came too late to test the start-up window"
        assert wait_for(lambda: site.hits("/a/rss.xml") >= 2, 30), f"daemon died: {proc.poll()}"
        assert wait_for(lambda: "config reloaded from" in _log_so_far(proc), 10)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()

    proc = start(path)                          # the same window, SIGTERM: a clean stop
    try:
        assert wait_for(lambda: _pid_published(path, proc), 30)
        proc.send_signal(signal.SIGTERM)
        assert "serving" not in _log_so_far(proc)
        assert proc.wait(timeout=30) == 0
        assert "stopped" in _log_so_far(proc)
    finally:
        if proc.poll() is None:
            proc.kill()


class _Settable:
    def __init__(self, value: float):
        self.value = value

    def __call__(self) -> float:
        return self.value


def test_a_step_of_the_wall_clock_is_told_from_its_drift():
    from pipeline.serve import WallClockWatch

    wall, mono = _Settable(1_000_000.0), _Settable(50.0)
    watch = WallClockWatch(wall, mono)
    wall.value += 0.5
    mono.value += 0.5
    assert watch.stepped() == 0.0                         # time passing is no step
    wall.value += 0.5 + 0.2
    mono.value += 0.5
    assert watch.stepped() == 0.0                         # NTP slewing, within the tolerance
    wall.value -= 30 * 86400
    assert watch.stepped() == pytest.approx(-30 * 86400)  # stepped back 30 days: told once
    assert watch.stepped() == 0.0


def test_a_clock_step_while_serving_brings_the_jobs_back_to_the_new_time(site, tmp_path, seeds_dir):
    """APScheduler keeps run times in wall time: after the clock stepped back 30 days its jobs sit
    30 days ahead (as they are set here). The daemon's answer to the step puts every job back
    within its period of the new time, so feeds are fetched again within seconds."""
    from datetime import datetime, timedelta

    from pipeline.config import load_config
    from pipeline.serve import Service, feed_tick_seconds

    path = write_config(tmp_path, list(serve_world(site).items()))
    service = Service(path, load_config(path))
    service.scheduler.start(paused=True)
    try:
        service._schedule()
        later = datetime.now(service.config.zone) + timedelta(days=30)
        for job in service.scheduler.get_jobs():
            job.modify(next_run_time=later)             # where a step back leaves them
        service.scheduler.resume()
        service.clock_stepped(-30 * 86400.0)
        limit = timedelta(seconds=feed_tick_seconds(service.config) + 60)

        def back_in_time() -> bool:
            jobs = {j.id: j.next_run_time for j in service.scheduler.get_jobs()}
            now = datetime.now(service.config.zone)
            return {"feeds", "digest"} <= set(jobs) and all(jobs[i] <= now + limit for i in ("feeds", "digest"))
        assert wait_for(back_in_time, 10), [(j.id, j.next_run_time) for j in service.scheduler.get_jobs()]
    finally:
        service.stopping.set()
        service.scheduler.shutdown(wait=True)
        service.pipeline.close()
        service.store.close()


def test_a_template_broken_while_serving_is_reported_at_the_reload(site, tmp_path, seeds_dir):
    """Nothing new arrives, so the digest is not rendered again; yet a custom template broken
    since is logged (file, line) as soon as the daemon is told to reload, not at the next news."""
    feeds = serve_world(site)
    path = write_config(tmp_path, list(feeds.items()))
    path.write_text(path.read_text().replace("[digest]\n", '[digest]\ntemplates = "brand"\n'))
    (tmp_path / "brand").mkdir()
    template = tmp_path / "brand" / "digest.txt.j2"
    template.write_text("{{ d.date }}: {{ d.articles|length }} stories\n")
    proc = start(path)
    try:
        assert wait_for(lambda: any((tmp_path / "reports").glob("*.txt")), 30)
        template.write_text("{{ d.date }}:\n{% if d.articles %}\n")
        proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: f"digest template {template}, line 2" in _log_so_far(proc), 15)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
