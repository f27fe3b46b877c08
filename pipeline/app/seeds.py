"""The seed corpus: every *.txt in the seeds folder is one article already known.

Seeds are cleaned like articles, so a republished copy fingerprints the same; they are referred
to as "seeds/<file name>" everywhere (database, digest, JSON).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ..stages.clean import clean_text, fingerprint

log = logging.getLogger(__name__)


def load_seeds(directory: Path, boilerplate: re.Pattern) -> tuple[list[tuple[str, str, str]], list[str]]:
    """((ref, fingerprint, cleaned text) rows, problems). A bad file is a problem, not a crash."""
    rows, problems = [], []
    if not directory.is_dir():
        return rows, [f"seeds folder {directory} does not exist"]
    for path in sorted(directory.glob("*.txt")):
        try:
            text = clean_text(path.read_text(encoding="utf-8", errors="replace"), boilerplate)
        except OSError as e:
            problems.append(f"{path}: cannot read: {e.strerror}")
            continue
        if text:
            rows.append((f"seeds/{path.name}", fingerprint(text), text))
    return rows, problems


def sync_seeds(store, directory: Path, boilerplate: re.Pattern, now) -> list[str]:
    """Load the seed folder into the store (idempotent); returns the problems met."""
    rows, problems = load_seeds(directory, boilerplate)
    store.upsert_seeds(rows, now)
    for p in problems:
        log.warning("seeds: %s", p)
    return problems
