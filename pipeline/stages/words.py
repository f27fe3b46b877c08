"""How a profile folds words: a light stemmer, the event vocabulary news uses interchangeably, and
how a headline's style (Title Case or not) is told. Pure functions of a word or a title, shared by
profile.py's readers of terms and names."""

from __future__ import annotations

import re


def plural_folded(name: str) -> str:
    """A word without its plural "s", `stem`'s first step; a name kept whole as a term is folded so
    too: "Barclays" read as a name in one headline and as a Title Case word in another is one term."""
    return name[:-1] if len(name) > 3 and name.endswith("s") and not name.endswith(("ss", "us", "is")) else name


def stem(word: str) -> str:
    """A light suffix stripper: strikes/striking/strike, killed/killing/kills meet."""
    word = plural_folded(word)
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ied"):
        word = word[:-3] + "y"
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


# Words news uses interchangeably for one fact: each group is counted as its first word, so a
# "truce" and a "ceasefire", a "swap" and an "exchange", meet. Event vocabulary only.
_SYNONYM_GROUPS = (
    "ceasefire truce armistice moratorium", "attack strike struck hit raid bombardment shelling",
    "drone uav uavs shahed", "kill killed dead died death deaths", "injure injured wounded hurt",
    "talks negotiations negotiators negotiation", "exchange swap swapped", "prisoners pows captives captivity",
    "deal agreement accord pact arrangement", "blackout blackouts outage outages", "flood flooding floods flooded",
    "proposal proposed propose", "referendum plebiscite ballot vote", "border frontier", "missile rocket",
    "intercepted downed destroyed shot", "grain wheat maize corn", "ship ships vessel vessels carrier",
    "building apartment residential tower block", "loan loans tranche financing",
)
SYNONYMS = {stem(w): stem(group.split()[0]) for group in _SYNONYM_GROUPS for w in group.split()}


# words a Title Case headline leaves in lower case: they tell nothing of its style
MINOR_WORDS = frozenset("a an the and but or nor for so yet at by in of on to up as via with from into onto "
                         "over off per vs than".split())


def title_case(title: str) -> bool:
    """Whether a headline capitalises its words (Title Case) rather than only its names: counted
    over its words that begin with a letter and are not the small words Title Case leaves low."""
    words = [w for w in title.split() if w[:1].isalpha() and w.lower() not in MINOR_WORDS]
    return bool(words) and sum(w[:1].isupper() for w in words) > 0.6 * len(words)


# " - ", " | ", " – ", " — ", " :: " between parts of a page's title
_TITLE_PARTS = re.compile(r"\s+(?:[-|–—•»]|::)\s+")


def headline(title: str) -> str:
    """A page's title without the site's name after it: "2 dead in Shreveport shooting - KSLA News
    12 Shreveport, Louisiana" is its first part. A scraped page's title carries the site's name (18%
    of the real full-text set's titles), whose words, numbers ("News 12") and places would be read
    as the event's and shared by every report of that outlet. A trailing part is the site's when
    every word of it is capitalised (or a number or a sign) and at least 3 words come before it:
    "Ukraine - Russia talks resume" keeps both parts, "Opinion | Why the truce…" too."""
    trimmed = title.rstrip(" -|–—•»")
    parts = _TITLE_PARTS.split(trimmed)
    whole, words = len(parts), [len(p.split()) for p in parts]
    head = sum(words)
    while len(parts) > 1 and _site_like(parts[-1]) and head - words[-1] >= 3:
        head -= words.pop()
        parts.pop()
    return trimmed if len(parts) == whole else " - ".join(parts)


def _site_like(part: str) -> bool:
    """Every word capitalised, a number or sign, or a web address ("wave3.com-Louisville News")."""
    return all(w[:1].isupper() or not w[:1].isalpha() or _DOMAIN.search(w) for w in part.split())


_DOMAIN = re.compile(r"\w\.(?:com|org|net|tv|co|news|us|uk)\b", re.IGNORECASE)
