"""Atom feeds out (RFC 4287): a topic's stories, a search's or an alert rule's, one entry per story.

An entry's id is the story's (stable: a tag URI), its `updated` the story's last_seen, so a reader
shows a story again as reports join it; its link is the story's page on this server. Written with
ElementTree, which escapes every string."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from urllib.parse import quote

from ..config import Config
from ..records import StoryRecord

NS = "http://www.w3.org/2005/Atom"


def _feed(title: str, feed_id: str, self_url: str, base: str, stories: list[StoryRecord], now: datetime,
          labels: dict[str, str]) -> bytes:
    ET.register_namespace("", NS)
    feed = ET.Element(f"{{{NS}}}feed")
    ET.SubElement(feed, f"{{{NS}}}title").text = title
    ET.SubElement(feed, f"{{{NS}}}id").text = feed_id
    updated = max((s.last_seen for s in stories), default=now)
    ET.SubElement(feed, f"{{{NS}}}updated").text = updated.isoformat(timespec="seconds")
    ET.SubElement(feed, f"{{{NS}}}link", rel="self", href=self_url)
    ET.SubElement(feed, f"{{{NS}}}generator").text = "newsmon"
    author = ET.SubElement(feed, f"{{{NS}}}author")
    ET.SubElement(author, f"{{{NS}}}name").text = "newsmon"
    for s in stories:
        entry = ET.SubElement(feed, f"{{{NS}}}entry")
        ET.SubElement(entry, f"{{{NS}}}title").text = s.title
        ET.SubElement(entry, f"{{{NS}}}id").text = f"tag:newsmon,2026:story:{s.id}"
        ET.SubElement(entry, f"{{{NS}}}updated").text = s.last_seen.isoformat(timespec="seconds")
        ET.SubElement(entry, f"{{{NS}}}published").text = s.first_seen.isoformat(timespec="seconds")
        ET.SubElement(entry, f"{{{NS}}}link", rel="alternate", type="text/html", href=f"{base}story/{s.id}")
        for t in s.topics:
            ET.SubElement(entry, f"{{{NS}}}category", term=t, label=labels.get(t, t))
        ET.SubElement(entry, f"{{{NS}}}summary").text = (
            f"{s.reports} report{'s' if s.reports != 1 else ''} from {s.outlets} outlet{'s' if s.outlets != 1 else ''}")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8", xml_declaration=False)


def topic_feed(config: Config, topic: str, stories: list[StoryRecord], base: str, now: datetime) -> bytes:
    return _feed(f"newsmon: {config.labels[topic]}", f"tag:newsmon,2026:topic:{topic}",
                 f"{base}feeds/topic/{topic}.atom", base, stories, now, config.labels)


def search_feed(config: Config, query: str, stories: list[StoryRecord], self_url: str, base: str,
                now: datetime) -> bytes:
    return _feed(f"newsmon search: {query}", f"tag:newsmon,2026:search:{quote(query, safe='')}", self_url, base, stories, now,
                 config.labels)


def alert_feed(config: Config, name: str, stories: list[StoryRecord], base: str, now: datetime) -> bytes:
    return _feed(f"newsmon alert: {name}", f"tag:newsmon,2026:alert:{quote(name, safe='')}",
                 f"{base}feeds/alert/{quote(name, safe='')}.atom", base, stories, now, config.labels)
