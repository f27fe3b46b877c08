"""Value checks for the config: each takes the raw TOML value and returns it converted, or raises
ValueError saying what is expected (config.py adds the file, line and key). Shared vocabulary.

Numbers must be finite and at most MAX_NUMBER: `interval_minutes = 1e308` or `timeout_seconds =
inf` pass TOML but no timer, so they are refused where the file is read, not in the middle of a run.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .topics import DEFAULT_TOPICS  # noqa: F401  (the topics' defaults live with them)

DIGEST_FORMATS = ("html", "md", "json", "txt")
MAX_NUMBER = 1_000_000          # a million seconds, minutes or days: far past any sane setting


class Option(NamedTuple):
    """One option: how it is checked, its default, and what it means (the table in docs/configuration.md)."""

    check: Callable[[Any], Any] | None
    default: Any
    meaning: str = ""


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("expected true or false")
    return v


def _int(minimum: int, maximum: int = 10**12) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not minimum <= v <= maximum:
            raise ValueError(f"expected a whole number >= {minimum}" + (f" and <= {maximum}" if maximum < 10**12 else ""))
        return v
    return check


def _number(minimum: float, maximum: float = MAX_NUMBER) -> Callable[[Any], float]:
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or not minimum < v <= maximum:
            raise ValueError(f"expected a number > {minimum:g} and <= {maximum:g}")
        return float(v)
    return check


def _str(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError("expected a non-empty string")
    return v


def _path(v: Any) -> str:
    return _str(v)


def _list(item: Callable[[Any], Any]) -> Callable[[Any], tuple]:
    def check(v: Any) -> tuple:
        if not isinstance(v, list):
            raise ValueError("expected a list")
        out = []
        for i, x in enumerate(v):
            try:
                out.append(item(x))
            except ValueError as e:
                raise ValueError(f"item {i + 1} ({x!r}): {e}") from None
        return tuple(out)
    return check


def _regex(v: Any) -> str:
    v = _str(v)
    try:
        re.compile(v)
    except re.error as e:
        raise ValueError(f"not a valid regular expression: {e}") from None
    return v


def _timezone(v: Any) -> str:
    v = _str(v)
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone name such as 'Europe/Kyiv' or 'UTC'") from None
    return v


def _format(v: Any) -> str:
    if v not in DIGEST_FORMATS:
        raise ValueError(f"expected one of {', '.join(DIGEST_FORMATS)}")
    return v


def _send_time(v: Any) -> str:
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", _str(v).strip())
    if not m:
        raise ValueError("expected a time of day as \"HH:MM\", e.g. \"07:00\"")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def _choice(*options: str) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if v not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return v
    return check


def _host(v: Any) -> str:
    v = _str(v)
    if not re.fullmatch(r"[A-Za-z0-9.:\-\[\]]+", v):
        raise ValueError("expected an IP address or a host name")
    return v


def _ip(v: Any) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_address(_str(v).strip("[]")))
    except ValueError:
        raise ValueError("expected an IP address such as \"127.0.0.1\" or \"::1\"") from None


def _header(v: Any) -> str:
    if not re.fullmatch(r"[A-Za-z0-9-]+", _str(v)):
        raise ValueError('expected an HTTP header name such as "X-Remote-User"')
    return v.lower()


def _password_hash(v: Any) -> str:
    """A self-describing scrypt hash as `newsmon web passwd` writes it (web/passwords.py)."""
    if not re.fullmatch(r"\$scrypt\$ln=\d+,r=\d+,p=\d+\$[A-Za-z0-9+/.]+\$[A-Za-z0-9+/.]+", _str(v)):
        raise ValueError('expected "$scrypt$ln=…,r=…,p=…$salt$hash" as `newsmon web passwd NAME` writes it')
    return v


def _user_name(v: Any) -> str:
    if not re.fullmatch(r"[A-Za-z0-9._@-]{1,64}", _str(v)):
        raise ValueError("expected a user name of letters, digits and . _ @ - (at most 64)")
    return v


def _address(v: Any) -> str:
    """An address as SMTP can carry it: a non-ASCII domain is written in its IDNA form
    (desk@пример.укр -> desk@xn--e1afmkfd.xn--j1amh); a non-ASCII local part (dësk@) would need
    SMTPUTF8, which many relays lack, so it is refused here rather than failing at send time."""
    from email.utils import formataddr, parseaddr

    v = _str(v).strip()
    name, addr = parseaddr(v)
    if "@" not in addr or any(c in v for c in "\r\n"):
        raise ValueError("expected an email address such as desk@example.org or \"Desk <desk@example.org>\"")
    local, _, domain = addr.rpartition("@")
    if not local.isascii():
        raise ValueError(f"{addr!r}: the part before @ must be ASCII (SMTP without SMTPUTF8 cannot carry it)")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"{addr!r}: the domain is not a valid international domain name") from None
        return formataddr((name, f"{local}@{domain}")) if name else f"{local}@{domain}"
    return v


def address_key(address: str) -> str:
    """What identifies a recipient: the bare address, lower-cased ("News Desk <Desk@x>" and
    "desk@x" are one recipient, and get one email a day)."""
    from email.utils import parseaddr

    return (parseaddr(address)[1] or address).strip().lower()


def _private_networks(v: Any) -> bool | tuple[str, ...]:
    """true/false, or a list of CIDR ranges to allow (e.g. an intranet: ["10.20.0.0/16"])."""
    import ipaddress

    if isinstance(v, bool):
        return v
    if not isinstance(v, list):
        raise ValueError('expected true, false or a list of address ranges such as ["10.20.0.0/16"]')
    for item in v:
        try:
            ipaddress.ip_network(item, strict=False)
        except (TypeError, ValueError):
            raise ValueError(f"{item!r} is not an address range such as \"10.20.0.0/16\"") from None
    return tuple(v)


def _quiet_hours(v: Any) -> str:
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)-([01]?\d|2[0-3]):([0-5]\d)", _str(v).strip())
    if not m:
        raise ValueError('expected "HH:MM-HH:MM", e.g. "22:00-07:00"')
    return v.strip()


def _receives(v: Any) -> str:
    if v not in ("alerts", "digest"):
        raise ValueError('expected "alerts" or "digest"')
    return v


def _http_url(v: Any) -> str:
    v = _str(v).strip()
    parts = urlsplit(v)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL")
    return v


def _postgresql_url(v: Any) -> str:
    v = _str(v).strip()
    parts = urlsplit(v)
    if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
        raise ValueError("expected a postgresql://user@host:port/database URL")
    if parts.password is not None:
        raise ValueError("the URL holds a password: put it in an environment variable named by password_env")
    return v


# Whole lines that are site furniture, not article text. Matched case-insensitively against a
# stripped line; a match drops the line. Operators extend this in [clean] boilerplate.
DEFAULT_BOILERPLATE = (
    r"GIPHY App Key not set\..*",
    r"advertisement",
    r"(share|share this( article)?|tweet|print|email)( on \w+)?",
    r"(sign up|subscribe) (for|to) our( daily| weekly)? newsletter.*",
    r"read more:?.*",
    r"related( articles| stories)?:?",
    r"(©|\(c\)|copyright)\s*(\d{4})?.*all rights reserved\.?",
)


# --- the option table: section -> key -> Option(check, default, meaning)

OPTIONS: dict[str, dict[str, Option]] = {
    "storage": {
        "database": Option(_path, "../data/newsmon.db", 'SQLite file, created if missing'),
        "url": Option(_postgresql_url, None, 'a PostgreSQL database (postgresql://user@host:port/db) instead of '
                      'the SQLite file; see docs/scaling.md'),
        "password_env": Option(_str, None, "the environment variable holding the PostgreSQL user's password"),
        "claim_lease_seconds": Option(_number(1), 600, "on PostgreSQL: how long a worker's claim on a feed "
                                      "lasts; a feed claimed longer (its worker died) is taken over"),
        # at least a week: the story window (4 days) and near-duplicate checks read stored texts
        "keep_text_days": Option(_int(7), 90, "then an article's text is dropped; its title, URL, outlet, times, "
                                 "topics, story and email/message history stay (search finds its title only)"),
        "keep_days": Option(_int(7), None, 'then the whole article goes (search entry, topic matches, profile, '
                            'signature) unless a pending email or message needs it; none = forever'),
        "disk_warning_days": Option(_int(1), 30, '`status` and the digest warn when the disk fills within this many '
                                    "days at the last 7 days' rate"),
    },
    "dedup": {
        "window_days": Option(_int(1), 365, 'stored articles a new one is checked against for duplicates; '
                              'the seeds always'),
    },
    "seeds": {"directory": Option(_path, "../seeds", 'every `*.txt` there is one known article')},
    "digest": {
        "directory": Option(_path, "../reports", 'where digest files go'),
        "formats": Option(_list(_format), ("html", "md", "json", "txt"), 'which files to write'),
        "timezone": Option(_timezone, "UTC", 'the digest day is a calendar day in this zone'),
        "templates": Option(_path, None, 'a folder whose templates override the built-in ones'),
        "base_url": Option(_http_url, None, "where the digest files are served: the email and chat digests link to the day's HTML"),
        "images": Option(_bool, True, "show each story's lead image in the HTML digest (a link to the publisher's image, never inlined)"),
    },
    "fetch": {
        "timeout_seconds": Option(_number(0), 20.0, 'whole-request budget (connect + headers + body + redirects)'),
        "max_bytes": Option(_int(1024), 10_000_000, 'cap on the decoded feed body'),
        "allow_private_networks": Option(_private_networks, False, 'allow loopback/private/link-local targets (true, or a list of ranges)'),
        "concurrency": Option(_int(1), 32, 'requests in flight, all hosts together'),
        "per_host": Option(_int(1), 2, 'requests in flight to one host'),
        "per_host_delay_seconds": Option(_number(-1), 0.25, 'minimum gap between two requests to one host'),
        "user_agent": Option(_str, "newsmon/0.1 (+https://github.com/newsmon/newsmon)", 'sent with every request'),
        "max_items_per_feed": Option(_int(1), 200, 'entries taken from one feed per run (the newest, by date)'),
        "max_age_days": Option(_number(0), 7.0, 'items published earlier are stored and searchable, but are not news (no alert, not new in the digest)'),
        "interval_minutes": Option(_number(0), 15.0, 'how often a feed is checked (per feed: `interval_minutes`)'),
        "backoff_cap_minutes": Option(_number(0), 240.0, 'failing feeds are retried at most this far apart'),
        "failing_after": Option(_int(1), 3, 'consecutive failures before a feed is listed as failing'),
        "stale_after_days": Option(_number(0), 7.0, 'no new item for this long: the feed is stale'),
        # well under the shipped unit's TimeoutStartSec=30min, so digest and email still go out
        "run_deadline_minutes": Option(_number(0), 20.0, 'then unfinished feeds are recorded as "run deadline reached"; the digest and email still go out'),
    },
    "extract": {
        "fetch_pages": Option(_bool, True, "false: use only the feeds' own text"),
        "max_page_bytes": Option(_int(1024), 2_000_000, 'bigger pages are not given to trafilatura'),
        "timeout_seconds": Option(_number(0), 10.0, 'per-page extraction budget (the worker is killed after it)'),
        "memory_mb": Option(_int(64), 1024, 'address-space cap of each worker process'),
        "workers": Option(_int(0), 0, 'worker processes (0 = one per core)'),
        "min_chars": Option(_int(0), 200, "shorter page text falls back to the feed's text"),
        "thorough": Option(_bool, False, "true: every page gets trafilatura's full pass (~1.5x the CPU); false: the fast pass, the full one when it finds under 500 characters"),
    },
    "clean": {"boilerplate": Option(_list(_regex), DEFAULT_BOILERPLATE, 'regexes; a whole line that matches one is dropped')},
    "email": {
        "enabled": Option(_bool, False, 'send the daily digest by email'),
        "host": Option(_str, "localhost", 'the SMTP server'),
        "port": Option(_int(1), 587, 'its port'),
        "security": Option(_choice("none", "starttls", "ssl"), "starttls", 'none, starttls or ssl (certificates always verified)'),
        "username": Option(_str, None, 'login name, when the server wants one'),
        "password_env": Option(_str, None, 'the environment variable holding the password'),
        "from": Option(_address, "newsmon <newsmon@localhost>", 'the From header'),
        "send_at": Option(_send_time, "07:00", "local time (digest zone) from which the day's email is due"),
        "send_empty": Option(_bool, False, 'email a "no new articles" digest too'),
        "stories_per_topic": Option(_int(1, 1000), 10, 'stories shown per topic in the email; "K more in the '
                                    'full digest" says how many were left out'),
        "images": Option(_bool, False, "show lead images in the email too (remote images are fetched when it is opened)"),
        "timeout_seconds": Option(_number(0), 30.0, 'per SMTP operation'),
        "ca_file": Option(_path, None, 'a private relay\'s CA to trust (never "no verify")'),
        "recipients": Option(None, (), '`[[email.recipients]]` tables: address, topics'),  # RECIPIENT_KEYS
    },
    "alerting": {
        "max_per_hour": Option(_int(1), 10, 'alerts per channel per hour; the overflow goes out as one batched message'),
        "quiet_hours": Option(_quiet_hours, None, '"22:00-07:00" (digest zone): alerts wait, then go out batched'),
        "outlets_update": Option(_int(2), 3, 'a story that alerted alerts once more when this many outlets report it'),
        "spike_hours": Option(_number(0, 48), 3.0, 'spike rule: new stories of a topic over this many hours…'),
        "spike_baseline_days": Option(_int(1, 90), 14, '…against the same hours of this many previous days'),
        "spike_min_stories": Option(_int(1), 3, 'no spike below this many stories'),
        "spike_p": Option(_number(0, 0.5), 0.001, 'Poisson tail probability at or below which it is a spike'),
        "surge_outlets": Option(_int(2), 5, 'surge rule: a story reported by this many outlets…'),
        "surge_hours": Option(_number(0), 2.0, '…within this many hours of its first report'),
        "cooldown_hours": Option(_number(0), 6.0, 'a topic spikes at most once per this many hours'),
    },
    "stories": {
        "embeddings": Option(_path, None, "a static sentence-embedding model folder (Model2Vec's format: tokenizer.json, "
                                          "model.safetensors) whose cosine the story model weighs too; none: words and names only"),
    },
    "web": {
        "host": Option(_host, "127.0.0.1", '`newsmon web` listens here; with no `[[web.users]]` only a loopback address is accepted'),
        "port": Option(_int(1, 65535), 8080, 'and on this port'),
        "max_stale_seconds": Option(_int(0, 3600), 5, "Today and days are rebuilt after a write at most this often (0: at once)"),
        "nice": Option(_int(0, 19), 10, "the server lowers its CPU priority to this niceness when it starts (0: keeps "
                                        "it), so that runs on the same machine get the cores first"),
        "session_days": Option(_number(0, 366), 14.0, "a login lasts this long (days), then the sign-in page asks again"),
        "trusted_user_header": Option(_header, None, 'the user as a reverse proxy authenticated them, e.g. "X-Remote-User" '
                                                     "(honoured only from `trusted_proxies`)"),
        "trusted_proxies": Option(_list(_ip), (), 'addresses of the reverse proxies whose user header and '
                                                  'X-Forwarded-Proto/-For are believed, e.g. `["127.0.0.1"]`'),
        "users": Option(None, (), "`[[web.users]]` tables: name, password_hash (set by `newsmon web passwd NAME`)"),
    },
}

WEB_USER_KEYS: dict[str, Option] = {
    "name": Option(_user_name, None),
    "password_hash": Option(_password_hash, None),
}

RECIPIENT_KEYS: dict[str, Option] = {
    "address": Option(_address, None),
    "topics": Option(_list(_str), ()),
}


def defaults(section: str) -> dict[str, Any]:
    """The default values of one [section], e.g. to build FetchOptions in code."""
    return {key: o.default for key, o in OPTIONS[section].items() if key not in ("recipients", "users")}


FEED_KEYS: dict[str, Option] = {
    "name": Option(_str, None),
    "url": Option(_http_url, None),
    "fetch_pages": Option(_bool, None),
    "tags": Option(_list(_str), ()),
    "enabled": Option(_bool, True),
    "interval_minutes": Option(_number(0), None),
    "title": Option(_str, None),
}

CHANNEL_KEYS: dict[str, Option] = {
    "name": Option(_str, None),
    "url": Option(_str, None),                 # an Apprise URL; "{password}" stands for the secret
    "password_env": Option(_str, None),
    "topics": Option(_list(_str), ()),
    "receives": Option(_list(_receives), ("alerts",)),
}

ALERT_KEYS: dict[str, Option] = {
    "name": Option(_str, None),
    "topics": Option(_list(_str), ()),
    "terms": Option(_list(_str), ()),          # whole words, as a topic's terms (variants, `*` endings)
    "case_sensitive": Option(_list(_str), ()), # as a topic's: "NATO" but not Italian "nato"
    "exclude": Option(_list(_str), ()),        # as a topic's: phrases whose matches do not count
    "min_outlets": Option(_int(1), 1),
    "channels": Option(_list(_str), ()),
}

TOPICS_KEYS: dict[str, Option] = {          # [topics] itself, beside its [topics.<id>] tables
    "builtin": Option(_bool, True, "the built-in nato, ceasefire and territory rules apply beside "
                                   "yours (a table of the same id replaces one); false: only yours"),
}

TOPIC_KEYS: dict[str, Option] = {
    "label": Option(_str, None),
    "terms": Option(_list(_str), ()),
    "patterns": Option(_list(_regex), ()),
    "exclude": Option(_list(_str), ()),
    "case_sensitive": Option(_list(_str), ()),
    "alert": Option(_bool, False),
}


if __name__ == "__main__":                  # the manual's table: `python -m pipeline.options`
    from .optiondoc import options_table
    print(options_table(), end="")
