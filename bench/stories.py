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
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.app.stories import open_story_index
from pipeline.stages import stories as stage
from pipeline.stages.dedup import NEAR_THRESHOLD, jaccard, shingles
from pipeline.stages.profile import PROFILE_VERSION, profile_of
from pipeline.storage.store import Store, iso

from .common import rss_mb, save, table
from .storyset import DEV_SET, StorySet, bcubed, hard_merges, load, within_event_jaccard

ZONE = ZoneInfo("Europe/Kyiv")


# The semantic backend the figures are taken with (`--embeddings DIR`), None: the default install.
EMBEDDER = None


def profile_for(r):
    """A report's profile as a run makes it, with its sentence vector when a backend is set."""
    profile = profile_of(r.title, r.text)
    return replace(profile, vector=EMBEDDER.vector(r.title, r.text)) if EMBEDDER is not None else profile


def new_index() -> stage.StoryIndex:
    return stage.StoryIndex(ZONE, stage.semantic_model(EMBEDDER.path) if EMBEDDER else stage.default_model())


def assign_all(reports, index_factory=new_index) -> tuple[dict[str, str], dict[str, str]]:
    """(report -> story, report -> story it follows up) with reports arriving in this order."""
    index, stories, follows = index_factory(), {}, {}
    for r in reports:
        profile = profile_for(r)
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


def baselines(stories: StorySet) -> list[tuple[str, float, float, float, int]]:
    """The named baselines on our set, published order: (name, P, R, F1, hard-negative pairs merged)."""
    from . import realsets

    reports = sorted(stories.reports, key=lambda r: r.published)
    truth = {r.id: r.event for r in reports}
    out = []
    for name, predicted in (("every report alone", realsets.alone(reports)),
                            ("exact title", realsets.exact_title(reports)),
                            ("NewsBlur title rule", realsets.newsblur(reports)),
                            ("near-duplicates only (before stories)", near_duplicates_only(reports)),
                            (f"TF-IDF single pass ({TFIDF_OURS})", realsets.tfidf_single_pass(reports, TFIDF_OURS))):
        out.append((name, *bcubed(truth, predicted), len(hard_merges(stories, predicted))))
    return out


TFIDF_OURS = 0.3          # the TF-IDF baseline's threshold on our sets (chosen on the real D windows)


def cross_lingual(stories: StorySet) -> list[tuple[str, str]]:
    """Each report not in English, added after the English ones: did it join its event?"""
    english = sorted(stories.english().reports, key=lambda r: r.published)
    predicted, _ = assign_all(english)
    index = new_index()
    for r in english:
        index.add(r.id, predicted[r.id], r.outlet, r.published, profile_for(r))
    out = []
    for r in stories.reports:
        if r.lang == "en":
            continue
        found = index.assign(profile_for(r), r.published, r.outlet)
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
        index = open_story_index(store, ZONE, now, EMBEDDER)
        figures["window_load_seconds"] = time.perf_counter() - start
        figures["window_articles"] = len(index)
        figures["window_memory_mb"] = rss_mb() - before
        texts = [news.report() for _ in range(new)]
        start = time.perf_counter()
        made = [profile_of(t, x) for t, x in texts]
        figures["profile_ms"] = (time.perf_counter() - start) / new * 1000
        if EMBEDDER is not None:       # the backend's part: a sentence vector per report
            start = time.perf_counter()
            made = [replace(p, vector=EMBEDDER.vector(t, x)) for p, (t, x) in zip(made, texts)]
            figures["vector_ms"] = (time.perf_counter() - start) / new * 1000
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


TFIDF_GRID = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7)


def real_sets(model: stage.StoryModel) -> tuple[list[tuple[str, list[tuple[str, str]]]], dict]:
    """Every window of both real sets: newsmon and the baselines on the same stream. The TF-IDF
    threshold is the best on the set's D1 window; "TF-IDF at newsmon's precision" is the lowest
    threshold whose precision reaches newsmon's on that window (the comparison at equal precision)."""
    from . import realsets

    tables, figures = [], {}
    for windows, scorings in ((realsets.fulltext_windows(), ("all reports", "incidents with >= 2 reports")),
                              (realsets.headline_windows(), ("against STORY", "against EVENT"))):
        chosen = None
        for window in windows:
            reports = window.reports
            story = {r.id: r.event for r in reports}
            if window.folded:
                scored = [(scorings[0], story, None), (scorings[1], window.folded, None)]
            else:
                scored = [(scorings[0], story, None), (scorings[1], story, realsets.multi_report(reports))]
            start = time.perf_counter()
            ours = dict(stage.group(reports, ZONE, model, embedder=EMBEDDER))
            ms = (time.perf_counter() - start) / len(reports) * 1000
            tfidf = realsets.tfidf_thresholds(reports, list(TFIDF_GRID))
            if chosen is None:      # the first window is D1: the baseline's threshold is chosen there
                chosen = max(TFIDF_GRID, key=lambda t: bcubed(*scored[-1][1:2], tfidf[t], scored[-1][2])[2])
            rows = []
            for label, truth, over in scored:
                mine = bcubed(truth, ours, over)
                equal = next((t for t in TFIDF_GRID if bcubed(truth, tfidf[t], over)[0] >= mine[0]),
                             TFIDF_GRID[-1])
                methods = [("newsmon", ours), ("every report alone", realsets.alone(reports)),
                           ("exact title", realsets.exact_title(reports)),
                           ("NewsBlur title rule", realsets.newsblur(reports)),
                           (f"TF-IDF single pass ({chosen}, chosen on D1)", tfidf[chosen]),
                           (f"TF-IDF at newsmon's precision ({equal})", tfidf[equal])]
                for name, predicted in methods:
                    p, r, f1 = bcubed(truth, predicted, over)
                    rows.append((f"{label}: {name}", f"{p:.3f} / {r:.3f} / {f1:.3f}"))
                    figures.setdefault(window.name, {}).setdefault(label, {})[name.split(" (")[0]] = \
                        {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4)}
            kind = "tuning" if window.tuning else "VALIDATION (never tuned on)"
            tables.append((f"{window.name} ({kind}): {len(reports):,} reports, {len(set(story.values())):,} "
                           f"labels; BCubed P / R / F1; newsmon {ms:.2f} ms per report", rows))
    return tables, figures


def refit(log=print, out: Path | None = None) -> stage.StoryModel:
    """Refit story_model.json on the D windows of both real sets and our dev set (check.txt stays
    out: it is the held-out set of ours). With a backend (EMBEDDER), the semantic cosine is
    fitted too and the model saved to `out` (default: story_model_semantic.json)."""
    from . import realsets
    from .storyfit import HARD_NEGATIVE, fit

    if not realsets.available():
        raise SystemExit(f"the real sets are not in {realsets.CORPORA}: nothing to fit on")
    ours = load().english()
    dev = sorted(ours.reports, key=lambda r: r.published)
    tuning = [("ours", "our dev set", dev, {r.id: r.event for r in dev}, None)]
    for window in realsets.fulltext_windows() + realsets.headline_windows():
        if window.tuning:
            kind = "headlines" if window.folded else "full text"
            truth = window.folded or {r.id: r.event for r in window.reports}
            over = None if window.folded else realsets.multi_report(window.reports)
            tuning.append((kind, window.name, window.reports, truth, over))
    log("Fitting the story model on the tuning sets" + (f" with embeddings from {EMBEDDER.path}:" if EMBEDDER else ":"))
    profiles = {r.id: profile_for(r) for _, _, reports, _, _ in tuning for r in reports} if EMBEDDER else {}
    model = fit(tuning, ZONE, profiles, log, apart=ours.apart)
    fitted = {"on": [name for _, name, *_ in tuning], "by": "python -m bench stories --fit",
              "method": "L2 logistic regression (IRLS) on the pairs the stage compares, our set's hand-labelled "
                        f"hard negatives (apart) weighing {HARD_NEGATIVE:g} times its other pairs; join threshold "
                        "and vetoes chosen on the same tuning sets"}
    if EMBEDDER is not None:
        fitted["embeddings"] = f"{EMBEDDER.path.name}: {EMBEDDER.vocabulary:,} tokens, {EMBEDDER.dims} dimensions"
    model = replace(model, fitted=fitted)
    out = out or (stage.SEMANTIC_MODEL_PATH if EMBEDDER else stage.MODEL_PATH)
    model.save(out)
    stage.default_model.cache_clear()
    stage.semantic_model.cache_clear()
    log(f"saved {out}: join {model.join} (headlines alone {model.join_textless}), "
        f"vetoes {list(model.vetoes) or 'none'}")
    return model


def run(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench stories")
    parser.add_argument("--archive", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--set", type=Path, default=None, help="a labelled file in the dev set's format")
    parser.add_argument("--fit", action="store_true", help="refit pipeline/stages/story_model.json first")
    parser.add_argument("--embeddings", type=Path, default=None,
                        help="a static embedding model folder: figures (and --fit) with the semantic backend")
    parser.add_argument("--model-out", type=Path, default=None,
                        help="where --fit saves the model (default: the shipped file for this backend)")
    parser.add_argument("--no-cost", action="store_true", help="skip the archive-scale cost benchmark")
    args = parser.parse_args(argv)
    from pipeline.stages import embeddings

    from . import realsets

    global EMBEDDER
    EMBEDDER = embeddings.load(args.embeddings) if args.embeddings else None
    model = refit(out=args.model_out) if args.fit else new_index().model
    figures: dict = {}
    for path in [args.set] if args.set else [None, DEV_SET.with_name("check.txt")]:
        stories = load(path) if path else load()
        english = stories.english()
        name = (path or DEV_SET).name
        q = quality(english, args.orders)
        rows = [("newsmon", f"{q['precision']:.3f} / {q['recall']:.3f} / {q['f1']:.3f}; "
                            f"{len(q['hard_merges'])} hard-negative pairs merged")]
        rows += [(n, f"{p:.3f} / {r:.3f} / {f1:.3f}; {m} hard-negative pairs merged")
                 for n, p, r, f1, m in baselines(english)]
        rows += [("hard-negative pairs merged", ", ".join(" + ".join(p) for p in q["hard_merges"]) or "none"),
                 ("follow-ups linked", q["follow_ups_linked"]),
                 ("reports linked as a follow-up of another event", str(q["follow_ups_wrong"])),
                 (f"worst F1 over {args.orders} arrival orders", "a hard merge" if q["worst_order_f1"] < 0
                  else f"{q['worst_order_f1']:.3f}"),
                 ("max within-event Jaccard (not copies)", f"{within_event_jaccard(stories, shingles):.3f}")]
        table(f"Our set {name} ({len(english.reports)} reports, {q['events']} events, {len(english.outlets)} "
              f"outlets; {'fitted on' if name == 'dev.txt' else 'held out'}): BCubed P / R / F1", rows)
        figures[name] = {**{k: v for k, v in q.items() if k != "hard_merges"}, "hard_merges": len(q["hard_merges"]),
                         "baselines": {n: {"precision": p, "recall": r, "f1": f1, "hard_merges": m}
                                       for n, p, r, f1, m in baselines(english)}}
    lingual = cross_lingual(load())
    if lingual:
        table("Cross-lingual (transliterated names; " + (f"embeddings {EMBEDDER.path.name})" if EMBEDDER
                                                           else "no embedding model)"), lingual)
    figures["cross_lingual"] = dict(lingual)
    if realsets.available():
        tables, figures["real"] = real_sets(model)
        for title, rows in tables:
            table(title, rows)
    else:
        print(f"(real sets skipped: {realsets.CORPORA} is absent)")
    if args.no_cost:
        save("stories-embeddings" if EMBEDDER else "stories", figures)
        return figures
    c = cost(args.archive, args.new)
    table(f"Cost with {c['archive']:,} stored articles" + (f", embeddings {EMBEDDER.path.name}" if EMBEDDER else ""), [
        ("archive filled in", f"{c['fill_seconds']:.1f} s"),
        ("window loaded (articles, seconds, MB)", f"{c['window_articles']:,}, {c['window_load_seconds']:.2f} s, "
                                                  f"{c['window_memory_mb']:.0f} MB"),
        ("profile per article (extraction worker)", f"{c['profile_ms']:.2f} ms"),
        *([("sentence vector per article (embeddings backend)", f"{c['vector_ms']:.3f} ms")] if "vector_ms" in c else []),
        ("assign + add per article (run)", f"{c['assign_ms']:.2f} ms"),
        ("new articles that joined a story", f"{c['joined_share']:.0%}")])
    figures["cost"] = c
    save("stories-embeddings" if EMBEDDER else "stories", figures)
    return figures
