"""Trying topic rules: on a text, a batch, or the stored archive (`newsmon flag`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..config import Config, load_config
from ..records import Match
from ..stages.flag import TopicMatcher
from ..topics import DEFAULT_TOPICS
from .archive import opened


def matcher_for(config_path: Path) -> TopicMatcher:
    """The topics of the config when the file exists, else the built-in defaults."""
    return TopicMatcher(load_config(config_path).topics if config_path.exists() else DEFAULT_TOPICS)


def match_json(m: Match) -> dict:
    return {"topic": m.topic, "term": m.term, "field": m.field, "start": m.start, "end": m.end,
            "matched": m.matched, "sentence": m.sentence}


@dataclass(frozen=True, slots=True)
class TopicChange:
    id: str
    url: str | None
    title: str
    first_seen: str
    before: list[str]
    after: list[str]


def replay(config: Config, since: datetime, apply: bool) -> list[TopicChange]:
    """The stored originals since `since` whose topics the current rules change; stored when `apply`."""
    matcher = TopicMatcher(config.topics)
    with opened(config) as store:
        changes = []
        for row in store.originals_since(since):
            matches = matcher.match(row.title, row.text)
            new = list(dict.fromkeys(m.topic for m in matches))
            old = list(row.topics)
            if sorted(new) != sorted(old):
                changes.append((TopicChange(row.id, row.url, row.title, row.first_seen.isoformat(timespec="seconds"),
                                            old, new), matches))
        if apply and changes:
            with store.transaction():
                for change, matches in changes:
                    store.replace_matches(change.id, matches)
    return [c for c, _ in changes]
