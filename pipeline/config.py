"""Configuration: one TOML file, validated once at load.

Every option has one default, one type and one check, in the tables below (OPTIONS, FEED_KEYS,
TOPIC_KEYS). A problem is a ConfigError naming the file, the line and the key, and saying what is
expected. Relative paths resolve against the folder of the config file.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from .channels import AlertingOptions, AlertRule, ChannelConfig, parse_channels
from .errors import ConfigError, UsageError, did_you_mean
from .options import (  # noqa: F401
    DEFAULT_BOILERPLATE,
    DIGEST_FORMATS,
    FEED_KEYS,
    OPTIONS,
    RECIPIENT_KEYS,
    TOPIC_KEYS,
    TOPICS_KEYS,
    WEB_USER_KEYS,
    defaults,
)
from .sanitize import SECRETS
from .settings import (  # noqa: F401  (re-exported: the sections' records)
    EmailOptions,
    ExtractOptions,
    FeedConfig,
    FetchOptions,
    Recipient,
    RetentionOptions,
    WebOptions,
    WebUser,
)
from .topics import DEFAULT_TOPICS, TopicRule

DEFAULT_CONFIG_PATH = Path("config/newsmon.toml")




@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None              # the file it came from, for messages
    database: Path
    seeds_dir: Path
    digest_dir: Path
    digest_formats: tuple[str, ...]
    timezone: str
    templates_dir: Path | None
    fetch: FetchOptions
    extract: ExtractOptions
    boilerplate: tuple[str, ...]
    email: EmailOptions
    feeds: tuple[FeedConfig, ...]
    topics: tuple[TopicRule, ...]
    channels: tuple[ChannelConfig, ...] = ()
    alerts: tuple[AlertRule, ...] = ()
    alerting: AlertingOptions | None = None
    base_url: str | None = None    # where the digest files are served ([digest] base_url)
    images: bool = True            # lead images in the HTML digest files ([digest] images)
    web: WebOptions = field(default_factory=lambda: WebOptions("127.0.0.1", 8080, 5))  # `newsmon web`
    retention: RetentionOptions = RetentionOptions()   # [storage] keep_*, [dedup] window_days
    embeddings: Path | None = None  # [stories] embeddings: the optional semantic backend's model folder
    storage_url: str | None = None           # [storage] url: PostgreSQL instead of `database`
    storage_password_env: str | None = None  # [storage] password_env
    claim_lease_seconds: float = 600         # [storage] claim_lease_seconds: PostgreSQL's feed claims

    @property
    def store(self) -> Path | str:
        """What Store.open takes: the PostgreSQL URL when one is set, else the SQLite file."""
        return self.storage_url or self.database

    @property
    def store_password(self) -> str | None:
        return os.environ.get(self.storage_password_env) if self.storage_password_env else None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def labels(self) -> dict[str, str]:
        """Topic id -> the label the digest and messages show."""
        return {t.id: t.label for t in self.topics}

    def topic_id(self, value: str) -> str:
        """A topic named by its id or its label ("territory", "Territory", "NATO"); an unknown
        name is a UsageError that names the nearest ones."""
        for t in self.topics:
            if value == t.id or value.casefold() in (t.id.casefold(), t.label.casefold()):
                return t.id
        raise UsageError(f"no topic named {value!r}{did_you_mean(value, [t.id for t in self.topics] + [t.label for t in self.topics])}; "
                         f"topics: {', '.join(f'{t.id} ({t.label})' for t in self.topics)}")

    def feed_name(self, value: str) -> str:
        """A feed named by its config name or its `title`; an unknown name is a UsageError that
        names the nearest ones."""
        for f in self.feeds:
            if value == f.name or value.casefold() in (f.name.casefold(), (f.title or "").casefold()):
                return f.name
        raise UsageError(f"no feed named {value!r}{did_you_mean(value, [f.name for f in self.feeds])}; "
                         "see `newsmon feeds list`")

    @property
    def send_at(self) -> tuple[int, int]:
        hour, minute = self.email.send_at.split(":")
        return int(hour), int(minute)

    def interval(self, feed: FeedConfig) -> float:
        """Minutes between two checks of a feed."""
        return feed.interval_minutes or self.fetch.interval_minutes

    def fetches_pages(self, feed: FeedConfig) -> bool:
        """Whether a feed's items are read from their pages ([extract] fetch_pages, or the feed's own)."""
        return self.extract.fetch_pages if feed.fetch_pages is None else feed.fetch_pages


_TOPIC_ID = re.compile(r"^[a-z][a-z0-9_-]*$")


class _Locator:
    """Finds the line of a key in the TOML text, so errors can point at it.

    tomllib keeps no positions; a light scan of table headers and `key =` lines is enough for the
    files operators write by hand.
    """

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")

    def __init__(self, text: str):
        self.lines = text.splitlines()

    def line_of(self, table: str | None, key: str | None = None, index: int | None = None) -> int | None:
        current, seen = None, -1
        start = None
        for n, line in enumerate(self.lines, 1):
            m = self._HEADER.match(line)
            if m:
                name = m.group(2).replace('"', "").replace(" ", "")
                if name == table:
                    seen += 1
                    current = name if index is None or seen == index else None
                    if current and key is None:
                        return n
                    if current:
                        start = n
                else:
                    current = None
                continue
            if current == table and key and re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
                return n
        return start


class _Problems:
    """Strict (raise the first problem) or collecting (for `newsmon config check`: report all)."""

    def __init__(self, collect: list[ConfigError] | None):
        self.collected = collect

    def __call__(self, error: ConfigError) -> None:
        if self.collected is None:
            raise error
        self.collected.append(error)


def _check_table(raw: Any, keys: dict, where: str, locate: Callable[[str | None], int | None],
                 file: str, fail: _Problems) -> dict[str, Any]:
    """Checked values of one table; a bad value is reported and its default used instead."""
    out = {key: o.default for key, o in keys.items()}
    if not isinstance(raw, dict):
        fail(ConfigError("expected a table", file=file, line=locate(None), key=where))
        return out
    for key in raw:
        if key not in keys:
            fail(ConfigError(f"unknown key; known keys are: {', '.join(keys)}", file=file,
                             line=locate(key), key=f"{where}.{key}"))
    for key, option in keys.items():
        check = option.check
        if key not in raw:
            continue
        if check is None:
            out[key] = raw[key]
            continue
        try:
            out[key] = check(raw[key])
        except ValueError as e:
            fail(ConfigError(str(e), file=file, line=locate(key), key=f"{where}.{key}"))
    return out


def load_config(path: str | Path, problems: list[ConfigError] | None = None) -> Config | None:
    """The validated config. With a `problems` list, every problem is appended to it instead of
    the first being raised, and the config returned is a best effort, defaults standing in for
    bad values (for `newsmon config check`, which goes on to check folders and files)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        error = ConfigError("file not found (pass --config PATH)", file=str(path))
    except (OSError, UnicodeDecodeError) as e:
        error = ConfigError(f"cannot read: {e}", file=str(path))
    else:
        return parse_config(text, path, problems)
    _Problems(problems)(error)
    return None


def parse_config(text: str, path: Path, problems: list[ConfigError] | None = None) -> Config | None:
    """Validate TOML text; `path` names the file in errors and anchors relative paths."""
    file = str(path)
    fail = _Problems(problems)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+)", str(e))
        fail(ConfigError(f"not valid TOML: {e}", file=file, line=int(m.group(1)) if m else None))
        return None
    loc = _Locator(text)
    base = path.resolve().parent

    known = set(OPTIONS) | {"feeds", "topics", "channels", "alerts"}
    for section in raw:
        if section not in known:
            fail(ConfigError(f"unknown section; known sections are: {', '.join(sorted(known))}",
                             file=file, line=loc.line_of(section), key=section))
    values = {
        section: _check_table(raw.get(section, {}), keys, section,
                              lambda k, s=section: loc.line_of(s, k), file, fail)
        for section, keys in OPTIONS.items()
    }

    raw_feeds = raw.get("feeds", [])
    if not isinstance(raw_feeds, list):
        fail(ConfigError("expected [[feeds]] tables", file=file, line=loc.line_of("feeds"), key="feeds"))
        raw_feeds = []
    feeds, names, urls = [], set(), set()
    for i, item in enumerate(raw_feeds):
        locate = lambda k, i=i: loc.line_of("feeds", k, i)  # noqa: E731
        f = _check_table(item, FEED_KEYS, f"feeds[{i + 1}]", locate, file, fail)
        missing = [k for k in ("name", "url") if f[k] is None]
        for required in missing:
            fail(ConfigError("missing; every [[feeds]] needs a name and a url", file=file,
                             line=locate(None), key=f"feeds[{i + 1}].{required}"))
        if missing:
            continue
        if f["name"] in names:
            fail(ConfigError(f"duplicate feed name {f['name']!r}", file=file, line=locate("name"),
                             key=f"feeds[{i + 1}].name"))
        if f["url"] in urls:
            fail(ConfigError(f"duplicate feed url {f['url']!r}", file=file, line=locate("url"),
                             key=f"feeds[{i + 1}].url"))
        names.add(f["name"])
        urls.add(f["url"])
        feeds.append(FeedConfig(name=f["name"], url=f["url"], fetch_pages=f["fetch_pages"],
                                tags=f["tags"], enabled=f["enabled"],
                                interval_minutes=f["interval_minutes"], title=f["title"]))

    # User topics extend the built-in ones (a table with a built-in's id replaces it), unless
    # [topics] builtin = false: adding one topic must not silently drop the others.
    raw_topics = raw.get("topics")
    topics: tuple[TopicRule, ...] = DEFAULT_TOPICS
    if raw_topics is not None:
        if not isinstance(raw_topics, dict):
            fail(ConfigError("expected [topics.<id>] tables", file=file, line=loc.line_of("topics"),
                             key="topics"))
            raw_topics = {}
        settings = _check_table({k: v for k, v in raw_topics.items() if not isinstance(v, dict)},
                                TOPICS_KEYS, "topics", lambda k: loc.line_of("topics", k), file, fail)
        found = []
        for tid, item in raw_topics.items():
            if not isinstance(item, dict):
                continue                     # a [topics] setting, checked above
            locate = lambda k, t=tid: loc.line_of(f"topics.{t}", k)  # noqa: E731
            if not _TOPIC_ID.match(tid):
                fail(ConfigError("topic ids are lower-case letters, digits, '-' and '_'", file=file,
                                 line=locate(None), key=f"topics.{tid}"))
            t = _check_table(item, TOPIC_KEYS, f"topics.{tid}", locate, file, fail)
            if not (t["terms"] or t["patterns"] or t["case_sensitive"]):
                fail(ConfigError("a topic needs at least one of terms, patterns, case_sensitive",
                                 file=file, line=locate(None), key=f"topics.{tid}"))
            found.append(TopicRule(id=tid, label=t["label"] or tid, terms=t["terms"],
                                   patterns=t["patterns"], exclude=t["exclude"],
                                   case_sensitive=t["case_sensitive"], alert=t["alert"]))
        mine = {t.id: t for t in found}
        builtin = tuple(mine.pop(t.id, t) for t in DEFAULT_TOPICS) if settings["builtin"] else ()
        topics = builtin + tuple(mine.values())

    email = values["email"]
    recipients = []
    raw_recipients = email["recipients"]
    if not isinstance(raw_recipients, (list, tuple)):
        fail(ConfigError("expected [[email.recipients]] tables", file=file,
                         line=loc.line_of("email", "recipients"), key="email.recipients"))
        raw_recipients = []
    topic_ids = {t.id for t in topics}
    for i, item in enumerate(raw_recipients):
        locate = lambda k, i=i: loc.line_of("email.recipients", k, i)  # noqa: E731
        r = _check_table(item, RECIPIENT_KEYS, f"email.recipients[{i + 1}]", locate, file, fail)
        if r["address"] is None:
            fail(ConfigError("missing; every [[email.recipients]] needs an address", file=file,
                             line=locate(None), key=f"email.recipients[{i + 1}].address"))
            continue
        unknown = [t for t in r["topics"] if t not in topic_ids]
        if unknown:
            fail(ConfigError(f"unknown topic id(s) {', '.join(unknown)}; known: {', '.join(sorted(topic_ids))}",
                             file=file, line=locate("topics"), key=f"email.recipients[{i + 1}].topics"))
        recipients.append(Recipient(r["address"], r["topics"]))
    if email["enabled"] and not recipients:
        fail(ConfigError("email is enabled but has no [[email.recipients]]", file=file,
                         line=loc.line_of("email", "enabled"), key="email.enabled"))
    channels, alerts = parse_channels(
        raw, topic_ids, lambda item, keys, where, at: _check_table(item, keys, where, at, file, fail),
        loc.line_of, file, fail)

    def resolve(p: str | None) -> Path | None:
        return None if p is None else (base / Path(p).expanduser()).resolve()

    fetch, extract = values["fetch"], values["extract"]
    embeddings = resolve(values["stories"]["embeddings"])
    if embeddings is not None:
        from .modelfolder import check_folder

        problem = check_folder(embeddings)
        if problem:
            fail(ConfigError(problem, file=file, line=loc.line_of("stories", "embeddings"), key="stories.embeddings"))
    return _with_secrets_registered(Config(
        path=path,
        database=resolve(values["storage"]["database"]),
        seeds_dir=resolve(values["seeds"]["directory"]),
        digest_dir=resolve(values["digest"]["directory"]),
        digest_formats=tuple(dict.fromkeys(values["digest"]["formats"])),
        timezone=values["digest"]["timezone"],
        templates_dir=resolve(values["digest"]["templates"]),
        fetch=FetchOptions(**fetch),
        extract=ExtractOptions(**extract),
        boilerplate=values["clean"]["boilerplate"],
        email=EmailOptions(
            enabled=email["enabled"], host=email["host"], port=email["port"], security=email["security"],
            username=email["username"], password_env=email["password_env"], sender=email["from"],
            send_at=email["send_at"], send_empty=email["send_empty"],
            stories_per_topic=email["stories_per_topic"], images=email["images"],
            timeout_seconds=email["timeout_seconds"],
            ca_file=str(resolve(email["ca_file"])) if email["ca_file"] else None,
            recipients=tuple(recipients)),
        feeds=tuple(feeds),
        topics=topics,
        channels=channels,
        alerts=alerts,
        alerting=AlertingOptions(**values["alerting"]),
        base_url=values["digest"]["base_url"], images=values["digest"]["images"],
        web=_web_options(values["web"], loc, file, fail),
        retention=RetentionOptions(
            keep_text_days=values["storage"]["keep_text_days"], keep_days=values["storage"]["keep_days"],
            disk_warning_days=values["storage"]["disk_warning_days"],
            window_days=values["dedup"]["window_days"]),
        embeddings=embeddings,
        storage_url=values["storage"]["url"], storage_password_env=values["storage"]["password_env"],
        claim_lease_seconds=values["storage"]["claim_lease_seconds"],
    ))


def _web_options(web: dict, loc: _Locator, file: str, fail: _Problems) -> WebOptions:
    """[web] with its [[web.users]] checked: each has a name (unique) and a password hash; a
    trusted user header needs the proxies it is believed from."""
    raw_users = web["users"] if isinstance(web["users"], (list, tuple)) else []
    if raw_users is not web["users"]:
        fail(ConfigError("expected [[web.users]] tables", file=file, line=loc.line_of("web", "users"), key="web.users"))
    users: list[WebUser] = []
    for i, item in enumerate(raw_users):
        locate = lambda k, i=i: loc.line_of("web.users", k, i)  # noqa: E731
        u = _check_table(item, WEB_USER_KEYS, f"web.users[{i + 1}]", locate, file, fail)
        for key in ("name", "password_hash"):
            if isinstance(item, dict) and key not in item:
                fail(ConfigError("missing; every [[web.users]] needs a name and a password_hash (`newsmon web "
                                 "passwd NAME` writes both)", file=file, line=locate(None), key=f"web.users[{i + 1}].{key}"))
        if u["name"] in {x.name for x in users}:
            fail(ConfigError(f"duplicate user name {u['name']!r}", file=file, line=locate("name"),
                             key=f"web.users[{i + 1}].name"))
        elif u["name"] and u["password_hash"]:
            users.append(WebUser(u["name"], u["password_hash"]))
    if web["trusted_user_header"] and not web["trusted_proxies"]:
        fail(ConfigError("a trusted user header needs trusted_proxies: the addresses of the proxies that set it",
                         file=file, line=loc.line_of("web", "trusted_user_header"), key="web.trusted_user_header"))
    return WebOptions(**{**web, "users": tuple(users)})


def _with_secrets_registered(config: Config) -> Config:
    """The config, once its secrets are known to the sanitiser (SECRETS): the SMTP password, each
    channel's `password_env` value and the secret parts of its URL, so that no error text, log
    line, row or file can show them from then on."""
    SECRETS.add(os.environ.get(config.email.password_env) if config.email.password_env else None,
                config.store_password,
                *(secret for channel in config.channels for secret in channel.url_secrets()))
    return config

