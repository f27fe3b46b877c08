"""Operators correct stories (issue 28): `newsmon stories split` and `merge`, run as a cron job
would run them, on real runs; every later run keeps the correction, and `stories --why`, the
digest and the web story page's JSON show it the same way. On both engines (both_engines)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from conftest import newsmon, open_store, rows, write_config
from test_stories import _by_id, _serve, _today

from pipeline.config import load_config

pytestmark = pytest.mark.both_engines    # each test on SQLite and on PostgreSQL (conftest: engine)


def _run(path) -> None:
    done = newsmon("run", "--config", str(path))
    assert done.returncode == 0, done.stderr


def _cli(path, *args: str) -> dict:
    done = newsmon("stories", *args, "--json", "--config", str(path))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _id(config, feed: str) -> str:
    return rows(config, "SELECT id FROM articles WHERE feed = ?", [feed])[0][0]


def _story_of(config, feed: str) -> str:
    return rows(config, "SELECT story_id FROM articles WHERE feed = ?", [feed])[0][0]


def _digest(config) -> dict:
    day = datetime.now(timezone.utc).astimezone(config.zone).date().isoformat()
    return json.loads((config.digest_dir / f"{day}.json").read_text())


def test_a_split_off_report_stays_apart_through_reruns_and_new_reports(site, tmp_path, seeds_dir):
    feeds = [_serve(site, [_today(_by_id("nato-airdefence-0319", 1))], "meridian"),
             _serve(site, [_today(_by_id("nato-airdefence-0319", 2))], "agency")]
    path = write_config(tmp_path, feeds)
    config = load_config(path)
    _run(path)
    story = _story_of(config, "meridian")
    assert _story_of(config, "agency") == story              # the model grouped them
    assert rows(config, "SELECT reports, outlets FROM stories WHERE id = ?", [story]) == [(2, 2)]

    # the report that did not start the story is split off (the other way round: the daemon test)
    agency = next(aid for aid in (_id(config, "agency"), _id(config, "meridian")) if aid != story)
    other = story
    done = _cli(path, "split", agency)
    assert [e["kind"] for e in done["edits"]] == ["split"] and done["edits"][0]["from"] == story
    assert sorted((s["story_id"], s["reports"]) for s in done["stories"]) == sorted([(story, 1), (agency, 1)])
    assert rows(config, "SELECT reports, outlets, lead FROM stories WHERE id = ?", [agency]) == [(1, 1, agency)]
    assert rows(config, "SELECT reports FROM stories WHERE id = ?", [story]) == [(1,)]

    _run(path)                                               # a rerun: nothing undone
    feeds.append(_serve(site, [_today(_by_id("nato-airdefence-0319", 3))], "wire"))
    path = write_config(tmp_path, feeds)
    _run(path)                                               # a new report of the event arrives
    assert rows(config, "SELECT story_id FROM articles WHERE id IN (?, ?) ORDER BY id = ?", [agency, other, agency]) \
        == [(story,), (agency,)]
    assert _story_of(config, "wire") in {story, agency}
    counts = dict(rows(config, "SELECT id, reports FROM stories WHERE id IN (?, ?)", [story, agency]))
    assert sorted(counts.values()) == [1, 2]                 # counts recomputed as the new report joined

    why = _cli(path, "--why", agency)
    assert why["story"] == agency and [c["kind"] for c in why["corrections"]] == ["split"]
    digest = next(s for s in _digest(config)["articles"] if s["story_id"] == agency)
    assert digest["corrections"] == why["corrections"]      # the same record, the same words
    text = newsmon("stories", "--why", agency, "--config", str(path)).stdout
    assert f"correction: {agency} split off from story {story} by an operator" in text

    from test_web import Web
    web = Web(config)
    try:
        page = web.api(f"/api/v1/stories/{agency}")
    finally:
        web.stop()
    assert page["corrections"] == why["corrections"] and len(page["reports"]) == counts[agency]   # (wire joins either)


def test_merged_stories_take_new_reports_of_either_event(site, tmp_path, seeds_dir):
    # two stories to the model, one to the operator; the merged story is compared part by part,
    # so a new report of the smaller part is not drowned by the other part's reports on average
    feeds = [_serve(site, [_today(_by_id("kharkiv-strike-0314", n))], feed)
             for n, feed in ((1, "meridian"), (2, "agency"), (3, "explainer"))]
    feeds.append(_serve(site, [_today(_by_id("nbu-rate-0319", 1))], "ledger"))
    path = write_config(tmp_path, feeds)
    config = load_config(path)
    _run(path)
    strike, bank = _story_of(config, "meridian"), _story_of(config, "ledger")
    assert strike != bank and _story_of(config, "agency") == strike == _story_of(config, "explainer")

    done = _cli(path, "merge", bank, strike)
    [merged] = done["stories"]
    assert merged["reports"] == 4 and merged["outlets"] == 4 and merged["story_id"] in {strike, bank}
    gone = ({strike, bank} - {merged["story_id"]}).pop()
    assert rows(config, "SELECT count(*) FROM stories WHERE id = ?", [gone]) == [(0,)]
    assert {e["kind"] for e in done["edits"]} == {"merge"}

    feeds += [_serve(site, [_today(_by_id("kharkiv-strike-0314", 4))], "wire"),
              _serve(site, [_today(_by_id("nbu-rate-0319", 2))], "clearview")]
    path = write_config(tmp_path, feeds)
    _run(path)
    assert _story_of(config, "wire") == merged["story_id"]         # a report of the first event
    assert _story_of(config, "clearview") == merged["story_id"]    # and of the second
    assert rows(config, "SELECT reports, outlets FROM stories WHERE id = ?", [merged["story_id"]]) == [(6, 6)]
    [story] = [s for s in _digest(config)["articles"] if s["story_id"] == merged["story_id"]]
    assert story["reports"] == 6 and story["corrections"][0]["kind"] == "merge"
    assert len(_digest(config)["articles"]) == 1


def test_corrections_refuse_what_cannot_be_done(site, tmp_path, seeds_dir):
    feeds = [_serve(site, [_today(_by_id("nbu-rate-0319", 1))], "wire")]
    path = write_config(tmp_path, feeds)
    _run(path)
    aid = _id(load_config(path), "wire")
    for args, words in ((("split", aid), "already in story"), (("split", "nope"), "no article 'nope'"),
                        (("merge", aid, "nope"), "no story 'nope'"), (("merge", aid, aid), "one story already"),
                        (("split", aid, "--from", aid, "--to", "nope"), "no story 'nope'")):
        done = newsmon("stories", *args, "--config", str(path))
        assert done.returncode == 2 and words in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
    assert rows(load_config(path), "SELECT count(*) FROM story_edits") == [(0,)]


def test_a_same_outlet_update_joins_its_story_as_an_update(site, make_config, clock):
    """Issue 28: "Same-outlet updates join their story, as updates". An outlet's own later report
    of its story (written anew, not a copy) that comes after the morning email joins the story, and
    the next email lists it under the updates to stories already sent, not as a new story."""
    from smtp import SMTPServer
    from test_email import deliver, email_section

    from pipeline.app.pipeline import run_once
    from pipeline.demo.site import FeedItem, article_page, rss_feed

    first = ("Man killed, two wounded in shooting on Elm Street",
             ["A man was killed and two people were wounded in a shooting on Elm Street in Springfield on "
              "Sunday night, police said. Officers called to the 400 block found three people with gunshot "
              "wounds. The wounded were taken to Mercy Hospital. Police have not named the man who died."])
    update = ("UPDATE 1-Police seek gunman after Elm Street shooting leaves one dead",
              ["Springfield detectives on Monday asked for help finding the gunman who fled on foot after "
               "Sunday night's shooting on Elm Street, in which one man died and two people were hurt. The "
               "two survivors remain at Mercy Hospital in stable condition, a police spokeswoman said, and "
               "investigators are reviewing doorbell camera footage from the street."])
    site.routes["/1"] = article_page(first[0], "Wire", "2026-11-23", first[1])
    site.routes["/2"] = article_page(update[0], "Wire", "2026-11-23", update[1])
    items = [FeedItem(first[0], site.url("/1"), "1", "2026-11-23T05:00:00Z")]
    site.routes["/w.xml"] = rss_feed("W", site.base, items)
    with SMTPServer() as smtp:
        config = make_config([("wire", site.url("/w.xml"))], extra=email_section(smtp.port))
        run_once(config, clock=clock, force=True)
        assert "sent" in [o.status for o in deliver(config, clock)]   # (the all-topics recipient)
        clock.now += timedelta(hours=3)                                   # after the email
        site.routes["/w.xml"] = rss_feed("W", site.base, items + [FeedItem(update[0], site.url("/2"), "2",
                                                                           "2026-11-23T10:30:00Z")])
        run_once(config, clock=clock, force=True)
        stories = rows(config, "SELECT id, reports, outlets FROM stories")
        assert [(n, o) for _, n, o in stories] == [(2, 1)]               # one story, one outlet, two reports
        assert rows(config, "SELECT count(*) FROM articles WHERE duplicate_of IS NULL AND similarity IS NULL") \
            == [(2,)]                                                     # grouped by the story stage, not as a copy
        clock.now += timedelta(days=1)
        run_once(config, clock=clock, force=True)
        assert "sent" in [o.status for o in deliver(config, clock)]
        body = smtp.inbox.parsed()[-1].get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "== Updates to stories already sent (1) ==\n- " + first[0] in body
    assert f"also reported by wire: {update[0]}" in body and f"* {update[0]}" not in body


def test_a_running_daemons_window_takes_a_correction_made_meanwhile(site, make_config, clock):
    """The daemon keeps its story window between runs; an edit made by the command meanwhile is
    seen at its next placement (else its window would pull the split-off report back)."""
    from pipeline.app.pipeline import run_once
    from pipeline.app.stories import StoryDesk
    from pipeline.app.storyedits import split

    config = make_config([_serve(site, [_by_id("kharkiv-strike-0314", 1)], "meridian"),
                          _serve(site, [_by_id("kharkiv-strike-0314", 2)], "ledger")])
    run_once(config, clock=clock, force=True)
    story = _story_of(config, "meridian")
    rest = next(aid for aid in (_id(config, "ledger"), _id(config, "meridian")) if aid != story)
    daemon, operator = open_store(config), open_store(config)
    try:
        desk = StoryDesk(daemon, config.zone)
        before = desk.index(clock())
        assert {m.story_id for m in before.members} == {story}
        # the report that started the story leaves: it keeps its id, the other one is renumbered
        done = split(operator, story, clock())
        assert sorted((s.id, s.reports) for s in done.stories) == sorted([(story, 1), (rest, 1)])
        assert desk.index(clock()) is before                     # between edits: no reading at all
        after = desk.index(clock(), check_edits=True)
        assert after is not before and {m.article_id: m.story_id for m in after.members} == {story: story, rest: rest}
    finally:
        daemon.close()
        operator.close()
