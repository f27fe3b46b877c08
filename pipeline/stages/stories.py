"""Stories: which reports tell of one event, judged on what they say, not on their wording.

Two outlets writing independently about one strike share facts, not sentences: the place, the
people, the figures, the day, and the handful of content words any account of it needs. Each new
original article is reduced to a `Profile` of those facts (in the extraction worker, beside its
MinHash) and compared with the articles of the last `WINDOW` hours:

- **terms**: stemmed content words of the title (counted twice) and lead, weighted by their
  inverse document frequency in the window (a word every report uses says nothing);
- **entities**: capitalised names anywhere in the text, keyed by their Latin spelling (anyascii),
  so "Харків" and "Kharkiv" meet; sentence-initial words only when the text also capitalises
  them elsewhere;
- **numbers** of the lead, and a score = TERM_WEIGHT x term cosine + ENTITY_WEIGHT x entity
  overlap (IDF-weighted Dice).

A report joins the best story whose score reaches JOIN, unless a key fact conflicts with one of
its reports (precision first: a desk forgives a missed grouping, not two events shown as one):
- **place**: each names, in its lead, a place the other never mentions (Kharkiv vs Odesa);
- **figures**: both give killed (or injured) counts and no count agrees (3 killed vs 1 killed);
- **day**: the days they are about differ (talks open on Sunday, end on Monday): the day a lead
  names ("on Monday", "March 16", "yesterday"), else the published day;
- **outlet**: a story never takes a second report from the same feed (its near-copies aside,
  which the duplicate index groups): an outlet's recurring formats (episodes, briefings, "day
  N" lists) look alike without being one event.
A report vetoed from an earlier story it resembles (score >= FOLLOW) starts a new story that
follows it up when the two share a place, or neither names one (talks ending in Istanbul, a second
night of strikes on Kharkiv, a bill's second reading): see `_develops`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Iterable
from zoneinfo import ZoneInfo

from .profile import Profile, event_day

WINDOW = timedelta(hours=72)      # reports further apart (by published time) are never one story
TERM_WEIGHT, ENTITY_WEIGHT = 0.5, 0.5
JOIN = 0.30                       # score at or above which a report joins a story
FOLLOW = 0.25                     # a vetoed story this similar is linked as the one followed up
CANDIDATES = 20                   # stories compared per report, among the 2 x CANDIDATES articles sharing most keys
COMMON_KEY = 0.05                  # keys in more than this share of the window do not find candidates


@dataclass(frozen=True, slots=True)
class Member:
    """An article the index knows: its story and what is needed to compare with it."""

    article_id: str
    story_id: str
    feed: str
    when: datetime
    day: date
    day_named: bool
    profile: Profile


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where a report goes, and why (for `newsmon dedup check` and the logs)."""

    story_id: str | None              # the story it joins; None: it starts one
    follow_up_of: str | None = None   # a story it continues without being part of it
    score: float = 0.0
    shared_terms: tuple[str, ...] = ()
    shared_entities: tuple[str, ...] = ()
    shared_numbers: tuple[str, ...] = ()
    veto: str | None = None           # why the closest story was not joined
    closest: str | None = None        # the story it came closest to


@dataclass
class StoryIndex:
    """The articles of the last WINDOW (and a little more for document frequencies): postings
    from name and term keys to articles, and the document frequencies the weights use."""

    zone: ZoneInfo
    members: list[Member] = field(default_factory=list)
    postings: dict[str, list[int]] = field(default_factory=dict)
    df: Counter = field(default_factory=Counter)
    feeds_of: dict[str, set[str]] = field(default_factory=dict)   # story id -> its feeds
    _vectors: list["_Vector | None"] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.members)

    def add(self, article_id: str, story_id: str, feed: str, when: datetime, profile: Profile) -> None:
        day, named = event_day(profile, when, self.zone)
        position = len(self.members)
        self.members.append(Member(article_id, story_id, feed, when, day, named, profile))
        self._vectors.append(None)
        self.feeds_of.setdefault(story_id, set()).add(feed)
        for key in _keys(profile):
            self.postings.setdefault(key, []).append(position)
            self.df[key] += 1

    def _idf(self, key: str) -> float:
        return math.log(1 + (len(self.members) + 1) / (self.df.get(key, 0) + 1))

    def _vector_of(self, position: int) -> "_Vector":
        """A member's weighted vector, computed once and again only when the window has doubled
        since (its weights follow the document frequencies, which drift slowly)."""
        vector = self._vectors[position]
        if vector is None or len(self.members) > 2 * vector.size + 8:
            vector = self._vectors[position] = _vector(self.members[position].profile, self._idf, len(self.members))
        return vector

    def assign(self, profile: Profile, when: datetime, feed: str | None = None, explain: bool = True) -> Assignment:
        """The story this report joins (or follows up), from the indexed articles. Without
        `explain`, a report that joins nothing is not told what it shares with the closest story
        (a run needs only the decision; `newsmon dedup check` shows the why)."""
        day, named = event_day(profile, when, self.zone)
        shared: Counter[int] = Counter()
        limit = max(5, COMMON_KEY * len(self.members))
        for key in _keys(profile):
            positions = self.postings.get(key, ())
            if len(positions) <= limit:
                shared.update(positions)
        mine = _query(profile, self._idf, len(self.members))
        by_story: dict[str, list[tuple[float, Member]]] = {}
        for position, _ in shared.most_common(CANDIDATES * 2):
            member = self.members[position]
            if abs(member.when - when) > WINDOW:
                continue
            score = _score(mine, self._vector_of(position))
            by_story.setdefault(member.story_id, []).append((score, member))
            if len(by_story) >= CANDIDATES:
                break
        ranked = sorted(((max(s for s, _ in scored), sid, scored) for sid, scored in by_story.items()),
                        key=lambda x: -x[0])
        follows: str | None = None
        closest: Assignment | None = None
        for score, story_id, scored in ranked:
            top = max(scored, key=lambda x: x[0])[1]
            veto = next((v for _, m in scored if (v := conflict(profile, day, named, m))), None)
            same_outlet = veto is None and feed is not None and feed in self.feeds_of.get(story_id, ())
            if veto is None and not same_outlet and score >= JOIN:
                return self.explain(profile, top.profile, score, story_id)
            if closest is None:     # the most similar story, and what kept the report out of it
                why = f"outlet: {feed} has a report in it" if same_outlet else veto or f"score {score:.2f} < {JOIN}"
                shared = self.explain(profile, top.profile, score, story_id) if explain else Assignment(None)
                closest = replace(shared, story_id=None, score=round(score, 3), veto=why, closest=story_id)
            if score < FOLLOW:
                break
            if veto and follows is None and top.when < when and _develops(veto, profile, top.profile):
                follows = story_id
        return replace(closest, follow_up_of=follows) if closest else Assignment(None)

    def score(self, a: Profile, b: Profile) -> float:
        """TERM_WEIGHT x term cosine + ENTITY_WEIGHT x IDF-weighted Dice of names and numbers."""
        size = len(self.members)
        return _score(_query(a, self._idf, size), _vector(b, self._idf, size))

    def explain(self, a: Profile, b: Profile, score: float, story_id: str) -> Assignment:
        idf = self._idf
        terms = sorted(set(a.terms) & set(b.terms), key=lambda t: -idf("t:" + t))[:8]
        return Assignment(story_id, None, round(score, 3), tuple(terms),
                          tuple(sorted(a.entities & b.entities)), tuple(sorted(a.numbers & b.numbers)))


@dataclass(frozen=True, slots=True)
class _Vector:
    """A profile weighted for scoring: its terms, its name and number keys, and their norms."""

    profile: Profile
    term_norm: float                      # Euclidean norm of the IDF-weighted term counts
    key_sum: float                        # summed IDF of its names and numbers
    size: int                             # the window's size when the weights were taken


@dataclass(frozen=True, slots=True)
class _Query:
    """The report being placed, weighted once: a dot product is then one lookup per term."""

    vector: _Vector
    squared: dict[str, float]             # term -> count x IDF²
    names: dict[str, float]               # name -> IDF
    numbers: dict[str, float]             # number -> IDF


def _vector(profile: Profile, idf, size: int) -> _Vector:
    terms = math.sqrt(sum((n * idf("t:" + t)) ** 2 for t, n in profile.terms.items()))
    keys = sum(idf("e:" + e) for e in profile.entities) + sum(idf("n:" + n) for n in profile.numbers)
    return _Vector(profile, terms, keys, size)


def _query(profile: Profile, idf, size: int) -> _Query:
    return _Query(_vector(profile, idf, size), {t: n * idf("t:" + t) ** 2 for t, n in profile.terms.items()},
                  {e: idf("e:" + e) for e in profile.entities}, {n: idf("n:" + n) for n in profile.numbers})


def _score(mine: _Query, theirs: _Vector) -> float:
    """TERM_WEIGHT x cosine of IDF-weighted terms + ENTITY_WEIGHT x IDF-weighted Dice of names and
    numbers, with the weights of the report being placed (`mine`)."""
    other = theirs.profile
    terms = other.terms
    dot = sum(w * terms[t] for t, w in mine.squared.items() if t in terms)
    cosine = dot / (mine.vector.term_norm * theirs.term_norm) if dot else 0.0
    names, numbers = other.entities, other.numbers
    both = sum(w for e, w in mine.names.items() if e in names) + sum(w for n, w in mine.numbers.items() if n in numbers)
    dice = 2 * both / (mine.vector.key_sum + theirs.key_sum) if both else 0.0
    return TERM_WEIGHT * cosine + ENTITY_WEIGHT * dice


def conflict(profile: Profile, day: date, named: bool, other: Member) -> str | None:
    """The key fact on which two reports disagree, or None: what keeps two events apart."""
    theirs = other.profile
    mine_only = {p for p in profile.places if not theirs.says(p)}
    theirs_only = {p for p in theirs.places if not profile.says(p)}
    if mine_only and theirs_only:
        return f"place: {', '.join(sorted(mine_only))} vs {', '.join(sorted(theirs_only))}"
    for what, a, b in (("killed", profile.killed, theirs.killed), ("injured", profile.injured, theirs.injured)):
        if a and b and not a & b:
            return f"figures: {'/'.join(map(str, sorted(a)))} {what} vs {'/'.join(map(str, sorted(b)))}"
    gap = abs((day - other.day).days)
    if (named and other.day_named and gap >= 1) or gap >= 2:
        return f"day: {day} vs {other.day}"
    return None


def _develops(veto: str, a: Profile, b: Profile) -> bool:
    """Whether a report kept out of a story by `veto` is a new development of it. Kept out by
    the day or the figures: when one names as its place somewhere the other mentions, or neither
    names a place (a vote, a statement). Kept out by the place: only when both name one place
    too (another district of the same city)."""
    if veto.startswith("place"):
        return bool(a.places & b.places)
    if not a.places and not b.places:
        return True
    return any(b.says(p) for p in a.places) or any(a.says(p) for p in b.places)


def _keys(profile: Profile) -> Iterable[str]:
    yield from ("t:" + t for t in profile.terms)
    yield from ("e:" + e for e in profile.entities)
    yield from ("n:" + n for n in profile.numbers)


def report_time(published: datetime | None, first_seen: datetime) -> datetime:
    """When a report was written, for the window: its published time unless missing or ahead of
    when it was first seen (feeds get dates wrong; a report cannot come from the future)."""
    if published is None or published > first_seen + timedelta(hours=1):
        return first_seen
    return published


def best_report(reports: list, length=lambda r: len(r.text)):
    """The report a story is headed by: the earliest full text (a page, not the feed's summary),
    or, when none has one, the longest text. Takes anything with text_source, published,
    first_seen and id, and `length` of its text (stored articles, digest articles, StoryReport)."""
    full = [r for r in reports if r.text_source == "page"]
    if full:
        return min(full, key=lambda r: (report_time(r.published, r.first_seen), r.first_seen, r.id))
    return min(reports, key=lambda r: (-length(r), r.first_seen, r.id))
