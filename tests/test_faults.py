"""Faults: a run killed with SIGKILL half-way, a full disk, a read-only database."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import newsmon, write_config
from smtp import SMTPServer
from world import HARVEST_STORY, NATO_STORY

from pipeline.demo.server import Page
from pipeline.demo.site import FeedItem, article_page, rss_feed


def slow_world(site, feeds: int = 6, items: int = 3, delay: float = 0.4) -> list[tuple[str, str]]:
    out = []
    for f in range(feeds):
        entries = []
        for i in range(items):
            path = f"/f{f}/a{i}"
            site.routes[path] = Page(article_page(f"Story {f}-{i}", "Slow", "2026-11-23",
                                                  [f"Story {f}-{i}. " + NATO_STORY[0]] + NATO_STORY[1:] + HARVEST_STORY).body,
                                     delay=delay)
            entries.append(FeedItem(f"Story {f}-{i}", site.url(path), f"g{f}-{i}", "2026-11-23T06:00:00Z", "summary"))
        site.routes[f"/f{f}.xml"] = rss_feed(f"F{f}", site.base, entries)
        out.append((f"feed{f}", site.url(f"/f{f}.xml")))
    return out


def query(db: Path, sql: str):
    with sqlite3.connect(db, timeout=30) as c:
        return c.execute(sql).fetchall()


def test_a_run_killed_half_way_leaves_no_partial_rows_and_the_next_run_completes(site, tmp_path, seeds_dir):
    feeds = slow_world(site)
    path = write_config(tmp_path, feeds).read_text().replace("[fetch]\n", "[fetch]\nper_host = 1\nconcurrency = 1\n")
    (tmp_path / "newsmon.toml").write_text(path)
    db = tmp_path / "data" / "newsmon.db"
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "run", "--config", str(tmp_path / "newsmon.toml")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if db.exists() and query(db, "SELECT count(*) FROM sqlite_master WHERE name = 'run_feeds'")[0][0] \
                and query(db, "SELECT count(*) FROM run_feeds")[0][0] >= 1:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    query(db, "INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")   # raises if corrupt
    assert query(db, "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'story'")[0][0] == \
        query(db, "SELECT count(*) FROM articles")[0][0]           # every stored article searchable
    per_feed = dict(query(db, "SELECT feed, count(*) FROM articles GROUP BY feed"))
    assert 1 <= len(per_feed) < 6, per_feed                    # killed half-way…
    assert set(per_feed.values()) == {3}                        # …but no feed half-stored
    assert query(db, "SELECT status FROM runs") == [("running",)]

    again = newsmon("run", "--config", str(tmp_path / "newsmon.toml"))
    assert again.returncode == 0, again.stderr
    assert query(db, "SELECT count(*), count(DISTINCT identity) FROM articles") == [(18, 18)]
    assert query(db, "SELECT status FROM runs ORDER BY id") == [("interrupted",), ("ok",)]


@contextmanager
def tiny_disk(folder: Path, size: str):
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({result.stderr.strip()}); needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_a_full_disk_is_a_clear_error_and_nothing_is_marked_sent(site, tmp_path, seeds_dir):
    feeds = slow_world(site, feeds=3, items=3, delay=0)
    with SMTPServer() as smtp, tiny_disk(tmp_path / "data", "160k"):
        email = (f'\n[email]\nenabled = true\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\n'
                 f'send_at = "00:00"\n[[email.recipients]]\naddress = "desk@example.org"\n')
        path = write_config(tmp_path, feeds, extra=email)
        result = newsmon("run", "--config", str(path))
        assert result.returncode == 1
        assert "database or disk is full" in result.stderr and "Traceback" not in result.stderr
        assert smtp.inbox.messages == []


def test_a_read_only_database_is_a_clear_error(site, tmp_path, seeds_dir):
    feeds = slow_world(site, feeds=1, items=1, delay=0)
    with tiny_disk(tmp_path / "data", "16m") as data:
        path = write_config(tmp_path, feeds)
        assert newsmon("run", "--config", str(path)).returncode == 0
        subprocess.run(["mount", "-o", "remount,ro", str(data)], check=True)
        result = newsmon("run", "--force", "--config", str(path))
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert "read-only" in result.stderr.lower() or "readonly" in result.stderr.lower(), result.stderr
