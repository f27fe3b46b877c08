"""An item's identity: what makes two sightings of it the same article, across runs and feeds."""

from __future__ import annotations


def identity_of(feed: str, guid: str | None, canonical: str | None, fingerprint: str | None) -> str:
    """The feed's own id for the item when it has one (per feed: two feeds may reuse an id), else
    its canonical URL, else its text's fingerprint."""
    if guid:
        return f"guid:{feed}:{guid}"
    if canonical:
        return f"url:{canonical}"
    return f"hash:{fingerprint}"
