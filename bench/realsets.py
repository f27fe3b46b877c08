"""Real labelled news for story grouping (../shared/corpora/stories-real), and the baselines that
make a figure readable.

Two sets nobody on newsmon wrote (their README says what the labels are and are not):
- headlines-uci.tsv.gz: real headlines (2014) with Google News story ids (STORY) and those ids of
  one event folded (EVENT); no text;
- fulltext-gva.jsonl.gz: real local news reports labelled by shooting incident.
Each comes in tuning windows (D*) and validation windows (V*): fit and choose thresholds on D,
report V apart and never tune on it. Absent corpora: `available()` is False and callers skip.

Baselines, run on the same stream in the same arrival order: every report alone; exact normalised
title; TF-IDF cosine single pass (title + text, 72 h window, join the best earlier report's story
at a threshold chosen on a D window); NewsBlur's rule (title word overlap >= 0.6 of the shorter
title, with >= 3 shared words).
"""

from __future__ import annotations

import bisect
import csv
import gzip
import io
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .storyset import Report

CORPORA = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "stories-real"
HEADLINES = CORPORA / "headlines-uci.tsv.gz"
FULLTEXT = CORPORA / "fulltext-gva.jsonl.gz"
WINDOW = timedelta(hours=72)


def available() -> bool:
    return HEADLINES.is_file() and FULLTEXT.is_file()


@dataclass(frozen=True)
class Window:
    """One window of a real set, in arrival order, with its labels."""

    name: str                         # "headlines D1", "full text V2", ...
    reports: list[Report]             # arrival order; Report.event is the label scored against
    folded: dict[str, str] | None = None   # headlines: report -> EVENT (Google's repeat ids folded)

    @property
    def tuning(self) -> bool:
        return self.name.split()[-1].startswith("D")


def headline_windows() -> list[Window]:
    with gzip.open(HEADLINES, "rt", encoding="utf-8") as f:
        rows = list(csv.DictReader(io.StringIO(f.read()), delimiter="\t", quoting=csv.QUOTE_NONE))
    out: dict[str, list] = {}
    for row in rows:
        when = datetime.fromtimestamp(int(row["TIMESTAMP"]) / 1000, timezone.utc)
        out.setdefault(row["WINDOW"], []).append(
            (Report(id=row["ID"], event=row["STORY"], outlet=row["PUBLISHER"], published=when,
                    title=row["TITLE"], text=""), row["EVENT"]))
    return [Window(f"headlines {name}", [r for r, _ in rows_], {r.id: e for r, e in rows_})
            for name, rows_ in sorted(out.items())]


def fulltext_windows() -> list[Window]:
    out: dict[str, list[Report]] = {}
    with gzip.open(FULLTEXT, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            out.setdefault(row["window"], []).append(Report(
                id=row["id"], event=row["event"], outlet=row["outlet"], lang=row.get("lang", "en"),
                published=datetime.fromisoformat(row["published"].replace("Z", "+00:00")),
                title=row["title"], text=row["text"]))
    return [Window(f"full text {name}", sorted(reports, key=lambda r: (r.published, r.id)))
            for name, reports in sorted(out.items())]


def multi_report(reports: list[Report]) -> set[str]:
    """The reports whose event has at least two reports."""
    sizes = Counter(r.event for r in reports)
    return {r.id for r in reports if sizes[r.event] >= 2}


# --- baselines ------------------------------------------------------------------------------------

_WORDS = re.compile(r"\w+")
_STOP = frozenset("a an the of to in on for and or at by with from is are was were be as it its this that "
                  "after over up new says said".split())


def alone(reports: list[Report]) -> dict[str, str]:
    return {r.id: r.id for r in reports}


def exact_title(reports: list[Report]) -> dict[str, str]:
    first: dict[str, str] = {}
    return {r.id: first.setdefault(" ".join(_WORDS.findall(r.title.lower())), r.id) for r in reports}


def newsblur(reports: list[Report]) -> dict[str, str]:
    """NewsBlur's rule: title word overlap >= 0.6 (of the shorter title) with >= 3 shared words,
    with an earlier report in the window."""
    out: dict[str, str] = {}
    seen: list[tuple[Report, set[str]]] = []
    postings: dict[str, list[int]] = {}
    for r in reports:
        words = set(_WORDS.findall(r.title.lower())) - _STOP
        counts: Counter[int] = Counter()
        for w in words:
            counts.update(postings.get(w, ()))
        match = None
        for i, n in counts.most_common():
            other, theirs = seen[i]
            if n >= 3 and n / max(1, min(len(words), len(theirs))) >= 0.6 and r.published - other.published <= WINDOW:
                match = out[other.id]
                break
        out[r.id] = match or r.id
        for w in words:
            postings.setdefault(w, []).append(len(seen))
        seen.append((r, words))
    return out


def tfidf_single_pass(reports: list[Report], threshold: float) -> dict[str, str]:
    """Join the story of the most similar earlier report in the window (TF-IDF cosine of title +
    text, document frequencies from the stream so far) when it reaches `threshold`."""
    return tfidf_thresholds(reports, [threshold])[threshold]


def tfidf_thresholds(reports: list[Report], thresholds: list[float]) -> dict[float, dict[str, str]]:
    """tfidf_single_pass at several thresholds in one pass (the similarities are computed once)."""
    df: Counter[str] = Counter()
    docs: list[tuple[Report, dict[str, float], float]] = []    # weights and norm as of arrival
    postings: dict[str, list[int]] = {}
    out: dict[float, dict[str, str]] = {t: {} for t in thresholds}
    start = 0                                  # the first report still in the window
    for r in reports:
        while start < len(docs) and r.published - docs[start][0].published > WINDOW:
            start += 1
        tf = Counter(w for w in _WORDS.findall((r.title + " " + r.title + " " + r.text[:3000]).lower())
                     if w not in _STOP and not w.isdigit())
        n = len(docs) + 1
        mine = {w: c * (math.log((n + 1) / (df[w] + 1)) + 1) for w, c in tf.items()}
        norm = math.sqrt(sum(v * v for v in mine.values())) or 1.0
        dots: Counter[int] = Counter()
        for w, v in mine.items():
            found = postings.get(w, ())
            for i in found[bisect.bisect_left(found, start):]:
                dots[i] += v * docs[i][1][w]
        best = max(((dot / (norm * docs[i][2]), i) for i, dot in dots.items()), default=None)
        for t in thresholds:
            out[t][r.id] = out[t][docs[best[1]][0].id] if best and best[0] >= t else r.id
        for w in tf:
            df[w] += 1
            postings.setdefault(w, []).append(len(docs))
        docs.append((r, mine, norm))
    return out
