"""The `newsmon` command as cron runs it: a real subprocess, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import main
from pipeline.lock import run_lock

from conftest import write_config
from world import serve_world


def newsmon(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def test_run_exits_0_and_digest_rerenders_the_same_day(site, tmp_path, seeds_dir):
    feeds = serve_world(site)
    path = write_config(tmp_path, list(feeds.items()))
    first = newsmon("run", "--config", str(path))
    assert first.returncode == 0, first.stderr
    assert "6 new articles, 1 duplicates dropped" in first.stdout
    day = next((tmp_path / "reports").glob("*.json")).stem
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
    strict = newsmon("run", "--config", str(path), "--fail-on-feed-errors")
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
    runner = CliRunner()
    for name, command in main.commands.items():
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example" in result.output, f"newsmon {name} --help has no example"


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

    other = tmp_path / "other.txt"
    other.write_text("A short note about the weather in Lviv.")
    none = newsmon("dedup", "check", str(other), "--config", str(path))
    assert "no duplicate found (only exact copies are checked for texts under 50 words" in none.stdout
