"""Operators' corrections of stories: `newsmon stories split` (a report out of its story, into one
of its own or, with a target, into another) and `newsmon stories merge` (two stories one).

Each is stored (storage/storyedits.py) and carried out in one transaction: the reports' story ids
change and every story touched has its row (lead, counts, outlets, topics) recomputed. Later runs
read the window from the stored story ids, so no rerun, window reload or new report undoes a
correction: the stage never regroups a stored report, and it compares a merged story part by part
(stages/stories.py), so a new report of either event joins the merged story."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..errors import UsageError
from ..records import StoryEdit, StoryRecord
from ..storage.store import Store
from .stories import refresh_story


@dataclass(frozen=True, slots=True)
class Corrected:
    """What a correction did: the stories it left, each recomputed, and the edits it stored."""

    stories: tuple[StoryRecord, ...]
    edits: tuple[StoryEdit, ...]


def _report(store: Store, article_id: str) -> dict:
    found = list(store.query("SELECT id, title, coalesce(story_id, id) AS story_id, duplicate_of FROM articles "
                             "WHERE id = ? OR id LIKE ? || '%' ORDER BY id = ? DESC LIMIT 2",
                             [article_id, article_id, article_id])) if article_id else []
    if len(found) == 2 and found[0]["id"] != article_id:
        raise UsageError(f"{article_id!r} starts more than one article's id: give more of it")
    row = found[0] if found else None
    if row is None:
        raise UsageError(f"no article {article_id!r}; `newsmon stories --json` lists stories, "
                         "`newsmon search` articles")
    if row["duplicate_of"] is not None:
        raise UsageError(f"article {row['id']} is a duplicate of {row['duplicate_of']}: it is in no story")
    return row


def _story(store: Store, story_id: str) -> StoryRecord:
    found = store.stories_by_id([story_id]).get(story_id)
    if found is None and story_id:
        ids = [r["id"] for r in store.query("SELECT id FROM stories WHERE id LIKE ? || '%' LIMIT 2", [story_id])]
        if len(ids) == 2:
            raise UsageError(f"{story_id!r} starts more than one story's id: give more of it")
        found = store.stories_by_id(ids).get(ids[0]) if ids else None
    if found is None:
        raise UsageError(f"no story {story_id!r}; `newsmon stories --json` lists their ids")
    return found


def _move(store: Store, kind: str, ids: list[str], story_from: str, story_to: str, now: datetime) -> None:
    """Move reports and keep the rows true: a story left empty goes, its follow-ups now follow
    where its reports went."""
    store.place_reports(kind, ids, story_from, story_to, now)
    if not store.story_reports(story_from):
        store.conn.execute("DELETE FROM stories WHERE id = ?", [story_from])
        store.conn.execute("UPDATE stories SET follow_up_of = ? WHERE follow_up_of = ?",
                           [story_to if story_to != story_from else None, story_from])


def _renumber_rest(store: Store, story_id: str, leaving: str, now: datetime) -> str | None:
    """A story is its first report's id: when that report leaves, the others become the story
    of the earliest of them (recorded as moved). Returns that id, or None if none is left."""
    rest = [r.id for r in store.story_reports(story_id) if r.id != leaving]
    if not rest or leaving != story_id:
        return story_id if rest else None
    store.place_reports("move", rest, story_id, rest[0], now)
    store.conn.execute("UPDATE stories SET follow_up_of = ? WHERE follow_up_of = ?", [rest[0], story_id])
    return rest[0]


def split(store: Store, article_id: str, now: datetime, to: str | None = None,
          expect_from: str | None = None) -> Corrected:
    """Take a report out of its story: into a story of its own, or with `to` into that story.
    `expect_from`: the story the operator believes it is in (refused when it is not)."""
    row = _report(store, article_id)
    aid, current = row["id"], row["story_id"]
    if expect_from is not None and _story(store, expect_from).id != current:
        raise UsageError(f"article {aid} is in story {current}, not {expect_from}")
    target = _story(store, to).id if to is not None else aid
    alone = [r.id for r in store.story_reports(current)] == [aid]
    if target == current and (to is not None or alone):
        raise UsageError(f"article {aid} is already in story {current}" + ("" if to else " (a story of its own)"))
    record = store.stories_by_id([current]).get(current)
    follows = record.follow_up_of if record else None
    with store.transaction():
        rest = _renumber_rest(store, current, aid, now)
        if target == aid and aid == current:      # its own id stays its story: the others were renumbered
            store.place_reports("split", [aid], current, aid, now)
        else:
            _move(store, "split" if to is None else "move", [aid], current, target, now)
        if target == aid:
            store.conn.execute("UPDATE stories SET follow_up_of = NULL WHERE id = ?", [aid])
        # the reports left keep what their story followed up; the split-off report follows nothing
        touched = [refresh_story(store, s, follows if s == rest else None)
                   for s in dict.fromkeys(x for x in (rest, target) if x)]
    return Corrected(tuple(touched), tuple(store.edits_of_article(aid)[-1:]))


def merge(store: Store, first: str, second: str, now: datetime) -> Corrected:
    """Make two stories one: the one that began first keeps its id, the other's reports join it."""
    a, b = _story(store, first), _story(store, second)
    if a.id == b.id:
        raise UsageError(f"{first} and {second} are one story already ({a.id})")
    keep, gone = sorted((a, b), key=lambda s: (s.first_seen, s.id))
    moved = [r.id for r in store.story_reports(gone.id)]
    with store.transaction():
        _move(store, "merge", moved, gone.id, keep.id, now)
        if keep.follow_up_of == gone.id:
            store.conn.execute("UPDATE stories SET follow_up_of = NULL WHERE id = ?", [keep.id])
        touched = refresh_story(store, keep.id)
    return Corrected((touched,), tuple(e for e in store.edits_of([keep.id])[keep.id] if e.kind == "merge"
                                       and e.story_from == gone.id))
