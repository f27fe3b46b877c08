"""The Article record: an entry and its analysed text, with its identity and fingerprint."""

from __future__ import annotations

from ..records import Article, FeedEntry
from .clean import fingerprint
from .extract import MIN_WORDS_FOR_CONTENT_ID, PageText
from .identity import identity_of
from .urls import canonical_url


def make_article(entry: FeedEntry, identity: str | None, text: PageText, source: str,
                 note: str | None, url: str | None) -> Article:
    """The Article for an entry, from its analysed text; `identity` None: known by its text."""
    canonical = canonical_url(url or entry.link)
    url = canonical or url
    if text.fingerprint is not None:     # long enough: known by its text (taken in the worker)
        fp = text.fingerprint
    elif len(text.text.split()) >= MIN_WORDS_FOR_CONTENT_ID:
        fp = fingerprint(text.text)
    else:
        fp = fingerprint(f"{canonical or ''}\n{entry.title}\n{text.text}")
    return Article(
        identity=identity or identity_of(entry.feed, None, None, fp),
        feed=entry.feed, guid=entry.guid, url=url, canonical_url=canonical, title=entry.title,
        published=entry.published, text=text.text, text_source=source,  # type: ignore[arg-type]
        extraction_note=note, fingerprint=fp, minhash=text.signature, matches=text.matches,
        profile=text.profile, image=entry.image or text.image, language=entry.language or text.language)
