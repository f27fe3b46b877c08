"""A user's own state in `newsmon web`: read and starred stories, saved searches (each also a
private Atom feed), the private feed key. Routes exist only with people configured (gate.py).

Every POST here goes through `checked`: the form's synchronizer token must be the session's
(gate.py has already checked the Origin), else 403 and nothing changes. Each change is one short
transaction on its own connection (app/people.py)."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..app import people, reading
from ..app.people import Session
from ..config import Config
from ..errors import NewsmonError, UsageError
from ..records import StoryRecord
from .atom import search_feed
from .gate import CURRENT
from .login import form, local_path
from .pages import SECURITY_HEADERS
from .pages import day_param as _day

ATOM = "application/atom+xml; charset=utf-8"
FILTERS = ("topic", "feed", "since", "until")


def search_stories(config: Config, query: str, topic: str | None = None, feed: str | None = None,
                   since: str | None = None, until: str | None = None) -> list[StoryRecord]:
    """The stories a search finds, best first (a search's Atom feed, saved or not); since/until: days."""
    first, last, zone = _day(since, "since"), _day(until, "until"), config.zone
    found = reading.search_page(
        config, query, topic=topic, feed=feed,
        since=datetime.combine(first, datetime.min.time(), zone) if first else None,
        until=datetime.combine(last + timedelta(days=1), datetime.min.time(), zone) if last else None)
    ids = list(dict.fromkeys(s for s in found["stories"] if s))
    stories = reading.stories_by_id(config, ids)
    return [stories[i] for i in ids if i in stories]


class State:
    def __init__(self, config: Config, pages, now):
        self.config, self.pages, self.now = config, pages, now

    async def checked(self, request: Request) -> tuple[Session, dict[str, str]] | Response:
        fields = await form(request)
        me = CURRENT.get()
        if me is None or not me.csrf or not hmac.compare_digest(me.csrf, fields.get("csrf", "")):
            return self.pages.error(False, 403, "Refused: the form's token does not belong to your session "
                                                "(an old page, or another site). Nothing was changed.")
        return me, fields

    async def mark(self, request: Request) -> Response:
        got = await self.checked(request)
        if isinstance(got, Response):
            return got
        me, fields = got
        story_id, what = request.path_params["story_id"], fields.get("what", "")
        if what not in ("read", "unread", "star", "unstar"):
            return self.pages.error(False, 400, "what: expected read, unread, star or unstar")
        await run_in_threadpool(people.mark, self.config, me.user, story_id, what, self.now())
        return RedirectResponse(local_path(fields.get("next") or f"/story/{story_id}"), 303)

    async def save(self, request: Request) -> Response:
        got = await self.checked(request)
        if isinstance(got, Response):
            return got
        me, fields = got
        query, name = fields.get("q", "").strip(), fields.get("name", "").strip()
        if not query:
            return self.pages.error(False, 400, "q: a search to save is needed")
        filters = {k: fields.get(k, "").strip() for k in FILTERS}
        for key in ("since", "until"):
            _day(filters[key], key)
        await run_in_threadpool(people.save_search, self.config, me.user, (name or query)[:100], query, filters,
                                self.now())
        return RedirectResponse("/mine#saved", 303)

    async def delete(self, request: Request) -> Response:
        got = await self.checked(request)
        if isinstance(got, Response):
            return got
        await run_in_threadpool(people.delete_search, self.config, got[0].user, int(request.path_params["id"]))
        return RedirectResponse("/mine#saved", 303)

    async def renew_key(self, request: Request) -> Response:
        got = await self.checked(request)
        if isinstance(got, Response):
            return got
        await run_in_threadpool(people.feed_key, self.config, got[0].user, self.now(), True)
        return RedirectResponse("/mine#saved", 303)

    def searches(self, request: Request, user: str) -> list[dict]:
        """The user's saved searches, each with its private feed's URL and its search's link."""
        key = people.feed_key(self.config, user, self.now())
        return [{**s, "feed": f"{request.base_url}feeds/saved/{s['id']}.atom?key={quote(key)}",
                 "link": "/search?" + "&".join(f"{k}={quote(str(v))}" for k, v in
                                               {"q": s["query"], **s["filters"]}.items())}
                for s in people.saved_searches(self.config, user)]

    def saved_api(self, request: Request) -> Response:
        """/api/v1/saved-searches: the saved searches of "Yours", with their feed URLs."""
        return JSONResponse({"saved_searches": self.searches(request, CURRENT.get().user)}, headers=SECURITY_HEADERS)

    def mine(self, request: Request) -> Response:
        """Yours: starred stories, saved searches with their private feed URLs."""
        me = CURRENT.get()
        starred = sorted(people.marks(self.config, me.user).starred)
        stories = reading.stories_by_id(self.config, starred)
        searches = self.searches(request, me.user)
        return self.pages.render("mine.html", nav="mine", searches=searches,
                                 starred=sorted(stories.values(), key=lambda s: s.last_seen, reverse=True))

    def saved_atom(self, request: Request) -> Response:
        me = CURRENT.get()
        wanted = int(request.path_params["id"])
        saved = next((s for s in people.saved_searches(self.config, me.user) if s["id"] == wanted), None)
        if saved is None:
            return self.pages.error(False, 404, "no such saved search of yours")
        stories = search_stories(self.config, saved["query"], **saved["filters"])
        body = search_feed(self.config, saved["query"], stories, str(request.url), str(request.base_url), self.now())
        return Response(body, media_type=ATOM, headers=SECURITY_HEADERS)

    def routes(self, handler) -> list[Route]:
        def change(method):
            async def endpoint(request: Request) -> Response:
                try:
                    return await method(request)
                except UsageError as e:
                    return self.pages.error(False, 400, str(e))
                except NewsmonError as e:          # the database cannot be written: said, not a traceback
                    return self.pages.error(False, 503, str(e))
            return endpoint

        return [Route("/story/{story_id}/mark", change(self.mark), methods=["POST"]),
                Route("/searches", change(self.save), methods=["POST"]),
                Route("/searches/{id:int}/delete", change(self.delete), methods=["POST"]),
                Route("/feeds/key", change(self.renew_key), methods=["POST"]),
                Route("/mine", handler(lambda r, _: self.mine(r)), methods=["GET"]),
                Route("/api/v1/saved-searches", handler(lambda r, _: self.saved_api(r), True), methods=["GET"]),
                Route("/feeds/saved/{id:int}.atom", handler(lambda r, _: self.saved_atom(r)), methods=["GET"])]
