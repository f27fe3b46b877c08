"""Runs and seeds: what each run did, and the seed corpus."""

from __future__ import annotations

from datetime import datetime
from typing import Iterator

from ..records import FeedOutcome
from .connected import Connected
from .times import iso, parse_time


class Runs(Connected):
    """Mixed into Store: uses `self.transaction()`."""

    # runs

    def start_run(self, started: datetime) -> int:
        """A new run row. Runs hold the lock, so any other "running" row is one that was killed."""
        with self.transaction():
            self.conn.execute("UPDATE runs SET status = 'interrupted', "
                              "error = 'the process was killed or crashed before the run finished' "
                              "WHERE status = 'running'")
            return self.conn.execute("INSERT INTO runs (started, status) VALUES (?, 'running')",
                                     (iso(started),)).lastrowid

    def finish_run(self, run_id: int, finished: datetime, outcomes: tuple[FeedOutcome, ...],
                   error: str | None = None, status: str | None = None) -> None:
        with self.transaction():
            self.conn.execute(
                "UPDATE runs SET finished = ?, status = ?, feeds_ok = ?, feeds_failed = ?, new_articles = ?, "
                "duplicates = ?, error = ? WHERE id = ?",
                (iso(finished), status or ("failed" if error else "ok"), sum(o.status != "error" for o in outcomes),
                 sum(o.status == "error" for o in outcomes), sum(o.new - o.duplicates for o in outcomes),
                 sum(o.duplicates for o in outcomes), error, run_id))

    def archive_start(self) -> datetime | None:
        """When the database's life began: its first run, or its first article if stored earlier
        (None: nothing yet)."""
        times = [parse_time(t) for (t,) in self.conn.execute(
            "SELECT MIN(started) FROM runs UNION ALL SELECT MIN(first_seen) FROM articles") if t]
        return min(times) if times else None

    # --- seeds

    def upsert_seeds(self, seeds: list[tuple[str, str, str]], now: datetime) -> None:
        """(path, fingerprint, text) rows; idempotent, so every run can call it."""
        with self.transaction():
            existing = {r["path"]: r["fingerprint"] for r in self.query("SELECT path, fingerprint FROM seeds")}
            self.conn.executemany("INSERT OR REPLACE INTO seeds (path, fingerprint, text, loaded) VALUES (?, ?, ?, ?)",
                                  [(p, f, t, iso(now)) for p, f, t in seeds if existing.get(p) != f])

    def index_rows(self, since: datetime | None = None) -> Iterator[dict]:
        """Seeds, then original articles (stored since `since`, when given) oldest first, with
        their stored signatures."""
        yield from self.seed_rows()
        yield from self.query(
            "SELECT a.id AS key, coalesce(a.url, a.identity) AS ref, 'article' AS kind, a.first_seen, "
            "coalesce(a.story_id, a.id) AS story_id, a.fingerprint, g.version, g.minhash "
            "FROM articles a LEFT JOIN signatures g ON g.key = a.id "
            "WHERE a.duplicate_of IS NULL AND a.first_seen >= ? ORDER BY a.first_seen, a.id",
            [iso(since) if since else ""])

    def seed_rows(self) -> Iterator[dict]:
        """The seeds as index_rows gives them."""
        yield from self.query(
            "SELECT s.path AS key, s.path AS ref, 'seed' AS kind, NULL AS first_seen, NULL AS story_id, "
            "s.fingerprint, g.version, g.minhash FROM seeds s LEFT JOIN signatures g ON g.key = s.path "
            "ORDER BY s.path")

    def save_signatures(self, rows: list[tuple[str, str, bytes | None]]) -> None:
        """(key, version, minhash) rows; call inside a transaction."""
        self.conn.executemany("INSERT OR REPLACE INTO signatures (key, version, minhash) VALUES (?, ?, ?)", rows)

    def text_of(self, key: str) -> str | None:
        table, column = ("seeds", "path") if key.startswith("seeds/") else ("articles", "id")
        row = self.conn.execute(f"SELECT text FROM {table} WHERE {column} = ?", [key]).fetchone()
        return row[0] if row else None
