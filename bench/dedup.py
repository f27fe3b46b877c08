"""Near-duplicate index at archive scale: build/load time, per-check cost, memory; naive all-pairs.

    python -m bench dedup [--articles 100000] [--naive 5000] [--spread-days 730 --window-days 365]

With --spread-days, the articles' first_seen times are spread evenly over that many days before
the clock, and the index load is measured twice: over the whole archive (what every start paid
before [dedup] window_days) and over the last --window-days (what it pays now).
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipeline.app.index import load_index as open_index  # (the index in memory; on disk: bench diskindex)
from pipeline.stages.clean import fingerprint
from pipeline.stages.dedup import SIGNATURE_VERSION, jaccard, shingles, signature
from pipeline.storage.store import Store, iso

from .common import TextGenerator, rss_mb, save, table, timed

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


def fill(store: Store, gen: TextGenerator, n: int, spread_days: int = 0) -> tuple[list[str], float]:
    """Store n generated articles with their signatures (stored over the `spread_days` before
    NOW, or all at NOW); returns some texts to copy later."""
    kept, sig_seconds = [], 0.0
    batch_articles, batch_sigs = [], []
    for i in range(n):
        text = gen.text(int(gen.rng.integers(300, 900)))
        start = time.perf_counter()
        sig = signature(text)
        sig_seconds += time.perf_counter() - start
        aid = f"a{i:07d}"
        batch_articles.append({"id": aid, "identity": f"url:https://bench.example/{i}", "feed": "bench",
                               "url": f"https://bench.example/{i}", "title": f"Article {i}",
                               "first_seen": iso(NOW - timedelta(days=spread_days * (n - i) / n)), "text": text, "text_source": "page",
                               "fingerprint": fingerprint(text), "story_id": aid, "topics": "[]"})
        batch_sigs.append((aid, SIGNATURE_VERSION, sig.tobytes()))
        if i % 1000 == 0:
            kept.append(text)
        if len(batch_articles) == 5000 or i == n - 1:
            with store.transaction():
                store.db["articles"].insert_all(batch_articles)
                store.save_signatures(batch_sigs)
            batch_articles, batch_sigs = [], []
    return kept, sig_seconds / n


def run(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench dedup")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--naive", type=int, default=5_000)
    parser.add_argument("--checks", type=int, default=1_000)
    parser.add_argument("--spread-days", type=int, default=0)
    parser.add_argument("--window-days", type=int, default=365)
    args = parser.parse_args(argv)
    gen = TextGenerator(seed=11)
    figures: dict = {"articles": args.articles}

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "bench.db")
        with timed(figures, "fill_seconds"):
            originals, figures["signature_ms"] = fill(store, gen, args.articles, args.spread_days)
        figures["signature_ms"] *= 1000
        gc.collect()
        before = rss_mb()
        with timed(figures, "index_load_seconds"):
            index = open_index(store)
        figures["index_memory_mb"] = rss_mb() - before
        if args.spread_days:         # (the checks below go on over the whole archive's index)
            gc.collect()
            before = rss_mb()
            with timed(figures, "index_window_load_seconds"):
                window = open_index(store, NOW - timedelta(days=args.window_days))
            figures["index_window_memory_mb"] = rss_mb() - before
            figures["index_window_articles"] = len(window)
            del window

        # checks: mostly new articles, every tenth a near copy of a stored one
        probes = []
        for i in range(args.checks):
            if i % 10 == 0:
                words = originals[(i // 10) % len(originals)].split(" ")
                probes.append(" ".join(words[:-40]) + " extra words at the end of a copy.")
            else:
                probes.append(gen.text(600))
        found = 0
        start = time.perf_counter()
        for text in probes:
            hit = index.nearest(text, fingerprint(text), signature(text))
            found += hit is not None
        figures["check_ms"] = (time.perf_counter() - start) / len(probes) * 1000
        figures["planted_found"] = f"{found}/{(args.checks + 9) // 10}"
        store.close()

    # naive: exact Jaccard of the new text against every stored text
    pool = [shingles(gen.text(int(gen.rng.integers(300, 900)))) for _ in range(args.naive)]
    probe_shingles = [shingles(p) for p in probes[:20]]
    start = time.perf_counter()
    for p in probe_shingles:
        max(jaccard(p, other) for other in pool)
    figures["naive_check_ms_at_naive_size"] = (time.perf_counter() - start) / len(probe_shingles) * 1000
    figures["naive_size"] = args.naive
    ratio = figures["naive_check_ms_at_naive_size"] / figures["check_ms"]

    table(f"Near-duplicate index over {args.articles:,} stored articles", [
        ("store articles + signatures", f"{figures['fill_seconds']:.1f} s"),
        ("signature per article (rensa)", f"{figures['signature_ms']:.3f} ms"),
        ("index load at start-up", f"{figures['index_load_seconds']:.2f} s"),
        ("index memory", f"{figures['index_memory_mb']:.0f} MB"),
        *([(f"index load over the last {args.window_days} of {args.spread_days} days "
            f"({figures['index_window_articles']:,} entries)",
            f"{figures['index_window_load_seconds']:.2f} s, {figures['index_window_memory_mb']:.0f} MB")]
          if args.spread_days else []),
        ("check per new article (signature + lookup)", f"{figures['check_ms']:.3f} ms"),
        ("planted near copies found", figures["planted_found"]),
        (f"naive all-pairs check vs {args.naive:,} texts", f"{figures['naive_check_ms_at_naive_size']:.1f} ms"),
        (f"naive({args.naive:,}) / index({args.articles:,})", f"{ratio:.0f}x"),
    ])
    save("dedup", figures)
    return figures
