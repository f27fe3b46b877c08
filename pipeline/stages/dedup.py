"""Identity and duplicates.

Identity, in order (the first that exists wins):
1. the feed's guid, scoped to the feed ("guid:<feed>:<guid>"), since CMSs reuse short ids. Within a
   feed the guid alone decides whether an item is new: distinct guids are distinct items even when
   they share a link (podcast episodes linking to the show's page, live-blog updates);
2. for an item without a guid, the canonical URL (urls.canonical_url): scheme and host lower-cased,
   default port and tracking parameters (utm_*, fbclid, gclid, …) dropped; the fragment is dropped
   too, unless fragments are what tell the feed's items apart;
3. the hash of the cleaned text.
An item with a guid is "seen" when its guid identity is stored; an item without one when its
canonical URL is. A seen item is neither fetched nor extracted again.

Duplicates: an article whose cleaned text equals (fingerprint) or nearly equals (MinHash LSH,
verified by exact shingle Jaccard) a seed or a stored article is a copy of it. What that means
(dropped as a duplicate, or grouped under the same story) is decided by run.py from the target's
kind and digest day; this module only finds the closest match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import rensa

from .clean import normalise
from .urls import canonical_url  # noqa: F401  (re-exported: identity needs it)

# Near-duplicate parameters; docs/stories.md explains the choice (section "Duplicates and stories").
SHINGLE = 3                 # words per shingle
NUM_PERM = 126              # MinHash values per signature = BANDS * ROWS
BANDS, ROWS = 42, 3         # P(candidate) = 1 - (1 - J^3)^42: 0.996 at J=0.5, 1.0 at J=0.7
NEAR_THRESHOLD = 0.5        # exact shingle Jaccard at or above which two texts are one story
ESTIMATE_SLACK = 0.15       # candidates whose signature estimate is this far below are skipped
SURE_ESTIMATE = 0.8         # at or above this estimate no exact check is needed (6 std. dev. clear)
MIN_WORDS_NEAR = 50         # shorter texts are matched only exactly (see docs/stories.md)
MINHASH_SEED = 20261123
SIGNATURE_VERSION = f"rensa-r{rensa.RMinHash.ALGORITHM_VERSION}-{NUM_PERM}-{MINHASH_SEED}"
_WORD = re.compile(r"\w+")

@dataclass(frozen=True, slots=True)
class Indexed:
    """What an indexed text is, for deciding what a match means."""

    key: str                  # article id, or "seeds/<file>" for a seed
    ref: str                  # what the digest names: "seeds/<file>" or the article URL
    kind: str                 # "seed" | "article"
    first_seen: str | None    # articles: UTC ISO time stored (its digest day follows from it)
    story_id: str | None      # articles: the story it belongs to (its own id when it leads)


@dataclass(frozen=True, slots=True)
class Similar:
    target: Indexed
    similarity: float         # exact word-3-shingle Jaccard (1.0 for identical normalised text)


def shingles(text: str) -> set[str]:
    """Word 3-grams of the normalised text: the unit that near-duplicate similarity counts."""
    words = _WORD.findall(normalise(text))
    return {" ".join(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def signature(text: str) -> np.ndarray | None:
    """MinHash signature (rensa), or None for a text too short for near-duplicate matching."""
    grams = shingles(text)
    if len(_WORD.findall(text)) < MIN_WORDS_NEAR or not grams:
        return None
    m = rensa.RMinHash(num_perm=NUM_PERM, seed=MINHASH_SEED)
    m.update(sorted(grams))
    return np.asarray(m.digest(), dtype=np.uint32)


# Odd 64-bit multipliers that mix a band's rows into one key (wrapping arithmetic).
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9][:ROWS], dtype=np.uint64)


def band_keys(signatures: np.ndarray) -> np.ndarray:
    """(n, NUM_PERM) uint32 -> (n, BANDS) uint64: one key per band."""
    rows = signatures.reshape(len(signatures), BANDS, ROWS).astype(np.uint64)
    with np.errstate(over="ignore"):
        return (rows * _MIX).sum(axis=2, dtype=np.uint64)


class DuplicateIndex:
    """Everything a new article may duplicate: the seeds and every stored original article.

    Two lookups, in order:
    - exact: the fingerprint (sha256 of the normalised text) — any length of text;
    - near: MinHash LSH over word 3-shingles, 42 bands x 3 rows of a 126-value rensa signature,
      for texts of at least MIN_WORDS_NEAR words. Candidates sharing a band are checked by
      their signature estimate; anywhere near the threshold the exact shingle Jaccard,
      computed from the stored texts (`text_of`), decides. Only an estimate far above it
      (>= SURE_ESTIMATE) is taken as it is, sparing a database read and two shingle sets.
    The banded keys are kept sorted per band (numpy), so lookups are binary searches and a
    100,000-article index costs tens of megabytes, not a dict per band entry.
    """

    def __init__(self, text_of: Callable[[str], str | None] = lambda key: None):
        self._text_of = text_of
        self._exact: dict[str, Indexed] = {}
        self._items: list[Indexed] = []
        self._sigs = np.zeros((0, NUM_PERM), dtype=np.uint32)
        self._sorted_keys = np.zeros((BANDS, 0), dtype=np.uint64)
        self._order = np.zeros((BANDS, 0), dtype=np.int64)
        # entries added since the bulk load: a dict per band (few), positions after the sorted ones
        self._recent: list[dict[int, list[int]]] = [{} for _ in range(BANDS)]
        self._recent_sigs: list[np.ndarray] = []
        self._recent_items: list[Indexed] = []

    def __len__(self) -> int:
        return len(self._exact)

    def load(self, items: list[Indexed], fingerprints: list[str], signatures: list[bytes | None]) -> None:
        """Bulk-load (at start-up): one sort per band instead of one insert per article."""
        keep_items, keep_sigs = [], []
        for item, fp, blob in zip(items, fingerprints, signatures):
            self._exact.setdefault(fp, item)
            if blob:
                keep_items.append(item)
                keep_sigs.append(blob)
        self._items = keep_items
        self._sigs = (np.frombuffer(b"".join(keep_sigs), dtype=np.uint32).reshape(-1, NUM_PERM)
                      if keep_sigs else np.zeros((0, NUM_PERM), dtype=np.uint32))
        keys = band_keys(self._sigs).T                       # (BANDS, n)
        self._order = np.argsort(keys, axis=1, kind="stable")
        self._sorted_keys = np.take_along_axis(keys, self._order, axis=1)
        self._recent = [{} for _ in range(BANDS)]
        self._recent_sigs, self._recent_items = [], []

    def add(self, item: Indexed, fingerprint: str, sig: np.ndarray | None) -> None:
        self._exact.setdefault(fingerprint, item)
        if sig is None:
            return
        position = len(self._sigs) + len(self._recent_sigs)
        self._recent_sigs.append(sig)
        self._recent_items.append(item)
        for band, key in enumerate(band_keys(sig[None, :])[0]):
            self._recent[band].setdefault(int(key), []).append(position)

    def _item(self, position: int) -> tuple[Indexed, np.ndarray]:
        if position < len(self._sigs):
            return self._items[position], self._sigs[position]
        i = position - len(self._sigs)
        return self._recent_items[i], self._recent_sigs[i]

    def candidates(self, sig: np.ndarray) -> set[int]:
        keys = band_keys(sig[None, :])[0]
        found: set[int] = set()
        n = self._sorted_keys.shape[1]
        for band in range(BANDS):
            key = keys[band]
            if n:
                row = self._sorted_keys[band]
                lo = int(np.searchsorted(row, key, side="left"))
                hi = int(np.searchsorted(row, key, side="right"))
                if hi > lo:
                    found.update(int(p) for p in self._order[band, lo:hi])
            found.update(self._recent[band].get(int(key), ()))
        return found

    def exact(self, fingerprint: str) -> Indexed | None:
        return self._exact.get(fingerprint)

    def candidate_items(self, sig: np.ndarray) -> list[tuple[Indexed, np.ndarray]]:
        """The indexed texts sharing a band with `sig`, in the order they were indexed."""
        return [self._item(position) for position in sorted(self.candidates(sig))]

    def nearest(self, text: str, fingerprint: str, sig: np.ndarray | None) -> Similar | None:
        """The closest indexed text at or above NEAR_THRESHOLD, or None."""
        exact = self._exact.get(fingerprint)
        if exact is not None:
            return Similar(exact, 1.0)
        if sig is None:
            return None
        return closest(text, sig, self.candidate_items(sig), self._text_of)


def closest(text: str, sig: np.ndarray, candidates: Iterable[tuple[Indexed, np.ndarray]],
            text_of: Callable[[str], str | None]) -> Similar | None:
    """The verdict over LSH candidates, wherever they were found (in memory, or on disk:
    app/diskindex.py), so both find the same: each is checked by its signature estimate; anywhere
    near the threshold the exact shingle Jaccard of the stored texts decides. The highest score
    wins; of equal scores, the first candidate (the earliest indexed)."""
    best: Similar | None = None
    grams = None
    for item, other in candidates:
        estimate = float(np.mean(other == sig))
        if estimate < NEAR_THRESHOLD - ESTIMATE_SLACK:
            continue
        if estimate >= SURE_ESTIMATE:
            score = estimate     # far above the threshold: the estimate (±0.04) cannot change the verdict
        else:
            other_text = text_of(item.key)
            if other_text is None:
                continue
            grams = grams if grams is not None else shingles(text)
            score = jaccard(grams, shingles(other_text))
        if score >= NEAR_THRESHOLD and (best is None or score > best.similarity):
            best = Similar(item, round(score, 3))
    return best
