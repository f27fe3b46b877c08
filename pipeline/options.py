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

DIGEST_FORMATS = ("html", "md", "json", "txt")
MAX_NUMBER = 1_000_000          # a million seconds, minutes or days: far past any sane setting


class Option(NamedTuple):
    """One option: how it is checked, its default, and what it means (the README's table)."""

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


def _address(v: Any) -> str:
    from email.utils import parseaddr

    v = _str(v).strip()
    name, addr = parseaddr(v)
    if "@" not in addr or any(c in v for c in "\r\n"):
        raise ValueError("expected an email address such as desk@example.org or \"Desk <desk@example.org>\"")
    return v


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


def _http_url(v: Any) -> str:
    v = _str(v).strip()
    parts = urlsplit(v)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL")
    return v


