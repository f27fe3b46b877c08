"""The duplicate index on disk against the index in memory, at archive scale:

    python -m bench diskindex [--entries 100000,1000000] [--probes 400]

For each size: a store of that many original articles with signatures (random MinHash values,
no texts: the lookup's cost does not depend on them), their bands built as `db maintain` builds
them for an older archive (app/diskindex.catch_up: the one-time migration), then
- on disk (what a run does since schema 12): opening the index, and a lookup per new article
  (`nearest`: one indexed query on `bands`, then the candidates' signatures), half of the probes
  near copies of stored articles (a fifth of their values changed: found by their estimate), half
  new (no candidate);
- in memory (what every run did before): loading the window's signatures (app/index.load_index),
  its time and memory, and its lookup.
Memory is the process's resident set before and after (the index in memory stays referenced).
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from pipeline.app.diskindex import catch_up
from pipeline.app.index import load_index, open_index
from pipeline.stages.dedup import NUM_PERM, SIGNATURE_VERSION
from pipeline.storage.store import Store, iso

from .common import rss_mb, save, table

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
CHUNK = 50_000


def fill(store: Store, n: int, rng: np.random.Generator) -> np.ndarray:
    """n original articles over the year before NOW with random signatures; returns some of the
    signatures, to copy."""
    kept = []
    for start in range(0, n, CHUNK):
        sigs = rng.integers(0, 2**32, size=(min(CHUNK, n - start), NUM_PERM), dtype=np.uint32)
        kept.append(sigs[:: max(1, n // 2000)])
        rows = [(f"a{i:08d}", f"url:https://bench.example/{i}", "bench", f"Article {i}",
                 iso(NOW - timedelta(days=365 * (n - i) / n)), "-", "page", f"fp{i}", f"a{i:08d}")
                for i in range(start, start + len(sigs))]
        with store.transaction():
            store.conn.executemany("INSERT INTO articles (id, identity, feed, title, first_seen, text, text_source, "
                                   "fingerprint, story_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            store.save_signatures([(r[0], SIGNATURE_VERSION, s.tobytes()) for r, s in zip(rows, sigs)])
    return np.concatenate(kept)


def probes(kept: np.ndarray, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    out = []
    for i in range(n):
        if i % 2:
            out.append(rng.integers(0, 2**32, size=NUM_PERM, dtype=np.uint32))
        else:
            sig = kept[i % len(kept)].copy()
            changed = rng.choice(NUM_PERM, NUM_PERM // 5, replace=False)
            sig[changed] = rng.integers(0, 2**32, size=len(changed), dtype=np.uint32)
            out.append(sig)
    return out


def lookups(index, sigs: list[np.ndarray]) -> tuple[float, int]:
    """Mean ms per `nearest`, and how many found something."""
    found = 0
    start = time.perf_counter()
    for n, sig in enumerate(sigs):
        found += index.nearest("", f"probe{n}", sig) is not None
    return (time.perf_counter() - start) / len(sigs) * 1000, found


def one_size(n: int, probe_count: int) -> dict:
    rng = np.random.default_rng(n)
    figures: dict = {"entries": n}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        store = Store.open(path)
        start = time.perf_counter()
        kept = fill(store, n, rng)
        figures["fill_s"] = time.perf_counter() - start
        store.checkpoint()
        size_before = path.stat().st_size
        start = time.perf_counter()
        catch_up(store)
        figures["build_s"] = time.perf_counter() - start
        store.checkpoint()
        figures["bands_mb"] = (path.stat().st_size - size_before) / 1e6
        figures["bands_bytes_per_entry"] = (path.stat().st_size - size_before) / n
        sigs = probes(kept, probe_count, rng)
        since = NOW - timedelta(days=366)

        for name, opener in (("disk", open_index), ("memory", load_index)):
            gc.collect()
            before = rss_mb()
            start = time.perf_counter()
            index = opener(store, since)
            figures[f"{name}_open_s"] = time.perf_counter() - start
            figures[f"{name}_lookup_ms"], figures[f"{name}_found"] = lookups(index, sigs)
            figures[f"{name}_memory_mb"] = rss_mb() - before
            del index
        store.close()
    return figures


def run(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench diskindex")
    parser.add_argument("--entries", default="100000,1000000")
    parser.add_argument("--probes", type=int, default=400)
    args = parser.parse_args(argv)
    results = {}
    for n in (int(x) for x in args.entries.split(",")):
        f = one_size(n, args.probes)
        results[n] = f
        rows = [
            ("bands built (one-time migration)", f"{f['build_s']:.1f} s ({f['build_s'] / n * 1e6:.0f} µs an article), "
                                                 f"{f['bands_mb']:.0f} MB ({f['bands_bytes_per_entry']:.0f} B an article)"),
            ("on disk: open", f"{f['disk_open_s'] * 1000:.1f} ms, {f['disk_memory_mb']:.0f} MB"),
            ("on disk: lookup per new article", f"{f['disk_lookup_ms']:.2f} ms ({f['disk_found']}/{args.probes} found)"),
            ("in memory: load", f"{f['memory_open_s']:.2f} s, {f['memory_memory_mb']:.0f} MB"),
            ("in memory: lookup per new article", f"{f['memory_lookup_ms']:.2f} ms ({f['memory_found']}/{args.probes} found)"),
        ]
        table(f"Duplicate index over {n:,} stored articles", rows)
    save("diskindex", results)
    return results
