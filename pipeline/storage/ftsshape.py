"""The shape of an FTS5 index: its segments, level by level, read from FTS5's structure record.

Why: the nightly upkeep merges the search index in bounded steps, and whether those steps merge
incrementally (a few small segments into one) or rewrite the whole index (every segment into one)
can only be seen in the segments themselves. FTS5 keeps them in one record of its `%_data` table
(rowid 10, the "structure"); this module decodes it (fts5_index.c: a 4-byte cookie, then varints:
levels, segments, a write counter, and for each level the inputs of a merge under way and its
segments, each an id and its first and last leaf page). SQLite 3.44+ may write version 2 of the
record (a 4-byte marker after the cookie, five more varints a segment); both are read.
"""

from __future__ import annotations

from typing import NamedTuple

STRUCTURE_ROWID = 10
_V2_MARKER = b"\xff\x00\x00\x01"


class Segment(NamedTuple):
    id: int
    first_page: int
    last_page: int

    @property
    def pages(self) -> int:
        return self.last_page - self.first_page + 1


class Level(NamedTuple):
    merging: int                 # segments of this level that are inputs of a merge under way
    segments: tuple[Segment, ...]


class Shape(NamedTuple):
    levels: tuple[Level, ...]
    written: int = 0             # FTS5's write counter: leaf pages its writes have added, ever

    @property
    def segments(self) -> list[Segment]:
        return [s for level in self.levels for s in level.segments]

    @property
    def pages(self) -> int:
        """Leaf pages in all segments: the index's size in FTS5 pages (~4 KB each)."""
        return sum(s.pages for s in self.segments)

    @property
    def merging(self) -> bool:
        return any(level.merging for level in self.levels)

    @property
    def oldest_pages(self) -> int:
        """Pages of the deepest level's segments: after a whole-index merge, the merged index;
        what was written since (new texts, the delete markers of dropped ones) sits above it."""
        deepest = next((level for level in reversed(self.levels) if level.segments), None)
        return sum(s.pages for s in deepest.segments) if deepest else 0


EMPTY = Shape(())


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's varint (1–9 bytes, big-endian, 7 bits a byte, the 9th byte whole): (value, next offset)."""
    value = 0
    for i in range(8):
        byte = data[at + i]
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at + i + 1
    return (value << 8) | data[at + 8], at + 9


def decode(record: bytes | None) -> Shape:
    """The index's levels and segments from its structure record (None or empty: an empty index)."""
    if not record:
        return EMPTY
    at = 4                                              # the configuration cookie
    v2 = record[4:8] == _V2_MARKER
    if v2:
        at = 8
    n_levels, at = _varint(record, at)
    _total, at = _varint(record, at)
    written, at = _varint(record, at)
    levels = []
    for _ in range(n_levels):
        merging, at = _varint(record, at)
        n_segments, at = _varint(record, at)
        segments = []
        for _ in range(n_segments):
            segment_id, at = _varint(record, at)
            first, at = _varint(record, at)
            last, at = _varint(record, at)
            if v2:                                      # origin1, origin2, tombstone pages and entries, entries
                for _ in range(5):
                    _, at = _varint(record, at)
            segments.append(Segment(segment_id, first, last))
        levels.append(Level(merging, tuple(segments)))
    return Shape(tuple(levels), written)
