"""The terminal (issue 24): log lines above the progress bar, never through it; a closed pipe
(`newsmon … | head`) ends quietly with the conventional status. All through `newsmon` as a
subprocess, on a real pseudo-terminal or a real pipe."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import read_terminal, write_config
from world import serve_world

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_LOG_LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d (?:INFO|WARNING|ERROR) ")


def on_a_terminal(*args: str, columns: int = 120) -> str:
    """`newsmon ARGS` with stderr on a pseudo-terminal: what the terminal received."""
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", *args], stdout=subprocess.DEVNULL,
                            stderr=slave, env={**os.environ, "COLUMNS": str(columns), "TERM": "xterm"})
    os.close(slave)
    output = read_terminal(master)   # until the terminal closes (EOF or EIO) when the process exits
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


def _search_archive(tmp_path):
    """Four articles written through Store for the search cases (feed 'guardian', titled)."""
    from datetime import datetime, timezone

    from pipeline.app.stories import refresh_story
    from pipeline.config import load_config
    from pipeline.records import Article
    from pipeline.stages.flag import TopicMatcher
    from pipeline.storage.store import Store, article_id

    path = write_config(tmp_path, [("guardian", "https://guardian.example/rss"),
                                   ("kyiv-ledger", "https://ledger.example/rss")],
                        extra="")
    path.write_text(path.read_text().replace('name = "kyiv-ledger"', 'name = "kyiv-ledger"\ntitle = "The Kyiv Ledger"'))
    config = load_config(path)
    store = Store.open(config.database)
    matcher = TopicMatcher(config.topics)
    t = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)
    run_id = store.start_run(t)
    docs = [("guardian", "a", "Truce holds in the south", "A local truce held overnight.\nEngineers reached the plant."),
            ("guardian", "b", "Trade truce lifts stocks", "Hopes of a trade truce lifted stocks."),
            ("kyiv-ledger", "c", "Ceasefire talks resume", "Delegations resumed ceasefire talks on the territory."),
            ("kyiv-ledger", "d", "Harvest ends late", "Farmers finished the harvest late.")]
    with store.transaction():
        for feed, slug, title, text in docs:
            url = f"https://{feed}.example/{slug}"
            article = Article(identity=f"url:{url}", feed=feed, guid=None, url=url, canonical_url=url, title=title,
                              published=t, text=text, text_source="page", fingerprint=slug,
                              matches=matcher.match(title, text))
            store.insert_article(article, t, run_id)
            refresh_story(store, article_id(article.identity))
    store.finish_run(run_id, t, ())
    store.close()
    return path


def _titles(done) -> set[str]:
    import json

    assert done.returncode == 0, done.stderr
    return {r["title"] for r in json.loads(done.stdout)}


def test_search_reads_or_not_and_phrases_as_typed(tmp_path, seeds_dir):
    from conftest import newsmon

    path = str(_search_archive(tmp_path))

    def search(*args):
        return newsmon("search", *args, "--json", "--config", path)

    assert _titles(search("truce OR ceasefire")) == {"Truce holds in the south", "Trade truce lifts stocks",
                                                     "Ceasefire talks resume"}
    assert _titles(search('truce NOT "trade truce"')) == {"Truce holds in the south"}
    assert _titles(search('"local truce"')) == {"Truce holds in the south"}
    assert _titles(search("harv*")) == {"Harvest ends late"}
    assert _titles(search("or")) == set()                       # lower case: a word, not an operator
    bad = newsmon("search", "OR truce", "--config", path)
    assert bad.returncode == 2 and "OR needs a word before it" in bad.stderr


def test_search_highlights_in_bold_on_a_terminal_only_and_snippets_keep_to_one_line(tmp_path, seeds_dir):
    from conftest import newsmon

    path = str(_search_archive(tmp_path))
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "search", "engineers", "--config", path],
                            stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    output = read_terminal(master)   # until the terminal closes (EOF or EIO) when the process exits
    proc.wait(timeout=60)
    os.close(master)
    shown = output.decode()
    assert "\x1b[1mEngineers\x1b[22m reached the plant" in shown and "**" not in shown
    piped = newsmon("search", "engineers", "--config", path)
    assert "    A local truce held overnight. Engineers reached the plant." in piped.stdout  # one line
    assert "\x1b" not in piped.stdout and "**" not in piped.stdout and "\x02" not in piped.stdout
    as_csv = newsmon("search", "engineers", "--csv", "--config", path)
    assert "A local truce held overnight. Engineers reached the plant." in as_csv.stdout
    assert "\x1b" not in as_csv.stdout and "**" not in as_csv.stdout


def test_unknown_feeds_and_topics_name_the_nearest_and_labels_are_accepted(tmp_path, seeds_dir):
    from conftest import newsmon

    path = str(_search_archive(tmp_path))
    assert _titles(newsmon("search", "talks", "--topic", "Ceasefire", "--json", "--config", path)) == {
        "Ceasefire talks resume"}
    assert _titles(newsmon("search", "talks", "--topic", "Territory", "--json", "--config", path)) == {
        "Ceasefire talks resume"}
    assert _titles(newsmon("search", "talks", "--feed", "The Kyiv Ledger", "--json", "--config", path)) == {
        "Ceasefire talks resume"}
    feed = newsmon("search", "truce", "--feed", "guardain", "--config", path)
    assert feed.returncode == 2 and "no feed named 'guardain' (did you mean 'guardian'?)" in feed.stderr
    topic = newsmon("search", "truce", "--topic", "ceasfire", "--config", path)
    assert topic.returncode == 2 and "no topic named 'ceasfire' (did you mean 'ceasefire'" in topic.stderr
    run = newsmon("run", "--feed", "guardain", "--config", path)
    assert run.returncode == 2 and "(did you mean 'guardian'?)" in run.stderr
    remove = newsmon("feeds", "remove", "guardain", "--config", path)
    assert remove.returncode == 2 and "(did you mean 'guardian'?)" in remove.stderr
    stories = newsmon("stories", "--date", "2026-11-23", "--topic", "Ceasefire", "--json", "--config", path)
    assert stories.returncode == 0, stories.stderr


def test_a_web_page_given_as_a_feed_says_where_its_feed_is(site, make_config, clock):
    from pipeline.app.pipeline import run_once
    from pipeline.demo.server import Page

    feeds = serve_world(site)
    site.routes["/home"] = Page(b'<!DOCTYPE html><html><head><title>Daily A</title>'
                                b'<link rel="alternate" type="application/rss+xml" href="/a/rss.xml">'
                                b'</head><body><h1>Daily A</h1></body></html>', content_type="text/html")
    site.routes["/plain"] = Page(b"<html><body><p>No feed here.</p></body></html>", content_type="text/html")
    config = make_config([("home", site.url("/home")), ("plain", site.url("/plain")),
                          ("daily-a", feeds["daily-a"])])
    report = run_once(config, clock=clock, force=True)
    errors = {f.name: f.error for f in report.feeds}
    assert errors["home"] == (f"not a feed: this is a web page; its feed is at {site.url('/a/rss.xml')} "
                              "(use that as the feed's url)")
    assert errors["plain"] == ("not a feed: this is a web page, and it links no feed "
                               "(use the site's RSS or Atom address)")
    assert errors["daily-a"] is None


def test_a_broken_pipe_is_quiet_only_when_it_is_stdouts(monkeypatch):
    """141 is for a reader of stdout that went away; a broken pipe anywhere else (a socket) is
    still reported as the unexpected error it is."""
    from pipeline.cli.common import _stdout_gone

    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w") as out:
        monkeypatch.setattr(sys, "stdout", out)
        assert _stdout_gone() is False                 # its reader is still there
        os.close(read_end)
        assert _stdout_gone() is True                  # `head` exited
        monkeypatch.undo()
        try:
            out.close()
        except BrokenPipeError:
            pass
