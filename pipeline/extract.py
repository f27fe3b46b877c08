"""Main-text extraction with trafilatura, in worker processes.

trafilatura is ~95% of an article's CPU and, on a pathological page, can take seconds and
gigabytes. So it runs in a pebble process pool: one worker per core, each with an address-space cap
and a per-document timeout after which the worker is killed and replaced. A page that is too big,
not HTML, times out, exhausts memory or yields nothing costs one fallback to the feed's own content,
never the run. Workers come from a forkserver that has trafilatura imported already, so a replaced
worker starts in milliseconds and never inherits the event loop's threads.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import resource
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from pebble import ProcessExpired, ProcessPool

from .clean import clean_text, compile_boilerplate, drop_headline
from .config import ExtractOptions
from .dedup import signature
from .flag import TopicMatcher
from .records import Match
from .topics import TopicRule

_BINARY_MAGIC = (b"%PDF", b"PK\x03\x04", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b",
                 b"OggS", b"ID3", b"RIFF", b"\x00\x00\x01\x00")


@dataclass(frozen=True, slots=True)
class PageText:
    """What a worker makes of one page: the stored text and what dedup and flagging need."""

    text: str                       # cleaned main text, headline line dropped
    signature: bytes | None         # MinHash signature (dedup.signature), None for short texts
    matches: tuple[Match, ...]      # topic matches over the title and this text


class _Worker:
    """Per-process state of an extraction worker, built once by the pool's initializer."""

    boilerplate: re.Pattern | None = None
    matcher: TopicMatcher | None = None


def _init_worker(megabytes: int, boilerplate: tuple[str, ...], topics: tuple[TopicRule, ...]) -> None:
    """Cap the address space at what the worker has now plus `megabytes`; compile the rules once."""
    with open("/proc/self/statm") as f:
        current = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = current + megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _Worker.boilerplate = compile_boilerplate(boilerplate)
    _Worker.matcher = TopicMatcher(topics)


def extract_main_text(html: bytes, url: str | None) -> str | None:
    """trafilatura's main text, or None. The one extraction call (the benchmark's raw loop too)."""
    import trafilatura

    return trafilatura.extract(html, url=url, output_format="txt", include_comments=False,
                               include_tables=True, deduplicate=False, with_metadata=False)


def extract_page(html: bytes, url: str | None, title: str) -> PageText | None:
    """Runs in a worker: extract, then clean, sign and flag there too, so the parent process
    (network and database) stays light and every core does the CPU work."""
    raw = extract_main_text(html, url)
    if raw is None or not raw.strip():
        return None
    text = drop_headline(clean_text(raw, _Worker.boilerplate), title)
    sig = signature(text)
    return PageText(text, None if sig is None else sig.tobytes(), _Worker.matcher.match(title, text))


def sniff_not_html(body: bytes, content_type: str | None) -> str | None:
    """Why a body is not an HTML page, or None. Servers mislabel PDFs and images as text/html."""
    head = body[:1024]
    if any(head.startswith(m) for m in _BINARY_MAGIC):
        return "binary content (by its first bytes)"
    if b"\x00" in head:
        return "binary content (NUL bytes)"
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype and ctype not in ("text/html", "application/xhtml+xml", "text/plain", "application/xml",
                               "text/xml", ""):
        return f"not a web page ({ctype})"
    return None


def worker_count(options: ExtractOptions) -> int:
    """Extraction processes: [extract] workers, or one per core."""
    return options.workers or os.cpu_count() or 1


class Extractor:
    """The process pool, its limits, and the policy for what reaches trafilatura."""

    def __init__(self, options: ExtractOptions, boilerplate: tuple[str, ...], topics: tuple[TopicRule, ...]):
        self.options = options
        workers = worker_count(options)
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["trafilatura", "pipeline.extract"])
        self._pool = ProcessPool(max_workers=workers, max_tasks=500, initializer=_init_worker,
                                 initargs=(options.memory_mb, tuple(boilerplate), tuple(topics)),
                                 context=context)

    def close(self) -> None:
        self._pool.close()
        self._pool.join(timeout=10)
        self._pool.stop()

    def __enter__(self) -> "Extractor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    async def extract(self, body: bytes, url: str | None, title: str = "",
                      content_type: str | None = None) -> tuple[PageText | None, str | None]:
        """(PageText, None) on success, or (None, why not) for the caller to fall back."""
        if len(body) > self.options.max_page_bytes:
            return None, f"page of {len(body):,} bytes is over the {self.options.max_page_bytes:,}-byte limit"
        reason = sniff_not_html(body, content_type)
        if reason:
            return None, reason
        future = self._pool.schedule(extract_page, args=(body, url, title),
                                     timeout=self.options.timeout_seconds)
        try:
            page = await asyncio.wrap_future(future)
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
