"""`newsmon web` with people ([[web.users]], or a trusted proxy's user header): the sign-in
routes (login.py), the user's state routes (state.py), and the gate every request passes
(gate.py). Without people none of this is mounted: the server stays read-only (405 on POST)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from .gate import Gate
from .login import Login
from .state import State


def with_people(app: Starlette, config, pages, handler, now) -> None:
    login, state = Login(config, pages, now), State(config, pages, now)
    app.router.routes[:0] = [Route("/login", login.show, methods=["GET"]),
                             Route("/login", login.submit, methods=["POST"]),
                             Route("/logout", login.logout, methods=["POST"]),
                             *state.routes(handler)]
    app.add_middleware(Gate, config=config, now=now,
                       refuse=lambda request, status, message: pages.error(
                           request.url.path.startswith("/api/"), status, message))
    app.state.login = login                  # (tests reach the rate limiter's clock through it)
