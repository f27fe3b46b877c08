"""The labelled story set (tests/data/stories/dev.txt) and the scores a clustering gets on it.

BCubed precision and recall (Bagga & Baldwin 1998; Amigó et al. 2009): for every report, the
share of its predicted cluster that belongs to its event (precision) and the share of its event
that landed in its cluster (recall), averaged over reports. Unlike pair counting, a big event does
not outweigh many small ones.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

DEV_SET = Path(__file__).resolve().parent.parent / "tests" / "data" / "stories" / "dev.txt"
_REPORT = re.compile(r"^--- (\S+) (\S+)((?: \S+)*)$")


@dataclass(frozen=True, slots=True)
class Report:
    id: str                      # "<event>/<n>": unique within the set
    event: str
    outlet: str
    published: datetime
    title: str
    text: str
    copy: bool = False           # a syndicated copy of another report of the event
    lang: str = "en"


@dataclass
class StorySet:
    reports: list[Report] = field(default_factory=list)
    follows: dict[str, str] = field(default_factory=dict)          # event -> the event it follows
    apart: set[frozenset[str]] = field(default_factory=set)         # hard-negative event pairs

    def english(self) -> "StorySet":
        return StorySet([r for r in self.reports if r.lang == "en"], self.follows, self.apart)

    @property
    def events(self) -> set[str]:
        return {r.event for r in self.reports}

    @property
    def outlets(self) -> set[str]:
        return {r.outlet for r in self.reports}


def load(path: Path = DEV_SET) -> StorySet:
    out = StorySet()
    event, report, lines = None, None, []

    def flush() -> None:
        if report is not None:
            title, *body = [x for x in lines if x.strip()] or [""]
            out.reports.append(Report(text=" ".join(body).strip(), title=title.strip(), **report))

    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") and report is None or line.startswith("# ---"):
            continue
        if line.startswith("=== "):
            flush()
            event, report, lines = line[4:].strip(), None, []
        elif report is None and line.startswith("follows:"):
            out.follows[event] = line.split(":", 1)[1].strip()
        elif report is None and line.startswith("apart:"):
            for other in line.split(":", 1)[1].split(","):
                out.apart.add(frozenset((event, other.strip())))
        elif (m := _REPORT.match(line)):
            flush()
            flags = m.group(3).split()
            lang = next((f[5:] for f in flags if f.startswith("lang=")), "en")
            n = sum(r.event == event for r in out.reports) + 1
            report = dict(id=f"{event}/{n}", event=event, outlet=m.group(1),
                          published=datetime.fromisoformat(m.group(2).replace("Z", "+00:00")),
                          copy="copy" in flags, lang=lang)
            lines = []
        elif report is not None:
            lines.append(line)
    flush()
    return out


def bcubed(truth: dict[str, str], predicted: dict[str, str], over=None) -> tuple[float, float, float]:
    """(precision, recall, F1) of `predicted` (report -> cluster) against `truth` (report -> event),
    averaged over the reports in `over` (all when None); clusters and events keep every report,
    so a merge with a report outside `over` still costs precision."""
    by_cluster: dict[str, set[str]] = {}
    by_event: dict[str, set[str]] = {}
    for item, cluster in predicted.items():
        by_cluster.setdefault(cluster, set()).add(item)
    for item, event in truth.items():
        by_event.setdefault(event, set()).add(item)
    items = [i for i in truth if over is None or i in over]
    p = sum(len(by_cluster[predicted[i]] & by_event[truth[i]]) / len(by_cluster[predicted[i]]) for i in items)
    r = sum(len(by_cluster[predicted[i]] & by_event[truth[i]]) / len(by_event[truth[i]]) for i in items)
    p, r = p / len(items), r / len(items)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def hard_merges(stories: StorySet, predicted: dict[str, str]) -> list[tuple[str, str]]:
    """Hard-negative event pairs with at least one report of each in one cluster."""
    events_in: dict[str, set[str]] = {}
    for r in stories.reports:
        events_in.setdefault(predicted[r.id], set()).add(r.event)
    merged = set()
    for events in events_in.values():
        for a, b in itertools.combinations(sorted(events), 2):
            if frozenset((a, b)) in stories.apart:
                merged.add((a, b))
    return sorted(merged)


def within_event_jaccard(stories: StorySet, shingles) -> float:
    """The highest word-3-shingle Jaccard between two reports of one event that are not marked
    as copies: the set's promise that its reports were written independently."""
    worst = 0.0
    for a, b in itertools.combinations([r for r in stories.reports if not r.copy and r.lang == "en"], 2):
        if a.event == b.event:
            x, y = shingles(a.title + "\n" + a.text), shingles(b.title + "\n" + b.text)
            worst = max(worst, len(x & y) / len(x | y))
    return worst
