"""The duplicate index on disk (schema 12, app/diskindex.py): on real news it finds the same
candidates, in the same order, and the same verdicts as the index loaded in memory; an archive
from before schema 12 gets its bands in batches (`db maintain`, or the first run that needs
them), a new signature version rebuilds them, a run writes them with each original, and a
prune deletes them with the article."""

from __future__ import annotations

import gzip
import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import newsmon, open_store, rows, write_config
from world import serve_world

from bench.common import TextGenerator
from pipeline.app import diskindex
from pipeline.app.index import load_index, open_index
from pipeline.app.pipeline import run_once
from pipeline.config import load_config
from pipeline.stages.clean import fingerprint
from pipeline.stages.dedup import BANDS, SIGNATURE_VERSION, Indexed, signature
from pipeline.storage.store import Store, article_id, iso

GVA = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "stories-real" / "fulltext-gva.jsonl.gz"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def store_texts(store: Store, texts: list[str], per_day: int = 10, site: str = "real", start: datetime = T0) -> list[str]:
    """Original articles with their signatures, `per_day` a day from T0, written as another tool
    would (plain SQL, no bands); returns their ids."""
    ids, articles, sigs = [], [], []
    for n, text in enumerate(texts):
        identity = f"url:https://{site}.example/{n}"
        aid = article_id(identity)
        sig = signature(text)
        ids.append(aid)
        articles.append((aid, identity, f"outlet{n % 7}", f"https://{site}.example/{n}", f"Report {n}",
                         iso(start + timedelta(days=n // per_day, minutes=n % per_day)), text, "page",
                         fingerprint(text), aid, "[]"))
        sigs.append((aid, SIGNATURE_VERSION, None if sig is None else sig.tobytes()))
    with store.transaction():
        store.conn.executemany("INSERT INTO articles (id, identity, feed, url, title, first_seen, text, text_source, "
                               "fingerprint, story_id, topics) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", articles)
        store.save_signatures(sigs)
    return ids


def variants(texts: list[str]) -> list[str]:
    """Copies as outlets make them: the first paragraph cut and a line added (near, at varying
    similarity), or a text republished as it is (exact)."""
    out = []
    for n, text in enumerate(texts):
        paragraphs = [p for p in text.split("\n") if p.strip()]
        out.append(text if n % 5 == 0 else "\n".join(paragraphs[1:] + [f"Reporting by desk {n}."]))
    return out


def test_on_real_news_the_disk_index_finds_what_the_index_in_memory_finds(tmp_path):
    if not GVA.is_file():
        pytest.skip(f"real news absent ({GVA})")
    with gzip.open(GVA, "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    stored, fresh = texts[:1500], texts[1500:]
    store = Store.open(tmp_path / "n.db")
    ids = store_texts(store, stored)
    since = T0 + timedelta(days=50)          # the window: the first 500 are outside it
    memory, disk = load_index(store, since), open_index(store, since)
    assert rows_of(store, "SELECT count(*) FROM bands") == BANDS * sum(signature(t) is not None for t in stored)

    probes = fresh + variants(stored[::5])
    with_candidates = outside = 0
    for text in probes:
        sig = signature(text)
        if sig is None:
            continue
        expected = [item.key for item, _ in memory.candidate_items(sig)]
        assert [item.key for item, _ in disk.candidate_items(sig)] == expected
        assert disk.nearest(text, fingerprint(text), sig) == memory.nearest(text, fingerprint(text), sig)
        with_candidates += bool(expected)
        outside += any(ids.index(key) < 500 for key in expected) if expected else 0
    assert with_candidates >= 200 and outside == 0     # copies of the window's texts found, none older

    # what is stored after opening is not seen (an article of the same feed's transaction, as before)
    # but what a run adds is (in memory, as before), after what was stored
    store_texts(store, fresh[:40], site="late", start=T0 + timedelta(days=151))
    with store.transaction():
        store.save_bands([r for r in expected_bands(store) if r[2] > disk.upto])
    for n, text in enumerate(fresh[:40]):
        item = Indexed(f"new{n}", f"https://new.example/{n}", "article", iso(T0 + timedelta(days=151)), f"new{n}")
        memory.add(item, fingerprint(text), signature(text))
        disk.add(item, fingerprint(text), signature(text))
    for text in variants(fresh[:40]) + variants(stored[-200::4]):
        sig = signature(text)
        if sig is not None:
            assert [i.key for i, _ in disk.candidate_items(sig)] == [i.key for i, _ in memory.candidate_items(sig)]
        assert disk.nearest(text, fingerprint(text), sig) == memory.nearest(text, fingerprint(text), sig)
    store.close()


def rows_of(store: Store, sql: str):
    return store.conn.execute(sql).fetchone()[0]


def expected_bands(store: Store) -> set[tuple]:
    """The rows every original's stored signature gives (app/diskindex.band_rows)."""
    pairs = store.conn.execute("SELECT a.rowid, g.minhash FROM articles a JOIN signatures g ON g.key = a.id "
                               "WHERE a.duplicate_of IS NULL AND g.minhash IS NOT NULL").fetchall()
    return set(diskindex.band_rows(pairs))


def test_an_archive_from_before_schema_12_gets_its_bands_in_batches_and_another_signature_version_rebuilds_them(
        tmp_path, seeds_dir, monkeypatch):
    config = load_config(write_config(tmp_path, []))
    gen = TextGenerator(seed=3)
    store = Store.open(config.database)
    store_texts(store, [gen.text(300) for _ in range(300)] + ["too short to sign"], per_day=300)
    store.close()
    with sqlite3.connect(config.database) as c:          # as schema 10 left a file
        c.executescript("DROP TABLE bands; DROP TABLE bands_built; PRAGMA user_version = 10;")

    store = Store.open(config.database)                  # the migration builds nothing yet
    assert rows_of(store, "SELECT count(*) FROM bands") == 0 and store.bands_mark() is None
    monkeypatch.setattr(diskindex, "CATCH_UP_BATCH", 50)
    batches = iter(range(10))
    diskindex.catch_up(store, should_stop=lambda: next(batches) >= 3)      # stopped after 3 batches
    third = store.conn.execute("SELECT rowid FROM articles ORDER BY rowid LIMIT 1 OFFSET 149").fetchone()[0]
    assert store.bands_mark() == (SIGNATURE_VERSION, third)
    assert {r for r in expected_bands(store) if r[2] <= third} == set(
        store.conn.execute("SELECT key, band, article FROM bands").fetchall())
    store.close()

    out = newsmon("db", "maintain", "--now", (T0 + timedelta(days=2)).isoformat(),   # goes on where it stopped
                  "--config", str(config.path))
    assert out.returncode == 0, out.stderr
    store = Store.open(config.database)
    bands = set(store.conn.execute("SELECT key, band, article FROM bands").fetchall())
    assert bands == expected_bands(store) and len(bands) == 300 * BANDS
    assert store.bands_mark() == (SIGNATURE_VERSION, rows_of(store, "SELECT max(rowid) FROM articles"))

    with store.transaction():                           # bands from another signature version
        store.conn.execute("UPDATE bands_built SET version = 'rensa-r0-126-1'")
        store.conn.execute("DELETE FROM bands WHERE band > 20")
        store.conn.execute("UPDATE signatures SET version = 'rensa-r0-126-1', minhash = NULL WHERE rowid % 2 = 0")
    open_index(store)
    assert set(store.conn.execute("SELECT key, band, article FROM bands").fetchall()) == bands
    assert rows_of(store, f"SELECT count(*) FROM signatures WHERE version != '{SIGNATURE_VERSION}'") == 0
    store.close()


@pytest.mark.both_engines
def test_a_run_writes_the_bands_of_its_originals_and_a_prune_deletes_them_with_the_article(
        site, tmp_path, seeds_dir, clock, engine):
    path = write_config(tmp_path, list(serve_world(site).items()))
    path.write_text(path.read_text().replace("[storage]\n", "[storage]\nkeep_days = 7\n", 1))
    config = load_config(path)
    run_once(config, clock=clock, force=True)
    store = open_store(config)
    originals = rows_of(store, "SELECT count(*) FROM articles a JOIN signatures g ON g.key = a.id "
                               "WHERE a.duplicate_of IS NULL AND g.minhash IS NOT NULL")
    assert originals >= 2
    assert set(store.conn.execute("SELECT key, band, article FROM bands").fetchall()) == expected_bands(store)
    assert rows_of(store, "SELECT count(*) FROM bands") == originals * BANDS
    # the mark followed the run's articles: the next opening has none to catch up
    assert store.bands_mark() == (SIGNATURE_VERSION, rows_of(store, "SELECT max(rowid) FROM articles"))
    store.close()

    out = newsmon("db", "prune", "--now", (clock.now + timedelta(days=8)).isoformat(), "--config", str(config.path))
    assert out.returncode == 0, out.stderr
    assert rows(config, "SELECT count(*) FROM articles") == [(0,)]
    assert rows(config, "SELECT count(*) FROM bands") == [(0,)]
