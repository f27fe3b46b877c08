"""A generated archive of any size, written straight into a real store: every table a year of
running fills (articles with topic matches, signatures and story profiles, stories, runs and
their feeds, feeds' health and events, emails and chat messages sent, the alert mark, walls,
upkeep), each day's search entries with it.

Used by `python -m bench scale` (a million articles from real page texts) and by the tests of
`newsmon db copy` (100,000 from generated text). Texts come from a pool, each computed once with
its duplicate signature and story profile (computing them per article would cost ~8 ms each);
an article is a pool text under a first line of its own, so its fingerprint is its own.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime, timedelta, timezone

from pipeline.app.diskindex import band_rows
from pipeline.stages.dedup import SIGNATURE_VERSION, signature
from pipeline.stages.profile import PROFILE_VERSION, profile_of
from pipeline.storage.store import Store, article_id, iso

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
TOPIC_TERMS = {"nato": "NATO", "energy": "energy"}

_ARTICLE = ("INSERT INTO articles (id, identity, feed, guid, url, canonical_url, title, published, first_seen, "
            "text, text_source, fingerprint, duplicate_of, story_id, similarity, topics, backlog, image, run_id) "
            "VALUES (" + ", ".join("?" * 19) + ")")


def simple_texts(n: int = 200, seed: int = 3) -> list[str]:
    """Texts of 60-200 words from a small vocabulary (fast; no numpy), some naming the topics."""
    rng = random.Random(seed)
    words = [f"word{i}" for i in range(3000)] + ["NATO", "energy", "ministers", "pipeline", "summit"]
    return ["\n".join(" ".join(rng.choice(words) for _ in range(rng.randint(20, 40)))
                      for _ in range(rng.randint(3, 5))) for _ in range(n)]


def pool_of(texts: list[str]) -> list[tuple[str, str, bytes | None, str]]:
    """Each text with its title, signature and profile, computed once."""
    out = []
    for text in texts:
        title = " ".join(text.split()[:9])
        sig = signature(text)
        out.append((text, title, None if sig is None else sig.tobytes(), profile_of(title, text).to_json()))
    return out


class Archive:
    """Writes `per_day` articles a day, day after day, from day `start_day` on (one run a day)."""

    FEEDS = 40

    def __init__(self, store: Store, pool: list[tuple[str, str, bytes | None, str]], per_day: int, seed: int = 7,
                 bands: bool = False):
        """`bands`: each original's rows in the near-duplicate index on disk, as a run writes them
        (42 a signature; left out by default: the copy tests need no index)."""
        self.store, self.pool, self.per_day, self.bands = store, pool, per_day, bands
        self.rng = random.Random(seed)
        self.day = 0

    def write(self, articles: int) -> None:
        while articles > 0:
            n = min(self.per_day, articles)
            self.write_day(self.day, n)
            self.day, articles = self.day + 1, articles - n

    def write_day(self, day: int, count: int) -> None:
        start = T0 + timedelta(days=day)
        rng, conn = self.rng, self.store.conn
        with self.store.transaction():
            run_id = conn.execute("INSERT INTO runs (started, finished, status, feeds_ok, new_articles) "
                                  "VALUES (?, ?, 'ok', ?, ?)", (iso(start), iso(start + timedelta(minutes=3)),
                                                                self.FEEDS, count)).lastrowid
            first_rowid = (conn.execute("SELECT max(rowid) FROM articles").fetchone()[0] or 0)
            rows, sigs, signed, profiles, matches, stories = [], [], [], [], [], {}
            previous = None
            for n in range(count):
                seen = start + timedelta(seconds=int(n * 86400 * 0.95 / max(count, 1)))
                feed = f"outlet-{n % self.FEEDS}"
                url = f"https://archive.example/{day}/{n}"
                identity = f"url:{url}"
                aid = article_id(identity)
                duplicate_of = previous[1] if previous and rng.random() < 0.05 else None
                if previous is not None and duplicate_of is None and rng.random() < 0.2:
                    story, (body, title, sig, profile) = previous[0], previous[2]
                    body += f"\nOur correspondent adds detail {day}-{n}."
                else:
                    story, (body, title, sig, profile) = aid, rng.choice(self.pool)
                text = f"Desk {n % 97} report {day}-{n}: filed on day {day}.\n{body}"
                title = f"Report {day}-{n}: {title}"
                topics = [t for t, term in TOPIC_TERMS.items() if term in body]
                rows.append((aid, identity, feed, f"g{day}-{n}", url, url, title, iso(seen - timedelta(minutes=30)),
                             iso(seen), text, "page", hashlib.sha256(text.encode()).hexdigest(), duplicate_of,
                             None if duplicate_of else story, 0.9 if duplicate_of else None, json.dumps(topics),
                             "first" if day == 0 and n < 3 else None,
                             f"https://archive.example/img/{n}.jpg" if n % 3 == 0 else None,
                             None if n % 50 == 49 else run_id))       # a few written outside a run
                if duplicate_of:
                    continue
                sigs.append((aid, SIGNATURE_VERSION, sig))
                if sig is not None:
                    signed.append((first_rowid + n + 1, sig))
                profiles.append((aid, PROFILE_VERSION, profile))
                for topic in topics:
                    term = TOPIC_TERMS[topic]
                    at = text.index(term)
                    matches.append((aid, topic, term, "text", at, at + len(term), term, text[max(0, at - 40):at + 40]))
                s = stories.setdefault(story, [iso(seen), iso(seen), aid, title, 0, set(), set()])
                s[1] = iso(seen)
                s[4] += 1
                s[5].add(feed)
                s[6].update(topics)
                previous = (story, url, (body, title, sig, profile))
            conn.executemany(_ARTICLE, rows)
            self.store.save_signatures(sigs)
            self.store.save_profiles(profiles)
            conn.executemany('INSERT INTO matches (article_id, topic, term, field, start, "end", matched, sentence) '
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", matches)
            conn.executemany(
                "INSERT INTO stories (id, first_seen, last_seen, lead, title, reports, outlets, topics) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen, "
                "reports = stories.reports + excluded.reports",
                [(sid, a, b, lead, title, n, len(outlets), json.dumps(sorted(topics)))
                 for sid, (a, b, lead, title, n, outlets, topics) in stories.items()])
            # the day's search entries, as a run's units add theirs (those without a run: the trigger)
            conn.execute("INSERT INTO articles_fts (rowid, title, text) SELECT rowid, title, text FROM articles "
                         "WHERE rowid > ? AND run_id IS NOT NULL", (first_rowid,))
            self._day_records(day, start, run_id, first_rowid, first_rowid + count)
            if self.bands:
                self._bands(signed, first_rowid, first_rowid + count)

    def _bands(self, signed: list[tuple[int, bytes]], rowid_after: int, rowid_upto: int) -> None:
        """The day's originals in the band table, and its mark past the day (nothing to catch up).
        An archive grown without them before is left to the index's own catch-up."""
        assert self.store.conn.execute("SELECT max(rowid) FROM articles").fetchone()[0] == rowid_upto
        mark = self.store.bands_mark()
        if mark is None and rowid_after == 0:
            self.store.restart_bands(SIGNATURE_VERSION)
            mark = (SIGNATURE_VERSION, 0)
        if mark == (SIGNATURE_VERSION, rowid_after):
            self.store.save_bands(band_rows(signed))
            self.store.set_bands_upto(rowid_upto)

    def _day_records(self, day: int, start: datetime, run_id: int, rowid_after: int, rowid_upto: int) -> None:
        """What a day of running leaves besides articles: feeds' health, the run's feeds, the
        email and chat message sent, the alert mark, a wall, an event, the night's upkeep."""
        conn, when = self.store.conn, iso(start + timedelta(hours=23))
        conn.executemany(
            "INSERT INTO feeds (name, url, configured_url, status, last_checked, last_success, items_seen) "
            "VALUES (?, ?, ?, 'ok', ?, ?, ?) ON CONFLICT (name) DO UPDATE SET last_checked = excluded.last_checked, "
            "last_success = excluded.last_success, items_seen = feeds.items_seen + excluded.items_seen",
            [(f"outlet-{f}", f"https://archive.example/feed{f}.xml", f"https://archive.example/feed{f}.xml",
              when, when, self.per_day // self.FEEDS) for f in range(self.FEEDS)])
        conn.executemany("INSERT INTO run_feeds (run_id, feed, status, new) VALUES (?, ?, 'ok', ?)",
                         [(run_id, f"outlet-{f}", self.per_day // self.FEEDS) for f in range(self.FEEDS)])
        date = (start + timedelta(hours=12)).date().isoformat()
        conn.execute("INSERT INTO emails (digest_date, recipient, message_id, period_start, period_end, rowid_after, "
                     "rowid_upto, status, articles, attempts, data_started, created, sent_at, message) "
                     "VALUES (?, 'desk@example.org', ?, ?, ?, ?, ?, 'sent', ?, 1, 1, ?, ?, ?)",
                     (date, f"<{date}.desk@newsmon.example>", iso(start), iso(start + timedelta(days=1)), rowid_after,
                      rowid_upto, rowid_upto - rowid_after, when, when, f"Subject: digest {date}\r\n\r\n...".encode()))
        conn.execute("INSERT INTO messages (channel, kind, key, title, body, status, attempts, created, sent_at) "
                     "VALUES ('desk-chat', 'digest', ?, ?, ?, 'sent', 1, ?, ?)",
                     (date, f"Digest {date}", f"{rowid_upto - rowid_after} articles", when, when))
        conn.execute("INSERT INTO marks (name, rowid_upto, at) VALUES ('alerts', ?, ?) ON CONFLICT (name) DO UPDATE "
                     "SET rowid_upto = excluded.rowid_upto, at = excluded.at", (rowid_upto, when))
        conn.execute("INSERT INTO walls (host, fingerprint, last_seen) VALUES (?, ?, ?)",
                     (f"host{day % 7}.example", f"fp{day}", when))
        conn.execute("INSERT INTO feed_events (feed, at, kind, detail) VALUES (?, ?, 'recovered', 'answers again')",
                     (f"outlet-{day % self.FEEDS}", when))
        conn.execute("INSERT INTO maintenance (started, finished, texts_dropped, articles_deleted, size_before, "
                     "size_after) VALUES (?, ?, 0, 0, ?, ?)", (when, when, day * 1000, day * 1000))


def generate(store: Store, articles: int, pool: list, per_day: int) -> None:
    """`articles` articles into an empty store."""
    Archive(store, pool, per_day).write(articles)
