"""Signing in and out of `newsmon web` (forms, no script).

The sign-in form carries a token that must equal a short-lived cookie set with the form (a
double-submit token: no session exists yet to tie it to), and, as every POST, comes from our own
origin (gate.foreign_post). Failed attempts are limited per user name and per client address
(Attempts: 5 a minute each, then 429 with Retry-After, checked before the password is hashed, so
guessing costs the server nothing) and logged without the password."""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections import defaultdict, deque
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..app import people
from ..config import Config
from .gate import COOKIE, CURRENT, client_address, is_https, set_session_cookie
from .passwords import verify_password

log = logging.getLogger("newsmon.web")
LOGIN_COOKIE = "newsmon_login"
MAX_FORM_BYTES = 65_536


class Attempts:
    """Failed sign-ins in a sliding window, per key ("user:ann", "addr:10.0.0.7")."""

    def __init__(self, limit: int = 5, window: float = 60.0, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self.failures: dict[str, deque] = defaultdict(deque)
        self.lock = threading.Lock()

    def retry_after(self, keys: list[str]) -> int:
        """Seconds until another attempt is allowed for all of `keys` (0: now)."""
        now, wait = self.clock(), 0.0
        with self.lock:
            for key in keys:
                times = self.failures.get(key)
                while times and now - times[0] >= self.window:
                    times.popleft()
                if times is not None and len(times) >= self.limit:
                    wait = max(wait, self.window - (now - times[0]))
        return int(wait) + 1 if wait else 0

    def failed(self, keys: list[str]) -> None:
        with self.lock:
            for key in keys:
                self.failures[key].append(self.clock())

    def forget(self, key: str) -> None:
        with self.lock:
            self.failures.pop(key, None)


async def form(request: Request) -> dict[str, str]:
    """A urlencoded form (no multipart: our forms send none), first value of each field."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def local_path(target: str | None) -> str:
    """Where to go after signing in: a path on this server only (never //other.host or http:…)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


class Login:
    def __init__(self, config: Config, pages, now):
        self.config, self.pages, self.now = config, pages, now
        self.users = {u.name: u.password_hash for u in config.web.users}
        self.attempts = Attempts()

    def page(self, request: Request, status: int = 200, message: str | None = None, name: str = "",
             target: str | None = None) -> Response:
        # one token per browser while its cookie lasts: a second tab, or the browser's own request
        # for /favicon.ico (redirected here), must not invalidate the form already shown
        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        response = self.pages.render("login.html", status, csrf_login=token, message=message, user_name=name,
                                     next=local_path(target or request.query_params.get("next")), nav="login")
        response.set_cookie(LOGIN_COOKIE, token, max_age=3600, path="/login", httponly=True, samesite="strict",
                            secure=is_https(request, self.config))
        return response

    async def show(self, request: Request) -> Response:
        if CURRENT.get() is not None:
            return RedirectResponse(local_path(request.query_params.get("next")), 303)
        return self.page(request)

    async def submit(self, request: Request) -> Response:
        fields = await form(request)
        name, password, target = fields.get("name", "").strip(), fields.get("password", ""), fields.get("next")
        address = client_address(request, self.config)
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        if not cookie or not hmac.compare_digest(cookie, fields.get("csrf", "")):
            return self.page(request, 403, "The sign-in form had expired or came from elsewhere: please sign in again.",
                             name, target)
        keys = [f"user:{name.casefold()}", f"addr:{address}"]
        wait = self.attempts.retry_after(keys)
        if wait:
            log.warning("newsmon web: sign-in for %r from %s refused: too many failed attempts", name, address)
            response = self.page(request, 429, f"Too many failed attempts: try again in {wait} seconds.", name, target)
            response.headers["retry-after"] = str(wait)
            return response
        ok = await run_in_threadpool(verify_password, password, self.users.get(name))
        if not ok:
            self.attempts.failed(keys)
            log.warning("newsmon web: failed sign-in for %r from %s", name, address)     # never the password
            return self.page(request, 401, "Wrong name or password.", name, target)
        self.attempts.forget(keys[0])
        token, _ = await run_in_threadpool(people.sign_in, self.config, name, self.now())
        log.info("newsmon web: %s signed in from %s", name, address)
        response = RedirectResponse(local_path(target), 303)
        set_session_cookie(response, token, request, self.config)
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    async def logout(self, request: Request) -> Response:
        fields = await form(request)
        me = CURRENT.get()
        if me is None or not hmac.compare_digest(me.csrf, fields.get("csrf", "")):
            return self.pages.error(False, 403, "Refused: the form's token does not belong to your session "
                                                "(an old page, or another site). Nothing was changed.")
        token = request.cookies.get(COOKIE)
        if token:
            await run_in_threadpool(people.sign_out, self.config, token)
        response = RedirectResponse("/login", 303)
        response.delete_cookie(COOKIE, path="/")
        return response
