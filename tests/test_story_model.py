"""The fitted story model on the cases real news showed (issue 28): the wrong merges stay apart,
the wrong splits join; names, places and figures read as what they are; the model file refits
and loads; real labelled windows, when ../shared/corpora is present, hold their floors."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bench.storyset import load
from pipeline.stages import stories as stage
from pipeline.stages.profile import profile_of
from pipeline.stages.stories import FEATURES, StoryIndex, StoryModel

UTC = ZoneInfo("UTC")
T = datetime(2026, 3, 10, 14, 0, tzinfo=timezone.utc)        # a Tuesday


def window(now: datetime) -> StoryIndex:
    """A window as a run has it: other news of the last hours already in (the project's story set,
    moved to just before `now`), so that document frequencies weigh words as real news does."""
    index = StoryIndex(UTC)
    for i, r in enumerate(sorted(load().english().reports, key=lambda r: r.published)):
        index.add(r.id, r.event, r.outlet, now - timedelta(hours=30) + timedelta(minutes=20 * i),
                  profile_of(r.title, r.text))
    return index


def grouped(reports: list[tuple[str, str, str, str, datetime]]) -> dict[str, str]:
    """(id, outlet, title, text, published) in arrival order -> report id -> story id."""
    index, out = window(reports[0][4]), {}
    for rid, outlet, title, text, when in reports:
        profile = profile_of(title, text)
        found = index.assign(profile, when, outlet)
        out[rid] = found.story_id or rid
        index.add(rid, out[rid], outlet, when, profile)
    return out


# --- names, places, figures ------------------------------------------------------------------------

def test_a_title_case_headline_gives_no_names_unless_the_text_confirms_them():
    assert profile_of("Heartbleed Bug: What You Need to Know", "").entities == frozenset()
    assert profile_of("Harrison Ford Fractures Ankle", "").entities == frozenset()
    confirmed = profile_of("Harrison Ford Fractures Ankle", "The actor Harrison Ford broke his ankle on set.")
    assert {"harrison", "ford"} <= confirmed.entities


def test_a_place_is_its_whole_name_never_a_prefix():
    assert profile_of("", "A drone hit Pokrovske overnight.").places == {"pokrovske"}
    assert profile_of("", "A drone hit Pokrovsk overnight.").places == {"pokrovsk"}
    assert profile_of("", "Four wounded in drone attack on Kostiantynopil.").places == {"kostiantynopil"}
    assert profile_of("", "Shelling of Kostiantynivka killed two.").entities >= {"kostiantynivka"}


def test_spelling_variants_meet_and_words_that_are_not_places_are_not():
    assert profile_of("", "A man was shot in Baltimore, Md. on Friday.").entities >= {"maryland"}
    assert profile_of("", "Police in Maryland said the man was shot.").entities >= {"maryland"}
    assert profile_of("", "He was taken to the ICU at Mercy Hospital.").places == frozenset()
    assert profile_of("", "Police said he shot at his Ex-Girlfriend on Friday.").places == frozenset()
    assert profile_of("", "The shooting happened in WXYZ's viewing area.").places == frozenset()
    # a state or a county is not what tells two shootings apart: a town and its state do not conflict
    assert "maryland" not in profile_of("", "A man was shot in Maryland on Friday.").places
    assert profile_of("", "A man was shot in Harris County on Friday.").places == frozenset()
    assert profile_of("", "Two men were shot on Riverview Drive late Friday.").places == {"riverview"}
    assert profile_of("", "A boy was shot in North Austin on Friday.").places == {"austin"}
    # a word the text also writes in lower case is not a name ("in Custody" of a Title Case lead)
    assert profile_of("", "Suspect in Custody. Police took the suspect into custody.").places == frozenset()


@pytest.mark.parametrize("text, killed, ages", [
    ("A 16-year-old was among 10 people killed in the shooting.", {10}, {16}),
    ("A 21-year-old man was killed on Sunday.", set(), {21}),
    ("The gunman, in prison since 1994, killed 57 people.", {57}, set()),
    ("Girl, 8, shot dead in North Austin.", set(), {8}),
    ("Two people aged 19 and 20 were wounded; one man, 45, died.", {1}, {19, 20, 45}),
])
def test_a_figure_is_never_an_age_or_a_year(text, killed, ages):
    profile = profile_of("", text)
    assert set(profile.killed) == killed and profile.ages >= ages
    assert not {str(a) for a in ages} & profile.numbers and "1994" not in profile.numbers


# --- the wrong merges stay apart ------------------------------------------------------------------

@pytest.mark.parametrize("first, second", [
    ("Heartbleed Bug: What You Need to Know",
     "3 Things You Need to Know About the Latest UN Report on Climate Change"),
    ("Some Ford owners will soon get a check", "Harrison Ford Fractures Ankle"),
])
def test_headlines_sharing_title_case_words_stay_apart(first, second):
    """Headlines alone, in a window of real headlines (what weighs their words): the shared words
    of a Title Case headline are neither names nor enough."""
    from bench import realsets

    if not realsets.available():
        pytest.skip(f"real headlines absent ({realsets.CORPORA})")
    index = StoryIndex(UTC)
    background = next(w for w in realsets.headline_windows() if w.name == "headlines D1").reports[:1500]
    for i, r in enumerate(background):
        index.add(r.id, r.event, r.outlet, T - timedelta(hours=24) + timedelta(seconds=50 * i), profile_of(r.title, ""))
    a = profile_of(first, "")
    index.add("a", "a", "wire", T, a)
    assert index.assign(profile_of(second, ""), T + timedelta(hours=1), "daily").story_id != "a"


_KOSTIANTYNIVKA = ("Russian drones hit Kostiantynivka, killing two",
                   "Russian drones struck the centre of Kostiantynivka on Tuesday morning, killing two civilians "
                   "and wounding five, Donetsk regional governor Vadym Filashkin said. A market, a pharmacy and "
                   "several apartment blocks were damaged; rescuers pulled a woman from the rubble.")
_KOSTIANTYNOPIL = ("Four wounded in drone attack on Kostiantynopil",
                   "Four people were wounded when a Russian drone hit a farm building in Kostiantynopil, a village "
                   "near Velyka Novosilka, on Tuesday, the local military administration said. Two tractors "
                   "burned.")
_POKROVSK = ("Shelling of Pokrovsk kills one",
             "Russian artillery shelled Pokrovsk on Tuesday, killing one man and wounding three near the railway "
             "station, Donetsk regional governor Vadym Filashkin said. Power lines in two districts were cut.")
_POKROVSKE = ("Strike on Pokrovske community leaves one dead",
              "A Russian guided bomb hit Pokrovske in Dnipropetrovsk region on Tuesday afternoon, killing a "
              "62-year-old woman, regional head Serhii Lysak said. A school and a shop were damaged.")


@pytest.mark.parametrize("first, second", [(_KOSTIANTYNIVKA, _KOSTIANTYNOPIL), (_POKROVSK, _POKROVSKE)])
def test_towns_sharing_a_prefix_are_two_events(first, second):
    stories = grouped([("a", "wire", *first, T), ("b", "daily", *second, T + timedelta(hours=2))])
    assert stories["a"] != stories["b"]


def test_two_shootings_in_one_city_with_other_victims_stay_apart():
    """Issue 28's wrong merge: a 14-year-old boy killed and an 8-year-old girl hurt, in one city a
    day apart. Their titles give other people (title_persons_conflict), and so do their leads."""
    stories = grouped([
        ("a", "kxan", "14-year-old boy fatally shot in Austin",
         "A 14-year-old boy was shot and killed Saturday night in East Austin, police said. Officers found "
         "the boy with a gunshot wound near a park on Webberville Road.", T),
        ("b", "statesman", "Girl, 8, shot in North Austin",
         "An 8-year-old girl was shot Sunday afternoon in North Austin and taken to a hospital with "
         "injuries that were not life-threatening, police said. A man was detained.", T + timedelta(hours=20)),
    ])
    assert stories["a"] != stories["b"]


# --- the wrong splits join ------------------------------------------------------------------------

_SHOOTING = ("Man killed, two wounded in Elm Street shooting",
             "A man was killed and two people were wounded in a shooting on Elm Street on Tuesday night, "
             "Springfield police said. Officers found the three victims outside a house shortly after 10 "
             "p.m. The wounded were taken to Mercy Hospital in stable condition. No arrest was made.")


def test_the_next_day_development_of_an_incident_joins_it():
    """Police name the victim a day later: the report names Wednesday and, for the shooting,
    Tuesday; it is the same incident, not another day's event."""
    stories = grouped([
        ("a", "wspf", *_SHOOTING, T + timedelta(hours=9)),
        ("b", "gazette", "Police identify man killed in Elm Street shooting",
         "Springfield police on Wednesday identified the man killed in a shooting on Elm Street on Tuesday "
         "night as Marcus Reed, 31. Two other people wounded in the shooting outside a house were in stable "
         "condition at Mercy Hospital, police said. No arrest has been made.", T + timedelta(hours=27)),
    ])
    assert stories["b"] == stories["a"]


def test_an_outlets_update_joins_its_story():
    """16% of real headlines are an outlet's second report of its story ("UPDATE 1-")."""
    stories = grouped([
        ("a", "wire", *_SHOOTING, T + timedelta(hours=9)),
        ("b", "herald", "Man killed, two hurt in shooting on Elm Street",
         "One man died and two people were hurt when shots were fired on Elm Street on Tuesday night, "
         "Springfield police said. The two wounded were taken to Mercy Hospital.", T + timedelta(hours=10)),
        ("c", "wire", "UPDATE 1-Man killed, two wounded in Elm Street shooting; police seek gunman",
         "A man was killed and two people were wounded in a shooting on Elm Street on Tuesday night, "
         "Springfield police said, adding that they were looking for a gunman who fled on foot. The wounded "
         "were taken to Mercy Hospital in stable condition.", T + timedelta(hours=12)),
    ])
    assert stories["a"] == stories["b"] == stories["c"]


def test_a_report_is_scored_against_the_story_as_a_whole():
    """Average link: a report close to one member of a story but unlike the rest does not join
    it (a chain of near neighbours is not one event)."""
    model = stage.default_model()
    index = StoryIndex(UTC)
    for i, (title, text) in enumerate([_SHOOTING, _SHOOTING]):
        index.add(f"s{i}", "story", f"outlet{i}", T, profile_of(title, text))
    probe = profile_of(*_SHOOTING)
    [(story, pairs)] = index.candidates(probe, T + timedelta(hours=1), "other")
    assert story == "story" and len(pairs) == 2
    found = index.assign(probe, T + timedelta(hours=1), "other")
    assert found.story_id == "story" and found.score == pytest.approx(
        sum(model.probability(x) for _, x in pairs) / 2, abs=1e-3)
    assert dict(found.features)["body"] > 0.9 and 0 < found.pair_score <= 1


# --- the model file -------------------------------------------------------------------------------

def test_the_shipped_model_names_its_features_and_how_it_was_fitted():
    model = StoryModel.load()
    assert len(model.weights) == len(FEATURES) and 0 < model.follow < model.join < 1
    assert model.fitted["by"] == "python -m bench stories --fit" and model.fitted["on"]
    assert not any(name.split()[-1].startswith("V") for name in model.fitted["on"])    # never a V window
    weights = dict(zip(FEATURES, model.weights))
    assert weights["body"] > 0 and weights["lead"] > 0 and weights["place_conflict"] < 0
    headlines = dict(zip(FEATURES, model.weights_textless))      # a second model for headlines alone,
    assert headlines["title"] != 0 and headlines["hours"] == headlines["day_conflict"] == 0   # blind to time


def test_a_model_file_of_other_features_is_refused(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"features": ["bias", "title"], "weights": [0, 1], "join": 0.5, "follow": 0.3}))
    with pytest.raises(ValueError, match="refit"):
        StoryModel.load(path)
    saved = tmp_path / "saved.json"
    model = StoryModel.load()
    model.save(saved)
    assert StoryModel.load(saved) == model


def test_logistic_fit_recovers_known_weights():
    np = pytest.importorskip("numpy")
    from bench.storyfit import fit_logistic

    rng = np.random.default_rng(3)
    x = np.column_stack([np.ones(20_000), rng.normal(size=(20_000, 2))])
    truth = np.array([-1.0, 2.0, -0.5])
    y = (rng.random(20_000) < 1 / (1 + np.exp(-x @ truth))).astype(float)
    fitted = fit_logistic(x, y, np.ones(len(y)), l2=0.0)
    assert np.allclose(fitted, truth, atol=0.1), fitted


# --- `newsmon stories group`: the run's grouping, in memory ------------------------------------------

def test_stories_group_gives_the_grouping_a_run_stores(site, make_config, clock, tmp_path):
    """A run over loopback feeds (one per outlet) stores each report's story; the same reports,
    as stored and in the order stored, given to `newsmon stories group`, get the same stories."""
    import subprocess
    import sys

    from conftest import rows
    from test_stories import _serve

    from bench.storyset import DEV_SET
    from pipeline.app.pipeline import run_once

    check = load(DEV_SET.with_name("check.txt")).english()
    by_outlet: dict[str, list] = {}
    for r in sorted(check.reports, key=lambda r: r.published):
        by_outlet.setdefault(r.outlet, []).append(r)
    config = make_config([_serve(site, reports, outlet) for outlet, reports in by_outlet.items()])
    run_once(config, clock=clock, force=True)
    stored = rows(config, "SELECT id, title, text, feed, published, coalesce(story_id, id) FROM articles "
                          "WHERE duplicate_of IS NULL ORDER BY rowid")
    assert len(stored) >= 15 and len({s for *_, s in stored}) < len(stored)      # some reports grouped
    lines = "".join(json.dumps({"id": i, "title": t, "text": x, "outlet": f, "published": p, "lang": "en"}) + "\n"
                    for i, t, x, f, p, _ in stored)
    done = subprocess.run([sys.executable, "-m", "pipeline", "stories", "group", "--config", str(config.path)],
                          input=lines, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    grouped_ = {d["id"]: d["story"] for d in map(json.loads, done.stdout.splitlines())}
    assert grouped_ == {i: s for i, *_, s in stored}
    assert not list(tmp_path.glob("**/*.db-journal"))


def test_stories_group_refuses_a_line_that_is_not_a_report(tmp_path):
    import subprocess
    import sys

    config = tmp_path / "c.toml"
    config.write_text('[storage]\ndatabase = "never.db"\n')
    done = subprocess.run([sys.executable, "-m", "pipeline", "stories", "group", "--config", str(config)],
                          input='{"id": "a", "title": "x"}\n', capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "line 1: not a report (missing 'published')" in done.stderr
    assert not (tmp_path / "never.db").exists()                     # no database touched


def test_the_fit_chooses_thresholds_on_what_it_is_given_and_the_result_loads(tmp_path):
    """`python -m bench stories --fit` in small: our dev set alone, weights fitted on its pairs,
    the join threshold chosen by grouping it, saved and read back."""
    from bench.storyfit import JOINS, fit

    dev = sorted(load().english().reports, key=lambda r: r.published)
    truth = {r.id: r.event for r in dev}
    said: list[str] = []
    model = fit([("ours", "dev", dev, truth, None)], ZoneInfo("Europe/Kyiv"), {}, said.append)
    assert len(model.weights) == len(FEATURES) and model.join in JOINS and model.vetoes in ((), ("place",))
    assert any("pairs" in line for line in said) and any("join" in line for line in said)
    path = tmp_path / "model.json"
    model.save(path)
    assert StoryModel.load(path).weights == pytest.approx(model.weights, abs=1e-4)


@pytest.mark.xfail(strict=True, reason="known limitation (issue 28): the truce's repair crews on a damaged "
                   "high-voltage line share title, lead and body words with the day before's grid repairs in a "
                   "14-report window whose document frequencies are nearly flat (body cosine 0.31 x 14.4); its "
                   "day conflict (-2.24) and its plant beside a story naming no place (place_alone, -2.32) bring "
                   "the pair to 0.60, over the join of 0.30")
def test_the_demos_truce_is_not_the_grid_repair_story():
    """The demo's local truce at the Zaporizhzhia plant (engineers reach a damaged power line) and
    the day before's grid repairs are two events: the previous stage kept them apart by the day."""
    from types import SimpleNamespace

    from pipeline.demo.content import ARTICLES

    reports = [SimpleNamespace(id=slug, title=title, text=" ".join(paragraphs) or title, outlet=outlet,
                               published=datetime.fromisoformat(published.replace("Z", "+00:00")))
               for slug, (outlet, title, published, paragraphs) in sorted(ARTICLES.items(), key=lambda kv: kv[1][2])]
    stories = dict(stage.group(reports, ZoneInfo("Europe/Kyiv")))
    assert stories["zaporizhzhia-local-truce"] != stories["grid-repairs-winter"]


def test_stories_why_shows_the_features_and_probability_behind_a_join(site, make_config, clock, tmp_path):
    """`newsmon stories --why ID` places a stored article again against the window the run had
    when it came, and says which story it joined with the model's features and probability."""
    import subprocess
    import sys

    from conftest import rows
    from test_stories import _by_id, _serve

    from pipeline.app.pipeline import run_once

    config = make_config([_serve(site, [_by_id("kharkiv-strike-0314", 1)], "meridian"),
                          _serve(site, [_by_id("kharkiv-strike-0314", 2)], "ledger")])
    run_once(config, clock=clock, force=True)
    stored = rows(config, "SELECT id, coalesce(story_id, id) FROM articles WHERE duplicate_of IS NULL ORDER BY rowid")
    [(first, story), (second, joined)] = stored
    assert joined == story == first

    def why(*args):
        return subprocess.run([sys.executable, "-m", "pipeline", "stories", "--why", *args, "--config",
                               str(config.path)], capture_output=True, text=True, timeout=120)

    said = json.loads(why(second[:10], "--json").stdout)
    assert said["article"] == second and said["model_story"] == story == said["story"]
    assert said["pair_features"]["body"] > 0 and said["score"] >= StoryModel.load().join and said["pair_score"] > 0
    human = why(second).stdout
    assert f"joined {story}" in human and "probability" in human and "body " in human
    assert "no story of its window was close" in why(first).stdout          # the first started it
    missing = why("nope")
    assert missing.returncode == 2 and "no article 'nope'" in missing.stderr


def test_a_named_facility_is_a_place_and_two_facilities_conflict():
    """Reports about two nuclear sites on one day (check.txt's IAEA pair merged when neither site
    counted as a place): the name before plant/site/station/dam... is where it happened."""
    zaporizhzhia = profile_of("IAEA chief visits nuclear plant", "The head of the agency crossed the front line on "
                              "Tuesday to visit the Zaporizhzhia nuclear power plant, the agency said.")
    chornobyl = profile_of("Drone damaged shelter roof", "A drone that struck the Chornobyl site in February tore "
                           "a hole in the shelter's roof, the agency said on Tuesday.")
    assert "zaporizhzhia" in zaporizhzhia.places and "chornobyl" in chornobyl.places
    assert stage._place_conflict(zaporizhzhia, chornobyl)
    # not a place: a word the text writes in lower case too, a demonym, an acronym
    assert not profile_of("", "Officials at the Energy ministry said the power plant was repaired; energy "
                          "prices fell.").places


def test_our_hard_negatives_are_marked_and_can_weigh_more_in_the_fit():
    """A pair of two events labelled apart is marked, and weighing those more (hard_weight; the
    shipped fit HARD_NEGATIVE) moves the fitted weights."""
    from bench.storyfit import labelled_pairs

    ours = load().english()
    dev = sorted(ours.reports, key=lambda r: r.published)
    truth = {r.id: r.event for r in dev}
    x, y, hard = labelled_pairs(dev, truth, ZoneInfo("Europe/Kyiv"), {}, ours.apart)
    assert len(x) == len(y) == len(hard) and hard.sum() >= 10 and not y[hard].any()
    _, _, none = labelled_pairs(dev, truth, ZoneInfo("Europe/Kyiv"), {})
    assert not none.any()
    from bench.storyfit import fit

    plain = fit([("ours", "dev", dev, truth, None)], ZoneInfo("Europe/Kyiv"), {}, lambda *_: None, ours.apart, 1.0)
    heavy = fit([("ours", "dev", dev, truth, None)], ZoneInfo("Europe/Kyiv"), {}, lambda *_: None, ours.apart, 10.0)
    assert plain.weights != pytest.approx(heavy.weights, abs=0.05)


def test_a_local_event_beside_a_national_one_is_a_feature():
    """One report places itself (a city, a named plant) and the other names no place and never
    mentions it: `place_alone`, which the fit weighs against a join."""
    local = profile_of("Truce at the plant", "A local ceasefire held around the Zaporizhzhia nuclear power plant.")
    national = profile_of("Grid repairs", "Repair crews are restoring transformers across the country, the operator said.")
    mentions = profile_of("Grid repairs", "Crews are restoring lines, including those of the Zaporizhzhia plant.")
    assert stage._place_alone(local, national) and stage._place_alone(national, local)
    assert not stage._place_alone(local, mentions) and not stage._place_alone(local, local)
    assert StoryModel.load().weights[FEATURES.index("place_alone")] < 0


def test_the_next_nights_strike_is_linked_as_a_follow_up():
    """dev.txt's second night of strikes on Kharkiv (another occurrence: its own story) follows up
    the first night's story: judged on its closest report there (the first night's wire report),
    not on the average over the story, which its analysis pieces pull under `follow`."""
    reports = sorted(load().english().reports, key=lambda r: r.published)
    index, first, linked = StoryIndex(ZoneInfo("Europe/Kyiv")), {}, {}
    for r in reports:
        profile = profile_of(r.title, r.text)
        found = index.assign(profile, r.published, r.outlet)
        story = found.story_id or r.id
        first.setdefault(r.event, story)
        linked.setdefault(r.event, found.follow_up_of)
        index.add(r.id, story, r.outlet, r.published, profile)
    assert first["kharkiv-strike-0315"] != first["kharkiv-strike-0314"]
    assert linked["kharkiv-strike-0315"] == first["kharkiv-strike-0314"]


def test_an_age_is_read_with_its_noun():
    """"a 14-year-old boy" and "Girl, 8," are two people; a bare age gives no person (it may be the
    suspect's as well as the victim's). The pair feature `persons_conflict` is offered to the fit."""
    from pipeline.stages.persons import persons

    assert persons("A 14-year-old boy was shot; Girl, 8, hurt; a woman aged 31 and a man, 25, fled") == \
        {"14m", "8f", "31f", "25m"}
    assert persons("a 16-year-old was shot, police said, in 1994") == frozenset()
    a = profile_of("14-year-old boy fatally shot in Austin", "A 14-year-old boy was shot and killed in Austin.")
    b = profile_of("Girl, 8, shot in North Austin", "An 8-year-old girl was shot in North Austin.")
    c = profile_of("Boy, 14, dies after Austin shooting", "The 14-year-old boy shot on Saturday died.")
    d = profile_of("Teen arrested in Austin shooting", "Police arrested a 19-year-old over the boy's shooting.")
    index = StoryIndex(UTC)
    conflict = FEATURES.index("persons_conflict")
    assert index.pair(a, b, T)[0][conflict] == 1.0 and index.pair(a, c, T)[0][conflict] == 0.0
    assert a.ages != d.ages and index.pair(a, d, T)[0][conflict] == 0.0    # the suspect's age is no conflict


def test_a_count_after_the_noun_is_no_age_and_one_victims_age_may_differ_by_a_year():
    """"Boy, 2 Others Wounded" gives no 2-year-old boy; reports of one incident that give a boy as
    10 and as 11 name one person; the titles' people (whom a report is about) are kept apart."""
    from pipeline.stages.persons import persons
    from pipeline.stages.storypairs import persons_conflict

    assert persons("1 Man Killed, Boy, 2 Others Wounded in Shootings") == frozenset()
    assert persons("Mom Charged After Son, 8, Shoots Himself") == {"8m"}
    assert not persons_conflict(frozenset({"10m"}), frozenset({"11m"}))
    assert persons_conflict(frozenset({"10m"}), frozenset({"12m"})) and persons_conflict(frozenset({"8f"}), frozenset({"8m"}))
    a = profile_of("Boy, 11, recovering after father shoots him", "A 10-year-old boy and his 35-year-old father...")
    assert a.title_persons == {"11m"} and a.persons == {"11m", "10m", "35m"}


@pytest.mark.parametrize("first, second", [
    ("Barclays to cut 19000 jobs in strategy overhaul", "Barclays Plans to Cut 19000 Jobs at Investment Bank by 2016"),
    ("Uncertainty over where Barclays job cuts will be", "Barclays To Cut 19000 Jobs"),
    ("Barclays to axe jobs in 'bold' overhaul", "Barclays unveils bold overhaul"),
    ("UPDATE 2-Barclays axes 19000 jobs", "Barclays axes 19000 jobs")])
def test_one_word_is_one_term_whatever_the_headlines_style(first, second):
    """A name kept whole ("Barclays" read as a name) and the same word stemmed in a Title Case
    headline are one term; a closing quote is no part of a word; a Title Case headline is told by
    its words, not its numbers or small words; a wire's "UPDATE 2-" is no term."""
    a, b = profile_of(first, ""), profile_of(second, "")
    assert {"barclay"} <= set(a.title) & set(b.title)
    assert not {t for t in set(a.title) | set(b.title) if not t.isalnum()}, (a.title, b.title)
    assert "updat" not in a.title and "plans" not in b.entities


def test_a_votes_tally_is_its_key_count_and_tells_two_votes_apart():
    """"243 lawmakers in favour" and "198 votes in favour": two votes (a bill's first reading and
    the next day's second), told apart by tallies_conflict; a tally is no death toll."""
    a = profile_of("Parliament backs mobilisation bill in first reading",
                   "Ukraine's parliament on Tuesday approved in first reading a bill lowering the mobilisation age "
                   "to 23 from 25, with 243 lawmakers in favour, the speaker's office said.")
    b = profile_of("Lawmakers reject mobilisation bill in final vote",
                   "Ukraine's parliament on Wednesday rejected the bill lowering the mobilisation age to 23, with only "
                   "198 votes in favour, short of the 226 needed.")
    c = profile_of("Rada backs mobilisation bill", "243 deputies voted for the bill lowering the mobilisation age to 23.")
    assert (a.tallies, b.tallies, c.tallies) == ({243}, {198}, {243}) and not a.killed | b.killed
    assert profile_of("x", "243 people's deputies voted in favour. How many voted? 262 deputies.").tallies == {243, 262}
    assert not profile_of("x", "Three members of a family and 12 members of the club were shot.").tallies
    index, tallies = StoryIndex(UTC), FEATURES.index("tallies_conflict")
    assert index.pair(b, a, T)[0][tallies] == 1.0 and index.pair(c, a, T)[0][tallies] == 0.0
    assert stage.default_model().weights[tallies] < -3


@pytest.mark.parametrize("title, expected", [
    ("1 dead, 3 injured in Shreveport shooting - KSLA News 12 Shreveport, Louisiana News Weather & Sports",
     "1 dead, 3 injured in Shreveport shooting"),
    ("Search continues for woman accused of shooting 5 in nightclub - WMC Action News 5 - Memphis, Tennessee",
     "Search continues for woman accused of shooting 5 in nightclub"),
    ("Opinion | Why the truce at the plant will not hold", "Opinion | Why the truce at the plant will not hold"),
    ("Barclays to reveal 20000 job cuts - reports", "Barclays to reveal 20000 job cuts - reports"),
    ("Ukraine - Russia talks resume in Istanbul", "Ukraine - Russia talks resume in Istanbul")])
def test_a_pages_title_is_read_without_the_sites_name(title, expected):
    """A scraped page's title carries the site's name: its words, numbers ("News 12") and places
    are not the event's, and every report of that outlet would share them."""
    from pipeline.stages.words import headline

    assert headline(title) == expected
    a = profile_of("2 dead, 2 wounded in quadruple shooting in New Orleans - KSLA News 12 Shreveport", "")
    b = profile_of("Caretaker booked after 8-year-old shoots brother - KSLA News 12 Shreveport", "")
    assert a.title_numbers == {"2"} and not {"ksla", "news", "shreveport"} & (set(a.title) | set(b.title))
    assert set(a.title) & set(b.title) == {"shoot"} and not a.places & b.places


def test_a_headline_alone_is_compared_with_as_many_of_a_storys_reports_as_the_model_says():
    """`recent_textless` (chosen by the fit with the headline link and threshold): a headline alone
    is compared with that many of a story's most recent reports; a report with text with LINK."""
    from dataclasses import replace

    words = ["".join(chr(97 + (5 * i + 3 * k) % 26) for k in range(7)) for i in range(20)]   # one rare word each
    index = StoryIndex(UTC, replace(stage.default_model(), recent_textless=16))
    for i in range(20):
        index.add(f"h{i}", "story", f"outlet{i}", T + timedelta(minutes=i),
                  profile_of(f"Acme recalls widgets over {words[i]} fire risk", ""))
    probe = f"Acme widget recall widens to {words[0]} {words[1]} {words[2]}"
    [(_, pairs)] = index.candidates(profile_of(probe, ""), T + timedelta(hours=1), "x")
    assert len(pairs) == 16 and pairs[0][0].article_id == "h4"
    [(_, pairs)] = index.candidates(profile_of(probe, "Acme recalls widgets over a fire risk, the company said on "
                                               "Tuesday, after reports of fires in three homes."),
                                    T + timedelta(hours=1), "x")
    assert len(pairs) == stage.LINK
