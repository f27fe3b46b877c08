"""The language an article declares: the item's xml:lang, its feed's <language> (or the root's
xml:lang), else its page's <html lang>. Declared, not guessed: feeds and pages say it, cheaply
and almost always rightly, where a detector would need a model and guess short headlines wrong.
Kept as the primary subtag in lower case ("en-GB" and "EN" are both "en"), so the web reader's
filter has one value per language."""

from __future__ import annotations

import re

_CODE = re.compile(r"\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*\s*$")
_HTML_LANG = re.compile(rb"""<html\b[^>]*?\blang\s*=\s*["']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*)""", re.I)


def language_code(value: object) -> str | None:
    """"en-US" -> "en"; None for anything that is no language tag ("x-default", "", "english")."""
    if not isinstance(value, str):
        return None
    found = _CODE.match(value)
    return found.group(1).lower() if found else None


def entry_language(entry, feed) -> str | None:
    """A feedparser entry's language: its title's or content's xml:lang, else the feed's."""
    for detail in (entry.get("title_detail"), *(entry.get("content") or ()), entry.get("summary_detail")):
        if isinstance(detail, dict) and (code := language_code(detail.get("language"))):
            return code
    return language_code(feed.get("language"))


def page_language(html: bytes) -> str | None:
    """The `lang` of a page's <html> element, when it has one."""
    found = _HTML_LANG.search(html[:20_000])
    return language_code(found.group(1).decode("ascii")) if found else None
