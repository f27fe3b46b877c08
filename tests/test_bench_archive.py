"""The generated archive `python -m bench scale` measures (bench/archive.py): its duplicate index
on disk is the one a run's catch-up builds from the stored signatures, so measuring it builds
nothing; and `--build` grows it a day at a time, going on from where an earlier build stopped."""

from __future__ import annotations

from bench.archive import Archive, pool_of, simple_texts
from bench.scale import grow
from pipeline.app.diskindex import catch_up
from pipeline.stages.dedup import SIGNATURE_VERSION
from pipeline.storage.store import Store


def bands(store: Store) -> list[tuple]:
    return store.conn.execute("SELECT key, band, article FROM bands ORDER BY key, band, article").fetchall()


def test_the_archives_bands_are_the_ones_the_catch_up_builds_and_nothing_is_left_to_build(tmp_path):
    store = Store.open(tmp_path / "archive.db")
    try:
        Archive(store, pool_of(simple_texts(60)), per_day=150, bands=True).write(400)
        written = bands(store)
        top = store.conn.execute("SELECT max(rowid) FROM articles").fetchone()[0]
        originals = store.conn.execute("SELECT count(*) FROM articles WHERE duplicate_of IS NULL").fetchone()[0]
        assert store.bands_mark() == (SIGNATURE_VERSION, top) and top == 400
        assert len({article for _, _, article in written}) == originals > 300
        with store.transaction():
            store.restart_bands(SIGNATURE_VERSION)
        catch_up(store)
        assert bands(store) == written
    finally:
        store.close()


def test_a_build_goes_on_from_the_days_an_earlier_one_wrote(tmp_path):
    pool = pool_of(simple_texts(40))
    logged: list[str] = []
    store = Store.open(tmp_path / "archive.db")
    try:
        assert grow(store, pool, 200, 100, logged.append)
        assert grow(store, pool, 500, 100, logged.append)
        assert not grow(store, pool, 300, 100, logged.append)      # holds more already: not measured
        assert store.article_count() == 500
        assert store.conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 5
        days = [r[0][:10] for r in store.conn.execute("SELECT started FROM runs ORDER BY id")]
        assert days == sorted(set(days))                       # one run a day, each day after the last
        assert store.bands_mark()[1] == 500
        assert len(logged) == 6 and "500 articles" in logged[-2] and "not measured" in logged[-1]
    finally:
        store.close()
