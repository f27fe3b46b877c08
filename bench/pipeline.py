"""Throughput: raw trafilatura vs the whole pipeline, no-op rerun, fetch-only, memory.

    python -m bench pipeline [--feeds 1000] [--items 5] [--quick]

Everything runs on this machine: a feed farm in its own process (bench/farm.py) on loopback
addresses 127.0.x.y, newsmon as `python -m pipeline run` subprocesses on fresh databases.
Article pages are the trafilatura evaluation pages when ../shared/corpora is present,
otherwise generated ones.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

from .common import save, table
from .farm import corpus_pages, generated_pages, host_of, unique_page

ROOT = Path(__file__).resolve().parent.parent
CORPUS_PAGES = ROOT.parent / "shared" / "corpora" / "trafilatura-eval" / "pages"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Farm:
    def __init__(self, feeds: int, items: int, latency: float, hosts: int, pages: Path | None):
        self.port, self.feeds, self.hosts = free_port(), feeds, hosts
        cmd = [sys.executable, "-m", "bench.farm", "--port", str(self.port), "--hosts", str(hosts),
               "--feeds", str(feeds), "--items", str(items), "--latency", str(latency)]
        if pages:
            cmd += ["--pages", str(pages)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready", "the farm did not start"

    def urls(self) -> list[tuple[str, str]]:
        return [(f"bench-{i}", f"http://{host_of(i, self.hosts)}:{self.port}/feed/{i}.xml") for i in range(self.feeds)]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def tree_rss_mb(pid: int) -> float:
    """Memory of a process and all its descendants (forkserver, extraction workers), as PSS:
    pages shared between them (the workers fork from one parent) are counted once, not per process."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("Pss:")) * 1024
        except (OSError, StopIteration):
            pass
    return total / 1e6


def measured(argv: list[str], every: float) -> tuple[float, float, str, str, int]:
    """Run `argv` from the repository: (wall seconds, peak PSS of its process tree in MB, sampled
    every `every` seconds, stdout, stderr, exit code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0.0]

    def watch() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss_mb(proc.pid))
            time.sleep(every)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    watcher.join()
    return time.perf_counter() - start, peak[0], out, err, proc.returncode


def newsmon_run(config: Path, *extra: str) -> dict:
    """Run `newsmon run` as cron would; wall time and the peak RSS of its process tree."""
    seconds, peak, out, err, code = measured(
        [sys.executable, "-m", "pipeline", "-q", "run", "--force", "--config", str(config), *extra], every=0.2)
    if code != 0:
        raise RuntimeError(f"newsmon run failed ({code}): {err[-2000:]}")
    return {"seconds": seconds, "peak_rss_mb": peak, "stdout": out}


def write_config(folder: Path, feeds: list[tuple[str, str]], fetch_pages: bool, concurrency: int,
                 thorough: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = textwrap.dedent(f"""\
        [storage]
        database = "newsmon.db"
        [seeds]
        directory = "{ROOT / 'seeds'}"
        [digest]
        directory = "reports"
        timezone = "Europe/Kyiv"
        [fetch]
        allow_private_networks = ["127.0.0.0/8"]
        concurrency = {concurrency}
        timeout_seconds = 60
        max_items_per_feed = 1000
        [extract]
        fetch_pages = {"true" if fetch_pages else "false"}
        thorough = {"true" if thorough else "false"}
        """)
    text += "".join(f'[[feeds]]\nname = "{n}"\nurl = "{u}"\n' for n, u in feeds)
    path = folder / "newsmon.toml"
    path.write_text(text)
    return path


def raw_rate(pages: list[bytes], feeds: int, items: int, sample: int) -> dict:
    """The single-core reference: the same extraction call, in a plain loop, on the same pages."""
    from pipeline.stages.extract import extract_main_text

    every = [(i, j) for i in range(feeds) for j in range(items)]
    step = max(1, len(every) // sample)        # evenly spread: the same mix of pages the pipeline gets
    docs = [unique_page(pages[(i * items + j) % len(pages)], i, j) for i, j in every[::step][:sample]]
    extract_main_text(docs[0], None)   # warm-up: imports and caches
    start = time.perf_counter()
    for d in docs:
        extract_main_text(d, None)
    seconds = time.perf_counter() - start
    return {"pages": len(docs), "seconds": seconds, "articles_per_second": len(docs) / seconds,
            "ms_per_page": seconds / len(docs) * 1000}


def stored(config: Path) -> int:
    import sqlite3
    with sqlite3.connect(config.parent / "newsmon.db") as c:
        return c.execute("SELECT count(*) FROM articles").fetchone()[0]


def run(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench pipeline")
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.05, help="farm latency for the pipeline run (s)")
    parser.add_argument("--fetch-feeds", type=int, default=1000)
    parser.add_argument("--fetch-latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--hosts", type=int, default=250)
    parser.add_argument("--raw-sample", type=int, default=600)
    parser.add_argument("--quick", action="store_true", help="a small run (200 feeds x 3 items)")
    args = parser.parse_args(argv)
    if args.quick:
        args.feeds, args.items, args.fetch_feeds, args.raw_sample = 200, 3, 300, 300
    use_corpus = CORPUS_PAGES.is_dir()
    pages = corpus_pages(CORPUS_PAGES, 300) if use_corpus else generated_pages()
    articles = args.feeds * args.items
    figures: dict = {"machine": f"{os.cpu_count()} cores", "pages": "trafilatura-eval corpus" if use_corpus else "generated",
                     "feeds": args.feeds, "items": args.items, "articles": articles}

    raw = raw_rate(pages, args.feeds, args.items, args.raw_sample)
    figures["raw"] = raw

    with tempfile.TemporaryDirectory() as tmp:
        farm = Farm(args.feeds, args.items, args.latency, args.hosts, CORPUS_PAGES if use_corpus else None)
        try:
            config = write_config(Path(tmp) / "pipeline", farm.urls(), True, args.concurrency)
            first = newsmon_run(config)
            count = stored(config)
            rerun = newsmon_run(config)
            half_config = write_config(Path(tmp) / "half", farm.urls()[: args.feeds // 2], True, args.concurrency)
            half = newsmon_run(half_config)
        finally:
            farm.stop()
        figures["pipeline"] = {"seconds": first["seconds"], "articles": count,
                               "articles_per_second": count / first["seconds"], "peak_rss_mb": first["peak_rss_mb"]}
        figures["pipeline_half"] = {"seconds": half["seconds"], "articles": stored(half_config),
                                    "peak_rss_mb": half["peak_rss_mb"]}
        figures["noop_rerun"] = {"feeds": args.feeds, "seconds": rerun["seconds"], "peak_rss_mb": rerun["peak_rss_mb"]}

        farm = Farm(args.fetch_feeds, 3, args.fetch_latency, args.hosts, None)
        try:
            config = write_config(Path(tmp) / "fetch", farm.urls(), False, args.concurrency)
            fetch = newsmon_run(config)
        finally:
            farm.stop()
        ideal = args.fetch_feeds * args.fetch_latency / args.concurrency
        figures["fetch_only"] = {"feeds": args.fetch_feeds, "latency": args.fetch_latency,
                                 "concurrency": args.concurrency, "seconds": fetch["seconds"],
                                 "ideal_seconds": ideal, "ratio_to_ideal": fetch["seconds"] / ideal}

    ratio = figures["pipeline"]["articles_per_second"] / raw["articles_per_second"]
    figures["pipeline_over_raw"] = ratio
    table(f"Throughput on {figures['machine']} ({figures['pages']} pages)", [
        ("raw trafilatura, one process", f"{raw['articles_per_second']:.1f} articles/s ({raw['ms_per_page']:.1f} ms/page, {raw['pages']} pages)"),
        (f"pipeline: newsmon run, {args.feeds} feeds x {args.items}", f"{figures['pipeline']['articles_per_second']:.1f} articles/s "
                                                                    f"({figures['pipeline']['articles']} in {first['seconds']:.1f} s)"),
        ("pipeline / raw", f"{ratio:.2f}  (target >= 1.6; ideal ~2.0 on 2 cores)"),
        (f"no-op rerun, {args.feeds} feeds (all 304)", f"{rerun['seconds']:.2f} s  (target < 5 s)"),
        (f"fetch only, {args.fetch_feeds} feeds at {args.fetch_latency * 1000:.0f} ms", f"{fetch['seconds']:.2f} s, ideal {ideal:.2f} s, "
                                                                                     f"ratio {fetch['seconds'] / ideal:.2f} (target <= 1.5)"),
        (f"peak RSS, {figures['pipeline']['articles']} articles", f"{first['peak_rss_mb']:.0f} MB (PSS of process + workers; target < 400)"),
        (f"peak RSS, {figures['pipeline_half']['articles']} articles", f"{half['peak_rss_mb']:.0f} MB (flat = streaming)"),
    ])
    save("pipeline", figures)
    return figures
