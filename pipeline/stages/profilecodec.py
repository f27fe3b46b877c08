"""A profile as compact bytes, for the story window kept on disk (app/windowfile.py).

marshal of the profile's fields as a tuple: read back ~10x faster than the stored JSON
(Profile.from_json), and only when the member is first compared with a new report (about one
member in twenty of a run's window): the rest stay bytes. The bytes never leave the machine
that wrote them (marshal's format is Python's own, checked by the window file's header); the
stored profiles (table profiles) stay JSON.
"""

from __future__ import annotations

import marshal
from dataclasses import fields

from .profile import Profile

# every field but the vector, in the dataclass's order (`unpacked` passes them by position)
FIELDS = tuple(f.name for f in fields(Profile) if f.name != "vector")


def packed(profile: Profile) -> bytes:
    """The profile's fields (its vector, never stored, left out) as marshal bytes."""
    return marshal.dumps(tuple(getattr(profile, f) for f in FIELDS))


def unpacked(data: bytes) -> Profile:
    """The profile `packed` made (its keys interned again, as Profile.from_json does)."""
    return Profile(*marshal.loads(data))
