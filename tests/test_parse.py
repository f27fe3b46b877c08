from datetime import datetime, timezone
from pathlib import Path

import pytest

from pipeline.errors import NotAFeed
from pipeline.records import Response
from pipeline.stages.parse import parse_feed

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def parse(body: bytes, headers=None, url="http://feeds.example/rss.xml"):
    headers = headers or {"content-type": "application/rss+xml; charset=utf-8"}
    return parse_feed("f", Response(url, 200, headers, body), max_items=100, now=NOW)


RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T &amp; Co</title>
<item><title>One</title><link>/one</link><guid>g1</guid><pubDate>Mon, 23 Nov 2026 06:00:00 GMT</pubDate>
<description>&lt;p&gt;Body&lt;/p&gt;</description></item>
<item><title>Future</title><link>http://feeds.example/two</link><pubDate>Mon, 23 Nov 2099 06:00:00 GMT</pubDate></item>
<item><title>Bad link</title><link>javascript:alert(1)</link><guid>g3</guid></item>
</channel></rss>"""


def test_entries_are_plain_records_with_safe_links_and_utc_dates():
    feed = parse(RSS)
    assert feed.title == "T & Co" and feed.warning is None
    one, future, bad = feed.entries
    # an RSS guid is a permalink unless it says otherwise, so feedparser resolves it like a link
    assert (one.guid, one.link, one.title) == ("http://feeds.example/g1", "http://feeds.example/one", "One")
    assert one.published == datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)
    assert "Body" in one.content_html
    assert future.published is None          # impossible date: first-seen time decides instead
    assert bad.link is None


def test_ill_formed_but_usable_feed_is_kept_with_a_warning():
    feed = parse(RSS.replace(b"</channel></rss>", b"<item><title>Unclosed & raw</title><link>http://x.example/3</link></item>"))
    assert len(feed.entries) == 4 and feed.warning


@pytest.mark.parametrize("body, words", [
    (b"<!DOCTYPE html><html><body><p>Hello</p></body></html>", "not a feed"),
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a feed"),
    (b"   ", "empty response body"),
    (b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>Cut', "broken feed"),
])
def test_non_feeds_are_errors(body, words):
    with pytest.raises(NotAFeed, match=words):
        parse(body)


def test_a_body_that_is_a_path_is_not_read_as_a_file(tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_text('<rss version="2.0"><channel><item><title>SECRET</title><link>http://s/</link></item></channel></rss>')
    with pytest.raises(NotAFeed):
        parse(str(secret).encode())


def test_item_cap_takes_the_first_entries():
    items = b"".join(b"<item><title>n%d</title><link>http://x.example/%d</link></item>" % (i, i) for i in range(30))
    feed = parse_feed("f", Response("http://x.example/f", 200, {}, b'<rss version="2.0"><channel>' + items + b"</channel></rss>"),
                      max_items=10, now=NOW)
    assert [e.title for e in feed.entries] == [f"n{i}" for i in range(10)]


BASES = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
<entry><id>e1</id><title>Relative id</title><link href="p/1"/></entry>
<entry xml:base="http://mirror.example/sub/"><id>e2</id><title>Own base</title><link href="p/2"/></entry>
<entry><id>tag:a.example,2026:3</id><title>Tag id</title><link href="http://a.example/3"/></entry>
</feed>"""


@pytest.mark.parametrize("headers, base", [
    ({"content-type": "application/atom+xml"}, "http://feeds.example/"),
    ({"content-type": "application/atom+xml", "content-location": "http://cdn.example/x/atom"}, "http://cdn.example/x/"),
])
def test_ids_and_links_resolve_against_the_document_base_and_xml_base(headers, base):
    """Stored ids are identities: relative ones resolve as feedparser resolves them (against the
    server's Content-Location, else the feed URL; an entry's xml:base wins), and an RSS guid that
    says isPermaLink="false" stays as written. Parsing twice shows the memoised URL joins
    (parse._feedparser) keep every document's own base."""
    for _ in range(2):
        first, second, third = parse(BASES, headers).entries
        assert (first.guid, first.link) == (base + "e1", base + "p/1")
        assert (second.guid, second.link) == ("http://mirror.example/sub/e2", "http://mirror.example/sub/p/2")
        assert third.guid == "tag:a.example,2026:3"
    rss = RSS.replace(b"<guid>g1</guid>", b'<guid isPermaLink="false">g1</guid>')
    assert parse(rss).entries[0].guid == "g1"


CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "feedparser"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpora/feedparser is absent")
def test_memoised_url_joins_change_no_entry_of_the_corpus_feeds():
    import feedparser.mixin

    from pipeline.stages.parse import _feedparser

    def read_all():
        out = []
        for path in sorted(p for p in CORPUS.rglob("*.xml")):
            try:
                feed = parse(path.read_bytes(), {"content-type": "application/xml"},
                             url=f"http://feeds.example/{path.parent.name}/{path.name}")
                out.append([(e.guid, e.link, e.title) for e in feed.entries])
            except NotAFeed as e:
                out.append(str(e))
        return out

    _feedparser()
    memoised = read_all()
    names = ("make_safe_absolute_uri", "_urljoin")
    originals = {name: getattr(feedparser.mixin, name) for name in names}
    assert all(hasattr(f, "cache_info") for f in originals.values())
    try:
        for name, function in originals.items():
            setattr(feedparser.mixin, name, function.__wrapped__)
        plain = read_all()
    finally:
        for name, function in originals.items():
            setattr(feedparser.mixin, name, function)
    assert len(plain) > 1000 and memoised == plain


def test_an_items_language_is_its_own_xml_lang_else_its_feeds_kept_as_the_primary_subtag():
    from pipeline.stages.language import language_code, page_language

    rss = parse(b'<rss version="2.0"><channel><title>t</title><language>en-GB</language>'
                b'<item><title>a</title><link>http://x.example/a</link></item></channel></rss>')
    assert [e.language for e in rss.entries] == ["en"]
    atom = parse(b'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr"><title>t</title><id>t</id>'
                 b'<entry xml:lang="de-AT"><title>b</title><id>b</id><link href="http://x.example/b"/></entry>'
                 b'<entry><title>c</title><id>c</id><link href="http://x.example/c"/></entry></feed>')
    assert [e.language for e in atom.entries] == ["de", "fr"]
    none = parse(b'<rss version="2.0"><channel><title>t</title><item><title>a</title>'
                 b'<link>http://x.example/a</link></item></channel></rss>')
    assert [e.language for e in none.entries] == [None]
    assert [language_code(v) for v in ("EN-us", "pt_BR", "x-default", "english", "", None)] == \
        ["en", "pt", None, None, None, None]
    assert page_language(b'<!doctype html><html class="x" lang="uk-UA"><head>') == "uk"
    assert page_language(b"<html><head><title>none</title>") is None
