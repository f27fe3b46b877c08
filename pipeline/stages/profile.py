"""What a report says, as comparable facts: the story stage's profile of one article.

Computed in the extraction worker beside the MinHash (pure, a few hundred microseconds for a long
article) and stored, so the story window is read back without re-reading texts. stories.py
explains how the facts are used.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from sys import intern
from typing import Iterable, Mapping

from anyascii import anyascii

from .persons import ages as _ages
from .persons import persons as _persons
from .placenames import DEMONYM_WORDS, DEMONYMS, STATES, VARIANTS
from .words import SYNONYMS, headline, plural_folded, stem, title_case  # noqa: F401  (stem: re-exported)

PROFILE_VERSION = "p9"              # p9: title_persons; "Boy, 2 Others" is no 2-year-old boy;
                                    # p8: persons (an age with its noun); p7: "Sunday night's shooting"
                                    # names Sunday; "the city of X" is a place; series_numbers (stored
                                    # profiles of another version are recomputed)
LEAD_WORDS = 80                   # the lead: what a report says first, where the event is told
ENTITY_WORDS = 250                # names are read from this much of the text (the event is told early;
                                  # later names are background, and memory grows with each kept)
BODY_TERMS = 40                   # the text's most frequent content words kept for the body cosine
BODY_WORDS = 400                  # read from this much of the text (the event, not the background)

_SENTENCES = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“«])")
_WORD = re.compile(r"[^\W\d_](?:[\w'’]*\w)?")    # a closing quote is no part of a word ("'bold'")
_TOKEN = re.compile(r"[^\W_][\w'’.,]*[\w]|[^\W_]")
_SENTENCE_END = re.compile(r"[.!?…:;\"“”«»]\s*$|^\s*$|\s[-–—]\s*$|\n\s*$")
_MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), 1)}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_WEEKDAYS = {d: i for i, d in enumerate("monday tuesday wednesday thursday friday saturday sunday".split())}
_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}
_KILLED = {"killed", "dead", "died", "killing", "deaths", "death", "kill", "kills", "lives"}
# a vote's tally is its key count, as a toll is a strike's (a bill's first reading and the next
# day's second vote differ in it): "198 votes", or voters and how they voted ("243 lawmakers in
# favour", "243 people's deputies voted", "How many voted for it? 243 deputies"; not "3 members
# of a family")
_VOTES = {"votes", "vote"}
_VOTERS = {"lawmakers", "deputies", "mps", "members", "senators", "legislators", "delegates"}
_VOTED = {"voted", "favour", "favor", "backed", "supported", "against", "approved", "opposed"}
_INJURED = {"injured", "wounded", "hurt", "injuring", "wounding", "injuries", "wounds"}
_CARE = {"hospital", "medical", "clinic", "trauma", "health", "memorial"}
_COMPASS = {"north", "south", "east", "west", "northern", "southern", "eastern", "western", "downtown", "central",
            "northeast", "northwest", "southeast", "southwest", "northeastern", "northwestern", "southeastern",
            "southwestern", "greater", "upper", "lower"}
# the street part of an address is not a place ("on Riverview Drive": the place is Riverview)
_STREET = {"drive", "street", "road", "avenue", "boulevard", "lane", "way", "court", "place", "st", "ave", "rd",
           "blvd", "highway", "parkway", "circle", "terrace", "trail", "pike"}
_LOCATIVE = {"in", "at", "near", "on", "over", "outside", "into", "across"}
# what is struck is where it happened: "drones hit Kharkiv", "Russia shelled Kherson"
_STRUCK = {"hit", "hits", "struck", "strikes", "strike", "attacked", "attacks", "attack", "shelled", "shells",
           "targeted", "targets", "bombed", "pounded", "hitting", "striking", "attacking", "shelling", "targeting"}
# a named facility is where it happened: its name is a place ("the Zaporizhzhia nuclear power plant",
# "the Chornobyl site"), so two facilities conflict as two cities do
_FACILITY = re.compile(r"\b([A-Z][\w'’]+)(?:'s|’s)?(?:\s+(?:nuclear|power|hydroelectric|hydro|thermal|oil|gas|"
                       r"chemical|steel|coal|air|naval|military))*\s+(?:plant|site|station|dam|refinery|airport|"
                       r"airbase|base|reactor|mine|shipyard|works|depot|terminal)s?\b")
_WEEKDAY_EVENT = {"on", "into", "to"}            # "on Monday", "overnight into Saturday"
_DAY_PARTS = {"morning", "afternoon", "evening", "night"}
_NOT_EVENT_DAY = {"since", "until", "by", "from", "before", "after", "till", "next", "last"}
_PLACE_NOUNS = {"region", "district", "market", "oblast", "province", "city", "port", "river", "village", "town",
                "county", "border", "palace", "crossing", "checkpoint", "harbour", "harbor"}
# capitalised but not names: roles and titles are shared by different people's statements
_NOT_NAMES = set("""
a an the he she it we they i you his her its our their this that these those there here what who why
how when where which mr mrs ms dr sir president minister mayor governor secretary general head chief
foreign defence defense prime deputy chairman spokesman spokeswoman spokesperson officials official
ambassador commander council ministry office army forces navy air force national state federal
breaking update live watch read analysis opinion explainer video photos exclusive new but and or so
if as at in on of for by with from after before during while since until to up out yes no not
""".split()) | set(_MONTHS) | set(_WEEKDAYS)
STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most my
no nor not now of off on once only or other our ours out over own same she should so some such than
that the their theirs them themselves then there these they this those through to too under until up
very was we were what when where which while who whom why will with would you your yours yourself
said says say saying told tell according reported reports report added adding asked news statement
statements statements also one two three new year years day days week weeks time times people
including include includes per cent percent would could may might must shall since around us
monday tuesday wednesday thursday friday saturday sunday today yesterday tonight night morning
evening afternoon overnight last next first second third early late later
""".split()) | set(_MONTHS)


@dataclass(frozen=True, slots=True)
class Profile:
    """What a report says, for comparing it with others (computed in the extraction worker)."""

    terms: Mapping[str, int]                  # stemmed content word of title (x2) and lead -> count
    entities: frozenset[str]                  # name keys (ENTITY_KEY letters of the Latin spelling)
    mentions: frozenset[str]                  # keys of the other capitalised words (not names): with
                                              # the names, all a place conflict is checked against
    places: frozenset[str]                    # name keys the opening places the event at
    killed: frozenset[int] = frozenset()      # counts the lead gives for the dead
    injured: frozenset[int] = frozenset()     # and for the injured
    numbers: frozenset[str] = frozenset()     # other numbers of the lead (a shared figure is a fact;
                                              # never an age or a year)
    day_named: tuple[str, int, int] | None = None  # first day the lead names: ("date", month, day),
                                              # ("weekday", 0-6, 0) or ("relative", -1|0, 0)
    title: Mapping[str, int] = field(default_factory=dict)  # stemmed content word of the title -> count
    body: Mapping[str, int] = field(default_factory=dict)   # the BODY_TERMS most frequent content words of
                                              # the text's first BODY_WORDS; empty: no text (a headline)
    ages: frozenset[int] = frozenset()        # ages the lead gives ("a 16-year-old", "Girl, 8,")
    more_days: tuple[tuple[str, int, int], ...] = ()   # the lead's further named days (up to 3)
    title_numbers: frozenset[str] = frozenset()   # numbers of the title, however small ("day 101")
    series_numbers: frozenset[str] = frozenset()  # of those, the ones that may number a series: in
                                              # digits, not a count ("two wounded", "1 dead")
    persons: frozenset[str] = frozenset()     # people the lead gives by age and noun: "14m", "8f"
    title_persons: frozenset[str] = frozenset()   # of those, the ones the title gives: whom the
                                              # report is about (the victim), not whom it mentions
    tallies: frozenset[int] = frozenset()     # vote tallies the lead gives ("243 lawmakers in favour")
    vector: object = field(default=None, compare=False)   # optional embeddings' unit vector (never stored)

    def says(self, key: str) -> bool:
        """Whether the text has this name at all (as a name or any capitalised word)."""
        return key in self.entities or key in self.mentions or key in self.places

    def to_json(self) -> dict:
        return {"t": dict(self.terms), "e": sorted(self.entities), "m": sorted(self.mentions),
                "p": sorted(self.places),
                "k": sorted(self.killed), "i": sorted(self.injured), "n": sorted(self.numbers),
                "d": list(self.day_named) if self.day_named else None,
                "ti": dict(self.title), "b": dict(self.body), "a": sorted(self.ages), "md": [list(d) for d in self.more_days],
                "tn": sorted(self.title_numbers), "sn": sorted(self.series_numbers), "pa": sorted(self.persons), "vt": sorted(self.tallies),
                "tpa": sorted(self.title_persons)}

    @classmethod
    def from_json(cls, data: dict) -> "Profile":
        return cls(terms={intern(t): n for t, n in data["t"].items()}, entities=_interned(data["e"]),
                   mentions=_interned(data["m"]), places=_interned(data["p"]), killed=frozenset(data["k"]),
                   injured=frozenset(data["i"]), numbers=_interned(data["n"]),
                   day_named=tuple(data["d"]) if data["d"] else None,
                   title={intern(t): n for t, n in data["ti"].items()},
                   body={intern(t): n for t, n in data["b"].items()}, ages=frozenset(data["a"]),
                   more_days=tuple(tuple(d) for d in data["md"]), title_numbers=_interned(data["tn"]),
                   series_numbers=_interned(data.get("sn", ())), persons=_interned(data.get("pa", ())),
                   title_persons=_interned(data.get("tpa", ())), tallies=frozenset(data.get("vt", ())))


def latin(word: str) -> str:
    word = word if word.isascii() else anyascii(word)
    return re.sub(r"[^a-z0-9]", "", word.lower().replace("'s", "").replace("’s", ""))


def _number(token: str) -> int | None:
    low = token.lower()
    if low in _NUMBER_WORDS:
        return _NUMBER_WORDS[low]
    digits = token.replace(",", "")
    if digits.isdecimal() and len(digits) < 10:
        return int(digits)
    return None


def profile_of(title: str, text: str) -> Profile:
    """The facts of one report: pure and cheap (a few hundred microseconds for a long article)."""
    title = headline(title)
    bare = _UPDATE.sub("", title)                     # the title without a wire's "UPDATE 2-"
    title_tokens = _tokens(_ages(bare)[1])            # (ages blanked: no number of the title)
    words = text.split(None, BODY_WORDS)[:BODY_WORDS]
    lead_text = " ".join(words[:LEAD_WORDS])
    entities, mentions = _names(title, text)
    title_terms = _content_words(bare, entities)
    terms = Counter(_content_words(lead_text, entities))
    for t, n in title_terms.items():
        terms[t] += 2 * n
    body = Counter(_content_words(" ".join(words), entities)).most_common(BODY_TERMS)
    common = {w for w in _WORD.findall(" ".join(words[:ENTITY_WORDS])) if w.islower()}
    places = _places(" ".join(_SENTENCES.split(lead_text, maxsplit=2)[:2]), common)
    # a Title Case headline capitalises every word: its places count where the text names them too
    places |= {p for p in _places(title, common) if not title_case(title) or p in entities}
    ages, figures_text = _ages(title + ". " + lead_text)
    killed, injured, numbers, tallies = _figures(figures_text)
    days = list(dict.fromkeys(_days_named(_tokens(title + ". " + lead_text))))
    return Profile(terms={intern(t): n for t, n in terms.items()}, entities=_interned(entities),
                   mentions=_interned(mentions - entities), places=_interned(places),
                   killed=frozenset(killed), tallies=frozenset(tallies),
                   injured=frozenset(injured), numbers=_interned(numbers),
                   day_named=days[0] if days else None, more_days=tuple(days[1:4]),
                   title={intern(t): n for t, n in title_terms.items()},
                   body={intern(t): n for t, n in body}, ages=frozenset(ages),
                   title_numbers=_interned(str(v) for t in title_tokens if (v := _number(t)) is not None
                                           and not (1900 <= v <= 2100 and t.isdecimal())),
                   series_numbers=_series_numbers(title_tokens),
                   persons=_persons(title + ". " + lead_text), title_persons=_persons(title))


_UPDATE = re.compile(r"^\s*UPDATE\s*\d+\s*[-:–]\s*", re.IGNORECASE)   # a wire's "UPDATE 2-": the same story


def _content_words(text: str, names: frozenset[str] | set[str] = frozenset()) -> Counter[str]:
    """Stemmed content words (stopwords and words under 3 letters left out) -> count. A name
    (`names`: the text's name keys) is kept whole: "Pokrovske" is not "Pokrovsk"."""
    out: Counter[str] = Counter()
    for w in _WORD.findall(text):
        low = w.lower().replace("'s", "").replace("’s", "")
        if low in STOPWORDS or len(low) < 3:
            continue
        if w[0].isupper() and (name := _entity_key(low)) in names:
            out[plural_folded(name)] += 1
            continue
        key = _canonical_term(low if low.isascii() else latin(low))
        if key:
            out[key] += 1
    return out


def _interned(keys) -> frozenset[str]:
    """Keys as shared string objects: thousands of profiles in the story window repeat the same
    names and terms, and one copy of each is what keeps the window's memory small."""
    return frozenset(intern(k) for k in keys)


# Words and names recur from one report to the next: their keys are kept (pure functions of the
# word; bounded), which halves what a profile costs in the worker.
@lru_cache(maxsize=50_000)
def _canonical_term(word: str) -> str:
    stemmed = stem(word)
    return SYNONYMS.get(stemmed, stemmed)


# Case endings of names transliterated from Ukrainian or Russian ("Харкова", "Харкові"): stripped so
# the declined forms meet the nominative. Latin-script names are keyed whole, never by a prefix:
# "Pokrovske" is not "Pokrovsk", "Kostiantynopil" not "Kostiantynivka".
_CASE_ENDINGS = ("oiu", "omu", "om", "oi", "iu", "ia", "a", "i", "u", "e", "y")


@lru_cache(maxsize=50_000)
def _entity_key(word: str) -> str:
    key = latin(word)
    if key in DEMONYMS or key in VARIANTS or word.isascii():
        return DEMONYMS.get(key, VARIANTS.get(key, key))
    stem_ = next((key[:-len(e)] for e in _CASE_ENDINGS if key.endswith(e) and len(key) - len(e) >= 4), key)
    for candidate in (stem_, stem_[:-1] + "i" + stem_[-1:] if stem_[-2:-1] == "o" else stem_):
        if candidate in VARIANTS or candidate in DEMONYMS:
            return DEMONYMS.get(candidate, VARIANTS.get(candidate, candidate))
    return stem_ if stem_[-2:-1] != "o" else stem_[:-2] + "i" + stem_[-1]


_NAME_TOKEN = re.compile(r"[^\W\d_][\w'’-]*|\S")


def _capitalised_names(text: str) -> Iterable[tuple[str, bool, str, str]]:
    """(word, sentence-initial, previous word, next word) for each capitalised word; "the"
    between a preposition and a name is skipped ("in the Saltivskyi district"), and so is a place
    noun's "of" ("in the city of Kherson": the word before Kherson is "in")."""
    found = list(_NAME_TOKEN.finditer(text))
    words = [m.group(0) for m in found]
    for i, word in enumerate(words):
        if not (word[0].isupper() and word[0].isalpha()):
            continue
        w = word.split("-")[0]              # "UAE-brokered", "Soviet-era": the name is the first part
        start = found[i].start()
        initial = i == 0 or bool(_SENTENCE_END.search(text[max(0, start - 4):start]))
        j = i - 1
        while j >= 0 and (words[j].lower() == "the" or words[j].lower() == "of" and j > 0
                          and words[j - 1].lower() in _PLACE_NOUNS):
            j -= 2 if words[j].lower() == "of" else 1
        prev_word = words[j].lower() if j >= 0 else ""
        next_word = words[i + 1].lower() if i + 1 < len(words) else ""
        yield w, initial, prev_word, next_word


def _names(title: str, text: str) -> tuple[set[str], set[str]]:
    """(entities, mentions): names the text is about, and every capitalised word it has, which
    is what a place conflict is checked against (a name the text says at all, however)."""
    body = " ".join(text.split(None, ENTITY_WORDS)[:ENTITY_WORDS])
    in_body = list(_capitalised_names(body))          # read once: the costliest step of a profile
    capitalised_inside = {w for w, initial, _, _ in in_body if not initial}
    is_title_case = title_case(title)
    entities: set[str] = set()
    mentions: set[str] = set()
    for part, names in ((body, in_body), (title, _capitalised_names(title))):
        for w, initial, _, _ in names:
            low = w.lower().replace("'s", "").replace("’s", "")
            key = _entity_key(low)
            if len(key) < 2 or low in STOPWORDS:
                continue
            if low not in _NOT_NAMES:
                mentions.add(key)           # (a place is never a role word or a pronoun)
            if low in _NOT_NAMES or (part is title and is_title_case and w not in capitalised_inside):
                continue                    # a Title Case Headline capitalises every word
            if initial and not (w.isupper() and len(w) > 1) and w not in capitalised_inside:
                continue
            entities.add(key)
    return entities, mentions


def _places(opening: str, common: set[str] = frozenset()) -> set[str]:
    """Names the opening (title and first sentences) places the event at: after in/at/near/on…,
    before district/region/port…. A dateline is where the reporter filed from, not a place; a
    word the text also writes in lower case (`common`: "in Custody", "Fatal") is not a name; a
    county, like a state, holds the town and does not conflict with it."""
    out: set[str] = set()
    previous = ""
    for w, _, prev_word, next_word in _capitalised_names(opening):
        low = w.lower().replace("'s", "").replace("’s", "")
        prev_word, previous = (previous if prev_word in _COMPASS else prev_word), prev_word
        if low in _COMPASS:
            continue                        # "in North Austin": the place is Austin
        if low in _NOT_NAMES or low in STOPWORDS or low in DEMONYM_WORDS or (len(low) < 3 and low not in VARIANTS):
            continue                        # ("Ex-Girlfriend" is read as "Ex")
        if next_word in _CARE or low in _STREET or low in common or next_word in ("county", "parish"):
            continue                        # where the wounded were taken, not where it happened
        if low.isalpha() and w[:len(low)].isupper() and len(low) <= 4 and low not in VARIANTS:
            continue                        # an acronym (ICU, a TV station's call letters) is not a place
        if prev_word in _LOCATIVE or prev_word in _STRUCK or next_word in _PLACE_NOUNS:
            out.add(_entity_key(low))
    for m in _FACILITY.finditer(opening):     # "the Zaporizhzhia nuclear power plant", "the Chornobyl site"
        low = m.group(1).lower().replace("'s", "").replace("’s", "")
        if not (low in _NOT_NAMES or low in STOPWORDS or low in DEMONYM_WORDS or low in common or len(low) < 3
                or low in _COMPASS or (m.group(1).isupper() and len(low) <= 4)):
            out.add(_entity_key(low))
    return {p for p in out if len(p) >= 2 and p not in STATES}


def _tokens(text: str) -> list[str]:
    return [t.strip(".,").lower() for t in _TOKEN.findall(text)]


def _figures(lead: str) -> tuple[set[int], set[int], set[str], set[int]]:
    """Counts of killed and injured the lead gives, its other notable numbers, and vote tallies."""
    tokens = _tokens(lead)
    killed, injured, numbers, tallies = set(), set(), set(), set()
    for i, tok in enumerate(tokens):
        value = _number(tok)
        if value is None or (1900 <= value <= 2100 and tok.isdecimal()):
            continue                        # a year is never a count ("in 1994")
        if value > 2:
            numbers.add(str(value))
        around = tokens[i + 1:i + 5]
        before = tokens[max(0, i - 4):i]        # "killing at least three", "death toll rose to 7"
        if any(t in _KILLED for t in around) or any(t in {"killing", "killed", "toll"} for t in before):
            killed.add(value)
        if any(t in _INJURED for t in around) or any(t in {"wounding", "injuring", "injured", "wounded"}
                                                      for t in before):
            injured.add(value)
        if value > 2 and around and (around[0] in _VOTES or _VOTERS & set(around[:2])
                                     and _VOTED & set(before + tokens[i + 1:i + 7])):
            tallies.add(value)
    return killed, injured, numbers, tallies


def _possessed(token: str) -> str:
    """A word without its possessive ending ("night's" -> "night")."""
    return token[:-2] if token.endswith(("'s", "’s")) else token


def _series_numbers(tokens: list[str]) -> frozenset[str]:
    """The numbers a title may number a series with ("day 101", "episode 12"): written in digits,
    not a year, and not a count of the killed or injured ("two wounded", "1 dead": a headline's
    count, which an outlet's update of its story changes). Only the series rule reads them; the
    fitted title-numbers feature keeps every number (counts that differ there tell two events
    apart: check.txt's Kherson market and Nikopol shelling merge without them)."""
    return _interned(t.replace(",", "") for i, t in enumerate(tokens) if t.replace(",", "").isdecimal()
                     and len(t) < 10 and not 1900 <= int(t.replace(",", "")) <= 2100
                     and not any(w in _KILLED or w in _INJURED for w in tokens[i + 1:i + 4]))


def _day_named(tokens: list[str]) -> tuple[str, int, int] | None:
    """The first day the text names as the event's: a date, "on <weekday>" or "<weekday>
    morning/night", "yesterday" or "today" ("since Thursday" and "by Friday" are not)."""
    return next(_days_named(tokens), None)


def _days_named(tokens: list[str]) -> Iterable[tuple[str, int, int]]:
    """Every day the text names as an event's, in order (see _day_named)."""
    for i, tok in enumerate(tokens):
        prev = tokens[i - 1] if i else ""
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        # "Sunday's shooting", "after Sunday night's shooting": a day owning something names its event
        if _possessed(tok) in _WEEKDAYS and (tok != _possessed(tok) or after != _possessed(after)
                                                  and _possessed(after) in _DAY_PARTS):
            yield ("weekday", _WEEKDAYS[_possessed(tok)], 0)
            continue
        if tok in _MONTHS and after.isdecimal() and 1 <= int(after) <= 31 and prev not in _NOT_EVENT_DAY:
            yield ("date", _MONTHS[tok], int(after))
        if tok in _MONTHS and prev.isdecimal() and 1 <= int(prev) <= 31 and \
                (tokens[i - 2] if i > 1 else "") not in _NOT_EVENT_DAY:
            yield ("date", _MONTHS[tok], int(prev))
        if tok in _WEEKDAYS and prev not in _NOT_EVENT_DAY and (prev in _WEEKDAY_EVENT or after in _DAY_PARTS
                                                                or prev in _KILLED or prev in _INJURED):
            yield ("weekday", _WEEKDAYS[tok], 0)
        if tok == "yesterday":
            yield ("relative", -1, 0)
        if tok in ("today", "tonight"):
            yield ("relative", 0, 0)
