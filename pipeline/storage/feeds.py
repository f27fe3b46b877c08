"""Feeds: their stored state (typed FeedState), health changes, events, walls."""

from __future__ import annotations

from datetime import datetime

from ..records import DayEvent, FeedChange, FeedOutcome, FeedState
from ..sanitize import one_line
from .connected import Connected
from .times import iso, parse_time


class Feeds(Connected):
    """Mixed into Store: uses `self.transaction()`."""

    # feeds

    _FEED_TIMES = ("error_since", "last_checked", "last_success", "last_new_item", "first_checked", "next_due")

    def _feed(self, row: dict) -> FeedState:
        values = {k: row[k] for k in FeedState.__dataclass_fields__ if k in row}
        for k in self._FEED_TIMES:
            values[k] = parse_time(values.get(k))
        values["consecutive_failures"] = values.get("consecutive_failures") or 0
        values["items_seen"] = values.get("items_seen") or 0
        return FeedState(**values)

    def feeds(self) -> list[FeedState]:
        return [self._feed(r) for r in self.query("SELECT * FROM feeds ORDER BY name")]

    def ensure_feed(self, name: str, url: str) -> FeedState:
        """The stored state of a configured feed; a changed config URL starts it afresh
        (validators, redirect, 410 and failure streak forgotten)."""
        return self.ensure_feeds([(name, url)])[name]

    def ensure_feeds(self, configured: list[tuple[str, str]]) -> dict[str, FeedState]:
        """ensure_feed for many feeds: a query per 500 and one transaction for those new or moved
        in the config, instead of a query and a commit per feed."""
        stored = self._feed_rows([name for name, _ in configured])
        fresh = [(name, url) for name, url in configured
                 if name not in stored or stored[name]["configured_url"] != url]
        if fresh:
            with self.transaction():
                self.conn.executemany(
                    "INSERT INTO feeds (name, url, configured_url, consecutive_failures) VALUES (?, ?, ?, 0) "
                    "ON CONFLICT (name) DO UPDATE SET url = excluded.url, configured_url = excluded.url, "
                    "etag = NULL, last_modified = NULL, disabled = NULL, next_due = NULL, "
                    "consecutive_failures = 0, error_since = NULL WHERE configured_url <> excluded.configured_url",
                    [(n, u, u) for n, u in fresh])   # (another worker may have just added it: kept as it is)
            stored.update(self._feed_rows([name for name, _ in fresh]))
        return {name: self._feed(stored[name]) for name, _ in configured}

    def _feed_rows(self, names: list[str]) -> dict[str, dict]:
        rows: dict[str, dict] = {}
        for start in range(0, len(names), 500):
            part = names[start:start + 500]
            rows.update((r["name"], r) for r in self.query(
                f"SELECT * FROM feeds WHERE name IN ({','.join('?' * len(part))})", part))
        return rows

    # claims: several workers on one PostgreSQL database (app/claims.py)

    def claim_feed(self, name: str, worker: str, now: datetime, until: datetime) -> FeedState | None:
        """Claim a feed nobody holds (or whose claim's lease ran out) until `until`; its state as
        stored, or None when another worker holds it. One autocommitted statement: the row lock
        (FOR UPDATE SKIP LOCKED) makes two workers asking at once get it once."""
        rows = list(self.query(
            "UPDATE feeds SET claimed_by = ?, claimed_until = ? WHERE name IN (SELECT name FROM feeds "
            "WHERE name = ? AND (claimed_until IS NULL OR claimed_until < ?) FOR UPDATE SKIP LOCKED) "
            "RETURNING *", [worker, iso(until), name, iso(now)]))
        return self._feed(rows[0]) if rows else None

    def release_claims(self, worker: str, name: str | None = None) -> None:
        """Give back this worker's claim on a feed (all its claims without `name`)."""
        self.conn.execute("UPDATE feeds SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?"
                          + (" AND name = ?" if name else ""), [worker] + ([name] if name else []))

    def add_event(self, feed: str, at: datetime, kind: str, detail: str) -> None:
        self.conn.execute("INSERT INTO feed_events (feed, at, kind, detail) VALUES (?, ?, ?, ?)",
                          (feed, iso(at), kind, detail))

    def events_between(self, start: datetime, end: datetime) -> list[DayEvent]:
        return [DayEvent(r["feed"], parse_time(r["at"]), r["kind"], r["detail"]) for r in self.query(
            "SELECT * FROM feed_events WHERE at >= ? AND at < ? ORDER BY at, id", [iso(start), iso(end)])]

    def known(self, identities: list[str], canonicals: list[str]) -> set[str]:
        """Which of these identities and canonical URLs are stored: one query for a whole feed."""
        found: set[str] = set()
        for column, values in (("identity", identities), ("canonical_url", canonicals)):
            for start in range(0, len(values), 500):
                part = values[start:start + 500]
                marks = ",".join("?" * len(part))
                found.update(r[0] for r in self.conn.execute(
                    f"SELECT {column} FROM articles WHERE {column} IN ({marks})", part))
        return found

    def titles_of(self, identities: list[str]) -> dict[str, str]:
        """identity -> title of the stored articles among these identities."""
        out: dict[str, str] = {}
        for start in range(0, len(identities), 500):
            part = identities[start:start + 500]
            marks = ",".join("?" * len(part))
            out.update(self.conn.execute(f"SELECT identity, title FROM articles WHERE identity IN ({marks})", part))
        return out

    def save_feed(self, run_id: int, outcome: FeedOutcome, change: FeedChange, now: datetime) -> None:
        """Persist one check (health.transition's change), its events and the per-run row, and
        release the feed's claim (PostgreSQL's workers) in the same transaction.
        Call inside the feed's transaction. What servers said is sanitised at this edge too."""
        state = change.state
        columns = [f for f in FeedState.__dataclass_fields__ if f != "name"]
        values = [iso(getattr(state, c)) if c in self._FEED_TIMES else getattr(state, c) for c in columns]
        values = [one_line(v) if isinstance(v, str) and c in ("title", "last_error", "warning", "url") else v
                  for c, v in zip(columns, values)]
        self.conn.execute(f"UPDATE feeds SET {', '.join(f'{c} = ?' for c in columns)}, claimed_by = NULL, "
                          "claimed_until = NULL WHERE name = ?", values + [state.name])   # (its claim ends with it)
        for event in change.events:
            self.add_event(state.name, now, event.kind, one_line(event.detail))
        self.conn.execute(
            "INSERT OR REPLACE INTO run_feeds (run_id, feed, status, error, new, duplicates, extraction_failures, "
            "warning) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, outcome.name, outcome.status, outcome.error and one_line(outcome.error), outcome.new,
             outcome.duplicates, outcome.extraction_failures, outcome.warning and one_line(outcome.warning)])

    def page_urls_by_fingerprint(self, fingerprints: set[str], since: datetime) -> list[tuple[str, str]]:
        """(fingerprint, canonical URL) of articles stored since `since` with a page text of one of
        these fingerprints: what tells a consent or bot wall from an article."""
        values, out = sorted(fingerprints), []
        for start in range(0, len(values), 500):
            part = values[start:start + 500]
            marks = ",".join("?" * len(part))
            out.extend(self.conn.execute(
                f"SELECT fingerprint, coalesce(canonical_url, url) FROM articles WHERE fingerprint IN ({marks}) "
                "AND text_source = 'page' AND first_seen >= ?", part + [iso(since)]).fetchall())
        return [(fp, url) for fp, url in out if url]

    def known_walls(self, keys: set[tuple[str, str]], since: datetime) -> set[tuple[str, str]]:
        """Which (host, fingerprint) pairs were found to be walls since `since`."""
        rows = self.conn.execute("SELECT host, fingerprint FROM walls WHERE last_seen >= ?", [iso(since)])
        return {(h, f) for h, f in rows} & keys

    def remember_walls(self, keys: set[tuple[str, str]], now: datetime) -> None:
        """Call inside a transaction."""
        self.conn.executemany(
            "INSERT INTO walls (host, fingerprint, last_seen) VALUES (?, ?, ?) "
            "ON CONFLICT (host, fingerprint) DO UPDATE SET last_seen = excluded.last_seen",
            [(h, f, iso(now)) for h, f in keys])
