"""OPML 2.0 import and export of the feed list.

Readers write OPML differently: Feedly and Inoreader nest feeds in category outlines, others put
a `category` attribute ("/News/Ukraine,Europe") on the feed itself, some use `text` and some
`title`. Both become tags. Parsing never resolves entities nor touches the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime

from lxml import etree

from .config import FeedConfig
from .errors import OPMLError


@dataclass(frozen=True, slots=True)
class OutlineFeed:
    title: str
    url: str
    tags: tuple[str, ...]


def parse_opml(data: bytes) -> list[OutlineFeed]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise OPMLError(f"not valid XML: {e}") from None
    if root.tag != "opml":
        raise OPMLError(f"not OPML (the root element is <{root.tag}>)")
    body = root.find("body")
    if body is None:
        raise OPMLError("OPML without a <body>")
    found: list[OutlineFeed] = []

    def walk(element, categories: tuple[str, ...]) -> None:
        for outline in element.findall("outline"):
            url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
            label = (outline.get("title") or outline.get("text") or "").strip()
            if url:
                own = tuple(part.strip() for cat in (outline.get("category") or "").split(",")
                            for part in cat.strip("/").split("/") if part.strip())
                found.append(OutlineFeed(label or url, url, tuple(dict.fromkeys(categories + own))))
            else:
                walk(outline, categories + ((label,) if label else ()))

    walk(body, ())
    return found


def to_opml(feeds: tuple[FeedConfig, ...], titles: dict[str, str], now: datetime | None = None) -> bytes:
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = "newsmon feeds"
    etree.SubElement(head, "dateCreated").text = format_datetime(now or datetime.now(timezone.utc), usegmt=True)
    body = etree.SubElement(root, "body")
    groups: dict[str, etree._Element] = {}
    for feed in feeds:
        parent = body
        if feed.tags:
            if feed.tags[0] not in groups:
                groups[feed.tags[0]] = etree.SubElement(body, "outline", text=feed.tags[0], title=feed.tags[0])
            parent = groups[feed.tags[0]]
        attrs = {"type": "rss", "text": titles.get(feed.name) or feed.name, "title": feed.name,
                 "xmlUrl": feed.url}
        if len(feed.tags) > 1:
            attrs["category"] = ",".join(feed.tags[1:])
        etree.SubElement(parent, "outline", **attrs)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
