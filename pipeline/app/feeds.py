"""The operators' feed tasks: probe a URL, add, remove, enable/disable, import and export OPML.

Edits go through configedit (comments and order kept, the result validated, written atomically).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from ..config import Config, load_config
from ..configedit import append_feed, edit, find_feed, new_feed, slug
from ..configedit import remove_feed as drop_feed
from ..errors import ConfigError, FetchError, NotAFeed, UsageError
from ..opml import parse_opml, to_opml
from ..records import ParsedFeed
from ..stages.fetch import Fetcher
from ..stages.parse import discover_feed_links, parse_feed
from ..stages.urls import canonical_url, http_url
from .archive import feed_titles
from .pipeline import FEED_ACCEPT


@dataclass(frozen=True, slots=True)
class Probe:
    """A URL fetched and parsed once."""

    feed: ParsedFeed
    url: str                         # where the feed was found (after redirects)
    page: str | None = None          # the web page that linked to it, when the URL was a page


async def probe_feed(config: Config, url: str) -> Probe:
    """Fetch and parse once; a web page that links to its feed leads to that feed.
    Raises FetchError (NotAFeed included)."""
    async with Fetcher(config.fetch) as fetcher:
        response = await fetcher.get(url, accept=FEED_ACCEPT)
        try:
            return Probe(parse_feed("probe", response, max_items=10_000), response.url)
        except NotAFeed:
            links = discover_feed_links(response.body, response.url)
            if not links:
                raise
            response = await fetcher.get(links[0], accept=FEED_ACCEPT)
            return Probe(parse_feed("probe", response, max_items=10_000), response.url, page=url)


async def probe_all(config: Config) -> list[tuple[str, str, Probe | FetchError]]:
    """Every enabled feed probed at once: (name, url, Probe or the error)."""
    async def one(name: str, url: str):
        try:
            return name, url, await probe_feed(config, url)
        except FetchError as e:
            return name, url, e
    return list(await asyncio.gather(*(one(f.name, f.url) for f in config.feeds if f.enabled)))


def add_feed(config_path: Path, url: str, name: str | None, tags: tuple[str, ...],
             interval: float | None) -> tuple[str, Probe]:
    """Add a feed after fetching it once; (its name, the probe). Raises UsageError or FetchError."""
    config = load_config(config_path)
    probe = asyncio.run(probe_feed(config, url))
    for f in config.feeds:
        if canonical_url(f.url) in (canonical_url(url), canonical_url(probe.url)):
            raise UsageError(f"not added: the feed {f.name!r} already has this URL ({f.url})")
        if name and f.name == name:
            raise UsageError(f"not added: there is already a feed named {name!r}")
    name = name or slug(probe.feed.title or probe.url, {f.name for f in config.feeds})
    edit(config_path, lambda doc: append_feed(doc, new_feed(name, probe.url, tags, interval)))
    return name, probe


def remove_feed(config_path: Path, name: str) -> None:
    edit(config_path, lambda doc: drop_feed(doc, name))


def set_enabled(config_path: Path, name: str, enabled: bool) -> None:
    def change(doc) -> None:
        find_feed(doc, name)["enabled"] = enabled
    edit(config_path, change)


@dataclass(frozen=True, slots=True)
class ImportReport:
    added: int
    duplicates: int                  # already configured, or listed again in the file (tags merged)
    invalid: tuple[str, ...]         # outline URLs that are no http(s) URL, with their line
    problems: tuple[str, ...]        # ill-formed outlines read from their line, or not read at all
    schemeless: int = 0              # "www.example.org/rss" taken as https://


def _outline_url(raw: str) -> tuple[str | None, bool]:
    """(the http(s) URL, whether https:// was added to a URL written without a scheme)."""
    url = http_url(raw)
    if url is None and "://" not in raw and not raw.startswith(("/", "#", "?")) and "." in raw.split("/")[0]:
        url = http_url("https://" + raw.strip())
        return url, url is not None
    return url, False


def import_opml(config_path: Path, data: bytes) -> ImportReport:
    """Add the feeds of an OPML file (ill-formed ones too, see opml.py): each category a tag, a feed
    listed twice one feed with all its tags, readable names in any script, the original title kept.
    Raises OPMLError only for a file that is no OPML at all."""
    reading = parse_opml(data)
    config = load_config(config_path)
    known_urls = {canonical_url(f.url) for f in config.feeds}
    names = {f.name for f in config.feeds}
    merged: dict[str, tuple[str, str, tuple[str, ...]]] = {}     # canonical -> (url, title, tags)
    duplicates, invalid, schemeless = 0, [], 0
    for o in reading.feeds:
        url, added_scheme = _outline_url(o.url)
        if url is None:
            invalid.append(f"line {o.line}: {o.url}" if o.line else o.url)
            continue
        key = canonical_url(url)
        if key in known_urls:
            duplicates += 1
        elif key in merged:
            duplicates += 1
            first_url, title, tags = merged[key]
            merged[key] = (first_url, title, tuple(dict.fromkeys(tags + o.tags)))
        else:
            schemeless += added_scheme
            merged[key] = (url, o.title, o.tags)
    added = []
    for url, title, tags in merged.values():
        name = slug(title if title != url else "", names, url)
        names.add(name)
        added.append(new_feed(name, url, tags, title=title if title != url else None))
    if added:
        edit(config_path, lambda doc: [append_feed(doc, t) for t in added])
    return ImportReport(len(added), duplicates, tuple(invalid), reading.problems, schemeless)


def export_opml(config: Config) -> bytes:
    """The feed list as OPML 2.0, with the feeds' own titles where known."""
    return to_opml(config.feeds, feed_titles(config))


def reload_daemon(config_path: Path) -> int | None:
    """Ask a running daemon to reload the config it serves (SIGHUP); its pid, or None."""
    import signal

    from ..lock import signal_daemon

    try:
        config = load_config(config_path)
    except ConfigError:
        return None
    return signal_daemon(config.database, signal.SIGHUP)
