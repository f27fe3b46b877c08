"""Where one machine ends (issue 26, point 4):

    python -m bench scale [--sizes 100000,300000,1000000] [--per-day 20000] [--writers 1,2,4]
                          [--seconds 20] [--cache bench/.cache] [--pg-url URL] [--copy]
    python -m bench scale --build DIR --sizes 1000000     # only grow the archive (run it under nice)
    python -m bench scale --measure DIR                    # only measure it, at the size it holds

1. The writers (bench/scale_writers.py): 1, 2 and 4 processes storing articles through the real
   Store for `--seconds`, into one new SQLite store, then into one new PostgreSQL database (a
   throwaway cluster as the tests start one, or `--pg-url` with its password in
   NEWSMON_TEST_PG_PASSWORD; not measured without PostgreSQL binaries): articles/s in all and
   the ratio to one writer (`writers`, `postgresql_workers` in the figures).
2. An archive grown to each of `--sizes` articles (bench/archive.py, 20,000 a day, texts mixed
   from the trafilatura evaluation pages' extracted texts as bench/soak.py does; generated text
   when ../shared/corpora is absent), with every table a run fills, the duplicate index's bands
   included. Kept in `--cache` (or DIR): growing goes on from what is there, a day (one
   transaction) at a time, so a stopped build loses one day at most. At each size the figures of
   bench/scale_measure.py: the duplicate index, the story window, the digest of the last day
   (20,000 articles), search latency.
3. `--copy`: `newsmon db copy` of the 100,000-article generated archive to PostgreSQL and back
   (bench/scale_copy.py), with its times and whether all four sides' counts and checksums agree.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

from pipeline.config import load_config
from pipeline.storage.store import Store

from .archive import Archive, pool_of, simple_texts
from .common import save, table
from .pipeline import CORPUS_PAGES
from .scale_measure import measure, queries
from .scale_writers import pg_writers, writers

POOL = 4000
BUILD_CACHE_KB = 512 * 1024   # SQLite's page cache while growing the archive
CACHE = Path(__file__).resolve().parent / ".cache"
CONFIG = """
[storage]
database = "{database}"
[digest]
directory = "{reports}"
timezone = "UTC"
[topics.nato]
terms = ["NATO"]
[topics.energy]
terms = ["energy"]
"""


def texts(seed: int = 11, n: int = POOL) -> tuple[list[str], str]:
    """Pool texts: two or three corpus texts' paragraphs mixed, 40% of the words replaced (as
    bench/soak_history.py's History), or generated text without the corpus."""
    if not CORPUS_PAGES.is_dir():
        return simple_texts(n, seed), "generated text"
    from .farm import corpus_pages
    from .soak_history import corpus_texts

    base = corpus_texts(corpus_pages(CORPUS_PAGES, 300))
    rng = random.Random(seed)
    vocabulary = sorted({w for b in base for p in b for w in p.split()})
    out = []
    for _ in range(n):
        paragraphs = [p for b in rng.sample(base, rng.randint(2, 3)) for p in rng.sample(b, min(len(b), rng.randint(3, 8)))]
        out.append("\n".join(" ".join(w if rng.random() > 0.4 else rng.choice(vocabulary) for w in p.split())
                             for p in paragraphs))
    return out, f"{len(base)} corpus texts mixed"


def grow(store: Store, pool: list, size: int, per_day: int, log=print) -> bool:
    """Grows the cached archive to `size` articles a day (one transaction) at a time, so a stopped
    build loses at most the day it was writing and the next one goes on from there. Returns
    whether the archive holds `size` (False: it holds more already)."""
    have = store.article_count()
    if have > size:
        log(f"archive: the cache holds {have:,} articles already; {size:,} is not measured")
        return False
    started = time.perf_counter()
    archive = Archive(store, pool, per_day, seed=size + have, bands=True)
    archive.day = store.conn.execute("SELECT count(*) FROM runs").fetchone()[0]
    while have < size:
        t = time.perf_counter()
        archive.write(min(per_day, size - have))
        have = store.article_count()
        log(f"archive: day {archive.day} -> {have:,} articles in {time.perf_counter() - t:.1f} s "
            f"(load {os.getloadavg()[0]:.1f}; {time.perf_counter() - started:.0f} s since start)")
    return True


def open_archive(folder: Path, per_day: int, building: bool = False) -> tuple[Store, object]:
    """The cached archive in `folder` and its config (made on first use). Measured as newsmon
    opens it; grown with a larger page cache, so the indexes' pages stay in memory."""
    folder.mkdir(parents=True, exist_ok=True)
    database, reports = folder / f"scale-{per_day}.db", folder / "reports"
    config_path = folder / "scale.toml"
    config_path.write_text(CONFIG.format(database=database, reports=reports))
    store = Store.open(database)
    if building:
        store.conn.execute(f"PRAGMA cache_size = -{BUILD_CACHE_KB}")
    return store, load_config(config_path)


def measured(folder: Path, per_day: int, words: list[str], new_texts: list[str]) -> dict:
    """The figures of the archive in `folder` at the size it holds, printed as they come."""
    store, config = open_archive(folder, per_day)
    try:
        out = measure(store, config, words, new_texts)
    finally:
        store.close()
    out["load"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(out), flush=True)
    return out


def _log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S', time.gmtime())} {message}", flush=True)


def run(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench scale")
    parser.add_argument("--sizes", default="100000,300000,1000000", help='archive sizes ("": none)')
    parser.add_argument("--per-day", type=int, default=20_000)
    parser.add_argument("--writers", default="1,2,4", help='writer process counts ("": none)')
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--build", type=Path, metavar="DIR",
                        help="only grow the archive in DIR to --sizes (resumable; run it under nice)")
    parser.add_argument("--measure", type=Path, metavar="DIR",
                        help="only measure the archive in DIR at the size it holds (repeatable)")
    parser.add_argument("--copy", type=int, nargs="?", const=100_000, metavar="ARTICLES",
                        help="newsmon db copy of a generated archive (100,000) to PostgreSQL and back")
    parser.add_argument("--pg-url", default=os.environ.get("NEWSMON_TEST_PG_URL"),
                        help="a PostgreSQL server (password: NEWSMON_TEST_PG_PASSWORD); default: a throwaway cluster")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    counts = [int(c) for c in args.writers.split(",") if c.strip()] if not (args.build or args.measure) else []
    password = os.environ.get("NEWSMON_TEST_PG_PASSWORD") if args.pg_url else None
    load = os.getloadavg()
    figures: dict = {"per_day": args.per_day, "load_at_start": [round(x, 1) for x in load],
                     "writers": {}, "postgresql_workers": None, "sizes": {}, "copy": None}
    if args.copy:
        from .scale_copy import round_trip

        _log(f"db copy: {args.copy:,} generated articles to PostgreSQL and back")
        figures["copy"] = round_trip(args.copy, args.pg_url, password)
        _log(json.dumps(figures["copy"]))
        if not (counts or sizes or args.build or args.measure):
            save("scale_copy", figures)
            return report(figures)
    started = time.perf_counter()
    mixed, figures["texts"] = texts()
    pool = pool_of(mixed)
    _log(f"pool: {len(pool)} texts ({figures['texts']}) in {time.perf_counter() - started:.0f} s")
    if args.build:
        store, _ = open_archive(args.build, args.per_day, building=True)
        for size in sizes:
            grow(store, pool, size, args.per_day, _log)
        store.close()
        return figures
    new_texts = pool_of(texts(seed=23, n=30)[0])     # (texts the archive does not hold)
    if args.measure:
        out = measured(args.measure, args.per_day, queries(pool), [text for text, *_ in new_texts])
        figures["sizes"][out["articles"]] = out
        save("scale_measure", figures)
        return report(figures)
    if counts:
        figures["writers"] = writers(pool, counts, args.seconds, args.cache)
        figures["postgresql_workers"] = pg_writers(pool, counts, args.seconds, args.pg_url, password)
    words = queries(pool)
    for size in sizes:
        store, _ = open_archive(args.cache, args.per_day, building=True)
        grown = grow(store, pool, size, args.per_day, _log)
        store.close()
        if grown:
            figures["sizes"][size] = measured(args.cache, args.per_day, words, [text for text, *_ in new_texts])
            save("scale", figures)          # kept size by size: the 1M step may be stopped
    # the writers alone (`--sizes ""`) are kept apart, never over an earlier run's archive figures
    save("scale" if sizes else "scale_writers", figures)
    return report(figures)


def report(figures: dict) -> dict:
    """The figures as a table."""
    rows = []
    for engine, key in (("SQLite", "writers"), ("PostgreSQL", "postgresql_workers")):
        for c, w in (figures[key] or {}).items():
            if isinstance(c, int):
                rows.append((f"{c} {engine} writer(s)", f"{w['per_second']:,} articles/s ({w['articles']:,} in "
                                                         f"{w['seconds']} s; {w.get('ratio_to_1', '-')}x one)"))
    if figures["writers"] and figures["postgresql_workers"] is None:
        rows.append(("PostgreSQL writers", "not measured (no PostgreSQL binaries, no --pg-url)"))
    for size, f in figures["sizes"].items():
        rows.append((f"{size:,} articles ({f['store_gb']} GB)",
                     f"dedup index: opened {f['dedup_open_ms']} ms, a check {f['dedup_check_new_ms']} ms (new) / "
                     f"{f['dedup_check_copy_ms']} ms (copy), in memory {f['dedup_memory_load_s']} s "
                     f"{f['dedup_memory_mb']} MB; story window ({f['story_window_articles']:,}) "
                     f"{f['story_window_s']} s (CPU {f['story_window_cpu_s']} s); digest of {f['digest_day_articles']:,} "
                     f"{f['digest_s']} s (CPU {f['digest_cpu_s']} s); "
                     f"search p50 {f['search_p50_ms']} ms p95 {f['search_p95_ms']} ms"))
    if figures["copy"]:
        c = figures["copy"]
        rows.append((f"db copy, {c['articles']:,} articles ({c['rows']:,} rows, {c['tables']} tables)",
                     f"to PostgreSQL {c['to_postgresql_s']} s, back to SQLite {c['back_to_sqlite_s']} s, "
                     f"counts and checksums {'equal' if c['equal'] else 'NOT EQUAL'}"))
    table(f"Scale ({figures.get('texts', 'generated text')}; load average at start {figures['load_at_start'][0]})", rows)
    return figures
