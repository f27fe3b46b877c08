"""HTTP: the only module that talks to the network.

Polite and defensive by construction:
- one total deadline per fetch (connect, headers, body and redirects together), because per-read
  timeouts never fire against a server that drips a byte at a time;
- the body is decoded here, chunk by chunk, and capped on its *decoded* size, so a gzip bomb stops
  at the cap instead of inflating in memory; stacked content-encodings are refused;
- redirects are followed by hand (at most 5, loops refused), so every hop is checked and a
  permanent move (301/308) is reported to the caller;
- loopback, private, link-local, CGNAT, multicast and unspecified addresses are refused unless
  allowed, checked on the resolved address (the resolver below) and on IP-literal URLs;
- conditional GET with the caller's ETag / Last-Modified; 304 comes back as a Response;
- concurrency is bounded overall and per host, and requests to one host start at least
  `per_host_delay_seconds` apart.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import socket
import zlib
from collections import defaultdict
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import urlsplit

import aiohttp
from aiohttp.resolver import ThreadedResolver

from ..config import FetchOptions
from ..errors import BodyTooLarge, FetchError, HTTPStatusError
from ..records import Response
from .urls import http_url

MAX_REDIRECTS = 5
MAX_RETRY_AFTER = 4 * 3600.0
_CHUNK = 64 * 1024


def refused_address_reason(address: str, allowed: tuple[str, ...] = ()) -> str | None:
    """Why an address may not be contacted, or None. `allowed`: CIDR ranges the operator allows."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if any(ip in net for net in _networks(allowed)):
        return None
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified:
        return "unspecified"
    if isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"):
        return "carrier-grade NAT"
    if ip.is_private or ip.is_reserved or not ip.is_global:
        return "private"
    return None


@lru_cache(maxsize=64)
def _networks(allowed: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The allowed ranges, parsed once (not at every request and every resolved address)."""
    return tuple(ipaddress.ip_network(net, strict=False) for net in allowed)


class AddressRefused(OSError):
    pass


def _refuse(host: str, address: str, reason: str) -> AddressRefused:
    return AddressRefused(f"{host} resolves to {reason} address {address}; "
                          "allow it with [fetch] allow_private_networks (true, or a list of ranges)")


class _GuardedResolver(ThreadedResolver):
    """Drops addresses we may not connect to, so the connection goes only where it is allowed.

    Every connection resolves through here (the DNS cache is off), so a name that answers a
    public address once and a private one later (DNS rebinding) is caught on the later connect.
    """

    def __init__(self, allowed: tuple[str, ...] = ()):
        super().__init__()
        self.allowed = allowed

    async def resolve(self, host, port=0, family=socket.AF_INET):
        results = await super().resolve(host, port, family)
        allowed, refused = [], None
        for r in results:
            reason = refused_address_reason(r["host"], self.allowed)
            if reason is None:
                allowed.append(r)
            elif refused is None:
                refused = _refuse(host, r["host"], reason)
        if not allowed and refused is not None:
            raise refused
        return allowed


class _CappedDecoder:
    """Decodes one content-encoding incrementally and refuses to produce more than `cap` bytes."""

    def __init__(self, url: str, encoding: str, cap: int):
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1:
            raise FetchError(url, f"refused: stacked content-encodings ({encoding})")
        coding = codings[0] if codings else None
        if coding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            self._z = zlib.decompressobj()
        elif coding is None:
            self._z = None
        else:
            raise FetchError(url, f"unsupported content-encoding {coding!r}")
        self.url, self.cap, self.size, self.parts = url, cap, 0, []

    def _take(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.cap:
            raise BodyTooLarge(self.url, f"body larger than the {self.cap:,}-byte cap")
        self.parts.append(data)

    def feed(self, chunk: bytes) -> None:
        if self._z is None:
            self._take(chunk)
            return
        data = chunk
        while data:
            try:
                out = self._z.decompress(data, self.cap - self.size + 1)
            except zlib.error as e:
                raise FetchError(self.url, f"corrupt compressed body: {e}") from None
            self._take(out)
            data = self._z.unconsumed_tail

    def result(self) -> bytes:
        if self._z is not None:
            self._take(self._z.flush())
        return b"".join(self.parts)


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header, within [0, MAX_RETRY_AFTER]; None when the value
    is absent or no number or date at all ("nan", "inf", "1e309", garbage: ignored, not trusted)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class Fetcher:
    """An HTTP client for feeds and pages. Use as `async with Fetcher(options) as f:`."""

    def __init__(self, options: FetchOptions):
        self.options = options
        allow = options.allow_private_networks
        self._allowed: tuple[str, ...] = allow if isinstance(allow, tuple) else ()
        self._session: aiohttp.ClientSession | None = None
        self._all = asyncio.Semaphore(options.concurrency)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(options.per_host))
        self._next_start: dict[str, float] = {}   # host -> earliest start of its next request

    async def __aenter__(self) -> "Fetcher":
        resolver = None if self.options.allow_private_networks is True else _GuardedResolver(self._allowed)
        connector = aiohttp.TCPConnector(limit=self.options.concurrency, resolver=resolver,
                                         ttl_dns_cache=None if resolver is None else 0)
        self._session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False,
            headers={"User-Agent": self.options.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.options.timeout_seconds),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        return self

    async def __aexit__(self, *exc) -> None:
        if self._session is not None:
            await self._session.close()

    async def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                  accept: str = "*/*", max_bytes: int | None = None, turn_taken: bool = False) -> Response:
        """GET with redirects, validators, the deadline and the cap. Raises FetchError.

        `turn_taken`: the caller already waited its turn with `wait_turn(url)`."""
        host = urlsplit(url).hostname or ""
        async with self._hosts[host]:
            if not turn_taken:
                await self._polite_gap(host)
            async with self._all:
                return await self._deadline(url, etag, last_modified, accept, max_bytes)

    async def wait_turn(self, url: str) -> None:
        """Wait for this host's politeness gap ahead of `get(..., turn_taken=True)`, so the caller
        can take other scarce resources (a page slot) only once it may actually start."""
        await self._polite_gap(urlsplit(url).hostname or "")

    async def _polite_gap(self, host: str) -> None:
        """Wait so two requests to one host start at least per_host_delay_seconds apart.

        Waiting happens before taking a global slot, so a slow-to-be-polite host never holds
        capacity that requests to other hosts could use."""
        gap = self.options.per_host_delay_seconds
        if gap <= 0:
            return
        loop = asyncio.get_running_loop()
        start = max(loop.time(), self._next_start.get(host, 0.0))
        self._next_start[host] = start + gap
        delay = start - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _deadline(self, url: str, etag, last_modified, accept: str, max_bytes: int | None) -> Response:
        try:
            async with asyncio.timeout(self.options.timeout_seconds):
                return await self._get(url, etag, last_modified, accept, max_bytes or self.options.max_bytes)
        except TimeoutError:
            raise FetchError(url, f"timed out after {self.options.timeout_seconds:g} s") from None

    async def _get(self, url: str, etag, last_modified, accept: str, cap: int) -> Response:
        assert self._session is not None, "use Fetcher as an async context manager"
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        seen, current, moved_to, permanent = {url}, url, None, True
        for _ in range(MAX_REDIRECTS + 1):
            self._check_target(current)
            try:
                async with self._session.get(current, headers=headers, allow_redirects=False) as resp:
                    status = resp.status
                    if status in (301, 302, 303, 307, 308):
                        location = resp.headers.get("Location")
                        if not location:
                            raise FetchError(current, f"HTTP {status} without a Location header")
                        target = http_url(location, current)
                        if target is None:
                            raise FetchError(current, f"redirect to a non-http or invalid URL refused: "
                                                      f"{location[:200]}")
                        if target in seen:
                            raise FetchError(url, f"redirect loop at {target}")
                        seen.add(target)
                        permanent = permanent and status in (301, 308)
                        moved_to = target if permanent else moved_to
                        current = target
                        continue
                    lower = {k.lower(): v for k, v in resp.headers.items()}
                    if status == 304:
                        return Response(current, 304, lower, b"", moved_to)
                    if status != 200:
                        raise HTTPStatusError(current, status, resp.reason or "",
                                              _retry_after(lower.get("retry-after")))
                    declared = resp.content_length
                    if declared is not None and declared > cap and "content-encoding" not in lower:
                        raise BodyTooLarge(current, f"body of {declared:,} bytes is over the "
                                                    f"{cap:,}-byte cap")
                    decoder = _CappedDecoder(current, lower.get("content-encoding", ""), cap)
                    async for chunk in resp.content.iter_chunked(_CHUNK):
                        decoder.feed(chunk)
                    return Response(current, 200, lower, decoder.result(), moved_to)
            except aiohttp.ClientConnectorError as e:
                if isinstance(e.os_error, AddressRefused):
                    raise FetchError(current, f"refused: {e.os_error}") from None
                raise FetchError(current, f"cannot connect: {e.os_error or e}") from None
            except aiohttp.ClientResponseError as e:
                raise FetchError(current, f"bad HTTP response: {e.message}") from None
            except aiohttp.ClientPayloadError as e:
                raise FetchError(current, f"body cut short: {e}") from None
            except ValueError as e:            # yarl/aiohttp on a URL they cannot use
                raise FetchError(current, f"invalid URL: {e}") from None
            except (aiohttp.ClientError, OSError) as e:
                if isinstance(e, AddressRefused):
                    raise FetchError(current, f"refused: {e}") from None
                raise FetchError(current, f"{type(e).__name__}: {e}") from None
        raise FetchError(url, f"more than {MAX_REDIRECTS} redirects")

    def _check_target(self, url: str) -> None:
        if http_url(url) is None:
            raise FetchError(url, "refused: not a valid http(s) URL")
        parts = urlsplit(url)
        if self.options.allow_private_networks is True:
            return
        try:
            reason = refused_address_reason(parts.hostname, self._allowed)
        except ValueError:
            return  # a host name: the resolver checks what it resolves to
        if reason:
            raise FetchError(url, f"refused: {_refuse(parts.hostname, parts.hostname, reason)}")
