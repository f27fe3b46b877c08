"""Topic rules and the built-in defaults.

A rule has:
- `terms`: whole-word, case-insensitive. A space or hyphen inside a term matches a space, a hyphen
  or nothing ("cease-fire" finds "cease fire", "cease-fire" and "ceasefire"); an apostrophe
  matches any of ' ’ ʼ (Ukrainian перемир'я is typed all three ways). A trailing `*` matches any
  word ending, for inflected languages ("перемири*" finds перемирие, перемирия, …; a `*` may
  end any word of a term: "прекращени* огня").
- `case_sensitive`: like terms but case must match: for acronyms that are also words
  ("NATO" but not Italian "nato", "born").
- `patterns`: regular expressions, case-insensitive, for what terms cannot say.
- `exclude`: phrases whose matches do not count ("Northern Territory"); "…" between two words
  of a phrase allows up to 8 words between them in one clause ("exhibition* … armistice*").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TopicRule:
    id: str                              # stable id used in the database and JSON ("nato")
    label: str                           # shown to readers ("NATO")
    terms: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    case_sensitive: tuple[str, ...] = ()
    alert: bool = False                  # a new story of this topic alerts the alert channels


DEFAULT_TOPICS: tuple[TopicRule, ...] = (
    TopicRule(
        id="nato",
        label="NATO",
        case_sensitive=("NATO", "Nato", "N.A.T.O.", "OTAN", "НАТО", "Нато"),
        terms=("North Atlantic Treaty Organization", "North Atlantic Treaty Organisation",
               "North Atlantic Alliance", "Organisation du traité de l'Atlantique nord",
               "Organización del Tratado del Atlántico Norte"),
    ),
    TopicRule(
        id="ceasefire",
        label="Ceasefire",
        terms=(
            "cease-fire", "cease-fires", "truce", "truces", "armistice", "armistices",
            # Ukrainian: перемир'я (any apostrophe) in its case forms, припинення вогню;
            # Russian: перемирие, прекращение огня
            "перемир'я", "перемир'ю", "перемир'ям", "перемир'ями", "перемир'ях", "перемиря",
            "припиненн* вогню", "перемири*", "прекращени* огня",
            # German and French
            "Waffenstillstand*", "Waffenruhe*", "Feuerpause*", "cessez-le-feu", "trêve", "trêves",
        ),
        # measured on real feeds (bench/topics.py): history (the 1918 armistice, its day and
        # anniversaries, exhibits) and trade wars are not a ceasefire in the news
        exclude=("Armistice Day", "19* armistice*", "armistice* of 19*", "anniversary of the armistice*",
                 "armistice anniversar*", "armistice centenar*", "centenary of the armistice*",
                 "exhibit* on armistice*", "exhibit* about armistice*", "trade truce*", "trade war truce*",
                 "tariff truce*",
                 # history in context: an armistice near an exhibition, a museum, historians or a century
                 "exhibition* … armistice*", "armistice* … exhibition*", "museum* … armistice*",
                 "historian* … armistice*", "armistice* … historian*", "armistice* … centur*"),
    ),
    TopicRule(
        id="territory",
        label="Territory",
        terms=("territory", "territories", "territorial", "territorially",
               "територі*", "территори*", "Territorium", "Territorien", "Staatsgebiet*",
               "territoire", "territoires", "territoriale*", "territoriaux"),
        # measured on real feeds (bench/topics.py): place names, units named after territorial
        # defence, overseas territories (tax havens), commercial "sales territories" and "countries
        # and territories", idioms ("uncharted territory")
        exclude=("Northern Territory", "Capital Territory", "Yukon Territory", "Northwest Territories",
                 "territorial waters of the mind",
                 "territorial defen*", "територіальн* оборон*", "территориальн* оборон*",
                 "défense territoriale",
                 "overseas territor*", "territoire* d'outre-mer", "territoire* ultramarin*",
                 "sales territor*", "distribution territor*", "licensing territor*",
                 "countries and territories", "markets and territories",
                 "uncharted territory", "unknown territory", "familiar territory", "unfamiliar territory",
                 "dangerous territory"),
    ),
)
