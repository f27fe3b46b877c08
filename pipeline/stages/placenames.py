"""Tables of place names for the story profile: adjectives that name a country, spelling variants
of one place, US states and their abbreviations. Data, kept apart from the code that reads it."""

from __future__ import annotations

# Adjectives and abbreviations of places, keyed as the place: "Turkish" and "Turkey" meet; an
# adjective is never where something happened ("in Turkish waters").
DEMONYMS = {"russian": "russia", "ukrainian": "ukraine", "turkish": "turkey", "german": "germany",
            "polish": "poland", "british": "britain", "uk": "britain", "french": "france",
            "american": "america", "usa": "america", "emirati": "emirates", "uae": "emirates",
            "chinese": "china", "belarusian": "belarus", "hungarian": "hungary", "dutch": "netherlands",
            "italian": "italy", "european": "europe", "eu": "europe", "moldovan": "moldova",
            "georgian": "georgia", "iranian": "iran", "israeli": "israel", "syrian": "syria"}
DEMONYM_WORDS = frozenset(w for w in DEMONYMS if len(w) > 3)
# One place, several spellings (Russian-era, German, transliterated Cyrillic): keyed as the
# Ukrainian-based English spelling the region's news now uses.
VARIANTS = {"kiev": "kyiv", "kiew": "kyiv", "kyjiw": "kyiv", "kharkov": "kharkiv", "charkiw": "kharkiv",
            "odessa": "odesa", "nikolaev": "mykolaiv", "nikolayev": "mykolaiv", "zaporozhye": "zaporizhzhia",
            "zaporozhe": "zaporizhzhia", "saporischschja": "zaporizhzhia", "dnepr": "dnipro",
            "dnepropetrovsk": "dnipro", "lvov": "lviv", "lemberg": "lviv", "chernigov": "chernihiv",
            "rovno": "rivne", "lugansk": "luhansk", "rossiia": "russia", "rossiya": "russia",
            "russland": "russia", "ukraina": "ukraine", "moskva": "moscow", "moskau": "moscow"}
# US states and their AP abbreviations ("Md." is "Maryland"): keyed by the full name. A state is
# never the place two reports are told apart by (a town and its state do not conflict).
_STATES = {
    "alabama": "ala", "arizona": "ariz", "arkansas": "ark", "california": "calif", "colorado": "colo",
    "connecticut": "conn", "delaware": "del", "florida": "fla", "georgia": "ga", "illinois": "ill",
    "indiana": "ind", "kansas": "kan", "kentucky": "ky", "louisiana": "la", "maryland": "md",
    "massachusetts": "mass", "michigan": "mich", "minnesota": "minn", "mississippi": "miss",
    "missouri": "mo", "montana": "mont", "nebraska": "neb", "nevada": "nev", "oklahoma": "okla",
    "oregon": "ore", "pennsylvania": "pa", "tennessee": "tenn", "texas": "tex", "vermont": "vt",
    "virginia": "va", "washington": "wash", "wisconsin": "wis", "wyoming": "wyo", "iowa": "", "ohio": "",
    "utah": "", "idaho": "", "maine": "", "alaska": "", "hawaii": ""}
VARIANTS.update({abbreviation: state for state, abbreviation in _STATES.items() if abbreviation})
STATES = frozenset(_STATES)
