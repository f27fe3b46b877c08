"""Runs and seeds: what each run did, and the seed corpus."""

from __future__ import annotations

from datetime import datetime
from typing import Iterator

import sqlite_utils

from ..records import FeedOutcome
from .times import iso


class Runs:
    """Mixed into Store: uses `self.db` (sqlite_utils.Database) and `self.transaction()`."""

    db: sqlite_utils.Database

    # runs

    def start_run(self, started: datetime) -> int:
        """A new run row. Runs hold the lock, so any other "running" row is one that was killed."""
        with self.transaction():
            self.db.execute("UPDATE runs SET status = 'interrupted', "
                            "error = 'the process was killed or crashed before the run finished' "
                            "WHERE status = 'running'")
            return self.db["runs"].insert({"started": iso(started), "status": "running"}).last_pk

    def finish_run(self, run_id: int, finished: datetime, outcomes: tuple[FeedOutcome, ...],
                   error: str | None = None, status: str | None = None) -> None:
        with self.transaction():
            self.db["runs"].update(run_id, {
                "finished": iso(finished),
                "status": status or ("failed" if error else "ok"),
                "feeds_ok": sum(o.status != "error" for o in outcomes),
                "feeds_failed": sum(o.status == "error" for o in outcomes),
                "new_articles": sum(o.new - o.duplicates for o in outcomes),
                "duplicates": sum(o.duplicates for o in outcomes),
                "error": error,
            })

    # --- seeds

    def upsert_seeds(self, seeds: list[tuple[str, str, str]], now: datetime) -> None:
        """(path, fingerprint, text) rows; idempotent, so every run can call it."""
        with self.transaction():
            existing = {r["path"]: r["fingerprint"] for r in self.db.query("SELECT path, fingerprint FROM seeds")}
            rows = [{"path": p, "fingerprint": f, "text": t, "loaded": iso(now)}
                    for p, f, t in seeds if existing.get(p) != f]
            if rows:
                self.db["seeds"].upsert_all(rows, pk="path")

    def index_rows(self) -> Iterator[dict]:
        """Seeds, then original articles oldest first, with their stored signatures."""
        yield from self.db.query(
            "SELECT s.path AS key, s.path AS ref, 'seed' AS kind, NULL AS first_seen, NULL AS story_id, "
            "s.fingerprint, g.version, g.minhash FROM seeds s LEFT JOIN signatures g ON g.key = s.path "
            "ORDER BY s.path")
        yield from self.db.query(
            "SELECT a.id AS key, coalesce(a.url, a.identity) AS ref, 'article' AS kind, a.first_seen, "
            "coalesce(a.story_id, a.id) AS story_id, a.fingerprint, g.version, g.minhash "
            "FROM articles a LEFT JOIN signatures g ON g.key = a.id "
            "WHERE a.duplicate_of IS NULL ORDER BY a.first_seen, a.id")

    def save_signatures(self, rows: list[tuple[str, str, bytes | None]]) -> None:
        """(key, version, minhash) rows; call inside a transaction."""
        self.db.conn.executemany("INSERT OR REPLACE INTO signatures (key, version, minhash) VALUES (?, ?, ?)", rows)

    def text_of(self, key: str) -> str | None:
        table, column = ("seeds", "path") if key.startswith("seeds/") else ("articles", "id")
        row = self.db.execute(f"SELECT text FROM {table} WHERE {column} = ?", [key]).fetchone()
        return row[0] if row else None
