"""Shared fixtures and helpers: a real loopback HTTP server, config files in a temp folder, a
fixed clock, `newsmon` as a subprocess, rows and digests read back from what a run wrote."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.demo.server import LoopbackSite
from pipeline.sanitize import SECRETS

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


def doc_text(name: str) -> str:
    """The text of one page of the manual: `doc_text("operations")` is docs/operations.md,
    `doc_text("README")` the front page. Tests that hold the documentation to its promises read it
    here, so a section moved between pages is one change."""
    return (ROOT / "README.md" if name == "README" else ROOT / "docs" / f"{name}.md").read_text()


@pytest.fixture(autouse=True)
def _no_secrets_carried_over():
    """Each test starts with no registered secrets (the registry is process-wide by design)."""
    SECRETS.clear()
    yield
    SECRETS.clear()


@pytest.fixture
def site():
    with LoopbackSite() as s:
        yield s


@pytest.fixture
def seeds_dir(tmp_path: Path) -> Path:
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS, target)
    return target


def write_config(folder: Path, feeds: list[tuple[str, str]], extra: str = "", **sections) -> Path:
    """A config in `folder` with the given (name, url) feeds; loopback allowed."""
    feed_tables = "".join(f'\n[[feeds]]\nname = "{n}"\nurl = "{u}"\n' for n, u in feeds)
    text = textwrap.dedent("""\
        [storage]
        database = "data/newsmon.db"
        [seeds]
        directory = "seeds"
        [digest]
        directory = "reports"
        formats = ["html", "md", "json", "txt"]
        timezone = "Europe/Kyiv"
        [fetch]
        timeout_seconds = 5
        allow_private_networks = true
        per_host_delay_seconds = 0      # one loopback "host" serves everything here
        max_age_days = 36500            # the fixtures' items carry fixed 2026 dates, and a run as a
                                        # subprocess reads the real clock: they must stay news
        [extract]
        workers = 2
        timeout_seconds = 20
        """) + extra + feed_tables
    path = folder / "newsmon.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def make_config(tmp_path: Path, seeds_dir: Path):
    def make(feeds: list[tuple[str, str]], extra: str = ""):
        return load_config(write_config(tmp_path, feeds, extra))
    return make


class Clock:
    """A settable clock: tests decide what "now" is."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc))


def newsmon(*args: str, cwd: Path | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """`newsmon ARGS` as cron or systemd runs it: a subprocess, its exit code and output."""
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


def rows(config, sql: str, args=()) -> list[tuple]:
    """What the run stored, read with plain sqlite3."""
    with sqlite3.connect(config.database) as c:
        return c.execute(sql, args).fetchall()


def digest_json(config, day: str = "2026-11-23") -> dict:
    return json.loads((config.digest_dir / f"{day}.json").read_text())


def read_terminal(master: int) -> bytes:
    """Everything a process wrote to the pseudo-terminal whose master side is `master`, until it
    closes (EOF, or EIO on Linux) when the process exits."""
    output = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    return output
