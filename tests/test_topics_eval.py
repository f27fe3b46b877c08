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
