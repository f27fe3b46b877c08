"""What every domain of storage works with: the connection, rows as dicts, sqlite-utils on demand."""

from __future__ import annotations

import sqlite3
from functools import cached_property
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    import sqlite_utils


class Connected:
    """The base of the Store's domains (feeds, articles, runs, ...), each mixed into Store."""

    conn: sqlite3.Connection      # or postgres.PgConnection, which offers the same calls
    engine: str = "sqlite"        # sqlite | postgresql: the few places that differ ask (see dialect.py)

    def query(self, sql: str, params=()) -> Iterator[dict]:
        """Rows as dicts (what sqlite-utils' query gives), straight from the connection."""
        cursor = self.conn.execute(sql, params)
        keys = [d[0] for d in cursor.description]
        for row in cursor:
            yield dict(zip(keys, row))

    @cached_property
    def db(self) -> "sqlite_utils.Database":
        """sqlite-utils over the same connection, for its table helpers (insert, update, upsert,
        full-text set-up), made on first use: importing it costs ~0.1 s (it loads numpy and
        dateutil), which `status`, `feeds list` and a run whose feeds all answer 304 never need."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)
