"""`newsmon serve` as systemd runs it: a real subprocess, second-scale intervals, real signals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

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
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


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
