"""Stories: which reports tell of one event, judged by a model fitted to labelled real news.

Two outlets writing independently about one event share facts, not sentences: the place, the
people, the figures, the day, and the content words any account of it needs. Each new original
article is reduced to a `Profile` (in the extraction worker, beside its MinHash) and compared with
the articles of the last `WINDOW` hours.

**A pair of reports** is described by `FEATURES` (see `pair_features`): the IDF-weighted cosines
of their titles (and how many title words they share, up to 4), of their title + lead terms and
of their bodies; the IDF-weighted Dice of the names their running text gives; how many specific
figures they share (an age or a year is not one); whether their ages, their places (a place each
names that the other never mentions), their killed/injured counts or their days conflict;
whether only one names a place, unmentioned by the other (a local event beside a national one);
whether their titles give numbers and none in common (an outlet's "day 100" and "day 101"
briefings); hours apart; same outlet; whether either has no text (a headline alone). Document
frequencies come from the window itself, updated as reports arrive: they follow the operator's
own feeds, languages and news cycle, which a table fitted on 2014 headlines or US shootings would
not.

**The model** is a logistic regression over those features (one set of weights for pairs of
reports with text, one for pairs where either is a headline alone: they carry different
evidence), its weights fitted on labelled
pairs (real news of the tuning windows and the project's own sets: `python -m bench stories
--fit`) and kept as data in `story_model.json` beside this module, with the join threshold chosen
on the same tuning data. A report joins the story whose reports in the window it resembles most
**on average** (average link over the story's last `LINK` reports, not its best single member: a
chain of near-neighbours is not one event), when that average probability reaches the model's
`join` (`join_textless` for a headline without text: it carries less evidence, and its threshold
is chosen on headlines, with how it is scored: by its `link_textless` closest reports among the
story's last `recent_textless`). Same-outlet updates join their story like any report (the outlet is a feature, not a
veto), except an outlet's numbered series (`_series`: "day 100" and "day 101" briefings). Other
hard vetoes are applied only when the model file lists them (`vetoes`), which the fit does only
for those that help on the tuning windows.

A report that joins nothing but resembles an earlier story (its closest report there at >= `follow`,
apart from the key facts a development changes: `StoryModel.closeness`) while a key fact differs
(`conflict`: place, figures, a vote's tally, ages, day; or an outlet's numbered series) starts a
new story that follows it up when the two share a place, or neither names one (a bill's next vote,
a second night of strikes on Kharkiv): see `_develops`.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Iterable
from zoneinfo import ZoneInfo

from .eventdays import event_day, event_days
from .profile import Profile
from .profilecodec import unpacked
from .storymodel import (  # noqa: F401  (re-exported)
    FEATURES,
    MODEL_PATH,
    SEMANTIC_MODEL_PATH,
    StoryModel,
    default_model,
    semantic_model,
)
from .storypairs import (  # noqa: F401  (pair_features re-exported)
    _figures_conflict,
    _place_alone,
    _place_conflict,
    _Query,
    _query,
    _Vector,
    _vector,
    disjoint,
    pair_features,
)

WINDOW = timedelta(hours=72)      # reports further apart (by published time) are never one story
LINK = 8                          # a story's most recent reports in the window a report is averaged over
CANDIDATES = 12                   # stories compared per report, among the 2 x CANDIDATES articles sharing most keys
COMMON_KEY = 0.05                 # keys in more than this share of the window do not find candidates
@dataclass(frozen=True, slots=True)
class Member:
    """An article the index knows: its story and what is needed to compare with it."""

    article_id: str
    story_id: str
    feed: str
    when: datetime
    day: date
    day_named: bool
    profile: Profile | bytes              # bytes: kept packed (profilecodec) until first compared
    days: frozenset[date] = frozenset()   # every day its lead names
    part: str = ""                        # within a story merged by an operator, the story it came
                                          # from (its reports are averaged part by part); "": its story


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where a report goes, and why (for `newsmon dedup check` and the logs)."""

    story_id: str | None              # the story it joins; None: it starts one
    follow_up_of: str | None = None   # a story it continues without being part of it
    score: float = 0.0                # average-link probability over the story's reports
    shared_terms: tuple[str, ...] = ()
    shared_entities: tuple[str, ...] = ()
    shared_numbers: tuple[str, ...] = ()
    veto: str | None = None           # why the closest story was not joined
    closest: str | None = None        # the story it came closest to
    features: tuple[tuple[str, float], ...] = ()   # the pair features with its closest report there
    pair_score: float = 0.0           # the model's probability for that pair
    pair_with: str | None = None      # the article id of that closest report
    recorded: bool = False            # read back from articles.grouping, not decided now


@dataclass
class StoryIndex:
    """The articles of the last WINDOW (and a little more for document frequencies): postings
    from name and term keys to articles, and the document frequencies the weights use.

    A member's position counts from the window's first ever member: `first` members were dropped
    from its front since (`drop_oldest`), so members[position - first] is the member, and a window
    kept between runs (app/windowfile.py) moves on without renumbering its postings."""

    zone: ZoneInfo
    model: StoryModel = field(default_factory=default_model)
    members: list[Member] = field(default_factory=list)
    postings: dict[str, list[int]] = field(default_factory=dict)   # (array("q") when read from a kept window)
    df: Counter = field(default_factory=Counter)
    feeds_of: dict[str, set[str]] = field(default_factory=dict)   # story id -> its feeds
    stories: dict[str, list[int]] = field(default_factory=dict)   # story id -> its members' positions
    _vectors: list["_Vector | None"] = field(default_factory=list)
    first: int = 0                                                # the position of members[0]

    def __len__(self) -> int:
        return len(self.members)

    def add(self, article_id: str, story_id: str, feed: str, when: datetime, profile: Profile,
            part: str = "") -> None:
        """Index a report of `story_id`; `part`: the story an operator's merge took it from."""
        day, named = event_day(profile, when, self.zone)
        position = self.first + len(self.members)
        self.members.append(Member(article_id, story_id, feed, when, day, named, profile,
                                   event_days(profile, when, self.zone), part if part != story_id else ""))
        self._vectors.append(None)
        self.feeds_of.setdefault(story_id, set()).add(feed)
        self.stories.setdefault(story_id, []).append(position)
        for key in _keys(profile):
            self.postings.setdefault(key, []).append(position)
            self.df[key] += 1
        for term in profile.body:
            self.df["b:" + term] += 1

    def drop_oldest(self, count: int) -> None:
        """Forget the `count` oldest members (the window has moved past them): afterwards the
        index is what adding only the others would have made (postings, frequencies, stories)."""
        if count <= 0:
            return
        cut, gone = self.first + count, [self._member(at) for at in range(count)]
        for member in gone:
            for key in _keys(member.profile):
                positions = self.postings.get(key)
                if positions is not None:
                    del positions[:bisect_left(positions, cut)]
                    if not positions:
                        del self.postings[key]
                self._forget(key)
            for term in member.profile.body:
                self._forget("b:" + term)
        self.members, self._vectors, self.first = self.members[count:], self._vectors[count:], cut
        for story_id in {m.story_id for m in gone}:
            positions = self.stories[story_id]
            del positions[:bisect_left(positions, cut)]
            if positions:
                self.feeds_of[story_id] = {self.members[p - cut].feed for p in positions}
            else:
                del self.stories[story_id], self.feeds_of[story_id]

    def _member(self, at: int) -> Member:
        """members[at] with its profile unpacked (a window read from disk unpacks on first use)."""
        member = self.members[at]
        if type(member.profile) is bytes:
            member = self.members[at] = replace(member, profile=unpacked(member.profile))
        return member

    def _forget(self, key: str) -> None:
        left = self.df[key] - 1
        if left > 0:
            self.df[key] = left
        else:
            del self.df[key]

    def _idf(self, key: str) -> float:
        return math.log(1 + (len(self.members) + 1) / (self.df.get(key, 0) + 1))

    def _vector_of(self, position: int) -> "_Vector":
        """A member's weighted vector, computed once and again only when the window has doubled
        since (its weights follow the document frequencies, which drift slowly)."""
        at = position - self.first
        vector = self._vectors[at]
        if vector is None or len(self.members) > 2 * vector.size + 8:
            vector = self._vectors[at] = _vector(self._member(at).profile, self._idf, len(self.members))
        return vector

    def assign(self, profile: Profile, when: datetime, feed: str | None = None, explain: bool = True) -> Assignment:
        """The story this report joins (or follows up), from the indexed articles. Without
        `explain`, a report that joins nothing is not told what it shares with the closest story
        (a run needs only the decision; `newsmon dedup check` shows the why)."""
        day, named = event_day(profile, when, self.zone)
        days = event_days(profile, when, self.zone)
        model = self.model
        join = model.join if profile.body else model.join_textless
        ranked = []
        for story_id, pairs in self.candidates(profile, when, feed):
            scored = [(model.probability(x), x, member) for member, x in pairs]
            ranked.append((_link([s for s, _, _ in scored], model.link if profile.body else model.link_textless),
                           story_id, scored))
        ranked.sort(key=lambda r: -r[0])
        follows: str | None = None
        closest: Assignment | None = None
        for score, story_id, scored in ranked:
            best, x, top = max(scored, key=lambda r: r[0])
            veto = next((v for _, _, m in scored if (v := conflict(profile, day, named, m, days))), None)
            hard = veto if veto and veto.split(":")[0] in model.vetoes else None
            hard = hard or next((f"series: {feed} numbers its titles {'/'.join(sorted(m.profile.title_numbers))} "
                                 f"and {'/'.join(sorted(profile.title_numbers))}"
                                 for _, _, m in scored if m.feed == feed and _series(profile, m.profile)), None)
            if hard is None and score >= join:
                return replace(self.explain(profile, top.profile, score, story_id, x, best), pair_with=top.article_id)
            if closest is None:     # the most similar story, and what kept the report out of it
                why = hard or f"score {score:.2f} < {join}" + (f" ({veto})" if veto else "")
                shared_ = replace(self.explain(profile, top.profile, score, story_id, x, best),
                                  pair_with=top.article_id) if explain else Assignment(None)
                closest = replace(shared_, story_id=None, score=round(score, 3), veto=why, closest=story_id)
            # a follow-up need resemble one of the story's reports (the next night's strike is close to
            # the first night's wire report, far from its analysis pieces), but for the facts it changes
            veto = veto or hard         # (a hard veto without a key-fact one: the outlet's series)
            if veto and follows is None and top.when < when and _develops(veto, profile, top.profile) \
                    and max(model.closeness(x) for _, x, _ in scored) >= model.follow:
                follows = story_id
        return replace(closest, follow_up_of=follows) if closest else Assignment(None)

    def candidates(self, profile: Profile, when: datetime, feed: str | None) -> list[tuple[str, list]]:
        """The stories a report is compared with, each with (member, pair features) for its last
        LINK reports in the window (a headline alone: its model's `recent_textless`): the stories of
        the 2 x CANDIDATES articles sharing the most keys with it (keys common to the window find none)."""
        shared: Counter[int] = Counter()
        limit = max(5, COMMON_KEY * len(self.members))
        for key in _keys(profile):
            positions = self.postings.get(key, ())
            if len(positions) <= limit:
                shared.update(positions)
        mine = _query(profile, self._idf, len(self.members))
        day = (*event_day(profile, when, self.zone), event_days(profile, when, self.zone))
        found: list[str] = []
        for position, _ in shared.most_common(CANDIDATES * 2):
            member = self.members[position - self.first]
            if abs(member.when - when) <= WINDOW and member.story_id not in found:
                found.append(member.story_id)
                if len(found) >= CANDIDATES:
                    break
        # a headline alone is compared with more of a story's reports (the model's `recent_textless`):
        # its closest two are then more often ones that tell the event in its words
        link = LINK if profile.body else self.model.recent_textless or LINK
        out, first, members = [], self.first, self.members
        for story_id in found:
            recent = [p for p in self.stories[story_id] if abs(members[p - first].when - when) <= WINDOW]
            # a story an operator merged is compared part by part (each as one candidate): the
            # two events they called one keep their own shapes, and a report of either joins
            for part in dict.fromkeys(members[p - first].part for p in recent):
                linked = [p for p in recent if members[p - first].part == part][-link:]
                out.append((story_id, [(self._member(p - first), self._features(mine, p, when, feed, day))
                                       for p in linked]))
        return out

    def _features(self, mine: "_Query", position: int, when: datetime, feed: str | None,
                  day: tuple[date, bool, frozenset[date]]) -> list[float]:
        member = self.members[position - self.first]
        return pair_features(mine, self._vector_of(position), abs((member.when - when).total_seconds()) / 3600,
                             feed is not None and feed == member.feed, _day_conflict(day, (member.day, member.day_named, member.days)))

    def pair(self, a: Profile, b: Profile, when: datetime, hours: float = 0.0,
             same_outlet: bool = False) -> tuple[list[float], float]:
        """(the pair features of two profiles, `b` published `hours` before `a` at `when`, and the
        model's probability that they tell one event), with this window's document frequencies."""
        size = len(self.members)
        then = when - timedelta(hours=hours)
        days = _day_conflict((*event_day(a, when, self.zone), event_days(a, when, self.zone)),
                             (*event_day(b, then, self.zone), event_days(b, then, self.zone)))
        x = pair_features(_query(a, self._idf, size), _vector(b, self._idf, size), hours, same_outlet, days)
        return x, self.model.probability(x)

    def explain(self, a: Profile, b: Profile, score: float, story_id: str, x=None, pair_score: float = 0.0) -> Assignment:
        idf = self._idf
        terms = sorted(set(a.terms) & set(b.terms), key=lambda t: -idf("t:" + t))[:8]
        features = tuple(zip(FEATURES[1:], (round(v, 3) for v in x[1:]))) if x else ()
        return Assignment(story_id, None, round(score, 3), tuple(terms),
                          tuple(sorted(a.entities & b.entities)), tuple(sorted(a.numbers & b.numbers)),
                          features=features, pair_score=round(pair_score, 3))


def grouping(found: Assignment) -> dict:
    """Why a report joined its story, as stored with it (articles.grouping) and shown by the web
    reader: the story, its closest report there, the average and pair probabilities and the
    pair's non-zero features (the model's inputs, FEATURES), and what the two share."""
    return {"story": found.story_id, "paired_with": found.pair_with, "score": found.score,
            "pair_score": found.pair_score, "features": {k: v for k, v in found.features if v},
            "names": list(found.shared_entities), "terms": list(found.shared_terms),
            "numbers": list(found.shared_numbers)}


def recorded_grouping(stored: str | None) -> Assignment | None:
    """`grouping` read back from articles.grouping (None: nothing recorded), as an Assignment."""
    if not stored:
        return None
    g = json.loads(stored)
    return Assignment(g["story"], score=g["score"], shared_terms=tuple(g.get("terms", ())),
                      shared_entities=tuple(g.get("names", ())), shared_numbers=tuple(g.get("numbers", ())),
                      closest=g["story"], features=tuple(g["features"].items()), pair_score=g["pair_score"],
                      pair_with=g["paired_with"], recorded=True)


def _link(probabilities: list[float], best: int) -> float:
    """A story's score for a report: the average of its pair probabilities over the story's reports
    (`best` 0), or over its `best` most similar reports."""
    if best:
        probabilities = sorted(probabilities, reverse=True)[:best]
    return sum(probabilities) / len(probabilities)


def _series(a: Profile, b: Profile) -> bool:
    """Two titles of one outlet numbered differently: its episodes, "day N" briefings, "town
    number N" items. A rule, not a fitted weight: no labelled set has such series (their weight
    came out near 0); on the real validation windows it changed no figure over incidents with two
    reports or more (full text V2 over all reports: F1 0.911 -> 0.919). Counts are no series
    numbers: an outlet's update ("two wounded", then "one dead") joins its story."""
    return disjoint(a.series_numbers, b.series_numbers)


def _day_conflict(a: tuple[date, bool, frozenset[date]], b: tuple[date, bool, frozenset[date]]) -> bool:
    """The days two reports are about differ: both name days and none in common (a development
    names the day of what it develops too), or they are two days apart."""
    if a[1] and b[1]:
        return not (a[2] or {a[0]}) & (b[2] or {b[0]})
    return abs((a[0] - b[0]).days) >= 2


def conflict(profile: Profile, day: date, named: bool, other: Member, days: frozenset[date] = frozenset()) -> str | None:
    """The key fact on which two reports disagree, or None: what keeps two events apart."""
    theirs = other.profile
    mine_only = {p for p in profile.places if not theirs.says(p)}
    theirs_only = {p for p in theirs.places if not profile.says(p)}
    if mine_only and theirs_only:
        return f"place: {', '.join(sorted(mine_only))} vs {', '.join(sorted(theirs_only))}"
    for what, a, b in (("killed", profile.killed, theirs.killed), ("injured", profile.injured, theirs.injured),
                       ("votes", profile.tallies, theirs.tallies)):
        if disjoint(a, b):
            return f"figures: {'/'.join(map(str, sorted(a)))} {what} vs {'/'.join(map(str, sorted(b)))}"
    if disjoint(profile.ages, theirs.ages):
        return f"ages: {'/'.join(map(str, sorted(profile.ages)))} vs {'/'.join(map(str, sorted(theirs.ages)))}"
    if _day_conflict((day, named, days), (other.day, other.day_named, other.days)):
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
    if profile.vector is not None:      # reports in other words or languages find each other too
        from .embeddings import semantic_keys

        yield from semantic_keys(profile.vector)


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


def group(reports: Iterable, zone: ZoneInfo, model: StoryModel | None = None,
          profiles: dict | None = None, embedder=None) -> Iterable[tuple[str, str]]:
    """(report id, story id) for each report in arrival order, grouped in memory by the stage a
    run uses (`newsmon stories group`, the benchmark). Takes anything with id, title, text,
    outlet and published (timezone-aware); `profiles` may hold profiles already computed, by id;
    `embedder` is the optional semantic backend (embeddings.py), with the model fitted for it."""
    from .profile import profile_of

    index = StoryIndex(zone, model or (semantic_model(embedder.path) if embedder else default_model()))
    for r in reports:
        profile = profiles[r.id] if profiles and r.id in profiles else profile_of(r.title, r.text)
        if embedder is not None and profile.vector is None:
            profile = replace(profile, vector=embedder.vector(r.title, r.text))
        found = index.assign(profile, r.published, r.outlet, explain=False)
        story = found.story_id or r.id
        index.add(r.id, story, r.outlet, r.published, profile)
        yield r.id, story
