"""The morning read (issue 24): a digest whose counts agree, feed health as the README defines
it, days outside the archive said so, and a future date refused.

The input is a real SQLite store written through Store, with topics flagged by the real matcher
and feed health moved by the real transition (stages/health.py); the digest is read back with
app/report.py and rendered by the real templates."""

from __future__ import annotations

import re
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
        assert re.search(r'<th>NATO</th><td>1 story,', html)
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
    (`failing_after`, the README's default) are."""
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
