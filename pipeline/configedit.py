"""Editing the config file in place: comments, order and formatting kept (tomlkit).

Every edit is validated as a whole config before anything is written, and written atomically
(temp file in the same folder, fsync, rename), so a crash or a bad edit never leaves a broken
or half-written config behind.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Callable

import tomlkit
from tomlkit.items import AoT, Table

from .config import Config, parse_config
from .errors import ConfigError


def edit(path: Path, change: Callable[[tomlkit.TOMLDocument], None]) -> Config:
    """Apply `change` to the document, validate the result, write it; returns the new config."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read: {e.strerror}", file=str(path)) from None
    doc = tomlkit.parse(text)
    change(doc)
    new_text = tomlkit.dumps(doc)
    config = parse_config(new_text, path)     # raises ConfigError: nothing written
    write_atomic(path, new_text)
    return config


def write_atomic(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def feeds_table(doc: tomlkit.TOMLDocument) -> AoT:
    if "feeds" not in doc:
        doc.append("feeds", tomlkit.aot())
    return doc["feeds"]


def find_feed(doc: tomlkit.TOMLDocument, name: str) -> Table:
    for table in doc.get("feeds", []):
        if table.get("name") == name:
            return table
    raise ConfigError(f"no feed named {name!r}; see `newsmon feeds list`")


def new_feed(name: str, url: str, tags: tuple[str, ...] = (), interval: float | None = None) -> Table:
    table = tomlkit.table()
    table["name"] = name
    table["url"] = url
    if tags:
        table["tags"] = list(tags)
    if interval:
        table["interval_minutes"] = interval
    return table


def slug(text: str, taken: set[str]) -> str:
    """A feed name from a title: lower-case ASCII words joined by '-', unique among `taken`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40] or "feed"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name
