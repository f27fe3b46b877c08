"""Extraction quality and speed on real pages with ground truth, newsmon against plain trafilatura.

    python -m bench extraction [--workers 2] [--thresholds 0 1000 2000]

Two sets from ../shared/corpora (skipped when absent):
- the article-extraction benchmark (external/aeb): 181 news pages and the hand-checked
  `articleBody` of each, scored as that benchmark scores: shingles of 4 word tokens, precision and
  recall per page, F1 of each page, averaged over pages;
- trafilatura's own evaluation set (trafilatura-eval): 300 multilingual pages, each with sentences
  that belong to the main text and sentences that do not, scored as trafilatura scores it
  (precision and recall over all those sentences).

Compared: the text newsmon stores for a page (`extract_page`: fast pass first, cleaned, headline
dropped), the same with `[extract] thorough = true`, and `trafilatura.extract(html)` with its
defaults, the call a user's own script makes. CPU milliseconds per page are per process.
"""

from __future__ import annotations

import argparse
import json
import lzma
import re
import tarfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .common import save, table

CORPORA = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"
AEB = CORPORA / "external" / "aeb"
TEV = CORPORA / "trafilatura-eval"
_WORD = re.compile(r"\w+")


def aeb_pages() -> list[tuple[bytes, str]]:
    """(page, articleBody) of the article-extraction benchmark, in the ground truth's order."""
    with lzma.open(AEB / "ground-truth.json.xz") as f:
        truth = json.load(f)
    pages = {}
    with tarfile.open(AEB / "pages.tar.xz") as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".html"):
                pages[Path(member.name).stem] = tar.extractfile(member).read()
    return [(pages[key], value["articleBody"]) for key, value in truth.items() if key in pages]


def tev_pages() -> list[tuple[bytes, list[str], list[str]]]:
    """(page, sentences of the main text, sentences that are not) of trafilatura's evaluation set."""
    data = json.loads((TEV / "evaldata.json").read_text())
    return [((TEV / "pages" / doc["file"]).read_bytes(), doc["with"], doc["without"])
            for doc in data.values() if (TEV / "pages" / doc["file"]).is_file()]


def _shingles(text: str, n: int = 4) -> Counter:
    tokens = _WORD.findall(text)
    return Counter(tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1))) if tokens else Counter()


def aeb_score(truths: list[str], texts: list[str | None]) -> dict[str, float]:
    """Mean per-page precision, recall and F1 over 4-word shingles (the benchmark's metric)."""
    precision, recall, f1 = [], [], []
    for truth, text in zip(truths, texts):
        want, got = _shingles(truth), _shingles(text or "")
        hit = sum((want & got).values())
        p = hit / sum(got.values()) if got else 0.0
        r = hit / sum(want.values()) if want else 1.0
        precision.append(p)
        recall.append(r)
        f1.append(2 * p * r / (p + r) if p + r else 0.0)
    n = len(f1) or 1
    return {"precision": sum(precision) / n, "recall": sum(recall) / n, "f1": sum(f1) / n}


def tev_score(expected: list[tuple[list[str], list[str]]], texts: list[str | None]) -> dict[str, float]:
    """Precision and recall over the sentences that should and should not be in each text."""
    found = missed = intruded = 0
    for (wanted, unwanted), text in zip(expected, texts):
        text = text or ""
        found += sum(s in text for s in wanted)
        missed += sum(s not in text for s in wanted)
        intruded += sum(s in text for s in unwanted)
    p = found / (found + intruded) if found + intruded else 0.0
    r = found / (found + missed) if found + missed else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def _newsmon(pages: list[bytes], thorough: bool, fast_enough: int) -> tuple[list[str | None], float]:
    from pipeline.stages.extract import _init_worker, extract_page

    _init_worker(4096, (), (), thorough)
    start = time.process_time()
    texts = [(page.text if (page := extract_page(html, None, "", fast_enough)) else None) for html in pages]
    return texts, time.process_time() - start


def _plain(pages: list[bytes]) -> tuple[list[str | None], float]:
    import trafilatura

    start = time.process_time()
    texts = [trafilatura.extract(html) for html in pages]
    return texts, time.process_time() - start


def _run(job: tuple[list[bytes], bool | None, int]) -> tuple[list[str | None], float]:
    """One extractor over `pages`: plain trafilatura when `thorough` is None, else newsmon's."""
    pages, thorough, fast_enough = job
    return _plain(pages) if thorough is None else _newsmon(pages, thorough, fast_enough)


def extract_all(pages: list[bytes], workers: int = 2,
                thresholds: tuple[int, ...] = ()) -> dict[str, tuple[list[str | None], float]]:
    """Each extractor's texts for `pages` and its CPU ms per page, in parallel processes: newsmon,
    newsmon thorough, plain trafilatura, and newsmon with other fast-pass thresholds (0: the fast
    pass alone)."""
    from pipeline.stages.extract import FAST_PASS_MIN_CHARS

    jobs = {"newsmon": (False, FAST_PASS_MIN_CHARS), "thorough": (True, FAST_PASS_MIN_CHARS),
            "plain": (None, 0)}
    jobs.update({f"fast pass under {n}": (False, n) for n in thresholds})
    with ProcessPoolExecutor(workers, max_tasks_per_child=1) as pool:   # a fresh process each (its memory cap)
        done = list(pool.map(_run, [(pages, thorough, enough) for thorough, enough in jobs.values()]))
    return {name: (texts, cpu * 1000 / max(1, len(pages))) for name, (texts, cpu) in zip(jobs, done)}


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench extraction")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--thresholds", type=int, nargs="*", default=[],
                        help="also newsmon with the full pass below these sizes (0: the fast pass alone)")
    args = parser.parse_args(argv)
    figures, rows = {}, []
    sets = []
    if AEB.is_dir():
        aeb = aeb_pages()
        sets.append(("aeb", [p for p, _ in aeb], lambda texts: aeb_score([t for _, t in aeb], texts)))
    if TEV.is_dir():
        tev = tev_pages()
        sets.append(("trafilatura-eval", [p for p, _, _ in tev], lambda texts: tev_score([(w, wo) for _, w, wo in tev], texts)))
    if not sets:
        print("extraction: ../shared/corpora is absent; nothing to measure")
        return
    for name, pages, score in sets:
        results = extract_all(pages, args.workers, tuple(args.thresholds))
        figures[name] = {who: {**score(texts), "ms_per_page": ms} for who, (texts, ms) in results.items()}
        for who, f in figures[name].items():
            rows.append((f"{name} ({len(pages)} pages): {who}",
                         f"P {f['precision']:.3f}  R {f['recall']:.3f}  F1 {f['f1']:.3f}  {f['ms_per_page']:.1f} ms/page"))
    table("Extraction: newsmon (fast pass first), newsmon thorough, plain trafilatura.extract", rows)
    save("extraction", figures)
