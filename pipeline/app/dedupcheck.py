"""`newsmon dedup check`: which seed or stored article a text copies, without storing anything."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ..clock import utcnow
from ..config import Config
from ..stages.clean import clean_text, compile_boilerplate, fingerprint, html_to_text
from ..stages.dedup import MIN_WORDS_NEAR, NEAR_THRESHOLD, signature
from ..stages.fetch import Fetcher
from ..stages.workers import Workers
from .archive import opened
from .index import open_index
from .seeds import sync_seeds


@dataclass(frozen=True, slots=True)
class DedupVerdict:
    words: int
    duplicate_of: str | None
    kind: str | None                    # seed | article
    similarity: float | None

    def rule(self) -> str:
        """Why nothing was found, for a person."""
        if self.words >= MIN_WORDS_NEAR:
            return f"no stored text at similarity >= {NEAR_THRESHOLD}"
        return f"only exact copies are checked for texts under {MIN_WORDS_NEAR} words ({self.words})"


def check_text(config: Config, raw: str) -> DedupVerdict:
    boilerplate = compile_boilerplate(config.boilerplate)
    text = clean_text(raw, boilerplate)
    with opened(config) as store:
        sync_seeds(store, config.seeds_dir, boilerplate, utcnow())
        found = open_index(store).nearest(text, fingerprint(text), signature(text))
    return DedupVerdict(len(text.split()), found.target.ref if found else None,
                        found.target.kind if found else None, found.similarity if found else None)


def fetch_text(config: Config, url: str) -> tuple[str, str | None]:
    """A page's text as a run would extract it: (text, a note when only its plain text was had).
    Raises FetchError."""
    async def go() -> tuple[str, str | None]:
        async with Fetcher(config.fetch) as fetcher:
            page = await fetcher.get(url, max_bytes=config.extract.max_page_bytes)
        with Workers(config.extract, config.boilerplate, config.topics) as workers:
            extracted, note = await workers.extract(page.body, page.url, "", page.headers.get("content-type"))
        if extracted is None:
            return html_to_text(page.body.decode("utf-8", errors="replace")), note
        return extracted.text, None

    return asyncio.run(go())
