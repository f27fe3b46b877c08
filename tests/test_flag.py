import pytest

from pipeline.stages.flag import TopicMatcher, relevance
from pipeline.topics import DEFAULT_TOPICS, TopicRule

MATCHER = TopicMatcher(DEFAULT_TOPICS)


def topics(text: str, title: str = "") -> list[str]:
    return sorted({m.topic for m in MATCHER.match(title, text)})


@pytest.mark.parametrize("text, expected", [
    ("NATO ministers met.", ["nato"]),
    ("Nato's summit ended.", ["nato"]),
    ("The N.A.T.O. charter.", ["nato"]),
    ("The North Atlantic Treaty Organization said.", ["nato"]),
    ("Les pays de l'OTAN.", ["nato"]),
    ("Саміт НАТО відбувся.", ["nato"]),
    ("The senator spoke.", []),
    ("Senator Donato visited Riga.", []),
    ("È nato a Roma.", []),
    ("A ceasefire was agreed.", ["ceasefire"]),
    ("A cease-fire was agreed.", ["ceasefire"]),
    ("A cease fire was agreed.", ["ceasefire"]),
    ("Guns ceased firing at dawn.", []),
    ("The truce held.", ["ceasefire"]),
    ("The armistice held.", ["ceasefire"]),
    ("The 1953 armistice.", []),              # history, not news (an exclude)
    ("Сторони домовилися про перемир’я.", ["ceasefire"]),
    ("Стороны обсудили перемирие.", ["ceasefire"]),
    ("Ein Waffenstillstand wurde vereinbart.", ["ceasefire"]),
    ("Un cessez-le-feu a été signé.", ["ceasefire"]),
    ("Occupied territory.", ["territory"]),
    ("Territorial integrity matters.", ["territory"]),
    ("The territories in the east.", ["territory"]),
    ("Окуповані території.", ["territory"]),
    ("Darwin, Northern Territory.", []),
    ("Extraterritorial courts.", []),
])
def test_whole_word_unicode_matching(text, expected):
    assert topics(text) == expected


def test_match_keeps_offsets_field_and_sentence():
    text = "First sentence here. Talks on a cease-fire resumed in Geneva! Last one."
    [m] = MATCHER.match("", text)
    assert (m.topic, m.field, m.term) == ("ceasefire", "text", "cease-fire")
    assert text[m.start:m.end] == "cease-fire" == m.matched
    assert m.sentence == "Talks on a cease-fire resumed in Geneva!"


def test_title_hits_come_first_and_weigh_more():
    matches = MATCHER.match("NATO summit", "NATO met. NATO agreed.")
    assert matches[0].field == "title"
    assert relevance(matches, "nato") == 5 + 2


def test_operator_rules_with_patterns_exclude_and_case_sensitive_terms():
    rule = TopicRule(id="grain", label="Grain", terms=("grain corridor",), patterns=(r"\bwheat\w*",),
                     exclude=("grain corridor museum",), case_sensitive=("WFP",))
    m = TopicMatcher((rule,))
    assert {x.matched for x in m.match("", "The graincorridor and wheat exports; WFP says.")} == \
        {"graincorridor", "wheat", "WFP"}
    assert m.match("", "The Grain Corridor Museum opened. wfp is lower case.") == ()
