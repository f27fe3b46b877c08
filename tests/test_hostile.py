"""Hostile input and faults (issue: nothing crashes, nothing hangs, nothing is lost, no one gets in).

Every case runs against real parts: a loopback HTTP(S) server, the real pipeline, a real SQLite
file; each asserts the clear error and that nothing stored was lost.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest
import trustme
from conftest import rows as _rows
from world import HARVEST_STORY, NATO_STORY, serve_world

from pipeline.app.pipeline import run_once
from pipeline.config import FetchOptions, defaults
from pipeline.demo.server import LoopbackSite, Page
from pipeline.demo.site import FeedItem, article_page, rss_feed
from pipeline.errors import FetchError
from pipeline.stages.fetch import Fetcher


def _get(url: str, **options):
    opts = FetchOptions(**{**defaults("fetch"), "timeout_seconds": 5, **options})

    async def go():
        async with Fetcher(opts) as f:
            return await f.get(url)
    return asyncio.run(go())


# --- fetching -------------------------------------------------------------------------------

def test_redirects_to_private_or_metadata_addresses_are_refused_on_every_hop(site):
    site.routes["/to-metadata"] = Page(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    site.routes["/to-intranet"] = Page(status=301, headers={"Location": "http://10.0.0.5/admin"})
    site.routes["/to-mapped"] = Page(status=302, headers={"Location": "http://[::ffff:192.168.1.1]/"})
    loopback_only = ("127.0.0.0/8",)        # the test server is allowed, nothing else private
    for path, words in (("/to-metadata", "link-local address 169.254.169.254"),
                        ("/to-intranet", "private address 10.0.0.5"),
                        ("/to-mapped", "private address ::ffff:192.168.1.1")):
        with pytest.raises(FetchError, match=words):
            _get(site.url(path), allow_private_networks=loopback_only)


def test_non_http_redirects_are_refused(site):
    site.routes["/to-file"] = Page(status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(FetchError, match="redirect to a non-http or invalid URL refused"):
        _get(site.url("/to-file"), allow_private_networks=True)


def test_tls_certificates_are_always_verified(tmp_path):
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with LoopbackSite({"/f": Page(b"<rss/>")}, tls=context) as tls_site:
        assert tls_site.url("/f").startswith("https://")
        with pytest.raises(FetchError, match="certificate verify failed"):
            _get(tls_site.url("/f"), allow_private_networks=True)


def test_a_gzip_bomb_stops_at_the_cap_with_bounded_memory(site, tmp_path):
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (16 * 1024 * 1024)
    bomb = b"".join(compressor.compress(chunk) for _ in range(64)) + compressor.flush()   # 1 GiB
    assert len(bomb) < 1_100_000
    site.routes["/bomb.xml"] = Page(bomb, content_type="application/rss+xml", headers={"Content-Encoding": "gzip"})
    script = textwrap.dedent(f"""
        import asyncio, json, resource
        from pipeline.config import FetchOptions, defaults
        from pipeline.errors import BodyTooLarge
        from pipeline.stages.fetch import Fetcher
        def hwm():
            for line in open("/proc/self/status"):
                if line.startswith("VmHWM"):
                    return int(line.split()[1]) / 1024
        async def go():
            opts = FetchOptions(**{{**defaults("fetch"), "allow_private_networks": True}})
            async with Fetcher(opts) as f:
                try:
                    await f.get({site.url('/bomb.xml')!r})
                except BodyTooLarge as e:
                    return str(e)
        before = hwm()
        error = asyncio.run(go())
        print(json.dumps({{"error": error, "growth_mb": hwm() - before}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    result = json.loads(out.stdout)
    assert "10,000,000-byte cap" in result["error"]
    assert result["growth_mb"] < 100, result


def test_an_empty_200_is_an_error_not_an_empty_feed(site, make_config, clock):
    site.routes["/empty.xml"] = Page(b"", content_type="application/rss+xml")
    config = make_config([("empty", site.url("/empty.xml"))])
    [outcome] = run_once(config, clock=clock).feeds
    assert (outcome.status, outcome.error) == ("error", "empty response body")


def test_fetch_pages_off_for_one_feed_only(site, make_config, clock):
    feeds = serve_world(site)
    config = make_config([("daily-a", feeds["daily-a"]), ("weekly-b", feeds["weekly-b"])])
    config = replace(config, feeds=(replace(config.feeds[0], fetch_pages=False), config.feeds[1]))
    run_once(config, clock=clock)
    pages = [p for p, _ in site.requests if not p.endswith(".xml")]
    assert pages and all(p.startswith("/b/") for p in pages)
    assert _rows(config, "SELECT DISTINCT text_source FROM articles WHERE feed = 'daily-a'") == [("feed",)]


# --- parsing and content ------------------------------------------------------------------------

def test_billion_laughs_and_external_entities_read_nothing_and_fetch_nothing(site, make_config, clock, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    laughs = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    site.routes["/laughs.xml"] = Page(
        f'<?xml version="1.0"?><!DOCTYPE rss [{laughs}]><rss version="2.0"><channel><title>&lol9;</title>'
        f'<item><title>a</title><link>http://x.example/1</link></item></channel></rss>'.encode(),
        content_type="application/rss+xml")
    site.routes["/xxe.xml"] = Page(
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY file SYSTEM "file://{secret}">'
        f'<!ENTITY web SYSTEM "{site.url("/evil")}">]><rss version="2.0"><channel><title>t</title>'
        f'<item><title>&file;&web;</title><link>http://x.example/2</link>'
        f'<description>&file;&web;</description></item></channel></rss>'.encode(),
        content_type="application/rss+xml")
    config = make_config([("laughs", site.url("/laughs.xml")), ("xxe", site.url("/xxe.xml"))],
                         extra="fetch_pages = false\n")
    import time
    started = time.monotonic()
    run_once(config, clock=clock)
    assert time.monotonic() - started < 30
    stored = " ".join(t + x for t, x in _rows(config, "SELECT title, text FROM articles"))
    assert "TOP-SECRET" not in stored and "lollollol" not in stored
    assert site.hits("/evil") == 0


def test_an_html_page_where_the_feed_was_keeps_what_was_stored(site, make_config, clock):
    feeds = serve_world(site)
    config = make_config([("daily-a", feeds["daily-a"])])
    run_once(config, clock=clock)
    before = _rows(config, "SELECT id, text FROM articles ORDER BY id")
    site.routes["/a/rss.xml"] = Page(b"<!DOCTYPE html><html><body><p>We moved! Visit our homepage.</p></body></html>")
    [outcome] = run_once(config, clock=clock, force=True).feeds
    assert outcome.status == "error" and "not a feed" in outcome.error
    assert _rows(config, "SELECT id, text FROM articles ORDER BY id") == before
    site.routes["/a/rss.xml"] = Page(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20, content_type="image/png")
    [outcome] = run_once(config, clock=clock, force=True).feeds
    assert outcome.status == "error" and "not a feed" in outcome.error


def test_wrong_or_missing_encoding_declarations_give_correct_text(site, make_config, clock):
    title = "Саміт НАТО у Гаазі: що відомо про переговори щодо перемир'я"
    xml = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Новини</title>'
           f'<item><title>{title}</title><link>http://x.example/1</link><guid>u1</guid>'
           f'<description>{title}</description></item></channel></rss>')
    site.routes["/cp1251.xml"] = Page(xml.encode("cp1251"), content_type="application/rss+xml; charset=utf-8")
    site.routes["/nodecl.xml"] = Page(xml.replace(' encoding="utf-8"', "").replace("u1", "u2").replace("/1<", "/2<").encode("koi8-u"),
                                      content_type="text/xml")
    config = make_config([("cp", site.url("/cp1251.xml")), ("koi", site.url("/nodecl.xml"))],
                         extra="fetch_pages = false\n")
    run_once(config, clock=clock)
    titles = [t for (t,) in _rows(config, "SELECT title FROM articles ORDER BY feed")]
    assert titles == [title, title]
    assert _rows(config, "SELECT DISTINCT topics FROM articles") == [('["nato", "ceasefire"]',)]


def test_duplicate_and_missing_guids_huge_feeds_and_future_dates(site, make_config, clock):
    items = [FeedItem(f"Item {i}", site.url(f"/p/{i}"), "same-guid" if i < 3 else None,
                      "2099-01-01T00:00:00Z" if i == 5 else "2026-11-22T10:00:00Z",
                      f"Summary number {i} about the harvest.") for i in range(20_000)]
    site.routes["/huge.xml"] = rss_feed("Huge", site.base, items)
    config = make_config([("huge", site.url("/huge.xml"))], extra="fetch_pages = false\n")
    report = run_once(config, clock=clock)
    assert report.feeds[0].status == "ok"
    # the cap (200 per run) holds; three items share a guid: one article for them
    count = _rows(config, "SELECT count(*) FROM articles")[0][0]
    assert count == 200 - 2
    # a date in 2099 is dropped: the article sorts by when it was first seen, never into the future
    assert _rows(config, "SELECT published FROM articles WHERE title = 'Item 5'") == [(None,)]
    assert _rows(config, "SELECT count(*) FROM articles WHERE published > first_seen") == [(0,)]


def test_control_characters_and_escapes_never_reach_storage_logs_or_digests(site, make_config, clock, caplog):
    evil = "Breaking\x1b[2J\x1b]0;pwned\x07 news\x00 today\u200b"
    site.routes["/ctl.xml"] = Page(
        ('<?xml version="1.0"?><rss version="2.0"><channel><title>c</title><item>'
         f'<title>{evil}</title><link>http://x.example/c\x1b[31m</link><guid>g</guid>'
         f'<description>Body \x1b[31mred\x1b[0m text\x00.</description></item></channel></rss>').encode(),
        content_type="application/rss+xml")
    config = make_config([("ctl", site.url("/ctl.xml"))], extra="fetch_pages = false\n")
    with caplog.at_level("INFO"):
        run_once(config, clock=clock)
    [(title, text, url)] = _rows(config, "SELECT title, text, url FROM articles")
    for value in (title, text, url or ""):
        assert not any(ord(ch) < 32 and ch not in "\n\t" for ch in value), repr(value)
    assert title == "Breaking news today"            # whole escape sequences go, not just ESC
    for path in config.digest_dir.glob("*.*"):
        assert "\x1b" not in path.read_text() and "\x00" not in path.read_text()
    from pipeline.logs import TextFormatter
    assert all("\x1b" not in TextFormatter().format(r) for r in caplog.records)


def test_markdown_digest_escapes_link_and_html_syntax(site, make_config, clock):
    site.routes["/md.xml"] = rss_feed("md", site.base, [FeedItem(
        "[click me](javascript:alert(1)) <img src=x onerror=alert(1)> *NATO*", site.url("/nope"), "m1",
        "2026-11-23T06:00:00Z", "NATO said so.")])
    config = make_config([("md", site.url("/md.xml"))], extra="fetch_pages = false\n")
    run_once(config, clock=clock)
    md = (config.digest_dir / "2026-11-23.md").read_text()
    # the plain-text title keeps its characters, every one of them inert in Markdown
    assert "[click me](javascript" not in md and not re.search(r"(?<!\\)<img", md)
    assert r"\[click me\](javascript:alert(1)) \<img src=x onerror=alert(1)\>" in md


# --- extraction ---------------------------------------------------------------------------------

def test_pathological_huge_binary_and_empty_pages_cost_one_fallback_each(site, make_config, clock):
    slow_page = ("<html><body>" + "".join(f"<div><div><span>w{i}</span> <a href='/x{i}'>link</a></div></div>"
                                          for i in range(20_000)) + "</body></html>").encode()
    site.routes.update({
        "/slow": Page(slow_page),                                  # ~5 s in trafilatura
        "/huge": Page(b"<html><body>" + b"<p>words and more words</p>" * 120_000 + b"</body></html>"),
        "/pdf": Page(b"%PDF-1.7\n%binary\n" + bytes(range(256)) * 100),   # a PDF served as text/html
        "/empty": Page(b"<html><head><title>x</title></head><body></body></html>"),   # trafilatura: None
        "/good": article_page("Good", "Site", "2026-11-23", NATO_STORY),
    })
    site.routes["/f.xml"] = rss_feed("f", site.base, [
        FeedItem(name, site.url(f"/{name}"), name, "2026-11-23T06:00:00Z", f"The {name} page summary: " + HARVEST_STORY[0])
        for name in ("slow", "huge", "pdf", "empty", "good")])
    config = make_config([("f", site.url("/f.xml"))])
    config = replace(config, extract=replace(config.extract, timeout_seconds=1))
    import time
    started = time.monotonic()
    report = run_once(config, clock=clock)
    assert time.monotonic() - started < 20
    assert report.feeds[0].new == 5
    notes = dict(_rows(config, "SELECT guid, extraction_note FROM articles"))
    assert "timed out after 1 s" in notes["slow"]
    assert "over the 2,000,000-byte limit" in notes["huge"]
    assert "binary content" in notes["pdf"]
    assert notes["empty"] == "no main text found on the page"
    assert notes["good"] is None
    texts = dict(_rows(config, "SELECT guid, text FROM articles"))
    assert texts["slow"].startswith("The slow page summary") and texts["good"].startswith(NATO_STORY[0])
    assert "None" not in texts.values()


def test_names_are_checked_on_the_address_they_resolve_to_at_every_connect(site, monkeypatch):
    """DNS rebinding: a name may answer differently each time; every connection asks again.

    The DNS answers are the one thing faked here (there is no DNS for made-up names on this
    machine); the connection attempts are real, and none is made."""
    from aiohttp.resolver import ThreadedResolver

    answers = []

    async def fake_resolve(self, host, port=0, family=0):
        answers.append(host)
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": 2, "proto": 6, "flags": 0}]

    monkeypatch.setattr(ThreadedResolver, "resolve", fake_resolve)
    site.routes["/f"] = Page(b"<rss/>")
    url = site.url("/f").replace("127.0.0.1", "news.rebind.example")
    opts = FetchOptions(**{**defaults("fetch"), "timeout_seconds": 5})

    async def twice():
        errors = []
        async with Fetcher(opts) as fetcher:            # one session: its DNS cache would apply
            for _ in range(2):
                try:
                    await fetcher.get(url)
                except FetchError as e:
                    errors.append(str(e))
        return errors

    errors = asyncio.run(twice())
    assert len(errors) == 2
    assert all("news.rebind.example resolves to loopback address 127.0.0.1" in e for e in errors)
    assert answers == ["news.rebind.example", "news.rebind.example"]     # asked again: no DNS cache
    assert site.requests == []
