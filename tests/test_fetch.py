"""fetch.py against a real loopback server: validators, redirects, caps, deadlines, refusals."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
from dataclasses import replace

import pytest

from pipeline.config import FetchOptions, defaults
from pipeline.demo.server import Page
from pipeline.errors import BodyTooLarge, FetchError, HTTPStatusError
from pipeline.stages.fetch import Fetcher, refused_address_reason

OPTIONS = FetchOptions(**{**defaults("fetch"), "timeout_seconds": 5, "max_bytes": 1_000_000,
                          "allow_private_networks": True, "user_agent": "newsmon-test"})


def get(url: str, options: FetchOptions = OPTIONS, **kw):
    async def go():
        async with Fetcher(options) as f:
            return await f.get(url, **kw)
    return asyncio.run(go())


def test_200_then_304_with_the_etag(site):
    site.routes["/f"] = Page(b"<rss/>", content_type="application/rss+xml")
    first = get(site.url("/f"))
    assert first.status == 200 and first.body == b"<rss/>" and first.headers["etag"]
    second = get(site.url("/f"), etag=first.headers["etag"])
    assert second.status == 304 and second.body == b""
    assert site.requests[-1][1]["user-agent"] == "newsmon-test"


def test_permanent_redirects_are_reported_temporary_ones_are_not(site):
    site.routes["/old"] = Page(status=301, headers={"Location": "/new"})
    site.routes["/tmp"] = Page(status=302, headers={"Location": "/new"})
    site.routes["/new"] = Page(b"here")
    moved = get(site.url("/old"))
    assert moved.url == site.url("/new") and moved.moved_to == site.url("/new") and moved.body == b"here"
    assert get(site.url("/tmp")).moved_to is None


def test_redirect_loops_and_long_chains_are_errors(site):
    site.routes["/a"] = Page(status=302, headers={"Location": "/b"})
    site.routes["/b"] = Page(status=302, headers={"Location": "/a"})
    with pytest.raises(FetchError, match="redirect loop"):
        get(site.url("/a"))
    for i in range(7):
        site.routes[f"/r{i}"] = Page(status=302, headers={"Location": f"/r{i + 1}"})
    with pytest.raises(FetchError, match="more than 5 redirects"):
        get(site.url("/r0"))


def test_gzip_is_decoded_and_a_gzip_bomb_stops_at_the_cap(site):
    site.routes["/small"] = Page(gzip.compress(b"hello " * 100), headers={"Content-Encoding": "gzip"})
    assert get(site.url("/small")).body == b"hello " * 100
    bomb = gzip.compress(b"\0" * 50_000_000)
    assert len(bomb) < 100_000
    site.routes["/bomb"] = Page(bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(BodyTooLarge, match="1,000,000-byte cap"):
        get(site.url("/bomb"))


def test_stacked_encodings_are_refused(site):
    site.routes["/double"] = Page(gzip.compress(gzip.compress(b"x")), headers={"Content-Encoding": "gzip, gzip"})
    with pytest.raises(FetchError, match="stacked content-encodings"):
        get(site.url("/double"))


def test_declared_oversize_body_is_refused_before_reading(site):
    site.routes["/big"] = Page(b"x" * 2_000_000)
    with pytest.raises(BodyTooLarge):
        get(site.url("/big"))


def test_http_errors_carry_status_and_retry_after(site):
    site.routes["/busy"] = Page(b"slow down", status=429, headers={"Retry-After": "120"})
    with pytest.raises(HTTPStatusError) as info:
        get(site.url("/busy"))
    assert info.value.status == 429 and info.value.retry_after == 120


@pytest.fixture
def drip_server():
    """Sends headers, then one byte every 0.2 s: per-read timeouts never fire against this."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    stop = threading.Event()

    def serve():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            try:
                while not stop.is_set():
                    conn.sendall(b"x")
                    time.sleep(0.2)
            except OSError:
                pass
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}/drip"
    stop.set()
    srv.close()


def test_one_total_deadline_cuts_a_slow_drip(drip_server):
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out after 1 s"):
        get(drip_server, replace(OPTIONS, timeout_seconds=1))
    assert time.monotonic() - started < 3


def test_private_addresses_are_refused_unless_allowed(site):
    site.routes["/f"] = Page(b"ok")
    strict = replace(OPTIONS, allow_private_networks=False)
    with pytest.raises(FetchError, match="refused: .*loopback address 127.0.0.1"):
        get(site.url("/f"), strict)
    with pytest.raises(FetchError, match="refused: localhost resolves to loopback"):
        get(site.url("/f").replace("127.0.0.1", "localhost"), strict)
    assert site.requests == []   # nothing reached the server
    assert get(site.url("/f")).body == b"ok"


@pytest.mark.parametrize("address, reason", [
    ("127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"), ("100.64.0.1", "carrier-grade NAT"), ("224.0.0.1", "multicast"),
    ("0.0.0.0", "unspecified"), ("::1", "loopback"), ("fe80::1", "link-local"), ("fc00::1", "private"),
    ("::ffff:127.0.0.1", "loopback"), ("93.184.216.34", None), ("2606:4700::1111", None),
])
def test_address_classes(address, reason):
    assert refused_address_reason(address) == reason


def test_per_host_gap_spaces_requests_to_one_host_but_not_across_hosts(site):
    site.routes["/f"] = Page(b"ok")
    polite = replace(OPTIONS, per_host_delay_seconds=0.3, per_host=4)

    async def many(urls):
        async with Fetcher(polite) as f:
            start = time.monotonic()
            await asyncio.gather(*(f.get(u) for u in urls))
            return time.monotonic() - start

    one_host = asyncio.run(many([site.url("/f")] * 4))
    assert one_host >= 0.9                         # starts at 0, 0.3, 0.6, 0.9
    two_hosts = asyncio.run(many([site.url("/f"), site.url("/f").replace("127.0.0.1", "localhost")] * 2))
    assert two_hosts < one_host - 0.25             # the gap is per host
