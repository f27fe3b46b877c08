"""Channels and alert rules as configured: `[[channels]]`, `[[alerts]]` and `[alerting]`.

A channel is an Apprise URL (Slack, Teams, Telegram, Matrix, Discord, ntfy, JSON webhooks,
email…) with what it receives (`alerts`, the `digest`) and an optional topic filter. Its secret
can stay out of the file: `password_env` names an environment variable whose value replaces
"{password}" in the URL when a message is sent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from .errors import ConfigError
from .options import ALERT_KEYS, CHANNEL_KEYS


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    name: str
    url: str                       # Apprise URL, "{password}" where the secret goes
    password_env: str | None       # the environment variable holding the secret
    topics: tuple[str, ...]        # only these topic ids; empty = every topic
    receives: tuple[str, ...]      # "alerts", "digest"

    def apprise_url(self) -> str:
        """The URL to hand to Apprise, secret included (never logged, never stored)."""
        if self.password_env:
            return self.url.replace("{password}", os.environ.get(self.password_env, ""))
        return self.url


@dataclass(frozen=True, slots=True)
class AlertRule:
    name: str
    topics: tuple[str, ...]        # any of these topics (empty: any story)
    terms: tuple[str, ...]         # any of these words in a report's title or text (empty: no condition)
    min_outlets: int               # the story has at least this many outlets
    channels: tuple[str, ...]      # where it goes; empty = every channel that receives alerts


@dataclass(frozen=True, slots=True)
class AlertingOptions:
    max_per_hour: int
    quiet_hours: str | None        # "22:00-07:00" in the digest zone
    outlets_update: int
    spike_hours: float
    spike_baseline_days: int
    spike_min_stories: int
    spike_p: float
    surge_outlets: int
    surge_hours: float
    cooldown_hours: float


def parse_channels(raw: dict, topic_ids: set[str], check_table: Callable, locate: Callable, file: str,
                   fail: Callable[[ConfigError], None]) -> tuple[tuple[ChannelConfig, ...], tuple[AlertRule, ...]]:
    """[[channels]] and [[alerts]], checked: names unique, topics and channels known, a secret's
    placeholder present."""
    channels: list[ChannelConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(_tables(raw, "channels", locate, file, fail)):
        where = f"channels[{i + 1}]"
        at = lambda k, i=i: locate("channels", k, i)  # noqa: E731
        c = check_table(item, CHANNEL_KEYS, where, at)
        problems = [(k, "missing; every [[channels]] needs a name and an Apprise url") for k in ("name", "url")
                    if c[k] is None]
        if c["name"] in seen:
            problems.append(("name", f"duplicate channel name {c['name']!r}"))
        seen.add(c["name"])
        if c["url"] and "://" not in c["url"]:
            problems.append(("url", 'expected an Apprise URL such as "slack://…", "ntfys://ntfy.sh/topic" '
                                    'or "json://host/path"'))
        if c["password_env"] and c["url"] and "{password}" not in c["url"]:
            problems.append(("url", 'password_env is set: put "{password}" in the url where the secret goes'))
        problems += _unknown_topics(c["topics"], topic_ids)
        for key, message in problems:
            fail(ConfigError(message, file=file, line=at(key), key=f"{where}.{key}"))
        if not problems:
            channels.append(ChannelConfig(c["name"], c["url"], c["password_env"], c["topics"], c["receives"]))
    rules: list[AlertRule] = []
    names = seen - {None}
    for i, item in enumerate(_tables(raw, "alerts", locate, file, fail)):
        where = f"alerts[{i + 1}]"
        at = lambda k, i=i: locate("alerts", k, i)  # noqa: E731
        a = check_table(item, ALERT_KEYS, where, at)
        problems = _unknown_topics(a["topics"], topic_ids)
        unknown = [n for n in a["channels"] if n not in names]
        if unknown:
            problems.append(("channels", f"unknown channel(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}"))
        for key, message in problems:
            fail(ConfigError(message, file=file, line=at(key), key=f"{where}.{key}"))
        rules.append(AlertRule(a["name"] or f"alert {i + 1}", a["topics"], a["terms"], a["min_outlets"], a["channels"]))
    return tuple(channels), tuple(rules)


def _tables(raw: dict, section: str, locate, file: str, fail) -> list[Any]:
    found = raw.get(section, [])
    if isinstance(found, list):
        return found
    fail(ConfigError(f"expected [[{section}]] tables", file=file, line=locate(section), key=section))
    return []


def _unknown_topics(topics: tuple[str, ...], known: set[str]) -> list[tuple[str, str]]:
    unknown = [t for t in topics if t not in known]
    return [("topics", f"unknown topic id(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")] if unknown else []
