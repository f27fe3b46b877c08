"""The default rules on the project's labelled set: every mention found, no trap flagged."""

from bench.topics import LABELLED, evaluate, load_labelled
from pipeline.topics import DEFAULT_TOPICS


def test_labelled_set_is_large_and_covers_every_topic_and_trap():
    rows = load_labelled(LABELLED)
    assert len(rows) >= 150
    for topic in ("nato", "ceasefire", "territory"):
        assert sum(topic in labels for labels, _ in rows) >= 30
    assert sum(not labels for _, labels in [(r[1], r[0]) for r in rows]) >= 50


def test_default_rules_have_precision_and_recall_of_one():
    scores = evaluate(DEFAULT_TOPICS, load_labelled(LABELLED))
    for topic, s in scores.items():
        assert s["errors"] == [], topic
        assert s["precision"] == 1.0 and s["recall"] == 1.0


def test_the_false_positive_kinds_seen_on_real_feeds_do_not_fire():
    """Issue 24: territorial defence units, overseas territories, sales territories, historical
    armistices (anniversaries, exhibits) and trade truces, as real feeds wrote them; the true
    mentions beside them still fire."""
    from pipeline.stages.flag import TopicMatcher

    matcher = TopicMatcher(DEFAULT_TOPICS)

    def topics(sentence: str) -> set[str]:
        return {m.topic for m in matcher.match("", sentence)}

    for sentence in ("Members of a territorial defence unit cleared the roads.",
                     "The Territorial Defense Forces recruited volunteers.",
                     "Територіальна оборона отримала нову техніку.",
                     "The UK is still protecting its overseas territories from financial transparency.",
                     "The phone maker opened new sales territories in Asia.",
                     "A history exhibit on armistices opened at the museum.",
                     "Veterans marked Armistice Day.",
                     "Officials marked the anniversary of the armistice that ended the Korean War.",
                     "The village remembered the 1918 armistice.",
                     "Hopes of a trade truce drove European stocks higher."):
        assert topics(sentence) == set(), sentence
    assert topics("Russia wants the territory its troops occupy; Kyiv rejects a truce.") == {"territory", "ceasefire"}
    assert topics("North Korea says it is no longer bound by the armistice.") == {"ceasefire"}
    assert topics("Troops entered new territories in the east.") == {"territory"}


def test_real_sentences_are_measured_when_the_corpus_is_here():
    """bench topics measures the rules on the feed captures too; every flagged sentence is
    labelled, and the listed kinds (overseas territories, trade truce, a capital territory,
    "dangerous territory") are no longer false positives there."""
    import pytest

    from bench.topics import CORPUS, load_real

    if not (CORPUS / "feeds.tar.xz").exists():
        pytest.skip(f"no corpus at {CORPUS}")
    rows, unlabelled, missing = load_real()
    assert len(rows) >= 16 and unlabelled == [] and missing == []
    scores = evaluate(DEFAULT_TOPICS, rows)
    assert all(s["recall"] == 1.0 for s in scores.values())
    assert scores["ceasefire"]["fp"] == 0 and scores["territory"]["fp"] <= 6
    errors = " ".join(scores["territory"]["errors"])
    for kind in ("overseas territories", "Federal Capital Territory", "dangerous territory"):
        assert kind not in errors
