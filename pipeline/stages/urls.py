"""URLs from servers: one rule for what is a usable http(s) URL, and one canonical form.

Every URL a feed, a page or a redirect gives us passes `http_url` before anything else sees it
(parse, fetch, dedup, store, digest). It returns None rather than raising for anything that is not
a fetchable http(s) URL, so no later stage can trip over a port of 99999, a port of "abc", an empty
host label ("a..b"), a host too long for DNS or a character that ends a Markdown link:
- scheme http or https, a host, a port (when given) that is a number from 1 to 65535;
- the host a valid IP literal, or a DNS name of at most 253 characters whose labels are 1 to 63
  characters long (non-ASCII names must be IDNA-encodable);
- control characters, escapes and bidi marks removed (clean.sanitize); spaces and the characters
  that end or break a link in HTML or Markdown (<>"`{}|\\^) percent-encoded;
- a redirect link of an aggregator (Google Alerts' `https://www.google.com/url?…&url=<article>`)
  is the article's own URL, checked by the same rule: the digest links the publisher, dedup sees
  one URL per article, and no click goes through the aggregator.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from .clean import sanitize

MAX_URL_LENGTH = 4096
_UNSAFE = re.compile(r'[\s<>"`{}|\\^]')
_TRACKING = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|igshid|_hsenc|_hsmi|"
    r"ocid|cmpid|ns_\w+|at_medium|at_campaign|ito|xtor|smid|sh|ref_src|ref_url|spm|share)$",
    re.IGNORECASE)


def _quote_unsafe(url: str) -> str:
    return _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode("utf-8")), url)


def valid_host(host: str) -> bool:
    """An IP literal, or a DNS name with labels of 1 to 63 characters (253 in all)."""
    if not host:
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return False
    labels = ascii_host.rstrip(".").split(".")
    return len(ascii_host) <= 253 and all(0 < len(label) <= 63 for label in labels)


@lru_cache(maxsize=65536)      # a digest checks every stored URL again; they repeat across formats
def http_url(raw: str | None, base: str | None = None) -> str | None:
    """`raw` (resolved against `base`) as a usable http(s) URL, or None (see the module rule)."""
    if not raw:
        return None
    text = sanitize(raw).strip()
    if not text or len(text) > MAX_URL_LENGTH:
        return None
    try:
        url = _quote_unsafe(urljoin(base, text) if base else text)
        parts = urlsplit(url)
        port = parts.port                       # raises ValueError: out of range or not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or port == 0:
        return None
    if not valid_host(parts.hostname or ""):
        return None
    target = _redirect_target(parts)
    if target is not None:
        return http_url(target) if not _redirect_target(urlsplit(target)) else None   # one level only
    return url


_REDIRECTOR_HOST = re.compile(r"^(?:www\.)?google\.[a-z]{2,3}(?:\.[a-z]{2})?$")
_AGGREGATOR_FEED = re.compile(r"^https?://(?:www\.)?google\.[a-z.]+/alerts/feeds/|^https?://news\.google\.com/",
                              re.IGNORECASE)


def _redirect_target(parts) -> str | None:
    """The article URL a Google redirect link (/url?…&url= or q=) points to, or None."""
    if parts.path != "/url" or not _REDIRECTOR_HOST.match((parts.hostname or "").lower()):
        return None
    query = dict(parse_qsl(parts.query))
    target = query.get("url") or query.get("q")
    return target if target and target.lower().startswith(("http://", "https://")) else None


def is_aggregator_feed(url: str | None) -> bool:
    """A feed whose items are other outlets' articles (Google Alerts, Google News): the outlet
    of each item is its publisher, not the feed."""
    return bool(url and _AGGREGATOR_FEED.match(url))


def publisher(url: str | None) -> str | None:
    """An article's publisher as its host name, without "www." ("kyivindependent.com")."""
    host = host_of(url)
    return host[4:] if host.startswith("www.") else host or None


def canonical_url(url: str | None, keep_fragment: bool = False) -> str | None:
    """Scheme and host lower-cased, default port dropped, tracking parameters dropped, and the
    fragment dropped unless `keep_fragment` (a feed whose items differ only by fragment)."""
    url = http_url(url)
    if not url:
        return None
    parts = urlsplit(url)
    scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not _TRACKING.match(k)])
    return urlunsplit((scheme, netloc, parts.path or "/", query, parts.fragment if keep_fragment else ""))


def host_of(url: str | None) -> str:
    return (urlsplit(url).hostname or "").lower() if url else ""
