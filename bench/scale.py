"""Where one machine ends (issue 26, point 4):

    python -m bench scale [--sizes 100000,300000,1000000] [--per-day 20000] [--writers 1,2,4]
                          [--seconds 20] [--cache bench/.cache]

1. SQLite's single writer: 1, 2 and 4 processes each storing articles through the real storage
   code (Store.grouped + transaction per feed of 20: insert_article with its signature and topic
   matches, its story profile, its story), into one new store for `--seconds`: articles/s stored
   in all. One writer at a time holds SQLite; more processes only queue (busy timeout).
2. An archive grown to each of `--sizes` articles (bench/archive.py, 20,000 a day, texts mixed
   from the trafilatura evaluation pages' extracted texts as bench/soak.py does; generated text
   when ../shared/corpora is absent), kept in `--cache` so a second run starts measuring at once.
   At each size: the duplicate index load (app/index.open_index over the whole archive, all of
   it inside the default 365-day window), the story window load (app/stories.open_story_index:
   4 days + 1 = 100,000 articles at 20,000 a day), the digest of the last day (20,000 articles,
   app/report.write_for_day: all four formats), and search latency p50/p95 over 60 queries.

3. The same writers on PostgreSQL (`--pg-url`, its password in NEWSMON_TEST_PG_PASSWORD; or
   NEWSMON_TEST_PG_URL), a new database for each count: articles/s with 1, 2 and 4 processes,
   which PostgreSQL runs at once (row locks, no single writer). Without a URL, not measured.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import time
from datetime import timedelta
from pathlib import Path

from pipeline.config import load_config
from pipeline.storage import postgres
from pipeline.storage.store import Store

from .archive import T0, Archive, pool_of, simple_texts
from .common import save, table
from .pipeline import CORPUS_PAGES

POOL = 4000
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


def texts(seed: int = 11) -> tuple[list[str], str]:
    """Pool texts: two or three corpus texts' paragraphs mixed, 40% of the words replaced (as
    bench/soak_history.py's History), or generated text without the corpus."""
    if not CORPUS_PAGES.is_dir():
        return simple_texts(POOL), "generated text"
    from .farm import corpus_pages
    from .soak_history import corpus_texts

    base = corpus_texts(corpus_pages(CORPUS_PAGES, 300))
    rng = random.Random(seed)
    vocabulary = sorted({w for b in base for p in b for w in p.split()})
    out = []
    for _ in range(POOL):
        paragraphs = [p for b in rng.sample(base, rng.randint(2, 3)) for p in rng.sample(b, min(len(b), rng.randint(3, 8)))]
        out.append("\n".join(" ".join(w if rng.random() > 0.4 else rng.choice(vocabulary) for w in p.split())
                             for p in paragraphs))
    return out, f"{len(base)} corpus texts mixed"


# --- 1. the single writer


def _writer(database: str, pool: list, seconds: float, worker: int, out, password: str | None = None) -> None:
    from pipeline.records import Article, Match
    from pipeline.stages.dedup import SIGNATURE_VERSION
    from pipeline.storage.store import article_id
    from pipeline.storage.times import parse_time

    store = Store.open(database if postgres.is_url(database) else Path(database), password)
    stored, n, rng = 0, 0, random.Random(worker)
    now = parse_time("2026-12-05T12:00:00+00:00")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with store.grouped(0.5):
            for _ in range(10):                     # ten feeds a group, 20 articles a feed
                with store.transaction():
                    for _ in range(20):
                        text, title, sig, profile = rng.choice(pool)
                        n += 1
                        body = f"Worker {worker} item {n}.\n{text}"
                        matches = (Match(topic="nato", term="NATO", field="text", start=0, end=4, matched="NATO", sentence=body[:80]),) if n % 10 == 0 else ()
                        article = Article(identity=f"url:https://w{worker}.example/{n}", feed=f"w{worker}-f{n % 40}",
                                          guid=None, url=f"https://w{worker}.example/{n}",
                                          canonical_url=f"https://w{worker}.example/{n}", title=title, published=now,
                                          text=body, text_source="page", fingerprint=f"{worker}-{n}", matches=matches)
                        aid = article_id(article.identity)
                        if store.insert_article(article, now, 1, (SIGNATURE_VERSION, sig)):
                            store.save_profiles([(aid, "bench", profile)])
                            store.conn.execute(
                                "INSERT INTO stories (id, first_seen, last_seen, lead, title, reports, outlets) "
                                "VALUES (?, ?, ?, ?, ?, 1, 1)", (aid, now.isoformat(), now.isoformat(), aid, title))
                            stored += 1
    store.close()
    out.put(stored)


def _timed(target: str, pool: list, seconds: float, count: int, label: str, password: str | None = None) -> dict:
    """`count` writer processes into the store `target` (made already) for `seconds`."""
    context = multiprocessing.get_context("fork")
    postgres.close_pools()                  # (a forked child must not share the parent's connections)
    out = context.Queue()
    started = time.perf_counter()
    processes = [context.Process(target=_writer, args=(target, pool, seconds, w, out, password)) for w in range(count)]
    for p in processes:
        p.start()
    stored = sum(out.get() for _ in processes)
    for p in processes:
        p.join()
    elapsed = time.perf_counter() - started
    print(f"{count} {label} writer(s): {stored:,} articles in {elapsed:.1f} s = {stored / elapsed:,.0f}/s", flush=True)
    return {"articles": stored, "seconds": round(elapsed, 1), "per_second": round(stored / elapsed)}


def writers(pool: list, counts: list[int], seconds: float, folder: Path) -> dict:
    figures = {}
    for count in counts:
        database = folder / f"writers-{count}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        Store.open(database).close()
        figures[count] = _timed(str(database), pool, seconds, count, "SQLite")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    return figures


def pg_writers(pool: list, counts: list[int], seconds: float, url: str, password: str | None) -> dict:
    """The writers on PostgreSQL: a new database per count on the server of `url`, dropped after."""
    import psycopg

    figures = {}
    for count in counts:
        name = f"bench_scale_{count}_{os.getpid()}"
        with psycopg.connect(url, password=password, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {name}")
        target = url.rsplit("/", 1)[0] + "/" + name
        try:
            Store.open(target, password).close()
            figures[count] = _timed(target, pool, seconds, count, "PostgreSQL", password)
        finally:
            postgres.close_pools()
            with psycopg.connect(url, password=password, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return figures


# --- 2. the archive at each size


def _best_of(n: int, fn) -> float:
    seconds = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - t)
    return min(seconds)


def measure(store: Store, config, words: list[str]) -> dict:
    from pipeline.app.index import open_index
    from pipeline.app.report import write_for_day
    from pipeline.app.stories import open_story_index

    last = store.conn.execute("SELECT max(first_seen) FROM articles").fetchone()[0]
    day_end = (T0 + timedelta(days=store.conn.execute("SELECT count(*) FROM runs").fetchone()[0]))
    now = day_end + timedelta(minutes=30)
    out = {"articles": store.article_count(), "last_first_seen": last}
    size = store.size(config.database)
    out["store_gb"] = round((size.database + size.wal) / 1e9, 2)
    out["dedup_index_s"] = round(_best_of(1, lambda: open_index(store, now - timedelta(days=365))), 2)
    t = time.perf_counter()
    out["story_window_articles"] = len(open_story_index(store, config.zone, now))
    out["story_window_s"] = round(time.perf_counter() - t, 2)
    out["digest_day_articles"] = store.conn.execute(
        "SELECT count(*) FROM articles WHERE first_seen >= ?", ((day_end - timedelta(days=1)).isoformat(),)).fetchone()[0]
    last_day = (day_end - timedelta(days=1)).date()
    out["digest_s"] = round(_best_of(1, lambda: write_for_day(store, config, now, config.labels, day=last_day)), 2)
    latencies = []
    for q in words:
        t = time.perf_counter()
        store.search(q, limit=20)
        latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    out["search_p50_ms"] = round(statistics.median(latencies), 1)
    out["search_p95_ms"] = round(latencies[int(len(latencies) * 0.95) - 1], 1)
    return out


def queries(pool: list, n: int = 60, seed: int = 5) -> list[str]:
    """Single words of every frequency (drawn from article texts, so common words come up more
    often), a two-word AND and a phrase now and then: what people type."""
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        words = [w.strip(".,;:\"'()") for w in rng.choice(pool)[0].split()]
        words = [w for w in words if len(w) > 3 and w.isalpha()]
        if len(words) < 3:
            continue
        k = len(out) % 6
        at = rng.randrange(len(words) - 1)
        out.append(f'"{words[at]} {words[at + 1]}"' if k == 4 else
                   f"{rng.choice(words)} {rng.choice(words)}" if k == 5 else rng.choice(words))
    return out


def run(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench scale")
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--per-day", type=int, default=20_000)
    parser.add_argument("--writers", default="1,2,4")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--pg-url", default=os.environ.get("NEWSMON_TEST_PG_URL"),
                        help="a PostgreSQL server for the writers there (password: NEWSMON_TEST_PG_PASSWORD)")
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    mixed, source = texts()
    pool = pool_of(mixed)
    print(f"pool: {len(pool)} texts ({source}) in {time.perf_counter() - started:.0f} s", flush=True)
    load = os.getloadavg()
    figures: dict = {"texts": source, "per_day": args.per_day, "load_at_start": [round(x, 1) for x in load],
                     "writers": {}, "sizes": {}}
    counts = [int(c) for c in args.writers.split(",")] if args.writers else []
    if counts:
        figures["writers"] = writers(pool, counts, args.seconds, args.cache)
    figures["postgresql_workers"] = pg_writers(pool, counts, args.seconds, args.pg_url,
                                               os.environ.get("NEWSMON_TEST_PG_PASSWORD")) \
        if counts and args.pg_url else None
    database, reports = args.cache / f"scale-{args.per_day}.db", args.cache / "reports"
    config_path = args.cache / "scale.toml"
    config_path.write_text(CONFIG.format(database=database, reports=reports))
    config = load_config(config_path)
    store = Store.open(database)
    words = queries(pool)
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    for size in sizes:
        have = store.article_count()
        if have < size:
            t = time.perf_counter()
            archive = Archive(store, pool, args.per_day, seed=size)
            archive.day = store.conn.execute("SELECT count(*) FROM runs").fetchone()[0]
            archive.write(size - have)
            print(f"archive: {have:,} -> {size:,} articles in {time.perf_counter() - t:.0f} s", flush=True)
        elif have > size:
            print(f"archive: the cache holds {have:,} articles already; {size:,} is not measured", flush=True)
            continue
        figures["sizes"][size] = measure(store, config, words)
        figures["sizes"][size]["load"] = [round(x, 1) for x in os.getloadavg()]
        print(json.dumps(figures["sizes"][size]), flush=True)
        save("scale", figures)              # kept size by size: the 1M step may be stopped
    store.close()
    rows = [(f"{c} SQLite writer(s)", f"{w['per_second']:,} articles/s ({w['articles']:,} in {w['seconds']} s)")
            for c, w in figures["writers"].items()]
    for size, f in figures["sizes"].items():
        rows.append((f"{size:,} articles ({f['store_gb']} GB)",
                     f"dedup index {f['dedup_index_s']} s; story window ({f['story_window_articles']:,}) "
                     f"{f['story_window_s']} s; digest of {f['digest_day_articles']:,} {f['digest_s']} s; "
                     f"search p50 {f['search_p50_ms']} ms p95 {f['search_p95_ms']} ms"))
    for c, w in (figures["postgresql_workers"] or {}).items():
        rows.append((f"{c} PostgreSQL writer(s)", f"{w['per_second']:,} articles/s ({w['articles']:,} in {w['seconds']} s)"))
    if not figures["postgresql_workers"]:
        rows.append(("PostgreSQL writers", "not measured (no --pg-url)"))
    table(f"Scale ({source}; load average at start {load[0]:.1f})", rows)
    # the writers alone (`--sizes ""`) are kept apart, never over an earlier run's archive figures
    save("scale" if sizes else "scale_writers", figures)
    return figures
