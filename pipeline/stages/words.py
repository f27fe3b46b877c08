"""How a profile folds words: a light stemmer, the event vocabulary news uses interchangeably, and
how a headline's style (Title Case or not) is told. Pure functions of a word or a title, shared by
profile.py's readers of terms and names."""

from __future__ import annotations


def stem(word: str) -> str:
    """A light suffix stripper: strikes/striking/strike, killed/killing/kills meet."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
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


def plural_folded(name: str) -> str:
    """A name kept whole as a term, but for the plural "s" `stem` strips from any word: "Barclays"
    read as a name in one headline and as a Title Case word in another is one term."""
    return name[:-1] if len(name) > 3 and name.endswith("s") and not name.endswith(("ss", "us", "is")) else name


# words a Title Case headline leaves in lower case: they tell nothing of its style
MINOR_WORDS = frozenset("a an the and but or nor for so yet at by in of on to up as via with from into onto "
                         "over off per vs than".split())


def title_case(title: str) -> bool:
    """Whether a headline capitalises its words (Title Case) rather than only its names: counted
    over its words that begin with a letter and are not the small words Title Case leaves low."""
    words = [w for w in title.split() if w[:1].isalpha() and w.lower() not in MINOR_WORDS]
    return bool(words) and sum(w[:1].isupper() for w in words) > 0.6 * len(words)
