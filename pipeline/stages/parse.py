"""Feed parsing: bytes and headers in, FeedEntry records out. Nothing in a body can raise past it.

feedparser gets `io.BytesIO(body)` and the response headers, never a URL, path or str: handed a
string it may read a local file or fetch a URL itself. JSON Feed 1.0/1.1 (which feedparser cannot
read) goes to jsonfeed.py, detected by content type or by a body that starts with `{`.

Defences, each at the point where the danger enters:
- blank lines before the XML declaration are dropped (a strict parser rejects the whole feed);
- numeric character references to code points XML forbids (`&#xD800;`, `&#x110000;`, `&#0;`) are
  replaced by U+FFFD in the bytes before feedparser sees them (it raises on some of them);
- a wrong or missing encoding declaration is repaired (fix_encoding), preferring windows-1252, as
  feedparser and browsers do, whenever that reads the bytes as cleanly as any other guess;
- every item is built inside its own boundary: an item that raises anything is skipped and
  counted ("2 items skipped: ValueError"), never the feed; links go through urls.http_url, so an
  invalid link (port 99999, host "a..b") is dropped and counted, and the item kept;
- titles are plain text: an HTML title loses its markup, a plain-text one keeps "<dialog>" as
  written; every string is sanitised (clean.sanitize) and titles are capped in length;
- `max_items` keeps the newest items by date (by document position where the feed has none);
- a feed read despite an XML error is kept with a warning that says where it broke and how many
  items were read; one with no usable item is NotAFeed.
"""

from __future__ import annotations

import calendar
import codecs
import io
import re
import xml.sax
from collections import Counter
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from ..errors import NotAFeed
from ..records import FeedEntry, ParsedFeed, Response
from .clean import html_to_text, one_line, sanitize
from .jsonfeed import looks_like_json, parse_json_feed
from .language import entry_language
from .urls import http_url

# A published date further ahead than this is a publisher's clock or typo: we drop it.
_FUTURE_SLACK = timedelta(days=1)
MAX_TITLE_CHARS = 500
# a windows-1252 reading this close to the best guess's "chaos" is taken: ties are common, and
# charset-normalizer then picks cp1250/cp1257 for French or Portuguese ("trčs", "simulaēões")
_CP1252_SLACK = 0.02


def plain(text: str | None, is_html: bool = True) -> str:
    """A title as plain text on one line: markup removed from an HTML title only."""
    if not text:
        return ""
    text = one_line(html_to_text(text) if is_html else text)
    return text if len(text) <= MAX_TITLE_CHARS else text[:MAX_TITLE_CHARS - 1].rstrip() + "…"


def safe_link(link: str | None, base: str) -> str | None:
    return http_url(link, base)


_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")


def _xml_char(code: int) -> bool:
    return (code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF)


def defuse_char_refs(body: bytes) -> bytes:
    """Character references to code points XML forbids become U+FFFD (feedparser raises on some)."""
    def repl(m: re.Match) -> bytes:
        digits = m.group(1) or m.group(2)
        if len(digits) <= 8 and _xml_char(int(digits, 16 if m.group(1) else 10)):
            return m.group(0)
        return b"&#xFFFD;"
    return _CHAR_REF.sub(repl, body) if b"&#" in body else body


_XML_ENCODING = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([A-Za-z0-9._:-]+)(["'])""")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)


def guess_encoding(body: bytes) -> str | None:
    """The encoding of undeclared or wrongly declared bytes: windows-1252 when it reads them as
    cleanly as the best candidate (the web's default for legacy bytes), else the best candidate."""
    import charset_normalizer  # here: only bytes that declare no usable encoding need it

    results = charset_normalizer.from_bytes(body)
    best = results.best()
    if best is None:
        return None
    cp1252 = next((r for r in results if r.encoding == "cp1252"), None)
    if cp1252 is not None and cp1252.chaos <= best.chaos + _CP1252_SLACK:
        return "cp1252"
    return best.encoding


def fix_encoding(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str], str | None]:
    """Bytes whose declared encoding is wrong or missing, re-encoded as declared UTF-8.

    feedparser, given a wrong declaration, falls back to a guess and only warns; the titles then
    come out as mojibake. So: if the bytes do not decode as declared (header charset, else the
    XML declaration, else UTF-8), or are valid UTF-8 declared as a single-byte legacy charset,
    find the real encoding (guess_encoding) and hand feedparser clean UTF-8.
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
        actual = guess_encoding(body)
        if actual is None:
            return body, headers, None
    else:
        single_byte = len(decoded) == len(body)
        if codec == "utf-8" or body.isascii() or not single_byte or not _is_utf8(body):
            return body, headers, None
        actual = "utf-8"                    # valid UTF-8 declared as a single-byte legacy charset
    text = body.decode(actual, errors="replace")
    fixed = text.encode("utf-8")
    fixed = _XML_ENCODING.sub(rb"\1utf-8\3", fixed, count=1)
    mime = ctype.split(";")[0].strip() or "application/xml"
    note = (f"declared encoding {declared} is wrong; read as {actual}" if (m or x)
            else f"no encoding declared and not UTF-8; read as {actual}")
    return fixed, {**headers, "content-type": f"{mime}; charset=utf-8"}, note


def _trim_prolog(body: bytes) -> bytes:
    """Blank lines before the XML declaration (a template's stray newline) make the whole feed
    ill-formed to a strict parser; they carry nothing, so they go."""
    stripped = body.lstrip(b" \t\r\n")
    return stripped if stripped[:5] == b"<?xml" and stripped is not body else body


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _plausible(when: datetime | None, now: datetime) -> datetime | None:
    return when if when is not None and when.year >= 1990 and when <= now + _FUTURE_SLACK else None


def _when(entry, now: datetime) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = dict.get(entry, key)  # plain lookup: no deprecated key aliasing
        if parsed:
            try:
                when = datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc)
            except (OverflowError, ValueError, OSError, TypeError):
                continue
            if _plausible(when, now):
                return when
    return None


@lru_cache(maxsize=1)
def _feedparser():
    """feedparser, imported here rather than at the top (the parent process never parses: the
    workers do), with its two URL joins memoised. Given a base, it joins the base with itself at
    every element start to track xml:base (mixin.unknown_starttag), a fifth of its time on a plain
    feed (2.2 -> 1.7 ms for 5 items). Both are pure functions of their strings (the accepted URI
    schemes are a module constant), so the cache changes no result: the 2,207 corpus feeds parse
    to the same entries, field by field, with and without it."""
    import feedparser
    import feedparser.mixin

    for name in ("make_safe_absolute_uri", "_urljoin"):
        function = getattr(feedparser.mixin, name)
        if not hasattr(function, "cache_info"):
            setattr(feedparser.mixin, name, lru_cache(maxsize=4096)(function))
    return feedparser


def _link(entry, base: str) -> str | None:
    """The entry's link; when feedparser's pick is no http(s) URL (it falls back to a `tag:` id
    when the alternate link is, say, a PDF), the first alternate link that is one."""
    link = entry.get("link")
    if http_url(link, base) or not entry.get("links"):
        return link
    for candidate in entry.get("links") or ():
        if isinstance(candidate, dict) and candidate.get("rel", "alternate") == "alternate" \
                and http_url(candidate.get("href"), base):
            return candidate["href"]
    return link


def _image(entry) -> str | None:
    """The item's lead image as the feed gives it: media:thumbnail, then media:content that is an
    image, then an image enclosure (the URL rule, applied by _Items.add, keeps absolute http(s) only)."""
    for thumb in entry.get("media_thumbnail") or ():
        if isinstance(thumb, dict) and thumb.get("url"):
            return thumb["url"]
    for media in entry.get("media_content") or ():
        if isinstance(media, dict) and media.get("url") and (
                media.get("medium") == "image" or str(media.get("type", "")).startswith("image/")):
            return media["url"]
    for link in entry.get("links") or ():
        if isinstance(link, dict) and link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/"):
            return link.get("href")
    return None


def _content(entry) -> str:
    for part in entry.get("content") or ():
        if part.get("value"):
            return part["value"]
    return entry.get("summary") or entry.get("description") or ""


def skip_notes(skipped: Counter) -> list[str]:
    """"2 items skipped: ValueError", one per reason: how a feed's warning counts skipped items."""
    return [f"{n} item{'s' if n > 1 else ''} skipped: {why}" for why, n in skipped.items()]


class _Items:
    """Builds FeedEntry records one at a time, each inside its own fault boundary."""

    def __init__(self, feed_name: str, base: str):
        self.feed_name, self.base = feed_name, base
        self.entries: list[FeedEntry] = []
        self.skipped: Counter[str] = Counter()      # why -> how many items were skipped
        self.links_refused = 0

    def add(self, guid, link, title: str, title_is_html: bool, published, content_html,
            authors: tuple[str, ...] = (), image: str | None = None, language: str | None = None) -> None:
        try:
            url = http_url(link, self.base) if isinstance(link, str) else None
            if url is None and isinstance(link, str) and link.strip().lower().startswith(("http:", "https:")):
                self.links_refused += 1      # an http(s) link that is broken (a mailto: is just no page)
            guid = one_line(str(guid))[:1000] or None if guid not in (None, "") else None
            content = sanitize(content_html) if isinstance(content_html, str) else ""
            if not (url or guid or html_to_text(content).strip()):
                return  # nothing to identify or read: a fragment of a broken feed
            self.entries.append(FeedEntry(
                feed=self.feed_name, guid=guid, link=url,
                title=plain(title if isinstance(title, str) else "", title_is_html) or "(untitled)",
                published=published, content_html=content,
                authors=tuple(one_line(a) for a in authors if a),
                image=http_url(image) if isinstance(image, str) else None, language=language))
        except Exception as e:  # one odd item never costs the feed
            self.skipped[type(e).__name__] += 1

    def notes(self) -> list[str]:
        notes = skip_notes(self.skipped)
        if self.links_refused:
            n = self.links_refused
            notes.append(f"{n} item link{'s' if n > 1 else ''} refused (not a valid http(s) URL)")
        return notes


def newest_first(entries: list[FeedEntry]) -> list[FeedEntry]:
    """Newest first by date, whatever the document order. An undated item keeps its place: it
    takes the date of the nearest dated item before it (after it, at the top of the document),
    so an item whose impossible date was dropped is not pushed behind a thousand older ones."""
    dates = [e.published for e in entries]
    if not any(dates):
        return entries                    # no dates at all: the feed's own order
    known = next(d for d in dates if d)
    effective = []
    for d in dates:
        known = d or known
        effective.append(known.timestamp())
    order = sorted(range(len(entries)), key=lambda i: -effective[i])   # stable: ties keep order
    return [entries[i] for i in order]


def _finish(response: Response, title: str, items: _Items, warnings: list[str], max_items: int,
            total: int) -> ParsedFeed:
    entries = newest_first(items.entries)[:max_items]
    notes = warnings + items.notes()
    if not entries and total and (warnings or items.skipped):
        raise NotAFeed(response.url, f"broken feed, no usable entry ({'; '.join(notes)})")
    return ParsedFeed(title=plain(title), entries=tuple(entries), warning="; ".join(notes) or None)


def _parse_json(feed_name: str, response: Response, max_items: int, now: datetime) -> ParsedFeed | None:
    feed = parse_json_feed(response.body)
    if feed is None:
        return None
    items = _Items(feed_name, response.url)
    for it in feed.items:
        items.add(it.id, it.url, it.title or _title_from(it.content_html), False,
                  _plausible(it.published, now), it.content_html, it.authors)
    warnings = []
    if feed.broken_at is not None:
        warnings.append(f"ill-formed JSON at character {feed.broken_at}: {len(feed.items)} item(s) read; "
                        "items after it may be missing")
    if feed.skipped:
        items.skipped["not a JSON object"] += feed.skipped
    return _finish(response, feed.title, items, warnings, max_items, len(feed.items) + feed.skipped)


def _title_from(content_html: str) -> str:
    """JSON Feed titles are optional (microblog posts): the first words of the text stand in."""
    words = html_to_text(content_html).split()
    return " ".join(words[:12]) + (" …" if len(words) > 12 else "")


def _xml_problem(exc: Exception | None) -> str | None:
    """Where and why the XML broke; None for feedparser's harmless notes (a text/html content
    type, an encoding override it recovered from)."""
    if not isinstance(exc, xml.sax.SAXException):
        return None
    line = exc.getLineNumber() if isinstance(exc, xml.sax.SAXParseException) else None
    where = f" at line {line}" if line else ""
    reason = one_line(str(exc.getMessage() if hasattr(exc, "getMessage") else exc))[:200]
    return f"ill-formed XML{where} ({reason})"


def parse_feed(feed_name: str, response: Response, *, max_items: int,
               now: datetime | None = None) -> ParsedFeed:
    """The feed in `response`; raises NotAFeed, and nothing else, for a body that is no usable feed."""
    if not response.body.strip():
        raise NotAFeed(response.url, "empty response body")
    now = now or datetime.now(timezone.utc)
    headers = dict(response.headers)
    if looks_like_json(response.body, headers.get("content-type", "")):
        parsed_json = _parse_json(feed_name, response, max_items, now)
        if parsed_json is not None:
            return parsed_json
        if response.body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
            raise NotAFeed(response.url, "JSON, but not a JSON Feed (no jsonfeed.org version and items)")
    # the base feedparser resolves links against: kept, because it resolves ids against it too
    # (RSS guids but those with isPermaLink="false", Atom ids), and a stored id is an identity
    headers.setdefault("content-location", response.url)
    feedparser = _feedparser()
    body, headers, encoding_note = fix_encoding(defuse_char_refs(_trim_prolog(response.body)), headers)
    try:
        # feedparser's own HTML sanitiser and relative-URI rewriting work on markup newsmon never
        # shows: every content and title becomes plain text (clean.html_to_text drops scripts,
        # styles and frames) and every link is resolved and checked by urls.http_url. Off, a feed
        # parses in about half the time (2,213 corpus feeds: 8.1 s -> 4.5 s).
        parsed = feedparser.parse(io.BytesIO(body), response_headers=headers,
                                  resolve_relative_uris=False, sanitize_html=False)
    except Exception as e:  # feedparser itself raised on something in the body
        raise NotAFeed(response.url, f"unreadable feed ({type(e).__name__}: {one_line(str(e))[:200]})") from None
    if not parsed.entries and not parsed.get("version"):
        if _is_web_page(response.body, headers.get("content-type", "")):
            links = discover_feed_links(response.body, response.url)
            raise NotAFeed(response.url, f"not a feed: this is a web page; its feed is at {links[0]} "
                                         "(use that as the feed's url)" if links else
                                         "not a feed: this is a web page, and it links no feed "
                                         "(use the site's RSS or Atom address)")
        exc = parsed.get("bozo_exception")
        reason = f"{type(exc).__name__}: {one_line(str(exc))[:200]}" if exc else "no RSS/Atom/JSON feed found"
        raise NotAFeed(response.url, f"not a feed ({reason})")
    items = _Items(feed_name, response.url)
    for e in parsed.entries:
        try:
            title_type = (e.get("title_detail") or {}).get("type", "text/html")
            items.add(e.get("id"), _link(e, response.url), e.get("title"), title_type != "text/plain",
                      _when(e, now), _content(e),
                      tuple(a.get("name", "") for a in e.get("authors") or () if isinstance(a, dict)),
                      _image(e), entry_language(e, parsed.feed))
        except Exception as exc:
            items.skipped[type(exc).__name__] += 1
    problem = _xml_problem(parsed.get("bozo_exception"))
    if problem and not items.entries and parsed.entries:
        raise NotAFeed(response.url, f"broken feed, no usable entry ({problem})")
    broken = problem and f"{problem}: {len(items.entries)} item(s) read; items after it may be missing"
    warnings = [w for w in (encoding_note, broken) if w]
    return _finish(response, parsed.feed.get("title") or "", items, warnings, max_items,
                   len(parsed.entries))


_HTML_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head)\b", re.I | re.S)


def _is_web_page(body: bytes, content_type: str) -> bool:
    """An HTML page, said by its content type or by how it starts."""
    return content_type.lower().split(";")[0].strip() in ("text/html", "application/xhtml+xml") \
        or bool(_HTML_START.match(body[:4096]))


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
