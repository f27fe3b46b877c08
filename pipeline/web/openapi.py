"""The API's description (OpenAPI 3.1), written by hand: served at /api/v1/openapi.json and
checked by a test against the routes the server has."""

from __future__ import annotations


def _get(summary: str, params: tuple[tuple[str, str, str], ...] = (), schema: dict | None = None) -> dict:
    ok = {"description": "JSON"} if schema is None else {"description": "JSON",
                                                         "content": {"application/json": {"schema": schema}}}
    return {"get": {"summary": summary, "parameters": [
        {"name": n, "in": where, "required": where == "path", "schema": {"type": "string"}, "description": d}
        for n, where, d in params],
        "responses": {"200": ok, "400": {"description": "a bad parameter: {\"error\": ...}"},
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

PEOPLE = "x-newsmon-people"      # a path served only with people configured ([[web.users]], a proxy's header)
_SIGNED_IN = "Only when someone is signed in (with [[web.users]] or a trusted proxy's user header): absent " \
             "without people, so the record is then exactly the CLI's."


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _strings(*names: str) -> dict:
    return {n: {"type": "string"} for n in names}


COMPONENTS = {
    "securitySchemes": {
        "session": {"type": "apiKey", "in": "cookie", "name": "newsmon_session",
                    "description": "With people configured, every call needs a signed-in user: the cookie "
                                   "`POST /login` sets, or a trusted reverse proxy's user header. Else 401."}},
    "schemas": {
        "Yours": {"type": "object", "description": "The signed-in user's reading state of a story, as the pages "
                                                   "mark it. " + _SIGNED_IN, "properties": {
            "read": {"type": "boolean", "description": "you marked it read"},
            "starred": {"type": "boolean", "description": "you starred it (listed on /mine)"},
            "new": {"type": "boolean", "description": "new since your last visit: a report was stored after your "
                                                      "previous visit ended (30 minutes without a page view), and "
                                                      "you have not marked it read"}}},
        "DigestStory": {"allOf": [{"type": "object", "description": "A story as `newsmon stories --json` gives it",
                                   "properties": {**_strings("story_id", "title", "url", "follow_up_of"),
                                                  "topics": {"type": "array"}, "outlets": {"type": "array"},
                                                  "reports": {"type": "array"},
                                                  "continuing": {"type": ["integer", "null"]}}},
                                  _ref("Yours")]},
        "Story": {"allOf": [{"type": "object", "description": "A story as stored",
                             "properties": {**_strings("id", "first_seen", "last_seen", "lead", "title",
                                                       "follow_up_of"),
                                            "reports": {"type": "integer"}, "outlets": {"type": "integer"},
                                            "topics": {"type": "array"}}}, _ref("Yours")]},
        "SavedSearch": {"type": "object", "properties": {
            "id": {"type": "integer"}, **_strings("name", "query", "created"),
            "filters": {"type": "object", "description": "topic, feed, since, until: those given"},
            "feed": {"type": "string", "description": "its private Atom feed's URL (holds your feed key)"},
            "link": {"type": "string", "description": "the search's page"}}},
    },
}

OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "newsmon web API", "version": "1",
             "description": "The archive read by story. Read-only. Every HTML page of `newsmon web` has its twin "
                            "here; `today` and `search` give the records `newsmon stories --json` and "
                            "`newsmon search --json` print, `feeds` those of `newsmon status --json`. "
                            "When someone is signed in, story records also carry their `read`, `starred` and "
                            "`new` (the Yours schema); the shared fields stay the CLI's. Paths marked "
                            f"`{PEOPLE}` exist only with people configured."},
    "paths": {
        "/api/v1/today": _get("A day's stories by topic, ranked as in the digest", (_DAY,) + _FILTERS + (_LANG,), {
            "type": "object", "properties": {
                "stories": {"type": "array", "items": _ref("DigestStory")},
                "last_visit": {"type": ["string", "null"], "description": "when your previous visit ended "
                                                                          "(what `new` counts from). " + _SIGNED_IN}}}),
        "/api/v1/stories/{story_id}": _get("A story with every report (text, matches, language, and `why`: "
                                           "why it was grouped), what it follows, its follow-ups, the "
                                           "alerts sent for it and operators' corrections",
                                           (("story_id", "path", "the story id"),),
                                           {"type": "object", "properties": {"story": _ref("Story")}}),
        "/api/v1/saved-searches": {PEOPLE: True, **_get(
            "Your saved searches (as on /mine), each with its private Atom feed's URL. With people only", (),
            {"type": "object", "properties": {"saved_searches": {"type": "array", "items": _ref("SavedSearch")}}})},
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
        "/feeds/saved/{id}.atom": {PEOPLE: True, **_atom(
            "Atom: the stories one of your saved searches finds; opened by your session or its URL's `key` "
            "(a feed reader cannot sign in). With people only", (("id", "path", "the saved search's id"),), "404")},
        "/feeds/alert/{name}.atom": _atom("Atom: the stories an [[alerts]] rule matches, as the alert pass matches "
                                          "them (404 names the known rules)",
                                          (("name", "path", "the rule's name"),), "404"),
    },
    "components": COMPONENTS,
    "security": [{}, {"session": []}],     # none without people; with them, a session (or the proxy's header)
}
