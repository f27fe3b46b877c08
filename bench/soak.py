"""Soak: a year of running on a simulated clock, retention at its defaults.

    python -m bench soak [--days 365] [--per-day 5000] [--checkpoints 1,30,180,365]
                         [--window-days 365] [--new 100] [--upkeep-every 1]

History is written day by day straight into a real store (articles with their search entries,
signatures, profiles and stories, as a run writes them), then the nightly upkeep runs
(app/retention.maintain: keep_text_days 90, FTS merges, vacuum, checkpoint). Article texts are the
trafilatura evaluation pages' extracted texts (generated text when ../shared/corpora is absent),
each a mix of two or three pages' paragraphs with 40% of the words replaced, under a line of
its own (History: a pool of 20,000 mixes, each used ~9 times a year at 500 a day: wire copy);
one in five joins the story of the article before it, with a sentence added.

On each checkpoint day, real runs on a fixed clock (bench/soak_run.py: run_once, as `newsmon run`
calls it, in a subprocess) against a loopback site: one with `--new` new articles (real pages:
the corpus pages made unique, some of them copies of earlier ones, so dedup has work), then a
no-op run (every feed answers 304), then the day's digest render. It prints the store's size,
both runs' wall time, the first run's peak memory (PSS of its process tree), the digest render
time, and the duplicate index's opening: on disk (schema 12: what a run does) and, for
comparison, the window's signatures loaded in memory (what every run did before).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipeline.app.diskindex import catch_up
from pipeline.app.index import load_index, open_index
from pipeline.app.retention import maintain, size_text
from pipeline.config import load_config
from pipeline.demo.server import LoopbackSite, Page
from pipeline.demo.site import FeedItem, rss_feed
from pipeline.stages.dedup import SIGNATURE_VERSION, signature
from pipeline.stages.profile import PROFILE_VERSION, profile_of
from pipeline.storage.store import Store, article_id, iso

from .common import TextGenerator, save, table
from .farm import corpus_pages, unique_page
from .pipeline import CORPUS_PAGES, ROOT, measured

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
FEEDS = 10
TOPIC_TERMS = {"nato": "NATO", "energy": "energy"}


def corpus_texts(pages: list[bytes]) -> list[list[str]]:
    """The paragraphs of each page's main text (newsmon's extraction), pages with at least 5."""
    from pipeline.stages.extract import extract_main_text

    out = []
    for page in pages:
        text = extract_main_text(page, None) or ""
        paragraphs = [p for p in text.split("\n") if len(p) > 40]
        if len(paragraphs) >= 5:
            out.append(paragraphs)
    return out


def generated_texts(n: int = 300) -> list[list[str]]:
    gen = TextGenerator(seed=5)
    return [gen.text(int(gen.rng.integers(300, 900))).split("\n") for _ in range(n)]


class History:
    """Writes the simulated days into the store.

    Texts come from a pool of POOL mixes (two or three corpus texts' paragraphs), each computed
    once with its signature and story profile; an article is a pool text under a first line of
    its own (its fingerprint is its own; signature and profile are the pool text's, which that
    line barely changes). Computing both for every article would make the history cost ~8 ms an
    article, where the checkpoints are what is measured. Building the pool takes ~1 minute."""

    POOL = 20_000
    REWORDED = 0.4      # share of words replaced: a mix shares ~10% of its 3-word shingles with
                        # a corpus page, so a page is not a near copy of hundreds of stored mixes

    def __init__(self, store: Store, texts: list[list[str]], per_day: int, seed: int = 7):
        self.store, self.per_day = store, per_day
        self.rng = random.Random(seed)
        vocabulary = sorted({w for base in texts for p in base for w in p.split()})
        self.pool = []
        for n in range(self.POOL):
            paragraphs = [p for base in self.rng.sample(texts, self.rng.randint(2, 3))
                          for p in self.rng.sample(base, min(len(base), self.rng.randint(3, 8)))]
            text = "\n".join(" ".join(w if self.rng.random() > self.REWORDED else self.rng.choice(vocabulary)
                                      for w in p.split()) for p in paragraphs)
            title = text[:60]
            sig = signature(text)
            self.pool.append((text, title, None if sig is None else sig.tobytes(), profile_of(title, text).to_json()))

    def write_day(self, day: int) -> None:
        start = T0 + timedelta(days=day)
        articles, sigs, profiles, stories = [], [], [], {}
        previous = None
        for n in range(self.per_day):
            seen = start + timedelta(seconds=int(n * 86400 * 0.95 / self.per_day))
            if previous is not None and self.rng.random() < 0.2:      # another report of the last story
                story, (body, title, sig, profile) = previous
                body = body + f"\nOur correspondent adds detail {day}-{n}."
            else:
                story, (body, title, sig, profile) = None, self.rng.choice(self.pool)
            text = f"Desk {n % 97} report {day}-{n}: filed on day {day} of the soak.\n{body}"
            identity = f"url:https://soak.example/{day}/{n}"
            aid = article_id(identity)
            story = story or aid
            title = f"Report {day}-{n}: {title}"
            topics = [t for t, term in TOPIC_TERMS.items() if term in body]
            articles.append((aid, identity, f"outlet-{n % 40}", f"https://soak.example/{day}/{n}", title,
                             iso(seen), iso(seen), text, "page", hashlib.sha256(text.encode()).hexdigest(), story,
                             json.dumps(topics)))
            sigs.append((aid, SIGNATURE_VERSION, sig))
            profiles.append((aid, PROFILE_VERSION, profile))
            s = stories.setdefault(story, [iso(seen), iso(seen), aid, title, 0, set(), set()])
            s[1] = iso(seen)
            s[4] += 1
            s[5].add(f"outlet-{n % 40}")
            s[6].update(topics)
            previous = (story, (body, title, sig, profile))
        with self.store.transaction():
            self.store.conn.executemany(
                "INSERT INTO articles (id, identity, feed, url, title, published, first_seen, text, text_source, "
                "fingerprint, story_id, topics) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", articles)
            self.store.save_signatures(sigs)
            self.store.save_profiles(profiles)
            self.store.conn.executemany(
                "INSERT INTO stories (id, first_seen, last_seen, lead, title, reports, outlets, topics) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(sid, a, b, lead, title, n, len(outlets), json.dumps(sorted(topics)))
                 for sid, (a, b, lead, title, n, outlets, topics) in stories.items()])


class Site:
    """The checkpoint runs' outlets: FEEDS feeds on a loopback site, new items each checkpoint."""

    def __init__(self, site: LoopbackSite, pages: list[bytes]):
        self.site, self.pages = site, pages

    def publish(self, day: int, new: int, when: datetime) -> None:
        per_feed = max(1, new // FEEDS)
        for f in range(FEEDS):
            items = []
            for i in range(per_feed):
                k = f * per_feed + i
                path = f"/d{day}/f{f}/{i}"
                # a fifth reuse the page of the previous checkpoint's same slot: copies for dedup
                self.site.routes[path] = Page(unique_page(self.pages[(day * 7 + k) % len(self.pages)], day, k)
                                              if k % 5 else self.pages[k % len(self.pages)])
                items.append(FeedItem(f"Checkpoint {day} item {f}-{i}", self.site.url(path), f"d{day}-{f}-{i}",
                                      (when - timedelta(minutes=k)).strftime("%Y-%m-%dT%H:%M:%SZ"), "summary"))
            self.site.routes[f"/feed{f}.xml"] = rss_feed(f"Outlet {f}", self.site.base, items)

    def feeds_toml(self) -> str:
        return "".join(f'\n[[feeds]]\nname = "outlet{f}"\nurl = "{self.site.url(f"/feed{f}.xml")}"\n'
                       for f in range(FEEDS))


def subprocess_run(kind: str, config: Path, now: datetime) -> dict:
    """bench/soak_run.py in a subprocess: wall time, peak PSS of its process tree, its JSON line."""
    seconds, peak, out, err, code = measured([sys.executable, "-m", "bench.soak_run", kind, str(config),
                                              now.isoformat()], every=0.1)
    if code != 0:
        raise RuntimeError(f"soak_run {kind} failed ({code}): {err[-2000:]}")
    return {"seconds": seconds, "peak_mb": peak, **json.loads(out.strip().splitlines()[-1])}


def run(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench soak")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=int, default=5000)
    parser.add_argument("--checkpoints", default="1,30,180,365")
    parser.add_argument("--window-days", type=int, default=365, help="[dedup] window_days")
    parser.add_argument("--new", type=int, default=100, help="new articles in the checkpoint run")
    parser.add_argument("--upkeep-every", type=int, default=1,
                        help="days between upkeeps (1: nightly, as newsmon does; more: a faster, sampled year)")
    args = parser.parse_args(argv)
    checkpoints = sorted({int(c) for c in args.checkpoints.split(",") if int(c) <= args.days})

    use_corpus = CORPUS_PAGES.is_dir()
    pages = corpus_pages(CORPUS_PAGES, 300) if use_corpus else []
    texts = corpus_texts(pages) if use_corpus else generated_texts()
    if not pages:
        from .farm import generated_pages
        pages = generated_pages()
    figures: dict = {"days": args.days, "per_day": args.per_day, "window_days": args.window_days,
                     "upkeep_every": args.upkeep_every,
                     "texts": f"{len(texts)} corpus texts" if use_corpus else "generated", "checkpoints": {}}
    rows = []
    with tempfile.TemporaryDirectory() as tmp, LoopbackSite() as loopback:
        folder = Path(tmp)
        site = Site(loopback, pages)
        config_path = folder / "newsmon.toml"
        config_path.write_text(f"""
[storage]
database = "newsmon.db"
[dedup]
window_days = {args.window_days}
[seeds]
directory = "{ROOT / 'seeds'}"
[digest]
directory = "reports"
timezone = "Europe/Kyiv"
[fetch]
allow_private_networks = ["127.0.0.0/8"]
per_host_delay_seconds = 0
[extract]
workers = 2
[topics.nato]
terms = ["NATO"]
[topics.energy]
terms = ["energy"]
""" + site.feeds_toml())
        config = load_config(config_path)
        store = Store.open(config.database)
        history = History(store, texts, args.per_day)
        started = time.perf_counter()
        for day in range(1, args.days + 1):
            history.write_day(day)
            catch_up(store)         # the bands the day's runs would have written with each article
            night = T0 + timedelta(days=day, hours=23, minutes=30)
            if day in checkpoints:
                now = T0 + timedelta(days=day, hours=23)
                site.publish(day, args.new, now)
                figures_day = {"history_seconds": round(time.perf_counter() - started, 1)}
                since = now - timedelta(days=args.window_days)
                for key, load in (("index_memory_s", load_index), ("index_disk_s", open_index)):
                    seconds = []
                    for _ in range(2):          # the better of two: the first reads a cold cache
                        t = time.perf_counter()
                        load(store, since)
                        seconds.append(time.perf_counter() - t)
                    figures_day[key] = min(seconds)
                first = subprocess_run("run", config_path, now)
                noop = subprocess_run("run", config_path, now + timedelta(minutes=15))
                digest = subprocess_run("digest", config_path, now + timedelta(minutes=16))
                size = store.size(config.database)
                figures_day.update(
                    articles=store.article_count(), store_bytes=size.database + size.wal,
                    new_run_s=first["seconds"], new_run_peak_mb=first["peak_mb"], new_articles=first["new"],
                    duplicates=first["duplicates"], noop_run_s=noop["seconds"], noop_new=noop["new"],
                    digest_s=digest["render_seconds"])
                figures["checkpoints"][day] = figures_day
                rows.append((f"day {day}", f"{figures_day['articles']:,} articles, {size_text(figures_day['store_bytes'])}; "
                             f"no-op run {noop['seconds']:.2f} s; {first['new']} new "
                             f"({first['duplicates']} dup) run {first['seconds']:.2f} s, {first['peak_mb']:.0f} MB; "
                             f"digest {digest['render_seconds']:.2f} s; index open (on disk) {figures_day['index_disk_s']:.3f} s "
                             f"(the window loaded in memory, as before schema 12: {figures_day['index_memory_s']:.2f} s)"))
                print(rows[-1][0], rows[-1][1], flush=True)
            if day % args.upkeep_every == 0 or day in checkpoints or day + 1 in checkpoints:
                maintain(store, config, night)
        store.close()
    figures["total_seconds"] = round(time.perf_counter() - started, 1)
    rows = rows or [("no checkpoint", "-")]
    table(f"Soak: {args.days} days x {args.per_day:,} articles/day ({figures['texts']}), "
          f"retention at its defaults, window {args.window_days} days, upkeep every {args.upkeep_every} day(s)", rows)
    save("soak", figures)
    return figures
