"""Consent and bot walls: one host serving the same text for different URLs.

A site that answers every article URL with the same cookie-consent or bot-check page would
otherwise have its wall stored as the text of unrelated stories, merged as "also reported by" or
dropped as duplicates. So a page text counts as a wall when its host served it for two or more
URLs — in this run, among the pages stored within WALL_LOOKBACK_DAYS, or as a wall already
remembered (the `walls` table) — and such articles are extraction failures, never stories.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Callable

from ..records import Article
from ..stages.urls import host_of
from ..storage.store import Store

WALL_LOOKBACK_DAYS = 7


class Walls:
    def __init__(self, store: Store, clock: Callable[[], datetime]):
        self.store, self.clock = store, clock
        self._urls: defaultdict[tuple[str, str], set[str]] = defaultdict(set)   # (host, text) -> URLs

    def clear(self) -> None:
        """A new run: forget the page texts of the last one (the stored ones still count)."""
        self._urls.clear()

    def find(self, pages: list[Article]) -> set[tuple[str, str]]:
        """The (host, fingerprint) keys among these page-text articles that are walls; remembered."""
        if not pages:
            return set()
        for a in pages:
            self._urls[(host_of(a.url), a.fingerprint)].add(a.canonical_url or a.url or "")
        since = self.clock() - timedelta(days=WALL_LOOKBACK_DAYS)
        for fp, url in self.store.page_urls_by_fingerprint({a.fingerprint for a in pages}, since):
            self._urls[(host_of(url), fp)].add(url)
        keys = {(host_of(a.url), a.fingerprint) for a in pages}
        walls = {k for k in keys if len(self._urls.get(k, ())) > 1} | self.store.known_walls(keys, since)
        if walls:
            with self.store.transaction():
                self.store.remember_walls(walls, self.clock())
        return walls
