"""Emails: the stored messages of exactly-once delivery."""

from __future__ import annotations

from ..records import EmailRecord
from .connected import Connected
from .times import parse_time


class Emails(Connected):
    """Mixed into Store: uses `self.transaction()`."""

    # emails

    def emails_for(self, recipient: str) -> list[EmailRecord]:
        rows = self.query("SELECT * FROM emails WHERE recipient = ? ORDER BY digest_date, id", [recipient])
        fields = EmailRecord.__dataclass_fields__
        return [EmailRecord(**{**{k: r[k] for k in fields},
                               "period_start": parse_time(r["period_start"]), "period_end": parse_time(r["period_end"]),
                               "sent_at": parse_time(r["sent_at"]),
                               "late": bool(r["late"]), "data_started": bool(r["data_started"])}) for r in rows]

    def add_email(self, row: dict) -> int:
        """Plain SQL (not sqlite-utils), so that it runs on PostgreSQL too."""
        with self.transaction():
            return self.conn.execute(f"INSERT INTO emails ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                                     list(row.values())).lastrowid

    def update_email(self, email_id: int, **fields) -> None:
        with self.transaction():
            self.conn.execute(f"UPDATE emails SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
                              [*fields.values(), email_id])

    def sends(self, limit: int = 50) -> list[dict]:
        return list(self.query(
            "SELECT digest_date, recipient, status, late, articles, attempts, last_error AS error, sent_at, "
            "message_id FROM emails ORDER BY digest_date DESC, id DESC LIMIT ?", [limit]))
