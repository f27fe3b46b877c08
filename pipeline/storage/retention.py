"""Retention and upkeep: what slims or removes old articles, what the store's size is, and the
SQLite maintenance steps. Every write here is one short transaction of at most BATCH articles, so
a reader is never held up and a kill loses at most one batch (which the next prune redoes).

What each step keeps is decided in app/retention.py; this module only carries it out.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Callable, NamedTuple

from .connected import Connected
from .ftsshape import EMPTY, STRUCTURE_ROWID, Shape, decode
from .times import iso

# Articles slimmed or deleted per transaction: ~50 ms of writes on a laptop, so a run's
# BEGIN IMMEDIATE waits at most that long behind one, well inside the 15 s busy timeout.
BATCH = 500
# FTS5 merge work per transaction ('merge', N): about N pages of segments merged (~2 MB).
FTS_MERGE_PAGES = 500
# A night's merging is bounded twice: at most FTS_MERGE_STEPS transactions (~400 MB of index
# pages), and at most FTS_PACE times the pages FTS5 wrote since the last upkeep (its write
# counter; the day's new texts and the delete markers of the prune's dropped ones), so the work
# follows the day's growth, not the index's size (app/retention.merge_search_index).
FTS_MERGE_STEPS = 200
FTS_PACE = 8
# A whole-index merge (the only one that drops delete markers and the postings of dropped texts:
# SQLite 3.40 has no FTS5 secure-delete) is started, then carried on night by night within the
# pace, once what was written above the deepest level holds this share of its pages.
FTS_RECLAIM_SHARE = 0.25
# FTS5's own merging as it writes ('automerge', its default). It does work in proportion to the
# pages written times the index's levels, and an index merged whole again and again has 64 of
# them (each whole merge adds one): a prune batch's 500 delete entries took 10.2 s with it and
# 0.5 s without on the soak's day-180 store, a whole merge under way (2.5 / 0.4 s on day 30's,
# 16 levels). So it is off (0) for the prune's writes, which the upkeep's own bounded merges
# follow, and while a whole-index merge is under way, which runs would otherwise carry on at that
# rate (Store.set_fts_automerge; app/retention.py).
FTS_AUTOMERGE = 4
# Free pages given back per incremental-vacuum transaction.
VACUUM_PAGES = 2000


class Keep(NamedTuple):
    """What a prune must not touch, whatever its age."""

    after_rowid: int | None     # articles above this rowid (an unsent or next email needs them); None: no bound
    stories: frozenset[str]     # stories a pending message is about


class Size(NamedTuple):
    """The database's files, in bytes."""

    database: int               # the main file
    wal: int                    # the write-ahead log beside it
    free: int                   # free pages inside the main file (given back by incremental vacuum)
    disk_free: int | None       # what the file system holding it has left (None: PostgreSQL's, unknown here)


class Retention(Connected):
    """Mixed into Store."""

    # --- what an email or a message still needs

    def keep_for_delivery(self, recipients: list[str]) -> Keep:
        """Each configured recipient's next email starts after their last delivered one (cut on
        rowids, deliver.py); an unsent email is retried or re-cut from there too. Messages keep
        their stored body, but a pending alert names its story, which must still exist."""
        bounds = [r[0] for r in self.conn.execute(
            "SELECT rowid_after FROM emails WHERE status IN ('pending', 'failed')")]
        for recipient in recipients:
            row = self.conn.execute(
                "SELECT max(rowid_upto) FROM emails WHERE recipient = ? "
                "AND (status IN ('sent', 'skipped') OR data_started = 1)", [recipient]).fetchone()
            if row[0] is not None:
                bounds.append(row[0])
        stories = frozenset(r[0] for r in self.conn.execute(
            "SELECT key FROM messages WHERE status = 'pending' AND kind IN ('alert', 'update', 'surge')"))
        return Keep(min(bounds) if bounds else None, stories)

    def _kept(self, keep: Keep) -> tuple[str, list]:
        where, args = "", []
        if keep.after_rowid is not None:
            where += " AND rowid <= ?"
            args.append(keep.after_rowid)
        if keep.stories:
            where += f" AND coalesce(story_id, '') NOT IN ({','.join('?' * len(keep.stories))})"
            args += sorted(keep.stories)
        return where, args

    # --- counting (a dry run) and doing

    def texts_to_drop(self, before: datetime, keep: Keep) -> int:
        where, args = self._kept(keep)
        return self.conn.execute(f"SELECT count(*) FROM articles WHERE first_seen < ? AND text_dropped IS NULL "
                                 f"AND text != ''{where}", [iso(before)] + args).fetchone()[0]

    def articles_to_delete(self, before: datetime, keep: Keep) -> int:
        where, args = self._kept(keep)
        return self.conn.execute(f"SELECT count(*) FROM articles WHERE first_seen < ?{where}",
                                 [iso(before)] + args).fetchone()[0]

    def drop_texts(self, before: datetime, keep: Keep, now: datetime, after_rowid: int = 0) -> tuple[int, int]:
        """Empty the text of up to BATCH articles stored before `before`, above `after_rowid`, in
        one transaction: (how many, the last rowid looked at: the next batch's `after_rowid`).
        The search index's update trigger re-indexes each with its title alone; the profile
        (computed from the text, used by the story window only) goes with it.

        The rows below a batch are all dropped or kept: without `after_rowid` each batch would
        scan them again (a year at 5,000 articles a day: ~1.4 million, ~1 s a batch inside the
        write lock, measured 0.2 s at 300,000 against 3 ms from the cursor)."""
        where, args = self._kept(keep)
        with self.transaction():
            rows = self.conn.execute(
                f"SELECT id, rowid FROM articles WHERE rowid > ? AND first_seen < ? AND text_dropped IS NULL "
                f"AND text != ''{where} ORDER BY rowid LIMIT {BATCH}", [after_rowid, iso(before)] + args).fetchall()
            ids = [r[0] for r in rows]
            marks = ",".join("?" * len(ids))
            self.conn.execute(f"UPDATE articles SET text = '', text_dropped = ? WHERE id IN ({marks})",
                              [iso(now)] + ids)
            self.conn.execute(f"DELETE FROM profiles WHERE article_id IN ({marks})", ids)
        return len(ids), rows[-1][1] if rows else after_rowid

    def delete_articles(self, before: datetime, keep: Keep,
                        band_rows: Callable[[list[tuple[int, bytes]]], list[tuple]]) -> tuple[int, set[str]]:
        """Delete up to BATCH articles stored before `before`, with their search entries (trigger),
        topic matches (cascade), profiles, signatures and duplicate-index bands (`band_rows` gives
        them from (rowid, signature) pairs: app/diskindex.band_rows), in one transaction. Returns
        how many and the stories they belonged to; the caller refreshes those in the same
        transaction (`with store.transaction()` around this call)."""
        where, args = self._kept(keep)
        rows = self.conn.execute(f"SELECT id, story_id FROM articles WHERE first_seen < ?{where} "
                                 f"ORDER BY rowid LIMIT {BATCH}", [iso(before)] + args).fetchall()
        ids = [r[0] for r in rows]
        marks = ",".join("?" * len(ids))
        self.delete_bands(band_rows(self.conn.execute(
            f"SELECT a.rowid, g.minhash FROM articles a JOIN signatures g ON g.key = a.id "
            f"WHERE a.id IN ({marks}) AND g.minhash IS NOT NULL", ids).fetchall()))
        self.conn.execute(f"DELETE FROM profiles WHERE article_id IN ({marks})", ids)
        self.conn.execute(f"DELETE FROM signatures WHERE key IN ({marks})", ids)
        self.conn.execute(f"DELETE FROM articles WHERE id IN ({marks})", ids)
        return len(ids), {r[1] for r in rows if r[1]}

    def story_has_reports(self, story_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM articles WHERE story_id = ? AND duplicate_of IS NULL LIMIT 1",
                                 [story_id]).fetchone() is not None

    def delete_story(self, story_id: str) -> None:
        """A story none of whose reports is left; inside a transaction. Follow-ups of it lose the link."""
        self.conn.execute("DELETE FROM stories WHERE id = ?", [story_id])
        self.conn.execute("UPDATE stories SET follow_up_of = NULL WHERE follow_up_of = ?", [story_id])

    def follow_up_of(self, story_id: str) -> str | None:
        row = self.conn.execute("SELECT follow_up_of FROM stories WHERE id = ?", [story_id]).fetchone()
        return row[0] if row else None

    # --- growth

    def size(self, path: Path) -> Size:
        """On PostgreSQL: the database's size on the server (its disk is the server's business)."""
        if self.engine == "postgresql":
            return Size(self.conn.execute("SELECT pg_database_size(current_database())").fetchone()[0], 0, 0, None)
        page_size, free = (self.conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_size", "freelist_count"))
        database, wal = (os.stat(p).st_size if os.path.exists(p) else 0 for p in (path, f"{path}-wal"))
        disk = os.statvfs(path.parent)
        return Size(database, wal, page_size * free, disk.f_bavail * disk.f_frsize)

    def articles_since(self, since: datetime | str) -> int:
        """Articles stored at or after `since` (a time, or a UTC day 'YYYY-MM-DD': from its start).
        A count on the first_seen index: it reads the period's entries only, so it costs the same
        on day 365 as on day 30 (the per-day GROUP BY it replaces took 121 -> 213 ms over 30 days
        at 5,000 a day, on days 30 and 180; this 8 -> 15 ms)."""
        return self.conn.execute("SELECT count(*) FROM articles WHERE first_seen >= ?",
                                 [since if isinstance(since, str) else iso(since)]).fetchone()[0]

    def article_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM articles").fetchone()[0]

    # --- SQLite upkeep; each step its own short transaction. On PostgreSQL the server's autovacuum
    # does this work: the steps are ANALYZE (optimize) and a plain VACUUM (vacuum_full), no more.

    def record_maintenance(self, started: datetime, finished: datetime, texts_dropped: int, articles_deleted: int,
                           size_before: int, size_after: int) -> None:
        with self.transaction():
            self.conn.execute("INSERT INTO maintenance (started, finished, texts_dropped, articles_deleted, "
                              "size_before, size_after) VALUES (?, ?, ?, ?, ?, ?)",
                              (iso(started), iso(finished), texts_dropped, articles_deleted, size_before, size_after))

    def last_maintenance(self) -> dict | None:
        return next(self.query("SELECT * FROM maintenance ORDER BY id DESC LIMIT 1"), None)

    def maintained_sizes(self, since: datetime) -> list[tuple[str, int]]:
        """(started, size after) of each upkeep since `since`, oldest first: the store's size
        night by night, retention's give-back included."""
        return [(r["started"], r["size_after"]) for r in self.query(
            "SELECT started, size_after FROM maintenance WHERE started >= ? ORDER BY id", [iso(since)])]

    def fts_shape(self) -> Shape:
        """The search index's segments (storage/ftsshape.py); empty on PostgreSQL."""
        if self.engine == "postgresql":
            return EMPTY
        row = self.conn.execute("SELECT block FROM articles_fts_data WHERE id = ?", [STRUCTURE_ROWID]).fetchone()
        return decode(row[0] if row else None)

    def fts_merge_step(self, whole: bool = False) -> bool:
        """One FTS5 merge of about FTS_MERGE_PAGES pages in its own transaction; True when it
        changed something (call again). Incremental (a positive page count): FTS5 merges a level
        holding `usermerge` (4) segments, or goes on with a merge under way. `whole` (a negative
        count): every segment is put on one level and merged into one, as 'optimize' does, the
        merge carried on by the next steps of either kind."""
        if self.engine == "postgresql":
            return False          # (a GIN index needs no merging by hand)
        before = self.conn.total_changes
        with self.transaction():
            self.conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('merge', ?)",
                              [-FTS_MERGE_PAGES if whole else FTS_MERGE_PAGES])
        return self.conn.total_changes - before > 1

    def set_fts_automerge(self, on: bool) -> None:
        """FTS5's merging as it writes: on (FTS_AUTOMERGE) or off (0), in a transaction of its own
        (the setting is kept in the file; a transaction's last flush happens at its commit)."""
        if self.engine == "postgresql":
            return
        with self.transaction():
            self.conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('automerge', ?)",
                              [FTS_AUTOMERGE if on else 0])

    def fts_mark(self) -> int | None:
        """FTS5's write counter when the last upkeep ended (marks 'fts_written'); None: none yet."""
        row = self.conn.execute("SELECT rowid_upto FROM marks WHERE name = 'fts_written'").fetchone()
        return row[0] if row else None

    def set_fts_mark(self, written: int, now: datetime) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM marks WHERE name = 'fts_written'")
            self.conn.execute("INSERT INTO marks (name, rowid_upto, at) VALUES ('fts_written', ?, ?)",
                              [written, iso(now)])

    def checkpoint(self) -> tuple[int, int, int]:
        """WAL checkpoint (TRUNCATE): (busy, log pages, pages checkpointed); busy = 1 when a reader
        kept it from finishing (it is tried again next time; nothing is lost)."""
        if self.engine == "postgresql":
            return (0, 0, 0)
        return tuple(self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())

    def optimize(self) -> None:
        self.conn.execute("ANALYZE" if self.engine == "postgresql" else "PRAGMA optimize")

    def auto_vacuum(self) -> str:
        if self.engine == "postgresql":
            return "autovacuum"
        return {0: "none", 1: "full", 2: "incremental"}[self.conn.execute("PRAGMA auto_vacuum").fetchone()[0]]

    def vacuum_step(self) -> int:
        """Give back up to VACUUM_PAGES free pages (incremental auto-vacuum only); how many were free."""
        free = self.conn.execute("PRAGMA freelist_count").fetchone()[0]
        if free:
            with self.transaction():
                self.conn.execute(f"PRAGMA incremental_vacuum({VACUUM_PAGES})").fetchall()
        return min(free, VACUUM_PAGES)

    def vacuum_full(self) -> None:
        """Rewrite the whole file, switching it to incremental auto-vacuum: once, for a file made
        before schema 10 (holds the write lock for its whole length; needs the file's size free).
        On PostgreSQL a plain VACUUM (no lock against writers)."""
        if self.engine == "postgresql":
            self.conn.execute("VACUUM")
            return
        self.conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        self.conn.execute("VACUUM")
