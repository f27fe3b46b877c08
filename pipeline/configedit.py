"""Editing the config file in place: comments, order and formatting kept (tomlkit).

Every edit is validated as a whole config before anything is written, and written atomically
(temp file in the same folder, fsync, rename), so a crash or a bad edit never leaves a broken
or half-written config behind.
"""

from __future__ import annotations

import fcntl
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlsplit

import tomlkit
import tomlkit.exceptions
from anyascii import anyascii
from tomlkit.items import AoT, Array, Table

from .config import Config, parse_config
from .errors import ConfigError, did_you_mean
from .files import write_atomic


@contextmanager
def _editing(path: Path) -> Iterator[None]:
    """One edit at a time: read-modify-write under an exclusive lock on the config's folder (not
    the config itself, which the write replaces; no lock file left beside it). Five `feeds
    disable` at once: five changes."""
    real = Path(os.path.realpath(path))
    fd = os.open(real.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def edit(path: Path, change: Callable[[tomlkit.TOMLDocument], None]) -> Config:
    """Apply `change` to the document, validate the result, write it; returns the new config."""
    try:
        with _editing(path):
            return _edit(path, change)
    except OSError as e:
        raise ConfigError(f"cannot edit: {e.strerror}", file=str(path)) from None


def _edit(path: Path, change: Callable[[tomlkit.TOMLDocument], None]) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read: {e.strerror}", file=str(path)) from None
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as e:
        raise ConfigError(f"not valid TOML: {e}", file=str(path), line=getattr(e, "line", None)) from None
    _feeds(doc, path)                         # a wrong `feeds` is named before anything changes
    change(doc)
    new_text = tomlkit.dumps(doc)
    config = parse_config(new_text, path)     # raises ConfigError: nothing written
    write_atomic(path, new_text)
    return config


def _feeds(doc: tomlkit.TOMLDocument, path: Path | None = None):
    """The document's feed list: [[feeds]] tables or an inline `feeds = [...]` array."""
    feeds = doc.get("feeds")
    if feeds is not None and not isinstance(feeds, (AoT, Array)):
        raise ConfigError("expected [[feeds]] tables (or feeds = [ {name = …, url = …}, … ])",
                          file=str(path) if path else None, key="feeds")
    return feeds


def append_feed(doc: tomlkit.TOMLDocument, table: Table) -> None:
    """Add a feed in the document's own style: a [[feeds]] table, or an inline table when the
    file writes `feeds = [...]` (a table there would make the file invalid TOML)."""
    feeds = _feeds(doc)
    if feeds is None:
        doc.append("feeds", tomlkit.aot())
        feeds = doc["feeds"]
    if isinstance(feeds, Array):
        inline = tomlkit.inline_table()
        inline.update(table)
        feeds.append(inline)
    else:
        feeds.append(table)


def find_feed(doc: tomlkit.TOMLDocument, name: str) -> Table:
    tables = [t for t in _feeds(doc) or [] if hasattr(t, "get")]
    for table in tables:
        if table.get("name") == name:
            return table
    names = [str(t.get("name")) for t in tables if t.get("name")]
    raise ConfigError(f"no feed named {name!r}{did_you_mean(name, names)}; see `newsmon feeds list`")


def remove_feed(doc: tomlkit.TOMLDocument, name: str) -> None:
    feeds = _feeds(doc)
    table = find_feed(doc, name)
    index = next(i for i, t in enumerate(feeds) if t is table)
    del feeds[index]


def new_feed(name: str, url: str, tags: tuple[str, ...] = (), interval: float | None = None,
             title: str | None = None) -> Table:
    table = tomlkit.table()
    table["name"] = name
    if title and title != name:
        table["title"] = title
    table["url"] = url
    if tags:
        table["tags"] = list(tags)
    if interval:
        table["interval_minutes"] = interval
    return table


def slug(text: str, taken: set[str], url: str | None = None) -> str:
    """A readable feed name, unique among `taken`: the title transliterated to lower-case ASCII
    words joined by '-' (any script: "Українська правда" -> "ukrainska-pravda"), or, when the
    title gives nothing, the feed's host and path ("example-org-rss")."""
    base = _words(anyascii(text))
    if not base and url:
        parts = urlsplit(url if "//" in url else f"//{url}")
        base = _words(f"{(parts.hostname or '').removeprefix('www.')} {parts.path}")
    base = base or "feed"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def _words(text: str) -> str:
    text = re.sub(r"['’ʼ`]", "", text.lower())          # a soft sign or apostrophe joins, never splits
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:40].strip("-")


def _child(parent, key: str, make, kind: type, wrong: str):
    """parent[key], made (empty) when missing; of another kind, a ConfigError saying `wrong`."""
    if parent.get(key) is None:
        parent.append(key, make())
    if not isinstance(parent[key], kind):
        raise ConfigError(wrong, key=key)
    return parent[key]


def set_web_user(doc: tomlkit.TOMLDocument, name: str, password_hash: str) -> bool:
    """Set a `[[web.users]]` entry's password_hash, adding the user (and [web]) when new; True if
    the user was new."""
    web = _child(doc, "web", tomlkit.table, Table, "expected a [web] table")
    users = _child(web, "users", tomlkit.aot, AoT, "expected [[web.users]] tables")
    for table in users:
        if table.get("name") == name:
            table["password_hash"] = password_hash
            return False
    table = tomlkit.table()
    table["name"] = name
    table["password_hash"] = password_hash
    users.append(table)
    return True
