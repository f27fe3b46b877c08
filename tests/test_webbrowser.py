"""A desk's morning in a real headless Chromium (Debian's, driven by Playwright) against the real
`newsmon web` with users, on loopback: sign in (a wrong password first), Today, filter by topic,
a story, mark it read, search and save the search, the saved search's private feed, a cross-site
form refused, sign out. Skips where there is no browser or Playwright, except in CI (CI set)."""

from __future__ import annotations

import os
import shutil

import feedparser
import pytest
import test_webauth
from test_web import DAY
from test_webauth import PASSWORD

from pipeline.demo.server import Page

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


desk, people = test_webauth.desk, test_webauth.people      # the fixtures: a real run's archive, the server with users


def submit(page, selector: str) -> None:
    """Click a link or a form's button and wait for the page it leads to."""
    with page.expect_navigation():
        page.click(selector)


@pytest.fixture
def browser():
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        binary = None
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("CI: chromium or playwright is missing (apt-get install -y chromium; pip install -e '.[test]')")
        pytest.skip("no chromium or playwright here (apt-get install -y chromium; pip install -e '.[test]')")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=binary, args=ARGS)   # never `playwright install`
        try:
            yield chromium
        finally:
            chromium.close()


def test_a_desk_signs_in_reads_marks_saves_a_search_follows_its_feed_and_signs_out(desk, people, browser, site):
    base = people.base
    truce = desk.story_of("Local ceasefire%")
    page = browser.new_context().new_page()
    problems: list[str] = []
    refused: set[tuple[int, str]] = set()
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning")
            and not m.text.startswith("Failed to load resource") else None)     # (those are in `refused`)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: refused.add((r.status, r.url.split("?")[0])) if r.status >= 400 else None)

    page.goto(f"{base}/?date={DAY}")
    assert page.url.startswith(f"{base}/login?next=")                   # every page needs a user
    page.fill("input[name=name]", "ann")
    page.fill("input[name=password]", "not her password")
    submit(page, "button[type=submit]")
    assert page.locator("p.error").inner_text() == "Wrong name or password."
    page.fill("input[name=password]", PASSWORD)
    submit(page, "form.signin button[type=submit]")
    assert page.url == f"{base}/?date={DAY}" and page.locator("span.who").inner_text() == "ann"

    page.select_option("select[name=topic]", "ceasefire")               # filter by topic
    submit(page, "form.filters button[type=submit]")
    assert "topic=ceasefire" in page.url
    shown = [a.get_attribute("href") for a in page.locator("li.story a.title").all()]
    assert shown == [f"/story/{truce}", f"/story/{desk.story_of('Ceasefire talks%')}"]   # the rail story is not
    submit(page, f"li.story a[href='/story/{truce}']")                      # a story
    assert page.url == f"{base}/story/{truce}" and page.locator("li.report").count() == 2
    submit(page, "button:has-text('Mark read')")
    assert page.url == f"{base}/story/{truce}" and page.locator("button:has-text('Mark unread')").count() == 1
    assert desk.sql("SELECT user, story_id FROM reads") == [("ann", truce)]
    page.goto(f"{base}/?date={DAY}")
    assert [a.get_attribute("href") for a in page.locator("li.story.read a.title").all()] == [f"/story/{truce}"]

    submit(page, "nav >> text=Search")                                    # search, and save it
    page.fill("input[name=q]", "ceasefire")
    submit(page, "form.filters button:has-text('Search')")
    assert "3 results" in page.content()
    page.fill("form.save-search input[name=name]", "Truce watch")
    submit(page, "button:has-text('Save this search')")
    assert page.url == f"{base}/mine#saved" and page.locator("tr.saved-search").count() == 1
    feed_url = page.locator("tr.saved-search a.feed").get_attribute("href")

    reader = browser.new_context()                                     # a feed reader: no session
    answer = reader.request.get(feed_url)
    assert answer.status == 200 and answer.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(answer.body())
    assert not parsed.bozo and len(parsed.entries) == 2 and parsed.feed.title == "newsmon search: ceasefire"
    assert reader.request.get(feed_url.split("?")[0]).status == 401    # without its key: nothing
    reader.close()

    # another site (another loopback port) posts a form at the server, in her browser, signed in
    site.routes["/attack.html"] = Page(
        f'<form method="post" action="{base}/story/{truce}/mark"><input type="hidden" name="what" value="unread">'
        '<button type="submit">Win a prize</button></form>'.encode())
    page.goto(site.url("/attack.html"))
    submit(page, "text=Win a prize")
    assert page.url == f"{base}/story/{truce}/mark"
    assert "Refused: this form was not sent from newsmon's own pages" in page.locator("p.error").inner_text()
    assert desk.sql("SELECT user, story_id FROM reads") == [("ann", truce)]      # still read: nothing changed

    page.goto(f"{base}/mine")
    submit(page, "button:has-text('Sign out')")                            # sign out
    assert page.url == f"{base}/login"
    page.goto(f"{base}/?date={DAY}")
    assert page.url.startswith(f"{base}/login?next=")
    assert desk.sql("SELECT count(*) FROM sessions") == [(0,)]
    assert problems == []                                                # no CSP violation, no script error
    assert refused <= {(401, f"{base}/login"), (403, f"{base}/story/{truce}/mark"), (404, f"{base}/favicon.ico")}


def test_the_fuzzers_hostile_feeds_are_inert_on_every_page(browser, site, tmp_path, seeds_dir, clock):
    """Feeds made of the fuzzer's hostile pieces (tests/test_fuzz.py: control and bidi characters,
    entities, markup, script and image tags with handlers, javascript:/data: links), in titles,
    texts, links and the feed's own name, stored by a real run; then every page of `newsmon web`
    in a real Chromium: no script, image, frame or handler attribute the feeds carried, no
    javascript: link, and nothing on the console (the Content-Security-Policy would log any
    injected script it refused)."""
    import html

    from conftest import write_config
    from test_fuzz import HOSTILE_BITS, HOSTILE_LINKS
    from test_web import Web

    from pipeline.app.pipeline import run_once
    from pipeline.config import load_config
    from pipeline.demo.site import FeedItem, article_page, rss_feed

    bits = [b for b in HOSTILE_BITS if len(b) < 100]
    items = []
    for i in range(12):
        title = "Ceasefire " + "".join(bits[(i * 5 + k) % len(bits)] for k in range(5))
        words = [bits[(i * 3 + k) % len(bits)] + f" ceasefire talks in town{i} word{k}." for k in range(30)]
        path = f"/hostile/{i}"
        site.routes[path] = article_page(title, "<script>alert(6)</script>", DAY, [" ".join(words[:15]),
                                                                                  " ".join(words[15:])])
        link = site.url(path) if i % 2 else HOSTILE_LINKS[i % len(HOSTILE_LINKS)]
        items.append(FeedItem(title, link, f"g{i}<script>", f"{DAY}T0{i % 8}:00:00Z", " ".join(words),
                              content_html=f"<p>{html.escape(' '.join(words))}</p><script>alert(2)</script>"
                                           "<img src=x onerror=alert(3)><iframe src=javascript:alert(4)></iframe>"))
    site.routes["/hostile.xml"] = rss_feed('<img src=x onerror=alert(5)> "feed"', "javascript:alert(7)", items)
    config = load_config(write_config(tmp_path, [("hostile", site.url("/hostile.xml"))]))
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:          # (Playwright's sync API holds this thread's event loop)
        pool.submit(run_once, config, clock=clock, force=True).result()
    web = Web(config)
    try:
        stories = [s["story_id"] for s in web.api(f"/api/v1/today?date={DAY}")["stories"]]
        assert stories
        paths = [f"/?date={DAY}", f"/?date={DAY}&topic=ceasefire", "/search?q=ceasefire", "/days", "/feeds",
                 "/alerts", f"/digests/{DAY}.html"] + [f"/story/{s}" for s in stories]
        page = browser.new_context().new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(f"{page.url}: {m.text}")
                if not m.text.startswith("Failed to load resource") else None)     # (those: below)
        page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
        for path in paths:
            response = page.goto(web.base + path)
            assert response is not None and response.status == 200, path
            injected = page.evaluate("""() => [...document.querySelectorAll('*')].filter(e =>
                ['SCRIPT', 'IMG', 'IFRAME', 'OBJECT', 'EMBED', 'SVG', 'svg'].includes(e.tagName)
                || [...e.attributes].some(a => a.name.startsWith('on')
                || /^\\s*(javascript|data):/i.test(a.value) && ['href', 'src', 'action'].includes(a.name))
            ).map(e => e.outerHTML.slice(0, 200))""")
            assert injected == [], (path, injected)
            assert "ceasefire" in page.content().lower() or path in ("/feeds", "/alerts", "/days"), path
        assert problems == []
    finally:
        web.stop()
