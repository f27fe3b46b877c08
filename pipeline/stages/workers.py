"""The worker processes: all CPU-heavy handling of what servers send, off the event loop.

The parent process runs the event loop (HTTP for every feed at once) and SQLite. Anything whose
cost a server controls runs here instead, in a pebble process pool, one worker per core:
- parsing a feed body (feedparser or the JSON Feed reader): bytes in, a ParsedFeed out;
- extracting a page's main text (trafilatura), then cleaning, signing and flagging it;
- cleaning, signing and flagging a feed's own text when it is the text stored.
Each job has a time limit, after which its worker is killed and replaced, and each worker an
address-space cap, so a 50,000-item feed or a pathological page costs that one feed or article an
error, while the event loop keeps every other feed's requests on time. Workers come from a
forkserver that has feedparser and trafilatura imported already, so a replaced worker starts in
milliseconds and never inherits the event loop's threads. The pool starts on first use, so a run in
which every feed answers 304 never starts it, or at once for a run with a feed never checked yet.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures import wait as wait_for
from datetime import datetime

from pebble import ProcessExpired, ProcessPool

from ..config import ExtractOptions
from ..errors import NotAFeed
from ..records import ParsedFeed, Response
from ..topics import TopicRule
from .extract import (
    PageText,
    _init_worker,
    analyse_feed_text,
    analyse_feed_texts,
    extract_page,
    sniff_not_html,
)
from .parse import parse_feed

# A feed that takes longer than this to parse is refused (feedparser reads 50,000 items in ~35 s).
PARSE_TIMEOUT_SECONDS = 60.0


class Workers:
    """The process pool and the policy for what reaches it."""

    def __init__(self, options: ExtractOptions, boilerplate: tuple[str, ...], topics: tuple[TopicRule, ...],
                 pages: bool = True):
        """`pages`: whether any page will be extracted. Without, the forkserver does not load
        trafilatura (a third of a second before the first feed could be parsed); a worker that
        meets a page after all loads it then."""
        self.options = options
        context = multiprocessing.get_context("forkserver")
        preload = ["feedparser", "pipeline.stages.extract", "pipeline.stages.parse"]
        context.set_forkserver_preload((["trafilatura"] if pages else []) + preload)
        self._starting: Future | None = None       # set by start(): done once the pool runs
        self._pool = ProcessPool(max_workers=options.processes, max_tasks=500, initializer=_init_worker,
                                 initargs=(options.memory_mb, tuple(boilerplate), tuple(topics), options.thorough),
                                 context=context)

    def start(self) -> None:
        """Start the workers now, not when the first job comes: for a run that will certainly
        parse (a feed never checked), so that the forkserver and workers start while the first
        requests are in flight instead of after the first response. In a thread: the pool's first
        job blocks its caller until the forkserver has imported the parsers (~0.3 s), which the
        event loop must not wait for (every request of the run would start that much later)."""
        if self._starting is not None:
            return
        starting = self._starting = Future()

        def start_pool() -> None:
            try:
                self._pool.schedule(_ready)
            except BaseException as e:
                starting.set_exception(e)
            else:
                starting.set_result(None)

        threading.Thread(target=start_pool, daemon=True, name="newsmon-workers-start").start()

    async def _started(self) -> None:
        """Wait, without blocking the loop, for a start in progress: the pool must not be started
        twice, which a job scheduled meanwhile would do."""
        if self._starting is not None and not self._starting.done():
            await asyncio.wrap_future(self._starting)

    def close(self, wait: bool = True) -> None:
        """Stop the workers: after the jobs in hand (`wait`), or at once (a stop was asked)."""
        if self._starting is not None:
            wait_for([self._starting])
        self._pool.close()
        if wait:
            self._pool.join(timeout=10)
        self._pool.stop()
        self._pool.join(timeout=5)

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    async def _run(self, fn, args: tuple, timeout: float):
        await self._started()
        future = self._pool.schedule(fn, args=args, timeout=timeout)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()          # a running job's worker is stopped too
            raise

    async def parse(self, feed_name: str, response: Response, max_items: int, now: datetime,
                    analyse: bool = False) -> tuple[ParsedFeed, tuple[PageText | None, ...]]:
        """parse.parse_feed in a worker. Raises NotAFeed for anything that went wrong there.

        With `analyse`, the same job also analyses every entry's own text (None where that
        failed), for the caller that knows all of them will be stored with it: a feed read for
        the first time without pages. One job instead of two per feed."""
        try:
            return await self._run(_parse, (feed_name, response, max_items, now, analyse),
                                   PARSE_TIMEOUT_SECONDS + (self.options.timeout_seconds * 3 if analyse else 0))
        except NotAFeed:
            raise
        except (FutureTimeout, TimeoutError):
            raise NotAFeed(response.url, f"parsing took longer than {PARSE_TIMEOUT_SECONDS:g} s") from None
        except MemoryError:
            raise NotAFeed(response.url, f"parsing ran out of memory ({self.options.memory_mb} MB cap)") from None
        except ProcessExpired as e:
            raise NotAFeed(response.url, f"the parsing worker died ({e})") from None
        except Exception as e:
            raise NotAFeed(response.url, f"unreadable feed ({type(e).__name__}: {e})") from None

    async def extract(self, body: bytes, url: str | None, title: str = "",
                      content_type: str | None = None) -> tuple[PageText | None, str | None]:
        """(PageText, None) on success, or (None, why not) for the caller to fall back."""
        if len(body) > self.options.max_page_bytes:
            return None, f"page of {len(body):,} bytes is over the {self.options.max_page_bytes:,}-byte limit"
        reason = sniff_not_html(body, content_type)
        if reason:
            return None, reason
        try:
            page = await self._run(extract_page, (body, url, title), self.options.timeout_seconds)
        except (FutureTimeout, TimeoutError):
            return None, f"extraction timed out after {self.options.timeout_seconds:g} s"
        except MemoryError:
            return None, f"extraction ran out of memory ({self.options.memory_mb} MB cap)"
        except ProcessExpired as e:
            return None, f"extraction worker died ({e})"
        except Exception as e:  # trafilatura/lxml raise many things on hostile input
            return None, f"extraction failed: {type(e).__name__}: {e}"
        if page is None:
            return None, "no main text found on the page"
        return page, None

    async def analyse_feed_texts(self, items: list[tuple[str, str]]) -> list[PageText | None]:
        """Many feed texts in one job; None for any that failed (or all, when the job did)."""
        if not items:
            return []
        try:
            return await self._run(analyse_feed_texts, (items,), self.options.timeout_seconds * 3 + len(items) * 0.5)
        except asyncio.CancelledError:
            raise
        except Exception:
            return [None] * len(items)

    async def analyse_feed_text(self, content_html: str, title: str) -> PageText:
        """The feed's own text, cleaned, signed and flagged in a worker. Raises on failure."""
        return await self._run(analyse_feed_text, (content_html, title), self.options.timeout_seconds * 3)


def _ready() -> None:
    """A job that does nothing: what starts the pool (Workers.start)."""


def _parse(feed_name: str, response: Response, max_items: int, now: datetime,
           analyse: bool) -> tuple[ParsedFeed, tuple[PageText | None, ...]]:
    parsed = parse_feed(feed_name, response, max_items=max_items, now=now)
    texts = analyse_feed_texts([(e.content_html, e.title) for e in parsed.entries]) if analyse else []
    return parsed, tuple(texts)
