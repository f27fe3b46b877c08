"""Story clustering: quality on the labelled set, the signals compared, and cost at archive scale.

    python -m bench stories [--set FILE] [--archive 100000] [--new 1000] [--orders 20]

--set scores another labelled file in the same format (tests/data/stories/dev.txt says how).

Quality: BCubed precision/recall/F1 of the story stage on tests/data/stories/dev.txt (reports in
published order, and the worst of --orders shuffled arrival orders), the hard-negative pairs it
merged, the follow-ups it linked, and the same for simpler signals (near-duplicate grouping,
terms only, names only, no vetoes) so the choice is visible. Cross-lingual: whether each report
not in English joined its event. Cost: a SQLite archive of --archive generated articles over 60
days, the window loaded from it as a run does, then --new reports assigned and added (ms each).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.app.stories import open_story_index
from pipeline.stages import stories as stage
from pipeline.stages.dedup import NEAR_THRESHOLD, jaccard, shingles
from pipeline.stages.profile import PROFILE_VERSION, profile_of
from pipeline.storage.store import Store, iso

from .common import rss_mb, save, table
from .storyset import StorySet, bcubed, hard_merges, load, within_event_jaccard

ZONE = ZoneInfo("Europe/Kyiv")


def assign_all(reports, index_factory=lambda: stage.StoryIndex(ZONE)) -> tuple[dict[str, str], dict[str, str]]:
    """(report -> story, report -> story it follows up) with reports arriving in this order."""
    index, stories, follows = index_factory(), {}, {}
    for r in reports:
        profile = profile_of(r.title, r.text)
        found = index.assign(profile, r.published, r.outlet)
        stories[r.id] = found.story_id or r.id
        if found.follow_up_of:
            follows[r.id] = found.follow_up_of
        index.add(r.id, stories[r.id], r.outlet, r.published, profile)
    return stories, follows


def near_duplicates_only(reports) -> dict[str, str]:
    """What newsmon grouped before stories: texts at word-3-shingle Jaccard >= NEAR_THRESHOLD."""
    out, seen = {}, []
    for r in reports:
        grams = shingles(r.title + "\n" + r.text)
        match = next((sid for sid, g in seen if jaccard(grams, g) >= NEAR_THRESHOLD), None)
        out[r.id] = match or r.id
        seen.append((out[r.id], grams))
    return out


def quality(stories: StorySet, orders: int) -> dict:
    reports = sorted(stories.reports, key=lambda r: r.published)
    truth = {r.id: r.event for r in reports}
    predicted, follows = assign_all(reports)
    p, r, f1 = bcubed(truth, predicted)
    first = {}
    for rep in reports:
        first.setdefault(rep.event, predicted[rep.id])
    linked = sum(any(first[earlier] == follows.get(x.id) for x in reports if x.event == event)
                 for event, earlier in stories.follows.items())
    event_of_story = {predicted[r.id]: r.event for r in reports}
    wrong = sum(1 for r in reports if r.id in follows
                and stories.follows.get(r.event) != event_of_story.get(follows[r.id]))
    worst = 1.0
    for seed in range(orders):
        rng = random.Random(seed)
        order = sorted(reports, key=lambda x: x.published.timestamp() + rng.uniform(0, 6 * 3600))
        shuffled, _ = assign_all(order)
        worst = min(worst, bcubed(truth, shuffled)[2])
        if hard_merges(stories, shuffled):
            worst = -1.0
    return {"precision": p, "recall": r, "f1": f1, "hard_merges": hard_merges(stories, predicted),
            "follow_ups_linked": f"{linked}/{len(stories.follows)}", "follow_ups_wrong": wrong,
            "worst_order_f1": worst,
            "stories": len(set(predicted.values())), "events": len(stories.events)}


def variants(stories: StorySet, orders: int) -> list[tuple[str, float, float, float, float, int]]:
    """The signals compared: (name, P, R, F1 in published order, worst F1 over `orders` shuffled
    arrival orders, the most hard-negative pairs merged in any of them)."""
    reports = sorted(stories.reports, key=lambda r: r.published)
    truth = {r.id: r.event for r in reports}
    shuffles = [sorted(reports, key=lambda x, rng=random.Random(seed): x.published.timestamp()
                       + rng.uniform(0, 6 * 3600)) for seed in range(orders)]
    out = []

    def row(name, method):
        p, r, f1 = bcubed(truth, method(reports))
        runs = [method(order) for order in shuffles]
        out.append((name, p, r, f1, min(bcubed(truth, x)[2] for x in runs),
                    max(len(hard_merges(stories, x)) for x in runs)))

    row("near-duplicates only (before stories)", near_duplicates_only)
    saved = (stage.TERM_WEIGHT, stage.ENTITY_WEIGHT, stage.conflict)
    try:
        stage.TERM_WEIGHT, stage.ENTITY_WEIGHT = 1.0, 0.0
        row("terms only (title + lead, IDF)", lambda rs: assign_all(rs)[0])
        stage.TERM_WEIGHT, stage.ENTITY_WEIGHT = 0.0, 1.0
        row("names and numbers only", lambda rs: assign_all(rs)[0])
        stage.TERM_WEIGHT, stage.ENTITY_WEIGHT = saved[0], saved[1]
        stage.conflict = lambda *a: None
        row("terms + names, no vetoes", lambda rs: assign_all(rs)[0])
    finally:
        stage.TERM_WEIGHT, stage.ENTITY_WEIGHT, stage.conflict = saved
    row("newsmon (terms + names + vetoes)", lambda rs: assign_all(rs)[0])
    return out


def cross_lingual(stories: StorySet) -> list[tuple[str, str]]:
    """Each report not in English, added after the English ones: did it join its event?"""
    english = sorted(stories.english().reports, key=lambda r: r.published)
    predicted, _ = assign_all(english)
    index = stage.StoryIndex(ZONE)
    for r in english:
        index.add(r.id, predicted[r.id], r.outlet, r.published, profile_of(r.title, r.text))
    out = []
    for r in stories.reports:
        if r.lang == "en":
            continue
        found = index.assign(profile_of(r.title, r.text), r.published, r.outlet)
        joined = found.story_id is not None and any(predicted[x.id] == found.story_id for x in english
                                                     if x.event == r.event)
        out.append((f"{r.lang}: {r.title[:50]}", ("joined its event" if joined else "not joined")
                    + f" (score {found.score:.2f})"))
    return out


# --- cost at archive scale ---------------------------------------------------------------------------

_SYLLABLES = "ka ra no vi len ko shev dan yl hor tka chuk sav lys mar bon mel ny zap od es dni khar pol ta riv".split()


class SyntheticNews:
    """News-like reports: names from 26^3 syllable combinations and words from a 30,000-word
    vocabulary, both Zipf-distributed (a few names and words everywhere, most rare); every
    fifth report retells an earlier one with its names and numbers (another outlet's account)."""

    def __init__(self, seed: int = 7):
        from .common import TextGenerator

        self.words = TextGenerator(seed=seed)
        self.rng = self.words.rng
        self.recent: list[tuple[list[str], int]] = []

    def name(self) -> str:
        k = min(int(self.rng.zipf(1.2)), 26 ** 3) - 1
        a, b, c = k % 26, (k // 26) % 26, k // 676
        return (_SYLLABLES[a] + _SYLLABLES[b] + _SYLLABLES[c]).capitalize()

    def report(self) -> tuple[str, str]:
        if self.recent and self.rng.random() < 0.2:
            names, figure = self.recent[int(self.rng.integers(0, len(self.recent)))]
        else:
            names, figure = [self.name() for _ in range(4)], int(self.rng.integers(3, 900))
            self.recent = (self.recent + [(names, figure)])[-200:]
        words = self.words.text(120).split()
        title = f"{names[0]} {' '.join(words[:4])} in {names[1]}"
        lead = (f"{' '.join(words[4:30])} in {names[1]} on Monday, {names[2]} said. {' '.join(words[30:70])} "
                f"{figure} {words[70]}, {names[3]} {' '.join(words[71:120])}.")
        return title, lead


def cost(archive: int, new: int) -> dict:
    news = SyntheticNews()
    now = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
    span = timedelta(days=60)
    figures: dict = {"archive": archive}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "bench.db")
        batch, profiles = [], []
        start = time.perf_counter()
        for i in range(archive):
            title, text = news.report()
            seen = now - span + span * (i / archive)
            aid = f"a{i:07d}"
            batch.append({"id": aid, "identity": f"url:https://bench.example/{i}", "feed": f"feed{i % 50}",
                          "url": f"https://bench.example/{i}", "title": title, "first_seen": iso(seen),
                          "published": iso(seen), "text": text, "text_source": "page", "fingerprint": aid,
                          "story_id": aid, "topics": "[]"})
            profiles.append((aid, PROFILE_VERSION, profile_of(title, text).to_json()))
            if len(batch) == 5000 or i == archive - 1:
                with store.transaction():
                    store.db["articles"].insert_all(batch)
                    store.save_profiles(profiles)
                batch, profiles = [], []
        figures["fill_seconds"] = time.perf_counter() - start
        before = rss_mb()
        start = time.perf_counter()
        index = open_story_index(store, ZONE, now)
        figures["window_load_seconds"] = time.perf_counter() - start
        figures["window_articles"] = len(index)
        figures["window_memory_mb"] = rss_mb() - before
        texts = [news.report() for _ in range(new)]
        start = time.perf_counter()
        made = [profile_of(t, x) for t, x in texts]
        figures["profile_ms"] = (time.perf_counter() - start) / new * 1000
        start = time.perf_counter()
        joined = 0
        for i, profile in enumerate(made):
            when = now + timedelta(seconds=i)
            found = index.assign(profile, when, f"feed{i % 50}")
            joined += found.story_id is not None
            index.add(f"n{i}", found.story_id or f"n{i}", f"feed{i % 50}", when, profile)
        figures["assign_ms"] = (time.perf_counter() - start) / new * 1000
        figures["joined_share"] = joined / new
        store.close()
    return figures


def run(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench stories")
    parser.add_argument("--archive", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--set", type=Path, default=None, help="a labelled file in the dev set's format")
    args = parser.parse_args(argv)
    stories = load(args.set) if args.set else load()
    english = stories.english()
    q = quality(english, args.orders)
    table(f"Stories on the labelled set ({len(english.reports)} reports, {q['events']} events, "
          f"{len(english.outlets)} outlets)", [
        ("BCubed precision", f"{q['precision']:.3f}"), ("BCubed recall", f"{q['recall']:.3f}"),
        ("BCubed F1", f"{q['f1']:.3f}"), ("stories formed", str(q["stories"])),
        ("hard-negative pairs merged", ", ".join(" + ".join(p) for p in q["hard_merges"]) or "none"),
        ("follow-ups linked", q["follow_ups_linked"]),
        ("reports linked as a follow-up of another event", str(q["follow_ups_wrong"])),
        (f"worst F1 over {args.orders} arrival orders", "a hard merge" if q["worst_order_f1"] < 0
         else f"{q['worst_order_f1']:.3f}"),
        ("max within-event Jaccard (not copies)", f"{within_event_jaccard(stories, shingles):.3f}")])
    compared = variants(english, args.orders)
    table(f"Signals compared (P / R / F1 in published order; worst F1 and most hard-negative pairs merged "
          f"over {args.orders} arrival orders)",
          [(name, f"{p:.3f} / {r:.3f} / {f1:.3f};  {worst:.3f}, {m}") for name, p, r, f1, worst, m in compared])
    lingual = cross_lingual(stories)
    if lingual:
        table("Cross-lingual (transliterated names; no embedding model)", lingual)
    c = cost(args.archive, args.new)
    table(f"Cost with {c['archive']:,} stored articles", [
        ("archive filled in", f"{c['fill_seconds']:.1f} s"),
        ("window loaded (articles, seconds, MB)", f"{c['window_articles']:,}, {c['window_load_seconds']:.2f} s, "
                                                  f"{c['window_memory_mb']:.0f} MB"),
        ("profile per article (extraction worker)", f"{c['profile_ms']:.2f} ms"),
        ("assign + add per article (run)", f"{c['assign_ms']:.2f} ms"),
        ("new articles that joined a story", f"{c['joined_share']:.0%}")])
    figures = {**{k: v for k, v in q.items() if k != "hard_merges"}, "hard_merges": len(q["hard_merges"]),
               "variants": {name: {"precision": p, "recall": r, "f1": f1, "worst_order_f1": worst,
                                   "most_hard_merges": m} for name, p, r, f1, worst, m in compared},
               "cross_lingual": dict(lingual), "cost": c}
    save("stories", figures)
    return figures


