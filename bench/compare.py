"""newsmon against the script a user would write instead (bench/baseline.py), side by side.

    python -m bench compare [--feeds 1000] [--items 5] [--rounds 3] [--scaling 250 1000 4000]
                            [--text-feeds 200]

Both run as subprocesses against the same loopback feed farm (50 ms latency), in interleaved
rounds on fresh databases; each figure is the median wall time. Reported:
- feeds only (no article pages): the first run and the no-op rerun (every feed answers 304) at
  `--feeds`, each as a ratio newsmon / script (below 1: newsmon is faster);
- full text (median of `--rounds` rounds too): `--text-feeds` x `--items` real pages (the trafilatura evaluation set, generated
  pages without it), newsmon against the script with a multiprocessing Pool(2), and against the
  machine's ceiling: two bare processes making newsmon's extraction call (extract_main_text: the
  fast pass, the full one when it finds little) on the same pages, no network, no storage; and
  newsmon with `[extract] thorough = true`, whose extraction is the script's (trafilatura's full
  pass on every page), so that ratio compares the pipelines alone;
- scaling: the first run at each `--scaling` size with the cost per feed (flat = linear).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import save, table
from .farm import corpus_pages, generated_pages, unique_page
from .pipeline import CORPUS_PAGES, ROOT, Farm, stored, write_config


def _timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed ({done.returncode}): {done.stderr[-1500:]}")
    return time.perf_counter() - start


def newsmon(config: Path) -> float:
    return _timed([sys.executable, "-m", "pipeline", "-q", "run", "--force", "--config", str(config)])


def script(db: Path, urls: list[str], *extra: str) -> float:
    return _timed([sys.executable, "-m", "bench.baseline", str(db), *urls, *extra])


def _extract(page: bytes) -> int:
    from pipeline.stages.extract import extract_main_text
    return len(extract_main_text(page, None) or "")


def ceiling(pages: list[bytes]) -> float:
    """Articles per second of two bare trafilatura processes (what two cores can do at best)."""
    from multiprocessing import get_context

    with get_context("forkserver").Pool(2) as pool:
        pool.map(_extract, pages[:4])                       # warm-up: imports in both workers
        start = time.perf_counter()
        pool.map(_extract, pages, chunksize=4)
        return len(pages) / (time.perf_counter() - start)


def full_text(tmp: Path, feeds: int, items: int) -> dict[str, float]:
    """Articles per second, first run with every item's page: newsmon (fast pass first, and thorough), the script, the ceiling."""
    use_corpus = CORPUS_PAGES.is_dir()
    tmp.mkdir(parents=True, exist_ok=True)
    farm = Farm(feeds, items, 0.05, 250, CORPUS_PAGES if use_corpus else None)
    try:
        config = write_config(tmp / "text", farm.urls(), True, 32)
        seconds = newsmon(config)
        articles = stored(config)
        thorough = write_config(tmp / "thorough", farm.urls(), True, 32, thorough=True)
        thorough_seconds = newsmon(thorough)
        thorough_rate = stored(thorough) / thorough_seconds
        db = tmp / "text-script.db"
        script_seconds = script(db, [u for _, u in farm.urls()], "--pages")
        import sqlite3
        with sqlite3.connect(db) as c:
            script_articles = c.execute("SELECT count(*) FROM items").fetchone()[0]
    finally:
        farm.stop()
    pages = corpus_pages(CORPUS_PAGES, 300) if use_corpus else generated_pages()
    docs = [unique_page(pages[(i * items + j) % len(pages)], i, j) for i in range(feeds) for j in range(items)]
    return {"articles": articles, "newsmon": articles / seconds, "script": script_articles / script_seconds,
            "ceiling": ceiling(docs[:600]), "thorough": thorough_rate}


def one_round(farm: Farm, tmp: Path, n: int) -> dict[str, float]:
    urls = farm.urls()
    config = write_config(tmp / f"n{n}", urls, False, 32)
    db = tmp / f"s{n}.db"
    plain = [u for _, u in urls]
    return {"newsmon_first": newsmon(config), "script_first": script(db, plain),
            "newsmon_rerun": newsmon(config), "script_rerun": script(db, plain)}


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench compare")
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scaling", type=int, nargs="*", default=[250, 1000, 4000])
    parser.add_argument("--text-feeds", type=int, default=200, help="0: no full-text comparison")
    args = parser.parse_args(argv)
    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        farm = Farm(args.feeds, args.items, 0.05, 250, None)
        try:
            rounds = [one_round(farm, Path(tmp), n) for n in range(args.rounds)]
        finally:
            farm.stop()
        med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        figures["side_by_side"] = med
        scaling = {}
        for size in args.scaling:
            farm = Farm(size, args.items, 0.05, 250, None)
            try:
                config = write_config(Path(tmp) / f"scale{size}", farm.urls(), False, 32)
                scaling[size] = {"newsmon": newsmon(config), "script": script(Path(tmp) / f"scale{size}.db",
                                                                              [u for _, u in farm.urls()])}
            finally:
                farm.stop()
        figures["scaling"] = scaling
        text = None
        if args.text_feeds:      # the noisiest figure here (±20% run to run): a median of rounds too
            runs = [full_text(Path(tmp) / f"t{n}", args.text_feeds, args.items) for n in range(args.rounds)]
            text = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            text["ratios_to_script"] = [r["newsmon"] / r["script"] for r in runs]
        figures["full_text"] = text
    rows = [
        (f"first run, {args.feeds} feeds x {args.items}", f"newsmon {med['newsmon_first']:.2f} s, script "
         f"{med['script_first']:.2f} s, newsmon/script {med['newsmon_first'] / med['script_first']:.2f} (target <= 0.8)"),
        (f"no-op rerun, {args.feeds} feeds (304)", f"newsmon {med['newsmon_rerun']:.2f} s, script "
         f"{med['script_rerun']:.2f} s, newsmon/script {med['newsmon_rerun'] / med['script_rerun']:.2f} (target <= 1.0)"),
    ]
    if text:
        rows += [(f"full text, {args.text_feeds} feeds x {args.items} pages",
                  f"newsmon {text['newsmon']:.1f} articles/s, script with Pool(2) {text['script']:.1f}, "
                  f"newsmon/script {text['newsmon'] / text['script']:.2f} (target >= 1.0)"),
                 ("full text, against the ceiling", f"two bare trafilatura processes {text['ceiling']:.1f} articles/s, "
                  f"newsmon/ceiling {text['newsmon'] / text['ceiling']:.2f} (target >= 0.9)"),
                 ("full text, newsmon thorough", f"{text['thorough']:.1f} articles/s (the script's extraction), "
                  f"newsmon thorough/script {text['thorough'] / text['script']:.2f}")]
    rows += [(f"first run, {size} feeds", f"newsmon {s['newsmon']:.2f} s ({s['newsmon'] / size * 1000:.1f} ms/feed), "
              f"script {s['script']:.2f} s ({s['script'] / size * 1000:.1f} ms/feed), ratio {s['newsmon'] / s['script']:.2f}")
             for size, s in scaling.items()]
    table(f"newsmon against the script a user would write (median of {args.rounds} interleaved rounds)", rows)
    save("compare", figures)
