"""Several `newsmon run` workers on one PostgreSQL database (app/claims.py): the wall time of a
cycle over loopback feeds with 1 and 2 workers and how much of it the deciders' lock was held and
waited for (LockSampler), what a worker's look into the shared duplicate index (kept on disk,
seeing what the others stored) costs, and what its story window's catching up with N articles
another worker stored costs (app/storywindow.py).

    python -m bench workers [--feeds 400] [--delay 0.05] [--catch-up-only]

Each feed answers after `--delay` seconds (a publisher's latency) with two items read from the
feed's own text. PostgreSQL as in `bench engines` (a throwaway cluster, fsync off).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from pipeline.demo.server import LoopbackSite, Page
from pipeline.demo.site import FeedItem, rss_feed

from .common import TextGenerator, save, table
from .engines import _pgserver

CONFIG = """[storage]
database = "data/newsmon.db"
url = "{url}"
password_env = "NEWSMON_TEST_PG_PASSWORD"
[seeds]
directory = "seeds"
[digest]
directory = "reports"
formats = ["json"]
[fetch]
allow_private_networks = true
per_host_delay_seconds = 0
max_age_days = 36500
[extract]
fetch_pages = false
workers = 1
"""


def _serve(site: LoopbackSite, feeds: int, delay: float) -> list[tuple[str, str]]:
    rng = random.Random(1)
    out = []
    for n in range(feeds):
        items = [FeedItem(f"Feed {n} item {i}", site.url(f"/a/{n}/{i}"), f"g-{n}-{i}", "2026-11-23T06:00:00Z",
                          content_html="<p>" + " ".join("".join(rng.choice("abcdefghiklmnoprstu")
                                                                for _ in range(6)) for _ in range(80)) + "</p>")
                 for i in range(2)]
        page = rss_feed(f"Feed {n}", site.base, items)
        site.routes[f"/f/{n}.xml"] = Page(page.body, content_type=page.content_type, delay=delay)
        out.append((f"feed{n:04d}", site.url(f"/f/{n}.xml")))
    return out


def _cycle(folder: Path, url: str, feeds: list[tuple[str, str]], workers: int,
           password: str | None = None) -> tuple[float, dict[str, float]]:
    """(wall time of a cycle with `workers` at once, the deciders' lock sampled meanwhile)."""
    folder.mkdir()
    (folder / "seeds").mkdir()
    path = folder / "newsmon.toml"
    path.write_text(CONFIG.format(url=url) + "".join(f'\n[[feeds]]\nname = "{n}"\nurl = "{u}"\n' for n, u in feeds))
    started = time.monotonic()
    with LockSampler(url, password) as sampled:
        procs = [subprocess.Popen([sys.executable, "-m", "pipeline", "run", "--config", str(path)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(workers)]
        for p in procs:
            _, err = p.communicate()
            if p.returncode != 0:
                raise SystemExit(f"a worker failed ({p.returncode}): {err[-2000:]}")
    return time.monotonic() - started, sampled.shares()


class LockSampler:
    """The deciders' lock (postgres.DECIDERS_LOCK, Store.transaction(decides=True)) looked at
    every SAMPLE_SECONDS in pg_locks during a cycle: the share of samples in which a worker held
    it (the serial part of the cycle: N workers, on however many machines, decide at most
    1/share times as fast as these), and in which a worker waited for it. Sampling, not timing,
    so that the workers' code is measured as it runs; on a loaded machine both shares include
    time a holder waited for a core."""

    SAMPLE_SECONDS = 0.02

    def __init__(self, url: str, password: str | None):
        self.url, self.password = url, password
        self.samples, self.held, self.waiting = 0, 0, 0
        self._stop = threading.Event()

    def __enter__(self) -> "LockSampler":
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        import psycopg

        from pipeline.storage.postgres import DECIDERS_LOCK

        with psycopg.connect(self.url, password=self.password, autocommit=True) as conn:
            while not self._stop.wait(self.SAMPLE_SECONDS):
                held, waiting = conn.execute(
                    "SELECT count(*) FILTER (WHERE granted), count(*) FILTER (WHERE NOT granted) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND classid = %s::oid AND objid = %s::oid AND objsubid = 1 "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                    (DECIDERS_LOCK >> 32, DECIDERS_LOCK & 0xFFFFFFFF)).fetchone()
                self.samples += 1
                self.held += held > 0
                self.waiting += waiting > 0

    def shares(self) -> dict[str, float]:
        n = max(1, self.samples)
        return {"samples": self.samples, "held": self.held / n, "waiting": self.waiting / n}


def _index_ms(url: str, password: str | None) -> tuple[float, int, float]:
    """A worker's duplicate index on PostgreSQL is the one kept on disk, with no cap on the rows it
    sees (diskindex.EVERY_ROW): what others stored is found by the lookup itself. Its costs: a
    candidate lookup for a stored article's text, and opening the index."""
    from pipeline.app.index import open_index
    from pipeline.stages.dedup import signature
    from pipeline.storage.store import Store

    store = Store.open(url, password)
    try:
        index = open_index(store)
        texts = [store.text_of(key) or "" for (key,) in store.conn.execute(
            "SELECT id FROM articles WHERE duplicate_of IS NULL ORDER BY id LIMIT 20").fetchall()]
        sigs = [s for s in (signature(text) for text in texts) if s is not None]
        times = []
        for sig in sigs:
            started = time.perf_counter()
            index.candidate_items(sig)
            times.append((time.perf_counter() - started) * 1000)
        opens = []
        for _ in range(5):
            started = time.perf_counter()
            open_index(store)
            opens.append((time.perf_counter() - started) * 1000)
        stored = store.conn.execute("SELECT count(*) FROM articles WHERE duplicate_of IS NULL").fetchone()[0]
        return statistics.median(times) if times else float("nan"), stored, statistics.median(opens)
    finally:
        store.close()


CATCH_UP_SIZES = (0, 1, 10, 100, 1000)


def _catch_up_ms(url: str, password: str | None) -> dict[int, float]:
    """N articles -> ms for a worker's story window to take them in after another worker (its
    own connection) stored them with their profiles, as a run stores them (insert, profile).
    N = 0 is the common case, a catch-up that finds nothing (median of 50). Generated text of
    300 words, titles with a name and a number, so each profile has its keys."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from pipeline.app.stories import window_profile
    from pipeline.app.storywindow import WindowMark, catch_up
    from pipeline.records import Article
    from pipeline.stages.profile import PROFILE_VERSION, profile_of
    from pipeline.stages.stories import StoryIndex
    from pipeline.storage.store import Store, article_id

    mine, other = Store.open(url, password), Store.open(url, password)
    words, now = TextGenerator(seed=7), datetime.now(timezone.utc)
    places = ["Kharkiv", "Odesa", "Lviv", "Dnipro", "Kherson", "Sumy", "Poltava", "Mykolaiv"]
    try:
        index, mark = StoryIndex(ZoneInfo("Europe/Kyiv")), WindowMark.at_load(mine)
        run = other.start_run(now)
        out: dict[int, float] = {}
        for n in CATCH_UP_SIZES:
            with other.transaction():
                for i in range(n):
                    text = words.text(300)
                    title = f"{places[i % len(places)]}: {i + 3} hurt as w{i} w{n} reported"
                    article = Article(identity=f"guid:catch-up-{n}-{i}", feed=f"other{i % 20}", guid=f"{n}-{i}",
                                      url=f"https://e.example/{n}/{i}", canonical_url=f"https://e.example/{n}/{i}",
                                      title=title, published=now, text=text, text_source="feed", extraction_note=None,
                                      fingerprint=f"{n:032x}{i:032x}", minhash=None, matches=())
                    other.insert_article(article, now, run)
                    other.save_profiles([(article_id(article.identity), PROFILE_VERSION,
                                          profile_of(title, text).to_json())])
            times = []
            for _ in range(50 if n == 0 else 1):
                started = time.perf_counter()
                added = catch_up(mine, index, mark, lambda row: window_profile(mine, row))
                times.append((time.perf_counter() - started) * 1000)
                assert added == n, (added, n)
            out[n] = statistics.median(times)
        return out
    finally:
        mine.close()
        other.close()


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench workers")
    parser.add_argument("--feeds", type=int, default=400)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--catch-up-only", action="store_true", help="only the story window's catch-up")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="newsmon-bench-workers-"))
    folder.chmod(0o755)
    server = _pgserver()
    base, password = server.start(folder / "cluster")
    os.environ["NEWSMON_TEST_PG_PASSWORD"] = password or ""
    import psycopg

    figures: dict = {"feeds": args.feeds, "delay_s": args.delay}
    try:
        with LoopbackSite() as site:
            feeds = _serve(site, args.feeds, args.delay)
            for workers in (() if args.catch_up_only else (1, 2)) + (0,):
                name = f"bench_{uuid.uuid4().hex[:10]}"
                with psycopg.connect(base, password=password, autocommit=True) as admin:
                    admin.execute(f"CREATE DATABASE {name}")
                url = base.rsplit("/", 1)[0] + "/" + name
                if workers == 0:                          # (a database of its own: the schema first)
                    from pipeline.storage.store import Store

                    Store.open(url, password).close()
                    figures["catch_up_ms"] = _catch_up_ms(url, password)
                else:
                    figures[f"cycle_s_{workers}"], figures[f"deciders_lock_{workers}"] = _cycle(
                        folder / f"w{workers}", url, feeds, workers, password)
                    if workers == 2:
                        figures["lookup_ms"], figures["originals"], figures["open_ms"] = _index_ms(url, password)
    finally:
        server.stop(folder / "cluster")
        shutil.rmtree(folder, ignore_errors=True)
    catch_up = [(f"story window catch-up, {n} stored by another worker",
                 f"{ms:.2f} ms" + (" (median of 50)" if n == 0 else f" ({ms / n:.2f} ms an article)"))
                for n, ms in figures["catch_up_ms"].items()]
    if args.catch_up_only:
        table("workers: a story window catching up with another worker's articles", catch_up)
        save("workers_catch_up", figures)
        return
    figures["scaling"] = figures["cycle_s_1"] / figures["cycle_s_2"]
    table(f"workers: {args.feeds} loopback feeds ({args.delay:g} s each), 2 items each, feed text", [
        ("a first cycle, 1 worker", f"{figures['cycle_s_1']:.1f} s"),
        ("a first cycle, 2 workers at once", f"{figures['cycle_s_2']:.1f} s ({figures['scaling']:.2f}x)"),
        *((f"deciders' lock, {n} worker{'s' if n > 1 else ''}: held / waited for",
           f"{lock['held']:.0%} / {lock['waiting']:.0%} of {lock['samples']} samples")
          for n in (1, 2) for lock in [figures[f"deciders_lock_{n}"]]),
        ("a candidate lookup on the shared index", f"{figures['lookup_ms']:.1f} ms over "
                                                    f"{figures['originals']} originals (median of 20)"),
        ("opening the index", f"{figures['open_ms']:.1f} ms (median of 5)"),
        *catch_up,
    ])
    save("workers", figures)
