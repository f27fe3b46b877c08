"""The API's description (OpenAPI 3.1), written by hand: served at /api/v1/openapi.json and
checked by a test against the routes the server has."""

from __future__ import annotations


def _get(summary: str, params: tuple[tuple[str, str, str], ...] = ()) -> dict:
    return {"get": {"summary": summary, "parameters": [
        {"name": n, "in": where, "required": where == "path", "schema": {"type": "string"}, "description": d}
        for n, where, d in params],
        "responses": {"200": {"description": "JSON"}, "400": {"description": "a bad parameter: {\"error\": ...}"},
                      "404": {"description": "no such record"},
                      "503": {"description": "the archive cannot be read (no database yet)"}}}}


def _atom(summary: str, params: tuple[tuple[str, str, str], ...], missing: str) -> dict:
    """An Atom feed (application/atom+xml), one entry per story; `missing`: the status of a bad name."""
    return {"get": {"summary": summary, "parameters": [
        {"name": n, "in": where, "required": True, "schema": {"type": "string"}, "description": d}
        for n, where, d in params],
        "responses": {"200": {"description": "Atom (RFC 4287)",
                              "content": {"application/atom+xml": {"schema": {"type": "string"}}}},
                      missing: {"description": "an unknown name, or no query"},
                      "503": {"description": "the archive cannot be read (no database yet)"}}}}


_DAY = ("date", "query", "the digest day, YYYY-MM-DD (default: today in the digest zone)")
_FILTERS = (("topic", "query", "a topic id"), ("feed", "query", "a feed name"), ("tag", "query", "a feed tag"))
_LANG = ("lang", "query", "a language code (en, de; und: none declared): the stories any report of which declares it; "
                          "`languages` counts the stories per language")

OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "newsmon web API", "version": "1",
             "description": "The archive read by story. Read-only. Every HTML page of `newsmon web` has its twin "
                            "here; `today` and `search` give the records `newsmon stories --json` and "
                            "`newsmon search --json` print, `feeds` those of `newsmon status --json`."},
    "paths": {
        "/api/v1/today": _get("A day's stories by topic, ranked as in the digest", (_DAY,) + _FILTERS + (_LANG,)),
        "/api/v1/stories/{story_id}": _get("A story with every report (text, matches, language, and `why`: "
                                           "why it was grouped), what it follows, its follow-ups, the "
                                           "alerts sent for it and operators' corrections",
                                           (("story_id", "path", "the story id"),)),
        "/api/v1/search": _get("Full-text search (FTS5), best first, with snippets, stories and facets by "
                               "topic, feed and day", (("q", "query", "the words to find"),
                                                       ("since", "query", "first day, YYYY-MM-DD"),
                                                       ("until", "query", "last day, YYYY-MM-DD"),
                                                       _FILTERS[0], _FILTERS[1])),
        "/api/v1/days": _get("The archive by day: articles stored and digest files written"),
        "/api/v1/feeds": _get("Feed health (as `newsmon status --json`) and recent runs"),
        "/api/v1/alerts": _get("Chat messages per channel: sent, pending, failed, and the latest messages"),
        "/api/v1/openapi.json": _get("This description"),
        "/feeds/topic/{topic}.atom": _atom("Atom: a topic's stories, by latest report (400: an unknown topic)",
                                           (("topic", "path", "a topic id"),), "400"),
        "/feeds/search.atom": _atom("Atom: the stories a search finds (400: no query)",
                                    (("q", "query", "the words to find"),), "400"),
        "/feeds/alert/{name}.atom": _atom("Atom: the stories an [[alerts]] rule matches, as the alert pass matches "
                                          "them (404 names the known rules)",
                                          (("name", "path", "the rule's name"),), "404"),
    },
}
