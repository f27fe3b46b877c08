"""Chat messages: stored pending with their identity before they are sent, marked after."""

from __future__ import annotations

from datetime import datetime

from ..records import MessageRecord
from ..sanitize import one_line
from .connected import Connected
from .times import iso, parse_time


def _record(r: dict) -> MessageRecord:
    return MessageRecord(r["id"], r["channel"], r["kind"], r["key"], r["title"], r["body"], r["status"],
                         r["attempts"], parse_time(r["next_try"]), r["last_error"], parse_time(r["created"]),
                         parse_time(r["sent_at"]))


class Messages(Connected):
    """Mixed into Store."""

    def queue_message(self, channel: str, kind: str, key: str, title: str, body: str, now: datetime,
                      status: str = "pending") -> bool:
        """Store a message (pending, unless told otherwise); False when one with this identity
        exists (never queued twice)."""
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO messages (channel, kind, key, title, body, status, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", (channel, kind, key, title, body, status, iso(now)))
        return cursor.rowcount == 1

    def message(self, channel: str, kind: str, key: str) -> MessageRecord | None:
        """The message with this identity, whatever its status."""
        row = next(self.query("SELECT * FROM messages WHERE channel = ? AND kind = ? AND key = ?",
                              [channel, kind, key]), None)
        return _record(row) if row else None

    def last_message(self, channel: str, kind: str, key_prefix: str) -> MessageRecord | None:
        row = next(self.query("SELECT * FROM messages WHERE channel = ? AND kind = ? AND key LIKE ? "
                              "ORDER BY created DESC LIMIT 1", [channel, kind, key_prefix + "%"]), None)
        return _record(row) if row else None

    def pending_messages(self, channel: str) -> list[MessageRecord]:
        return [_record(r) for r in self.query(
            "SELECT * FROM messages WHERE channel = ? AND status = 'pending' ORDER BY id", [channel])]

    def sent_since(self, channel: str, since: datetime, but: str | None = None) -> int:
        """Messages that went out to a channel since `since` (a batch counts once), those of
        kind `but` left out."""
        return self.conn.execute("SELECT count(*) FROM messages WHERE channel = ? AND status = 'sent' AND sent_at >= ? "
                                 "AND kind IS NOT ?", [channel, iso(since), but]).fetchone()[0]

    def mark_message(self, message_id: int, status: str, now: datetime, error: str | None = None,
                     next_try: datetime | None = None) -> None:
        """sent | batched | failed, or still pending with an error and when to retry. The error is
        a service's text: sanitised (and its secrets masked) as every stored error is."""
        self.conn.execute(
            "UPDATE messages SET status = ?, attempts = attempts + ?, last_error = ?, next_try = ?, "
            "sent_at = CASE WHEN ? IN ('sent', 'batched') THEN ? ELSE sent_at END WHERE id = ?",
            (status, 0 if status == "batched" else 1, one_line(error) if error else error, iso(next_try), status, iso(now), message_id))

    def messages_between(self, start: datetime, end: datetime) -> list[MessageRecord]:
        """Messages created in [start, end) or still pending: what the day's digest lists."""
        return [_record(r) for r in self.query(
            "SELECT * FROM messages WHERE (created >= ? AND created < ?) OR status = 'pending' ORDER BY id",
            [iso(start), iso(end)])]

    def channel_errors(self) -> dict[str, str]:
        """channel -> the latest error of a message still pending or failed."""
        return {r["channel"]: r["last_error"] for r in self.query(
            "SELECT channel, last_error FROM messages WHERE status IN ('pending', 'failed') "
            "AND last_error IS NOT NULL ORDER BY id")}

    def message_counts(self) -> dict[str, dict[str, int]]:
        """channel -> status -> count, for `newsmon status`."""
        out: dict[str, dict[str, int]] = {}
        for r in self.query("SELECT channel, status, count(*) AS n FROM messages GROUP BY channel, status"):
            out.setdefault(r["channel"], {})[r["status"]] = r["n"]
        return out
