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
            "SELECT a.id, a.story_id, a.feed, a.published, a.first_seen, a.title, p.version, p.data "
            "FROM articles a LEFT JOIN profiles p ON p.article_id = a.id "
            "WHERE a.first_seen >= ? AND a.duplicate_of IS NULL ORDER BY a.rowid", [iso(since)])

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

    def stories_changed_since(self, since: datetime) -> list[StoryRecord]:
        """Stories that got a report stored at or after `since` (a run's start)."""
        return [story_record(r) for r in self.query(
            "SELECT * FROM stories WHERE last_seen >= ? ORDER BY first_seen", [iso(since)])]

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
        """Stories flagged under `topic` that began in [start, end): what a spike counts."""
        return self.conn.execute(
            "SELECT count(*) FROM stories s WHERE s.first_seen >= ? AND s.first_seen < ? "
            "AND EXISTS (SELECT 1 FROM json_each(s.topics) t WHERE t.value = ?)", [iso(start), iso(end), topic]
        ).fetchone()[0]
