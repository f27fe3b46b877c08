"""The routes: one handler per page, each serving HTML and, under /api/v1/, the same reading as
JSON (datasette's rule: every page has its JSON twin, so the UI and the API cannot drift).

Safety on every response: Jinja2 autoescape (feed text is untrusted), a strict
Content-Security-Policy (no script at all, styles from our own /static only), links only to
http(s) URLs, GET and HEAD only (read-only: anything else is 405)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..app import people, reading
from ..app.archive import hit_parts, search_records, write_stamp
from ..app.stories import story_json
from ..clock import utcnow
from ..config import Config
from ..errors import NewsmonError, UsageError
from .atom import alert_feed, search_feed, topic_feed
from .gate import CURRENT
from .openapi import OPENAPI

HERE = Path(__file__).parent
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
# a digest file is our own rendering (escaped), with its styles inline
DIGEST_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
LIVE_SECONDS = 300               # today's page reloads itself this often (a meta refresh: no script)
SECURITY_HEADERS = {"content-security-policy": CSP, "x-content-type-options": "nosniff",
                    "referrer-policy": "same-origin", "x-frame-options": "DENY"}


def http_url(value: str | None) -> str | None:
    """The URL if it is http(s) with a host, else None: a feed's `javascript:` link is no link."""
    if not value:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def highlight(sentence: str, matched: str) -> Markup:
    """The sentence, escaped, with the matched words in <mark>."""
    at = sentence.lower().find(matched.lower()) if matched else -1
    if at < 0:
        return escape(sentence)
    end = at + len(matched)
    return escape(sentence[:at]) + Markup("<mark>") + escape(sentence[at:end]) + Markup("</mark>") \
        + escape(sentence[end:])


def snippet(text: str) -> Markup:
    """An FTS5 snippet on one line, its hits (between HIT_START and HIT_END: storage/search.py)
    in <mark>, everything else escaped."""
    parts = hit_parts(text)
    # escaped whole, then the hits marked: one escape per snippet, not one per part (a third of
    # a search page's rendering went to joining Markup parts)
    hits = str(escape("\x00".join(parts))).split("\x00")
    return Markup("".join(f"<mark>{p}</mark>" if i % 2 else p for i, p in enumerate(hits)))


def plain(value: Any) -> Any:
    """Records as JSON values: dataclasses to objects, datetimes to ISO text, tuples to lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _templates() -> jinja2.Environment:
    # auto_reload off: the templates are the package's own files, and checking their times on
    # every render cost ~1 ms of a story page's ~4
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, auto_reload=False)
    env.filters.update(http_url=http_url, highlight=highlight, snippet=snippet,
                       when=lambda t: t.strftime("%Y-%m-%d %H:%M") if t else "-")
    return env


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{name}: expected a day like 2026-11-23, not {value!r}") from None


day_param = _day                 # (public: state.py reads a saved search's days the same way)


def with_marks(record: dict, story_id: str, marks: people.Marks | None) -> dict:
    """A story's record, with the signed-in user's `read`, `starred` and `new` (as the pages mark
    them) when there is one: the shared fields stay the CLI's (`newsmon stories --json`)."""
    return record if marks is None else {**record, **marks.of(story_id)}


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _arg(request: Request, name: str) -> str | None:
    return request.query_params.get(name) or None


class Readings:
    """The last few whole-day readings (Today, days), each kept while nothing is written to the
    database (archive.write_stamp), and at most `[web] max_stale_seconds` after a write: a day's
    digest of 3,000 stories costs ~250 ms to read, build and render, and a run commits every half
    second, so without the bound a busy desk's page would be rebuilt for nearly every reader."""

    SIZE = 16

    def __init__(self, config: Config):
        self.config, self.lock, self.kept = config, threading.Lock(), OrderedDict()
        self.max_stale = config.web.max_stale_seconds
        self.reading: set[tuple] = set()       # keys being read now

    def get(self, key: tuple, read: Callable[[], Any]) -> Any:
        stamp, now = write_stamp(self.config), time.monotonic()
        with self.lock:
            hit = self.kept.get(key)
            fresh = hit is not None and (hit[0] == stamp or now - hit[1] < self.max_stale)
            if fresh or (hit is not None and key in self.reading):
                self.kept.move_to_end(key)     # (being read again by another request: this one
                return hit[2]                  # gets the last reading rather than a second build)
            self.reading.add(key)
        try:
            value = read()
        finally:
            with self.lock:
                self.reading.discard(key)
        with self.lock:
            self.kept[key] = (stamp, now, value)
            self.kept.move_to_end(key)
            while len(self.kept) > self.SIZE:
                self.kept.popitem(last=False)
        return value


class Pages:
    """The handlers, over one config; `now` is the clock (tests may fix it)."""

    def __init__(self, config: Config, now: Callable[[], datetime] = utcnow):
        self.config, self.now, self.env = config, now, _templates()
        self.readings = Readings(config)

    def render(self, name: str, status: int = 200, **context) -> HTMLResponse:
        context.setdefault("nav", name.removesuffix(".html"))
        context.setdefault("refresh", None)
        context.setdefault("me", CURRENT.get())      # who is signed in (None: no people configured)
        context.setdefault("marks", None)            # their read/starred/new marks on this page
        html = self.env.get_template(name).render(labels=self.config.labels, read_only=not self.config.web.people,
                                                  **context)
        return HTMLResponse(html, status, headers=SECURITY_HEADERS)

    def twin(self, api: bool, data: dict, template: str, **context) -> Response:
        if api:
            return JSONResponse(plain(data), headers=SECURITY_HEADERS)
        return self.render(template, **data, **context)

    # --- the pages: each returns HTML, or with api=True its JSON twin

    def today(self, request: Request, api: bool) -> Response:
        day = _day(_arg(request, "date"), "date") or self.now().astimezone(self.config.zone).date()
        topic, feed, tag, lang = (_arg(request, k) for k in ("topic", "feed", "tag", "lang"))

        me = CURRENT.get()

        def build() -> Response:         # kept whole between writes: a busy day is 1,000 stories to render
            page = reading.today(self.config, day, self.now(), topic=topic, feed=feed, tag=tag, lang=lang)
            digest = page.digest
            marks = people.marks(self.config, me.user, [s.story_id for s in digest.articles]) if me else None
            data = {"date": day.isoformat(), "topic": topic,
                    "stories": [with_marks(story_json(s), s.story_id, marks) for s in digest.articles]}
            if api:
                if marks is not None:
                    data["last_visit"] = marks.since
                data.update(feed=feed, tag=tag, lang=lang, languages=page.languages,
                            sections=[{"id": t.id, "label": t.label, "count": t.count,
                                       "stories": [s.story_id for s in t.articles]} for t in digest.topics])
                return JSONResponse(plain(data), headers=SECURITY_HEADERS)
            tags = sorted({t for f in self.config.feeds for t in f.tags})
            return self.render("today.html", digest=digest, day=day, topic=topic, feed=feed, tag=tag, tags=tags, marks=marks,
                               lang=lang, languages=page.languages,
                               feeds=[f.name for f in self.config.feeds], previous=day - timedelta(days=1),
                               next=day + timedelta(days=1),
                               # today's page follows the runs without script: reloaded every 5 minutes
                               refresh=LIVE_SECONDS if day == self.now().astimezone(self.config.zone).date() else None)

        # a user's page (by name too: a proxy's user calling the API has no session token), current with their marks
        yours = (me.user, me.csrf, people.stamp(self.config, me.user)) if me else ()
        kept = self.readings.get(("today", api, day, topic, feed, tag, lang, *yours), build)
        return Response(kept.body, kept.status_code, headers=dict(kept.headers))

    def story(self, request: Request, api: bool) -> Response:
        page = reading.story(self.config, request.path_params["story_id"])
        if page is None:
            return self.error(api, 404, "no such story")
        me = CURRENT.get()
        marks = people.marks(self.config, me.user, [page.story.id]) if me else None
        if api:
            return JSONResponse(plain({
                "story": with_marks(plain(page.story), page.story.id, marks), "follows": page.follows,
                "follow_ups": page.follow_ups, "alerts": page.alerts,
                "corrections": [e.to_json() for e in page.corrections],
                # a report's `grouping` (stored JSON text) is given decoded, as `why`
                "reports": [{**{k: v for k, v in plain(r).items() if k != "grouping"},
                             "matches": plain(page.matches.get(r.id, [])), "why": page.why.get(r.id)}
                            for r in page.reports]}),
                headers=SECURITY_HEADERS)
        return self.render("story.html", page=page, nav="story", marks=marks)

    def search(self, request: Request, api: bool) -> Response:
        query = _arg(request, "q")
        since, until = _day(_arg(request, "since"), "since"), _day(_arg(request, "until"), "until")
        topic, feed = _arg(request, "topic"), _arg(request, "feed")
        found = None
        if query:
            zone = self.config.zone
            found = reading.search_page(
                self.config, query, topic=topic, feed=feed,
                since=datetime.combine(since, datetime.min.time(), zone) if since else None,
                until=datetime.combine(until + timedelta(days=1), datetime.min.time(), zone) if until else None)
        if api:
            return JSONResponse(plain({"q": query, "results": search_records(found["rows"]) if found else [],
                                       "stories": found["stories"] if found else [],
                                       "facets": found["facets"] if found else {}}), headers=SECURITY_HEADERS)
        return self.render("search.html", q=query or "", since=since, until=until, topic=topic, feed=feed,
                           found=found, rows=list(zip(found["rows"], found["stories"])) if found else [])

    def days(self, request: Request, api: bool) -> Response:
        return self.twin(api, {"days": self.readings.get(("days", _mtime(self.config.digest_dir)), lambda: reading.days(self.config))}, "days.html")

    def feeds(self, request: Request, api: bool) -> Response:
        report = reading.health(self.config, self.now())
        return self.twin(api, {"feeds": report["feeds"], "runs": report["runs"]}, "feeds.html")

    def alerts(self, request: Request, api: bool) -> Response:
        return self.twin(api, reading.alerts(self.config, self.now()), "alerts.html")

    # --- files and feeds

    def digest_file(self, request: Request) -> Response:
        day = _day(request.path_params["day"], "day")
        path = self.config.digest_dir / f"{day.isoformat()}.html"
        if not path.is_file():
            return self.error(False, 404, f"no digest written for {day}")
        return FileResponse(path, media_type="text/html; charset=utf-8",
                            headers={**SECURITY_HEADERS, "content-security-policy": DIGEST_CSP})

    def topic_atom(self, request: Request) -> Response:
        topic = request.path_params["topic"]
        stories = reading.stories_feed(self.config, topic)
        body = topic_feed(self.config, topic, stories, str(request.base_url), self.now())
        return Response(body, media_type="application/atom+xml; charset=utf-8", headers=SECURITY_HEADERS)

    def alert_atom(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            stories = reading.alert_feed(self.config, name)
        except LookupError as e:
            return self.error(False, 404, str(e))
        body = alert_feed(self.config, name, stories, str(request.base_url), self.now())
        return Response(body, media_type="application/atom+xml; charset=utf-8", headers=SECURITY_HEADERS)

    def search_atom(self, request: Request) -> Response:
        query = _arg(request, "q")
        if not query:
            raise UsageError("q: a search query is needed")
        from .state import search_stories

        stories = search_stories(self.config, query, topic=_arg(request, "topic"), feed=_arg(request, "feed"))
        body = search_feed(self.config, query, stories, str(request.url), str(request.base_url), self.now())
        return Response(body, media_type="application/atom+xml; charset=utf-8", headers=SECURITY_HEADERS)

    def error(self, api: bool, status: int, message: str) -> Response:
        if api:
            return JSONResponse({"error": message}, status, headers=SECURITY_HEADERS)
        return self.render("error.html", status, message=message, nav="")


def build_app(config: Config, now: Callable[[], datetime] = utcnow) -> Starlette:
    pages = Pages(config, now)

    def handler(method: Callable[..., Response], api: bool | None = None):
        async def endpoint(request: Request) -> Response:
            try:
                return await _in_thread(method, request, api)
            except UsageError as e:
                return pages.error(bool(api), 400, str(e))
            except NewsmonError as e:         # no database yet, a newer schema, a database error
                return pages.error(bool(api), 503, str(e))
        return endpoint

    routes = []
    for path, method in (("/", pages.today), ("/story/{story_id}", pages.story), ("/search", pages.search),
                         ("/days", pages.days), ("/feeds", pages.feeds), ("/alerts", pages.alerts)):
        api_path = {"/": "/api/v1/today", "/story/{story_id}": "/api/v1/stories/{story_id}"}.get(
            path, "/api/v1" + path)
        routes += [Route(path, handler(method, False), methods=["GET"]),
                   Route(api_path, handler(method, True), methods=["GET"])]
    routes += [
        Route("/digests/{day}.html", handler(lambda r, _: pages.digest_file(r)), methods=["GET"]),
        Route("/feeds/topic/{topic}.atom", handler(lambda r, _: pages.topic_atom(r)), methods=["GET"]),
        Route("/feeds/alert/{name}.atom", handler(lambda r, _: pages.alert_atom(r)), methods=["GET"]),
        Route("/feeds/search.atom", handler(lambda r, _: pages.search_atom(r)), methods=["GET"]),
        Route("/api/v1/openapi.json", lambda r: JSONResponse(OPENAPI, headers=SECURITY_HEADERS), methods=["GET"]),
        Route("/static/style.css", lambda r: FileResponse(HERE / "static" / "style.css", media_type="text/css",
                                                          headers=SECURITY_HEADERS), methods=["GET"]),
    ]

    async def not_found(request: Request, exc) -> Response:
        return pages.error(request.url.path.startswith("/api/"), 404, "no such page")

    async def not_allowed(request: Request, exc) -> Response:
        response = pages.error(request.url.path.startswith("/api/"), 405,
                               "this server is read-only: GET and HEAD only" if not config.web.people else
                               "GET and HEAD only here")
        response.headers["allow"] = "GET, HEAD"
        return response

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    if config.web.people:                # sign-in, reading state, and every page behind them
        from .people import with_people

        with_people(app, config, pages, handler, now)
    return app


async def _in_thread(method, request: Request, api: bool | None) -> Response:
    """SQLite and Jinja are blocking: off the event loop, so one slow page holds up no other."""
    return await run_in_threadpool(method, request, api)

