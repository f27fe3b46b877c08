"""The figures of `python -m bench scale` on an archive at the size it holds (issue 26, point 4):
the duplicate index (opened as a run opens it, a new article's check, and loaded in memory in
full as before schema 12), the story window load (app/stories.open_story_index: 4 days + 1 of
originals), the digest of the last day (app/report.write_for_day, all four formats), and search
latency p50/p95 over 60 queries.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import timedelta

from pipeline.storage.store import Store

from .archive import T0


def _best_of(n: int, fn) -> float:
    seconds = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - t)
    return min(seconds)


def measure(store: Store, config, words: list[str], new_texts: list[str]) -> dict:
    """The figures of the archive at the size it holds (see the module's docstring)."""
    from pipeline.app.report import write_for_day
    from pipeline.app.stories import open_story_index

    last = store.conn.execute("SELECT max(first_seen) FROM articles").fetchone()[0]
    day_end = (T0 + timedelta(days=store.conn.execute("SELECT count(*) FROM runs").fetchone()[0]))
    now = day_end + timedelta(minutes=30)
    out = {"articles": store.article_count(), "last_first_seen": last}
    size = store.size(config.database)
    out["store_gb"] = round((size.database + size.wal) / 1e9, 2)
    out.update(dedup_figures(store, now - timedelta(days=365), new_texts))
    out.update(memory_index(store, now - timedelta(days=365)))      # (first: little memory freed before it)
    t, cpu = time.perf_counter(), time.process_time()
    out["story_window_articles"] = len(open_story_index(store, config.zone, now))
    out["story_window_s"] = round(time.perf_counter() - t, 2)
    out["story_window_cpu_s"] = round(time.process_time() - cpu, 2)     # (a loaded machine: wall >> CPU)
    out["digest_day_articles"] = store.conn.execute(
        "SELECT count(*) FROM articles WHERE first_seen >= ?", ((day_end - timedelta(days=1)).isoformat(),)).fetchone()[0]
    last_day = (day_end - timedelta(days=1)).date()
    cpu = time.process_time()
    out["digest_s"] = round(_best_of(1, lambda: write_for_day(store, config, now, config.labels, day=last_day)), 2)
    out["digest_cpu_s"] = round(time.process_time() - cpu, 2)
    latencies = []
    for q in words:
        t = time.perf_counter()
        store.search(q, limit=20)
        latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    out["search_p50_ms"] = round(statistics.median(latencies), 1)
    out["search_p95_ms"] = round(latencies[int(len(latencies) * 0.95) - 1], 1)
    return out


def dedup_figures(store: Store, since, new_texts: list[str]) -> dict:
    """The duplicate index a run uses (kept on disk): opening it, and a new article's check
    (nearest: the exact fingerprint, then the band lookup and the candidates' verdict), for texts
    the archive does not hold and for copies of stored ones. The archive's texts come from a
    pool, so a stored text has ~size/5,300 near-copies there: its check is a worst case."""
    from hashlib import sha256

    from pipeline.app.index import open_index
    from pipeline.stages.dedup import signature

    t = time.perf_counter()
    index = open_index(store, since)
    out = {"dedup_open_ms": round((time.perf_counter() - t) * 1000, 2)}
    stored = [store.text_of(key) or "" for (key,) in store.conn.execute(
        "SELECT id FROM articles WHERE duplicate_of IS NULL ORDER BY rowid DESC LIMIT 30").fetchall()]
    for label, texts_ in (("new", new_texts), ("copy", [f"A copy.\n{text}" for text in stored])):
        times = []
        for text in texts_:
            t = time.perf_counter()
            index.nearest(text, sha256(text.encode()).hexdigest(), signature(text))
            times.append((time.perf_counter() - t) * 1000)
        out[f"dedup_check_{label}_ms"] = round(statistics.median(times), 1) if times else None
    return out


def memory_index(store: Store, since) -> dict:
    """The index loaded in memory in full, as every run did before schema 12 (and the tests'
    reference): its load time and what it adds to the process's memory."""
    from pipeline.app.index import load_index

    from .common import rss_mb

    before, t = rss_mb(), time.perf_counter()
    index = load_index(store, since)
    out = {"dedup_memory_load_s": round(time.perf_counter() - t, 1), "dedup_memory_mb": round(rss_mb() - before)}
    del index
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
