"""The duplicate index over the stored seeds and original articles, opened at start-up.

The orchestrator imports this module with the first new article: it brings numpy and the
MinHash library, which a run whose feeds all answer 304 never needs. A run's index keeps the
articles' LSH bands on disk (diskindex.py); `load_index` builds the same index in memory, in
full, which the tests and benchmarks compare it with."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from ..records import Article
from ..stages.dedup import SIGNATURE_VERSION, DuplicateIndex, Indexed
from ..storage.store import Store, iso
from .diskindex import StoredIndex, band_pairs, loaded_index, open_stored_index

__all__ = ["SIGNATURE_VERSION", "band_pairs", "dedup_against", "load_index", "open_index", "remember",
           "signature_of"]


def open_index(store: Store, since: datetime | None = None) -> StoredIndex:
    """The index a run uses: the seeds and the original articles stored since `since` (the
    [dedup] window), looked up on disk, so start-up reads nothing proportional to the archive."""
    return open_stored_index(store, since)


def load_index(store: Store, since: datetime | None = None) -> DuplicateIndex:
    """The same index loaded in memory, in full (what every run did before schema 12; ~17 µs
    and ~2 KB an article): the reference the on-disk index is tested against.

    Signatures are read from the store; missing ones, or ones computed another way (another
    SIGNATURE_VERSION), are computed from the stored text and saved, so the next start is fast.
    """
    return loaded_index(store, store.index_rows(since))


def dedup_against(index: DuplicateIndex | StoredIndex, article: Article, sig, now: datetime, zone: ZoneInfo) -> Article:
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


def remember(index: DuplicateIndex | StoredIndex, article: Article, aid: str, now: datetime, sig: np.ndarray | None) -> None:
    """An original article just stored: later ones of the run are compared with it too."""
    index.add(Indexed(aid, article.url or article.identity, "article", iso(now), article.story_id or aid),
              article.fingerprint, sig)
