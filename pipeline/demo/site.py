"""Builds the demo's two outlets (pages and feeds) and runs the pipeline against them."""

from __future__ import annotations

import html
from pathlib import Path

import click

from .content import ARTICLES, GONE_SUMMARY, LEDGER, SYNDICATED, WIRE
from .server import LoopbackSite, Page

_CHROME = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | {outlet}</title>
<meta property="og:title" content="{title}"></head>
<body>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/business">Business</a>
<a href="/opinion">Opinion</a> <a href="/subscribe">Subscribe</a></nav></header>
<div class="ad">Advertisement</div>
<main><article>
<h1>{title}</h1>
<p class="byline">By staff reporters · {published}</p>
{body}
</article>
<aside><h3>Related stories</h3><ul>
<li><a href="/world/1">Markets steady as investors weigh rates</a></li>
<li><a href="/world/2">Weather: first snow expected in the west</a></li>
</ul></aside></main>
<footer><p>Sign up for our daily newsletter</p>
<p>© 2026 {outlet}. All rights reserved.</p></footer>
</body></html>"""


def _paragraphs_html(paragraphs: list[str]) -> str:
    out = []
    for p in paragraphs:
        tag = "h2" if len(p) < 70 and not p.rstrip().endswith((".", "”", "\"")) else "p"
        out.append(f"<{tag}>{html.escape(p)}</{tag}>")
    return "\n".join(out)


def _page(title: str, outlet: str, published: str, paragraphs: list[str]) -> Page:
    body = _CHROME.format(title=html.escape(title), outlet=html.escape(outlet), published=published,
                          body=_paragraphs_html(paragraphs))
    return Page(body.encode("utf-8"))


def _rss(base: str, items: list[dict]) -> bytes:
    parts = [f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{LEDGER}</title><link>{base}/ledger/</link>
<description>News from Ukraine and the region</description>"""]
    for it in items:
        parts.append(f"""<item><title>{html.escape(it['title'])}</title>
<link>{base}{it['path']}?utm_source=rss&amp;utm_medium=feed</link>
<guid isPermaLink="false">ledger-{it['slug']}</guid>
<pubDate>{it['rfc822']}</pubDate>
<description>{html.escape(it['summary'])}</description></item>""")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


def _atom(base: str, items: list[dict]) -> bytes:
    parts = [f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>{WIRE}</title>
<id>tag:balticwire.example,2026:feed</id><updated>2026-11-23T09:05:00Z</updated>
<link rel="self" href="{base}/wire/atom.xml"/>"""]
    for it in items:
        parts.append(f"""<entry><title>{html.escape(it['title'])}</title>
<id>tag:balticwire.example,2026:{it['slug']}</id>
<link rel="alternate" href="{base}{it['path']}"/>
<updated>{it['iso']}</updated><published>{it['iso']}</published>
<summary type="text">{html.escape(it['summary'])}</summary></entry>""")
    parts.append("</feed>")
    return "\n".join(parts).encode("utf-8")


def _rfc822(iso: str) -> str:
    from datetime import datetime
    from email.utils import format_datetime

    return format_datetime(datetime.fromisoformat(iso.replace("Z", "+00:00")), usegmt=True)


def build_routes(base: str, seed_text: str | None) -> dict[str, Page]:
    """Every page and feed of the demo outlets, with links pointing at `base`."""
    routes: dict[str, Page] = {}
    feeds: dict[str, list[dict]] = {LEDGER: [], WIRE: []}
    entries = dict(ARTICLES)
    copy = SYNDICATED
    src = ARTICLES[copy["slug"]]
    entries[copy["copy_slug"]] = (copy["outlet"], src[1], copy["published"], src[3])
    for slug, (outlet, title, published, paragraphs) in entries.items():
        prefix = "/ledger/" if outlet == LEDGER else "/wire/"
        path = prefix + slug
        if slug == "zelensky-nato-umbrella-interview" and seed_text:
            paragraphs = [line for line in seed_text.splitlines() if line.strip()]
        summary = GONE_SUMMARY if not paragraphs else paragraphs[0]
        if paragraphs:
            routes[path] = _page(title, outlet, published, paragraphs)
        feeds[outlet].append({"slug": slug, "title": title, "path": path, "iso": published,
                              "rfc822": _rfc822(published), "summary": summary})
    routes["/ledger/rss.xml"] = Page(_rss(base, feeds[LEDGER]), content_type="application/rss+xml")
    routes["/wire/atom.xml"] = Page(_atom(base, feeds[WIRE]), content_type="application/atom+xml")
    # A feed that broke: the CMS died half-way through writing it.
    routes["/metro/rss.xml"] = Page(b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>Metro'
                                    b' Daily</title><item><title>Tram lines', content_type="application/rss+xml")
    return routes


DEMO_CONFIG = """# Written by `newsmon demo`: the demo's own config, pointing at its loopback server.
[storage]
database = "demo.db"

[seeds]
directory = "{seeds}"

[digest]
directory = "{reports}"
formats = ["html", "md", "txt", "json"]
timezone = "Europe/Kyiv"

[fetch]
timeout_seconds = 10
allow_private_networks = true   # the demo server is on 127.0.0.1

[[feeds]]
name = "kyiv-ledger"
url = "{base}/ledger/rss.xml"

[[feeds]]
name = "baltic-wire"
url = "{base}/wire/atom.xml"

[[feeds]]
name = "metro-daily"
url = "{base}/metro/rss.xml"
"""


def run_demo(reports: Path, data: Path, seeds: Path) -> None:
    from ..config import load_config
    from ..lock import run_lock
    from ..run import run_once

    seed_file = seeds / "000_2ceace7d45a6ac80.txt"
    seed_text = seed_file.read_text(encoding="utf-8") if seed_file.exists() else None
    if seed_text is None:
        click.echo(f"note: {seed_file} not found; the demo will have no republished seed copy", err=True)
    data.mkdir(parents=True, exist_ok=True)
    for stale in data.glob("demo.db*"):
        stale.unlink()
    with LoopbackSite() as site:
        site.routes.update(build_routes(site.base, seed_text))
        config_path = data / "demo.toml"
        config_path.write_text(DEMO_CONFIG.format(seeds=seeds.resolve(), reports=reports.resolve(),
                                                  base=site.base), encoding="utf-8")
        config = load_config(config_path)
        click.echo(f"demo: serving sample feeds on {site.base}; database {config.database}")
        with run_lock(config.database):
            first = run_once(config)
            second = run_once(config)
    click.echo(f"first run:  {first.new_articles} new articles, {first.duplicates} duplicates dropped, "
               f"{len(first.failed_feeds)} feed(s) failing")
    for f in first.failed_feeds:
        click.echo(f"            {f.name}: {f.error}")
    statuses = ", ".join(f"{f.name} {f.status}" for f in second.feeds)
    click.echo(f"second run: {second.new_articles} new articles ({statuses})")
    click.echo("digest files:")
    for p in first.digest_files:
        click.echo(f"  {p}")
    click.echo(f"re-render later with: newsmon digest --config {config_path}")
