"""`newsmon web` under load: p50 and p95 per page and per API call, 20 concurrent clients over
loopback, while a writer stores articles the way a run does; and how much a real run is slowed.

    python -m bench web [--articles 100000] [--clients 20] [--seconds 20] [--runs 3] [--run-feeds 100]
                        [--nice 10] [--quick]

`--quick` checks that the bench works in a couple of minutes (10,000 articles, 5 s phases, runs
of 20 feeds, 3 each); its figures are saved apart (`web-quick`) and mean little.

The archive is generated (bench/common.TextGenerator): `--articles` originals over 30 days, in
stories of 1 to 5 reports from 20 feeds, a tenth flagged "ceasefire" with a match each.
`newsmon web` runs as a subprocess at its own `[web] nice` (`--nice`, 10 by default as in the
config). The 20 clients stand for browsers on other machines: they are threads of a child
process at nice 19, so that they do not take the run's cores either (on one machine they would
otherwise be measured as the server's cost); each request is a new connection. The clients run
twice: between runs (nothing written), then while a writer stores articles the way a run does.
The writer inserts 20 articles per transaction every 0.5 s (a run's group commit; FTS by the
trigger) for `--seconds` alone, then as long again under the clients' load: the slowdown is the
ratio of its median transaction times. Today and days are kept between writes
(web/pages.Readings): with a commit every half second most of their requests still read and
build the day afresh.

Then real runs: `newsmon run` as a subprocess (at the bench's own priority, fetching
`--run-feeds` feeds of 5 items from the feed farm, bench/farm.py, 50 ms latency, pages
extracted by its workers) into the same archive, alternately alone and with the 20 clients
loading the server for as long as the run lasts, `--runs` times each (at least 3; interleaved,
so the machine's other load falls on both alike). The slowdown is the median of the pairs'
ratios (each run beside the server over the run alone just before it; the ratio of the medians
is printed too); the issue's goal: no run slowed by more than 10%. The pages' p50/p95 during
those runs are printed too: they are higher, since the server yields the CPU to the run. Each
run reads feeds of its own, so each stores as much as the others.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipeline.storage.store import Store, iso

from .common import TextGenerator, save, table

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 10, 24, tzinfo=timezone.utc)
FEEDS = [f"feed{i:02d}" for i in range(20)]


def _row(i: int, story: str, when: datetime, gen: TextGenerator, flagged: bool) -> dict:
    aid = f"a{i:07d}"
    return {"id": aid, "identity": f"url:https://bench.example/{i}", "feed": FEEDS[i % 20],
            "url": f"https://bench.example/{i}", "title": f"Report {i} on w{i % 97} and w{i % 89}",
            "first_seen": iso(when), "published": iso(when), "text": gen.text(150), "text_source": "page",
            "fingerprint": aid, "story_id": story, "topics": '["ceasefire"]' if flagged else "[]"}


def fill(db: Path, n: int) -> tuple[list[str], float]:
    """The archive: n originals, their stories and matches. Returns the story ids and seconds."""
    gen, rng = TextGenerator(seed=5), random.Random(5)
    started = time.perf_counter()
    store = Store.open(db)
    articles, stories, matches, ids = [], [], [], []
    i = 0
    while i < n:
        size = min(rng.randint(1, 5), n - i)
        when = START + timedelta(seconds=int(30 * 86400 * i / n))
        story, flagged = f"a{i:07d}", rng.random() < 0.1
        rows = [_row(i + k, story, when + timedelta(minutes=k), gen, flagged) for k in range(size)]
        articles += rows
        stories.append({"id": story, "first_seen": rows[0]["first_seen"], "last_seen": rows[-1]["first_seen"],
                        "lead": story, "title": rows[0]["title"], "reports": size,
                        "outlets": len({r["feed"] for r in rows}), "topics": rows[0]["topics"]})
        if flagged:
            matches += [{"article_id": r["id"], "topic": "ceasefire", "term": "ceasefire", "field": "text",
                         "start": 0, "end": 9, "matched": "ceasefire", "sentence": "A ceasefire held."} for r in rows]
        ids.append(story)
        i += size
        if len(articles) >= 5000 or i >= n:
            with store.transaction():
                store.db["articles"].insert_all(articles)
                store.db["stories"].insert_all(stories)
                if matches:
                    store.db["matches"].insert_all(matches)
            articles, stories, matches = [], [], []
    store.close()
    return ids, time.perf_counter() - started


def writer(db: Path, seconds: float, first: int) -> list[float]:
    """Transactions of 20 inserted articles every half second (a run's group commit), for
    `seconds`: their durations."""
    gen = TextGenerator(seed=9)
    store = Store.open(db)
    durations, i, end = [], first, time.monotonic() + seconds
    now = START + timedelta(days=29)
    while time.monotonic() < end:
        rows = [_row(i + k, f"a{i + k:07d}", now, gen, False) for k in range(20)]
        start = time.perf_counter()
        with store.transaction():
            store.db["articles"].insert_all(rows)
        durations.append(time.perf_counter() - start)
        i += 20
        time.sleep(0.5)              # a run commits its finished feeds every GROUP_COMMIT_SECONDS
    store.close()
    return durations


def load(base: str, paths: dict[str, list[str]], clients: int, seconds: float,
         until=None) -> dict[str, list[float]]:
    """`clients` threads requesting the pages round-robin for `seconds` (or until `until`, a
    threading or multiprocessing Event, is set): latencies per page."""
    out: dict[str, list[float]] = {name: [] for name in paths}
    errors: list[str] = []
    end = time.monotonic() + seconds

    def client(k: int) -> None:
        rng, names = random.Random(k), list(paths)
        n = k
        while (until.is_set() is False) if until is not None else time.monotonic() < end:
            name = names[n % len(names)]
            n += 1
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(base + rng.choice(paths[name]), timeout=60) as r:
                    r.read()
            except Exception as e:          # counted, not hidden
                errors.append(f"{name}: {e}")
                continue
            out[name].append(time.perf_counter() - start)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out["errors"] = errors            # type: ignore[assignment]
    return out


def _clients(base: str, paths: dict[str, list[str]], clients: int, seconds: float, until, ready, results) -> None:
    """The clients' child process: at nice 19 before its threads start (they inherit it)."""
    os.nice(19)
    ready.set()
    results.put(load(base, paths, clients, seconds, until))


class Clients:
    """`load` in a child process at nice 19: browsers on other machines, which would not take the
    cores of the machine the run and the server share. For `seconds`, or (0) until `finish()`."""

    def __init__(self, base: str, paths: dict[str, list[str]], clients: int, seconds: float = 0.0):
        context = multiprocessing.get_context("spawn")      # (no threads of this process copied)
        self.until, ready, self.results = context.Event(), context.Event(), context.Queue()
        self.process = context.Process(target=_clients, args=(base, paths, clients, seconds,
                                                              None if seconds else self.until, ready, self.results))
        self.process.start()
        if not ready.wait(60):
            raise RuntimeError("the clients' process did not start")

    def finish(self) -> dict[str, list[float]]:
        """Their latencies per page (and "errors"): at once when loading until told, else once
        their `seconds` are over."""
        self.until.set()
        out = self.results.get()          # (before join: a full queue would hold the child)
        self.process.join()
        return out


def real_runs(folder: Path, base: str, paths: dict[str, list[str]], clients: int, runs: int,
              feeds: int) -> dict:
    """`newsmon run`s into the served archive, alternately alone and beside `clients` loading
    the server for the run's length: wall seconds of each, and the loaded clients' latencies."""
    from .pipeline import Farm, newsmon_run, write_config

    farm = Farm(feeds * (2 * runs + 1), 5, 0.05, 16, None)
    alone, beside = [], []
    latencies: dict[str, list[float]] = {name: [] for name in paths}
    errors: list[str] = []

    def config_for(k: int) -> Path:
        config = write_config(folder / f"run{k}", farm.urls()[k * feeds:(k + 1) * feeds], fetch_pages=True,
                              concurrency=32)
        config.write_text(config.read_text().replace('database = "newsmon.db"', f'database = "{folder / "newsmon.db"}"'))
        return config

    try:
        # not measured: the first run into a generated archive evaluates all of it for alerts once
        newsmon_run(config_for(2 * runs))
        for k in range(2 * runs):
            config = config_for(k)
            if k % 2 == 0:
                alone.append(newsmon_run(config)["seconds"])
                continue
            loading = Clients(base, paths, clients)
            time.sleep(1.0)                      # the clients at full load before the run starts
            try:
                beside.append(newsmon_run(config)["seconds"])
            finally:
                done = loading.finish()
            errors += done.pop("errors")
            for name, values in done.items():
                latencies[name] += values
    finally:
        farm.stop()
    return {"alone": alone, "beside": beside, "latencies": latencies, "errors": errors}


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench web")
    parser.add_argument("--articles", type=int, default=None, help="100,000 (--quick: 10,000)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=None, help="per phase: 20 (--quick: 5)")
    parser.add_argument("--runs", type=int, default=3, help="real runs alone and beside the loaded server, each "
                                                            "(0: none; else at least 3)")
    parser.add_argument("--run-feeds", type=int, default=None, help="feeds (5 items each) a real run reads: 100 "
                                                                    "(--quick: 20)")
    parser.add_argument("--nice", type=int, default=10, choices=range(20), metavar="0-19",
                        help="the server's [web] nice (10, its default; 0: as the run)")
    parser.add_argument("--quick", action="store_true", help="a short check that the bench works")
    args = parser.parse_args(argv)
    quick = args.quick
    args.articles = args.articles or (10_000 if quick else 100_000)
    args.seconds = args.seconds or (5.0 if quick else 20.0)
    args.run_feeds = args.run_feeds or (20 if quick else 100)
    if 0 < args.runs < 3:
        parser.error("--runs: at least 3 of each, so that the median means something (or 0: none)")
    load_before = os.getloadavg()        # the machine is shared: its load is part of every figure
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "newsmon.db"
        stories, fill_seconds = fill(db, args.articles)
        config = Path(tmp) / "newsmon.toml"
        config.write_text(f'[storage]\ndatabase = "newsmon.db"\n[web]\nnice = {args.nice}\n'
                          '[digest]\ndirectory = "reports"\ntimezone = "UTC"\n'
                          + "".join(f'[[feeds]]\nname = "{f}"\nurl = "https://bench.example/{f}.xml"\n' for f in FEEDS))
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", "-q", "web", "--port", "0", "--config", str(config)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            base = proc.stdout.readline().split(" on ")[1].split()[0].rstrip("/")
            time.sleep(1.0)
            rng = random.Random(1)
            sample = [rng.choice(stories) for _ in range(200)]
            day = (START + timedelta(days=15)).date().isoformat()
            words = [f"w{k}" for k in range(1000, 1100)]     # words of news weight: ~1-3% of articles each
            paths = {
                "today": [f"/?date={day}"], "today (topic)": [f"/?date={day}&topic=ceasefire"],
                "story": [f"/story/{s}" for s in sample], "search": [f"/search?q={w}" for w in words],
                "days": ["/days"], "feeds": ["/feeds"], "alerts": ["/alerts"],
                "api today": [f"/api/v1/today?date={day}"], "api story": [f"/api/v1/stories/{s}" for s in sample],
                "api search": [f"/api/v1/search?q={w}" for w in words], "atom topic": ["/feeds/topic/ceasefire.atom"],
            }
            with ProcessPoolExecutor(1) as pool:        # the writer in a process of its own, as a run is
                alone = pool.submit(writer, db, args.seconds, 10_000_000).result()
                quiet = Clients(base, paths, args.clients, args.seconds).finish()          # between runs
                loading = Clients(base, paths, args.clients, args.seconds)
                pending = pool.submit(writer, db, args.seconds, 20_000_000)
                found = loading.finish()                                                  # while a run writes
                loaded = pending.result()
            runs = real_runs(Path(tmp), base, paths, args.clients, args.runs, args.run_feeds) if args.runs else None
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    errors = found.pop("errors") + quiet.pop("errors")

    def pct(values: list[float], q: float) -> float:
        return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")

    figures = {"articles": args.articles, "clients": args.clients, "seconds": args.seconds, "server_nice": args.nice,
               "clients_nice": 19, "fill_seconds": fill_seconds, "errors": len(errors),
               "pages": {name: {"requests": len(v), "p50_ms": pct(v, 0.5), "p95_ms": pct(v, 0.95),
                                "quiet_p50_ms": pct(quiet[name], 0.5), "quiet_p95_ms": pct(quiet[name], 0.95),
                                "quiet_requests": len(quiet[name])}
                         for name, v in found.items()},
               "writer_median_ms_alone": statistics.median(alone) * 1000,
               "writer_median_ms_loaded": statistics.median(loaded) * 1000,
               "writer_transactions": [len(alone), len(loaded)]}
    figures["writer_slowdown"] = figures["writer_median_ms_loaded"] / figures["writer_median_ms_alone"] - 1
    run_rows = []
    if runs:
        pairs = [b / a for a, b in zip(runs["alone"], runs["beside"])]
        figures.update(run_seconds_alone=runs["alone"], run_seconds_beside_server=runs["beside"], run_pair_ratios=pairs,
                       run_ratio=statistics.median(pairs),
                       run_ratio_of_medians=statistics.median(runs["beside"]) / statistics.median(runs["alone"]),
                       during_runs={name: {"requests": len(v), "p50_ms": pct(v, 0.5), "p95_ms": pct(v, 0.95)}
                                    for name, v in runs["latencies"].items()},
                       during_runs_errors=len(runs["errors"]))
        run_rows = [(f"newsmon run ({args.run_feeds} feeds x 5 pages)",
                     f"alone {', '.join(f'{x:.1f}' for x in runs['alone'])} s; beside the loaded server "
                     f"{', '.join(f'{x:.1f}' for x in runs['beside'])} s"),
                    ("  slowdown", f"median of the pairs' ratios {figures['run_ratio']:.2f} "
                                   f"({', '.join(f'{x:.2f}' for x in pairs)}); ratio of medians "
                                   f"{figures['run_ratio_of_medians']:.2f}")]
        run_rows += [(f"  {name} during the runs", f"p50 {f['p50_ms']:6.1f} p95 {f['p95_ms']:6.1f} ms ({f['requests']})")
                     for name, f in figures["during_runs"].items()]
        run_rows += [("  errors during the runs", str(len(runs["errors"])) + (f" (first: {runs['errors'][0]})"
                                                                               if runs["errors"] else ""))]
    figures["load_average"] = {"before": load_before, "after": os.getloadavg()}
    table(f"newsmon web{' --quick' if quick else ''}: {args.articles:,} articles, {args.clients} clients at nice 19, "
          f"server at nice {args.nice}, {args.seconds:g} s, a writer beside", [
        (name, f"between runs: p50 {f['quiet_p50_ms']:6.1f} p95 {f['quiet_p95_ms']:6.1f} ms ({f['quiet_requests']});"
               f"  while a run writes: p50 {f['p50_ms']:6.1f} p95 {f['p95_ms']:6.1f} ms ({f['requests']})")
        for name, f in figures["pages"].items()] + [
        ("errors", str(len(errors)) + (f" (first: {errors[0]})" if errors else "")),
        ("writer (20 articles/txn)", f"median {figures['writer_median_ms_alone']:.1f} ms alone, "
                                     f"{figures['writer_median_ms_loaded']:.1f} ms under load "
                                     f"({figures['writer_slowdown']:+.0%})")] + run_rows
          + [("load average (1, 5, 15 min)", "before " + " ".join(f"{x:.1f}" for x in load_before)
              + "; after " + " ".join(f"{x:.1f}" for x in figures["load_average"]["after"]))])
    save("web-quick" if quick else "web", json.loads(json.dumps(figures)))
