"""The nightly upkeep measured on a copy of one soak snapshot, night by night:

    python -m bench soak --upkeep DIR [--day 180] [--nights 3]

Why: the build's log times each upkeep, but under whatever code and load the build ran with;
this measures the upkeep of the tree it runs from on a snapshot's real index. On a copy of
DIR/day-NNN.db (beside it, removed after): that night's upkeep (app/retention.maintain, its
search-index merge steps timed apart), then the next day's articles written as the build writes
them (a smaller pool of texts: building the build's 20,000 takes minutes) and its upkeep, for
`nights` nights; last, on the same copy, the merge the upkeep made before (FTS5 'merge' with a
negative page count: the whole index into one segment, up to 200 steps of 500 pages), timed.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import timedelta
from pathlib import Path

from pipeline.app.retention import maintain, size_text
from pipeline.config import load_config
from pipeline.storage.store import Store

from .farm import corpus_pages
from .pipeline import CORPUS_PAGES
from .soak_history import T0, History, corpus_texts, generated_texts
from .soak_measure import DATABASE, config_text

POOL = 2_000
OLD_STEPS, OLD_PAGES = 200, 500


# The upkeep's parts, timed by the store methods that do them.
PARTS = {"prune_s": ("drop_texts", "delete_articles"), "merge_s": ("fts_merge_step",),
         "vacuum_s": ("vacuum_step", "vacuum_full"), "checkpoint_s": ("checkpoint",), "optimize_s": ("optimize",)}


def timed_parts(store: Store) -> dict[str, float]:
    """Wrap the store methods of PARTS so that their time adds up by part (the dict returned)."""
    seconds = dict.fromkeys(PARTS, 0.0)

    def wrap(part: str, method):
        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                seconds[part] += time.perf_counter() - t
        return timed
    for part, names in PARTS.items():
        for name in names:
            setattr(store, name, wrap(part, getattr(store, name)))
    return seconds


def old_merge(store: Store) -> tuple[int, float]:
    """The nightly merge before: negative page counts until nothing changes or 200 steps."""
    t, steps = time.perf_counter(), 0
    while steps < OLD_STEPS:
        before = store.conn.total_changes
        with store.transaction():
            store.conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('merge', ?)", [-OLD_PAGES])
        if store.conn.total_changes - before <= 1:
            break
        steps += 1
    return steps, time.perf_counter() - t


def upkeep(folder: Path, day: int, nights: int) -> list[dict]:
    """`python -m bench soak --upkeep DIR`: on a copy of the day's snapshot, removed after."""
    manifest = json.loads((folder / "build.json").read_text())
    work = folder / f"upkeep-{day:03d}"
    work.mkdir()
    try:
        shutil.copyfile(folder / manifest["snapshots"][str(day)]["file"], work / DATABASE)
        return upkeep_nights(work, manifest, day, nights)
    finally:
        shutil.rmtree(work)


def upkeep_nights(work: Path, manifest: dict, day: int, nights: int, write_first: bool = False) -> list[dict]:
    """The nights on work/newsmon.db (a copy of the day's snapshot, changed by this); with
    `write_first`, the first night too comes after a day written (a copy whose own night ran)."""
    (work / "newsmon.toml").write_text(config_text(manifest["window_days"]))
    config = load_config(work / "newsmon.toml")
    store = Store.open(config.database)
    History.POOL = POOL
    texts = corpus_texts(corpus_pages(CORPUS_PAGES, 300)) if manifest["use_corpus"] else generated_texts()
    history = History(store, texts, manifest["per_day"], manifest["seed"])
    parts = timed_parts(store)
    figures = []
    for night in range(nights):
        written = 0.0
        if night or write_first:
            t = time.perf_counter()
            history.write_day(day + night + write_first)
            written = time.perf_counter() - t
        parts.update(dict.fromkeys(parts, 0.0))
        t = time.perf_counter()
        report = maintain(store, config, T0 + timedelta(days=day + night + write_first, hours=23, minutes=30))
        merged = report.search_merge
        figures.append({"day": day + night + write_first, "write_s": round(written, 1),
                        "upkeep_s": round(time.perf_counter() - t, 1), **{k: round(v, 1) for k, v in parts.items()},
                        "texts_dropped": report.prune.texts_dropped,
                        **{k: getattr(merged, k) for k in ("steps", "budget", "whole", "segments_before",
                                                           "segments_after", "pages_before", "pages_after")},
                        "store": size_text(report.size_after)})
        print(json.dumps(figures[-1]), flush=True)
    old_steps, old_seconds = old_merge(store)
    figures.append({"old_merge_steps": old_steps, "old_merge_s": round(old_seconds, 1)})
    print(json.dumps(figures[-1]), flush=True)
    store.close()
    return figures
