"""The duplicate index a run uses: the stored articles' LSH bands on disk, the seeds in memory.

Loading the [dedup] window's signatures at every start cost ~17 µs and ~2 KB an article (1.86 s
and 578 MB on day 365 at 300 articles a day, bench/RESULTS.md), so a timer's run grew with the
archive for a year. Here nothing proportional to the archive is read at start: a new article's
candidates are one indexed query on `bands` (storage/bands.py), then the same verdict as the index
in memory (stages/dedup.closest) over the candidates' stored signatures. The decisions are the
in-memory index's, in the same order of precedence: seeds, then the window's articles (oldest
first), then the articles this index was told of since it opened (`add`; in memory, as before: an
article stored in the same feed's transaction is not compared, exactly as before).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Callable, Iterable

import numpy as np

from ..stages.dedup import NUM_PERM, SIGNATURE_VERSION, DuplicateIndex, Indexed, Similar, band_keys, closest, signature
from ..storage.store import Store

log = logging.getLogger("newsmon")

# Articles whose bands are built per transaction when catching up (~42 rows each): ~0.2 s of
# writes, so a run or a reader waits at most that long behind one; a kill loses at most one batch.
CATCH_UP_BATCH = 2000


def band_pairs(sig: np.ndarray) -> list[tuple[int, int]]:
    """A signature's (band, key) pairs, keys as SQLite's signed 64-bit integers."""
    return list(enumerate(band_keys(sig[None, :])[0].view(np.int64).tolist()))


def band_rows(signatures: list[tuple[int, bytes]]) -> list[tuple[int, int, int]]:
    """(article rowid, signature bytes) -> the `bands` rows (key, band, article) they have."""
    if not signatures:
        return []
    sigs = np.frombuffer(b"".join(blob for _, blob in signatures), dtype=np.uint32).reshape(-1, NUM_PERM)
    keys = band_keys(sigs).view(np.int64).tolist()
    return [(key, band, rowid) for (rowid, _), row in zip(signatures, keys) for band, key in enumerate(row)]


def catch_up(store: Store, should_stop: Callable[[], bool] = lambda: False) -> int:
    """Build the bands of every article above `bands_built`, CATCH_UP_BATCH a transaction; how many
    articles were looked at. Signatures missing or of another version are computed from the
    stored text first (a text already dropped by retention has none, as before). Another
    SIGNATURE_VERSION empties the table and starts again from the first article.

    Its units write the mark a worker's deciding unit moves (Bands.bands_follow), so on
    PostgreSQL they take the deciders' lock too (`decides`): a worker waiting for that lock
    never holds the mark's row another worker's deciding unit waits for (no deadlock)."""
    mark = store.bands_mark()
    if mark is None or mark[0] != SIGNATURE_VERSION:
        with store.transaction(decides=True):
            store.restart_bands(SIGNATURE_VERSION)
        upto = 0
    else:
        upto = mark[1]
    seen = 0
    while not should_stop():
        with store.transaction(decides=True):
            rows = store.articles_after(upto, CATCH_UP_BATCH)
            if not rows:
                break
            recomputed, signed = [], []
            for row in rows:
                if not row["original"]:
                    continue
                blob = current_signature(store, row, recomputed)
                if blob:
                    signed.append((row["rowid"], blob))
            store.save_signatures(recomputed)
            store.save_bands(band_rows(signed))
            upto = rows[-1]["rowid"]
            store.set_bands_upto(upto)
        seen += len(rows)
        if seen >= 10 * CATCH_UP_BATCH and seen % (10 * CATCH_UP_BATCH) == 0:
            log.info("duplicate index: %d stored articles indexed on disk so far", seen)
    return seen


class StoredIndex:
    """The index over the seeds (in memory: a config-sized set) and the stored originals of the
    window (on disk, those stored when it opened: rowid <= upto), plus the originals added since
    (in memory). Same interface as stages/dedup.DuplicateIndex: nearest, add."""

    def __init__(self, store: Store, seeds: DuplicateIndex, since: datetime | None, upto: int):
        self.store, self.seeds, self.since, self.upto = store, seeds, since, upto
        self.recent = DuplicateIndex(store.text_of)

    def add(self, item: Indexed, fingerprint: str, sig: np.ndarray | None) -> None:
        self.recent.add(item, fingerprint, sig)

    def _article(self, row: dict) -> Indexed:
        return Indexed(row["key"], row["ref"], "article", row["first_seen"], row["story_id"])

    def nearest(self, text: str, fingerprint: str, sig: np.ndarray | None) -> Similar | None:
        """The closest indexed text at or above NEAR_THRESHOLD, or None."""
        exact = self.seeds.exact(fingerprint)
        if exact is None:
            row = self.store.exact_match(fingerprint, self.since, self.upto)
            exact = self._article(row) if row else self.recent.exact(fingerprint)
        if exact is not None:
            return Similar(exact, 1.0)
        if sig is None:
            return None
        found = closest(text, sig, self.candidate_items(sig), self.store.text_of)
        if found is not None and found.target.story_id is None:     # a stored one (band_matches)
            key = found.target.key
            found = replace(found, target=replace(found.target, story_id=self.store.story_of([key]).get(key, key)))
        return found

    def candidate_items(self, sig: np.ndarray) -> list[tuple[Indexed, np.ndarray]]:
        """The indexed texts sharing a band with `sig`, in the order an index in memory holds them."""
        stored = [(self._article(row), np.frombuffer(row["minhash"], dtype=np.uint32))
                  for row in self.store.band_matches(band_pairs(sig), self.since, self.upto, SIGNATURE_VERSION)]
        # (on PostgreSQL, EVERY_ROW: the run's own committed articles come back from the table too;
        # each is compared once)
        found = {item.key for item, _ in stored}
        recent = [(item, s) for item, s in self.recent.candidate_items(sig) if item.key not in found]
        return self.seeds.candidate_items(sig) + stored + recent


def current_signature(store: Store, row: dict, recomputed: list[tuple]) -> bytes | None:
    """A stored row's signature; missing or of another SIGNATURE_VERSION, it is computed from the
    stored text (none once retention dropped it) and added to `recomputed`, to be saved."""
    if row["version"] == SIGNATURE_VERSION:
        return row["minhash"]
    sig = signature(store.text_of(row["key"]) or "")
    blob = None if sig is None else sig.tobytes()
    recomputed.append((row["key"], SIGNATURE_VERSION, blob))
    return blob


def loaded_index(store: Store, rows: Iterable[dict]) -> DuplicateIndex:
    """An index in memory over these rows (Store.index_rows or seed_rows); signatures computed
    anew are saved, so the next opening is fast."""
    index = DuplicateIndex(store.text_of)
    items, fingerprints, blobs, recomputed = [], [], [], []
    for row in rows:
        blobs.append(current_signature(store, row, recomputed))
        items.append(Indexed(row["key"], row["ref"], row["kind"], row["first_seen"], row["story_id"]))
        fingerprints.append(row["fingerprint"])
    if recomputed:
        with store.transaction():
            store.save_signatures(recomputed)
    index.load(items, fingerprints, blobs)
    return index


# On PostgreSQL several workers store into one database: each lookup then sees every original
# committed so far, its own and the others' (each worker writes an article's bands in the
# transaction that stores it), so a worker decides a new article knowing what the others stored.
EVERY_ROW = 2 ** 62


def open_stored_index(store: Store, since: datetime | None = None) -> StoredIndex:
    """The index over the seeds and the originals stored since `since`; first the bands of any
    article stored since the last opening are built (catch_up). On SQLite (one writer) the stored
    part is what existed at opening, as an index in memory holds it; on PostgreSQL, every row
    committed when each lookup runs (EVERY_ROW). Call outside a transaction."""
    catch_up(store)
    mark = store.bands_mark()
    upto = (mark[1] if mark else 0) if store.engine == "sqlite" else EVERY_ROW
    return StoredIndex(store, loaded_index(store, store.seed_rows()), since, upto)
