"""The people a report's lead gives by age: ages are never counts, and an age with its noun ("a
14-year-old boy", "Girl, 8,") tells one victim from another better than a bare age does (a
report's "16-year-old" may be the suspect, another's the victim of the same shooting)."""

from __future__ import annotations

import re

# An age is a person's, never a count: "a 16-year-old", "aged 16", "16 years old", "Girl, 8, shot".
AGE = re.compile(r"\b(\d{1,3})[- ]years?[- ]old\b|\baged? (\d{1,3})(?:,? (?:and|to) (\d{1,3}))?\b|"
                 r"(?<=[A-Za-z]), (\d{1,3})(?=,|\s*$| (?:was|is|shot|killed|died|dies|hurt|wounded)\b)")

# the noun that says who the aged person is, folded to m/f: two reports naming a 14-year-old boy and
# an 8-year-old girl tell of two victims
_GENDER = {**dict.fromkeys("boy boys man men male son father husband brother grandfather".split(), "m"),
           **dict.fromkeys("girl girls woman women female daughter mother wife sister grandmother".split(), "f")}
_NOUNS = "|".join(sorted(_GENDER, key=len, reverse=True))
# "Girl, 8, shot", "a man, 31", "a woman aged 31" -- but not "Boy, 2 Others Wounded" (a count after
# the noun): a bare number is an age only where a comma, a bracket, the end or a verb follows it
_AGE_NOUN = re.compile(rf"\b(\d{{1,3}})[- ]years?[- ]old,? ({_NOUNS})\b|"
                       rf"\b({_NOUNS})(?:,? aged? (\d{{1,3}})\b|, (\d{{1,3}})(?=\s*[,)]|\s*$|"
                       rf" (?:was|is|has|shot|killed|dies|died|hurt|wounded|injured|found|missing)\b))",
                       re.IGNORECASE)


def ages(text: str) -> tuple[set[int], str]:
    """(the ages a text gives, the text with them blanked out so no count is read from them)."""
    found = {int(g) for m in AGE.finditer(text) for g in m.groups() if g}
    return found, AGE.sub(" ", text)


def persons(text: str) -> frozenset[str]:
    """The people a text gives by age and noun, as keys "14m", "8f" (m/f: the noun's gender)."""
    out = set()
    for m in _AGE_NOUN.finditer(text):
        age, noun = (m.group(1), m.group(2)) if m.group(1) else (m.group(4) or m.group(5), m.group(3))
        if int(age) < 120:
            out.add(f"{int(age)}{_GENDER[noun.lower()]}")
    return frozenset(out)
