"""The terminal (issue 24): log lines above the progress bar, never through it; a closed pipe
(`newsmon … | head`) ends quietly with the conventional status. All through `newsmon` as a
subprocess, on a real pseudo-terminal or a real pipe."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import write_config
from world import serve_world

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_LOG_LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d (?:INFO|WARNING|ERROR) ")


def on_a_terminal(*args: str, columns: int = 120) -> str:
    """`newsmon ARGS` with stderr on a pseudo-terminal: what the terminal received."""
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", *args], stdout=subprocess.DEVNULL,
                            stderr=slave, env={**os.environ, "COLUMNS": str(columns), "TERM": "xterm"})
    os.close(slave)
    output = b""
    while True:                  # until the terminal closes (EOF or EIO) when the process exits
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    proc.wait(timeout=120)
    os.close(master)
    assert proc.returncode == 0, output
    return output.decode(errors="replace")


def test_log_lines_print_above_the_progress_bar_never_through_it(site, tmp_path, seeds_dir):
    feeds = serve_world(site)
    path = write_config(tmp_path, list(feeds.items()))
    raw = on_a_terminal("run", "--force", "--config", str(path))
    assert "━" in raw and "articles stored" in raw            # the bar was drawn
    logged = list(_LOG_LINE.finditer(raw))
    assert len(logged) >= 2                                    # a line per feed, at INFO
    for m in logged:
        # what the terminal shows before the log line on its row: nothing, once the escape
        # sequences are applied (rich erases the bar, prints the line, draws the bar again)
        before = raw[:m.start()]
        row = _ANSI.sub("", before).rsplit("\n", 1)[-1].rsplit("\r", 1)[-1]
        assert row == "", f"log line glued to {row!r}"
        assert before.endswith(("\n", "\r\x1b[2K")), before[-80:]   # a fresh row, or the bar's row erased


def _big_archive(tmp_path, n: int = 1500):
    """A config and an archive of `n` stories on 2026-11-23 (written through Store): each of
    `stories`, `search` and `export` prints far more than a pipe holds (64 KB)."""
    from datetime import datetime, timedelta, timezone

    from pipeline.app.stories import refresh_story
    from pipeline.config import load_config
    from pipeline.records import Article
    from pipeline.stages.flag import TopicMatcher
    from pipeline.storage.store import Store, article_id

    config = load_config(write_config(tmp_path, [("daily", "https://daily.example/rss")]))
    store = Store.open(config.database)
    matcher = TopicMatcher(config.topics)
    t = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)
    run_id = store.start_run(t)
    with store.transaction():
        for i in range(n):
            url = f"https://daily.example/{i}"
            title = f"Ceasefire talks, round {i}, in town number {i}"
            text = f"Delegates met for round {i} of ceasefire talks in town number {i}. " * 4
            article = Article(identity=f"url:{url}", feed="daily", guid=None, url=url, canonical_url=url,
                              title=title, published=t, text=text, text_source="page", fingerprint=f"fp{i}",
                              matches=matcher.match(title, text))
            store.insert_article(article, t + timedelta(seconds=i), run_id)
            refresh_story(store, article_id(article.identity))
    store.finish_run(run_id, t, ())
    store.close()
    return config


def test_a_reader_that_stops_reading_ends_the_command_quietly(tmp_path, seeds_dir):
    """`newsmon stories | head -1`, `search … | head -1`, `export | head -1` through a real pipe:
    no "unexpected error", nothing on stderr, exit 141 (128 + SIGPIPE, as a shell reports a
    command killed by a closed pipe)."""
    config = _big_archive(tmp_path)
    path = str(tmp_path / "newsmon.toml")
    for args in (["stories", "--date", "2026-11-23"], ["search", "ceasefire", "--limit", "2000"],
                 ["export"], ["export", "--format", "json"], ["search", "ceasefire", "--limit", "2000", "--csv"]):
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", *args, "--config", path],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = proc.stdout.readline()
        proc.stdout.close()                       # `head -1` has what it wanted and exits
        err = proc.stderr.read()
        proc.wait(timeout=60)
        assert first.strip(), args
        assert err == b"", (args, err)
        assert proc.returncode == 141, (args, proc.returncode)
    assert config.database.exists()
