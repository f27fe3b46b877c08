"""`python -m bench people`: what `newsmon web`'s people cost the run and the reader.

On a real archive file (WAL, as a run leaves it): how long a reading-state change (mark read)
holds SQLite's write lock, alone and while a run-like writer commits a transaction of 20 rows
every 0.5 s; how long that writer's transactions take with and without 20 marks a second beside
it (what a desk of readers costs a run); and what one password check costs (scrypt, on purpose)."""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path

from pipeline.storage import people as db
from pipeline.storage.store import Store

from .common import save, table

AT = "2026-12-05T23:00:00+00:00"


def _ms(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    return statistics.median(values) * 1000, values[int(len(values) * 0.95)] * 1000


def _run_writer(path: Path, seconds: float, times: list[float]) -> None:
    """A run's group commit: every 0.5 s one transaction of 20 rows (feed_events stand in)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=15)
    conn.execute("PRAGMA synchronous = NORMAL")
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO feed_events (feed, at, kind, detail) VALUES ('f', ?, 'moved', ?)",
                         [(AT, "x" * 200)] * 20)
        conn.execute("COMMIT")
        times.append(time.perf_counter() - started)
        time.sleep(0.5)
    conn.close()


def _marks(path: Path, seconds: float, per_second: float, held: list[float], waited: list[float]) -> None:
    """Marks as the server writes them: one short transaction each, on its one kept connection;
    `held`: BEGIN IMMEDIATE acquired to COMMIT done, `waited`: the whole change, waiting included."""
    conn = db.open_writer(path)
    end, i = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        locked = time.perf_counter()
        db.set_mark(conn, "reads", "ann", f"story{i}", True, AT)
        conn.execute("COMMIT")
        done = time.perf_counter()
        held.append(done - locked)
        waited.append(done - started)
        i += 1
        time.sleep(max(0.0, 1 / per_second - (time.perf_counter() - started)))
    conn.close()


def run(argv: list[str]) -> None:
    seconds = 10.0
    path = Path(tempfile.mkdtemp()) / "people.db"
    Store.open(path).close()
    alone_held: list[float] = []
    _marks(path, 3, 200, alone_held, [])
    quiet: list[float] = []
    _run_writer(path, seconds, quiet)
    beside: list[float] = []
    held: list[float] = []
    waited: list[float] = []
    writer = threading.Thread(target=_run_writer, args=(path, seconds, beside))
    writer.start()
    _marks(path, seconds, 20, held, waited)
    writer.join()
    from pipeline.web.passwords import hash_password, verify_password

    stored = hash_password("a long enough password")
    checks = []
    for _ in range(5):
        started = time.perf_counter()
        verify_password("a long enough password", stored)
        checks.append(time.perf_counter() - started)
    figures = {"mark_held_alone_ms": _ms(alone_held), "mark_held_beside_run_ms": _ms(held),
               "mark_total_beside_run_ms": _ms(waited), "run_txn_alone_ms": _ms(quiet),
               "run_txn_beside_marks_ms": _ms(beside), "password_check_ms": _ms(checks)}
    table("newsmon web people: p50 / p95", [(k, f"{a:.3f} / {b:.3f}") for k, (a, b) in figures.items()])
    save("people", figures)
