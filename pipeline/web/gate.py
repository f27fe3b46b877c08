"""Who is asking, and whether a state change may come from where it comes from (`newsmon web`
with people: [[web.users]] or a trusted proxy's user header).

Every request is identified, in this order: a reverse proxy's authenticated-user header, believed
only from `[web] trusted_proxies`; the session cookie; on a feed URL, the user's private feed key
(`?key=`, since feed readers cannot sign in). Without one, a page redirects to /login, the API
and feeds answer 401. Every POST must come from this site: its Origin (or, without one, its
Referer) must be this server's own, else 403 with a page saying why; the forms' synchronizer
token is checked by the handler that reads the form (state.form). The session of the request
being served is in CURRENT, so templates can show who is signed in and carry the token."""

from __future__ import annotations

import contextvars
import ipaddress
import time
from datetime import datetime
from typing import Callable
from urllib.parse import quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from ..app import people
from ..app.people import Session
from ..config import Config
from ..errors import NewsmonError

COOKIE = "newsmon_session"
CURRENT: contextvars.ContextVar[Session | None] = contextvars.ContextVar("newsmon_session", default=None)
OPEN_PATHS = ("/login", "/static/")      # served to anyone: the sign-in page and its stylesheet
VISIT_EVERY = 60.0                        # a user's page views are written at most this often (s)


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]")))
    except ValueError:
        return text


def from_proxy(request: Request, config: Config) -> bool:
    return bool(request.client) and _address(request.client.host) in config.web.trusted_proxies


def client_address(request: Request, config: Config) -> str:
    """The client's address: behind a trusted proxy, the last hop its X-Forwarded-For names."""
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and from_proxy(request, config):
        return _address(forwarded.split(",")[-1])
    return _address(request.client.host) if request.client else "?"


def is_https(request: Request, config: Config) -> bool:
    """Whether the browser reached us over TLS: directly, or as a trusted proxy says."""
    if request.url.scheme == "https":
        return True
    return from_proxy(request, config) and request.headers.get("x-forwarded-proto", "").lower() == "https"


def own_origin(request: Request, config: Config) -> str:
    return f"{'https' if is_https(request, config) else 'http'}://{request.headers.get('host', '')}".lower()


def foreign_post(request: Request, config: Config) -> str | None:
    """Why this POST does not come from our own pages, or None. Browsers send Origin on every
    POST (our Referrer-Policy is same-origin, so it is never "null" for our own forms)."""
    own = own_origin(request, config)
    origin = request.headers.get("origin")
    if origin is not None:
        return None if origin.lower() == own else f"it came from {origin}, not from {own}"
    referer = request.headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        return None if f"{parts.scheme}://{parts.netloc}".lower() == own else f"it came from {parts.netloc or '?'}"
    return "it carried neither Origin nor Referer, so its source is unknown"


def set_session_cookie(response: Response, token: str, request: Request, config: Config) -> None:
    """HttpOnly (no script reads it), SameSite=Lax (not sent on another site's POST), Secure when
    the browser reached us over TLS."""
    response.set_cookie(COOKIE, token, max_age=int(config.web.session_days * 86400), path="/", httponly=True,
                        samesite="lax", secure=is_https(request, config))


class Gate(BaseHTTPMiddleware):
    """The identity of each request (CURRENT), and the refusals: no identity, a foreign POST."""

    def __init__(self, app, config: Config, refuse: Callable[[Request, int, str], Response],
                 now: Callable[[], datetime]):
        super().__init__(app)
        self.config, self.refuse, self.now = config, refuse, now
        self.visited: dict[str, float] = {}

    async def dispatch(self, request: Request, call_next) -> Response:
        path = request.url.path
        if path.startswith("/static/"):
            return await call_next(request)
        if request.method == "POST":
            why = foreign_post(request, self.config)
            if why is not None:
                return self.refuse(request, 403, f"Refused: this form was not sent from newsmon's own pages ({why}). "
                                                 "Nothing was changed. Open the page here and send it again.")
        try:
            me, new_token = await run_in_threadpool(self.identify, request)
        except NewsmonError as e:
            return self.refuse(request, 503, str(e))
        if me is None and not path.startswith(OPEN_PATHS):
            return self.unknown(request)
        CURRENT.set(me)
        if me is not None and request.method == "GET" and _is_page(path):
            await run_in_threadpool(self.visit, me.user)
        response = await call_next(request)
        if new_token:
            set_session_cookie(response, new_token, request, self.config)
        return response

    def identify(self, request: Request) -> tuple[Session | None, str | None]:
        """(the session, a token to set when one was made for a proxy's user)."""
        web, now = self.config.web, self.now()
        token, proxied = request.cookies.get(COOKIE), bool(web.trusted_user_header) and from_proxy(request, self.config)
        found = people.session(self.config, token, now, proxied) if token else None
        if proxied:
            user = request.headers.get(web.trusted_user_header, "").strip()
            if user:
                if found is not None and found.user == user:
                    return found, None
                if _is_page(request.url.path) and request.method == "GET":
                    token, found = people.sign_in(self.config, user, now, by_proxy=True)
                    return found, token
                return Session(user, ""), None
        if found is None and request.url.path.startswith("/feeds/") and request.query_params.get("key"):
            user = people.user_of_key(self.config, request.query_params["key"])
            return (Session(user, "") if user else None), None
        return found, None

    def unknown(self, request: Request) -> Response:
        path = request.url.path
        if path.startswith("/api/"):
            return JSONResponse({"error": "sign in first (POST /login), or come through the trusted proxy"}, 401)
        if path.startswith("/feeds/"):
            return PlainTextResponse("this feed needs your private key: copy its URL from the page 'Yours'", 401)
        if request.method in ("GET", "HEAD"):
            target = path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", 303)
        return self.refuse(request, 401, "Sign in first.")

    def visit(self, user: str) -> None:
        """A page view, written at most once a minute per user (visits: "new since your last visit")."""
        at = time.monotonic()
        if at - self.visited.get(user, -VISIT_EVERY) >= VISIT_EVERY:
            self.visited[user] = at
            people.visit(self.config, user, self.now())


def _is_page(path: str) -> bool:
    return not path.startswith(("/api/", "/feeds/", "/static/", "/digests/", "/login", "/logout"))
