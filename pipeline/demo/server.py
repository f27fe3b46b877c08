"""A small loopback HTTP server for the demo, the tests and the benchmarks.

Routes map a path to a `Page` (status, headers, body) or to a callable returning one. Pages with
a 200 status get an ETag and answer a matching If-None-Match with 304, like a well-behaved
publisher, so conditional GET is exercised for real. It binds 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Union


@dataclass(frozen=True)
class Page:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0          # seconds to wait before answering (a slow publisher)
    reason: str | None = None   # the status line's reason phrase (default: the standard one)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up early (a capped or timed-out fetch) is normal here."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError)):
            super().handle_error(request, client_address)


Route = Union[Page, Callable[["BaseHTTPRequestHandler"], Page]]


class LoopbackSite:
    """`with LoopbackSite(routes) as site:` serves on http://127.0.0.1:<random port>."""

    def __init__(self, routes: dict[str, Route] | None = None, tls: ssl.SSLContext | None = None):
        self.routes: dict[str, Route] = dict(routes or {})
        self.tls = tls
        self.requests: list[tuple[str, dict[str, str]]] = []   # (path, headers) of every request
        self._server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self._server is not None
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)

    def __enter__(self) -> "LoopbackSite":
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet: tests and demo print their own lines
                pass

            def setup(self) -> None:
                super().setup()
                # headers and body go out as two writes: without this, Nagle plus the client's
                # delayed ACK add 40 ms to every keep-alive response
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:
                site.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = site.routes.get(self.path.split("?", 1)[0])
                page = route(self) if callable(route) else route
                if page is None:
                    page = Page(b"not found", status=404, content_type="text/plain")
                if page.delay:
                    time.sleep(page.delay)
                headers = {"Content-Type": page.content_type, **page.headers}
                if page.status == 200 and "ETag" not in headers:
                    headers["ETag"] = '"' + hashlib.sha1(page.body).hexdigest()[:16] + '"'
                if page.status == 200 and self.headers.get("If-None-Match") == headers["ETag"]:
                    self.send_response(304)
                    self.send_header("ETag", headers["ETag"])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if page.reason is None:
                    self.send_response(page.status)
                else:   # sent as UTF-8 bytes, as a hostile server would (http.server insists on latin-1)
                    self._headers_buffer = [f"{self.protocol_version} {page.status} {page.reason}\r\n"
                                            .encode("utf-8", "surrogatepass")]
                for k, v in headers.items():   # UTF-8, as a hostile server may send (not latin-1 only)
                    self._headers_buffer.append(f"{k}: {v}\r\n".encode("utf-8", "surrogatepass"))
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(page.body)))
                self.end_headers()
                self.wfile.write(page.body)

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
