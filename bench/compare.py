"""newsmon against the script a user would write instead (bench/baseline.py), side by side.

    python -m bench compare [--feeds 1000] [--items 5] [--rounds 3] [--scaling 250 1000 4000]

Both run as subprocesses against the same loopback feed farm (50 ms latency, no article pages),
in interleaved rounds on fresh databases; each figure is the median wall time. Reported: the
feeds-only first run and the no-op rerun (every feed answers 304) at `--feeds`, each as a ratio
newsmon / script (below 1: newsmon is faster), and the first run at each `--scaling` size with the
cost per feed (flat = linear).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import save, table
from .pipeline import ROOT, Farm, write_config


def _timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed ({done.returncode}): {done.stderr[-1500:]}")
    return time.perf_counter() - start


def newsmon(config: Path) -> float:
    return _timed([sys.executable, "-m", "pipeline", "-q", "run", "--force", "--config", str(config)])


def script(db: Path, urls: list[str]) -> float:
    return _timed([sys.executable, "-m", "bench.baseline", str(db), *urls])


def one_round(farm: Farm, tmp: Path, n: int) -> dict[str, float]:
    urls = farm.urls()
    config = write_config(tmp / f"n{n}", urls, False, 32)
    db = tmp / f"s{n}.db"
    plain = [u for _, u in urls]
    return {"newsmon_first": newsmon(config), "script_first": script(db, plain),
            "newsmon_rerun": newsmon(config), "script_rerun": script(db, plain)}


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench compare")
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scaling", type=int, nargs="*", default=[250, 1000, 4000])
    args = parser.parse_args(argv)
    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        farm = Farm(args.feeds, args.items, 0.05, 250, None)
        try:
            rounds = [one_round(farm, Path(tmp), n) for n in range(args.rounds)]
        finally:
            farm.stop()
        med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        figures["side_by_side"] = med
        scaling = {}
        for size in args.scaling:
            farm = Farm(size, args.items, 0.05, 250, None)
            try:
                config = write_config(Path(tmp) / f"scale{size}", farm.urls(), False, 32)
                scaling[size] = {"newsmon": newsmon(config), "script": script(Path(tmp) / f"scale{size}.db",
                                                                              [u for _, u in farm.urls()])}
            finally:
                farm.stop()
        figures["scaling"] = scaling
    rows = [
        (f"first run, {args.feeds} feeds x {args.items}", f"newsmon {med['newsmon_first']:.2f} s, script "
         f"{med['script_first']:.2f} s, newsmon/script {med['newsmon_first'] / med['script_first']:.2f} (target <= 0.8)"),
        (f"no-op rerun, {args.feeds} feeds (304)", f"newsmon {med['newsmon_rerun']:.2f} s, script "
         f"{med['script_rerun']:.2f} s, newsmon/script {med['newsmon_rerun'] / med['script_rerun']:.2f} (target <= 1.0)"),
    ]
    rows += [(f"first run, {size} feeds", f"newsmon {s['newsmon']:.2f} s ({s['newsmon'] / size * 1000:.1f} ms/feed), "
              f"script {s['script']:.2f} s ({s['script'] / size * 1000:.1f} ms/feed), ratio {s['newsmon'] / s['script']:.2f}")
             for size, s in scaling.items()]
    table(f"newsmon against the script a user would write (median of {args.rounds} interleaved rounds)", rows)
    save("compare", figures)
