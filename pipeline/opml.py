"""OPML 2.0 import and export of the feed list.

Readers write OPML differently: Feedly and Inoreader nest feeds in category outlines, others put
a `category` attribute ("/News/Ukraine,Europe") on the feed itself, some use `text` and some
`title`. Every category becomes a tag, and a feed listed twice (under two categories) is one feed
with both. Parsing never resolves entities nor touches the network.

Real exports are often ill-formed — a bare `&` in `text="Business & Economy"`, unescaped quotes
in `title="Газета "Коммерсантъ""`, HTML in a description — and one such outline must not cost
the whole list. So: a strict parse; else the same bytes with bare `&` escaped; else lxml's
recovering parser (entities and the network still off). Then every line of the file that holds
an `xmlUrl` is accounted for: an outline the parser could not read whole is read from its line by
its attributes, and what still cannot be read is reported with its line number. (Lines are
matched by their URL, so an outline spread over several lines counts once.)
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime

from lxml import etree

from .config import FeedConfig
from .errors import OPMLError

_BARE_AMP = re.compile(rb"&(?!#\d+;|#x[0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")
_XMLURL_LINE = re.compile(r"xmlurl\s*=", re.IGNORECASE)
_SEPARATORS = re.compile(r"[,/]")          # what a `category` attribute splits on
NEWSMON_NS = "urn:newsmon:opml"            # newsmon's own attributes, which other readers ignore
_TAGS = f"{{{NEWSMON_NS}}}tags"             # a feed's tags exactly, in order (a JSON list)
_ATTRS = ("text", "title", "xmlUrl", "xmlurl", "htmlUrl", "htmlurl", "type", "description", "category",
          "language", "version", "newsmon:tags")


@dataclass(frozen=True, slots=True)
class OutlineFeed:
    title: str
    url: str
    tags: tuple[str, ...]
    line: int | None = None              # where it stands in the file


@dataclass(frozen=True, slots=True)
class OPMLReading:
    feeds: tuple[OutlineFeed, ...]
    problems: tuple[str, ...]            # "line 20: …", for the operator to fix by hand


def _parse(data: bytes):
    """(root, how): strict, then with bare & escaped, then recovering."""
    safe = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        return etree.fromstring(data, etree.XMLParser(**safe)), None
    except etree.XMLSyntaxError as e:
        first = e
    repaired = _BARE_AMP.sub(b"&amp;", data)
    try:
        return etree.fromstring(repaired, etree.XMLParser(**safe)), None
    except etree.XMLSyntaxError as e:
        first = e                         # what is still wrong once bare & are escaped
    root = etree.fromstring(repaired, etree.XMLParser(recover=True, **safe))
    if root is None:
        raise OPMLError(f"not valid XML, and nothing could be recovered: {first}")
    return root, str(first)


def _attribute(line: str, name: str) -> str | None:
    """An attribute's value from a raw line, tolerating quotes inside it: the value runs to the
    last quote before the next known attribute, the end of the tag or the end of the line."""
    names = "|".join(a for a in _ATTRS if a.lower() != name.lower())
    m = re.search(rf'\b{name}\s*=\s*"(.*?)"(?=\s+(?:{names})\s*=|\s*/?>|\s*$)', line, re.IGNORECASE | re.DOTALL)
    if m is None:
        m = re.search(rf"\b{name}\s*=\s*'([^']*)'", line, re.IGNORECASE)
    return m.group(1).strip() if m else None


def _exact_tags(outline) -> tuple[str, ...] | None:
    """newsmon's own record of a feed's tags, when the file is a newsmon export that holds one."""
    try:
        tags = json.loads(outline.get(_TAGS) or "null")
    except ValueError:
        return None
    if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
        return tuple(t.strip() for t in tags if t.strip())
    return None


def _categories(outline) -> tuple[str, ...]:
    own = tuple(part.strip() for cat in (outline.get("category") or "").split(",")
                for part in cat.strip("/").split("/") if part.strip())
    return own


def parse_opml(data: bytes) -> OPMLReading:
    root, broken = _parse(data)
    if root.tag != "opml":
        raise OPMLError(f"not OPML (the root element is <{root.tag}>)")
    body = root.find("body")
    if body is None:
        raise OPMLError("OPML without a <body>")
    found: list[OutlineFeed] = []
    path_at: dict[int, tuple[str, ...]] = {}          # line -> the category path open there

    def walk(element, categories: tuple[str, ...]) -> None:
        for outline in element.findall("outline"):
            url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
            label = " ".join((outline.get("title") or outline.get("text") or "").split())
            if outline.sourceline:
                path_at[outline.sourceline] = categories
            if url:
                tags = _exact_tags(outline)
                if tags is None:
                    tags = tuple(dict.fromkeys(categories + _categories(outline)))
                found.append(OutlineFeed(label or url, url, tags, outline.sourceline))
            else:
                walk(outline, categories + ((label,) if label else ()))

    walk(body, ())
    problems = [f"the file is not well-formed XML ({broken}); it was read in recovery mode"] if broken else []
    read_urls = {f.url for f in found}
    lines = data.decode("utf-8", errors="replace").splitlines()
    for number, line in enumerate(lines, 1):
        if not _XMLURL_LINE.search(line):
            continue
        url = _attribute(line, "xmlUrl")
        if url and html.unescape(url) in read_urls:
            continue                                   # the parser read it
        if not url:
            problems.append(f"line {number}: an outline with an xmlUrl could not be read; add it by hand")
            continue
        url = html.unescape(url)
        read_urls.add(url)
        title = html.unescape(_attribute(line, "title") or _attribute(line, "text") or url)
        before = [n for n in path_at if n < number]
        categories = path_at[max(before)] if before else ()
        found.append(OutlineFeed(" ".join(title.split()), url, categories, number))
        problems.append(f"line {number}: ill-formed outline, read from its attributes: {url}")
    return OPMLReading(tuple(found), tuple(problems))


def to_opml(feeds: tuple[FeedConfig, ...], titles: dict[str, str], now: datetime | None = None) -> bytes:
    """OPML 2.0: each feed's original title (as imported, else the feed's own), its first tag as
    its folder and the others as categories. A `category` attribute is a comma-separated list of
    slash-separated paths, with no escape, so a tag holding a comma or a slash ("Politics,
    Europe") cannot be one: such a tag is a folder the feed is listed in as well (Feedly's way,
    which other readers read whole). Every listing also carries the tags exactly, in order, in
    `newsmon:tags`, which newsmon's own import prefers (folder order cannot say which tag came
    first)."""
    root = etree.Element("opml", version="2.0", nsmap={"newsmon": NEWSMON_NS})
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = "newsmon feeds"
    etree.SubElement(head, "dateCreated").text = format_datetime(now or datetime.now(timezone.utc), usegmt=True)
    body = etree.SubElement(root, "body")
    groups: dict[str, etree._Element] = {}

    def folder(tag: str) -> etree._Element:
        if tag not in groups:
            groups[tag] = etree.SubElement(body, "outline", text=tag, title=tag)
        return groups[tag]

    for feed in feeds:
        title = feed.title or titles.get(feed.name) or feed.name
        attrs = {"type": "rss", "text": title, "title": title, "xmlUrl": feed.url}
        exact = {_TAGS: json.dumps(list(feed.tags), ensure_ascii=False)} if feed.tags else {}
        others = feed.tags[1:]
        categories = [t for t in others if not _SEPARATORS.search(t)]
        if categories:
            attrs["category"] = ",".join(categories)
        etree.SubElement(folder(feed.tags[0]) if feed.tags else body, "outline", attrs | exact)
        for tag in others:
            if _SEPARATORS.search(tag):
                etree.SubElement(folder(tag), "outline", {"type": "rss", "text": title, "title": title,
                                                          "xmlUrl": feed.url} | exact)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
