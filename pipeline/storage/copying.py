"""Moving an archive between two stores (`newsmon db copy`): what to copy, in which order, how far
it got, and how to tell that both sides hold the same rows.

Every table of the schema is copied (its column list read from SCHEMA, never written out per
table), in key order, in batches; each batch is one short transaction on the target that also
records how far the copy got (`copy_progress`), so a copy killed at any moment goes on from its
last committed batch. The SQL is SQLite's, plain enough for either engine: a PostgreSQL store's
connection translates it (storage/dialect.py). The one difference the plan itself minds is the
row id: SQLite keeps one in every table, PostgreSQL only where dialect.row_id_tables says, so a
copy to or from PostgreSQL carries the row id of those tables and orders the others by their key.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Iterator

from .schema import SCHEMA

# The table recording a copy INTO this database: about the target, so never copied itself.
PROGRESS = "copy_progress"
# The implicit integer row id SQLite keeps for every table. Copied with the row where a table has
# no INTEGER PRIMARY KEY (that one is the row id), since other rows point at it: emails and marks
# count articles by rowid. None for an engine without one (its articles carry their own column).
ROW_ID: str | None = "rowid"


def marks(n: int) -> str:
    """Placeholders for `n` values, SQLite's (a PostgreSQL connection translates them)."""
    return ", ".join(["?"] * n)


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class TablePlan:
    """One table as the copy sees it."""

    name: str
    columns: tuple[str, ...]       # copied, in this order (the row id first, when kept)
    key: tuple[str, ...]           # the copy's order and its resumption point: unique, never NULL

    def select(self, after: list | None, limit: int) -> tuple[str, list]:
        """The next batch after key `after` (None: from the start), in key order."""
        cols = ", ".join(map(quoted, self.columns))
        order = ", ".join(map(quoted, self.key))
        where, args = "", []
        if after is not None:
            where = (f" WHERE ({order}) > ({marks(len(after))})" if len(self.key) > 1
                     else f" WHERE {order} > {marks(1)}")
            args = list(after)
        return f"SELECT {cols} FROM {quoted(self.name)}{where} ORDER BY {order} LIMIT {int(limit)}", args

    def insert(self) -> str:
        return (f"INSERT INTO {quoted(self.name)} ({', '.join(map(quoted, self.columns))}) "
                f"VALUES ({marks(len(self.columns))})")

    def key_of(self, row: tuple) -> list:
        return [row[self.columns.index(k)] for k in self.key]


_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\n\)( WITHOUT ROWID)?;", re.S)
_CONSTRAINT = re.compile(r"(PRIMARY KEY|UNIQUE|FOREIGN KEY|CHECK)\s*\(", re.I)


def _definitions(body: str) -> list[str]:
    """A CREATE TABLE body's column and constraint definitions: split on the commas outside
    parentheses, once the comments are gone."""
    text = re.sub(r"--[^\n]*", "", body)
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
    out.append(text[start:].strip())
    return [d for d in out if d]


def plans(schema: str = SCHEMA, row_id: str | None = ROW_ID, row_id_in: frozenset[str] | None = None
          ) -> list[TablePlan]:
    """Every table of the schema, in the order it creates them (a table referenced by another's
    foreign key comes first), but the copy's own progress. `row_id_in`: the tables that have the
    row id on both sides (None: every one, SQLite to SQLite); the others go by their primary key."""
    out = []
    for name, body, without_rowid in _TABLE.findall(schema):
        if name == PROGRESS:
            continue
        columns, primary, integer_key = [], [], None
        for definition in _definitions(body):
            constraint = _CONSTRAINT.match(definition)
            if constraint:
                if constraint.group(1).upper() == "PRIMARY KEY":
                    primary = [c.strip().strip('"') for c in definition[constraint.end():].rstrip(")").split(",")]
                continue
            column = definition.split()[0].strip('"')
            columns.append(column)
            if re.search(r"\bPRIMARY KEY\b", definition, re.I):
                primary = [column]
                if re.match(r"\S+\s+INTEGER\s+PRIMARY KEY", definition, re.I):
                    integer_key = column
        if integer_key:
            key = (integer_key,)
        elif row_id and not without_rowid and (row_id_in is None or name in row_id_in):
            key, columns = (row_id,), [row_id] + columns
        elif primary:
            key = tuple(primary)
        else:
            raise ValueError(f"table {name}: no key to copy it in order (no primary key, no row id)")
        out.append(TablePlan(name, tuple(columns), key))
    return out


# --- reading and writing batches


def batches(conn, plan: TablePlan, after: list | None, size: int) -> Iterator[list[tuple]]:
    """The source's rows after `after`, `size` at a time, each batch one statement (its own short
    read): nothing holds the source open between them."""
    while True:
        sql, args = plan.select(after, size)
        rows = [tuple(r) for r in conn.execute(sql, args).fetchall()]
        if not rows:
            return
        yield rows
        after = plan.key_of(rows[-1])


def progress(conn) -> dict[str, dict]:
    """What `copy_progress` says, by table (empty: no copy ever went into this database)."""
    cursor = conn.execute(f"SELECT name, source, last_key, copied, done FROM {PROGRESS}")
    return {name: {"source": source, "last_key": None if last is None else json.loads(last), "copied": copied,
                   "done": done} for name, source, last, copied, done in cursor.fetchall()}


def record(conn, name: str, source: str, last_key: list | None, copied: int, done: str | None) -> None:
    """How far the copy of `name` got; written in the transaction of the batch it describes."""
    conn.execute(f"INSERT INTO {PROGRESS} (name, source, last_key, copied, done) VALUES ({marks(5)}) "
                 "ON CONFLICT (name) DO UPDATE SET source = excluded.source, last_key = excluded.last_key, "
                 "copied = excluded.copied, done = excluded.done",
                 (name, source, None if last_key is None else json.dumps(last_key), copied, done))


def write_batch(conn, plan: TablePlan, rows: list[tuple]) -> None:
    conn.executemany(plan.insert(), rows)


def has_rows(conn, plan: TablePlan) -> bool:
    return conn.execute(f"SELECT 1 FROM {quoted(plan.name)} LIMIT 1").fetchone() is not None


# --- checking


def row_hash(row: tuple) -> int:
    """A row's 64-bit hash over its values' Python repr: the same for the same values whichever
    DB-API driver read them (str, int, float, bytes, None: the types the schema stores; a driver
    handing out memoryview or Decimal would need them turned into bytes or float first). A third
    as costly as encoding each value by hand, which made the check half the copy's time."""
    return int.from_bytes(hashlib.blake2b(repr(row).encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


@dataclass(frozen=True)
class Tally:
    """A table's row count and content checksum: the sum (mod 2**64) of each row's hash over the
    copied columns, so it does not depend on the order an engine returns rows in."""

    rows: int
    checksum: int

    @property
    def hex(self) -> str:
        return f"{self.checksum:016x}"


def tally(conn, plan: TablePlan, size: int = 5000) -> Tally:
    count = total = 0
    for rows in batches(conn, plan, None, size):
        total = (total + sum(map(row_hash, rows))) % 2 ** 64
        count += len(rows)
    return Tally(count, total)
