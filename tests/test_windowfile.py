"""The story window kept on disk between runs (app/windowfile.py): read back, moved on and caught
up, it is exactly the window a load from the store gives, and groups exactly as it would; a file
that may not be used (another story edit, another database, a later window, a damaged file) is
left aside for a load from the store."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import rows

from bench.storyset import DEV_SET, load
from pipeline.app.pipeline import run_once
from pipeline.app.stories import kept_story_index as kept
from pipeline.app.stories import open_story_index
from pipeline.app.windowfile import window_path
from pipeline.records import Article
from pipeline.stages.profile import PROFILE_VERSION, profile_of
from pipeline.stages.stories import StoryIndex
from pipeline.storage.store import Store
from pipeline.storage.times import article_id

KYIV = ZoneInfo("Europe/Kyiv")
START = datetime(2026, 11, 1, 6, tzinfo=timezone.utc)
REPORTS = sorted(load(DEV_SET).reports + load(DEV_SET.with_name("check.txt")).reports,
                 key=lambda r: (r.published, r.id))
EVERY = timedelta(minutes=100)         # the sets' 84 reports stored this far apart: ~6 days in all


def when(n: int) -> datetime:
    return START + n * EVERY


def store_reports(store: Store, upto: int, start: int = 0) -> None:
    """Reports start..upto-1 of the set stored as a run stores them: grouped against the window
    of the store as it is then (the story stage's own decision), with their profiles."""
    run = store.start_run(when(start))
    for n in range(start, upto):
        r = REPORTS[n]
        profile = profile_of(r.title, r.text)
        found = open_story_index(store, KYIV, when(n)).assign(profile, when(n), r.outlet, explain=False)
        article = Article(identity=f"guid:{r.id}", feed=r.outlet, guid=r.id, url=None, canonical_url=None,
                          title=r.title, published=when(n) - timedelta(minutes=20), text=r.text,
                          text_source="page", story_id=found.story_id)
        with store.transaction():
            assert store.insert_article(article, when(n), run)
            store.save_profiles([(article_id(article.identity), PROFILE_VERSION, profile.to_json())])


def shape(index: StoryIndex) -> dict:
    """Everything a window decides with, positions counted from its first member."""
    first = index.first
    return {"members": [index._member(at) for at in range(len(index))],
            "postings": {k: [p - first for p in v] for k, v in index.postings.items()},
            "df": dict(index.df), "stories": {k: [p - first for p in v] for k, v in index.stories.items()},
            "feeds_of": index.feeds_of}


@pytest.fixture
def store(tmp_path):
    opened = Store.open(tmp_path / "newsmon.db")
    yield opened
    opened.close()


def test_a_kept_window_moved_on_and_caught_up_is_the_window_loaded_from_the_store(store, tmp_path, caplog):
    """Kept after 50 reports (~3.5 days), read back 20 reports (33 hours) later: members, postings,
    document frequencies and stories are a load's, and new reports are placed exactly alike."""
    path = window_path(tmp_path / "newsmon.db")
    assert len(REPORTS) >= 80
    store_reports(store, 50)
    kept(store, KYIV, when(50), path)
    assert path.exists()
    store_reports(store, 70, start=50)
    caplog.set_level(logging.DEBUG, logger="newsmon")
    window, loaded = kept(store, KYIV, when(70), path), open_story_index(store, KYIV, when(70))
    assert "story window file" not in caplog.text and "20 read from the store" in caplog.text
    assert window.first > 10 and len(window) == len(loaded) > 50      # moved past its oldest members
    assert any(len(positions) > 1 for positions in window.stories.values())
    assert shape(window) == shape(loaded)
    for r in REPORTS[70:]:
        profile = profile_of(r.title, r.text)
        assert window.assign(profile, when(71), r.outlet) == loaded.assign(profile, when(71), r.outlet)


def test_a_run_keeps_its_window_and_the_next_run_groups_with_it(site, make_config, clock, caplog):
    """Through runs: the first run's window is kept beside the database, the second run reads it
    (no load from the store) and its report joins the story the first run started."""
    from test_stories import _by_id, _serve

    first = make_config([_serve(site, [_by_id("kharkiv-strike-0314", 1)], "meridian")])
    run_once(first, clock=clock, force=True)
    assert window_path(first.database).exists()
    second = make_config([_serve(site, [_by_id("kharkiv-strike-0314", 1)], "meridian"),
                          _serve(site, [_by_id("kharkiv-strike-0314", 2)], "ledger")])
    caplog.set_level(logging.DEBUG, logger="newsmon")
    run_once(second, clock=clock, force=True)
    assert "story window file" not in caplog.text and "1 read from the store" in caplog.text
    stored = rows(second, "SELECT feed, story_id, id FROM articles ORDER BY feed")
    assert [feed for feed, _, _ in stored] == ["ledger", "meridian"]
    assert stored[0][1] == stored[1][2]                      # the second report joined the first's story


@pytest.mark.parametrize("change, why", [
    ("edit", "another story edit"), ("database", "another database"), ("earlier", "a later window"),
    ("damaged", "unreadable"), ("version", "another version")])
def test_a_window_file_that_may_not_be_used_is_left_aside(tmp_path, caplog, change, why):
    """Each reason a kept window may not be right: the store loads the window instead, the same
    as without the file, and the file is written anew."""
    path = window_path(tmp_path / "newsmon.db")
    store = Store.open(tmp_path / "newsmon.db")
    try:
        store_reports(store, 60)
        kept(store, KYIV, when(60), path)
        at = when(60)
        if change == "edit":
            from pipeline.app.storyedits import split
            story = rows_of(store, "SELECT story_id FROM articles WHERE story_id IS NOT NULL "
                                   "GROUP BY story_id HAVING count(*) > 1 LIMIT 1")[0][0]
            split(store, story, at)
        elif change == "database":            # the file left beside a database made anew
            store.close()
            for made in tmp_path.glob("newsmon.db*"):
                if made != path:
                    made.unlink()
            store = Store.open(tmp_path / "newsmon.db")
            store_reports(store, 70, start=10)
        elif change == "earlier":
            at = when(40)
        elif change == "damaged":
            path.write_bytes(path.read_bytes()[:5000])
        else:
            path.write_bytes(path.read_bytes().replace(PROFILE_VERSION.encode(), b"p0", 1))
        caplog.set_level(logging.INFO, logger="newsmon")
        window = kept(store, KYIV, at, path)
        assert why in caplog.text
        assert shape(window) == shape(open_story_index(store, KYIV, at))
        caplog.clear()
        kept(store, KYIV, at, path)
        assert "story window file" not in caplog.text      # written anew
    finally:
        store.close()


def rows_of(store: Store, sql: str) -> list[tuple]:
    return [tuple(r.values()) for r in store.query(sql)]


def test_the_window_files_mark_follows_every_module_a_profile_is_made_with(tmp_path, monkeypatch):
    """A change in how words, people or places are read makes other profiles: a window kept by
    the code before must not be used (the mark digests those modules too)."""
    from pipeline.app import windowfile
    from pipeline.stages import persons, placenames, words

    for module in (words, persons, placenames):
        windowfile.code_mark.cache_clear()
        before = windowfile.code_mark()
        copy = tmp_path / Path(module.__file__).name
        copy.write_bytes(Path(module.__file__).read_bytes() + b"\n# changed\n")
        monkeypatch.setattr(module, "__file__", str(copy))
        windowfile.code_mark.cache_clear()
        assert windowfile.code_mark() != before, module.__name__
        monkeypatch.undo()
    windowfile.code_mark.cache_clear()
