"""Main-text extraction with trafilatura, and the analysis every stored text gets; both run in the
worker processes of workers.py.

trafilatura is ~95% of an article's CPU and, on a pathological page, can take seconds and
gigabytes: hence the workers' address-space cap and per-document timeout (workers.py). A page that
is too big, not HTML, times out, exhausts memory or yields nothing costs one fallback to the feed's
own content, never the run.
"""

from __future__ import annotations

import os
import re
import resource
from dataclasses import dataclass, replace

from ..records import Match
from ..topics import TopicRule
from .clean import clean_text, compile_boilerplate, drop_headline, fingerprint, html_to_text
from .dedup import signature
from .flag import TopicMatcher
from .language import page_language
from .profile import Profile, profile_of
from .urls import http_url

# Texts shorter than this many words fingerprint together with their URL (articles.make_article):
# two summaries that both say "Read the full story" must not be taken for the same article.
MIN_WORDS_FOR_CONTENT_ID = 25

# trafilatura's fast pass (no fallback extractors) finding less than this is taken as a sign that
# it missed the article body, and the page gets the full pass. Measured (python -m bench
# extraction): on the 181 news pages of the article-extraction benchmark, F1 0.957 at 18 ms a page
# (the full pass on every page: 0.954 at 24 ms; plain trafilatura.extract: 0.943); on trafilatura's
# 300 multilingual pages the fast pass alone loses recall (0.926 against 0.946), mostly on pages
# where it finds a few hundred characters of a longer text: with this fallback, F1 0.926 (full
# pass 0.931, plain 0.923).
FAST_PASS_MIN_CHARS = 500

_BINARY_MAGIC = (b"%PDF", b"PK\x03\x04", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b",
                 b"OggS", b"ID3", b"RIFF", b"\x00\x00\x01\x00")


@dataclass(frozen=True, slots=True)
class PageText:
    """What a worker makes of one page: the stored text and what dedup and flagging need."""

    text: str                       # cleaned main text, headline line dropped
    signature: bytes | None         # MinHash signature (dedup.signature), None for short texts
    matches: tuple[Match, ...]      # topic matches over the title and this text
    profile: Profile | None = None  # what the story stage compares (stories.profile_of)
    fingerprint: str | None = None  # clean.fingerprint of the text when it is long enough to be
                                    # known by its text alone (MIN_WORDS_FOR_CONTENT_ID words)
    image: str | None = None        # the page's og:image (or twitter:image), absolute http(s) only
    language: str | None = None     # the page's <html lang> (language.page_language)


class _Worker:
    """Per-process state of an extraction worker, built once by the pool's initializer."""

    boilerplate: re.Pattern | None = None
    matcher: TopicMatcher | None = None
    thorough: bool = False


def _init_worker(megabytes: int, boilerplate: tuple[str, ...], topics: tuple[TopicRule, ...],
                 thorough: bool = False) -> None:
    """Cap the address space at what the worker has now plus `megabytes`; compile the rules once."""
    with open("/proc/self/statm") as f:
        current = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = current + megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _Worker.boilerplate = compile_boilerplate(boilerplate)
    _Worker.matcher = TopicMatcher(topics)
    _Worker.thorough = thorough


def extract_main_text(html: bytes, url: str | None, thorough: bool = False,
                      fast_enough: int = FAST_PASS_MIN_CHARS) -> str | None:
    """trafilatura's main text, or None. The one extraction call (the benchmarks' raw loops too).

    The fast pass first; the full pass, which also runs readability and jusText and keeps the
    best, when the fast one finds less than `fast_enough` characters, or always with `thorough`
    (`[extract] thorough`). (`fast_enough` is there for `python -m bench extraction`.)"""
    import trafilatura

    options = dict(url=url, output_format="txt", include_comments=False, include_tables=True,
                   deduplicate=False, with_metadata=False)
    if not thorough:
        text = trafilatura.extract(html, fast=True, **options)
        if text is not None and len(text) >= fast_enough:
            return text
    return trafilatura.extract(html, **options)


def analyse(text: str, title: str, headline_repeated: bool = False) -> PageText:
    """Clean -> sign -> flag -> profile: what every stored text goes through, page or feed alike.
    Runs in a worker (see workers.py), so it never holds up the event loop."""
    text = clean_text(text, _Worker.boilerplate)
    if headline_repeated:
        text = drop_headline(text, title)
    sig = signature(text)
    return PageText(text, None if sig is None else sig.tobytes(), _Worker.matcher.match(title, text),
                    profile_of(title, text),
                    fingerprint(text) if len(text.split()) >= MIN_WORDS_FOR_CONTENT_ID else None)


def extract_page(html: bytes, url: str | None, title: str, fast_enough: int = FAST_PASS_MIN_CHARS) -> PageText | None:
    """Runs in a worker: extract, then analyse there too, so the parent process (network and
    database) stays light and every core does the CPU work."""
    raw = extract_main_text(html, url, _Worker.thorough, fast_enough)
    if raw is None or not raw.strip():
        return None
    return replace(analyse(raw, title, headline_repeated=True), image=page_image(html), language=page_language(html))


_META = re.compile(rb"<meta\b[^>]*>", re.IGNORECASE)
_META_IMAGE = re.compile(rb"""(?:property|name)\s*=\s*["']?(?:og:image(?::url|:secure_url)?|twitter:image)["'\s>/]""",
                         re.IGNORECASE)
_META_CONTENT = re.compile(rb"""content\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


def page_image(html: bytes) -> str | None:
    """The page's og:image (or twitter:image) from its head, when it is an absolute http(s) URL."""
    import html as entities

    head = html[:200_000]
    for tag in _META.finditer(head):
        if _META_IMAGE.search(tag.group(0)):
            found = _META_CONTENT.search(tag.group(0))
            if found:
                raw = next(g for g in found.groups() if g is not None)
                url = http_url(entities.unescape(raw.decode("utf-8", errors="replace")))
                if url:
                    return url
    return None


def analyse_feed_text(content_html: str, title: str) -> PageText:
    """The feed's own content as stored text (the fallback when no page text is used)."""
    return analyse(html_to_text(content_html), title)


def analyse_feed_texts(items: list[tuple[str, str]]) -> list[PageText | None]:
    """Many feed texts in one job (one round trip for a feed's items, not one per item); an item
    that fails is None, so the caller analyses it alone (its own boundary)."""
    out: list[PageText | None] = []
    for content_html, title in items:
        try:
            out.append(analyse_feed_text(content_html, title))
        except Exception:
            out.append(None)
    return out


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
