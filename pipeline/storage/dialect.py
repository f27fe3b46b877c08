"""The one place the two engines differ: SQLite's SQL, as the storage modules write it, read as
PostgreSQL's.

The storage modules (and the schema with its migrations) are written once, in SQLite's dialect;
a PostgreSQL connection (storage/postgres.py) passes every statement through `translate` and every
schema script through `ddl`. The rules are generic (placeholders, INSERT OR IGNORE/REPLACE, scalar
max/min, JSON, PRAGMAs, triggers, column types), so a migration added to schema.MIGRATIONS carries
over to PostgreSQL without a second, hand-written schema. Full-text search is the one difference
that is not a rewrite of text: the tsvector expression, its GIN index and the query compiled from
what an operator types (`search_sql`) are here too.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .schema import SCHEMA

# Tables whose SQLite rowid the storage reads (the email cut, the alert mark): on PostgreSQL an
# identity column named `rowid`, put first so that `run_id` stays the last column of articles.
ROWID_TABLES = ("articles",)

# The stand-in for SQLite's PRAGMA user_version: one row, PostgreSQL only.
VERSION_TABLE = "newsmon_schema"

# Full-text search: title weighted A, text B (ranked 5:1, as bm25(articles_fts, 5.0, 1.0) on
# SQLite), words as they are ('simple': no stemming, as FTS5's unicode61). A tsvector holds at most
# 1 MB, so the text indexed is its first 300,000 characters (a news article is far shorter).
SEARCH_VECTOR = ("(setweight(to_tsvector('simple'::regconfig, title), 'A') || "
                 "setweight(to_tsvector('simple'::regconfig, left(text, 300000)), 'B'))")
SEARCH_INDEX = f"CREATE INDEX IF NOT EXISTS articles_search ON articles USING GIN ({SEARCH_VECTOR})"
SEARCH_WEIGHTS = "'{0, 0, 0.2, 1.0}'"       # D, C, B (text), A (title)

_COMMENT = re.compile(r"--[^\n]*")
_TRIGGER = re.compile(r"CREATE\s+TRIGGER\b.*?\bEND\b", re.I | re.S)
_STATEMENT_SKIPPED = re.compile(r"^\s*(PRAGMA\b|CREATE\s+VIRTUAL\s+TABLE\b)|\barticles_fts\b", re.I)
_TABLE = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\((.*)\)\s*$", re.I | re.S)


def statements(script: str) -> list[str]:
    """A script's statements, comments and triggers left out (a trigger's body holds `;`)."""
    script = _TRIGGER.sub("", _COMMENT.sub("", script))
    return [s.strip() for s in script.split(";") if s.strip()]


def _columns(body: str) -> list[str]:
    """The top-level comma-separated parts of a CREATE TABLE body."""
    parts, depth, current = [], 0, ""
    for ch in body:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    return parts + [current.strip()] if current.strip() else parts


@lru_cache(maxsize=1)
def table_keys() -> dict[str, tuple[str, ...]]:
    """table -> its primary key columns, read from the one schema: what INSERT OR REPLACE
    conflicts on."""
    keys: dict[str, tuple[str, ...]] = {}
    for statement in statements(SCHEMA):
        table = _TABLE.match(statement)
        if not table:
            continue
        for part in _columns(table.group(2)):
            inline = re.match(r'"?(\w+)"?\s+\w+.*\bPRIMARY\s+KEY\b', part, re.I)
            whole = re.match(r"PRIMARY\s+KEY\s*\(([^)]*)\)", part, re.I)
            if whole:
                keys[table.group(1)] = tuple(c.strip() for c in whole.group(1).split(","))
            elif inline:
                keys[table.group(1)] = (inline.group(1),)
    return keys


@lru_cache(maxsize=1)
def table_columns() -> dict[str, tuple[str, ...]]:
    """table -> its columns, from the one schema and its migrations."""
    from .schema import MIGRATIONS

    out: dict[str, list[str]] = {}
    for statement in statements(SCHEMA + "".join(sql for _, sql in MIGRATIONS)):
        table = _TABLE.match(statement)
        added = re.match(r"ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", statement, re.I)
        if table:
            out.setdefault(table.group(1), []).extend(
                c.group(1) for p in _columns(table.group(2)) if (c := re.match(r'"?(\w+)"?\s', p))
                and not _CONSTRAINT.match(p))
        elif added:
            out.setdefault(added.group(1), []).append(added.group(2))
    return {t: tuple(dict.fromkeys(c)) for t, c in out.items()}


def _qualify_updates(sql: str) -> str:
    """In `ON CONFLICT … DO UPDATE SET c = f(c, excluded.c)`, the bare `c` of the expression is
    ambiguous on PostgreSQL (the row, or the one proposed?): it is the stored row's, `table.c`."""
    parts = re.split(r"\bDO\s+UPDATE\s+SET\b", sql, maxsplit=1, flags=re.I)
    if len(parts) == 1:
        return sql
    head, sets = parts
    table = re.match(r"\s*INSERT\s+INTO\s+(\w+)", head, re.I)
    columns = table_columns().get(table.group(1), ()) if table else ()
    if not columns:
        return sql
    bare = re.compile(r"(?<![.\w\"])(" + "|".join(columns) + r")\b(?!\s*=(?!=))")
    return f"{head}DO UPDATE SET{bare.sub(lambda m: f'{table.group(1)}.{m.group(1)}', sets)}"


@lru_cache(maxsize=1)
def identity_columns() -> dict[str, str]:
    """table -> the column PostgreSQL numbers (SQLite's INTEGER PRIMARY KEY, or `rowid`): what an
    INSERT returns as cursor.lastrowid."""
    out = {t: "rowid" for t in ROWID_TABLES}
    for statement in statements(SCHEMA):
        table = _TABLE.match(statement)
        for part in _columns(table.group(2)) if table else ():
            key = re.match(r"(\w+)\s+INTEGER\s+PRIMARY\s+KEY\b", part, re.I)
            if key:
                out[table.group(1)] = key.group(1)
    return out


_TYPES = {"INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION", "BLOB": "BYTEA",
          "TEXT": 'TEXT COLLATE "C"'}   # byte order, as SQLite's BINARY: ISO times and ids sort alike
_CONSTRAINT = re.compile(r"(PRIMARY|UNIQUE|CHECK|FOREIGN|CONSTRAINT)\b", re.I)


def _column_types(definition: str) -> str:
    """`name TYPE rest` with PostgreSQL's type; a table constraint as it is."""
    column = re.match(r'("?\w+"?)\s+(\w+)(.*)$', definition, re.S)
    if not column or _CONSTRAINT.match(definition):
        return definition
    name, kind, rest = column.groups()
    if kind.upper() == "INTEGER" and re.match(r"\s+PRIMARY\s+KEY\b", rest, re.I):
        return f"{name} BIGINT GENERATED BY DEFAULT AS IDENTITY{rest}"
    return f"{name} {_TYPES.get(kind.upper(), kind)}{rest}"


def ddl(script: str) -> list[str]:
    """A schema script (schema.SCHEMA, a MIGRATIONS step) as PostgreSQL statements: column types
    mapped, a `rowid` identity for ROWID_TABLES, ADD COLUMN made idempotent, SQLite-only
    statements (PRAGMAs, triggers, FTS5 tables) left out."""
    out = []
    for statement in statements(script):
        if _STATEMENT_SKIPPED.search(statement):
            continue
        table = _TABLE.match(statement)
        if table:
            name, parts = table.group(1), [_column_types(p) for p in _columns(table.group(2))]
            if name in ROWID_TABLES:
                parts.insert(0, "rowid BIGINT GENERATED BY DEFAULT AS IDENTITY UNIQUE")
            statement = f"CREATE TABLE IF NOT EXISTS {name} (\n    " + ",\n    ".join(parts) + "\n)"
        elif re.match(r"ALTER\s+TABLE\s+\w+\s+ADD\s+COLUMN\s", statement, re.I):
            head, column = re.split(r"\bADD\s+COLUMN\s+(?:IF\s+NOT\s+EXISTS\s+)?", statement, maxsplit=1, flags=re.I)
            statement = f"{head}ADD COLUMN IF NOT EXISTS {_column_types(column)}"
        out.append(statement)
    return out


_INSERT = re.compile(r"^\s*INSERT\s+OR\s+(IGNORE|REPLACE)\s+INTO\s+(\w+)\s*(\(([^)]*)\))?", re.I)
_PAIR = re.compile(r"\b(max|min)\(\s*([^(),]+?)\s*,\s*([^(),]+?)\s*\)", re.I)


def _placeholders(sql: str) -> str:
    """`?` -> `%s` outside string literals; `%` doubled (psycopg reads `%` as its own)."""
    out, quoted = [], False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        if ch == "%":
            out.append("%%")
        elif ch == "?" and not quoted:
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


@lru_cache(maxsize=512)
def translate(sql: str, returning: bool = True) -> str | None:
    """One SQLite statement as PostgreSQL runs it; None when it has no PostgreSQL counterpart
    (a PRAGMA; the FTS5 table's upkeep, which the GIN index does by itself). `returning`: an
    INSERT into a numbered table returns its new number (cursor.lastrowid)."""
    if _STATEMENT_SKIPPED.search(sql):
        return None
    sql = sql.strip().rstrip(";")
    if re.match(r"BEGIN\s+(IMMEDIATE|EXCLUSIVE|DEFERRED)$", sql, re.I):
        return "BEGIN"
    conflict = ""
    insert = _INSERT.match(sql)
    if insert:
        sql = _INSERT.sub(lambda m: f"INSERT INTO {m.group(2)} {m.group(3) or ''}", sql, count=1)
        if insert.group(1).upper() == "IGNORE":
            conflict = " ON CONFLICT DO NOTHING"
        else:
            key = table_keys()[insert.group(2)]
            updated = [c.strip() for c in insert.group(4).split(",") if c.strip() not in key]
            conflict = (f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
                        + ", ".join(f"{c} = excluded.{c}" for c in updated))
    sql = _PAIR.sub(lambda m: f"{'greatest' if m.group(1).lower() == 'max' else 'least'}({m.group(2)}, {m.group(3)})", sql)
    sql = re.sub(r"\bIS\s+NOT\s+\?", "IS DISTINCT FROM ?", sql, flags=re.I)
    sql = re.sub(r"\bIS\s+\?", "IS NOT DISTINCT FROM ?", sql, flags=re.I)
    sql = re.sub(r"\bjson_each\(([\w.]+)\)\s+(?:AS\s+)?(\w+)", r"json_array_elements_text(\1::json) AS \2(value)", sql, flags=re.I)
    sql = re.sub(r"\bjson_group_array\(([^()]*)\)", r"(json_agg(\1))::text", sql, flags=re.I)
    sql = re.sub(r"strftime\('%Y-%m-%dT%H:%M:%S\+00:00',\s*'now'\)",
                 """to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')""", sql)
    sql = _qualify_updates(sql)
    sql = re.sub(r"\binstr\(", "strpos(", sql, flags=re.I)
    sql = re.sub(r"\bIN\s*\(\s*\)", "IN (NULL)", sql, flags=re.I)   # SQLite allows an empty list
    sql += conflict
    table = re.match(r"INSERT\s+INTO\s+(\w+)", sql, re.I)
    if returning and table and table.group(1) in identity_columns():
        sql += f" RETURNING {identity_columns()[table.group(1)]}"
    return _placeholders(sql)


# --- full-text search: an operator's query as a tsquery

_OPERATOR_SQL = {"AND": " && ", "OR": " || "}


def tsquery_sql(parts: list[tuple[str, str]]) -> tuple[str, list[str]]:
    """search.query_parts' (kind, text) as a tsquery expression and its parameters, with FTS5's
    meaning: NOT binds first (`a NOT b` is a and not b), then AND (implicit between words), then
    OR. Each phrase or word is `websearch_to_tsquery` of it quoted; a prefix is `to_tsquery`'s `:*`."""
    groups: list[list[str]] = [[]]
    args: list[str] = []
    negate = False
    for kind, text in parts:
        if kind == "op":
            if text == "OR":
                groups.append([])
            negate = text == "NOT"
            continue
        if kind == "raw":
            term = "websearch_to_tsquery('simple'::regconfig, ?)"
            args.append(text)
        elif kind == "prefix":
            term = "to_tsquery('simple'::regconfig, ?)"
            args.append("'" + text.replace("'", "''").replace("\\", "\\\\") + "':*")
        else:
            term = "websearch_to_tsquery('simple'::regconfig, ?)"
            args.append('"' + text.replace('"', " ") + '"')
        groups[-1].append(f"!!{term}" if negate else term)
        negate = False
    return " || ".join("(" + " && ".join(g) + ")" for g in groups), args


def search_sql(query: str, args: list, where: list[str], limit: int, headline_options: str) -> tuple[str, list]:
    """The PostgreSQL search: the best `limit` matches (ts_rank, title weighted 5x, negated so
    that smaller is better as bm25), then the snippet of each (ts_headline on those rows only)."""
    filters = "".join(f" AND {w}" for w in where)
    sql = ("SELECT b.id, b.first_seen, b.published, b.feed, b.title, b.url, b.topics, "
           "ts_headline('simple'::regconfig, a.text, b.q, ?) AS snippet, b.rank FROM ("
           "SELECT a.id, a.first_seen, a.published, a.feed, a.title, a.url, a.topics, q.q, "
           f"-ts_rank({SEARCH_WEIGHTS}, {SEARCH_VECTOR}, q.q) AS rank "
           f"FROM articles a, (SELECT {query} AS q) q WHERE {SEARCH_VECTOR} @@ q.q{filters} "
           "ORDER BY rank, a.id LIMIT ?) b JOIN articles a ON a.id = b.id ORDER BY b.rank, b.id")
    return sql, [headline_options] + list(args) + [limit]
