"""Builds the demo's outlets (pages and feeds) and runs the pipeline against them.

The page and feed builders are also what the tests and benchmarks serve.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import click

from .content import ARTICLES, GONE_SUMMARY, IMAGES, LEDGER, SYNDICATED, WIRE
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


@dataclass(frozen=True)
class FeedItem:
    """One item of a generated feed (demo, tests, benchmarks)."""

    title: str
    link: str | None
    guid: str | None
    published: str                      # ISO 8601, e.g. "2026-11-23T06:10:00Z"
    summary: str = ""
    content_html: str | None = None     # full content (content:encoded / Atom content)
    image: str | None = None            # lead image URL, as media:thumbnail (Media RSS)


def _paragraphs_html(paragraphs: list[str]) -> str:
    out = []
    for p in paragraphs:
        tag = "h2" if len(p) < 70 and not p.rstrip().endswith((".", "”", "\"")) else "p"
        out.append(f"<{tag}>{html.escape(p)}</{tag}>")
    return "\n".join(out)


def article_page(title: str, outlet: str, published: str, paragraphs: list[str]) -> Page:
    """A news page with the usual furniture around the article: nav, ad, related, footer."""
    body = _CHROME.format(title=html.escape(title), outlet=html.escape(outlet), published=published,
                          body=_paragraphs_html(paragraphs))
    return Page(body.encode("utf-8"))


def _rfc822(iso: str) -> str:
    from datetime import datetime
    from email.utils import format_datetime

    return format_datetime(datetime.fromisoformat(iso.replace("Z", "+00:00")), usegmt=True)


MEDIA_RSS = "http://search.yahoo.com/mrss/"


def rss_feed(title: str, link: str, items: list[FeedItem]) -> Page:
    x = html.escape
    parts = [f'''<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:media="{MEDIA_RSS}"><channel>
<title>{x(title)}</title><link>{x(link)}</link><description>{x(title)}</description>''']
    for it in items:
        parts.append("<item>" + f"<title>{x(it.title)}</title>"
                     + (f"<link>{x(it.link)}</link>" if it.link else "")
                     + (f'<guid isPermaLink="false">{x(it.guid)}</guid>' if it.guid else "")
                     + f"<pubDate>{_rfc822(it.published)}</pubDate>"
                     + (f"<description>{x(it.summary)}</description>" if it.summary else "")
                     + (f"<content:encoded>{x(it.content_html)}</content:encoded>" if it.content_html else "")
                     + (f'<media:thumbnail url="{x(it.image)}"/>' if it.image else "")
                     + "</item>")
    parts.append("</channel></rss>")
    return Page("\n".join(parts).encode("utf-8"), content_type="application/rss+xml")


def atom_feed(title: str, feed_id: str, items: list[FeedItem]) -> Page:
    x = html.escape
    updated = max((it.published for it in items), default="2026-01-01T00:00:00Z")
    parts = [f'''<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="{MEDIA_RSS}"><title>{x(title)}</title>
<id>{x(feed_id)}</id><updated>{updated}</updated>''']
    for it in items:
        parts.append("<entry>" + f"<title>{x(it.title)}</title>"
                     + (f"<id>{x(it.guid)}</id>" if it.guid else "")
                     + (f'<link rel="alternate" href="{x(it.link)}"/>' if it.link else "")
                     + f"<updated>{it.published}</updated><published>{it.published}</published>"
                     + (f'<summary type="text">{x(it.summary)}</summary>' if it.summary else "")
                     + (f'<content type="html">{x(it.content_html)}</content>' if it.content_html else "")
                     + (f'<media:thumbnail url="{x(it.image)}"/>' if it.image else "")
                     + "</entry>")
    parts.append("</feed>")
    return Page("\n".join(parts).encode("utf-8"), content_type="application/atom+xml")


def republished(seed_text: str) -> list[str]:
    """A seed as another site republishes it: straight quotes, an ad slot mid-article, the
    scraper's footer gone and the last paragraph cut."""
    straight = str.maketrans({"“": '"', "”": '"', "’": "'", "‘": "'"})
    lines = [line.translate(straight) for line in seed_text.splitlines() if line.strip()]
    lines = [line for line in lines if "GIPHY" not in line][:-1]
    middle = len(lines) // 2
    return lines[:middle] + ["Advertisement"] + lines[middle:]


def build_routes(base: str, seed_text: str | None) -> dict[str, Page]:
    """Every page and feed of the demo outlets, with links pointing at `base`."""
    routes: dict[str, Page] = {}
    items: dict[str, list[FeedItem]] = {LEDGER: [], WIRE: []}
    entries = dict(ARTICLES)
    src, syn = ARTICLES[SYNDICATED["slug"]], SYNDICATED
    old, new = syn["reworded"]
    copy = [syn["dateline"] + src[3][0]] + [p.replace(old, new) for p in src[3][1:]] + [syn["footer"]]
    entries[syn["copy_slug"]] = (syn["outlet"], src[1], syn["published"], copy)
    for slug, (outlet, title, published, paragraphs) in entries.items():
        path = ("/ledger/" if outlet == LEDGER else "/wire/") + slug
        if slug == "zelensky-nato-umbrella-interview" and seed_text:
            paragraphs = republished(seed_text)
        if paragraphs:
            routes[path] = article_page(title, outlet, published, paragraphs)
        if outlet == LEDGER:  # the Ledger's links carry tracking parameters, as many do
            item = FeedItem(title, f"{base}{path}?utm_source=rss&utm_medium=feed", f"ledger-{slug}",
                            published, paragraphs[0] if paragraphs else GONE_SUMMARY, image=IMAGES.get(slug))
        else:
            item = FeedItem(title, base + path, f"tag:balticwire.example,2026:{slug}", published,
                            paragraphs[0] if paragraphs else GONE_SUMMARY, image=IMAGES.get(slug))
        items[outlet].append(item)
    routes["/ledger/rss.xml"] = rss_feed(LEDGER, f"{base}/ledger/", items[LEDGER])
    routes["/wire/atom.xml"] = atom_feed(WIRE, "tag:balticwire.example,2026:feed", items[WIRE])
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
per_host_delay_seconds = 0.02   # one local "host" serves both outlets
max_age_days = 36500            # the sample news carries fixed 2026 dates: news whenever it runs

[[feeds]]
name = "kyiv-ledger"
url = "{base}/ledger/rss.xml"

[[feeds]]
name = "baltic-wire"
url = "{base}/wire/atom.xml"

[[feeds]]
name = "metro-daily"
url = "{base}/metro/rss.xml"

# Alerts to a chat channel (any Apprise URL; see docs/alerts.md, "Channels and alerts"):
# [[channels]]
# name = "desk"
# url = "ntfys://ntfy.sh/{{password}}"
# password_env = "NEWSMON_NTFY_TOPIC"
#
# [[alerts]]
# name = "ceasefire"
# topics = ["ceasefire"]
"""


def run_demo(reports: Path, data: Path, seeds: Path) -> None:
    from ..app.pipeline import run_once
    from ..config import load_config
    from ..lock import run_lock

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
            second = run_once(config, force=True)  # not due yet: force shows the 304s
    click.echo(f"first run:  {first.new_articles} new articles, {first.duplicates} duplicates dropped, "
               f"{len(first.failed_feeds)} feed(s) failing")
    for f in first.failed_feeds:
        click.echo(f"            {f.name}: {f.error}")
    statuses = ", ".join(f"{f.name} {f.status}" for f in second.feeds)
    click.echo(f"second run: {second.new_articles} new articles ({statuses})")
    from ..app.stories import day_stories

    stories = day_stories(config, first.started.astimezone(config.zone).date(), now=first.finished)
    click.echo(f"stories:    {len(stories)}; told by more than one outlet:")
    for s in stories:
        if len(s.outlets) > 1:
            titles = "; ".join(dict.fromkeys([s.title] + [c.title for c in s.also]))
            click.echo(f"            {', '.join(s.outlets)}: {titles}")
    click.echo("digest files:")
    for p in first.digest_files:
        click.echo(f"  {p}")
    click.echo(f"re-render later with: newsmon digest --config {config_path}")
