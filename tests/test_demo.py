"""`newsmon demo`, what `make demo` runs: the bundled outlets over loopback, the real pipeline."""

from __future__ import annotations

import json

from click.testing import CliRunner

from pipeline.cli import main


def test_demo_shows_flags_drops_the_seed_copy_and_reports_the_broken_feed(tmp_path, seeds_dir):
    reports, data = tmp_path / "reports", tmp_path / "data"
    result = CliRunner().invoke(main, ["-q", "demo", "--reports", str(reports), "--data", str(data),
                                       "--seeds", str(seeds_dir)])
    assert result.exit_code == 0, result.output
    assert "second run: 0 new articles" in result.output
    assert ("Kyiv Ledger, Baltic Wire: Allies pledge new air-defence systems at NATO meeting; "
            "NATO ministers promise Kyiv four more systems") in result.output     # two outlets, one story

    [json_file] = reports.glob("????-??-??.json")
    digest = json.loads(json_file.read_text())
    assert len(digest["articles"]) >= 10
    topics = {t for a in digest["articles"] for t in a["topics"]}
    assert topics == {"nato", "ceasefire", "territory"}
    assert any(not a["topics"] for a in digest["articles"])
    assert all(m["sentence"] for a in digest["articles"] for m in a["matches"])
    assert not any("Donato" in a["title"] and a["topics"] for a in digest["articles"])

    # the republished seed (straight quotes, an ad line, last paragraph cut) is dropped
    [dropped] = digest["duplicates"]
    assert dropped["duplicate_of"] == "seeds/000_2ceace7d45a6ac80.txt"
    assert 0.8 < dropped["similarity"] < 1.0
    # the syndicated Geneva story is one story, the other outlet's copy under "also"
    [story] = [a for a in digest["articles"] if "Geneva" in a["title"]]
    assert story["feed"] == "kyiv-ledger" and [c["feed"] for c in story["also"]] == ["baltic-wire"]
    assert sum("Geneva" in a["title"] for a in digest["articles"]) == 1
    html = json_file.with_suffix(".html").read_text()
    assert "Also reported by" in html
    # lead images from the feeds' media:thumbnail, in RSS (the Ledger) and Atom (the Wire): linked, never inlined
    for flag in ("Flag_of_NATO.svg", "Flag_of_Estonia.svg"):
        assert f'<img class="lead" src="https://commons.wikimedia.org/wiki/Special:FilePath/{flag}?width=480"' in html
    assert "data:" not in html
    # the NATO pledge, written up by each outlet in its own words: one story, two outlets
    [pledge] = [a for a in digest["articles"] if "air-defence" in a["title"] or "four more" in a["title"]]
    assert sorted(pledge["outlets"]) == ["Baltic Wire", "Kyiv Ledger"] and pledge["reports"] == 2
    # a ceasefire story the same day as the Geneva talks, somewhere else: kept apart
    # (that it stands alone is test_story_model.py::test_the_demos_truce_is_not_the_grid_repair_story,
    # a strict xfail: issue 28, open, the fitted model makes it a report of the day before's grid-repair
    # story, so it may be listed under that story's "also")
    truce = next(a for a in digest["articles"]
                 if "Zaporizhzhia" in a["title"] or any("Zaporizhzhia" in c["title"] for c in a["also"]))
    assert truce["story_id"] != story["story_id"]
    assert "ceasefire" in truce["topics"] or "Zaporizhzhia" not in truce["title"]

    [broken] = [f for f in digest["feeds"] if f["status"] == "error"]
    assert broken["name"] == "metro-daily" and "broken feed" in broken["error"]
    html = json_file.with_suffix(".html").read_text()
    assert "metro-daily" in html and "<mark>" in html
    # the morning read: outlet names, navigation, an index with counts; the history exhibit on
    # armistices is no ceasefire story
    assert "Kyiv Ledger" in html and '<a href="index.html">All digests</a>' in html and "Contents: " in html
    index = (reports / "index.html").read_text()
    assert f"{len(digest['articles'])} stories · NATO " in index and "Top story: " in index
    [exhibit] = [a for a in digest["articles"] if "armistice" in a["title"]]
    assert exhibit["topics"] == []
    assert json_file.with_suffix(".txt").exists() and json_file.with_suffix(".md").exists()
