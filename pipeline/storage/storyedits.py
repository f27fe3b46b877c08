"""Operators' corrections of stories (table story_edits, v13): written by `newsmon stories split`
and `merge`, read by every run's story window so that no later grouping undoes them."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from ..records import StoryEdit
from .connected import Connected
from .times import iso, parse_time


def _edit(row) -> StoryEdit:
    return StoryEdit(row["id"], parse_time(row["at"]), row["kind"], row["article_id"], row["story_from"],
                     row["story_to"])


class StoryEdits(Connected):
    """Mixed into Store."""

    def place_reports(self, kind: str, article_ids: Iterable[str], story_from: str, story_to: str,
                      now: datetime) -> None:
        """Record the edit and carry it out: each report's story_id becomes `story_to`. Inside a
        transaction (the stories' rows are refreshed in the same one)."""
        ids = list(article_ids)
        self.conn.executemany("INSERT INTO story_edits (at, kind, article_id, story_from, story_to) "
                              "VALUES (?, ?, ?, ?, ?)", [(iso(now), kind, a, story_from, story_to) for a in ids])
        self.conn.executemany("UPDATE articles SET story_id = ? WHERE id = ?", [(story_to, a) for a in ids])

    def edits_mark(self) -> int:
        """The newest edit's id (0: none): a running daemon reads its window again when it moves."""
        return self.conn.execute("SELECT coalesce(max(id), 0) FROM story_edits").fetchone()[0]

    def edits_of(self, story_ids: Iterable[str]) -> dict[str, list[StoryEdit]]:
        """Story id -> the edits that placed reports in it or took them out, oldest first."""
        ids = list(dict.fromkeys(story_ids))
        out: dict[str, list[StoryEdit]] = {}
        for chunk in range(0, len(ids), 400):
            part = ids[chunk:chunk + 400]
            marks = ",".join("?" * len(part))
            for row in self.query(f"SELECT * FROM story_edits WHERE story_to IN ({marks}) OR story_from IN ({marks}) "
                                  "ORDER BY id", part + part):
                edit = _edit(row)
                for story in {edit.story_to, edit.story_from} & set(part):
                    out.setdefault(story, []).append(edit)
        return out

    def edits_of_article(self, article_id: str) -> list[StoryEdit]:
        return [_edit(r) for r in self.query("SELECT * FROM story_edits WHERE article_id = ? ORDER BY id",
                                             [article_id])]

    def merged_parts(self, since: datetime) -> dict[str, str]:
        """Article id -> the story it was in before a merge carried it into another, for the
        articles stored since `since` whose latest edit is a merge: the story window averages a
        merged story's reports part by part (two events an operator calls one stay two shapes)."""
        return {r["article_id"]: r["story_from"] for r in self.query(
            "SELECT e.article_id, e.story_from, e.kind FROM story_edits e JOIN articles a ON a.id = e.article_id "
            "WHERE a.first_seen >= ? AND e.id = (SELECT max(id) FROM story_edits WHERE article_id = e.article_id)",
            [iso(since)]) if r["kind"] == "merge"}
