"""The near-duplicate index kept on disk (schema 12): one row per LSH band of each original
article's signature, so a run looks up a new article's candidates with one indexed query instead
of loading a year of signatures (app/diskindex.py; the band keys come from stages/dedup.band_keys).

`bands_built` says which articles have their rows: every article with rowid <= rowid_upto, for the
signature version named there. What is above it (an older file's archive at schema 12, articles
written by another tool, the last run's) is caught up in bounded batches when the index opens, and
by `db maintain`; another signature version starts the table afresh.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterator

from .connected import Connected
from .times import iso

# (key, band, article rowid) rows a statement reads or writes at most: SQLite's default limit of
# host parameters is 32,766.
_CHUNK = 300


class Bands(Connected):
    """Mixed into Store."""

    def bands_mark(self) -> tuple[str, int] | None:
        """(signature version, rowid up to which every article has its bands), or None: never built."""
        row = self.conn.execute("SELECT version, rowid_upto FROM bands_built").fetchone()
        return (row[0], row[1]) if row else None

    def restart_bands(self, version: str) -> None:
        """Empty the band table for a new signature version (inside a transaction)."""
        self.conn.execute("DELETE FROM bands")
        self.conn.execute("DELETE FROM bands_built")
        self.conn.execute("INSERT INTO bands_built (version, rowid_upto) VALUES (?, 0)", [version])

    def set_bands_upto(self, rowid: int) -> None:
        self.conn.execute("UPDATE bands_built SET rowid_upto = ?", [rowid])

    def articles_after(self, rowid: int, limit: int) -> list[dict]:
        """The next `limit` articles after `rowid`, oldest first, with their stored signatures (none for
        a duplicate, which is never indexed)."""
        return list(self.query(
            "SELECT a.rowid AS rowid, a.id AS key, a.duplicate_of IS NULL AS original, g.version, g.minhash "
            "FROM articles a LEFT JOIN signatures g ON g.key = a.id WHERE a.rowid > ? ORDER BY a.rowid LIMIT ?",
            [rowid, limit]))

    def save_bands(self, rows: list[tuple[int, int, int]]) -> None:
        """(key, band, article rowid) rows; inside a transaction. A row already there is kept.
        Inserted in key order: neighbouring rows share pages (half the time of random order)."""
        self.conn.executemany("INSERT OR IGNORE INTO bands (key, band, article) VALUES (?, ?, ?)", sorted(rows))

    def bands_follow(self, rowid: int, version: str) -> None:
        """An article just stored with its bands (signature `version`): when it is the next one after
        `bands_built`, move the mark past it, so that the next opening has nothing to catch up."""
        self.conn.execute("UPDATE bands_built SET rowid_upto = ? WHERE rowid_upto = ? AND version = ?",
                          [rowid, rowid - 1, version])

    def delete_bands(self, rows: list[tuple[int, int, int]]) -> None:
        """(key, band, article rowid) rows, as save_bands wrote them; inside a transaction."""
        self.conn.executemany("DELETE FROM bands WHERE key = ? AND band = ? AND article = ?", rows)

    def band_matches(self, keys: list[tuple[int, int]], since: datetime | None, upto: int,
                     version: str) -> Iterator[dict]:
        """The original articles (stored since `since`, rowid <= `upto`) sharing one of these
        (band, key) pairs, with their signatures, in the order an index loaded in full holds them
        (first_seen, id). Only originals have bands (a copy is never indexed: insert_article,
        catch-up), so `duplicate_of` is not read, nor `story_id` (None here; Reading.story_of gives
        the one match that needs it): both columns lie after `text`, in its overflow pages, which
        reading them cost a page read or more a candidate on a cold cache (measured on the 5,000-
        a-day soak's day 30: 3,000 random rows in 1.3 s without them, 2.2 s with them)."""
        wanted = set(keys)
        found: dict[int, set[tuple[int, int]]] = {}
        pairs = sorted(wanted, key=lambda p: p[1])
        for start in range(0, len(pairs), _CHUNK):
            part = [k for _, k in pairs[start:start + _CHUNK]]
            for band, key, article in self.conn.execute(
                    f"SELECT band, key, article FROM bands WHERE key IN ({','.join('?' * len(part))})", part):
                if (band, key) in wanted and article <= upto:
                    found.setdefault(article, set()).add((band, key))
        rowids = sorted(found)
        rows = []
        for start in range(0, len(rowids), _CHUNK):
            part = rowids[start:start + _CHUNK]
            rows += self.query(
                "SELECT a.id AS key, coalesce(a.url, a.identity) AS ref, a.first_seen, NULL AS story_id, g.minhash "
                "FROM articles a JOIN signatures g ON g.key = a.id "
                f"WHERE a.rowid IN ({','.join('?' * len(part))}) AND a.first_seen >= ? "
                "AND g.version = ? AND g.minhash IS NOT NULL", part + [iso(since) if since else "", version])
        yield from sorted(rows, key=lambda r: (r["first_seen"], r["key"]))

    def exact_match(self, fingerprint: str, since: datetime | None, upto: int) -> dict | None:
        """The earliest original article (stored since `since`, rowid <= `upto`) with this fingerprint."""
        return next(self.query(
            "SELECT id AS key, coalesce(url, identity) AS ref, first_seen, coalesce(story_id, id) AS story_id "
            "FROM articles WHERE fingerprint = ? AND duplicate_of IS NULL AND first_seen >= ? AND rowid <= ? "
            "ORDER BY first_seen, id LIMIT 1", [fingerprint, iso(since) if since else "", upto]), None)
