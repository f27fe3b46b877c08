"""The story window kept on disk between runs (SQLite): read back and caught up, not rebuilt.

A run with something new needs the story window: the originals of the last WINDOW + LOAD_MARGIN
(~20,000 at 5,000 articles a day). Building it from the stored profiles cost ~0.5 ms an article
(decoding the JSON, then the postings and document frequencies of ~130 keys each): ~10 s of a
15-minute timer's run, every run. So the window a run loads is also written beside the database
(`newsmon.db-window`), and the next run reads it back (0.3–0.7 s at 20,000 articles: marshal, no
postings to rebuild), drops the members the window has moved past, and adds what was stored
since: the articles above the file's mark, each decoded as a full load would (`add_rows`).

The result is exactly the window a full load would give (same members, in the same order, same
postings, frequencies and stories; member vectors, computed lazily, start unset as after a full
load): tests/test_windowfile.py compares the two. The file is only a cache: it is used when it
was made by this code (its format, PROFILE_VERSION and the story stage's modules: `code_mark`),
for this time zone, before the same story edit (an operator's merge or split changes stories and
parts: full load), for a window that starts no later than this one, when the article at its
mark is still the one it saw (a database replaced or restored under it: full load), when the
window's oldest members are the ones to drop (a prefix: true when articles are stored in time
order), and when fewer articles were stored since than the window holds (catching up would cost
more than loading). Anything else, or a file that cannot be read, loads the window from the
store and writes the file anew. Retention never reaches the window: its shortest setting (7
days) is longer than WINDOW + LOAD_MARGIN.

Not used on PostgreSQL (several workers, each with its own window: app/storywindow.py) nor with
an embeddings backend (its vectors are computed from the texts at load and never stored).
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import time
from array import array
from collections import Counter
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from ..stages import eventdays, persons, placenames, profile, profilecodec, stories, storypairs, words
from ..stages.profilecodec import FIELDS, packed
from ..stages.stories import Member, StoryIndex
from ..storage.store import Store

log = logging.getLogger("newsmon")

FORMAT = "newsmon story window 2"          # 2: postings packed as 8-byte arrays
STALE_PART_SECONDS = 600       # a half-written file this old belongs to no live writer


@lru_cache(maxsize=1)
def code_mark() -> str:
    """The code a kept window was made by: PROFILE_VERSION and a digest of the modules that make
    a window's members, keys and days (a change there without a new PROFILE_VERSION still
    invalidates a kept window, which would otherwise hold what the old code computed)."""
    digest = hashlib.sha256()
    for module in (profile, words, persons, placenames, profilecodec, stories, eventdays, storypairs):
        digest.update(Path(module.__file__).read_bytes())
    return f"{profile.PROFILE_VERSION}-{digest.hexdigest()[:16]}"


def window_path(database: Path) -> Path:
    """Where the window of the SQLite store at `database` is kept."""
    return database.with_name(database.name + "-window")


class Seen:
    """What a window loaded from the store has read: each member's stored first_seen (as stored,
    compared as the window's query compares it), and the highest article rowid read, with its id."""

    def __init__(self, first_seen: list[str] | None = None, upto: int = 0, upto_id: str | None = None):
        self.first_seen, self.upto, self.upto_id = first_seen if first_seen is not None else [], upto, upto_id

    def read(self, row: dict) -> None:
        """A row the loading looked at (added to the window or not)."""
        if row["rowid"] > self.upto:
            self.upto, self.upto_id = row["rowid"], row["id"]


def encoded(index: StoryIndex, seen: Seen, since: str, edits: int) -> bytes:
    """The window as marshal bytes (plain tuples, dicts, sets and strings)."""
    members = tuple((m.article_id, m.story_id, m.feed, m.when.isoformat(), m.day.toordinal(), m.day_named,
                     tuple(d.toordinal() for d in m.days), m.part,
                     m.profile if type(m.profile) is bytes else packed(m.profile)) for m in index.members)
    return marshal.dumps((FORMAT, code_mark(), FIELDS, index.zone.key, since, edits, seen.upto, seen.upto_id,
                          index.first, members, tuple(seen.first_seen),
                          {key: _positions(p).tobytes() for key, p in index.postings.items()}, dict(index.df)))


def _positions(positions: list[int] | array) -> array:
    return positions if type(positions) is array else array("q", positions)


def decoded(data: bytes, index: StoryIndex) -> tuple[Seen, str, int] | None:
    """Fill the empty `index` from `encoded` bytes: (what was seen, the window's start, the story
    edits mark), or None when the bytes are not a window this newsmon wrote for this time zone."""
    state = marshal.loads(data)
    if not (isinstance(state, tuple) and len(state) == 13
            and state[:4] == (FORMAT, code_mark(), FIELDS, index.zone.key)):
        return None
    _, _, _, _, since, edits, upto, upto_id, first, members, first_seen, postings, df = state
    if len(first_seen) != len(members):
        return None
    index.members = [Member(aid, story, feed, datetime.fromisoformat(when), date.fromordinal(day), named,
                            bytes(kept), frozenset(date.fromordinal(d) for d in days), part)
                     for aid, story, feed, when, day, named, days, part, kept in members]
    # postings as 8-byte arrays: read back by copying bytes, not by making 2.6 million int objects
    # (1.2 of the 1.6 s marshal took at 20,000 members on a loaded machine); they append, slice
    # and bisect as the lists a load makes do, and take a fifth of their memory
    index.first, index.df = first, Counter(df)
    index.postings = {key: array("q", packed) for key, packed in postings.items()}
    index._vectors = [None] * len(index.members)
    for position, m in enumerate(index.members, first):
        index.stories.setdefault(m.story_id, []).append(position)
        index.feeds_of.setdefault(m.story_id, set()).add(m.feed)
    return Seen(list(first_seen), upto, upto_id), since, edits


def read_window(path: Path, store: Store, index: StoryIndex, since: str) -> Seen | None:
    """The window kept at `path`, moved on to start at `since` (its members first seen before
    dropped) into the empty `index`, when it may be used (module docstring); None: load it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        log.info("story window file %s not read (%s): the window is loaded from the store", path, e)
        return None
    try:
        found = decoded(data, index)
    except (ValueError, EOFError, TypeError, IndexError, OverflowError) as e:
        log.info("story window file %s unreadable (%s): the window is loaded from the store", path, e)
        return None
    if found is None:
        log.info("story window file %s not used (written by another version, or for another time zone): "
                 "the window is loaded from the store", path)
        return None
    seen, kept_since, edits = found
    stored_since = store.top_rowid() - seen.upto
    why = ("another story edit" if edits != store.edits_mark() else
           "a later window" if since < kept_since else
           "another database" if seen.upto and store.article_id_at(seen.upto) != seen.upto_id else
           "more stored since than it holds" if stored_since > max(len(index.members), 1000) else None)
    drop = next((i for i, s in enumerate(seen.first_seen) if s >= since), len(seen.first_seen))
    if why is None and any(s < since for s in seen.first_seen[drop:]):
        why = "members out of time order"
    if why is not None:
        log.info("story window file %s not used (%s): the window is loaded from the store", path, why)
        return None
    index.drop_oldest(drop)
    del seen.first_seen[:drop]
    return seen


def write_window(path: Path, index: StoryIndex, seen: Seen, since: str, edits: int) -> None:
    """Keep the window at `path` (replaced whole: a reader sees the old file or the new one). A
    file that cannot be written costs the next run a full load, nothing more."""
    part = path.with_name(f"{path.name}.{os.getpid()}.part")     # (two processes never share one)
    try:
        for left in path.parent.glob(f"{path.name}.*.part"):      # a writer killed mid-way left it
            if left != part and time.time() - left.stat().st_mtime > STALE_PART_SECONDS:
                left.unlink(missing_ok=True)
        part.write_bytes(encoded(index, seen, since, edits))
        os.replace(part, path)
    except OSError as e:
        log.warning("story window not kept in %s (%s): the next run loads it from the store", path, e)
        part.unlink(missing_ok=True)
