"""The soak's simulated history: a year of articles written day by day into a real store.

Each day's articles go in as a run writes them: one `runs` row for the day, the article rows
with its run id and their search entries added in one statement after them (as
storage/articles.index_for_search does: the schema's per-row trigger, for rows written outside a
run, took 6.5 s for a day of 5,000 against 4.2), signatures, story profiles, stories, and the
duplicate index's bands (storage/bands.py), all in one transaction, the `bands_built` mark moved
past them, so the nightly upkeep's catch_up finds nothing to do, as after a day of runs.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime, timedelta, timezone

from pipeline.stages.dedup import SIGNATURE_VERSION, band_keys, signature
from pipeline.stages.profile import PROFILE_VERSION, profile_of
from pipeline.storage.store import Store, article_id, iso

from .common import TextGenerator

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
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


class PoolText:
    """One mix of the pool, with what a run would compute from it once: its signature (bytes),
    the signature's band keys (signed 64-bit, as `bands` holds them) and its story profile."""

    __slots__ = ("text", "title", "sig", "keys", "profile")

    def __init__(self, text: str, title: str):
        self.text, self.title = text, title
        sig = signature(text)
        self.sig = None if sig is None else sig.tobytes()
        self.keys = None if sig is None else band_keys(sig[None, :])[0].view("int64").tolist()
        self.profile = profile_of(title, text).to_json()


class History:
    """Writes the simulated days into the store.

    Texts come from a pool of POOL mixes (two or three corpus texts' paragraphs), each computed
    once with its signature, band keys and story profile; an article is a pool text under a
    first line of its own (its fingerprint is its own; signature and profile are the pool
    text's, which that line barely changes). Computing them for every article would make the
    history cost ~8 ms an article, where the checkpoints are what is measured. Building the pool
    takes ~1 minute. `repeats`: texts written once on day 1 as well (the extracted texts of the
    pages a checkpoint run fetches again), so the checkpoint runs find copies to catch."""

    POOL = 20_000
    REWORDED = 0.4      # share of words replaced: a mix shares ~10% of its 3-word shingles with
                        # a corpus page, so a page is not a near copy of hundreds of stored mixes

    def __init__(self, store: Store, texts: list[list[str]], per_day: int, seed: int = 7,
                 repeats: list[str] = ()):
        self.store, self.per_day, self.repeats, self.seed = store, per_day, list(repeats), seed
        self.rng = random.Random(seed)
        vocabulary = sorted({w for base in texts for p in base for w in p.split()})
        self.pool = []
        for _ in range(self.POOL):
            paragraphs = [p for base in self.rng.sample(texts, self.rng.randint(2, 3))
                          for p in self.rng.sample(base, min(len(base), self.rng.randint(3, 8)))]
            text = "\n".join(" ".join(w if self.rng.random() > self.REWORDED else self.rng.choice(vocabulary)
                                      for w in p.split()) for p in paragraphs)
            self.pool.append(PoolText(text, text[:60]))
        mark = store.bands_mark()
        if mark is None or mark[0] != SIGNATURE_VERSION:
            with store.transaction():
                store.restart_bands(SIGNATURE_VERSION)

    def day_articles(self, day: int) -> list[tuple[str, PoolText, str | None]]:
        """(text, the pool text it comes from, the story it joins or None) for each of the day's articles."""
        out, previous = [], None
        rng = random.Random(f"{self.seed}/{day}")   # each day its own draws: a build can resume at any day
        if day == 1:        # first thing on day 1: a checkpoint run's copies of them are from an earlier digest day
            out += [(text, PoolText(text, text[:60]), None) for text in self.repeats]
        for n in range(self.per_day):
            if previous is not None and rng.random() < 0.2:      # another report of the last story
                story, pooled, body = previous
                body = body + f"\nOur correspondent adds detail {day}-{n}."
            else:
                pooled = rng.choice(self.pool)
                story, body = None, pooled.text
            out.append((f"Desk {n % 97} report {day}-{n}: filed on day {day} of the soak.\n{body}", pooled, story))
            previous = (story or article_id(f"url:https://soak.example/{day}/{n}"), pooled, body)
        return out

    def write_day(self, day: int) -> int:
        """Write the day's articles; how many."""
        start = T0 + timedelta(days=day)
        drafted = self.day_articles(day)
        articles, sigs, profiles, stories, keys = [], [], [], {}, []
        for n, (text, pooled, story) in enumerate(drafted):
            seen = iso(start + timedelta(seconds=int(n * 86400 * 0.95 / len(drafted))))
            identity = f"url:https://soak.example/{day}/{n}"
            aid = article_id(identity)
            story = story or aid
            title = f"Report {day}-{n}: {pooled.title}"
            topics = [t for t, term in TOPIC_TERMS.items() if term in text]
            articles.append((aid, identity, f"outlet-{n % 40}", f"https://soak.example/{day}/{n}", title,
                             seen, seen, text, "page", hashlib.sha256(text.encode()).hexdigest(), story,
                             json.dumps(topics)))
            sigs.append((aid, SIGNATURE_VERSION, pooled.sig))
            profiles.append((aid, PROFILE_VERSION, pooled.profile))
            keys.append(pooled.keys)
            s = stories.setdefault(story, [seen, seen, aid, title, 0, set(), set()])
            s[1] = seen
            s[4] += 1
            s[5].add(f"outlet-{n % 40}")
            s[6].update(topics)
        conn = self.store.conn
        with self.store.transaction():
            run_id = conn.execute(
                "INSERT INTO runs (started, finished, status, feeds_ok, new_articles) VALUES (?, ?, 'ok', 40, ?)",
                [iso(start), iso(start + timedelta(hours=23)), len(articles)]).lastrowid
            last = conn.execute("SELECT coalesce(max(rowid), 0) FROM articles").fetchone()[0]
            conn.executemany(
                "INSERT INTO articles (id, identity, feed, url, title, published, first_seen, text, text_source, "
                "fingerprint, story_id, topics, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [row + (run_id,) for row in articles])
            conn.execute("INSERT INTO articles_fts (rowid, title, text) SELECT rowid, title, text FROM articles "
                         "WHERE rowid > ?", [last])
            rowids = [r[0] for r in conn.execute("SELECT rowid FROM articles WHERE rowid > ? ORDER BY rowid", [last])]
            assert len(rowids) == len(articles), "the history is the store's only writer"
            self.store.save_signatures(sigs)
            self.store.save_profiles(profiles)
            self.store.save_bands([(key, band, rowid) for rowid, row in zip(rowids, keys) if row
                                   for band, key in enumerate(row)])
            self.store.set_bands_upto(rowids[-1])
            conn.executemany(
                "INSERT INTO stories (id, first_seen, last_seen, lead, title, reports, outlets, topics) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(sid, a, b, lead, title, n, len(outlets), json.dumps(sorted(topics)))
                 for sid, (a, b, lead, title, n, outlets, topics) in stories.items()])
        return len(articles)
