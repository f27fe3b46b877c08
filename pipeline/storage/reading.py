"""Reading the archive by story, for the web pages and the API (`newsmon web`): what no run or
digest needs. Read-only: every query here runs on a `Store.open_readonly` connection."""

from __future__ import annotations

from ..records import MessageRecord, StoredArticle, StoryRecord
from .articles import stored_article
from .connected import Connected
from .messages import _record
from .stories import story_record


class Reading(Connected):
    """Mixed into Store."""

    def story_articles(self, story_id: str) -> list[StoredArticle]:
        """Every original report of a story, in the order they were stored (the timeline)."""
        return [stored_article(r) for r in self.query(
            "SELECT * FROM articles WHERE story_id = ? AND duplicate_of IS NULL ORDER BY first_seen, rowid",
            [story_id])]

    def follow_ups(self, story_id: str) -> list[StoryRecord]:
        """The later stories that develop this one, oldest first."""
        return [story_record(r) for r in self.query(
            "SELECT * FROM stories WHERE follow_up_of = ? ORDER BY first_seen", [story_id])]

    def messages_about(self, key: str) -> list[MessageRecord]:
        """The chat messages keyed on a story (alert, update, surge), oldest first."""
        return [_record(r) for r in self.query("SELECT * FROM messages WHERE key = ? ORDER BY id", [key])]

    def latest_messages(self, limit: int = 200) -> list[MessageRecord]:
        return [_record(r) for r in self.query("SELECT * FROM messages ORDER BY id DESC LIMIT ?", [limit])]

    def quarter_hour_counts(self) -> list[tuple[str, int]]:
        """Original articles per quarter of an hour of first_seen (UTC): ("2026-11-23T06:45", n).
        The days page sums them into days of the digest zone, which SQL cannot do; every zone's
        offset is a whole number of quarter hours, so no quarter straddles two local days."""
        return [(f"{r[0]}:{r[1] * 15:02d}", r[2]) for r in self.conn.execute(
            "SELECT substr(first_seen, 1, 13), CAST(substr(first_seen, 15, 2) AS INTEGER) / 15 AS q, count(*) "
            "FROM articles WHERE duplicate_of IS NULL GROUP BY 1, 2").fetchall()]

    def recent_stories(self, topic: str | None = None, limit: int = 50) -> list[StoryRecord]:
        """Stories by their latest report, newest first (`topic`: flagged under it): a topic's feed."""
        if topic is None:
            rows = self.query("SELECT * FROM stories ORDER BY last_seen DESC LIMIT ?", [limit])
        else:
            rows = self.query("SELECT * FROM stories WHERE EXISTS (SELECT 1 FROM json_each(stories.topics) t "
                              "WHERE t.value = ?) ORDER BY last_seen DESC LIMIT ?", [topic, limit])
        return [story_record(r) for r in rows]

    def story_of(self, article_ids: list[str]) -> dict[str, str]:
        """article id -> its story id (originals only)."""
        out: dict[str, str] = {}
        for chunk in range(0, len(article_ids), 500):
            part = article_ids[chunk:chunk + 500]
            marks = ",".join("?" * len(part))
            out.update(self.conn.execute(f"SELECT id, story_id FROM articles WHERE id IN ({marks}) "
                                         "AND story_id IS NOT NULL", part).fetchall())
        return out

    def story_languages(self, story_ids: list[str]) -> dict[str, set[str]]:
        """Story id -> the languages its original reports declare (articles.language; none: absent)."""
        out: dict[str, set[str]] = {}
        for chunk in range(0, len(story_ids), 500):
            part = story_ids[chunk:chunk + 500]
            marks = ",".join("?" * len(part))
            for story, language in self.conn.execute(
                    f"SELECT DISTINCT story_id, language FROM articles WHERE story_id IN ({marks}) "
                    "AND duplicate_of IS NULL AND language IS NOT NULL", part):
                out.setdefault(story, set()).add(language)
        return out
