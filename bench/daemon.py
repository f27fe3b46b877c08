"""The daemon keeps its schedule: feed checks per minute of `newsmon serve` against the ideal.

    python -m bench daemon [--feeds 40 400] [--seconds 75] [--interval 15]

`newsmon serve` runs as a subprocess against the loopback feed farm (bench/farm.py, 20 items per
feed, 50 ms latency, no article pages), every feed due every `--interval` seconds. A check is one
row of `run_feeds` (a feed fetched and recorded). The ideal is every feed once at start-up and
then once per interval; the ratio says how much of it the daemon kept.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import save, table
from .pipeline import ROOT, Farm, write_config


def measure(feeds: int, seconds: float, interval: float) -> dict:
    farm = Farm(feeds, 20, 0.05, 64, None)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), farm.urls(), False, 32)
            text = config.read_text().replace("[fetch]\n", f"[fetch]\ninterval_minutes = {interval / 60}\n"
                                                          "per_host_delay_seconds = 0\n")
            config.write_text(text)
            proc = subprocess.Popen([sys.executable, "-m", "pipeline", "-q", "serve", "--config", str(config)],
                                    cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(seconds)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)
            with sqlite3.connect(Path(tmp) / "newsmon.db") as c:
                checks = c.execute("SELECT count(*) FROM run_feeds").fetchone()[0]
    finally:
        farm.stop()
    ideal = feeds * (1 + int((seconds - 1e-6) // interval))    # at start-up, then each full interval
    return {"feeds": feeds, "seconds": seconds, "interval": interval, "checks": checks, "ideal": ideal,
            "per_minute": checks / seconds * 60, "ideal_per_minute": ideal / seconds * 60,
            "ratio": checks / ideal}


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench daemon")
    parser.add_argument("--feeds", type=int, nargs="+", default=[40, 400])
    parser.add_argument("--seconds", type=float, default=75.0)
    parser.add_argument("--interval", type=float, default=15.0)
    args = parser.parse_args(argv)
    results = [measure(n, args.seconds, args.interval) for n in args.feeds]
    table(f"Daemon schedule: feeds due every {args.interval:g} s, {args.seconds:g} s of `newsmon serve`", [
        (f"{r['feeds']} feeds", f"{r['checks']} checks ({r['per_minute']:.0f}/min); ideal {r['ideal']} "
                                f"({r['ideal_per_minute']:.0f}/min); ratio {r['ratio']:.2f}") for r in results])
    save("daemon", {str(r["feeds"]): r for r in results})
