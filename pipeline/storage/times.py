"""Keys and times as stored."""

from __future__ import annotations

import hashlib
from datetime import datetime


def article_id(identity: str) -> str:
    return hashlib.sha1(identity.encode("utf-8")).hexdigest()


def iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat(timespec="seconds")


def parse_time(value: str | None) -> datetime | None:
    """A stored timestamp back as an aware datetime."""
    return datetime.fromisoformat(value) if value else None
