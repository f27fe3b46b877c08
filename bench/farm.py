"""A loopback feed farm for the benchmarks: its own process, aiohttp, N feeds x M items.

    python -m bench.farm --port P --hosts H --feeds N --items M --latency 0.2 [--pages DIR]

Feed i is served on host 127.0.0.<k> (k spreads the feeds over H loopback addresses, so
per-host politeness is exercised as with real publishers, without leaving 127.0.0.0/8).
Every response waits `latency` seconds first. Feeds answer If-None-Match with 304. Article
pages are the given real pages (the trafilatura evaluation set) or generated ones, each with
a unique first paragraph so no two articles are the same text.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import html
import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

from aiohttp import web


def host_of(feed: int, hosts: int) -> str:
    k = feed % hosts
    return f"127.0.{1 + k // 250}.{1 + k % 250}"


def generated_pages(count: int = 60, seed: int = 3) -> list[bytes]:
    """News-like pages of ~100 KB: navigation, ads, related links, comments and an article."""
    rng = random.Random(seed)
    words = ("government minister talks security region energy military city officials week report "
             "country border forces agreement support statement president parliament economy people "
             "prices war attack defence sanctions talks europe allies aid reconstruction winter").split()

    def sentence() -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(12, 28))).capitalize() + "."

    pages = []
    for n in range(count):
        nav = "".join(f'<li><a href="/section/{i}">Section {i}</a></li>' for i in range(60))
        related = "".join(f'<li><a href="/story/{n}-{i}">{html.escape(sentence())}</a></li>' for i in range(40))
        body = "".join(f"<p>{' '.join(sentence() for _ in range(rng.randint(3, 6)))}</p>" for _ in range(rng.randint(8, 20)))
        comments = "".join(f'<div class="comment"><b>user{i}</b><p>{sentence()}</p></div>' for i in range(30))
        scripts = "<script>" + "var x=1;" * 3000 + "</script>"
        page = (f"<!DOCTYPE html><html><head><title>Story {n}</title>{scripts}</head><body>"
                f"<header><nav><ul>{nav}</ul></nav></header><div class='ad'>Advertisement</div>"
                f"<main><article><h1>Story {n}</h1>{body}</article></main>"
                f"<aside><ul>{related}</ul></aside><section class='comments'>{comments}</section>"
                f"<footer>© 2026 Bench News. All rights reserved.</footer></body></html>")
        pages.append(page.encode())
    return pages


def corpus_pages(folder: Path, limit: int) -> list[bytes]:
    return [p.read_bytes() for p in sorted(folder.glob("*.html"))[:limit]]


def unique_page(page: bytes, feed: int, item: int) -> bytes:
    """The page with one paragraph naming this article, placed where the body starts."""
    marker = (f"<p>Report {feed}-{item}: correspondents filed this story from desk {feed} "
              f"as item {item} of the day.</p>").encode()
    at = page.lower().find(b"<body")
    at = page.find(b">", at) + 1 if at >= 0 else 0
    return page[:at] + marker + page[at:]


def feed_xml(port: int, hosts: int, feed: int, items: int) -> bytes:
    host = host_of(feed, hosts)
    now = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)
    parts = [f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench feed {feed}</title>'
             f"<link>http://{host}:{port}/</link><description>bench</description>"]
    for j in range(items):
        parts.append(f"<item><title>Bench story {feed}-{j}</title>"
                     f"<link>http://{host}:{port}/page/{feed}/{j}</link><guid>bench-{feed}-{j}</guid>"
                     f"<pubDate>{format_datetime(now - timedelta(minutes=j), usegmt=True)}</pubDate>"
                     f"<description>Summary of bench story {feed}-{j}.</description></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def make_app(args, pages: list[bytes]) -> web.Application:
    feeds: dict[int, tuple[bytes, str]] = {}

    async def feed(request: web.Request) -> web.Response:
        await asyncio.sleep(args.latency)
        i = int(request.match_info["i"])
        if i not in feeds:
            body = feed_xml(args.port, args.hosts, i, args.items)
            feeds[i] = (body, '"' + hashlib.sha1(body).hexdigest()[:16] + '"')
        body, etag = feeds[i]
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, content_type="application/rss+xml", headers={"ETag": etag})

    async def page(request: web.Request) -> web.Response:
        await asyncio.sleep(args.latency)
        i, j = int(request.match_info["i"]), int(request.match_info["j"])
        base = pages[(i * args.items + j) % len(pages)]
        return web.Response(body=unique_page(base, i, j), content_type="text/html", charset="utf-8")

    app = web.Application()
    app.router.add_get("/feed/{i}.xml", feed)
    app.router.add_get("/page/{i}/{j}", page)
    return app


async def serve(args) -> None:
    pages = corpus_pages(Path(args.pages), args.page_limit) if args.pages else generated_pages()
    runner = web.AppRunner(make_app(args, pages), access_log=None)
    await runner.setup()
    for k in range(args.hosts):
        await web.TCPSite(runner, host_of(k, args.hosts), args.port, backlog=1024).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.farm")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--hosts", type=int, default=64)
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--pages", default=None)
    parser.add_argument("--page-limit", type=int, default=300)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
