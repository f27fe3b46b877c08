"""Which items of a parsed feed are new, and which pages are no one item's article."""

from __future__ import annotations

from collections import Counter, defaultdict

from ..records import FeedEntry
from ..stages.identity import identity_of
from ..stages.urls import canonical_url
from ..storage.store import Store


def fresh_entries(store: Store, entries: tuple[FeedEntry, ...], skipped: Counter) -> list[tuple[FeedEntry, str | None]]:
    """The entries never stored, each with its identity (None: from its text, later).

    Within a feed the guid alone decides; an item without one is known by its canonical URL,
    which keeps the fragment when fragments are what tell the feed's items apart."""
    by_page: defaultdict[str, set[str]] = defaultdict(set)
    for e in entries:
        if not e.guid and e.link:
            page = canonical_url(e.link)
            if page:
                by_page[page].add(canonical_url(e.link, keep_fragment=True))
    keyed: list[tuple[FeedEntry, str | None, str | None]] = []
    for e in entries:
        try:
            if e.guid:
                keyed.append((e, identity_of(e.feed, e.guid, None, None), None))
                continue
            page = canonical_url(e.link)
            url = canonical_url(e.link, keep_fragment=len(by_page.get(page, ())) > 1) if page else None
            keyed.append((e, identity_of(e.feed, None, url, None) if url else None, url))
        except Exception as exc:   # the per-item boundary
            skipped[type(exc).__name__] += 1
    known = store.known([i for _, i, _ in keyed if i], [u for _, _, u in keyed if u])
    # before schema 2 such items were all keyed on the page without its fragment, so one of
    # them is stored under that key: known again by its title, never reported twice
    legacy = store.titles_of([f"url:{canonical_url(u)}" for _, _, u in keyed
                                   if u and canonical_url(u) != u])
    fresh, seen = [], set()
    for entry, identity, url in keyed:
        if identity is None:
            fresh.append((entry, None))   # no guid, no link: identity comes from its text
        elif identity in seen:
            continue                      # the same item twice in one feed
        else:
            seen.add(identity)
            old = url and legacy.get(f"url:{canonical_url(url)}") == entry.title
            if identity not in known and url not in known and not old:
                fresh.append((entry, identity))
    return fresh

def shared_pages(entries: tuple[FeedEntry, ...]) -> set[str]:
    """Pages that several items of the feed link to (a podcast's home page, a live blog):
    such a page is no one item's article, so those items keep their own feed text."""
    counts = Counter(canonical_url(e.link) for e in entries if e.link)
    return {page for page, n in counts.items() if page and n > 1}
