"""The soak benchmark's two phases (bench/soak.py): a build that leaves a snapshot of the store on
each checkpoint day, and a measure that runs newsmon on a copy of each, so it can be repeated.

Tiny sizes (a pool of 60 texts, tens of articles a day, generated text and pages): what is
checked is the mechanism, not timings."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

import bench.soak as soak
from bench.soak_history import History
from bench.soak_measure import measure
from pipeline.app.diskindex import catch_up
from pipeline.storage.store import Store


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    monkeypatch.setattr(History, "POOL", 60)
    monkeypatch.setattr(soak, "CORPUS_PAGES", tmp_path / "no-corpus")      # generated text and pages
    return tmp_path


def bands_of(path) -> set:
    with sqlite3.connect(path) as conn:
        return set(conn.execute("SELECT key, band, article FROM bands"))


def test_build_writes_what_a_run_would_and_a_snapshot_per_checkpoint(tiny):
    folder = tiny / "build"
    manifest = soak.run(["--build", str(folder), "--days", "3", "--per-day", "40", "--checkpoints", "1,3",
                         "--new", "10"])
    assert sorted(manifest["snapshots"]) == ["1", "3"]
    assert json.loads((folder / "build.json").read_text())["snapshots"] == manifest["snapshots"]
    assert "day 3: snapshot day-003.db" in (folder / "build.log").read_text()
    assert not (folder / "newsmon.db").exists()        # the last day's store became its snapshot
    day1 = folder / "day-001.db"
    with sqlite3.connect(day1) as conn:
        # day 1: its 40 articles and the 2 pages every checkpoint run fetches again (a fifth of 10)
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 42 == manifest["snapshots"]["1"]["articles"]
        assert conn.execute("SELECT count(*) FROM articles WHERE run_id IS NULL").fetchone()[0] == 0
        conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)")
        mark = conn.execute("SELECT rowid_upto FROM bands_built").fetchone()[0]
        assert mark == conn.execute("SELECT max(rowid) FROM articles").fetchone()[0]
    # the bands written with each day's articles are those newsmon's catch-up builds from the signatures
    written = bands_of(day1)
    assert written
    store = Store.open(day1)
    with store.transaction():
        store.restart_bands(store.bands_mark()[0])
    catch_up(store)
    store.close()
    assert bands_of(day1) == written


def test_measure_runs_on_copies_and_can_be_repeated(tiny):
    folder = tiny / "build"
    soak.run(["--build", str(folder), "--days", "2", "--per-day", "30", "--checkpoints", "1", "--new", "10"])
    snapshot = folder / "day-001.db"
    before = hashlib.sha256(snapshot.read_bytes()).hexdigest()
    for _ in range(2):
        figures, rows = measure(folder)
        day = figures["checkpoints"]["1"]
        # the 2 repeated pages are copies of day 1's articles (an earlier digest day): duplicates
        assert (day["new_articles"], day["duplicates"]) == (8, 2)
        assert day["noop_new"] == 0 and day["articles"] == 32 + 8 + 2
        # the whole local day before (UTC+2): day 1 of the history but its last article (22:06 UTC)
        assert (day["day_digest_articles"], day["digest_articles"]) == (31, 1 + 8 + 2)
        assert rows[0][0] == "day 1"
        assert hashlib.sha256(snapshot.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in folder.iterdir()) == ["build.json", "build.log", "day-001.db", "newsmon.toml"]


def test_the_soaks_digest_day_has_one_offset_all_year():
    """The history's days are UTC days: a digest zone with summer time would take an hour more
    of a day's history into the checkpoint's digest in summer (day 180's twice day 30's)."""
    import tomllib
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from bench.soak_history import T0
    from bench.soak_measure import config_text

    zone = ZoneInfo(tomllib.loads(config_text(365))["digest"]["timezone"])
    assert {(T0 + timedelta(days=d)).astimezone(zone).utcoffset() for d in (1, 30, 180, 365)} == {timedelta(hours=2)}


def test_measure_names_a_missing_build(tmp_path):
    with pytest.raises(SystemExit, match="build.json not found"):
        measure(tmp_path)


def test_a_build_cut_mid_day_goes_on_from_the_last_day_it_committed(tiny, monkeypatch):
    """A year at 5,000 a day takes an hour or more: a build killed part way (here: a failure inside
    day 3's transaction) is run again with the same options and goes on, and ends with the store
    an uncut build writes."""
    options = ["--days", "4", "--per-day", "30", "--checkpoints", "2,4", "--new", "10"]
    whole = tiny / "whole"
    soak.run(["--build", str(whole), *options])
    cut = tiny / "cut"
    write_day = History.write_day

    def failing(self, day):
        if day == 3:
            raise KeyboardInterrupt("killed on day 3")
        return write_day(self, day)

    monkeypatch.setattr(History, "write_day", failing)
    with pytest.raises(KeyboardInterrupt):
        soak.run(["--build", str(cut), *options])
    assert json.loads((cut / "build.json").read_text())["snapshots"].keys() == {"2"}
    monkeypatch.setattr(History, "write_day", write_day)
    manifest = soak.run(["--build", str(cut), *options])
    assert "resuming after day 2" in (cut / "build.log").read_text()
    assert sorted(manifest["snapshots"]) == ["2", "4"]

    def articles(folder):
        with sqlite3.connect(folder / "day-004.db") as conn:
            return conn.execute("SELECT id, fingerprint, story_id, coalesce(length(text), -1) FROM articles "
                                "ORDER BY rowid").fetchall()

    assert articles(cut) == articles(whole) and len(articles(whole)) == 4 * 30 + 2
    with pytest.raises(SystemExit):             # a finished build is not written over
        soak.run(["--build", str(cut), *options])
