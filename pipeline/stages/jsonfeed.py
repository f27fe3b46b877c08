"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1), read into the same items as RSS/Atom.

feedparser (6.0.14, the newest release) has no JSON reader, so this small one follows the spec:
- a feed is an object whose `version` starts with "https://jsonfeed.org/version/" (or http://, as
  some publishers write it) and whose `items` is a list; anything else is not a JSON Feed;
- a body cut short (a truncated download, a capped response) keeps the items that arrived whole:
  they are decoded one by one and the feed says where it broke (`broken_at`), as an ill-formed XML
  feed read in part does;
- control characters inside strings are tolerated (strict=False), as real feeds carry them;
- per item: `id` (any scalar, as a string), `url`, else `external_url`; `title` (plain text);
  `content_html`, else `content_text` (escaped), else `summary`; `date_published`, else
  `date_modified` (RFC 3339); `authors` (1.1) or `author` (1.0), by name.
Items that are not objects are skipped and counted, never fatal; types the spec does not allow
(a number for a title, a list for a URL) are treated as absent.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone

VERSION_PREFIXES = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")  # http: seen in real feeds
_ITEMS_START = re.compile(r'"items"\s*:\s*\[')
_VERSION = re.compile(r'"version"\s*:\s*"([^"]{1,100})"')
# item keys only JSON Feed uses: a cut-off body without its version is still recognised by them
_JSON_FEED_KEYS = ("content_html", "content_text", "date_published", "external_url")
_TITLE = re.compile(r'"title"\s*:\s*"((?:[^"\\]|\\.){0,500})"')


@dataclass(frozen=True, slots=True)
class JSONItem:
    """One JSON Feed item, fields as the spec names them, types checked."""

    id: str | None
    url: str | None
    title: str | None                     # plain text
    content_html: str                     # content_html, or content_text / summary escaped
    published: datetime | None
    authors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class JSONFeed:
    version: str
    title: str
    items: tuple[JSONItem, ...]
    skipped: int                          # entries of `items` that were not objects
    broken_at: int | None = None          # character offset where an ill-formed body stopped parsing


def looks_like_json(body: bytes, content_type: str) -> bool:
    """By content type, or by content: the first character of the body is `{`."""
    if "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _str(value) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _scalar(value) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return str(value)
    return _str(value)


def parse_date(value) -> datetime | None:
    """An RFC 3339 date as aware UTC, or None (no date, or not one)."""
    text = _str(value)
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:
        return when.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None


def _authors(item: dict) -> tuple[str, ...]:
    people = item.get("authors")
    if not isinstance(people, list):
        people = [item.get("author")]
    return tuple(p["name"].strip() for p in people if isinstance(p, dict) and _str(p.get("name")))


def _item(item: dict) -> JSONItem:
    content = _str(item.get("content_html"))
    if content is None:
        text = _str(item.get("content_text")) or _str(item.get("summary")) or ""
        content = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip())
    return JSONItem(
        id=_scalar(item.get("id")),
        url=_str(item.get("url")) or _str(item.get("external_url")),
        title=_str(item.get("title")),
        content_html=content,
        published=parse_date(item.get("date_published")) or parse_date(item.get("date_modified")),
        authors=_authors(item),
    )


def _versioned(version) -> bool:
    return isinstance(version, str) and version.startswith(VERSION_PREFIXES)


def parse_json_feed(body: bytes) -> JSONFeed | None:
    """The JSON Feed in `body`, or None when the body is not one (not JSON, or no version/items)."""
    text = body.decode("utf-8-sig", errors="replace")
    try:
        data = json.loads(text, strict=False)
    except RecursionError:
        return None
    except ValueError as e:
        return _partial(text, e)
    if not isinstance(data, dict):
        return None
    version, items = data.get("version"), data.get("items")
    if not (_versioned(version) and isinstance(items, list)):
        return None
    parsed = tuple(_item(i) for i in items if isinstance(i, dict))
    return JSONFeed(version=version, title=_str(data.get("title")) or "", items=parsed,
                    skipped=len(items) - len(parsed))


def _partial(text: str, error: ValueError) -> JSONFeed | None:
    """The whole items of a JSON Feed whose body breaks off or goes wrong part-way."""
    version, start = _VERSION.search(text), _ITEMS_START.search(text)
    if not start or (version and not _versioned(version.group(1))):
        return None
    decoder = json.JSONDecoder(strict=False)
    raws, pos, skipped = [], start.end(), 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        try:
            value, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            break
        if isinstance(value, dict):
            raws.append(value)
        else:
            skipped += 1
    if version is None and not any(key in raw for raw in raws for key in _JSON_FEED_KEYS):
        return None                       # no version (cut off?) and no item looks like JSON Feed's
    title = _TITLE.search(text[:start.start()])
    try:
        title_text = json.loads(f'"{title.group(1)}"', strict=False) if title else ""
    except ValueError:
        title_text = ""
    return JSONFeed(version=version.group(1) if version else VERSION_PREFIXES[0] + "1",
                    title=title_text, items=tuple(_item(r) for r in raws), skipped=skipped,
                    broken_at=getattr(error, "pos", pos))
