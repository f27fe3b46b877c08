"""`newsmon db copy`: the whole archive of one store into another, resumable and checked.

A target is a store made with the same schema (opened through Store.open, so it gets the schema
and its migrations). The copy goes table by table in key order (storage/copying.py), each batch
one short transaction on the target that also records how far it got; a copy killed at any point
(SIGKILL, power) is run again and goes on from its last batch, ending with the same rows. The
full-text index is built on the target from its articles, never copied. At the end each table's
row count and content checksum are compared on both sides: a difference is reported, never
hidden. A target that holds rows but is not an unfinished copy of this source is refused: a copy
never mixes two archives.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ..errors import UsageError
from ..storage import dialect, postgres
from ..storage.copying import TablePlan, Tally, batches, has_rows, plans, progress, record, tally, write_batch
from ..storage.store import Store, guard, iso

SEARCH_INDEX = "search index"      # its step in copy_progress: rebuilt once every table is copied


@dataclass(frozen=True)
class TableCheck:
    name: str
    source: Tally
    target: Tally
    copied_now: int          # rows this invocation copied (0 for a table finished before)

    @property
    def equal(self) -> bool:
        return self.source == self.target


@dataclass
class CopyReport:
    source: str
    target: str
    resumed: bool = False                        # went on from an earlier, interrupted copy
    tables: list[TableCheck] = field(default_factory=list)
    search_index: str | None = None              # None: the target's index matches its articles
    seconds: float = 0.0

    @property
    def equal(self) -> bool:
        return all(t.equal for t in self.tables) and self.search_index is None


def describe(target: str) -> str:
    """A target as reports name it: an URL without its password, or a file's absolute path."""
    if "://" in target:
        scheme, _, rest = target.partition("://")
        credentials, at, host = rest.rpartition("@")
        return f"{scheme}://{credentials.split(':')[0]}{at}{host}" if at else target
    return str(Path(target).resolve())


def copy_into(source: Store, source_name: str, target: str, *, batch: int = 1000, verify_only: bool = False
              ) -> CopyReport:
    """Open `target` (an SQLite file, or a postgresql:// URL whose password libpq finds: the URL,
    PGPASSWORD, ~/.pgpass; made with the schema when new), copy or compare, close it."""
    if postgres.is_url(target):
        where: Path | str = target
        store = Store.open_readonly(target) if verify_only else Store.open(target)
    else:
        if verify_only and not Path(target).is_file():
            raise UsageError(f"--to {target}: no such database to verify")
        where = Path(target)
        store = Store.open(where)
    try:
        with guard(where):
            return copy_archive(source, source_name, store, describe(target), batch=batch, verify_only=verify_only)
    finally:
        store.close()


def _ready(source_name: str, target: Store, tables: list[TablePlan]) -> dict[str, dict]:
    """How far an earlier copy of this source got; a target holding anything else is refused."""
    done = progress(target.conn)
    others = {p["source"] for p in done.values()} - {source_name}
    if others:
        raise UsageError(f"the target holds a copy of {', '.join(sorted(others))}, not of {source_name}: "
                         "choose a new file (or an empty database) to copy into")
    if not done:
        filled = [t.name for t in tables if has_rows(target.conn, t)]
        if filled:
            raise UsageError(f"the target is not empty (it has rows in {', '.join(filled)}) and is no "
                             f"unfinished copy of {source_name}: choose a new file (or an empty database)")
    return done


def _copy_table(source: Store, target: Store, source_name: str, plan: TablePlan, state: dict | None,
                batch: int, on_batch: Callable[[str, int], None]) -> int:
    if state and state["done"]:
        return 0
    after, copied, now = (state or {}).get("last_key"), (state or {}).get("copied", 0), 0
    for rows in batches(source.conn, plan, after, batch):
        with target.transaction():
            write_batch(target.conn, plan, rows)
            copied, now = copied + len(rows), now + len(rows)
            after = plan.key_of(rows[-1])
            record(target.conn, plan.name, source_name, after, copied, None)
        on_batch(plan.name, copied)
    with target.transaction():
        record(target.conn, plan.name, source_name, after, copied, iso(datetime.now(timezone.utc)))
    return now


def check(source: Store, target: Store, tables: list[TablePlan], copied: dict[str, int]) -> list[TableCheck]:
    return [TableCheck(t.name, tally(source.conn, t), tally(target.conn, t), copied.get(t.name, 0)) for t in tables]


def copy_archive(source: Store, source_name: str, target: Store, target_name: str, *, batch: int = 1000,
                 verify_only: bool = False, on_batch: Callable[[str, int], None] = lambda table, rows: None
                 ) -> CopyReport:
    """Copy (or with `verify_only` only compare) every table of `source` into `target`."""
    started = time.perf_counter()
    tables = plans(row_id_in=None if source.engine == target.engine == "sqlite" else dialect.row_id_tables())
    report = CopyReport(source_name, target_name)
    copied: dict[str, int] = {}
    if not verify_only:
        state = _ready(source_name, target, tables)
        report.resumed = any(s["copied"] for s in state.values())
        for plan in tables:
            copied[plan.name] = _copy_table(source, target, source_name, plan, state.get(plan.name), batch, on_batch)
        target.renumber()       # the next number a run gives follows the copied ones (PostgreSQL)
        if not (state.get(SEARCH_INDEX) or {}).get("done"):
            target.rebuild_search_index()
            with target.transaction():
                record(target.conn, SEARCH_INDEX, source_name, None, 0, iso(datetime.now(timezone.utc)))
    report.tables = check(source, target, tables, copied)
    report.search_index = target.search_index_problem()
    report.seconds = time.perf_counter() - started
    return report
