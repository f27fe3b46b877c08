"""Soak: a year of running on a simulated clock, retention at its defaults.

    python -m bench soak [--days 365] [--per-day 5000] [--checkpoints 1,30,180,365]
                         [--window-days 365] [--new 100] [--upkeep-every 1]
    python -m bench soak --build DIR [same options]    # the history and its snapshots only
    python -m bench soak --measure DIR                 # the checkpoint runs on DIR's snapshots

Two phases, which can run apart (a year at 5,000 articles a day takes ~an hour to write, and its
measured runs want a quiet machine, which the writing does not):

- The build (bench/soak_history.py) writes the history day by day straight into a real store
  (articles with their search entries, signatures, profiles, stories and duplicate-index bands,
  as a run writes them), then the nightly upkeep runs (app/retention.maintain: keep_text_days 90,
  FTS merges, vacuum, checkpoint). Article texts are the trafilatura evaluation pages' extracted
  texts (generated text when ../shared/corpora is absent), each a mix of two or three pages'
  paragraphs with 40% of the words replaced, under a line of its own (a pool of 20,000 mixes:
  wire copy); one in five joins the story of the article before it, with a sentence added. On
  each checkpoint day, after that day's history and before its night's upkeep, the store is
  copied to DIR/day-NNN.db (checkpointed first: one file); DIR/build.json names the snapshots and
  holds what the measure needs to reproduce the runs (the options, the history's seed, whether
  the corpus pages were used); DIR/build.log has each day's timing.
- The measure (bench/soak_measure.py) runs, on a copy of each snapshot, the duplicate index's
  opening, a run with `--new` new articles, a no-op run and the day's digest render, and prints
  the table; it can be repeated on the same build.

Without --build or --measure it does both in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipeline.app.diskindex import catch_up
from pipeline.app.retention import maintain, size_text
from pipeline.config import load_config
from pipeline.storage.store import Store

from .common import save, table
from .farm import corpus_pages
from .pipeline import CORPUS_PAGES
from .soak_history import T0, History, corpus_texts, generated_texts
from .soak_measure import DATABASE, config_text, measure, repeated_slots, site_pages

SEED = 7


def repeat_texts(use_corpus: bool, new: int) -> list[str]:
    """The extracted texts of the pages every checkpoint run fetches again (soak_measure.Site)."""
    from pipeline.stages.extract import extract_main_text

    pages = site_pages(use_corpus)
    texts = (extract_main_text(pages[k % len(pages)], None) for k in repeated_slots(new))
    return [t for t in texts if t]


def resumable(folder: Path, manifest: dict) -> dict | None:
    """The manifest of an unfinished build in `folder` made with the same options, to go on with
    (each day is one transaction and draws from its own seed, so a build killed at any point goes
    on from the last day it committed); None when there is none."""
    try:
        before = json.loads((folder / "build.json").read_text())
    except (OSError, ValueError):
        return None
    same = all(before.get(k) == v for k, v in manifest.items() if k != "snapshots")
    return before if same and "build_seconds" not in before and (folder / DATABASE).exists() else None


def build(folder: Path, args: argparse.Namespace) -> dict:
    """Write the history into folder/history.db, a snapshot on each checkpoint day; the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / "build.json"
    checkpoints = sorted({int(c) for c in args.checkpoints.split(",") if c.strip() and int(c) <= args.days})
    use_corpus = CORPUS_PAGES.is_dir()
    manifest = {"days": args.days, "per_day": args.per_day, "window_days": args.window_days,
                "upkeep_every": args.upkeep_every, "new": args.new, "seed": SEED, "use_corpus": use_corpus,
                "checkpoints": checkpoints, "snapshots": {}}
    resumed = resumable(folder, manifest)
    if resumed:
        manifest = resumed
    elif manifest_path.exists() or (folder / DATABASE).exists():
        raise SystemExit(f"soak --build: {folder} holds another build (other options, or finished); "
                         "remove it or name another folder")
    texts = corpus_texts(corpus_pages(CORPUS_PAGES, 300)) if use_corpus else generated_texts()
    manifest["texts"] = f"{len(texts)} corpus texts" if use_corpus else "generated"
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    config_path = folder / "newsmon.toml"
    config_path.write_text(config_text(args.window_days))
    config = load_config(config_path)
    log = (folder / "build.log").open("a")

    def note(line: str) -> None:
        stamped = f"{datetime.now(timezone.utc):%H:%M:%S} {line}"
        print(stamped, flush=True)
        log.write(stamped + "\n")
        log.flush()

    started = time.perf_counter()
    store = Store.open(config.database)
    store.conn.execute("PRAGMA cache_size = -262144")     # 256 MB: the bands' and FTS pages stay cached
    history = History(store, texts, args.per_day, SEED, repeat_texts(use_corpus, args.new))
    note(f"build {folder}: {args.days} days x {args.per_day:,}/day, checkpoints {checkpoints}; "
         f"pool of {len(history.pool):,} texts in {time.perf_counter() - started:.1f} s")
    done = store.conn.execute("SELECT count(*) FROM runs").fetchone()[0] if resumed else 0   # a runs row a day
    if done:
        note(f"resuming after day {done}")
        maintain(store, config, T0 + timedelta(days=done, hours=23, minutes=30))   # its upkeep may have been cut
    for day in range(done + 1, args.days + 1):
        t0 = time.perf_counter()
        written = history.write_day(day)
        catch_up(store)           # nothing left to build (the day's bands went in with it): a check
        t1 = time.perf_counter()
        if day in checkpoints:
            store.checkpoint()
            name = f"day-{day:03d}.db"
            size = store.size(config.database)
            snap = {"file": name, "articles": store.article_count(), "snapshot_bytes": size.database,
                    "history_seconds": round(t1 - started, 1)}
            if day == args.days:            # the last day: the store itself is the snapshot
                store.close()
                os.replace(config.database, folder / name)
            else:
                shutil.copyfile(config.database, folder / name)
            manifest["snapshots"][str(day)] = snap
            manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
            note(f"day {day}: snapshot {name}, {snap['articles']:,} articles, {size_text(size.database)}, "
                 f"in {time.perf_counter() - t1:.1f} s")
            if day == args.days:
                break
        t2 = time.perf_counter()
        upkeep = day % args.upkeep_every == 0 or day in checkpoints or day + 1 in checkpoints
        if upkeep:
            maintain(store, config, T0 + timedelta(days=day, hours=23, minutes=30))
        size = store.size(config.database)
        note(f"day {day}: {written:,} written in {t1 - t0:.1f} s, upkeep {time.perf_counter() - t2:.1f} s"
             f"{'' if upkeep else ' (skipped)'}; store {size_text(size.database + size.wal)}; "
             f"{time.perf_counter() - started:.0f} s in all")
    else:                       # the last day is no checkpoint: its store is not needed
        store.close()
        for path in (config.database, Path(f"{config.database}-wal"), Path(f"{config.database}-shm")):
            path.unlink(missing_ok=True)
    manifest["build_seconds"] = round(time.perf_counter() - started, 1)
    manifest["snapshots_bytes"] = sum(s["snapshot_bytes"] for s in manifest["snapshots"].values())
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    note(f"done in {manifest['build_seconds']:.0f} s; snapshots {size_text(manifest['snapshots_bytes'])} in all")
    log.close()
    return manifest


def run(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench soak")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=int, default=5000)
    parser.add_argument("--checkpoints", default="1,30,180,365")
    parser.add_argument("--window-days", type=int, default=365, help="[dedup] window_days")
    parser.add_argument("--new", type=int, default=100,
                        help="items in the checkpoint run (a build's: --measure takes the build's)")
    parser.add_argument("--upkeep-every", type=int, default=1,
                        help="days between upkeeps (1: nightly, as newsmon does; more: a faster, sampled year)")
    phase = parser.add_mutually_exclusive_group()
    phase.add_argument("--build", metavar="DIR", type=Path, help="write the history and its snapshots into DIR")
    phase.add_argument("--measure", metavar="DIR", type=Path, help="run the checkpoint runs on DIR's snapshots")
    phase.add_argument("--upkeep", metavar="DIR", type=Path,
                       help="time the nightly upkeep on a copy of DIR's snapshot of --day, for --nights nights")
    parser.add_argument("--day", type=int, default=180, help="with --upkeep: the snapshot's day")
    parser.add_argument("--nights", type=int, default=3, help="with --upkeep: nights (each after the first writes a day)")
    args = parser.parse_args(argv)
    if args.upkeep:
        from .soak_upkeep import upkeep

        return {"upkeep": upkeep(args.upkeep, args.day, args.nights)}
    if args.build:
        return build(args.build, args)
    if args.measure:
        figures, rows = measure(args.measure)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            build(Path(tmp), args)
            figures, rows = measure(Path(tmp))
    table(f"Soak: {figures['days']} days x {figures['per_day']:,} articles/day ({figures['texts']}), "
          f"retention at its defaults, window {figures['window_days']} days, "
          f"upkeep every {figures['upkeep_every']} day(s)", rows or [("no checkpoint", "-")])
    save("soak", figures)
    return figures
