"""The clock (shared vocabulary): all datetimes are timezone-aware UTC inside newsmon.

Code that needs "now" takes a clock as a parameter (default `utcnow`), so tests fix it.
"""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
