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
from dataclasses import dataclass

from .records import Match
from .topics import TopicRule

_SEPARATOR = r"(?:[\s\u00a0]+|[-\u2010\u2011\u2012\u2013])?"
# A sentence ends at . ! ? … (optionally closed by a quote or bracket) followed by space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’»)\]]*\s+|\n+")


def term_regex(term: str) -> str:
    """A term as a regex body: spaces/hyphens flexible, trailing * = any word ending."""
    stem, wildcard = (term[:-1], True) if term.endswith("*") else (term, False)
    words = re.split(r"[\s\-\u2010\u2011]+", stem.strip())
    body = _SEPARATOR.join(re.escape(w) for w in words if w)
    return body + (r"\w*" if wildcard else "")


def _alternation(parts: list[str]) -> str:
    return "(?<!\\w)(?:" + "|".join(parts) + ")(?!\\w)"


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    rule: TopicRule
    searches: tuple[tuple[re.Pattern, tuple[str, ...]], ...]  # pattern, source term per group
    exclude: re.Pattern | None


def _compile_group(sources: list[str], bodies: list[str], flags: int) -> tuple[re.Pattern, tuple[str, ...]]:
    named = [f"(?P<t{i}>{b})" for i, b in enumerate(bodies)]
    return re.compile(_alternation(named), flags), tuple(sources)


class TopicMatcher:
    """Compiled topic rules. `match(title, text)` returns the matches in reading order."""

    def __init__(self, rules: tuple[TopicRule, ...]):
        compiled = []
        for rule in rules:
            searches = []
            if rule.terms:
                searches.append(_compile_group(list(rule.terms), [term_regex(t) for t in rule.terms],
                                               re.IGNORECASE))
            if rule.case_sensitive:
                searches.append(_compile_group(list(rule.case_sensitive),
                                               [term_regex(t) for t in rule.case_sensitive], 0))
            for p in rule.patterns:
                searches.append((re.compile(p, re.IGNORECASE), (p,)))
            exclude = (re.compile(_alternation([term_regex(e) for e in rule.exclude]), re.IGNORECASE)
                       if rule.exclude else None)
            compiled.append(_CompiledRule(rule, tuple(searches), exclude))
        self._rules = tuple(compiled)
        self.labels = {r.id: r.label for r in rules}

    def match(self, title: str, text: str) -> tuple[Match, ...]:
        found: list[Match] = []
        for field_name, value in (("title", title), ("text", text)):
            if not value:
                continue
            sentences = _SentenceIndex(value)
            for c in self._rules:
                hidden = [m.span() for m in c.exclude.finditer(value)] if c.exclude else []
                for pattern, sources in c.searches:
                    for m in pattern.finditer(value):
                        start, end = m.span()
                        if start == end or any(s <= start and end <= e for s, e in hidden):
                            continue
                        term = sources[int(m.lastgroup[1:])] if m.lastgroup else sources[0]
                        found.append(Match(topic=c.rule.id, term=term, field=field_name,
                                           start=start, end=end,
                                           matched=" ".join(m.group(0).split()),
                                           sentence=sentences.around(start, end)))
        found.sort(key=lambda m: (m.field != "title", m.start, m.topic))
        return tuple(found)


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
