"""The archive: full-text search (FTS5) and export."""

from __future__ import annotations

from datetime import datetime
from typing import Iterator

from .connected import Connected
from .times import iso


class Search(Connected):
    """Mixed into Store: uses `self.transaction()`."""

    # archive: search and export

    def search(self, query: str, *, raw: bool = False, topic: str | None = None, feed: str | None = None,
               since: datetime | None = None, until: datetime | None = None, limit: int = 20) -> list[dict]:
        """Original articles matching an FTS5 query, best first (bm25, title weighted 5x).

        Without `raw`, each word is quoted, so punctuation in what an operator types ("NATO-led",
        "U.S.") is searched for, not read as query syntax.
        """
        match = query if raw else self.db.quote_fts(query)
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
        sql = ("SELECT a.id, a.first_seen, a.published, a.feed, a.title, a.url, a.topics, "
               "snippet(articles_fts, 1, '**', '**', '…', 20) AS snippet, "
               "bm25(articles_fts, 5.0, 1.0) AS rank "
               "FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid "
               f"WHERE {' AND '.join(where)} ORDER BY rank LIMIT ?")
        return list(self.query(sql, args + [limit]))

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
