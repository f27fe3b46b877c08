"""The writers of `python -m bench scale` (issue 26, point 4): 1, 2 and 4 processes each storing
articles through the real storage code (Store.grouped + a transaction per feed of 20:
insert_article with its signature and topic matches, its story profile, its story) for a fixed
time, into one new SQLite store, then into one new PostgreSQL database: articles/s in all, and
the ratio to one writer. SQLite takes one writer at a time (the others wait on the busy
timeout); PostgreSQL runs them at once (row locks).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from pipeline.storage import postgres
from pipeline.storage.store import Store


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
    return with_ratios(figures)


def pg_writers(pool: list, counts: list[int], seconds: float, url: str | None, password: str | None) -> dict | None:
    """The writers on PostgreSQL: a new database per count on the server of `url` (None: a
    throwaway cluster started here as the tests start one, tests/pgserver.py), dropped after.
    Each count's articles/s and its ratio to one writer's. None: no server and no binaries."""
    import psycopg

    from .engines import _pgserver

    server, folder = None, None
    if url is None:
        server = _pgserver()
        if server.binaries() is None:
            return None
        folder = Path(tempfile.mkdtemp(prefix="newsmon-bench-scale-"))
        folder.chmod(0o755)
        url, password = server.start(folder / "cluster")
    figures: dict = {"server": "throwaway cluster (fsync off)" if server else "given (--pg-url)"}
    try:
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
    finally:
        if server is not None:
            server.stop(folder / "cluster")
            shutil.rmtree(folder, ignore_errors=True)
    return with_ratios(figures)


def with_ratios(figures: dict) -> dict:
    """Each writer count's articles/s as a multiple of one writer's (the scaling ratio)."""
    one = figures.get(1, {}).get("per_second")
    for count, f in figures.items():
        if isinstance(count, int) and one:
            f["ratio_to_1"] = round(f["per_second"] / one, 2)
    return figures
