"""The script a desk would write in an afternoon instead of newsmon: the benchmarks' baseline.

    python -m bench.baseline DB URL... [--pages]

feedparser + a pool of 32 threads + sqlite3, ETag kept for the next run; with --pages, each new
item's page is fetched too and its text extracted by trafilatura in a multiprocessing Pool(2).
No dedup, no flagging, no health, no digest: what newsmon is measured against is the speed of
the obvious thing, not its features.
"""

from __future__ import annotations

import sqlite3
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import Pool

import feedparser


def get(url: str, etag: str | None = None) -> tuple[int, bytes, str | None]:
    request = urllib.request.Request(url, headers={"If-None-Match": etag} if etag else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read(), response.headers.get("ETag")
    except urllib.error.HTTPError as e:
        return e.code, b"", etag


def check(args: tuple[str, str | None]):
    url, etag = args
    status, body, etag = get(url, etag)
    return url, etag, feedparser.parse(body).entries if status == 200 else []


def extract(page: bytes) -> str:
    import trafilatura
    return trafilatura.extract(page) or ""


def main(db_path: str, urls: list[str], pages: bool) -> int:
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE IF NOT EXISTS feeds (url TEXT PRIMARY KEY, etag TEXT)")
    db.execute("CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, title TEXT, link TEXT, text TEXT)")
    etags = dict(db.execute("SELECT url, etag FROM feeds"))
    with ThreadPoolExecutor(32) as threads:
        results = list(threads.map(check, [(u, etags.get(u)) for u in urls]))
        new = [(e.get("id") or e.get("link"), e.get("title", ""), e.get("link", ""), e.get("summary", ""))
               for _, _, entries in results for e in entries]
        known = {r[0] for r in db.execute("SELECT id FROM items")}
        new = [n for n in new if n[0] not in known]
        if pages and new:
            bodies = list(threads.map(lambda n: get(n[2])[1], new))
            with Pool(2) as pool:
                new = [(i, t, link, text) for (i, t, link, _), text in zip(new, pool.map(extract, bodies))]
    db.executemany("INSERT OR IGNORE INTO items VALUES (?, ?, ?, ?)", new)
    db.executemany("INSERT OR REPLACE INTO feeds VALUES (?, ?)", [(u, e) for u, e, _ in results])
    db.commit()
    return len(new)


if __name__ == "__main__":
    args = sys.argv[1:]
    print(main(args[0], [a for a in args[1:] if a != "--pages"], "--pages" in args))
