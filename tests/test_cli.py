"""The `newsmon` command as cron runs it: a real subprocess, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from click.testing import CliRunner
from conftest import newsmon, read_terminal, write_config
from world import serve_world

from pipeline.cli import main
from pipeline.lock import run_lock


def test_run_exits_0_and_digest_rerenders_the_same_day(site, tmp_path, seeds_dir):
    feeds = serve_world(site)
    path = write_config(tmp_path, list(feeds.items()))
    first = newsmon("run", "--config", str(path))
    assert first.returncode == 0, first.stderr
    assert "6 new articles, 1 duplicates dropped" in first.stdout
    day = next((tmp_path / "reports").glob("????-??-??.json")).stem
    original = json.loads((tmp_path / "reports" / f"{day}.json").read_text())
    for f in (tmp_path / "reports").glob(f"{day}.*"):
        f.unlink()

    again = newsmon("digest", "--config", str(path), "--date", day)
    assert again.returncode == 0, again.stderr
    rerendered = json.loads((tmp_path / "reports" / f"{day}.json").read_text())
    assert rerendered["articles"] == original["articles"]
    assert rerendered["duplicates"] == original["duplicates"]
    index = (tmp_path / "reports" / "index.html").read_text()
    assert f'href="{day}.html"' in index


def test_feed_failures_are_exit_0_unless_asked_otherwise(site, tmp_path, seeds_dir):
    path = write_config(tmp_path, [("dead", site.url("/missing.xml"))])
    plain = newsmon("run", "--config", str(path))
    assert plain.returncode == 0
    assert "feed dead failed: HTTP 404" in plain.stderr
    strict = newsmon("run", "--config", str(path), "--force", "--fail-on-feed-errors")
    assert strict.returncode == 3


def test_a_second_run_while_one_holds_the_lock_exits_75(site, tmp_path, seeds_dir):
    path = write_config(tmp_path, [("a", site.url("/a.xml"))])
    database = tmp_path / "data" / "newsmon.db"
    with run_lock(database):
        result = newsmon("run", "--config", str(path))
    assert result.returncode == 75
    assert "another newsmon run" in result.stderr and str(os.getpid()) in result.stderr
    assert "Traceback" not in result.stderr
    assert not database.exists()  # it stopped before touching anything


def test_an_unusable_database_exits_1_with_a_clear_message(tmp_path, seeds_dir):
    path = write_config(tmp_path, [("a", "https://a.example/feed")])
    (tmp_path / "data" / "newsmon.db").mkdir(parents=True)  # a folder where the file should be
    result = newsmon("run", "--config", str(path))
    assert result.returncode == 1
    assert "cannot open the database" in result.stderr and "Traceback" not in result.stderr


def test_every_command_has_help_with_an_example():
    import click

    runner = CliRunner()

    def walk(group, path):
        for name, command in group.commands.items():
            yield path + [name]
            if isinstance(command, click.Group):
                yield from walk(command, path + [name])

    paths = list(walk(main, []))
    assert ["feeds", "add"] in paths and ["dedup", "check"] in paths and ["config", "check"] in paths
    for path in paths:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Example" in result.output, f"newsmon {' '.join(path)} --help has no example"


def test_flag_command_explains_matches():
    result = CliRunner().invoke(main, ["flag", "--json", "--config", "/nonexistent.toml", "-"],
                                input="Talks on a cease-fire resumed. NATO watched.")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["topics"] == ["ceasefire", "nato"]
    assert out["matches"][0]["sentence"] == "Talks on a cease-fire resumed."


def test_dedup_check_names_the_seed_a_text_copies(site, tmp_path, seeds_dir):
    from pipeline.demo.site import article_page, republished

    path = write_config(tmp_path, [("a", site.url("/a.xml"))])
    copy = tmp_path / "copy.txt"
    text = (seeds_dir / "000_2ceace7d45a6ac80.txt").read_text()
    copy.write_text("\n".join(republished(text)))
    result = newsmon("dedup", "check", str(copy), "--config", str(path), "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["duplicate_of"] == "seeds/000_2ceace7d45a6ac80.txt" and out["kind"] == "seed"
    assert 0.8 < out["similarity"] < 1

    site.routes["/page"] = article_page("Seed copy", "Site", "2026-11-23", republished(text))
    by_url = newsmon("dedup", "check", site.url("/page"), "--config", str(path))
    assert by_url.returncode == 0, by_url.stderr
    assert "copy of seeds/000_2ceace7d45a6ac80.txt (seed), similarity 0.9" in by_url.stdout
    # one answer: a copy of a seed is left out, so it starts no story
    assert ("story: none; as a copy of seeds/000_2ceace7d45a6ac80.txt (seed) it would be stored as a duplicate "
            "and left out of the digest") in by_url.stdout
    assert "would start a new story" not in by_url.stdout
    assert out["left_out"] is True and out["story"] is None

    other = tmp_path / "other.txt"
    other.write_text("A short note about the weather in Lviv.")
    none = newsmon("dedup", "check", str(other), "--config", str(path))
    assert "no duplicate found (only exact copies are checked for texts under 50 words" in none.stdout


def test_flag_jsonl_batch_keeps_input_order_and_ids():
    lines = [{"id": "a", "text": "The senator spoke."}, {"id": "b", "text": "A truce held.", "title": "NATO"},
             {"id": "c", "text": "Окуповані території."}]
    result = CliRunner().invoke(main, ["flag", "--config", "/nonexistent.toml", "--jsonl", "-"],
                                input="\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [(o["id"], o["topics"]) for o in out] == [("a", []), ("b", ["nato", "ceasefire"]), ("c", ["territory"])]
    assert out[1]["matches"][0]["field"] == "title"
    bad = CliRunner().invoke(main, ["flag", "--config", "/nonexistent.toml", "--jsonl", "-"],
                             input='{"id": "x", "text": "ok"}\nnot json\n')
    assert bad.exit_code == 2 and "-:2: expected a JSON object" in bad.output


def test_flag_replay_lists_changes_and_applies_them_only_when_asked(site, tmp_path, seeds_dir):
    feeds = serve_world(site)
    path = write_config(tmp_path, list(feeds.items()))
    assert newsmon("run", "--config", str(path)).returncode == 0
    # a new rule, the grain topic: it extends the built-in topics, NATO stays
    text = path.read_text() + '\n[topics.grain]\nlabel = "Grain"\nterms = ["sunflower*", "harvest*"]\n'
    path.write_text(text)
    added = newsmon("flag", "--replay", "--since", "7d", "--config", str(path), "--json")
    assert added.returncode == 0, added.stderr
    assert [(c["title"], c["before"], c["after"]) for c in json.loads(added.stdout)["changes"]] == [
        ("Sunflower harvest ends late after rain", [], ["grain"])]
    # only the user's topics: the built-in NATO dropped
    path.write_text(text + '\n[topics]\nbuiltin = false\n')
    dry = newsmon("flag", "--replay", "--since", "7d", "--config", str(path), "--json")
    assert dry.returncode == 0, dry.stderr
    changes = json.loads(dry.stdout)["changes"]
    by_title = {c["title"]: (c["before"], c["after"]) for c in changes}
    assert by_title["Sunflower harvest ends late after rain"] == ([], ["grain"])
    assert by_title["Ministers meet in Oslo on air defence"] == (["nato"], [])
    again = newsmon("flag", "--replay", "--since", "7d", "--config", str(path), "--json")
    assert json.loads(again.stdout)["changes"] == changes           # dry run changed nothing

    applied = newsmon("flag", "--replay", "--since", "7d", "--apply", "--config", str(path))
    assert applied.returncode == 0 and f"{len(changes)} article(s)" in applied.stdout
    after = newsmon("flag", "--replay", "--since", "7d", "--config", str(path), "--json")
    assert json.loads(after.stdout)["changes"] == []


def test_progress_bar_on_a_terminal_only(site, tmp_path, seeds_dir):
    import pty  # noqa: F401  (POSIX only, like newsmon)

    feeds = serve_world(site)
    path = write_config(tmp_path, list(feeds.items()))
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "-q", "run", "--config", str(path)],
                            stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    proc.wait(timeout=120)
    quiet_output = b""
    try:
        while chunk := os.read(master, 65536):
            quiet_output += chunk
    except OSError:
        pass
    os.close(master)
    assert proc.returncode == 0
    assert "━" not in quiet_output.decode(errors="replace")    # -q: no bar even on a terminal

    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "run", "--force", "--config", str(path)],
                            stdout=subprocess.PIPE, stderr=slave, text=True, env={**os.environ, "COLUMNS": "120"})
    os.close(slave)
    output = read_terminal(master)   # until the terminal closes (EOF or EIO) when the process exits
    proc.wait(timeout=120)
    os.close(master)
    text = output.decode(errors="replace")
    assert "feeds" in text and "2/2" in text and "articles stored" in text

    piped = newsmon("run", "--force", "--config", str(path))
    assert "━" not in piped.stderr and "2/2" not in piped.stderr


def test_status_json_has_feeds_runs_and_digests(site, tmp_path, seeds_dir):
    feeds = serve_world(site)
    path = write_config(tmp_path, list(feeds.items()) + [("dead", site.url("/dead.xml"))])
    assert newsmon("run", "--config", str(path)).returncode == 0
    result = newsmon("status", "--json", "--config", str(path))
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    feed = {f["name"]: f for f in status["feeds"]}
    assert set(feed["daily-a"]) >= {"name", "url", "status", "consecutive_failures", "last_error",
                                    "last_success", "next_due"}
    assert feed["daily-a"]["status"] == "ok" and feed["dead"]["status"] == "error"
    assert feed["dead"]["last_error"] == "HTTP 404 Not Found"
    assert status["runs"][0]["status"] == "ok" and status["runs"][0]["new_articles"] == 6
    assert status["digests"][0]["formats"] == ["html", "json", "md", "txt"]
    text = newsmon("status", "--config", str(path)).stdout
    assert "Recent runs:" in text and "Feeds:" in text and "dead" in text


def test_an_empty_day_still_gets_a_digest_and_templates_can_be_overridden(tmp_path, seeds_dir):
    path = write_config(tmp_path, [("a", "https://a.example/feed")])
    (tmp_path / "brand").mkdir()
    (tmp_path / "brand" / "digest.md.j2").write_text("# Desk digest {{ d.date }}\n{{ d.articles|length }} stories\n")
    text = path.read_text().replace('timezone = "Europe/Kyiv"', 'timezone = "Europe/Kyiv"\ntemplates = "brand"')
    path.write_text(text)
    result = newsmon("digest", "--date", "2026-01-05", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "reports" / "2026-01-05.md").read_text() == "# Desk digest 2026-01-05\n0 stories\n"
    html = (tmp_path / "reports" / "2026-01-05.html").read_text()     # not overridden: the built-in one
    assert "No new articles." in html
    assert "No new articles." in (tmp_path / "reports" / "2026-01-05.txt").read_text()


def _custom_templates(path, folder, files: dict[str, str]) -> None:
    (folder / "brand").mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / "brand" / name).write_text(text)
    if 'templates = "brand"' not in path.read_text():
        path.write_text(path.read_text().replace("[digest]\n", '[digest]\ntemplates = "brand"\n'))


def test_config_check_compiles_the_custom_templates(tmp_path, seeds_dir):
    """A template that does not compile is a config problem: file, line and jinja2's reason, exit 2;
    a partial the templates include is compiled too."""
    path = write_config(tmp_path, [("a", "https://a.example/feed")])
    _custom_templates(path, tmp_path, {"digest.md.j2": "# {{ d.date }}\n{% include 'parts/line.j2' %}\n",
                                       "digest.html": "<h1>{{ d.date }}</h1>\n\n<p>{{ d.date|shout }}</p>\n"})
    (tmp_path / "brand" / "parts").mkdir()
    (tmp_path / "brand" / "parts" / "line.j2").write_text("{% for a in d.articles %}\n{{ a.title }\n")
    check = newsmon("config", "check", "--config", str(path))
    assert check.returncode == 2, check.stdout + check.stderr
    brand = tmp_path / "brand"
    assert f"digest template {brand / 'digest.html'}, line 3: No filter named 'shout'." in check.stdout
    assert f"digest template {brand / 'parts' / 'line.j2'}, line 2: unexpected '}}'" in check.stdout
    assert "digest.md.j2" not in check.stdout                      # the one that compiles is not blamed

    _custom_templates(path, tmp_path, {"digest.html": "<h1>{{ d.date }}</h1>\n",
                                       "parts/line.j2": "{{ d.articles|length }} stories\n"})
    fixed = newsmon("config", "check", "--config", str(path))
    assert fixed.returncode == 0, fixed.stdout


def test_a_broken_template_fails_the_run_even_when_nothing_new_arrives(site, tmp_path, seeds_dir):
    """The digest is not rewritten when nothing changed, but a custom template broken since is
    still reported: one line naming it, exit 5, not a silent 0 until the next news."""
    feeds = serve_world(site)
    path = write_config(tmp_path, list(feeds.items()))
    _custom_templates(path, tmp_path, {"digest.txt.j2": "{{ d.date }}: {{ d.articles|length }} stories\n"})
    first = newsmon("run", "--config", str(path))
    assert first.returncode == 0, first.stderr
    _custom_templates(path, tmp_path, {"digest.txt.j2": "{{ d.date }}:\n{% if d.articles %}{{ d.articles|length }}\n"})
    again = newsmon("run", "--config", str(path))          # every feed not due yet: nothing new
    assert "0 new articles" in again.stdout or "no feed due" in again.stdout.lower(), again.stdout
    assert again.returncode == 5, again.stderr
    assert f"newsmon: digest template {tmp_path / 'brand' / 'digest.txt.j2'}, line 2: Unexpected end of template" in again.stderr
    assert "check [digest] templates" in again.stderr


DOCUMENTED_EXIT_CODES = {1, 2, 3, 4, 5, 75}
BAD_CONFIGS = {
    "missing": None,
    "syntax": "[fetch\nx = 1\n",
    "feeds-not-tables": 'feeds = "x"\n',
    "wrong-types": "[storage]\ndatabase = 5\n[fetch]\ninterval_minutes = 1e308\ntimeout_seconds = inf\n",
    "absurd": "[fetch]\nstale_after_days = 1e308\n[[feeds]]\nname = \"a\"\nurl = \"https://example.org/a\"\n",
}
ARGS = {  # placeholders for each command's required arguments
    ("feeds", "add"): ["https://127.0.0.1:1/feed"], ("feeds", "remove"): ["a"], ("feeds", "enable"): ["a"],
    ("feeds", "disable"): ["a"], ("feeds", "import"): ["@opml"], ("search",): ["x"], ("dedup", "check"): ["-"],
    ("flag",): ["--replay"], ("channels", "test"): ["desk"], ("web", "passwd"): ["ann"], ("stories", "split"): ["a"], ("stories", "merge"): ["a", "b"], ("db", "copy"): ["--to", "@target"],
}


def _command_paths(group, prefix=()):
    import click

    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            if command.invoke_without_command:          # a command itself too (`newsmon web`)
                yield prefix + (name,), command
            yield from _command_paths(command, prefix + (name,))
        else:
            yield prefix + (name,), command


def test_every_command_meets_bad_input_with_one_line_and_a_documented_exit_code(tmp_path):
    """No traceback, ever: each command, given each broken config (and some bad arguments),
    answers with one line naming the problem and an exit code from the manual's table
    (docs/operations.md, "Exit codes")."""
    from click.testing import CliRunner

    (tmp_path / "subs.opml").write_text('<opml version="2.0"><body><outline xmlUrl="https://example.org/f"/></body></opml>')
    runner = CliRunner()
    tried = 0
    for path, command in _command_paths(main):
        if not any(p.name == "config_path" for p in command.params):
            continue
        for label, text in BAD_CONFIGS.items():
            config = tmp_path / f"{label}.toml"
            if text is not None:
                config.write_text(text)
            args = [a.replace("@opml", str(tmp_path / "subs.opml")).replace("@target", str(tmp_path / "copy.db"))
                    for a in ARGS.get(path, [])]
            result = runner.invoke(main, [*path, *args, "--config", str(config)], input="some text",
                                   catch_exceptions=False)
            tried += 1
            where = f"{' '.join(path)} with {label}"
            assert result.exit_code in DOCUMENTED_EXIT_CODES, (where, result.exit_code, result.output)
            assert "Traceback" not in result.output, where
            if path != ("config", "check"):          # that one lists every problem, one per line
                assert len(result.stderr.strip().splitlines()) == 1, (where, result.stderr)
    assert tried >= 15 * len(BAD_CONFIGS)
    for args, words in ((["digest", "--date", "9999-12-31"], "expected a day between 1970 and 9998"),
                        (["search", "x", "--since", "99999999d"], "further back than the calendar goes"),
                        (["export", "--output", str(tmp_path / "no" / "dir" / "x.csv")], "cannot write")):
        config = tmp_path / "ok.toml"
        config.write_text('[storage]\ndatabase = "d.db"\n')
        result = runner.invoke(main, [*args, "--config", str(config)], catch_exceptions=False)
        assert result.exit_code == 2 and words in result.stderr, (args, result.output)


def test_operator_commands_load_only_what_they_use(site, tmp_path, seeds_dir):
    """`status` and `feeds list` read the database: no HTTP client, parser, extractor, template
    engine, worker pool or chat library is imported for them, nor sqlite-utils with the numpy it
    loads (seen with -X importtime)."""
    path = write_config(tmp_path, list(serve_world(site).items()))
    assert newsmon("run", "--config", str(path)).returncode == 0
    heavy = {"aiohttp", "trafilatura", "feedparser", "jinja2", "pebble", "apprise", "lxml", "sqlite_utils", "numpy"}
    for command in (["status"], ["feeds", "list"]):
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "pipeline", *command, "--config", str(path)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr[-2000:]
        loaded = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
        assert "pipeline.storage.store" in loaded            # the check sees our own imports
        assert not loaded & heavy, f"{command}: {sorted(loaded & heavy)}"


def test_a_run_with_nothing_new_loads_no_parsing_extraction_or_digest_stack(site, tmp_path, seeds_dir):
    """The run cron starts every 15 minutes mostly finds every feed unchanged (304): it loads the
    HTTP client and the database, not the parser, the extractor, numpy and the duplicate index,
    the worker pool or the templates (seen with -X importtime)."""
    path = write_config(tmp_path, list(serve_world(site).items()), extra="fetch_pages = false\n")
    assert newsmon("run", "--config", str(path)).returncode in (0, 3)
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "pipeline", "run", "--force",
                           "--config", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 3) and "0 new articles" in done.stdout, done.stdout + done.stderr[-2000:]
    loaded = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert {"aiohttp", "pipeline.app.pipeline"} <= loaded
    heavy = {"numpy", "rensa", "sqlite_utils", "feedparser", "trafilatura", "lxml", "charset_normalizer", "pebble",
             "jinja2", "pipeline.stages.dedup", "pipeline.stages.workers"}
    assert not loaded & heavy, sorted(loaded & heavy)
