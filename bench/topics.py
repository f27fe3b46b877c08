"""Topic rules: precision/recall on the labelled set, and flagging throughput.

    python -m bench topics [--articles 10000] [--words 800]

The labelled set (tests/data/topics_labelled.tsv) is the project's own: true mentions in every
spelling and language the defaults cover, and traps (senator, Donato, "ceased firing",
Northern Territory, …). tests/test_topics_eval.py asserts precision and recall of 1.0 on it.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from pipeline.stages.flag import TopicMatcher
from pipeline.topics import DEFAULT_TOPICS, TopicRule

from .common import save, table

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "topics_labelled.tsv"


def load_labelled(path: Path = LABELLED) -> list[tuple[set[str], str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("topics\t"):
            continue
        labels, sentence = line.split("\t", 1)
        rows.append((set() if labels == "-" else set(labels.split(",")), sentence))
    return rows


def evaluate(rules: tuple[TopicRule, ...], rows: list[tuple[set[str], str]]) -> dict[str, dict]:
    """Per topic of `rules`: true/false positives, false negatives, precision, recall, and the misses."""
    matcher = TopicMatcher(rules)
    out = {}
    for topic in (r.id for r in rules):
        tp = fp = fn = 0
        errors = []
        for labels, sentence in rows:
            found = topic in {m.topic for m in matcher.match("", sentence)}
            expected = topic in labels
            tp += found and expected
            fp += found and not expected
            fn += expected and not found
            if found != expected:
                errors.append(("false positive" if found else "missed") + f": {sentence}")
        out[topic] = {"tp": tp, "fp": fp, "fn": fn,
                      "precision": tp / (tp + fp) if tp + fp else 1.0,
                      "recall": tp / (tp + fn) if tp + fn else 1.0, "errors": errors}
    return out


def _articles(n: int, words: int, rows: list[tuple[set[str], str]]) -> list[str]:
    """Article-length texts: filler prose with a few labelled sentences mixed in."""
    rng = random.Random(5)
    filler = [s for labels, s in rows if not labels]
    mentions = [s for labels, s in rows if labels]
    texts = []
    for _ in range(n):
        sentences, count = [], 0
        while count < words:
            s = rng.choice(mentions) if rng.random() < 0.08 else rng.choice(filler)
            sentences.append(s)
            count += len(s.split())
        texts.append(" ".join(sentences))
    return texts


def run(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench topics")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--words", type=int, default=800)
    args = parser.parse_args(argv)
    rows = load_labelled()
    matcher = TopicMatcher(DEFAULT_TOPICS)
    scores = evaluate(DEFAULT_TOPICS, rows)
    table(f"Default topic rules on {len(rows)} labelled sentences", [
        (t, f"precision {s['precision']:.3f}  recall {s['recall']:.3f}  (tp {s['tp']}, fp {s['fp']}, fn {s['fn']})")
        for t, s in scores.items()])
    for t, s in scores.items():
        for e in s["errors"]:
            print(f"  {t}: {e}")

    texts = _articles(args.articles, args.words, rows)
    start = time.perf_counter()
    flagged = sum(bool(matcher.match("", t)) for t in texts)
    seconds = time.perf_counter() - start
    rate = args.articles / seconds
    table(f"Flagging throughput, one core, {args.articles:,} articles of ~{args.words} words", [
        ("articles per second", f"{rate:,.0f}"),
        ("per article", f"{seconds / args.articles * 1000:.3f} ms"),
        ("articles with a topic", f"{flagged:,}"),
        ("goal", "2,000/s"),
    ])
    figures = {"labelled": len(rows), "scores": {t: {k: v for k, v in s.items() if k != "errors"}
                                                  for t, s in scores.items()},
               "articles_per_second": rate}
    save("topics", figures)
    return figures
