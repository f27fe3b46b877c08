"""Emails: the stored messages of exactly-once delivery."""

from __future__ import annotations

import sqlite_utils


class Emails:
    """Mixed into Store: uses `self.db` (sqlite_utils.Database) and `self.transaction()`."""

    db: sqlite_utils.Database

    # emails

    def emails_for(self, recipient: str) -> list[dict]:
        return list(self.db.query("SELECT * FROM emails WHERE recipient = ? ORDER BY digest_date, id",
                                  [recipient]))

    def add_email(self, row: dict) -> int:
        with self.transaction():
            return self.db["emails"].insert(row).last_pk

    def update_email(self, email_id: int, **fields) -> None:
        with self.transaction():
            self.db["emails"].update(email_id, fields)

    def sends(self, limit: int = 50) -> list[dict]:
        return list(self.db.query(
            "SELECT digest_date, recipient, status, late, articles, attempts, last_error AS error, sent_at, "
            "message_id FROM emails ORDER BY digest_date DESC, id DESC LIMIT ?", [limit]))
