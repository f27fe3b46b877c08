"""SQLite and PostgreSQL side by side, through the one Store: articles stored per second (a run's
units of 20 articles, group commit), search latency, and the start-up reads of a run (the
duplicate index's rows, the story window).

    python -m bench engines [--articles 20000] [--pg-url postgresql://…]

PostgreSQL is the server named by `--pg-url` (password in NEWSMON_TEST_PG_PASSWORD), else by
NEWSMON_TEST_PG_URL, else a throwaway cluster started here (tests/pgserver.py: Debian's binaries,
fsync off as in the tests, so the figures are of the engine, not of this VM's disk flushes; SQLite
runs with its defaults, synchronous=NORMAL in WAL mode). Both on this machine, over loopback.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipeline.records import Article
from pipeline.storage.store import Store

from .common import TextGenerator, save, table

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
QUERIES = ["w40", "w400", "w4000", '"w3 w7"', "w120 OR w130", "w12 NOT w40", "w25*", "w200 w300"]


def _pgserver():
    spec = importlib.util.spec_from_file_location("pgserver", ROOT / "tests" / "pgserver.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _articles(n: int) -> list[Article]:
    gen = TextGenerator(seed=11)
    return [Article(identity=f"guid:f{i % 20}:{i}", feed=f"f{i % 20}", guid=str(i), url=f"https://e.example/{i}",
                    canonical_url=f"https://e.example/{i}", title=" ".join(gen.text(8).rstrip(".").split()[:8]),
                    published=None, text=gen.text(400), text_source="page", extraction_note=None,
                    fingerprint=uuid.uuid4().hex * 2, minhash=None, matches=()) for i in range(n)]


def _measure(store: Store, articles: list[Article]) -> dict:
    out: dict = {}
    run = store.start_run(NOW)
    start = time.perf_counter()
    with store.grouped(1.0):
        for i in range(0, len(articles), 20):
            with store.transaction():
                for k, article in enumerate(articles[i:i + 20]):
                    store.insert_article(article, NOW - timedelta(minutes=len(articles) - i - k), run)
    out["stored_per_s"] = len(articles) / (time.perf_counter() - start)
    times = []
    for _ in range(5):
        for query in QUERIES:
            t = time.perf_counter()
            store.search(query, limit=20)
            times.append(time.perf_counter() - t)
    out["search_p50_ms"] = statistics.median(times) * 1000
    out["search_p95_ms"] = statistics.quantiles(times, n=20)[18] * 1000
    t = time.perf_counter()
    index_rows = sum(1 for _ in store.index_rows())
    out["index_rows_s"] = time.perf_counter() - t
    t = time.perf_counter()
    window = sum(1 for _ in store.window_rows(NOW - timedelta(days=4)))
    out["window_rows_s"] = time.perf_counter() - t
    out["rows"] = (index_rows, window)
    return out


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench engines")
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--pg-url", default=os.environ.get("NEWSMON_TEST_PG_URL"))
    args = parser.parse_args(argv)
    random.seed(1)
    articles = _articles(args.articles)
    folder = Path(tempfile.mkdtemp(prefix="newsmon-bench-engines-"))
    folder.chmod(0o755)
    password = os.environ.get("NEWSMON_TEST_PG_PASSWORD")
    server = None
    try:
        if args.pg_url is None:
            server = _pgserver()
            args.pg_url, password = server.start(folder / "cluster")
        import psycopg

        name = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(args.pg_url, password=password, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        figures = {}
        for engine, target in (("sqlite", folder / "bench.db"), ("postgresql", args.pg_url.rsplit("/", 1)[0] + "/" + name)):
            store = Store.open(target, password)
            try:
                figures[engine] = _measure(store, articles)
            finally:
                store.close()
        with psycopg.connect(args.pg_url, password=password, autocommit=True) as admin:
            from pipeline.storage import postgres

            postgres.close_pools()
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        if server is not None:
            server.stop(folder / "cluster")
        shutil.rmtree(folder, ignore_errors=True)
    rows = []
    for key, label, unit in (("stored_per_s", "articles stored", "/s"), ("search_p50_ms", "search p50", " ms"),
                             ("search_p95_ms", "search p95", " ms"), ("index_rows_s", "duplicate index rows read", " s"),
                             ("window_rows_s", "story window rows read", " s")):
        rows.append((label, "   ".join(f"{e}: {figures[e][key]:,.1f}{unit}" for e in figures)))
    table(f"engines: {args.articles:,} generated articles (400 words), units of 20, group commit", rows)
    save("engines", {"articles": args.articles, **figures})
