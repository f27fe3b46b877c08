"""Topic flagging: which watched topics an article mentions, where, and in which sentence.

Rules (see topics.py for the rule format):
- word boundaries are Unicode-aware: a match must not touch a letter or digit on either side, so
  "senator" and "Donato" do not match NATO, and Cyrillic words are bounded like Latin ones;
- matching runs over the title and the full text, each match keeping its offsets and sentence;
- an `exclude` phrase hides the matches inside it;
- everything is compiled once per rule set (TopicMatcher), never per article.
"""

from __future__ import annotations

import bisect
import re

from ..records import Match
from ..topics import TopicRule

_SEPARATOR = r"(?:[\s\u00a0]+|[-\u2010\u2011\u2012\u2013])?"
_APOSTROPHES = "'’ʼ"
# A sentence ends at . ! ? … (optionally closed by a quote or bracket) followed by space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’»)\]]*\s+|\n+")


# "…" (or "...") between two words of a term: up to 8 other words between them, in one clause
# (no . ! ? … , ; : in between)
_GAP = r"(?:[\s\u00a0]+[^\s\u00a0.!?…,;:]+){0,8}?[\s\u00a0]+"


def term_regex(term: str) -> str:
    """A term as a regex body: spaces/hyphens flexible, any apostrophe, a word ending in * takes
    any ending ("прекращени* огня" finds прекращение/прекращения/прекращении огня), and "…"
    between two words allows up to 8 words between them within a clause, for excludes of a
    context ("exhibition* … armistice*")."""
    words = [w for w in re.split(r"[\s\-\u2010\u2011]+", term.strip()) if w]
    body, gap = "", False
    for w in words:
        if w in ("…", "..."):
            gap = bool(body)
            continue
        part = re.escape(w[:-1]) + r"\w*" if w.endswith("*") else re.escape(w)
        body += (_GAP if gap else _SEPARATOR if body else "") + part
        gap = False
    return re.sub(f"[{_APOSTROPHES}]", f"[{_APOSTROPHES}]", body)


def _bounded(alternatives: list[str]) -> str:
    return "(?<!\\w)(?:" + "|".join(alternatives) + ")(?!\\w)"


class TopicMatcher:
    """Compiled topic rules. `match(title, text)` returns the matches in reading order.

    Speed matters (every article, every run; re-flagging the archive): one regex holds the
    lower-cased form of every term of every topic and runs, case-sensitively, over the
    lower-cased text — one pass, three times faster than re.IGNORECASE. A hit is then told
    apart by its surface form (cached): which topic and term it is, and, for case-sensitive
    terms, whether the text as written has the right case ("NATO" yes, Italian "nato" no).
    Operator patterns get a pass each.
    """

    def __init__(self, rules: tuple[TopicRule, ...]):
        # (topic, term, regex telling whether a surface form is this term)
        self._terms: list[tuple[str, str, re.Pattern, bool]] = []
        bodies = []
        for r in rules:
            for term, exact in [(t, False) for t in r.terms] + [(t, True) for t in r.case_sensitive]:
                body = term_regex(term)
                self._terms.append((r.id, term, re.compile(body, 0 if exact else re.IGNORECASE), exact))
                bodies.append(term_regex(term.lower()))
        combined = _bounded(sorted(set(bodies), key=len, reverse=True)) if bodies else r"(?!)"
        self._scan = re.compile(combined)
        self._scan_ignorecase = re.compile(combined, re.IGNORECASE)
        self._patterns = [(r.id, p, re.compile(p, re.IGNORECASE)) for r in rules for p in r.patterns]
        # excludes scan the lower-cased text too (case-insensitively only when lowering moved offsets)
        self._exclude = {r.id: (re.compile(_bounded([term_regex(e.lower()) for e in r.exclude])),
                                re.compile(_bounded([term_regex(e) for e in r.exclude]), re.IGNORECASE))
                         for r in rules if r.exclude}
        self._known: dict[str, tuple[tuple[str, str], ...]] = {}

    def _identify(self, surface: str) -> tuple[tuple[str, str], ...]:
        """(topic, term) pairs a surface form stands for: at most one term per topic."""
        known = self._known.get(surface)
        if known is None:
            found: dict[str, str] = {}
            for topic, term, rx, _ in self._terms:
                if topic not in found and rx.fullmatch(surface):
                    found[topic] = term
            known = tuple(found.items())
            if len(self._known) < 10_000:
                self._known[surface] = known
        return known

    def _hits(self, value: str, lowered: str | None):
        """(topic, term, start, end, matched) for every hit in one field; `lowered` is the field
        lower-cased, or None when lowering moved offsets."""
        # lower() keeps offsets for all but a few code points (e.g. "İ"); otherwise scan as written
        scan = self._scan.finditer(lowered) if lowered is not None else self._scan_ignorecase.finditer(value)
        for m in scan:
            start, end = m.span()
            surface = value[start:end]
            for topic, term in self._identify(surface):
                yield topic, term, start, end, surface
        for topic, source, pattern in self._patterns:
            for m in pattern.finditer(value):
                if m.end() > m.start():
                    yield topic, source, m.start(), m.end(), m.group(0)

    def match(self, title: str, text: str) -> tuple[Match, ...]:
        found: list[Match] = []
        for field_name, value in (("title", title), ("text", text)):
            if not value:
                continue
            lowered = value.lower()
            lowered = lowered if len(lowered) == len(value) else None
            hits = list(self._hits(value, lowered))
            if not hits:
                continue
            hidden = {topic: _spans(lower if lowered is not None else anycase,
                                    lowered if lowered is not None else value,
                                    [(h[2], h[3]) for h in hits if h[0] == topic])
                      for topic, (lower, anycase) in self._exclude.items() if any(h[0] == topic for h in hits)}
            sentences = _SentenceIndex(value)
            for topic, term, start, end, matched in hits:
                if any(s <= start and end <= e for s, e in hidden.get(topic, ())):
                    continue
                found.append(Match(topic=topic, term=term, field=field_name, start=start, end=end,
                                   matched=" ".join(matched.split()),
                                   sentence=sentences.around(start, end)))
        found.sort(key=lambda m: (m.field != "title", m.start, m.topic))
        return tuple(found)


# An exclude phrase holds the hit it hides, and none is longer than this: excludes are looked for
# only this far around the hits (merged windows: never more than one pass over the text).
_EXCLUDE_REACH = 300


def _spans(rx: re.Pattern, text: str, hits: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans of `rx` in `text` near the hits."""
    windows: list[list[int]] = []
    for start, end in sorted(hits):
        lo, hi = max(0, start - _EXCLUDE_REACH), min(len(text), end + _EXCLUDE_REACH)
        if windows and lo <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], hi)
        else:
            windows.append([lo, hi])
    return [m.span() for lo, hi in windows for m in rx.finditer(text, lo, hi)]


class _SentenceIndex:
    """Sentence boundaries of one text, computed once and looked up by offset."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0] + [m.end() for m in _SENTENCE_END.finditer(text)]

    def around(self, start: int, end: int) -> str:
        i = bisect.bisect_right(self.starts, start) - 1
        j = bisect.bisect_left(self.starts, end)
        stop = self.starts[j] if j < len(self.starts) else len(self.text)
        sentence = self.text[self.starts[i]:stop].strip()
        if len(sentence) > 600:  # a run-on "sentence" (no punctuation): keep a window
            lo = max(start - 250, self.starts[i])
            sentence = "…" + self.text[lo:min(end + 250, stop)].strip() + "…"
        return " ".join(sentence.split())


def relevance(matches: tuple[Match, ...], topic: str) -> int:
    """Order within a topic: a title hit outweighs several text hits; repeats count."""
    return sum(5 if m.field == "title" else 1 for m in matches if m.topic == topic)
