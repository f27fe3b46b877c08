"""The soak's measured part: on each checkpoint's snapshot (a copy of it, so it can be repeated),
the runs newsmon makes on a fixed clock against a loopback site.

    python -m bench soak --measure DIR

For each snapshot `soak --build DIR` left: the duplicate index's opening (on disk, as a run does;
and for comparison the window's signatures loaded in memory), a run with `new` new articles
(bench/soak_run.py in a subprocess: wall time, peak PSS of its process tree), a no-op run (every
feed answers 304), the day's digest render (its first hour: the run's items and the history's
last articles), and the digest of the whole day before (a day of the history). The pages are the
build's (its manifest says whether the corpus was used); a fifth of a checkpoint's items are pages
whose texts the history holds from day 1, so dedup has copies to catch on every checkpoint day
alike.

Before the runs, the story window is kept beside the copy (app/windowfile.py) as a run 15 minutes
earlier would have left it, since a timer's runs find it there: that loading from the store
(and writing the file) is timed apart, `window_load_s`; the 100-new run then reads the file and
catches up.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from pipeline.app.index import load_index, open_index
from pipeline.app.retention import size_text
from pipeline.app.stories import kept_story_index
from pipeline.app.windowfile import window_path
from pipeline.config import load_config
from pipeline.demo.server import LoopbackSite, Page
from pipeline.demo.site import FeedItem, rss_feed
from pipeline.storage.store import Store

from .farm import corpus_pages, generated_pages, unique_page
from .pipeline import CORPUS_PAGES, ROOT, measured
from .soak_history import T0

FEEDS = 10
DATABASE = "newsmon.db"


def site_pages(use_corpus: bool) -> list[bytes]:
    """The checkpoint runs' pages: the corpus pages when the build used them, else generated ones."""
    if not use_corpus:
        return generated_pages()
    if not CORPUS_PAGES.is_dir():
        sys.exit(f"soak: the build used the corpus pages, but {CORPUS_PAGES} is not there")
    return corpus_pages(CORPUS_PAGES, 300)


def repeated_slots(new: int) -> list[int]:
    """The checkpoint items whose page is fetched again at every checkpoint: a fifth of them."""
    per_feed = max(1, new // FEEDS)
    return [k for k in range(FEEDS * per_feed) if k % 5 == 0]


class Site:
    """The checkpoint runs' outlets: FEEDS feeds on a loopback site, new items each checkpoint."""

    def __init__(self, site: LoopbackSite, pages: list[bytes]):
        self.site, self.pages = site, pages

    def publish(self, day: int, new: int, when: datetime) -> None:
        per_feed = max(1, new // FEEDS)
        repeated = {k % len(self.pages) for k in repeated_slots(new)}
        others = [p for n, p in enumerate(self.pages) if n not in repeated] or self.pages
        for f in range(FEEDS):
            items = []
            for i in range(per_feed):
                k = f * per_feed + i
                path = f"/d{day}/f{f}/{i}"
                # a fifth are pages the history holds from day 1 (repeated_slots): copies for dedup;
                # the rest other pages made unique
                self.site.routes[path] = Page(unique_page(others[(day * 7 + k) % len(others)], day, k)
                                              if k % 5 else self.pages[k % len(self.pages)])
                items.append(FeedItem(f"Checkpoint {day} item {f}-{i}", self.site.url(path), f"d{day}-{f}-{i}",
                                      (when - timedelta(minutes=k)).strftime("%Y-%m-%dT%H:%M:%SZ"), "summary"))
            self.site.routes[f"/feed{f}.xml"] = rss_feed(f"Outlet {f}", self.site.base, items)

    def feeds_toml(self) -> str:
        return "".join(f'\n[[feeds]]\nname = "outlet{f}"\nurl = "{self.site.url(f"/feed{f}.xml")}"\n'
                       for f in range(FEEDS))


def config_text(window_days: int, feeds_toml: str = "") -> str:
    """The soak's newsmon.toml: retention at its defaults; the feeds only for the checkpoint runs.

    The digest's zone is UTC+2 all year (Etc/GMT-2; Europe/Kyiv before): the history's days are
    UTC days, so with a summer time the checkpoint's digest day began an hour earlier in summer
    and took in the history's last 1.8 hours instead of 0.8 (day 180: 394 articles, 311 stories,
    against day 30's 175 and 143: the digest's "growth" from day 30 to 180 was that hour)."""
    return f"""
[storage]
database = "{DATABASE}"
[dedup]
window_days = {window_days}
[seeds]
directory = "{ROOT / 'seeds'}"
[digest]
directory = "reports"
timezone = "Etc/GMT-2"
[fetch]
allow_private_networks = ["127.0.0.0/8"]
per_host_delay_seconds = 0
[extract]
workers = 2
[topics.nato]
terms = ["NATO"]
[topics.energy]
terms = ["energy"]
""" + feeds_toml


def subprocess_run(kind: str, config: Path, now: datetime) -> dict:
    """bench/soak_run.py in a subprocess: wall time, peak PSS of its process tree, its JSON line."""
    seconds, peak, out, err, code = measured([sys.executable, "-m", "bench.soak_run", kind, str(config),
                                              now.isoformat()], every=0.1)
    if code != 0:
        raise RuntimeError(f"soak_run {kind} failed ({code}): {err[-2000:]}")
    return {"seconds": seconds, "peak_mb": peak, **json.loads(out.strip().splitlines()[-1])}


def measure_day(snapshot: Path, day: int, manifest: dict, site: Site) -> dict:
    """The checkpoint runs on a copy of one snapshot (removed after)."""
    with tempfile.TemporaryDirectory(dir=snapshot.parent, prefix="measure-") as tmp:
        folder = Path(tmp)
        shutil.copyfile(snapshot, folder / DATABASE)
        now = T0 + timedelta(days=day, hours=23)
        site.publish(day, manifest["new"], now)
        config_path = folder / "newsmon.toml"
        config_path.write_text(config_text(manifest["window_days"], site.feeds_toml()))
        config = load_config(config_path)
        store = Store.open(config.database)
        figures: dict = {}
        since = now - timedelta(days=manifest["window_days"])
        for key, load in (("index_memory_s", load_index), ("index_disk_s", open_index)):
            seconds = []
            for _ in range(2):          # the better of two: the first reads a cold cache
                t = time.perf_counter()
                load(store, since)
                seconds.append(time.perf_counter() - t)
            figures[key] = min(seconds)
        t = time.perf_counter()
        kept_story_index(store, config.zone, now - timedelta(minutes=15), window_path(config.database))
        figures["window_load_s"] = time.perf_counter() - t
        first = subprocess_run("run", config_path, now)
        noop = subprocess_run("run", config_path, now + timedelta(minutes=15))
        digest = subprocess_run("digest", config_path, now + timedelta(minutes=16))
        whole_day = subprocess_run("digest-day", config_path, now + timedelta(minutes=17))
        size = store.size(config.database)
        figures.update(
            articles=store.article_count(), store_bytes=size.database + size.wal,
            new_run_s=first["seconds"], new_run_peak_mb=first["peak_mb"], new_articles=first["new"],
            duplicates=first["duplicates"], noop_run_s=noop["seconds"], noop_new=noop["new"],
            digest_s=digest["render_seconds"], digest_articles=digest["articles"], digest_stories=digest["stories"],
            day_digest_s=whole_day["render_seconds"], day_digest_articles=whole_day["articles"],
            day_digest_stories=whole_day["stories"])
        store.close()
    return figures


def row_text(f: dict) -> str:
    return (f"{f['articles']:,} articles, {size_text(f['store_bytes'])}; no-op run {f['noop_run_s']:.2f} s; "
            f"{f['new_articles']} new ({f['duplicates']} dup) run {f['new_run_s']:.2f} s, {f['new_run_peak_mb']:.0f} MB; "
            f"digest {f['digest_s']:.2f} s ({f['digest_articles']} articles, {f['digest_stories']} stories), "
            f"the whole day before {f['day_digest_s']:.2f} s ({f['day_digest_articles']:,}, "
            f"{f['day_digest_stories']:,}); index open (on disk) {f['index_disk_s']:.3f} s; "
            f"story window loaded from the store (the run before's, untimed in the run) {f['window_load_s']:.2f} s "
            f"(the window loaded in memory, as before schema 12: {f['index_memory_s']:.2f} s)")


def measure(folder: Path) -> tuple[dict, list[tuple[str, str]]]:
    """Every snapshot of the build in `folder`: (figures by day, the table's rows)."""
    manifest_path = folder / "build.json"
    if not manifest_path.exists():
        sys.exit(f"soak --measure: {manifest_path} not found (make it with `python -m bench soak --build {folder}`)")
    manifest = json.loads(manifest_path.read_text())
    if not manifest.get("snapshots"):
        sys.exit(f"soak --measure: {manifest_path} names no snapshot yet (is the build still running?)")
    checkpoints, rows = {}, []
    with LoopbackSite() as loopback:
        site = Site(loopback, site_pages(manifest["use_corpus"]))
        for day, snap in sorted(manifest["snapshots"].items(), key=lambda kv: int(kv[0])):
            figures = {**snap, **measure_day(folder / snap["file"], int(day), manifest, site)}
            checkpoints[day] = figures
            rows.append((f"day {day}", row_text(figures)))
            print(rows[-1][0], rows[-1][1], flush=True)
    return {**{k: v for k, v in manifest.items() if k != "snapshots"}, "checkpoints": checkpoints}, rows
