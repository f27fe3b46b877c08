"""The orchestrator: the only module that wires the stages together.

One run: load seeds -> for every enabled feed, concurrently: fetch -> parse -> for entries never
seen: fetch page -> extract -> clean -> dedup -> flag -> store (one transaction per feed) -> write
today's digest. A feed's failure is recorded on the feed and the run goes on.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import replace
from datetime import datetime, timezone
from typing import Callable

import numpy as np

from . import digest as digest_mod
from .clean import clean_text, compile_boilerplate, fingerprint, html_to_text
from .config import Config, FeedConfig
from .dedup import SIGNATURE_VERSION, DuplicateIndex, Indexed, canonical_url, identity_of, open_index, signature
from .errors import FetchError, HTTPStatusError, StoreError
from .extract import Extractor, worker_count
from .health import is_due, next_due
from .fetch import Fetcher
from .flag import TopicMatcher
from .parse import parse_feed
from .records import Article, FeedEntry, FeedOutcome, RunReport
from .seeds import sync_seeds
from .store import Store, article_id, iso

log = logging.getLogger("newsmon")

FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, "
               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
# Pages fetched ahead per extraction worker: enough to keep every worker busy while others
# download, few enough that memory does not grow with the number of articles.
PAGES_PER_WORKER = 16
# Texts shorter than this many words fingerprint together with their URL: two summaries that
# both say "Read the full story" must not be taken for the same article.
MIN_WORDS_FOR_CONTENT_ID = 25


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Pipeline:
    """What runs share: config, store, duplicate index, topic matcher, extraction pool, clock.

    `newsmon run` makes one, runs it once and closes it; `newsmon serve` keeps one for the
    life of the daemon, so the index and the worker processes are built once.
    """

    def __init__(self, config: Config, store: Store, *, clock: Callable[[], datetime] = utcnow,
                 on_feed_done: Callable[[FeedOutcome], None] | None = None,
                 on_start: Callable[[int], None] | None = None,
                 should_stop: Callable[[], bool] = lambda: False):
        self.config, self.store, self.clock = config, store, clock
        self.on_start = on_start or (lambda total: None)
        self.boilerplate = compile_boilerplate(config.boilerplate)
        self.matcher = TopicMatcher(config.topics)
        self.on_feed_done = on_feed_done or (lambda outcome: None)
        self.should_stop = should_stop
        self.problems: list[str] = []
        self.index = DuplicateIndex()
        self.run_id = 0
        self._extractor: Extractor | None = None

    def prepare(self) -> "Pipeline":
        self.problems = sync_seeds(self.store, self.config.seeds_dir, self.boilerplate, self.clock())
        self.index = open_index(self.store)
        return self

    @property
    def extractor(self) -> Extractor:
        if self._extractor is None:
            self._extractor = Extractor(self.config.extract, self.config.boilerplate, self.config.topics)
        return self._extractor

    def close(self) -> None:
        if self._extractor is not None:
            self._extractor.close()
            self._extractor = None

    def due_feeds(self, force: bool = False, only: set[str] | None = None) -> list[FeedConfig]:
        """Enabled feeds whose check is due (all of them with force), minus those gone (410)."""
        now, due = self.clock(), []
        for feed in self.config.feeds:
            if not feed.enabled or (only is not None and feed.name not in only):
                continue
            row = self.store.ensure_feed(feed.name, feed.url)
            if row["disabled"]:
                continue
            if force or is_due(row["next_due"], now, self.config.interval(feed)):
                due.append(feed)
        return due

    async def run(self, feeds: list[FeedConfig]) -> RunReport:
        """One run over `feeds`: fetch, extract, dedup, flag, store; then today's digest."""
        started = self.clock()
        self.run_id = self.store.start_run(started)
        self.on_start(len(feeds))
        error = None
        outcomes: tuple[FeedOutcome, ...] = ()
        try:
            # sized from the config: the pool itself starts only when a page needs it
            self._page_slots = asyncio.Semaphore(worker_count(self.config.extract) * PAGES_PER_WORKER)
            async with Fetcher(self.config.fetch) as fetcher:
                results = await asyncio.gather(*(self._feed(f, fetcher) for f in feeds))
            outcomes = tuple(o for o in results if o is not None)
        except BaseException as e:
            error = f"{type(e).__name__}: {e}"
            raise
        finally:
            try:
                self.store.finish_run(self.run_id, self.clock(), outcomes, error)
            except sqlite3.Error as e:   # keep the first error; the next run marks this one interrupted
                log.error("could not record the end of run %d: %s", self.run_id, e)
        files = digest_mod.write_for_day(self.store, self.config, self.clock(), self.matcher.labels,
                                         problems=tuple(self.problems))
        return RunReport(run_id=self.run_id, started=started, finished=self.clock(),
                         feeds=outcomes, digest_files=tuple(str(p) for p in files))

    async def _feed(self, feed: FeedConfig, fetcher: Fetcher) -> FeedOutcome | None:
        """One feed, start to commit. None when a stop was asked before it got anywhere."""
        if self.should_stop():
            return None
        state = self.store.ensure_feed(feed.name, feed.url)
        url = state["url"]
        try:
            response = await fetcher.get(url, etag=state["etag"], last_modified=state["last_modified"],
                                         accept=FEED_ACCEPT)
            if self.should_stop():
                return None
            if response.status == 304:
                outcome = FeedOutcome(feed.name, url, "not_modified", etag=state["etag"],
                                      last_modified=state["last_modified"], moved_to=response.moved_to)
                return self._record(feed, outcome, [])
            parsed = parse_feed(feed.name, response, max_items=self.config.fetch.max_items_per_feed,
                                now=self.clock())
        except FetchError as e:
            http = e if isinstance(e, HTTPStatusError) else None
            log.warning("feed %s (%s): %s", feed.name, url, e.message, extra={"feed": feed.name, "url": url})
            return self._record(feed, FeedOutcome(
                feed.name, url, "error", error=e.message, retry_after=http.retry_after if http else None,
                http_status=http.status if http else None), [])
        if parsed.warning:
            log.info("feed %s (%s): ill-formed but usable: %s", feed.name, url, parsed.warning,
                     extra={"feed": feed.name, "url": url})

        keyed = []
        for entry in parsed.entries:
            canonical = canonical_url(entry.link)
            identity = identity_of(feed.name, entry.guid, canonical, None) if (entry.guid or canonical) else None
            keyed.append((entry, identity, canonical))
        known = self.store.known([i for _, i, _ in keyed if i], [c for _, _, c in keyed if c])
        fresh, keys = [], set()
        for entry, identity, canonical in keyed:
            if identity is None:
                fresh.append(entry)  # no guid, no link: identity comes from its text
            elif identity in keys or (canonical and canonical in keys):
                continue             # the same item twice in one feed
            else:
                keys.update(k for k in (identity, canonical) if k)
                if identity not in known and canonical not in known:
                    fresh.append(entry)

        fetch_pages = self.config.extract.fetch_pages if feed.fetch_pages is None else feed.fetch_pages
        built = await asyncio.gather(*(self._article(e, fetch_pages, fetcher) for e in fresh))
        if self.should_stop():
            return None
        # guid and URL identities were checked above; a text-hash identity only now exists
        stored_hashes = self.store.known([a.identity for a in built if a.identity.startswith("hash:")], [])
        articles = [a for a in built if a.identity not in stored_hashes]
        outcome = FeedOutcome(
            feed.name, response.moved_to or url, "ok", etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"), moved_to=response.moved_to,
            title=parsed.title)
        return self._record(feed, outcome, articles)

    def _record(self, feed: FeedConfig, outcome: FeedOutcome, articles: list[Article]) -> FeedOutcome:
        """Dedup, flag and store one feed's articles with its health, in one transaction."""
        now = self.clock()
        stored: list[tuple[Article, object]] = []
        with self.store.transaction():
            for article in articles:
                sig = None if article.minhash is None else np.frombuffer(article.minhash, dtype=np.uint32)
                article = self._dedup(article, sig, now)
                if article.duplicate_of is not None:
                    article = replace(article, matches=())   # a copy is not reported, so not flagged
                if self.store.insert_article(article, now, self.run_id, (SIGNATURE_VERSION, article.minhash)):
                    stored.append((article, sig))
            outcome = replace(outcome, new=len(stored),
                              duplicates=sum(a.duplicate_of is not None for a, _ in stored),
                              extraction_failures=sum(a.text_source == "feed" and a.extraction_note is not None
                                                      for a, _ in stored))
            fetch = self.config.fetch
            self.store.record_feed(
                self.run_id, outcome, now,
                next_due=lambda failures: next_due(now, self.config.interval(feed), failures,
                                                   fetch.backoff_cap_minutes, outcome.retry_after),
                failing_after=fetch.failing_after)
        for article, sig in stored:
            if article.duplicate_of is None:
                aid = article_id(article.identity)
                self.index.add(Indexed(aid, article.url or article.identity, "article", iso(now),
                                       article.story_id or aid), article.fingerprint, sig)
        log.info("feed %s (%s): %s, %d new, %d duplicates", outcome.name, outcome.url, outcome.status,
                 outcome.new - outcome.duplicates, outcome.duplicates,
                 extra={"feed": outcome.name, "url": outcome.url})
        self.on_feed_done(outcome)
        return outcome

    def _dedup(self, article: Article, sig, now: datetime) -> Article:
        """A copy of a seed or of an earlier day's article is a duplicate (left out of the
        digest); a copy of an article from the same digest day joins that article's story."""
        found = self.index.nearest(article.text, article.fingerprint, sig)
        if found is None:
            return article
        target = found.target
        zone = self.config.zone
        if target.kind == "seed" or (
                datetime.fromisoformat(target.first_seen).astimezone(zone).date() < now.astimezone(zone).date()):
            return replace(article, duplicate_of=target.ref, similarity=found.similarity)
        return replace(article, story_id=target.story_id, similarity=found.similarity)

    async def _article(self, entry: FeedEntry, fetch_pages: bool, fetcher: Fetcher) -> Article:
        note, url, page_text = None, entry.link, None
        if fetch_pages and not entry.link:
            note = "no article link in the feed"
        elif fetch_pages:
            try:
                await fetcher.wait_turn(entry.link)     # politeness first: never while holding a slot
                # a page slot bounds the pages fetched but not yet extracted: memory stays flat
                # however far the network runs ahead of the extraction workers
                async with self._page_slots:
                    page = await fetcher.get(entry.link, accept=PAGE_ACCEPT, turn_taken=True,
                                             max_bytes=max(self.config.extract.max_page_bytes * 4,
                                                           self.config.fetch.max_bytes))
                    url = page.url
                    page_text, note = await self.extractor.extract(page.body, page.url, entry.title,
                                                                   page.headers.get("content-type"))
            except FetchError as e:
                note = f"page not fetched: {e.message}"
        if page_text is not None and len(page_text.text) >= self.config.extract.min_chars:
            return make_article(entry, page_text.text, "page", None, url, page_text.signature, page_text.matches)
        # the feed's own text: the fallback, or the better text when the page gave less
        feed_text = clean_text(html_to_text(entry.content_html), self.boilerplate)
        if page_text is not None:
            if len(page_text.text) >= len(feed_text):
                return make_article(entry, page_text.text, "page", None, url, page_text.signature,
                                    page_text.matches)
            note = f"page text too short ({len(page_text.text)} characters)"
        if note:
            log.info("article %s: %s; using the feed's own text", entry.link or entry.title, note,
                     extra={"feed": entry.feed, "url": entry.link})
        sig = signature(feed_text)
        return make_article(entry, feed_text, "feed", note, url, None if sig is None else sig.tobytes(),
                            self.matcher.match(entry.title, feed_text))


def make_article(entry: FeedEntry, text: str, source: str, note: str | None, url: str | None,
                 minhash: bytes | None = None, matches: tuple = ()) -> Article:
    canonical = canonical_url(url or entry.link)
    url = canonical or url
    if len(text.split()) >= MIN_WORDS_FOR_CONTENT_ID:
        fp = fingerprint(text)
    else:
        fp = fingerprint(f"{canonical or ''}\n{entry.title}\n{text}")
    link_canonical = canonical_url(entry.link)
    return Article(
        identity=identity_of(entry.feed, entry.guid, link_canonical, fp),
        feed=entry.feed, guid=entry.guid, url=url, canonical_url=canonical, title=entry.title,
        published=entry.published, text=text, text_source=source,  # type: ignore[arg-type]
        extraction_note=note, fingerprint=fp, minhash=minhash, matches=matches)


def run_once(config: Config, *, clock: Callable[[], datetime] = utcnow, force: bool = False,
             only: set[str] | None = None,
             on_feed_done: Callable[[FeedOutcome], None] | None = None,
             on_start: Callable[[int], None] | None = None) -> RunReport:
    """One run of every due feed (every enabled feed with force), as `newsmon run` does."""
    store = Store.open(config.database)
    pipeline = Pipeline(config, store, clock=clock, on_feed_done=on_feed_done, on_start=on_start)
    try:
        pipeline.prepare()
        return asyncio.run(pipeline.run(pipeline.due_feeds(force=force, only=only)))
    except sqlite3.Error as e:
        # disk full, read-only file, corruption: say where, and stop; the open feed's
        # transaction was rolled back, so nothing half-written stays behind
        raise StoreError(f"{config.database}: database error: {e}") from None
    finally:
        pipeline.close()
        store.close()
