"""Golden digests: a fixed input database -> the four digest files, compared byte for byte.

The input is built here through the Store, from records written for this test (no network, no
clock): three outlets, a story told twice the same day, a story that continues from the day
before, a follow-up of it, a copy of a seed, a flagged article per topic, a story flagged with two topics (listed under the other), a failing feed, a feed
read with a warning, a feed event, an alert sent and one still pending. After an intended change to
the digest, regenerate the expected files and review their diff:

    .venv/bin/python tests/golden.py --update
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from pipeline.app.report import digest_for  # noqa: E402
from pipeline.app.stories import refresh_story  # noqa: E402
from pipeline.config import parse_config  # noqa: E402
from pipeline.records import Article, FeedOutcome  # noqa: E402
from pipeline.stages.flag import TopicMatcher  # noqa: E402
from pipeline.stages.health import HealthPolicy, transition  # noqa: E402
from pipeline.stages.render import render  # noqa: E402
from pipeline.storage.store import Store, article_id  # noqa: E402

EXPECTED = HERE / "data" / "golden"
DAY = date(2026, 11, 23)
T = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)
FORMATS = ("html", "md", "txt", "json")
CONFIG = """
[storage]
database = "newsmon.db"
[digest]
directory = "reports"
timezone = "Europe/Kyiv"
[[feeds]]
name = "daily-a"
url = "https://daily-a.example/rss"
[[feeds]]
name = "wire-b"
url = "https://wire-b.example/atom"
[[feeds]]
name = "broken-c"
url = "https://broken-c.example/feed"
"""
ARTICLES = [
    ("daily-a", "https://daily-a.example/oslo", "Ministers meet in Oslo on air defence", 0,
     "Foreign ministers of NATO member states met in Oslo on Thursday to discuss air defence.\n"
     "The meeting produced a joint statement on interceptor missiles.", None, None),
    ("wire-b", "https://wire-b.example/oslo-copy", "Oslo: ministers discuss air defence", 1,
     "OSLO (Wire B) — Foreign ministers of NATO member states met in Oslo on Thursday to discuss air defence.\n"
     "The meeting produced a joint statement on interceptor missiles.", "story-of:0", 0.71),
    ("daily-a", "https://daily-a.example/truce", "Truce holds around the power plant", 2,
     "Officials said a local ceasefire around the plant held overnight, allowing engineers to reach it.", None, None),
    ("wire-b", "https://wire-b.example/harvest", "Sunflower harvest ends late", 3,
     "Farmers in the Poltava region finished harvesting sunflowers two weeks late, after rain.", None, None),
    ("wire-b", "https://wire-b.example/republished", "Ukraine reconsiders NATO membership", 4,
     "A republished seed article.", "seeds/004_896c57e66a8301f0.txt", 0.91),
    ("daily-a", "https://daily-a.example/talks-open", "Talks on a ceasefire open in Istanbul", -1440,
     "Delegations opened talks on a ceasefire in Istanbul on Sunday.", None, None),
    ("wire-b", "https://wire-b.example/talks-day-one", "Istanbul: first day of truce talks", 5,
     "ISTANBUL (Wire B) — The first round of ceasefire negotiations took place on Sunday.", "story-of:-1440", None),
    ("daily-a", "https://daily-a.example/talks-end", "Istanbul talks end without a deal", 6,
     "The talks on a ceasefire ended on Monday without an agreement.", "follows:-1440", None),
    ("wire-b", "https://wire-b.example/border", "Border territory handed back to the district", 7,
     "The territory was handed back on Monday. NATO observers attended.", None, None),
]


def build(folder: Path):
    """The input database in `folder`; returns (config, store)."""
    config = parse_config(CONFIG, folder / "newsmon.toml")
    store = Store.open(config.database)
    matcher = TopicMatcher(config.topics)
    run_id = store.start_run(T)
    ids = {}
    with store.transaction():
        for feed, url, title, minutes, text, link, similarity in ARTICLES:
            duplicate = link if link and link.startswith("seeds/") else None
            story = ids[int(link.split(":")[1])] if link and link.startswith("story-of:") else None
            follows = ids[int(link.split(":")[1])] if link and link.startswith("follows:") else None
            article = Article(identity=f"url:{url}", feed=feed, guid=None, url=url, canonical_url=url, title=title,
                              published=T - timedelta(hours=1, minutes=-minutes), text=text, text_source="page",
                              fingerprint=f"fp{minutes}", duplicate_of=duplicate, story_id=story,
                              similarity=similarity, matches=() if duplicate else matcher.match(title, text))
            store.insert_article(article, T + timedelta(minutes=minutes), run_id)
            ids[minutes] = article_id(article.identity)
            if duplicate is None:
                refresh_story(store, story or ids[minutes], follows)
    policy = HealthPolicy(15, 240, 3)
    outcomes = [FeedOutcome("daily-a", "https://daily-a.example/rss", "ok", new=2, title="Daily A"),
                FeedOutcome("wire-b", "https://wire-b.example/atom", "ok", new=3, title="Wire B",
                            warning="ill-formed XML at line 40 (mismatched tag): 3 item(s) read; "
                                    "items after it may be missing"),
                FeedOutcome("broken-c", "https://broken-c.example/feed", "error", error="HTTP 503 Service Unavailable")]
    for o in outcomes:
        state = store.ensure_feed(o.name, o.url)
        for _ in range(3 if o.status == "error" else 1):   # three failures: listed as failing
            change = transition(state, o, T, policy)
            with store.transaction():
                store.save_feed(run_id, o, change, T)
            state = change.state
    store.finish_run(run_id, T, tuple(outcomes))
    with store.transaction():
        for n, (channel, status) in enumerate((("desk-slack", "sent"), ("duty-ntfy", "pending"))):
            store.queue_message(channel, "alert", ids[2], "Alert: Truce holds around the power plant [Ceasefire]",
                                "Truce holds around the power plant", T)
            error = None if status == "sent" else "channel duty-ntfy: A Connection error occurred"
            store.mark_message(n + 1, status, T, error, next_try=None if status == "sent" else T)
    return config, store


def rendered(folder: Path) -> dict[str, str]:
    config, store = build(folder)
    try:
        digest = digest_for(store, config, DAY, config.labels, T + timedelta(hours=2))
    finally:
        store.close()
    return {fmt: render(digest, fmt) for fmt in FORMATS}


if __name__ == "__main__" and "--update" in sys.argv:
    import tempfile

    EXPECTED.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, text in rendered(Path(tmp)).items():
            (EXPECTED / f"{DAY}.{fmt}").write_text(text, encoding="utf-8")
            print(f"wrote {EXPECTED / f'{DAY}.{fmt}'}")
