"""The pair features of the story model: how alike two reports are, as numbers the fitted model
weighs (stories.FEATURES, storymodel.py). The TF-IDF weights come from the story window, so a word
every report of the window shares counts for little; a report being placed is weighted once, as a
query, and each report it is compared with as a vector."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .profile import Profile


@dataclass(frozen=True, slots=True)
class _Vector:
    """A profile weighted for scoring: the norms of its title, title + lead and body vectors, and
    the summed IDF of its names."""

    profile: Profile
    title_norm: float
    term_norm: float
    body_norm: float
    name_sum: float
    size: int                             # the window's size when the weights were taken


@dataclass(frozen=True, slots=True)
class _Query:
    """The report being placed, weighted once: a dot product is then one lookup per term."""

    vector: _Vector
    title: dict[str, float]               # term -> count x IDF²
    terms: dict[str, float]
    body: dict[str, float]
    names: dict[str, float]               # name -> IDF


def _norm(counts, idf, prefix: str) -> float:
    return math.sqrt(sum((n * idf(prefix + t)) ** 2 for t, n in counts.items()))


def _vector(profile: Profile, idf, size: int) -> _Vector:
    return _Vector(profile, _norm(profile.title, idf, "t:"), _norm(profile.terms, idf, "t:"),
                   _norm(profile.body, idf, "b:"), sum(idf("e:" + e) for e in profile.entities), size)


def _query(profile: Profile, idf, size: int) -> _Query:
    return _Query(_vector(profile, idf, size), {t: n * idf("t:" + t) ** 2 for t, n in profile.title.items()},
                  {t: n * idf("t:" + t) ** 2 for t, n in profile.terms.items()},
                  {t: n * idf("b:" + t) ** 2 for t, n in profile.body.items()},
                  {e: idf("e:" + e) for e in profile.entities})


def _cosine(mine: dict[str, float], norm: float, theirs, their_norm: float) -> float:
    dot = sum(w * theirs[t] for t, w in mine.items() if t in theirs)
    return dot / (norm * their_norm) if dot else 0.0


def pair_features(mine: _Query, theirs: _Vector, hours: float, same_outlet: bool, day_conflict: bool) -> list[float]:
    """The FEATURES of a report (`mine`, weighted as a query) and an indexed one (`theirs`)."""
    a, b = mine.vector.profile, theirs.profile
    title = _cosine(mine.title, mine.vector.title_norm, b.title, theirs.title_norm)
    lead = _cosine(mine.terms, mine.vector.term_norm, b.terms, theirs.term_norm)
    body = _cosine(mine.body, mine.vector.body_norm, b.body, theirs.body_norm)
    both = sum(w for e, w in mine.names.items() if e in b.entities)
    names = 2 * both / (mine.vector.name_sum + theirs.name_sum) if both else 0.0
    textless = 1.0 if not a.body or not b.body else 0.0
    if textless:
        body = lead
    shared = min(sum(1 for t in mine.title if t in b.title), 4) / 4
    return [1.0, title, shared, lead, body, names, min(len(a.numbers & b.numbers), 3) / 3,
            float(disjoint(a.ages, b.ages)), float(_place_conflict(a, b)),
            float(_figures_conflict(a, b)), float(day_conflict),
            float(disjoint(a.title_numbers, b.title_numbers)), min(hours, 72.0) / 24, float(same_outlet), textless, title * textless,
            float(_place_alone(a, b)), _semantic(a, b), float(persons_conflict(a.persons, b.persons)),
            float(persons_conflict(a.title_persons, b.title_persons)),
            float(disjoint(a.tallies, b.tallies))]


def disjoint(mine: frozenset, theirs: frozenset) -> bool:
    """Both give some (ages, counts, title numbers) and none in common: a key fact in conflict."""
    return bool(mine and theirs and not mine & theirs)


def persons_conflict(mine: frozenset[str], theirs: frozenset[str]) -> bool:
    """Both give people by age and noun ("14m", "8f") and none is the same person: of one sex and
    ages a year apart at most (reports of one incident give a victim's age as 10 and 11)."""
    return bool(mine and theirs) and not any(
        p[-1] == q[-1] and abs(int(p[:-1]) - int(q[:-1])) <= 1 for p in mine for q in theirs)


def _semantic(a: Profile, b: Profile) -> float:
    """The cosine of the reports' unit sentence vectors (the embeddings backend), 0 without them."""
    return float(a.vector @ b.vector) if a.vector is not None and b.vector is not None else 0.0


def _place_conflict(a: Profile, b: Profile) -> bool:
    """Each names as its place somewhere the other never mentions (Kharkiv vs Odesa)."""
    return any(not b.says(p) for p in a.places) and any(not a.says(p) for p in b.places)


def _place_alone(a: Profile, b: Profile) -> bool:
    """One names as its place somewhere (a city, a named plant) the other neither names as its place
    nor mentions, and the other names none: a local event beside a national one (the truce at the
    Zaporizhzhia plant, the country's grid repairs)."""
    return bool(a.places) != bool(b.places) and not any(b.says(p) for p in a.places) \
        and not any(a.says(p) for p in b.places)


def _figures_conflict(a: Profile, b: Profile) -> bool:
    return disjoint(a.killed, b.killed) or disjoint(a.injured, b.injured)
