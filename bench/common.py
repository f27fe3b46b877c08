"""Helpers shared by the benchmarks: generated text, timing, memory, table printing."""

from __future__ import annotations

import json
import resource
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results.json"


def rss_mb() -> float:
    """Current resident set size of this process, in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6


def peak_rss_mb(children: bool = False) -> float:
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


@contextmanager
def timed(out: dict, key: str):
    start = time.perf_counter()
    yield
    out[key] = time.perf_counter() - start


class TextGenerator:
    """News-like text from a Zipf-distributed vocabulary: fast, reproducible, realistic overlap."""

    def __init__(self, seed: int = 1, vocabulary: int = 30_000):
        self.rng = np.random.default_rng(seed)
        self.words = np.array([f"w{i}" for i in range(vocabulary)])
        ranks = np.arange(1, vocabulary + 1)
        self.p = (1 / ranks ** 1.05) / (1 / ranks ** 1.05).sum()

    def text(self, words: int = 600) -> str:
        ids = self.rng.choice(len(self.words), size=words, p=self.p)
        tokens = self.words[ids]
        # sentences of ~20 words, paragraphs of ~5 sentences
        out, para = [], []
        for i in range(0, words, 20):
            para.append(" ".join(tokens[i:i + 20]) + ".")
            if len(para) == 5:
                out.append(" ".join(para))
                para = []
        if para:
            out.append(" ".join(para))
        return "\n".join(out)


def table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"\n{title}")
    print("-" * (width + 20))
    for k, v in rows:
        print(f"{k.ljust(width)}  {v}")


def save(name: str, figures: dict) -> None:
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[name] = figures
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")
