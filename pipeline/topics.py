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
- `exclude`: phrases whose matches do not count ("Northern Territory").
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
    ),
    TopicRule(
        id="territory",
        label="Territory",
        terms=("territory", "territories", "territorial", "territorially",
               "територі*", "территори*", "Territorium", "Territorien", "Staatsgebiet*",
               "territoire", "territoires", "territoriale*", "territoriaux"),
        exclude=("Northern Territory", "Australian Capital Territory", "Yukon Territory",
                 "territorial waters of the mind"),
    ),
)
