"""The archive: full-text search (FTS5 on SQLite; tsvector on PostgreSQL: dialect.search_sql) and export."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Iterator

from . import dialect
from .connected import Connected
from .times import iso

# Snippet highlight marks: control characters, which stored text never holds (sanitized on the
# way in), so the CLI can turn them into bold on a terminal or drop them anywhere else.
HIT_START, HIT_END = "\x02", "\x03"

_OPERATORS = ("AND", "OR", "NOT")
_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')


def query_parts(text: str) -> list[tuple[str, str]]:
    """What an operator types, read once for both engines: ("op", AND|OR|NOT), ("phrase", words)
    (a "quoted phrase" or one word) and ("prefix", word) for a trailing *. ValueError says what
    is wrong."""
    parts: list[tuple[str, str]] = []
    for m in _TOKEN.finditer(text):
        phrase, word = m.group(1), m.group(2)
        if word in _OPERATORS:
            if not parts or parts[-1][0] == "op":
                raise ValueError(f"{word} needs a word before it (like: truce {word} ceasefire); "
                                 f"to search for the word itself, write it in lower case or in quotes")
            parts.append(("op", word))
        elif phrase is not None:
            if phrase.strip():
                parts.append(("phrase", phrase))
        elif word.endswith("*") and word.strip("*"):
            parts.append(("prefix", word.rstrip("*")))
        elif word.strip("*"):
            parts.append(("phrase", word))
    if parts and parts[-1][0] == "op":
        raise ValueError(f"{parts[-1][1]} needs a word after it (like: truce {parts[-1][1]} ceasefire)")
    if not parts:
        raise ValueError("nothing to search for")
    return parts


def fts_query(text: str) -> str:
    """What an operator types, as an FTS5 query: "phrases" and AND, OR, NOT (upper case) work
    as typed, a trailing * is a prefix; every other word is quoted, so punctuation ("NATO-led",
    "U.S.") is searched for, never read as query syntax. ValueError says what is wrong."""
    quoted = {"op": "{}", "phrase": '"{}"', "prefix": '"{}"*'}
    return " ".join(quoted[kind].format(value if kind == "op" else value.replace('"', '""'))
                    for kind, value in query_parts(text))


# ts_headline's options for the snippet: hit marks as FTS5's snippet(), about as many words
HEADLINE = f"StartSel={HIT_START}, StopSel={HIT_END}, MaxWords=20, MinWords=10, MaxFragments=1, FragmentDelimiter=…"


class Search(Connected):
    """Mixed into Store: uses `self.transaction()`."""

    # archive: search and export

    def search(self, query: str, *, raw: bool = False, topic: str | None = None, feed: str | None = None,
               since: datetime | None = None, until: datetime | None = None, limit: int = 20) -> list[dict]:
        """Original articles matching an FTS5 query, best first (bm25, title weighted 5x; on
        PostgreSQL ts_rank, weighted alike, the query compiled by dialect.tsquery_sql).

        Without `raw`, the query is read by query_parts (phrases, AND, OR, NOT; other words
        quoted); `raw` is FTS5's syntax on SQLite, websearch_to_tsquery's on PostgreSQL.
        Snippets mark each hit with HIT_START … HIT_END.
        """
        if self.engine == "postgresql":
            match, args = dialect.tsquery_sql([("raw", query)] if raw else query_parts(query))
            where = ["a.duplicate_of IS NULL"]
        else:
            match = query if raw else fts_query(query)
            if since is None and until is None and not feed and not topic:
                return self._best(match, limit)
            where, args = ["articles_fts MATCH ?", "a.duplicate_of IS NULL"], [match]
        if since is not None:
            where.append("a.first_seen >= ?")
            args.append(iso(since))
        if until is not None:
            where.append("a.first_seen < ?")
            args.append(iso(until))
        if feed:
            where.append("a.feed = ?")
            args.append(feed)
        if topic:
            where.append("EXISTS (SELECT 1 FROM matches m WHERE m.article_id = a.id AND m.topic = ?)")
            args.append(topic)
        if self.engine == "postgresql":
            return list(self.query(*dialect.search_sql(match, args, where, limit, HEADLINE)))
        sql = ("SELECT a.id, a.first_seen, a.published, a.feed, a.title, a.url, a.topics, "
               f"snippet(articles_fts, 1, '{HIT_START}', '{HIT_END}', '…', 20) AS snippet, "
               "bm25(articles_fts, 5.0, 1.0) AS rank "
               "FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid "
               f"WHERE {' AND '.join(where)} ORDER BY rank LIMIT ?")
        return list(self.query(sql, args + [limit]))

    def _best(self, match: str, limit: int) -> list[dict]:
        """`search` without filters, the same rows in two steps: the best matches by rank from
        the index alone, then their articles by rowid, copies left out; more of the index only
        when copies left fewer than `limit`. Joining every match's article row to rank them (a
        word in 1% of 100,000 articles is 1,000 rows read) cost twice the index's own work."""
        take = limit + limit // 2 + 10
        while True:
            hits = self.conn.execute(
                f"SELECT rowid, snippet(articles_fts, 1, '{HIT_START}', '{HIT_END}', '…', 20), "
                "bm25(articles_fts, 5.0, 1.0) AS rank FROM articles_fts WHERE articles_fts MATCH ? "
                "ORDER BY rank LIMIT ?", [match, take]).fetchall()
            marks = ",".join("?" * len(hits))
            rows = {r.pop("rowid"): r for r in self.query(
                "SELECT rowid, id, first_seen, published, feed, title, url, topics FROM articles "
                f"WHERE rowid IN ({marks}) AND duplicate_of IS NULL", [h[0] for h in hits])} if hits else {}
            found = [{**rows[rowid], "snippet": snippet, "rank": rank} for rowid, snippet, rank in hits if rowid in rows]
            if len(found) >= limit or len(hits) < take:
                return found[:limit]
            take *= 4

    def export_rows(self, since: datetime | None = None, include_duplicates: bool = False) -> Iterator[dict]:
        where = ["first_seen >= ?"] if since else []
        if not include_duplicates:
            where.append("duplicate_of IS NULL")
        sql = ("SELECT id, first_seen, published, feed, title, url, topics, duplicate_of, story_id, similarity, "
               "text_source, extraction_note, text FROM articles"
               + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY first_seen, id")
        yield from self.query(sql, [iso(since)] if since else [])

    def recent_runs(self, limit: int = 10) -> list[dict]:
        return list(self.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit]))

    # the index as a whole: `newsmon db copy` fills a store's tables, then builds its index once

    def rebuild_search_index(self) -> None:
        """Build the full-text index afresh from the articles (FTS5 'rebuild' of its external
        content), in one transaction: what `db copy` does rather than copying the index's own tables."""
        with self.transaction():
            self.conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")

    def search_index_problem(self) -> str | None:
        """Whether the full-text index holds exactly the articles' titles and texts (FTS5's
        integrity check against its content table); None when it does, else what is wrong."""
        try:
            self.conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)")
        except Exception as e:      # (sqlite3.DatabaseError: "database disk image is malformed")
            return str(e)
        return None
