"""Where `newsmon web` may listen, and starting it.

With no user configured ([[web.users]], or a trusted proxy's user header), the server is
read-only (GET and HEAD only) and listens on a loopback address only: anything else would
publish the archive to whoever can reach the port. Asked for another address, it refuses before
binding (UsageError, exit 2), naming the setting. With people, every page needs a signed-in user,
so any address may be bound (put TLS in front: docs/web.md).

A run is what a monitor is for, and the reading room must not slow it: the server lowers its own
CPU priority (`[web] nice`, 10) before it starts a thread, so that on a machine it shares with
the runs, the run's workers get the cores first and the pages take what is left."""

from __future__ import annotations

import ipaddress
import os
import socket

from ..config import Config
from ..errors import UsageError


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1, or "localhost" (which resolves there)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, people: bool = False) -> None:
    if not people and not is_loopback(host):
        raise UsageError(f"newsmon web: refusing to listen on {host}: with no [[web.users]] configured the archive "
                         "is served read-only to loopback only (use --host 127.0.0.1, or [web] host = "
                         "\"127.0.0.1\", and put a reverse proxy with authentication in front; or add users: "
                         "`newsmon web passwd NAME` writes a [[web.users]] entry)")


def bound_socket(host: str, port: int, people: bool = False) -> socket.socket:
    """A listening socket (port 0: any free one), bound before uvicorn starts, so the caller
    knows the address at once."""
    check_bind(host, people)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as e:
        sock.close()
        raise UsageError(f"newsmon web: cannot listen on {host}:{port}: {e.strerror or e} "
                         "(another --port, or [web] port)") from None
    sock.listen(128)
    return sock


def server(config: Config, sock: socket.socket):
    """A uvicorn server over the app, to `run(sockets=[sock])` (in a thread, in tests)."""
    import uvicorn

    from .pages import build_app

    # proxy_headers off: X-Forwarded-* are believed only from [web] trusted_proxies (web/gate.py),
    # not from whatever uvicorn trusts by default
    return uvicorn.Server(uvicorn.Config(build_app(config), log_level="warning", access_log=False,
                                         lifespan="off", server_header=False, proxy_headers=False))


def lower_priority(niceness: int) -> int:
    """Run at `niceness` at least (0: unchanged; never raised back: a server started under `nice
    -n 15` stays at 15). Called before any thread starts: on Linux a niceness is per thread, and
    the threads made later (uvicorn's, the pages' pool) inherit it. Returns the niceness now."""
    current = os.nice(0)
    return os.nice(niceness - current) if niceness > current else current


def serve(config: Config, host: str, port: int) -> None:
    """`newsmon web`: until SIGINT/SIGTERM."""
    niceness = lower_priority(config.web.nice)
    sock = bound_socket(host, port, config.web.people)
    name = sock.getsockname()
    mode = (f"{len(config.web.users)} user(s){', a trusted proxy header' if config.web.trusted_user_header else ''}"
            if config.web.people else "read-only")
    print(f"newsmon web: serving {config.store} on http://{host}:{name[1]}/ ({mode}; nice {niceness}; Ctrl-C stops)",
          flush=True)
    server(config, sock).run(sockets=[sock])
