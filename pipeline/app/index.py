"""The duplicate index over the stored seeds and original articles, built at start-up.

The orchestrator imports this module with the first new article: it brings numpy and the
MinHash library, which a run whose feeds all answer 304 never needs."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from ..records import Article
from ..stages.dedup import SIGNATURE_VERSION, DuplicateIndex, Indexed, signature
from ..storage.store import Store, iso

__all__ = ["SIGNATURE_VERSION", "dedup_against", "open_index", "remember", "signature_of"]


# How far back a catch-up looks before the newest article the index holds: other workers'
# articles are stamped when decided and committed up to a group commit later, and machines'
# clocks differ a little.
CATCH_UP_MARGIN = timedelta(minutes=2)


class SharedIndex(DuplicateIndex):
    """The index as one of several workers on one database holds it (PostgreSQL): it knows which
    articles it holds and the newest one's time, so it can take in what the others stored since
    (`caught_up`) without reading the window again."""

    def __init__(self, text_of):
        super().__init__(text_of)
        self.keys: set[str] = set()
        self.newest = ""

    def add(self, item: Indexed, fingerprint: str, sig: np.ndarray | None) -> None:
        self.keys.add(item.key)
        self.newest = max(self.newest, item.first_seen or "")
        super().add(item, fingerprint, sig)


def open_index(store: Store, since: datetime | None = None, current: DuplicateIndex | None = None) -> DuplicateIndex:
    """The index over a Store's seeds and original articles (those stored since `since`: the
    [dedup] window, so start-up costs what the window holds, not what the archive does); with
    `current` (several workers on PostgreSQL), that index with what the others stored since its
    last look.

    Signatures are read from the store; missing ones, or ones computed another way (another
    SIGNATURE_VERSION), are computed from the stored text and saved, so the next start is fast.
    """
    if isinstance(current, SharedIndex):
        return caught_up(current, store)
    index = SharedIndex(store.text_of) if store.engine != "sqlite" else DuplicateIndex(store.text_of)
    items, fingerprints, blobs, recomputed = [], [], [], []
    for row in store.index_rows(since):
        item, blob = _indexed(store, row, recomputed)
        items.append(item)
        fingerprints.append(row["fingerprint"])
        blobs.append(blob)
    if recomputed:
        with store.transaction():
            store.save_signatures(recomputed)
    index.load(items, fingerprints, blobs)
    if isinstance(index, SharedIndex):      # (none in the window yet: the window's start is the mark)
        index.keys.update(item.key for item in items)
        index.newest = max((item.first_seen or "" for item in items), default=iso(since) if since else "")
    return index


def _indexed(store: Store, row: dict, recomputed: list) -> tuple[Indexed, bytes | None]:
    """A stored row as the index holds it, and its signature (recomputed when of another version:
    noted in `recomputed`, to be saved)."""
    blob = row["minhash"]
    if row["version"] != SIGNATURE_VERSION:
        sig = signature(store.text_of(row["key"]) or "")
        blob = None if sig is None else sig.tobytes()
        recomputed.append((row["key"], SIGNATURE_VERSION, blob))
    return Indexed(row["key"], row["ref"], row["kind"], row["first_seen"], row["story_id"]), blob


def caught_up(index: SharedIndex, store: Store) -> SharedIndex:
    """The original articles other workers stored since the index's newest (less the margin),
    added: before a worker decides a new article, it knows what the others decided. Per feed with
    something new: the ids of the last minutes' originals, then the rows of those it lacks
    (bench/RESULTS.md: `workers`)."""
    since = datetime.fromisoformat(index.newest) - CATCH_UP_MARGIN if index.newest else None
    new = [key for key in store.original_ids_since(since) if key not in index.keys]
    for row in store.index_rows_of(new) if new else ():
        item, blob = _indexed(store, row, [])
        index.add(item, row["fingerprint"], None if blob is None else np.frombuffer(blob, dtype=np.uint32))
    return index


def dedup_against(index: DuplicateIndex, article: Article, sig, now: datetime, zone: ZoneInfo) -> Article:
    """A copy of a seed or of an earlier day's article is a duplicate (left out of the digest);
    a copy of an article from the same digest day (in `zone`) joins that article's story."""
    found = index.nearest(article.text, article.fingerprint, sig)
    if found is None:
        return article
    target = found.target
    if is_left_out(target, now, zone):
        return replace(article, duplicate_of=target.ref, similarity=found.similarity)
    return replace(article, story_id=target.story_id, similarity=found.similarity)


def is_left_out(target: Indexed, now: datetime, zone: ZoneInfo) -> bool:
    """A copy of this target is a duplicate left out of the digest (a seed, or an earlier day's
    article), not a report joining the target's story (an article of the same digest day)."""
    return target.kind == "seed" or (
        datetime.fromisoformat(target.first_seen).astimezone(zone).date() < now.astimezone(zone).date())


def signature_of(article: Article) -> np.ndarray | None:
    """The article's MinHash signature as the index holds it (a worker sends it as bytes)."""
    return None if article.minhash is None else np.frombuffer(article.minhash, dtype=np.uint32)


def remember(index: DuplicateIndex, article: Article, aid: str, now: datetime, sig: np.ndarray | None) -> None:
    """An original article just stored: later ones of the run are compared with it too."""
    index.add(Indexed(aid, article.url or article.identity, "article", iso(now), article.story_id or aid),
              article.fingerprint, sig)
