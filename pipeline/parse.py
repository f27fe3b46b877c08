"""Feed parsing: bytes and headers in, FeedEntry records out.

feedparser gets `io.BytesIO(body)` and the response headers, never a URL, path or str: handed a
string it may read a local file or fetch a URL itself. It sanitises content but not titles or links,
so titles become plain text here and only http(s) links survive. A feed with `bozo` set but usable
entries is kept, with the bozo message as a warning; one with no usable entries is NotAFeed.
"""

from __future__ import annotations

import calendar
import io
from datetime import datetime, timedelta, timezone
from urllib.parse import urljoin, urlsplit

import feedparser

from .clean import html_to_text, strip_controls
from .errors import NotAFeed
from .records import FeedEntry, ParsedFeed, Response

# A published date further ahead than this is a publisher's clock or typo: we drop it.
_FUTURE_SLACK = timedelta(days=1)


def plain(text: str | None) -> str:
    """Feed titles may carry markup and entities; readers get plain text on one line."""
    if not text:
        return ""
    return " ".join(strip_controls(html_to_text(text)).split())


def safe_link(link: str | None, base: str) -> str | None:
    if not link:
        return None
    url = urljoin(base, strip_controls(link).strip())
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def _when(entry, now: datetime) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = dict.get(entry, key)  # plain lookup: no deprecated key aliasing
        if parsed:
            try:
                when = datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc)
            except (OverflowError, ValueError, OSError):
                continue
            if when.year >= 1990 and when <= now + _FUTURE_SLACK:
                return when
    return None


def _content(entry) -> str:
    for part in entry.get("content") or ():
        if part.get("value"):
            return part["value"]
    return entry.get("summary") or entry.get("description") or ""


def parse_feed(feed_name: str, response: Response, *, max_items: int,
               now: datetime | None = None) -> ParsedFeed:
    if not response.body.strip():
        raise NotAFeed(response.url, "empty response body")
    now = now or datetime.now(timezone.utc)
    headers = dict(response.headers)
    headers.setdefault("content-location", response.url)
    parsed = feedparser.parse(io.BytesIO(response.body), response_headers=headers,
                              resolve_relative_uris=True, sanitize_html=True)
    warning = None
    if parsed.get("bozo"):
        warning = f"{type(parsed.bozo_exception).__name__}: {parsed.bozo_exception}"
    if not parsed.entries:
        if not parsed.get("version"):
            raise NotAFeed(response.url, f"not a feed ({warning or 'no RSS/Atom/JSON feed found'})")
        return ParsedFeed(title=plain(parsed.feed.get("title")), entries=(), warning=warning)
    base = response.url
    entries = []
    for e in parsed.entries[:max_items]:
        link = safe_link(e.get("link"), base)
        guid = strip_controls(str(e.get("id") or "")).strip() or None
        content = _content(e)
        if not (link or guid or html_to_text(content).strip()):
            continue  # nothing to identify or read: a fragment of a broken feed
        entries.append(FeedEntry(
            feed=feed_name,
            guid=guid,
            link=link,
            title=plain(e.get("title")) or "(untitled)",
            published=_when(e, now),
            content_html=content,
        ))
    if not entries and warning:
        raise NotAFeed(response.url, f"broken feed, no usable entry ({warning})")
    return ParsedFeed(title=plain(parsed.feed.get("title")), entries=tuple(entries), warning=warning)
