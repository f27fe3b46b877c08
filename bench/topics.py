"""Topic rules: precision/recall on the labelled set, and flagging throughput.

    python -m bench topics [--articles 10000] [--words 800]

The labelled set (tests/data/topics_labelled.tsv) is the project's own: true mentions in every
spelling and language the defaults cover, and traps (senator, Donato, "ceased firing",
Northern Territory, …). tests/test_topics_eval.py asserts precision and recall of 1.0 on it.

The real set is every sentence of the feed captures and news pages in ../shared/corpora/external
(third-party data, read where it lies, never copied here) that the default rules flag or once
flagged, labelled by hand in bench/topics_real_labels.tsv by a hash of the sentence (with a note
in our words). A flagged sentence without a label is printed, so the labels stay complete; the
corpus was also searched for unflagged mentions (annex, occupied, alliance, cease…) and had none,
so recall there is over the labelled mentions.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import lzma
import random
import re
import tarfile
import time
from pathlib import Path

from pipeline.stages.flag import TopicMatcher
from pipeline.topics import DEFAULT_TOPICS, TopicRule

from .common import save, table

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "topics_labelled.tsv"
REAL_LABELS = Path(__file__).resolve().parent / "topics_real_labels.tsv"
CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "external"
_TAG = re.compile(r"<[^>]+>")
_SENTENCE = re.compile(r"(?<=[.!?…])[\"'”’»)\]]*\s+|\n+")


def load_labelled(path: Path = LABELLED) -> list[tuple[set[str], str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("topics\t"):
            continue
        labels, sentence = line.split("\t", 1)
        rows.append((set() if labels == "-" else set(labels.split(",")), sentence))
    return rows


def sentence_key(sentence: str) -> str:
    return hashlib.sha1(sentence.encode("utf-8")).hexdigest()[:12]


def corpus_sentences(corpus: Path = CORPUS) -> dict[str, tuple[str, str]]:
    """key -> (source, sentence) for every sentence of the captured feeds (titles, summaries,
    contents; markup and entities removed) and of the news pages' checked article bodies."""
    import feedparser

    texts: list[tuple[str, str]] = []
    with tarfile.open(corpus / "feeds.tar.xz") as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not member.isfile() or member.name.endswith("LICENSE"):
                continue
            parsed = feedparser.parse(tar.extractfile(member).read())
            for e in parsed.entries:
                parts = [e.get("title", ""), e.get("summary", "")] + [c.get("value", "") for c in e.get("content", [])]
                texts += [(member.name, html.unescape(_TAG.sub(" ", p or ""))) for p in parts]
    truth = json.loads(lzma.open(corpus / "aeb" / "ground-truth.json.xz").read())
    texts += [(f"aeb/{k[:12]}", v.get("articleBody", "")) for k, v in sorted(truth.items())]
    out: dict[str, tuple[str, str]] = {}
    for source, text in texts:
        for piece in _SENTENCE.split(text):
            sentence = " ".join(piece.split())
            if sentence:
                out.setdefault(sentence_key(sentence), (source, sentence))
    return out


def load_real(corpus: Path = CORPUS, labels_path: Path = REAL_LABELS):
    """(rows, unlabelled, missing): the labelled real sentences as (labels, sentence), the
    sentences the default rules flag that have no label, and labels whose sentence is gone."""
    labels: dict[str, set[str]] = {}
    for line in labels_path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, topics, _source, _note = line.split("\t", 3)
            labels[key] = set() if topics == "-" else set(topics.split(","))
    sentences = corpus_sentences(corpus)
    matcher = TopicMatcher(DEFAULT_TOPICS)
    rows = [(labels[k], sentences[k][1]) for k in labels if k in sentences]
    unlabelled = [f"{k}\t{src}\t{text}" for k, (src, text) in sentences.items()
                  if k not in labels and matcher.match("", text)]
    return rows, unlabelled, sorted(set(labels) - set(sentences))


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


def print_scores(title: str, scores: dict) -> None:
    """Precision and recall per topic, then each topic's errors, one a line."""
    table(title, [(t, f"precision {s['precision']:.3f}  recall {s['recall']:.3f}  "
                      f"(tp {s['tp']}, fp {s['fp']}, fn {s['fn']})") for t, s in scores.items()])
    for t, s in scores.items():
        for e in s["errors"]:
            print(f"  {t}: {e}")


def run(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench topics")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--words", type=int, default=800)
    args = parser.parse_args(argv)
    rows = load_labelled()
    matcher = TopicMatcher(DEFAULT_TOPICS)
    scores = evaluate(DEFAULT_TOPICS, rows)
    print_scores(f"Default topic rules on {len(rows)} labelled sentences", scores)
    real = None
    if (CORPUS / "feeds.tar.xz").exists():
        real_rows, unlabelled, missing = load_real()
        real = evaluate(DEFAULT_TOPICS, real_rows)
        print_scores(f"Default topic rules on {len(real_rows)} real sentences (feed captures and news pages)", real)
        for line in unlabelled:
            print(f"  flagged but not labelled in {REAL_LABELS.name}: {line}")
        for key in missing:
            print(f"  labelled but not in the corpus: {key}")
    else:
        print(f"(no corpus at {CORPUS}: real sentences not measured)")

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
               "articles_per_second": rate,
               "real": real and {t: {k: v for k, v in s.items() if k != "errors"} for t, s in real.items()}}
    save("topics", figures)
    return figures
