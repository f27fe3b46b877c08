"""The orchestrator: the only module that wires the stages together.

One run: load seeds -> for every enabled feed, concurrently: fetch -> parse (in a worker) -> for
items never seen: fetch page -> extract (in a worker) -> clean -> dedup -> flag -> store (one
transaction per feed) -> write today's digest.

Fault boundaries, so that nothing a feed contains can stop a run:
- around each feed's whole processing: any exception (other than the database's own) becomes a
  recorded feed error, its type and message in feed health, the traceback at debug level only;
- around each item: an item that raises is skipped and counted in the feed's warning;
- around the run: a deadline (`[fetch] run_deadline_minutes`) after which unfinished feeds are
  recorded as "run deadline reached", and a stop check (SIGTERM/SIGINT) that drops the feeds in
  flight whole within a fraction of a second. Either way the run records itself and writes its
  digest.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable

from ..clock import utcnow
from ..config import Config, FeedConfig
from ..errors import DigestWriteError, FetchError, HTTPStatusError, StoreError
from ..records import Article, FeedEntry, FeedOutcome, FeedState, RunReport
from ..stages.backlog import mark_backlog
from ..stages.clean import compile_boilerplate, one_line
from ..stages.fetch import Fetcher
from ..stages.health import is_due, policy_for, shown_in_digest, transition
from ..stages.parse import skip_notes
from ..stages.urls import canonical_url, host_of
from ..storage.store import Store, article_id, database_errors, guard
from .alertmark import nobody_to_alert
from .claims import NoClaims, claims_for
from .seeds import sync_seeds
from .selection import fresh_entries, shared_pages
from .stories import StoryDesk
from .walls import Walls

if TYPE_CHECKING:       # (loaded when first needed: see Pipeline.index, .workers, _record, _article)
    from ..stages.extract import PageText
    from ..stages.workers import Workers
    from .diskindex import StoredIndex

log = logging.getLogger("newsmon")

FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, "
               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
# Pages fetched ahead per extraction worker: enough to keep every worker busy while others
# download, few enough that memory does not grow with the number of articles.
PAGES_PER_WORKER = 16
# How often the run checks for a stop request or its deadline while feeds are in flight.
STOP_POLL_SECONDS = 0.2
# Finished feeds are committed together at most this long after the first of them (store.grouped):
# a commit per feed cost a first run of 1,000 feeds ~1 s of CPU (bench/RESULTS.md).
GROUP_COMMIT_SECONDS = 0.5


class Pipeline:
    """What runs share: config, store, duplicate index, topic matcher, worker pool, clock.

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
        self.on_feed_done = on_feed_done or (lambda outcome: None)
        self.should_stop, self.problems = should_stop, []
        self._index: StoredIndex | None = None
        self._states: dict[str, FeedState] = {}     # each feed as this run found it, then as it left it
        self.run_id, self.stopped, self.changed = 0, False, False
        self._workers: Workers | None = None
        self.walls = Walls(store, clock)
        self.stories = StoryDesk.for_config(store, config)
        self.claims: NoClaims = NoClaims()          # which feeds are this worker's to check

    def prepare(self) -> "Pipeline":
        self.problems = sync_seeds(self.store, self.config.seeds_dir, self.boilerplate, self.clock())
        return self

    @property
    def index(self) -> StoredIndex:
        """The duplicate index, opened when an article first needs it (a run where every feed
        answers 304 never imports numpy). Seeds and the last [dedup] window_days, the articles'
        bands on disk (app/diskindex.py): the same cost on day 365 as on day 1. Call it outside a
        transaction: opening builds the bands of articles stored since the last opening."""
        if self._index is None:
            from .index import open_index  # (numpy and MinHash: only once something is new)
            self._index = open_index(self.store, self.clock() - timedelta(days=self.config.retention.window_days))
        return self._index

    def forget_index(self) -> None:
        """Load the duplicate index afresh when next needed (after a prune, or once a day)."""
        self._index = None

    @property
    def workers(self) -> Workers:
        if self._workers is None:
            from ..stages.workers import Workers  # (the pool library: only once something is parsed)
            self._workers = Workers(self.config.extract, self.config.boilerplate, self.config.topics,
                                    pages=any(self.config.fetches_pages(f) for f in self.config.feeds))
        return self._workers

    def close(self) -> None:
        if self._workers is not None:
            self._workers.close(wait=not self.stopped)
            self._workers = None
        self.claims.release_left()

    def _todays_files_exist(self) -> bool:
        day = self.clock().astimezone(self.config.zone).date()
        return all((self.config.digest_dir / f"{day}.{fmt}").exists() for fmt in self.config.digest_formats)

    def due_feeds(self, force: bool = False, only: set[str] | None = None) -> list[FeedConfig]:
        """Enabled feeds whose check is due (all of them with force), minus those gone (410)."""
        now = self.clock()
        wanted = [f for f in self.config.feeds if f.enabled and (only is None or f.name in only)]
        states = self.store.ensure_feeds([(f.name, f.url) for f in wanted])
        return [f for f in wanted if not states[f.name].disabled
                and (force or is_due(states[f.name], now, policy_for(self.config, f)))]

    async def run(self, feeds: list[FeedConfig], write_digest: bool = True) -> RunReport:
        """One run over `feeds`: fetch, extract, dedup, flag, store; then today's digest (the
        daemon writes it itself, debounced: `write_digest=False`)."""
        started = self.clock()
        self.stories.ready(bool(feeds))      # an embeddings model loaded before the first feed (or a ConfigError)
        self.changed = False                 # anything the digest shows: set by _record
        self.run_id = self.store.start_run(started)
        self._states = self.store.ensure_feeds([(f.name, f.url) for f in feeds])   # as the run found them
        if any(state.first_checked is None for state in self._states.values()):
            self.workers.start()             # a feed never checked will most likely be parsed
        self.on_start(len(feeds))
        self.walls.clear()
        error, status = None, None
        outcomes: list[FeedOutcome] = []
        try:
            # sized from the config: the pool itself starts only when a page needs it
            self._page_slots = asyncio.Semaphore(self.config.extract.processes * PAGES_PER_WORKER)
            async with Fetcher(self.config.fetch) as fetcher:
                with self.store.grouped(GROUP_COMMIT_SECONDS):
                    tasks = {asyncio.create_task(self._feed_guarded(f, fetcher)): f for f in feeds}
                    unfinished = await self._wait(list(tasks))
            for task, feed in tasks.items():
                if task in unfinished:
                    if not self.stopped:
                        outcomes.append(self._deadline_reached(feed))
                elif task.result() is not None:
                    outcomes.append(task.result())
            if self.stopped:
                status, error = "interrupted", "stopped by a signal; unfinished feeds are checked next run"
        except BaseException as e:
            error = f"{type(e).__name__}: {e}"
            raise
        finally:
            try:
                self.store.finish_run(self.run_id, self.clock(), tuple(outcomes), error, status=status)
            except database_errors() as e:   # keep the first error; the next run marks this one interrupted
                log.error("could not record the end of run %d: %s", self.run_id, e)
        nobody_to_alert(self.store, self.config, self.clock())   # (then what it stored counts as evaluated)
        files, digest_error = [], None
        if write_digest and not self.changed and self._todays_files_exist():
            log.info("digest unchanged (no new article, no feed health change): not rewritten")
            write_digest = False
            if self.config.templates_dir:   # nothing to render, yet a broken custom template is reported
                from .report import template_problems
                digest_error = next(iter(template_problems(self.config)), None)
        if write_digest:
            self.close()     # the workers go before the digest is built: both at once were the peak
        try:       # the files are one output, the email another: neither may stop the other
            if write_digest:
                from .report import write_for_day  # (jinja2: loaded only when a digest is written)
                files = write_for_day(self.store, self.config, self.clock(), self.config.labels,
                                      problems=tuple(self.problems))
        except DigestWriteError as e:
            digest_error = str(e)
            log.error("%s", e)
        return RunReport(run_id=self.run_id, started=started, finished=self.clock(),
                         feeds=tuple(outcomes), digest_files=tuple(str(p) for p in files),
                         stopped=self.stopped, digest_error=digest_error)

    async def _wait(self, tasks: list[asyncio.Task]) -> set[asyncio.Task]:
        """Wait for the feed tasks until all are done, a stop is asked or the deadline passes;
        cancel what is left (whole feeds only: a feed's store step has no await inside) and
        return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.fetch.run_deadline_minutes * 60
        pending = set(tasks)
        while pending:
            if self.should_stop():
                self.stopped = True
                break
            left = deadline - loop.time()
            if left <= 0:
                break
            _, pending = await asyncio.wait(pending, timeout=min(STOP_POLL_SECONDS, left))
            self.store.flush(older_than=GROUP_COMMIT_SECONDS)   # finished feeds: durable within a second
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        return pending

    def _deadline_reached(self, feed: FeedConfig) -> FeedOutcome:
        minutes = self.config.fetch.run_deadline_minutes
        log.warning("feed %s: run deadline (%g min) reached before it finished", feed.name, minutes,
                    extra={"feed": feed.name, "url": feed.url})
        return self._record(feed, FeedOutcome(
            feed.name, self._states[feed.name].url, "error",
            error=f"run deadline reached ({minutes:g} min); checked again next run"), [])

    async def _feed_guarded(self, feed: FeedConfig, fetcher: Fetcher) -> FeedOutcome | None:
        """The per-feed fault boundary: whatever goes wrong in one feed is recorded on that feed.
        Only the database's own errors (disk full, read-only file) stop the run."""
        try:
            async with self.claims.held(feed, self._states) as mine:     # (PostgreSQL's workers: claims.py)
                return await self._feed(feed, fetcher) if mine else None
        except (*database_errors(), StoreError):
            raise
        except Exception as e:
            message = one_line(f"{type(e).__name__}: {e}")[:500]
            log.warning("feed %s: could not be processed: %s", feed.name, message,
                        extra={"feed": feed.name, "url": feed.url})
            log.debug("feed %s: traceback", feed.name, exc_info=True)
            return self._record(feed, FeedOutcome(feed.name, self._states[feed.name].url, "error",
                                                  error=f"could not process the feed ({message})"), [])

    async def _feed(self, feed: FeedConfig, fetcher: Fetcher) -> FeedOutcome | None:
        """One feed, start to commit. None when a stop was asked before it got anywhere."""
        if self.should_stop():
            return None
        state = self._states[feed.name]
        url = state.url
        fetch_pages = self.config.fetches_pages(feed)
        try:
            response = await fetcher.get(url, etag=state.etag, last_modified=state.last_modified,
                                         accept=FEED_ACCEPT)
            if self.should_stop():
                return None
            if response.status == 304:
                outcome = FeedOutcome(feed.name, url, "not_modified", etag=state.etag,
                                      last_modified=state.last_modified, moved_to=response.moved_to,
                                      warning=state.warning)
                return self._record(feed, outcome, [])
            # a feed read for the first time without pages: every entry is new and keeps its own
            # text, so the parsing job analyses the texts too
            first_reading = not fetch_pages and state.items_seen == 0
            parsed, read_texts = await self.workers.parse(feed.name, response, self.config.fetch.max_items_per_feed,
                                                          self.clock(), analyse=first_reading)
        except FetchError as e:
            http = e if isinstance(e, HTTPStatusError) else None
            log.warning("feed %s (%s): %s", feed.name, url, e.message, extra={"feed": feed.name, "url": url})
            return self._record(feed, FeedOutcome(
                feed.name, url, "error", error=e.message, retry_after=http.retry_after if http else None,
                http_status=http.status if http else None), [])
        if parsed.warning:
            log.info("feed %s (%s): read with a warning: %s", feed.name, url, parsed.warning,
                     extra={"feed": feed.name, "url": url})

        skipped: Counter[str] = Counter()
        fresh = fresh_entries(self.store, parsed.entries, skipped)
        shared = shared_pages(parsed.entries) if fetch_pages else set()
        with_page = [fetch_pages and canonical_url(entry.link) not in shared for entry, _ in fresh]
        feed_texts = {id(e): text for e, text in zip(parsed.entries, read_texts) if text is not None}
        # the other items that keep their feed's text are analysed in one worker job for the feed
        own = [entry for (entry, _), page in zip(fresh, with_page) if not page and id(entry) not in feed_texts]
        analysed = await self.workers.analyse_feed_texts([(e.content_html, e.title) for e in own]) if own else []
        feed_texts.update((id(e), text) for e, text in zip(own, analysed))
        built = await asyncio.gather(*(self._article_guarded(
            entry, identity, page, fetcher, skipped, feed_texts.get(id(entry)))
            for (entry, identity), page in zip(fresh, with_page)))
        if self.should_stop():
            return None
        pairs = [(entry, identity, a) for (entry, identity), a in zip(fresh, built) if a is not None]
        pairs, walls = await self._without_walls(pairs, skipped)
        # guid and URL identities were checked above; a text-hash identity only now exists
        articles = [a for _, _, a in pairs]
        stored_hashes = self.store.known([a.identity for a in articles if a.identity.startswith("hash:")], [])
        articles = [a for a in articles if a.identity not in stored_hashes]
        notes = [parsed.warning] if parsed.warning else []
        notes += walls
        notes += skip_notes(skipped)
        outcome = FeedOutcome(
            feed.name, response.moved_to or url, "ok", etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"), moved_to=response.moved_to,
            title=parsed.title, warning="; ".join(notes)[:1000] or None)
        return self._record(feed, outcome, articles)

    async def _article_guarded(self, entry: FeedEntry, identity: str | None, fetch_page: bool,
                               fetcher: Fetcher, skipped: Counter, feed_text: PageText | None = None) -> Article | None:
        """The per-item boundary: an item that cannot be built is skipped and counted."""
        try:
            return await self._article(entry, identity, fetch_page, fetcher, feed_text)
        except Exception as e:
            skipped[type(e).__name__] += 1
            log.debug("feed %s: item %s skipped", entry.feed, entry.link or entry.guid, exc_info=True)
            return None

    async def _without_walls(self, pairs: list, skipped: Counter) -> tuple[list, list[str]]:
        """Articles whose page turned out to be a consent or bot wall (walls.py) fall back to the
        feed's own text; the warnings name each host."""
        walls = self.walls.find([a for _, _, a in pairs if a.text_source == "page"])
        if not walls:
            return pairs, []
        walled: Counter[str] = Counter()
        out = []
        for entry, identity, article in pairs:
            key = (host_of(article.url), article.fingerprint)
            if article.text_source == "page" and key in walls:
                walled[key[0]] += 1
                rebuilt = await self._article_guarded(entry, identity, False, None, skipped)
                if rebuilt is None:
                    continue
                article = replace(rebuilt, extraction_note=f"consent or bot wall: {key[0]} serves the same "
                                                           "text for many pages")
            out.append((entry, identity, article))
        return out, [f"consent or bot wall at {host}: {n} page{'s' if n > 1 else ''} "
                     "(the feed's text was used)" for host, n in walled.items()]

    def _record(self, feed: FeedConfig, outcome: FeedOutcome, articles: list[Article]) -> FeedOutcome:
        """Dedup, flag and store one feed's articles with its health, in one deciding transaction (Store.transaction)."""
        now = self.clock()      # a feed never read before brings its backlog; old items are not news
        articles = mark_backlog(articles, self._states[feed.name].last_success is None, now, self.config.fetch)
        stored: list[tuple[Article, object]] = []
        index = self.index if articles else None    # loaded (if at all) before the transaction
        if articles:
            from . import index as dedup  # (imported with the index, above)
            self.stories.index(now)
        with self.stories.forgetting_on_error(), self.store.transaction(decides=bool(articles)):
            for article in articles:
                sig = dedup.signature_of(article)
                article = dedup.dedup_against(index, article, sig, now, self.config.zone)
                if article.duplicate_of is not None:
                    article = replace(article, matches=())   # a copy is not reported, so not flagged
                else:
                    article = self.stories.place(article, now)
                if self.store.insert_article(article, now, self.run_id, (dedup.SIGNATURE_VERSION, article.minhash),
                                             bands=dedup.band_pairs(sig) if sig is not None else ()):
                    stored.append((article, sig))
                    if article.duplicate_of is None:
                        self.stories.record(article, article_id(article.identity), now)
            outcome = replace(outcome, new=len(stored),
                              duplicates=sum(a.duplicate_of is not None for a, _ in stored),
                              extraction_failures=sum(a.text_source == "feed" and a.extraction_note is not None
                                                      for a, _ in stored))
            previous = self._states[feed.name]            # read when the run started
            change = transition(previous, outcome, now, policy_for(self.config, feed))
            self.store.save_feed(self.run_id, outcome, change, now)
        self._states[feed.name] = change.state
        self.changed = self.changed or bool(stored) or bool(change.events) or shown_in_digest(previous) != \
            shown_in_digest(change.state)
        for article, sig in stored:
            if article.duplicate_of is None:
                dedup.remember(index, article, article_id(article.identity), now, sig)
        log.info("feed %s (%s): %s, %d new, %d duplicates", outcome.name, outcome.url, outcome.status,
                 outcome.new - outcome.duplicates, outcome.duplicates,
                 extra={"feed": outcome.name, "url": outcome.url})
        self.on_feed_done(outcome)
        return outcome

    async def _article(self, entry: FeedEntry, identity: str | None, fetch_page: bool,
                       fetcher: Fetcher | None, feed_text: PageText | None = None) -> Article:
        from ..stages.articles import make_article  # (with the text stack: only for new items)
        note, url, page = None, entry.link, None
        if fetch_page and not entry.link:
            note = "no article link in the feed"
        elif fetch_page and fetcher is not None:
            try:
                await fetcher.wait_turn(entry.link)     # politeness first: never while holding a slot
                # a page slot bounds the pages fetched but not yet extracted: memory stays flat
                # however far the network runs ahead of the extraction workers
                async with self._page_slots:
                    response = await fetcher.get(entry.link, accept=PAGE_ACCEPT, turn_taken=True,
                                                 max_bytes=max(self.config.extract.max_page_bytes * 4,
                                                               self.config.fetch.max_bytes))
                    url = response.url
                    page, note = await self.workers.extract(response.body, response.url, entry.title,
                                                            response.headers.get("content-type"))
            except FetchError as e:
                note = f"page not fetched: {e.message}"
        if page is not None and len(page.text) >= self.config.extract.min_chars:
            return make_article(entry, identity, page, "page", None, url)
        # the feed's own text: the fallback, or the better text when the page gave less
        feed_text = feed_text or await self.workers.analyse_feed_text(entry.content_html, entry.title)
        if page is not None:
            if len(page.text) >= len(feed_text.text):
                return make_article(entry, identity, page, "page", None, url)
            note = f"page text too short ({len(page.text)} characters)"
        if note:
            log.info("article %s: %s; using the feed's own text", entry.link or entry.title, note,
                     extra={"feed": entry.feed, "url": entry.link})
        return make_article(entry, identity, feed_text, "feed", note, url)


def run_once(config: Config, *, clock: Callable[[], datetime] = utcnow, force: bool = False, only: set[str] | None = None,
             on_feed_done: Callable[[FeedOutcome], None] | None = None,
             on_start: Callable[[int], None] | None = None,
             should_stop: Callable[[], bool] = lambda: False) -> RunReport:
    """One run of every due feed (every enabled feed with force), as `newsmon run` does."""
    store = Store.open(config.store, config.store_password)
    pipeline = Pipeline(config, store, clock=clock, on_feed_done=on_feed_done, on_start=on_start,
                        should_stop=should_stop)
    pipeline.claims = claims_for(config, clock, force)
    try:
        with guard(config.store):      # disk full, read-only file: one clear error
            pipeline.prepare()
            return asyncio.run(pipeline.run(pipeline.due_feeds(force=force, only=only)))
    finally:
        pipeline.close()
        store.close()
