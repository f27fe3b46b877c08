"""Feed parsing: bytes and headers in, FeedEntry records out.

feedparser gets `io.BytesIO(body)` and the response headers, never a URL, path or str: handed a
string it may read a local file or fetch a URL itself. It sanitises content but not titles or links,
so titles become plain text here and only http(s) links survive. A feed with `bozo` set but usable
entries is kept, with the bozo message as a warning; one with no usable entries is NotAFeed.
"""

from __future__ import annotations

import calendar
import codecs
import io
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urljoin, urlsplit

import charset_normalizer
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


_XML_ENCODING = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([A-Za-z0-9._:-]+)(["'])""")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)


def fix_encoding(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str], str | None]:
    """Bytes whose declared encoding is wrong or missing, re-encoded as declared UTF-8.

    feedparser, given a wrong declaration, falls back to a guess and only warns; the titles then
    come out as mojibake. So: if the bytes do not decode as declared (header charset, else the
    XML declaration, else UTF-8), or are valid UTF-8 declared as a single-byte legacy charset,
    detect the real encoding (charset-normalizer) and hand feedparser clean UTF-8.
    Returns (body, headers, a note for the feed's warning or None).
    """
    ctype = headers.get("content-type", "")
    m = _CHARSET.search(ctype)
    x = _XML_ENCODING.match(body)
    declared = (m.group(1) if m else (x.group(2).decode("ascii") if x else "utf-8")).lower()
    try:
        codec = codecs.lookup(declared).name
        decoded = body.decode(codec)
    except (LookupError, UnicodeDecodeError):
        best = charset_normalizer.from_bytes(body).best()
        if best is None:
            return body, headers, None
        actual = best.encoding
    else:
        single_byte = len(decoded) == len(body)
        if codec == "utf-8" or body.isascii() or not single_byte or not _is_utf8(body):
            return body, headers, None
        actual = "utf-8"                    # valid UTF-8 declared as a single-byte legacy charset
    text = body.decode(actual, errors="replace")
    fixed = text.encode("utf-8")
    fixed = _XML_ENCODING.sub(rb"\1utf-8\3", fixed, count=1)
    mime = ctype.split(";")[0].strip() or "application/xml"
    return fixed, {**headers, "content-type": f"{mime}; charset=utf-8"}, \
        f"declared encoding {declared} is wrong; read as {actual}"


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


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
    body, headers, encoding_note = fix_encoding(response.body, headers)
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers,
                              resolve_relative_uris=True, sanitize_html=True)
    warning = encoding_note
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


_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/rdf+xml")


def discover_feed_links(body: bytes, base: str) -> list[str]:
    """Feed URLs an HTML page announces with <link rel="alternate" type="application/rss+xml">."""
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.fromstring(body[:2_000_000])
    except (etree.ParserError, ValueError):
        return []
    links = []
    for link in root.xpath("//link[@href]"):
        rel = (link.get("rel") or "").lower().split()
        if "alternate" in rel and (link.get("type") or "").lower().split(";")[0].strip() in _FEED_TYPES:
            url = safe_link(link.get("href"), base)
            if url and url not in links:
                links.append(url)
    return links
