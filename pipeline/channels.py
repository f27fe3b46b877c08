"""Channels and alert rules as configured: `[[channels]]`, `[[alerts]]` and `[alerting]`.

A channel is an Apprise URL (Slack, Teams, Telegram, Matrix, Discord, ntfy, JSON webhooks,
email…) with what it receives (`alerts`, the `digest`) and an optional topic filter. Its secret
can stay out of the file: `password_env` names an environment variable whose value replaces
"{password}" in the URL when a message is sent, percent-encoded (Apprise decodes every part of
a URL, so "p@ss:w%rd" travels as "p%40ss%3Aw%25rd").

What goes out is plain text that no service may read as markup: the URL asks Apprise for
`format=text` (so no plugin turns text into Markdown or HTML, nor rebuilds Slack's `<!channel>`
from escaped text), and `inert` escapes what the service itself still parses in plain text, by
the URL's scheme.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, unquote

from .errors import ConfigError
from .options import ALERT_KEYS, CHANNEL_KEYS
from .sanitize import SECRETS
from .topics import TopicRule


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    name: str
    url: str                       # Apprise URL, "{password}" where the secret goes
    password_env: str | None       # the environment variable holding the secret
    topics: tuple[str, ...]        # only these topic ids; empty = every topic
    receives: tuple[str, ...]      # "alerts", "digest"

    @property
    def scheme(self) -> str:
        """The service, as Apprise knows it ("slack", "discord", "ntfys"…)."""
        return self.url.partition("://")[0].lower()

    @property
    def dialect(self) -> str:
        """What the service parses in the text it is sent, for `inert`: its scheme, except Slack's
        Block Kit mode (`blocks=yes`), whose plain_text blocks parse nothing."""
        if self.scheme in ("slack", "slacks") and _BLOCKS.search(self.url.partition("?")[2]):
            return "text"
        return self.scheme

    def secret(self) -> str | None:
        """The value behind `password_env` (registered with SECRETS: it is masked wherever shown)."""
        value = os.environ.get(self.password_env, "") if self.password_env else None
        SECRETS.add(value)
        return value

    def apprise_url(self) -> str:
        """The URL to hand to Apprise, secret included, percent-encoded (never logged, never stored),
        with `format=text` in place of any format the URL asked for."""
        url = self.url
        if self.password_env:
            url = url.replace("{password}", quote(self.secret() or "", safe=""))
        base, _, query = url.partition("?")
        kept = [part for part in query.split("&") if part and not part.lower().startswith("format=")]
        return base + "?" + "&".join(kept + ["format=text"])

    def url_secrets(self) -> tuple[str, ...]:
        """The secret parts a reader of the URL can tell without knowing the service: the
        `password_env` value, the password of `user:password@`, and the values of query
        parameters named like a secret (token, pass, key, secret, auth, sig…). The tokens a
        service keeps in the path (Slack, Discord, Telegram…) are told by Apprise itself, when
        the URL is handed to it (app/notify.py)."""
        url = self.apprise_url()
        found = [self.secret() or ""]
        netloc = url.partition("://")[2].split("/", 1)[0].split("?", 1)[0]
        userinfo = netloc.rpartition("@")[0]
        if ":" in userinfo:
            found.append(unquote(userinfo.partition(":")[2]))
        query = url.partition("?")[2]
        found += [v for k, v in parse_qsl(query, keep_blank_values=False) if _SECRET_KEY.search(k)]
        return tuple(v for v in found if v)


_BLOCKS = re.compile(r"(?:^|&)blocks=(?:yes|true|1|on|enable)", re.IGNORECASE)
# Query parameters whose value is a secret ("?token=", "?pass=", "apikey", "access_token"…); not
# "auth", whose values in Apprise URLs are modes ("auth=basic"), words that would be masked everywhere.
_SECRET_KEY = re.compile(r"token|pass|secret|key|sig|pwd|cred", re.IGNORECASE)

# What each family of services reads as markup in plain text.
_SLACK = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})      # <!channel>, <url|text>, <@U1>
_MARKDOWN = re.compile(r"([\\`*_~\[\]<>#|])")                       # **bold**, [text](url), <@id>
_MENTION = re.compile(r"(?<!\w)@(?=\w)")                              # @everyone, @here, @room, @all
_URL = re.compile(r"https?://[^\s<>]+")
_ZERO_WIDTH = "\u200b"
_MARKDOWN_SCHEMES = {"discord", "mmost", "mmosts", "rocket", "rockets", "zulip", "msteams", "gchat",
                     "workflow", "workflows", "guilded", "revolt", "ryver", "kook", "misskey", "fluxer"}


def inert(text: str, scheme: str, title: bool = False) -> str:
    """`text` escaped so that the service at `scheme` (a channel's dialect) shows it as written:
    no mention pings, no link under other words, no formatting. Slack: `&`, `<`, `>` as entities (in a title Apprise
    does it itself); Discord, Mattermost, Rocket.Chat, Zulip, Teams…: Markdown syntax
    backslash-escaped outside URLs, `@everyone`-style mentions broken by a zero-width space;
    Matrix: mentions (`@room`) broken; Telegram: HTML-escaped (Apprise posts text with
    parse_mode HTML as it is); JSON, ntfy, form and XML webhooks carry text as it is."""
    if scheme in ("slack", "slacks"):
        return text if title else text.translate(_SLACK)
    if scheme in _MARKDOWN_SCHEMES:
        return _MENTION.sub("@" + _ZERO_WIDTH, _outside_urls(text, lambda part: _MARKDOWN.sub(r"\\\1", part)))
    if scheme in ("matrix", "matrixs"):
        return _MENTION.sub("@" + _ZERO_WIDTH, text)
    if scheme in ("tgram",):                 # sent with parse_mode HTML as it is, title included
        return html.escape(text, quote=False)
    return text


def _outside_urls(text: str, escape: Callable[[str], str]) -> str:
    """`escape` applied to the text between URLs: a URL stays whole, so it still links where it says."""
    out, last = [], 0
    for m in _URL.finditer(text):
        out += [escape(text[last:m.start()]), m.group(0)]
        last = m.end()
    return "".join(out + [escape(text[last:])])


@dataclass(frozen=True, slots=True)
class AlertRule:
    name: str
    topics: tuple[str, ...]        # any of these topics (empty: any story)
    terms: tuple[str, ...]         # any of these words in a report's title or text (empty: no condition)
    min_outlets: int               # the story has at least this many outlets
    channels: tuple[str, ...]      # where it goes; empty = every channel that receives alerts
    words: TopicRule | None = None # terms, case_sensitive and exclude as a topic rule: matched as topics are


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
        name = a["name"] or f"alert {i + 1}"
        words = (TopicRule(id=f"alert:{name}", label=name, terms=a["terms"], case_sensitive=a["case_sensitive"],
                           exclude=a["exclude"]) if a["terms"] or a["case_sensitive"] else None)
        rules.append(AlertRule(name, a["topics"], a["terms"] + a["case_sensitive"], a["min_outlets"], a["channels"],
                               words))
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
