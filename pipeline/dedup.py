"""Identity and duplicates.

Identity, in order (the first that exists wins):
1. the feed's guid, scoped to the feed ("guid:<feed>:<guid>"), since CMSs reuse short ids;
2. the canonical URL: scheme and host lower-cased, default port, fragment and tracking parameters
   (utm_*, fbclid, gclid, …) dropped;
3. the hash of the cleaned text.
An entry is "seen" when its identity or its canonical URL is already stored, and is then neither
fetched nor extracted again.

Duplicates: an article whose cleaned-text fingerprint equals a seed's or an earlier article's is a
duplicate of it (similarity 1.0). DuplicateIndex is where near-duplicate detection plugs in.
"""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .records import Article

_TRACKING = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|igshid|_hsenc|_hsmi|"
    r"ocid|cmpid|ns_\w+|at_medium|at_campaign|ito|xtor|smid|sh|ref_src|ref_url|spm|share)$",
    re.IGNORECASE)


def canonical_url(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if not host:
        return url
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not _TRACKING.match(k)])
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def identity_of(feed: str, guid: str | None, canonical: str | None, fingerprint: str | None) -> str:
    if guid:
        return f"guid:{feed}:{guid}"
    if canonical:
        return f"url:{canonical}"
    return f"hash:{fingerprint}"


class DuplicateIndex:
    """Everything an article may duplicate: the seeds and every stored article.

    `refs` maps a fingerprint to what it belongs to: "seeds/<file>" or an article URL.
    """

    def __init__(self, refs: dict[str, str] | None = None):
        self._exact: dict[str, str] = dict(refs or {})

    def __len__(self) -> int:
        return len(self._exact)

    def add(self, fingerprint: str, ref: str) -> None:
        self._exact.setdefault(fingerprint, ref)

    def check(self, article: Article) -> Article:
        """The article with duplicate_of/similarity set when it duplicates something indexed."""
        ref = self._exact.get(article.fingerprint)
        if ref is None:
            return article
        return replace(article, duplicate_of=ref, similarity=1.0)
