"""Logging: one line per event on stderr, as text or JSON (for journald and log collectors).

Feed lines carry `feed` and `url` as fields (`extra=`), so a collector can filter on them;
every message is stripped of control characters, since feed data ends up in log lines.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from .sanitize import sanitize

NOISY = ("trafilatura", "htmldate", "courlan", "charset_normalizer", "asyncio", "apscheduler.executors",
         "apscheduler.scheduler")


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        return sanitize(super().format(record))


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                 "level": record.levelname.lower(), "logger": record.name,
                 "message": sanitize(record.getMessage())}
        for key in ("feed", "url"):
            if hasattr(record, key):
                event[key] = getattr(record, key)
        if record.exc_info:
            event["exception"] = sanitize(self.formatException(record.exc_info))
        return json.dumps(event, ensure_ascii=False)


def setup(level: int, fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    # The level is the handler's too: a library that lowers its own logger's level for a moment
    # (Apprise's LogCapture sets INFO to hear why a service refused) would otherwise have its
    # records propagate to this handler unfiltered, and print INFO lines under -q.
    handler.setLevel(level)
    handler.setFormatter(JSONFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in NOISY:
        logging.getLogger(name).setLevel(max(level, logging.WARNING) if name.startswith("apscheduler") else logging.ERROR)
