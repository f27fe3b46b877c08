"""The morning read (issue 24): a digest whose counts agree, feed health as the manual (docs/operations.md) defines
it, days outside the archive said so, and a future date refused.

The input is a real SQLite store written through Store, with topics flagged by the real matcher
and feed health moved by the real transition (stages/health.py); the digest is read back with
app/report.py and rendered by the real templates."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

from conftest import newsmon, write_config

from pipeline.app.alerts import queue_digests
from pipeline.app.deliver import subject_for
from pipeline.app.report import digest_for
from pipeline.app.stories import refresh_story
from pipeline.config import load_config
from pipeline.records import Article, FeedOutcome
from pipeline.stages.flag import TopicMatcher
from pipeline.stages.health import HealthPolicy, transition
from pipeline.stages.render import render
from pipeline.storage.store import Store, article_id

DAY = date(2026, 11, 23)
T = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)       # 08:00 in Kyiv

CHANNEL = '''
[[channels]]
name = "team"
url = "json://127.0.0.1:9/hook"
receives = ["digest"]
'''


def _store(tmp_path, articles, failures: dict[str, int] | None = None, extra: str = ""):
    """A config and an open store holding `articles` ((feed, slug, title, text) each, first seen
    a minute apart from T) and feeds failed `failures[name]` times in a row."""
    feeds = sorted({a[0] for a in articles} | set(failures or {}))
    config = load_config(write_config(tmp_path, [(f, f"https://{f}.example/rss") for f in feeds], extra))
    store = Store.open(config.database)
    matcher = TopicMatcher(config.topics)
    run_id = store.start_run(T)
    with store.transaction():
        for n, (feed, slug, title, text) in enumerate(articles):
            url = f"https://{feed}.example/{slug}"
            article = Article(identity=f"url:{url}", feed=feed, guid=None, url=url, canonical_url=url, title=title,
                              published=T + timedelta(minutes=n), text=text, text_source="page",
                              fingerprint=f"fp{n}", matches=matcher.match(title, text))
            store.insert_article(article, T + timedelta(minutes=n), run_id)
            refresh_story(store, article_id(article.identity))
    policy = HealthPolicy(15, 240, config.fetch.failing_after)
    for feed in feeds:
        state = store.ensure_feed(feed, f"https://{feed}.example/rss")
        failed = (failures or {}).get(feed, 0)
        outcome = (FeedOutcome(feed, state.url, "error", error="HTTP 503 Service Unavailable") if failed
                   else FeedOutcome(feed, state.url, "ok", new=1))
        for _ in range(max(1, failed)):
            change = transition(state, outcome, T, policy)
            with store.transaction():
                store.save_feed(run_id, outcome, change, T)
            state = change.state
    store.finish_run(run_id, T, ())
    return config, store


MIXED = [
    # flagged Territory (title) and NATO (text): its main topic is Territory
    ("daily", "border", "Border territory handed back to the district",
     "The territory was handed back on Monday. NATO observers attended."),
    ("daily", "truce", "Truce holds around the plant", "A local ceasefire held overnight."),
    ("wire", "harvest", "Sunflower harvest ends late", "Farmers finished two weeks late."),
]


def test_a_topics_story_count_is_the_same_in_summary_section_subject_and_chat(tmp_path, seeds_dir):
    """NATO flags one story, shown under Territory (its stronger topic): the summary, the NATO
    section (listing it, linked to its card), the subject and the chat digest all say 1."""
    config, store = _store(tmp_path, MIXED, extra=CHANNEL)
    try:
        digest = digest_for(store, config, DAY, config.labels, T + timedelta(hours=2))
        nato = next(t for t in digest.topics if t.id == "nato")
        assert nato.stories == 1 and not nato.articles and [s.title for s, _ in nato.elsewhere] == [
            "Border territory handed back to the district"]
        html, txt, md = (render(digest, fmt) for fmt in ("html", "txt", "md"))
        assert '<th><a href="#topic-nato">NATO</a></th><td>1 story,' in html
        assert '<h2 id="topic-nato">NATO <span class="muted">(1)</span></h2>' in html
        card = next(s for s in digest.articles if s.title.startswith("Border"))
        assert f'<a href="#story-{card.story_id}">Border territory handed back to the district</a>' in html
        assert f'id="story-{card.story_id}"' in html
        assert "  NATO: 1 story," in txt and "== NATO (1) ==" in txt and "(under Territory)" in txt
        assert "- NATO: 1 story," in md and "## NATO (1)" in md
        assert "NATO 1 · Ceasefire 1 · Territory 1" in subject_for(digest)
        # the chat digest of the day, queued the next morning after send_at
        assert queue_digests(store, config, datetime(2026, 11, 24, 6, 0, tzinfo=timezone.utc)) == 1
        body = store.message("team", "digest", DAY.isoformat()).body
        assert "NATO (1):" in body and "1 more listed under other topics" in body
    finally:
        store.close()


def test_failing_starts_at_failing_after_failures_in_a_row(tmp_path, seeds_dir):
    """One failure is an error, listed in the health block but not counted "failing"; three
    (`failing_after`, the documented default) are."""
    config, store = _store(tmp_path, MIXED[:1], failures={"once": 1, "thrice": 3})
    try:
        digest = digest_for(store, config, DAY, config.labels, T + timedelta(hours=2))
    finally:
        store.close()
    assert [f.name for f in digest.failing_feeds] == ["thrice"]
    assert [f.name for f in digest.erring_feeds] == ["once"]
    html, txt = render(digest, "html"), render(digest, "txt")
    assert "(1 failing)" in txt and "(1 failed its last check)" in txt
    assert '<span class="bad">1 failing</span>' in html
    assert "<strong>once</strong>\nerror since" in html and "<strong>thrice</strong>\nfailing since" in html
    assert digest.to_json()["summary"]["feeds_failing"] == 1


def test_a_day_before_the_database_existed_says_so_and_shows_no_feed_health(tmp_path, seeds_dir):
    config, store = _store(tmp_path, MIXED, failures={"broken": 3})
    try:
        before = digest_for(store, config, DAY - timedelta(days=30), config.labels, T + timedelta(hours=2))
        today = digest_for(store, config, DAY, config.labels, T + timedelta(hours=2))
    finally:
        store.close()
    assert before.feeds == () and today.feeds
    said = "This day is outside the archive: the database begins 2026-11-23 08:00 (Europe/Kyiv)"
    for fmt in ("html", "txt", "md"):
        text = render(before, fmt)
        assert said in text.replace("\\", "") and "broken" not in text and "answered" not in text
    assert before.to_json()["outside_archive"].startswith(said)
    assert today.outside_archive is None and "broken" in render(today, "txt")


def test_a_future_date_is_refused_with_exit_2(tmp_path, seeds_dir):
    path = write_config(tmp_path, [])
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=2)).date()
    done = newsmon("digest", "--config", str(path), "--date", tomorrow.isoformat())
    assert done.returncode == 2, done.stderr
    assert f"{tomorrow} is in the future" in done.stderr and "Europe/Kyiv" in done.stderr
    assert not (tmp_path / "reports" / f"{tomorrow}.html").exists()


# --- cards and navigation -------------------------------------------------------------------

ALERTS_ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>tag:google.com,2005:reader/user/1/state/alerts/2</id>
<title>Google Alert - ceasefire</title>
<link href="https://www.google.com/alerts/feeds/0001/0002" rel="self"/><updated>2026-11-23T06:00:00Z</updated>
<entry><id>tag:google.com,2013:googlealerts/feed:1</id><title type="html">Local &lt;b&gt;ceasefire&lt;/b&gt; holds</title>
<link href="https://www.google.com/url?rct=j&amp;sa=t&amp;url=https://www.kyiv-daily.example/news/truce-holds%3Fid%3D7&amp;ct=ga&amp;cd=CAIy&amp;usg=AOvVaw1"/>
<published>2026-11-23T05:00:00Z</published><updated>2026-11-23T05:00:00Z</updated>
<content type="html">A local &lt;b&gt;ceasefire&lt;/b&gt; held overnight.</content></entry>
</feed>"""


def test_google_alerts_links_are_unwrapped_to_the_article_at_the_url_boundary():
    from pipeline.records import Response
    from pipeline.stages.parse import parse_feed
    from pipeline.stages.urls import canonical_url, http_url

    parsed = parse_feed("alerts", Response("https://www.google.com/alerts/feeds/0001/0002", 200,
                                           {"content-type": "application/atom+xml"}, ALERTS_ATOM.encode()),
                        max_items=50, now=T)
    [entry] = parsed.entries
    assert entry.link == "https://www.kyiv-daily.example/news/truce-holds?id=7"
    assert http_url("https://www.google.co.uk/url?q=https://a.example/x&sa=U") == "https://a.example/x"
    assert canonical_url("https://www.google.com/url?url=https://a.example/y%3Futm_source%3Dalert") == \
        "https://a.example/y"
    assert http_url("https://www.google.com/url?q=javascript:alert(1)") == \
        "https://www.google.com/url?q=javascript:alert(1)"          # no article there: the link as given
    assert http_url("https://www.google.com/search?q=truce") == "https://www.google.com/search?q=truce"


def test_outlets_are_feed_titles_and_publishers_and_counted_once(tmp_path, seeds_dir):
    """Outlet = `title` in the config, else the feed's own title, else its name; an alert's item
    is its publisher's. Two alert feeds citing one page are one outlet."""
    extra = ""
    config, store = _store(tmp_path, [], extra=extra)
    store.close()
    text = (tmp_path / "newsmon.toml").read_text()
    text += ('\n[[feeds]]\nname = "ledger"\nurl = "https://ledger.example/rss"\ntitle = "The Kyiv Ledger"\n'
             '\n[[feeds]]\nname = "wire"\nurl = "https://wire.example/rss"\n'
             '\n[[feeds]]\nname = "alerts-a"\nurl = "https://www.google.com/alerts/feeds/1/2"\n'
             '\n[[feeds]]\nname = "alerts-b"\nurl = "https://www.google.com/alerts/feeds/1/3"\n')
    (tmp_path / "newsmon.toml").write_text(text)
    config = load_config(tmp_path / "newsmon.toml")
    store = Store.open(config.database)
    try:
        run_id = store.start_run(T)
        story = None
        with store.transaction():
            for n, (feed, url, title) in enumerate([
                    ("alerts-a", "https://www.kyiv-daily.example/truce", "Local truce holds"),
                    ("alerts-b", "https://www.kyiv-daily.example/truce?from=b", "Local truce holds"),
                    ("ledger", "https://ledger.example/truce", "Truce holds near the plant"),
                    ("wire", "https://wire.example/harvest", "Harvest ends late")]):
                article = Article(identity=f"url:{url}", feed=feed, guid=None, url=url, canonical_url=url,
                                  title=title, published=T, text=f"{title}. More words here.", text_source="page",
                                  fingerprint=f"fp{n}", story_id=story if n in (1, 2) else None)
                store.insert_article(article, T + timedelta(minutes=n), run_id)
                if n == 0:
                    story = article_id(article.identity)
                refresh_story(store, story if n in (0, 1, 2) else article_id(article.identity))
        for name, title in (("wire", "Wire B"), ("ledger", "Ledger feed title")):
            store.ensure_feed(name, f"https://{name}.example/rss")
            outcome = FeedOutcome(name, f"https://{name}.example/rss", "ok", new=1, title=title)
            state = store.ensure_feed(name, outcome.url)
            with store.transaction():
                store.save_feed(run_id, outcome, transition(state, outcome, T, HealthPolicy(15, 240, 3)), T)
        digest = digest_for(store, config, DAY, config.labels, T + timedelta(hours=3))
    finally:
        store.close()
    lead = next(s for s in digest.articles if s.reports == 3)
    assert lead.outlets == ("kyiv-daily.example", "The Kyiv Ledger")       # two alert feeds: one outlet
    assert {a.outlet for a in lead.also} == {"kyiv-daily.example", "The Kyiv Ledger"}
    assert next(s for s in digest.articles if s.title == "Harvest ends late").outlet == "Wire B"
    html = render(digest, "html")
    assert ('<h3 class="outlet">kyiv-daily.example <span class="muted">(1)</span></h3>' in html
            and "2026-11-23 08:00 EET · 3 h ago · 2 outlets: kyiv-daily.example, The Kyiv Ledger" in html)
    assert "alerts-a" not in html and "Wire B" in html


def _write_day(config, store, day: date) -> None:
    from pipeline.app.report import write_for_day

    write_for_day(store, config, datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc)
                  + timedelta(hours=20), config.labels, day=day)


def test_days_link_to_each_other_and_the_index_has_counts_and_top_stories(tmp_path, seeds_dir):
    config, store = _store(tmp_path, MIXED)                # stories of 2026-11-23
    try:
        _write_day(config, store, DAY - timedelta(days=1))
        _write_day(config, store, DAY)
        reports = config.digest_dir
        before, day = (reports / "2026-11-22.html").read_text(), (reports / "2026-11-23.html").read_text()
        # the day before got its "next" link when the new day's first digest was written
        assert '<a href="index.html">All digests</a> · <a href="2026-11-23.html">2026-11-23 →</a>' in before
        assert '<a href="index.html">All digests</a> · <a href="2026-11-22.html">← 2026-11-22</a></p>' in day
        # a table of contents: summary rows and a contents line link to the sections
        assert '<th><a href="#topic-nato">NATO</a></th>' in day and 'id="topic-nato"' in day
        assert '<a href="#others">Other stories</a> · <a href="#health">Feed health</a>' in day
        # the other stories: collapsed, by outlet, with time and a one-line snippet
        others = day[day.index('<h2 id="others">'):day.index('<h2 id="health">')]
        assert "<details>" in others and "<details open" not in others
        assert '<h3 class="outlet">wire <span class="muted">(1)</span></h3>' in others
        assert "2026-11-23 08:02 EET" in others and '<span class="snippet">Farmers finished two weeks late.</span>' in others
        index = (reports / "index.html").read_text()
        assert index.index("2026-11-23") < index.index("2026-11-22")             # newest first
        assert "3 stories · NATO 1 · Ceasefire 1 · Territory 1" in index
        assert 'Top story: <a href="https://daily.example/truce">Truce holds around the plant</a>' in index
        assert "0 stories · NATO 0" in index
        data = json.loads((reports / "index.json").read_text())
        assert [e["date"] for e in data] == ["2026-11-23", "2026-11-22"] and data[0]["stories"] == 3
    finally:
        store.close()


# --- images ---------------------------------------------------------------------------------

IMAGES_RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Pictures</title>
<link>https://pics.example/</link><description>x</description>
<item><title>Thumb</title><link>https://pics.example/1</link><guid>1</guid>
<media:thumbnail url="https://cdn.pics.example/1.jpg" width="160"/></item>
<item><title>Content</title><link>https://pics.example/2</link><guid>2</guid>
<media:content url="https://cdn.pics.example/2.mp4" type="video/mp4"/>
<media:content url="https://cdn.pics.example/2.jpg" medium="image"/></item>
<item><title>Enclosure</title><link>https://pics.example/3</link><guid>3</guid>
<enclosure url="https://cdn.pics.example/3.mp3" type="audio/mpeg" length="1"/>
<enclosure url="https://cdn.pics.example/3.png" type="image/png" length="1"/></item>
<item><title>Relative</title><link>https://pics.example/4</link><guid>4</guid>
<media:thumbnail url="/4.jpg"/></item>
<item><title>Script</title><link>https://pics.example/5</link><guid>5</guid>
<media:thumbnail url="javascript:alert(1)"/></item>
</channel></rss>"""


def test_a_feed_items_lead_image_is_its_thumbnail_media_or_image_enclosure_absolute_only():
    from pipeline.records import Response
    from pipeline.stages.parse import parse_feed

    parsed = parse_feed("pics", Response("https://pics.example/rss", 200, {"content-type": "application/rss+xml"},
                                         IMAGES_RSS.encode()), max_items=50, now=T)
    assert {e.title: e.image for e in parsed.entries} == {
        "Thumb": "https://cdn.pics.example/1.jpg", "Content": "https://cdn.pics.example/2.jpg",
        "Enclosure": "https://cdn.pics.example/3.png", "Relative": None, "Script": None}


def test_a_pages_og_image_is_read_when_absolute():
    from pipeline.stages.extract import page_image

    assert page_image(b'<html><head><meta property="og:image" content="https://cdn.example/a.jpg?w=1&amp;h=2">'
                      b'</head></html>') == "https://cdn.example/a.jpg?w=1&h=2"
    assert page_image(b"<head><meta content='https://cdn.example/b.jpg' name='twitter:image'></head>") == \
        "https://cdn.example/b.jpg"
    assert page_image(b'<head><meta property="og:image" content="/relative.jpg"></head>') is None
    assert page_image(b'<head><meta property="og:title" content="https://cdn.example/c.jpg"></head>') is None


def test_lead_images_show_in_the_html_digest_and_in_the_email_only_when_asked(site, tmp_path, seeds_dir, clock):
    """Through a run: the feed's thumbnail for one item, the page's og:image for another; the
    HTML digest shows both (linked, never inlined), the email none unless [email] images = true."""
    from smtp import SMTPServer

    from pipeline.app.deliver import deliver_due
    from pipeline.app.pipeline import run_once
    from pipeline.demo.server import Page
    from pipeline.demo.site import article_page

    page = article_page("Truce holds at the plant", "Pics", "2026-11-23",
                        ["A local ceasefire held overnight around the plant, officials said on Monday morning."] * 4)
    site.routes["/pics/2"] = Page(page.body.replace(b"<head>", b'<head><meta property="og:image" '
                                                                b'content="https://cdn.pics.example/og-2.jpg">'))
    site.routes["/pics/1"] = article_page("NATO observers visit Poltava farms", "Pics", "2026-11-23",
                                          ["NATO observers visited farms in Poltava this week as the sunflower harvest ended late."] * 4)
    rss = (IMAGES_RSS.split("<item>")[0] + "<item><title>NATO observers visit Poltava farms</title>"
           f"<link>{site.url('/pics/1')}</link><guid>1</guid><pubDate>Mon, 23 Nov 2026 05:00:00 GMT</pubDate>"
           '<media:thumbnail url="https://cdn.pics.example/1.jpg"/></item>'
           f"<item><title>Truce holds at the plant</title><link>{site.url('/pics/2')}</link><guid>2</guid>"
           "<pubDate>Mon, 23 Nov 2026 05:10:00 GMT</pubDate></item></channel></rss>")
    site.routes["/pics/rss.xml"] = Page(rss.encode(), content_type="application/rss+xml")
    with SMTPServer() as smtp:
        email = (f'\n[email]\nenabled = true\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\n'
                 'send_at = "07:00"\n[[email.recipients]]\naddress = "desk@example.org"\n')
        path = write_config(tmp_path, [("pics", site.url("/pics/rss.xml"))], extra=email)
        config = load_config(path)
        run_once(config, clock=clock, force=True)
        html = (config.digest_dir / "2026-11-23.html").read_text()
        assert '<img class="lead" src="https://cdn.pics.example/1.jpg"' in html
        assert '<img class="lead" src="https://cdn.pics.example/og-2.jpg"' in html
        assert "data:" not in html
        store = Store.open(config.database)
        try:
            deliver_due(store, config, clock(), config.labels)
        finally:
            store.close()
        mail = smtp.inbox.parsed()[0].get_body(("html",)).get_content()
        assert "NATO observers visit Poltava farms" in mail and "<img" not in mail   # off by default
        path.write_text(path.read_text().replace('send_at = "07:00"', 'send_at = "07:00"\nimages = true'))
        images_on = load_config(path)
        assert images_on.email.images and images_on.images
        from pipeline.app.report import digest_for
        from pipeline.stages.render import email_html
        store = Store.open(config.database)
        try:
            digest = digest_for(store, images_on, DAY, images_on.labels, clock(), cap=10)
        finally:
            store.close()
        from dataclasses import replace
        assert 'src="https://cdn.pics.example/1.jpg"' in email_html(replace(digest, images=True))


def test_a_schema_6_database_gets_its_image_column(tmp_path):
    import sqlite3

    from pipeline.storage.schema import SCHEMA_VERSION

    Store.open(tmp_path / "n.db").close()
    with sqlite3.connect(tmp_path / "n.db") as c:                 # as schema 6 left it
        c.execute("ALTER TABLE articles DROP COLUMN image")
        c.execute("INSERT INTO articles (id, identity, feed, title, text, first_seen, text_source, fingerprint) "
                  "VALUES ('x', 'url:x', 'f', 'Old', 'Text.', '2026-11-22T06:00:00+00:00', 'page', 'fp')")
        c.execute("PRAGMA user_version = 6")
    store = Store.open(tmp_path / "n.db")
    try:
        assert store.conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        [old] = store.articles_between(datetime(2026, 11, 22, tzinfo=timezone.utc), datetime(2026, 11, 23, tzinfo=timezone.utc))
        assert old.title == "Old" and old.image is None
    finally:
        store.close()
