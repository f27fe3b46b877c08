"""Stories and the profiles they are formed from: written in the feed's transaction, read to
rebuild the story window at start-up and to list stories."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Iterator

from ..records import StoryRecord, StoryReport
from .connected import Connected
from .times import iso, parse_time


def story_record(row: dict) -> StoryRecord:
    return StoryRecord(id=row["id"], first_seen=parse_time(row["first_seen"]), last_seen=parse_time(row["last_seen"]),
                       lead=row["lead"], title=row["title"], reports=row["reports"], outlets=row["outlets"],
                       topics=tuple(json.loads(row["topics"])), follow_up_of=row["follow_up_of"])


ALERT_PASS = "alerts"      # the alert pass's mark (table marks): app/alerts.py moves it

# made once: json.dumps with any non-default argument builds a new encoder on every call
_compact = json.JSONEncoder(separators=(",", ":")).encode


class Stories(Connected):
    """Mixed into Store."""

    def save_profiles(self, rows: list[tuple[str, str, dict]]) -> None:
        """(article id, version, profile JSON) rows; inside a transaction."""
        self.conn.executemany("INSERT OR REPLACE INTO profiles (article_id, version, data) VALUES (?, ?, ?)",
                              [(aid, version, _compact(data)) for aid, version, data in rows])

    def window_rows(self, since: datetime) -> Iterator[dict]:
        """Original articles stored since `since`, oldest first, with their stored profile (or
        None): what the story stage compares new reports with."""
        yield from self.query(
            "SELECT a.rowid AS rowid, a.id, a.story_id, a.feed, a.published, a.first_seen, a.title, p.version, p.data "
            "FROM articles a LEFT JOIN profiles p ON p.article_id = a.id "
            "WHERE a.first_seen >= ? AND a.duplicate_of IS NULL ORDER BY a.rowid", [iso(since)])

    def article_id_at(self, rowid: int) -> str | None:
        """The id of the article numbered `rowid` (None: no such row)."""
        row = self.conn.execute("SELECT id FROM articles WHERE rowid = ?", [rowid]).fetchone()
        return row[0] if row else None

    def top_rowid(self) -> int:
        """The highest article rowid committed (or written by this connection) now; 0 for none.
        Not settled (Articles.last_rowid): lower ids of other workers may still be in flight."""
        return self.conn.execute("SELECT coalesce(max(rowid), 0) FROM articles").fetchone()[0]

    def rows_after(self, rowid: int, missing: list[int]) -> list[dict]:
        """The articles above `rowid` and those numbered in `missing`, oldest first, copies too
        (`duplicate_of` set), with the originals' stored profiles: what a worker's story window
        catches up with (app/storywindow.py). One indexed query; none in the common case."""
        either = f" OR a.rowid IN ({','.join('?' * len(missing))})" if missing else ""
        return list(self.query(
            "SELECT a.rowid AS rowid, a.id, a.story_id, a.feed, a.published, a.first_seen, a.title, a.duplicate_of, "
            "p.version, p.data FROM articles a LEFT JOIN profiles p ON p.article_id = a.id "
            f"WHERE a.rowid > ?{either} ORDER BY a.rowid", [rowid, *missing]))

    def story_reports(self, story_id: str) -> list[StoryReport]:
        """The original articles of a story, in the order they were stored (without their texts)."""
        return [StoryReport(r["id"], r["title"], r["feed"], r["text_source"], parse_time(r["published"]),
                            parse_time(r["first_seen"]), tuple(json.loads(r["topics"])), r["text_length"])
                for r in self.query(
                    "SELECT id, title, feed, text_source, published, first_seen, topics, length(text) AS text_length "
                    "FROM articles WHERE story_id = ? AND duplicate_of IS NULL ORDER BY rowid", [story_id])]

    def save_story(self, story: StoryRecord) -> None:
        """Insert or refresh a story; `follow_up_of` is kept as first recorded. Inside a transaction."""
        self.conn.execute(
            "INSERT INTO stories (id, first_seen, last_seen, lead, title, reports, outlets, topics, follow_up_of) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen, "
            "lead = excluded.lead, title = excluded.title, reports = excluded.reports, outlets = excluded.outlets, "
            "topics = excluded.topics",
            (story.id, iso(story.first_seen), iso(story.last_seen), story.lead, story.title, story.reports,
             story.outlets, json.dumps(list(story.topics)), story.follow_up_of))

    def stories_by_id(self, ids: list[str]) -> dict[str, StoryRecord]:
        out: dict[str, StoryRecord] = {}
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            marks = ",".join("?" * len(part))
            for r in self.query(f"SELECT * FROM stories WHERE id IN ({marks})", part):
                out[r["id"]] = story_record(r)
        return out

    # --- for alerts

    def mark(self, name: str) -> int:
        """How far the pass `name` has got: articles with rowid <= this were evaluated (0: none)."""
        row = self.conn.execute("SELECT rowid_upto FROM marks WHERE name = ?", [name]).fetchone()
        return row[0] if row else 0

    def advance_mark(self, name: str, rowid: int, now: datetime) -> None:
        """Inside the pass's transaction: the mark moves with what the pass wrote, or not at all."""
        self.conn.execute("INSERT INTO marks (name, rowid_upto, at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE "
                          "SET rowid_upto = max(rowid_upto, excluded.rowid_upto), at = excluded.at",
                          [name, rowid, iso(now)])

    def stories_reported(self, after: int, upto: int, since: datetime) -> list[str]:
        """Stories that got a report that is news (not backlog) with rowid in (after, upto],
        stored at or after `since`, in the order of their first such report."""
        return [r[0] for r in self.conn.execute(
            "SELECT story_id FROM articles WHERE rowid > ? AND rowid <= ? AND duplicate_of IS NULL "
            "AND story_id IS NOT NULL AND backlog IS NULL AND first_seen >= ? GROUP BY story_id ORDER BY min(rowid)",
            [after, upto, iso(since)]).fetchall()]

    def story_feeds(self, story_id: str, until: datetime | None = None) -> list[str]:
        """The feeds among a story's reports (stored up to `until`), in the order they reported."""
        rows = self.conn.execute(
            "SELECT feed FROM articles WHERE story_id = ? AND duplicate_of IS NULL AND first_seen <= ? "
            "GROUP BY feed ORDER BY min(rowid)", [story_id, iso(until) if until else "9999"]).fetchall()
        return [r[0] for r in rows]

    def story_texts(self, story_id: str) -> list[tuple[str, str]]:
        """(title, text) of a story's reports, for rules that look for words."""
        return self.conn.execute("SELECT title, text FROM articles WHERE story_id = ? AND duplicate_of IS NULL "
                                 "ORDER BY rowid", [story_id]).fetchall()

    def url_of(self, article_id: str) -> str | None:
        row = self.conn.execute("SELECT url FROM articles WHERE id = ?", [article_id]).fetchone()
        return row[0] if row else None

    def stories_with_topic(self, topic: str, start: datetime, end: datetime) -> int:
        """Stories flagged under `topic` that began in [start, end) with a report that is news
        (a story begun by backlog, articles.backlog, is no arrival): what a spike counts."""
        return self.conn.execute(
            "SELECT count(*) FROM stories s WHERE s.first_seen >= ? AND s.first_seen < ? "
            "AND EXISTS (SELECT 1 FROM json_each(s.topics) t WHERE t.value = ?) "
            "AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = s.id AND a.backlog IS NOT NULL)",
            [iso(start), iso(end), topic]).fetchone()[0]

    def first_story_with_topic(self, topic: str) -> datetime | None:
        """When the first story flagged under `topic` was stored: how much history a spike has."""
        row = self.conn.execute(
            "SELECT min(s.first_seen) FROM stories s WHERE EXISTS (SELECT 1 FROM json_each(s.topics) t "
            "WHERE t.value = ?)", [topic]).fetchone()
        return parse_time(row[0]) if row and row[0] else None
