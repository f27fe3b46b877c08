"""The search index's nightly merges: incremental, bounded by the day's growth, never a rewrite of
the whole index unless asked (`db maintain --full`) or due (what emptied texts left in it has
grown to a share of it); search finds the same articles throughout."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

from conftest import newsmon, rows
from test_retention import at, bulk_archive, config_with, db

from pipeline.storage.ftsshape import decode


def shape(config):
    with sqlite3.connect(config.database) as c:
        return decode(c.execute("SELECT block FROM articles_fts_data WHERE id = 10").fetchone()[0])


def found(config, word: str) -> list[str]:
    out = newsmon("search", word, "--json", "--limit", "1000", "--config", str(config.path))
    assert out.returncode == 0, out.stderr
    return sorted(r["title"] + (r["url"] or "") for r in json.loads(out.stdout))


def add_small_writes(config, clock, first: int, transactions: int) -> None:
    """`transactions` small writes of 5 articles each, as a day of runs leaves them: FTS5 makes a
    segment for each, and its own merging during writes (automerge) has not caught up with them."""
    with sqlite3.connect(config.database) as c:
        for t in range(first, first + transactions):
            with c:
                c.executemany("INSERT INTO articles (id, identity, feed, url, title, first_seen, text, text_source, "
                              "fingerprint, story_id, topics) VALUES (?, ?, 'new', ?, ?, ?, ?, 'page', ?, ?, '[]')",
                              [(f"new{t}-{i}", f"hash:new{t}-{i}", f"https://new.example/{t}/{i}", f"Fresh item {t}",
                                clock.now.isoformat(), f"zebra{t % 3} quokka report {t} {i} " * 40, f"fpn{t}-{i}",
                                f"new{t}-{i}") for i in range(5)])


def maintain(config, clock, *args: str) -> dict:
    out = db(config, "maintain", "--no-prune", "--json", *args, "--now", at(clock, 0))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["search_merge"]


def test_nightly_merges_are_incremental_and_only_full_rewrites_the_whole_index(tmp_path, seeds_dir, clock):
    config = config_with(tmp_path, [])
    bulk_archive(config, 3000, clock)
    assert maintain(config, clock, "--full")["segments_after"] == 1      # one large segment: the archive so far
    [base] = shape(config).segments
    add_small_writes(config, clock, 0, 12)
    before = shape(config)
    assert len(before.segments) >= 9 and base in before.segments
    searched = {w: found(config, w) for w in ("quokka", "zebra1", "word5")}
    assert all(searched.values())

    counts = [len(before.segments)]
    for night in range(3):                           # successive upkeeps, a few new writes between them
        merged = maintain(config, clock)
        after = shape(config)
        assert not merged["whole"] and merged["segments_after"] == len(after.segments)
        assert base in after.segments, f"night {night}: the archive's segment was rewritten"
        counts.append(len(after.segments))
        if night == 0:
            assert counts[1] < counts[0] and merged["steps"] >= 1
            assert {w: found(config, w) for w in searched} == searched
            add_small_writes(config, clock, 100, 8)
            counts.append(len(shape(config).segments))
            searched = {w: found(config, w) for w in (*searched, "zebra2")}
    assert counts[3] < counts[2], counts               # the second night merged the new writes' segments
    assert rows(config, "SELECT count(*) FROM marks WHERE name = 'fts_written'") == [(1,)]

    full = maintain(config, clock, "--full")
    assert full["whole"] and full["segments_after"] == 1 and base not in shape(config).segments
    assert {w: found(config, w) for w in searched} == searched
    assert rows(config, "PRAGMA integrity_check") == [("ok",)]


def test_a_whole_index_merge_starts_once_emptied_texts_weigh_and_goes_on_night_by_night(tmp_path, seeds_dir, clock):
    """The prune empties texts: their postings and FTS5's delete markers stay until a merge reaches
    the oldest segment. Once they weigh a quarter of it, a whole merge starts; it drops them."""
    config = config_with(tmp_path, [])
    bulk_archive(config, 3000, clock)                  # a year old: every text goes at the prune
    add_small_writes(config, clock, 0, 2)
    quiet = maintain(config, clock)
    assert not quiet["whole"]
    clock.now += timedelta(days=1)
    out = db(config, "maintain", "--json", "--now", at(clock, 0))     # with the prune
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["prune"]["texts_dropped"] == 3000
    merged = report["search_merge"]
    assert merged["whole"] and merged["pages_after"] < merged["pages_before"] / 2, merged
    assert found(config, "word5") == [] and len(found(config, "quokka")) == 10
    # FTS5's own merging, off for the prune's writes, is on again: no whole merge is under way
    assert rows(config, "SELECT v FROM articles_fts_config WHERE k = 'automerge'") == [(4,)]
    assert rows(config, "SELECT count(*) FROM articles_fts") == rows(config, "SELECT count(*) FROM articles")
