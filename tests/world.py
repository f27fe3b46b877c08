"""Test content written for newsmon's tests: two small outlets, served by LoopbackSite."""

from __future__ import annotations

from conftest import SEEDS

from pipeline.demo.server import LoopbackSite, Page
from pipeline.demo.site import FeedItem, article_page, atom_feed, rss_feed

NATO_STORY = [
    "Foreign ministers of NATO member states met in Oslo on Thursday to discuss air defence for "
    "Ukraine and the alliance's plans for the coming winter.",
    "The meeting produced a joint statement on supplying interceptor missiles, which several "
    "ministers described as the most urgent need after months of strikes on power stations.",
    "Norway, the host, said it would fund the purchase of two additional systems from its own "
    "budget and invited other members to join a common procurement effort.",
]
HARVEST_STORY = [
    "Farmers in the Poltava region have finished harvesting sunflowers two weeks later than usual "
    "because of heavy autumn rain, the regional agriculture department said.",
    "Yields were close to last year's, but drying costs rose sharply as grain dryers ran on diesel "
    "for longer. Cooperatives said the price of fuel was their largest single expense this season.",
    "Exporters expect sunflower oil shipments to pick up in December once the crushing plants "
    "work through the backlog of seed delivered in November.",
]
GONE_SUMMARY = ("Officials said a local ceasefire around the power plant held overnight, allowing "
                "engineers to reach the damaged transformer station.")
HOSTILE_TITLE = '<script>alert("x")</script> Breaking & <b>bold</b> news'


def seed_copy_paragraphs() -> list[str]:
    """Seed 004 as another site republishes it: same text, its own page furniture."""
    return [line for line in (SEEDS / "004_896c57e66a8301f0.txt").read_text().splitlines() if line.strip()]


def serve_world(site: LoopbackSite) -> dict[str, str]:
    """Routes for an RSS outlet and an Atom outlet; returns the feed URLs by name."""
    b = site.base
    site.routes.update({
        "/a/nato-oslo": article_page("Ministers meet in Oslo on air defence", "Daily A", "2026-11-23", NATO_STORY),
        "/a/harvest": article_page("Sunflower harvest ends late after rain", "Daily A", "2026-11-23", HARVEST_STORY),
        "/a/short": article_page("Live: updates", "Daily A", "2026-11-23", ["Refresh for updates."]),
        "/b/republished": article_page("Ukraine reconsiders NATO membership", "Weekly B", "2026-11-23",
                                       seed_copy_paragraphs()),
        "/b/hostile": article_page("Hostile", "Weekly B", "2026-11-23", [
            "The city library reopened its reading room after a year of repairs to the roof and the "
            "heating, with longer opening hours on weekends.",
            "A second paragraph so the page has enough text to count as an article body for the "
            "extractor, which wants a few sentences before it trusts what it found."]),
    })
    site.routes["/a/rss.xml"] = rss_feed("Daily A", b + "/a/", [
        FeedItem("Ministers meet in Oslo on air defence", b + "/a/nato-oslo?utm_source=rss", "a-1",
                 "2026-11-23T06:00:00Z", NATO_STORY[0]),
        FeedItem("Sunflower harvest ends late after rain", b + "/a/harvest", "a-2", "2026-11-23T05:00:00Z",
                 HARVEST_STORY[0]),
        FeedItem("Power plant repairs under local ceasefire", b + "/a/gone", "a-3", "2026-11-23T04:00:00Z",
                 GONE_SUMMARY),
        FeedItem("Live: updates", b + "/a/short", "a-4", "2026-11-23T03:00:00Z",
                 "Live coverage of the talks on a truce, with reports from our correspondents in "
                 "Kyiv and Brussels as the delegations arrive."),
    ])
    site.routes["/b/atom.xml"] = atom_feed("Weekly B", "tag:weekly-b,2026:feed", [
        FeedItem("Ukraine reconsiders NATO membership", b + "/b/republished", "tag:weekly-b,2026:1",
                 "2026-11-23T02:00:00Z", "Republished."),
        FeedItem(HOSTILE_TITLE, "javascript:alert(1)", "tag:weekly-b,2026:2", "2026-11-23T01:00:00Z",
                 "A summary with <b>markup</b> in it."),
        FeedItem("Hostile page", b + "/b/hostile", "tag:weekly-b,2026:3", "2026-11-23T01:30:00Z", ""),
    ])
    return {"daily-a": site.url("/a/rss.xml"), "weekly-b": site.url("/b/atom.xml")}


def broken_routes(site: LoopbackSite) -> dict[str, str]:
    site.routes["/x/500.xml"] = Page(b"oops", status=500, content_type="text/plain")
    site.routes["/x/html.xml"] = Page(b"<!DOCTYPE html><html><body><h1>Welcome</h1><p>No feed here.</p></body></html>")
    return {"five-hundred": site.url("/x/500.xml"), "html-page": site.url("/x/html.xml"),
            "refused": "http://127.0.0.1:1/feed.xml"}
