"""The story stage's fitted pair model: the features it weighs, in order, its weights and the
thresholds chosen with them, read from story_model.json (`python -m bench stories --fit` writes
it). Kept apart from stories.py, which applies it."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

MODEL_PATH = Path(__file__).with_name("story_model.json")
# fitted with the reference static model (`python -m bench stories --fit --embeddings DIR`): used
# when a backend is configured whose folder has no story_model.json of its own
SEMANTIC_MODEL_PATH = Path(__file__).with_name("story_model_semantic.json")

# The pair features, in the order of the model's weights (pair_features computes them).
FEATURES = ("bias", "title", "title_words", "lead", "body", "names", "numbers", "ages_conflict", "place_conflict",
            "figures_conflict", "day_conflict", "title_numbers_conflict", "hours", "same_outlet", "textless", "title_textless",
            "place_alone", "semantic", "persons_conflict", "title_persons_conflict",
            "tallies_conflict")
# "semantic": the cosine of the two reports' sentence vectors from the optional embeddings backend
# (`[stories] embeddings`, embeddings.py); 0 without one. A model file fitted before it existed, or
# without a backend, gives it no weight. "persons_conflict": both leads give people by age and noun
# ("a 14-year-old boy", "Girl, 8,") and none in common; a model file fitted before it gives it none.
# "title_persons_conflict": both titles give people so and none in common (the report's victim: a
# lead may name a suspect or another victim, a title names whom the report is about).
# "tallies_conflict": both leads give a vote's tally and none in common (a bill's first reading and
# the next day's second vote); a toll updates as a story goes on, a vote's tally does not.
_OPTIONAL = {"semantic", "persons_conflict", "title_persons_conflict", "tallies_conflict"}

_TEXTLESS = FEATURES.index("textless")
# the key facts a development changes (a new tally, other victims, another district), left out of
# `closeness`; not the day: any follow-up differs in it, and so do two unrelated reports
_CONFLICTS = frozenset(FEATURES.index(f) for f in FEATURES
                       if (f.endswith("_conflict") or f == "place_alone") and f != "day_conflict")


@dataclass(frozen=True, slots=True)
class StoryModel:
    """Fitted weights over FEATURES, and the thresholds chosen with them (story_model.json)."""

    weights: tuple[float, ...]        # one per FEATURES name, in that order: pairs where both have text
    join: float                       # average-link probability at or above which a report with text joins
    join_textless: float              # the same for a report that is a headline alone (no text)
    follow: float                     # a story this close, kept out by a key fact, may be followed up
    vetoes: tuple[str, ...] = ()      # conflicts that keep a report out whatever the score
    fitted: dict = field(default_factory=dict, compare=False)   # how and on what it was fitted
    weights_textless: tuple[float, ...] = ()   # for pairs where either is a headline alone (empty: `weights`)
    link: int = 0                     # a story's score: the mean probability over its reports (0), or
    link_textless: int = 0            # over its `link` closest ones (for a headline alone: link_textless)
    recent_textless: int = 0          # how many of a story's most recent reports a headline alone is
                                      # compared with (0: stories.LINK, as a report with text)

    def closeness(self, x: list[float]) -> float:
        """The probability with the key-fact conflicts but the day's left out: how alike a report is
        to another apart from what a development changes (a follow-up: the next vote on one bill,
        the next night's strike on one city)."""
        return self.probability([0.0 if i in _CONFLICTS else v for i, v in enumerate(x)])

    def probability(self, x: Iterable[float]) -> float:
        weights = self.weights_textless if x[_TEXTLESS] and self.weights_textless else self.weights
        z = sum(w * v for w, v in zip(weights, x))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> "StoryModel":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        missing = FEATURES[len(data["features"]):]
        if tuple(data["features"]) + missing != FEATURES or set(missing) - _OPTIONAL:
            raise ValueError(f"{path}: features {data['features']} are not this code's {list(FEATURES)}; refit it")
        pad = (0.0,) * len(missing)        # fitted without a backend (or before a feature): it weighs nothing
        textless = tuple(data.get("weights_textless", ()))
        return cls(tuple(data["weights"]) + pad, data["join"], data["join_textless"], data["follow"],
                   tuple(data.get("vetoes", ())), data.get("fitted", {}), textless + pad if textless else (),
                   data.get("link", 0), data.get("link_textless", 0), data.get("recent_textless", 0))

    def save(self, path: Path = MODEL_PATH) -> None:
        data = {"features": list(FEATURES), "weights": [round(w, 5) for w in self.weights],
                "weights_textless": [round(w, 5) for w in self.weights_textless],
                "join": round(self.join, 4), "join_textless": round(self.join_textless, 4), "follow": round(self.follow, 4), "vetoes": list(self.vetoes),
                "link": self.link, "link_textless": self.link_textless, "recent_textless": self.recent_textless,
                "fitted": self.fitted}
        Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


@lru_cache(maxsize=4)
def semantic_model(folder: Path) -> StoryModel:
    """The model a run uses with an embeddings backend: the one fitted on that model's cosines
    (`story_model.json` in its folder) or, failing that, the one fitted with the reference model."""
    own = Path(folder) / "story_model.json"
    return StoryModel.load(own if own.is_file() else SEMANTIC_MODEL_PATH)


@lru_cache(maxsize=4)
def default_model(path: Path = MODEL_PATH) -> StoryModel:
    """The shipped model, read once (an immutable value: no state is shared through it)."""
    return StoryModel.load(path)
