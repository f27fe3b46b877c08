"""`newsmon dedup check`: which seed or stored article a text copies, without storing anything."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ..clock import utcnow
from ..config import Config
from ..stages.clean import clean_text, compile_boilerplate, fingerprint, html_to_text
from ..stages.dedup import MIN_WORDS_NEAR, NEAR_THRESHOLD, signature
from ..stages.fetch import Fetcher
from ..stages.stories import Assignment
from ..stages.workers import Workers
from .archive import opened
from .index import is_left_out, open_index
from .seeds import sync_seeds
from .semantic import embedder_of
from .stories import would_join


@dataclass(frozen=True, slots=True)
class DedupVerdict:
    words: int
    duplicate_of: str | None
    kind: str | None                    # seed | article
    similarity: float | None
    story: Assignment | None = None     # the story it would join, follow up or come closest to
    story_title: str | None = None
    left_out: bool = False              # a copy of a seed or an earlier day's article: a duplicate,
                                        # left out of the digest (a run's rule, index.is_left_out)
    copy_story: str | None = None       # a copy of a same-day article: the story it joins as a copy

    def rule(self) -> str:
        """Why nothing was found, for a person."""
        if self.words >= MIN_WORDS_NEAR:
            return f"no stored text at similarity >= {NEAR_THRESHOLD}"
        return f"only exact copies are checked for texts under {MIN_WORDS_NEAR} words ({self.words})"


def check_text(config: Config, raw: str, title: str = "") -> DedupVerdict:
    boilerplate = compile_boilerplate(config.boilerplate)
    text = clean_text(raw, boilerplate)
    now = utcnow()
    with opened(config) as store:
        sync_seeds(store, config.seeds_dir, boilerplate, now)
        found = open_index(store).nearest(text, fingerprint(text), signature(text))
        story, story_title = would_join(store, config.zone, title, text, now, embedder_of(config))
    left_out = bool(found) and is_left_out(found.target, now, config.zone)
    return DedupVerdict(len(text.split()), found.target.ref if found else None,
                        found.target.kind if found else None, found.similarity if found else None,
                        story, story_title, left_out=left_out,
                        copy_story=found.target.story_id if found and not left_out else None)


def story_line(verdict: DedupVerdict) -> str:
    """Which story the text would join and why, for a person."""
    if verdict.left_out:                # a copy never reaches the story stage: say what a run does
        return (f"story: none; as a copy of {verdict.duplicate_of} ({verdict.kind}) it would be stored as a "
                "duplicate and left out of the digest")
    if verdict.copy_story:
        return (f"story: would join {verdict.copy_story}, as a copy of {verdict.duplicate_of} "
                "(an article of the same day)")
    s = verdict.story
    if s is None or (s.story_id is None and s.closest is None):
        return "story: would start a new story (no stored story of the last 72 hours is close)"
    why = "; ".join(part for part in (
        f"names: {', '.join(s.shared_entities)}" if s.shared_entities else "",
        f"terms: {', '.join(s.shared_terms)}" if s.shared_terms else "",
        f"numbers: {', '.join(s.shared_numbers)}" if s.shared_numbers else "") if part) or "nothing shared"
    model = ("\n  model: average probability over the story's reports in the window; with its closest report "
             f"{s.pair_score:.2f}, from " + ", ".join(f"{k} {v:g}" for k, v in s.features if v)) if s.features else ""
    if s.story_id:
        return f"story: would join {s.story_id} \"{verdict.story_title}\" (score {s.score:.2f}; shared {why})" + model
    head = f"story: would start a new story; closest {s.closest} \"{verdict.story_title}\" (score {s.score:.2f}; " \
           f"shared {why}) kept apart by {s.veto}"
    return head + (f"; a follow-up of {s.follow_up_of}" if s.follow_up_of else "") + model


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
