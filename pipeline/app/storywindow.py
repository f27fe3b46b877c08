"""A worker's story window among other workers (PostgreSQL): catching up with what they stored.

A worker's window (app/stories.open_story_index) holds the originals stored when it was read and
those the worker stored itself since. Other workers store too: without catching up, a report of
an event another worker started a story for a minute ago would start a second story here (the
window is read again only every RELOAD_AFTER). So before a new article is placed, the window
takes in what was committed since it last looked: one indexed query for the articles above its
mark (the highest rowid it has seen) and the ids below the mark that it has not seen, nothing in
the common case.

Why the ids below the mark: several workers' ids commit out of order (a worker's transaction
holding id 10 may commit after another's holding id 11), so an id skipped over is looked for
again at each catch-up until it comes, or until GAP_SECONDS have passed: an id that never
commits (a feed rolled back, an insert that found its identity already stored) is a gap for
good, and a write transaction lasts about a second (group commit), not minutes. The window is
loaded with its mark LOOKBACK ids below the highest committed id, so ids still in flight while
it loads are looked for the same way.

On SQLite there is one writer, the window's own: nothing to catch up (StoryDesk never calls it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from ..stages.profile import Profile
from ..stages.stories import StoryIndex, report_time
from ..storage.store import Store, parse_time

GAP_SECONDS = 300.0     # an id skipped over and not committed this long after: never will be
LOOKBACK = 1000         # ids below the highest committed one looked at again after loading
MAX_GAPS = 2000         # ids looked for at once, at most (the newest)


@dataclass
class WindowMark:
    """What a window has seen of the articles table."""

    upto: int                                                # every id above this is unseen
    known: set[str] = field(default_factory=set)             # the article ids the window holds
    missing: dict[int, float] = field(default_factory=dict)  # ids below `upto` unseen -> noticed at

    @classmethod
    def at_load(cls, store: Store) -> "WindowMark":
        """Before the window is read: LOOKBACK ids below the highest committed one, so that ids
        in flight while it loads are caught up with too (the loaded ones are skipped, `known`)."""
        return cls(max(0, store.top_rowid() - LOOKBACK))


def catch_up(store: Store, index: StoryIndex, mark: WindowMark, entry: Callable[[dict], Profile],
             clock: Callable[[], float] = time.monotonic) -> int:
    """Add to `index` the originals committed since `mark` that it does not hold (`entry(row)`:
    the row's profile, as the window's loading makes it); move the mark; how many were added.
    Reads only: may run inside the feed's transaction (which sees other workers' commits)."""
    rows = store.rows_after(mark.upto, sorted(mark.missing))
    now, seen, added = clock(), set(), 0
    for row in rows:
        seen.add(row["rowid"])
        if row["duplicate_of"] is not None or row["id"] in mark.known:
            continue
        profile = entry(row)
        index.add(row["id"], row["story_id"] or row["id"], row["feed"],
                  report_time(parse_time(row["published"]), parse_time(row["first_seen"])), profile)
        mark.known.add(row["id"])
        added += 1
    top = max(seen, default=mark.upto)
    if top > mark.upto:
        for rowid in range(max(mark.upto + 1, top - MAX_GAPS), top):
            if rowid not in seen:
                mark.missing[rowid] = now
        mark.upto = top
    for rowid, noticed in list(mark.missing.items()):
        if rowid in seen or now - noticed > GAP_SECONDS:
            del mark.missing[rowid]
    if len(mark.missing) > MAX_GAPS:
        for rowid in sorted(mark.missing)[:len(mark.missing) - MAX_GAPS]:
            del mark.missing[rowid]
    return added
