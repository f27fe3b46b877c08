"""Articles: inserted once by identity, read back for digests and replays."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Iterator

from ..records import Article, Match, StoredArticle
from .connected import Connected
from .times import article_id, iso, parse_time


def stored_article(row: dict) -> StoredArticle:
    values = {k: row[k] for k in StoredArticle.__dataclass_fields__}
    values.update(published=parse_time(row["published"]), first_seen=parse_time(row["first_seen"]),
                  topics=tuple(json.loads(row["topics"])))
    return StoredArticle(**values)


class Articles(Connected):
    """Mixed into Store: uses `self.transaction()`."""

    # articles

    _ARTICLE_COLUMNS = ("id", "identity", "feed", "guid", "url", "canonical_url", "title", "published",
                        "first_seen", "text", "text_source", "extraction_note", "fingerprint", "duplicate_of",
                        "story_id", "similarity", "topics", "run_id", "backlog", "image", "language", "grouping")
    _INSERT_ARTICLE = (f"INSERT OR IGNORE INTO articles ({', '.join(_ARTICLE_COLUMNS)}) "
                       f"VALUES ({', '.join('?' * len(_ARTICLE_COLUMNS))})")

    def insert_article(self, article: Article, first_seen: datetime, run_id: int,
                       signature: tuple[str, bytes | None] | None = None,
                       bands: list[tuple[int, int]] = ()) -> bool:
        """Insert once; False when its identity is already stored (a rerun is harmless).

        Plain SQL here rather than sqlite-utils' insert: this is the hot path of a run, and
        the table's shape is fixed by SCHEMA above. `bands` are its signature's (band, key) pairs
        (app/diskindex.band_pairs), kept for an original only, as its signature is."""
        aid = article_id(article.identity)
        cursor = self.conn.execute(self._INSERT_ARTICLE, (
            aid, article.identity, article.feed, article.guid, article.url, article.canonical_url,
            article.title, iso(article.published), iso(first_seen), article.text, article.text_source,
            article.extraction_note, article.fingerprint, article.duplicate_of,
            None if article.duplicate_of else (article.story_id or aid), article.similarity,
            json.dumps(list(article.topics)), run_id, article.backlog, article.image, article.language,
            None if article.grouping is None else json.dumps(article.grouping)))
        if cursor.rowcount == 0:
            return False
        if run_id is not None:      # (a row without a run is indexed by the trigger: schema.INDEX_UNLESS_RUN)
            self._unindexed.append(cursor.lastrowid)
            if not self.conn.in_transaction:      # (inserted alone: indexed at once)
                self.index_for_search()
        if signature is not None and article.duplicate_of is None:
            self.save_signatures([(aid, signature[0], signature[1])])
        if bands and article.duplicate_of is None:
            self.save_bands([(key, band, cursor.lastrowid) for band, key in bands])
        if signature is not None and (bands or signature[1] is None or article.duplicate_of is not None):
            self.bands_follow(cursor.lastrowid, signature[0])    # (its bands, if any, are stored)
        self._insert_matches(aid, article.matches)
        return True

    # --- reading, for the digest and status

    def articles_between(self, start: datetime, end: datetime) -> list[StoredArticle]:
        return [stored_article(r) for r in self.query(
            "SELECT * FROM articles WHERE first_seen >= ? AND first_seen < ? ORDER BY first_seen, id",
            [iso(start), iso(end)])]

    def articles_by_rowid(self, after: int, upto: int) -> list[StoredArticle]:
        return [stored_article(r) for r in self.query(
            "SELECT * FROM articles WHERE rowid > ? AND rowid <= ? ORDER BY first_seen, id", [after, upto])]

    def last_rowid(self, before: datetime | None = None) -> int:
        """The highest article rowid (stored before `before`, when given); 0 for none."""
        if before is None and self.engine != "sqlite":    # (several workers: ids commit out of order)
            from .postgres import settled_last_rowid
            return settled_last_rowid(self.conn)
        if before is None:
            row = self.conn.execute("SELECT max(rowid) FROM articles").fetchone()
        else:
            row = self.conn.execute("SELECT max(rowid) FROM articles WHERE first_seen < ?", [iso(before)]).fetchone()
        return row[0] or 0

    def stories_started_by(self, story_ids: list[str], rowid: int) -> set[str]:
        """Of these story ids, those whose first article (the story's id) was stored at or before
        `rowid`: a reader of that cut has had the story already."""
        out: set[str] = set()
        for chunk in range(0, len(story_ids), 500):
            part = story_ids[chunk:chunk + 500]
            marks = ",".join("?" * len(part))
            out.update(r[0] for r in self.conn.execute(f"SELECT id FROM articles WHERE id IN ({marks}) AND rowid <= ?",
                                                       part + [rowid]))
        return out

    def titles_by_id(self, ids: list[str]) -> dict[str, str]:
        """Article id -> its title (a story's id is its first report's)."""
        out: dict[str, str] = {}
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            marks = ",".join("?" * len(part))
            out.update(self.conn.execute(f"SELECT id, title FROM articles WHERE id IN ({marks})", part).fetchall())
        return out

    def matches_for(self, ids: list[str]) -> dict[str, list[Match]]:
        out: dict[str, list[Match]] = {i: [] for i in ids}
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            marks = ",".join("?" * len(part))
            for r in self.query(f'SELECT * FROM matches WHERE article_id IN ({marks}) '
                                f'ORDER BY article_id, field DESC, start', part):
                out[r["article_id"]].append(Match(topic=r["topic"], term=r["term"], field=r["field"],
                                                  start=r["start"], end=r["end"], matched=r["matched"],
                                                  sentence=r["sentence"]))
        return out

    def topic_counts(self, start: datetime, end: datetime) -> dict[str, int]:
        rows = self.query(
            "SELECT m.topic, count(DISTINCT a.id) AS n FROM articles a JOIN matches m ON m.article_id = a.id "
            "WHERE a.first_seen >= ? AND a.first_seen < ? AND a.duplicate_of IS NULL GROUP BY m.topic",
            [iso(start), iso(end)])
        return {r["topic"]: r["n"] for r in rows}

    def originals_since(self, start: datetime) -> Iterator[StoredArticle]:
        for r in self.query("SELECT * FROM articles WHERE first_seen >= ? AND duplicate_of IS NULL "
                            "ORDER BY first_seen", [iso(start)]):
            yield stored_article(r)

    def index_for_search(self) -> None:
        """Add the articles inserted since the last call to the full-text index: one statement for
        a feed's articles, where a trigger per row cost ~5x as much (37 µs an article against 7). The Store
        calls it before every commit or savepoint release, so the index never lags a commit."""
        if self._unindexed:
            rowids, self._unindexed = self._unindexed, []
            for start in range(0, len(rowids), 500):
                part = rowids[start:start + 500]
                self.conn.execute("INSERT INTO articles_fts (rowid, title, text) SELECT rowid, title, text "
                                  f"FROM articles WHERE rowid IN ({','.join('?' * len(part))})", part)

    def replace_matches(self, aid: str, matches) -> None:
        """New topic matches for a stored article; call inside a transaction."""
        self.index_for_search()     # (the update trigger re-indexes the row: it must be in the index)
        self.conn.execute("DELETE FROM matches WHERE article_id = ?", [aid])
        self._insert_matches(aid, matches)
        topics = list(dict.fromkeys(m.topic for m in matches))
        self.conn.execute("UPDATE articles SET topics = ? WHERE id = ?", [json.dumps(topics), aid])

    def _insert_matches(self, aid: str, matches) -> None:
        self.conn.executemany(
            'INSERT INTO matches (article_id, topic, term, field, start, "end", matched, sentence) '
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(aid, m.topic, m.term, m.field, m.start, m.end, m.matched, m.sentence) for m in matches])
