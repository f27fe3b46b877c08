"""Shared fixtures and helpers: a real loopback HTTP server, config files in a temp folder, a
fixed clock, `newsmon` as a subprocess, rows and digests read back from what a run wrote."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pgserver
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


# --- the two engines: SQLite, and PostgreSQL on a throwaway cluster

PG_PASSWORD_ENV = "NEWSMON_TEST_PG_PASSWORD"
STORE_URL: str | None = None      # the current test's PostgreSQL database; None: SQLite (write_config)


def pytest_generate_tests(metafunc):
    """A module or test marked `both_engines` runs once on SQLite and once on PostgreSQL."""
    if "engine" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_engines") \
            and not metafunc.definition.get_closest_marker("sqlite_only"):
        metafunc.parametrize("engine", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(scope="session")
def pg_server():
    """(URL of the maintenance database, password): the server .ci/run started
    (NEWSMON_TEST_PG_URL), else a cluster of our own when Debian's binaries are there. Without
    either the PostgreSQL variants skip, except in CI (CI set), where they fail."""
    if os.environ.get("NEWSMON_TEST_PG_URL"):
        yield os.environ["NEWSMON_TEST_PG_URL"], os.environ.get(PG_PASSWORD_ENV)
        return
    folder = Path(tempfile.mkdtemp(prefix="newsmon-pg-"))
    folder.chmod(0o755)                  # (the cluster's owner, `nobody` under root, must reach it)
    try:
        server = pgserver.start(folder / "cluster")
    except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
        shutil.rmtree(folder, ignore_errors=True)
        if os.environ.get("CI"):
            pytest.fail(f"CI: no PostgreSQL server could be started: {e}")
        pytest.skip(f"no PostgreSQL server could be started: {e}")
    try:
        yield server
    finally:
        pgserver.stop(folder / "cluster")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def engine(request) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture(autouse=True)
def store_url(engine, request, monkeypatch):
    """On PostgreSQL, a fresh database for the test (every config write_config makes points at
    it, its password in PG_PASSWORD_ENV); None on SQLite."""
    global STORE_URL
    if engine != "postgresql":
        yield None
        return
    import psycopg

    from pipeline.storage import postgres

    server, password = request.getfixturevalue("pg_server")
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server, password=password, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    monkeypatch.setenv(PG_PASSWORD_ENV, password or "")
    STORE_URL = server.rsplit("/", 1)[0] + "/" + name
    try:
        yield STORE_URL
    finally:
        STORE_URL = None
        postgres.close_pools()
        with psycopg.connect(server, password=password, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def insert_row(store, table: str, row: dict) -> None:
    """A row written by hand (as another tool would), on either engine; inside a transaction."""
    store.conn.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                       list(row.values()))


def not_created() -> tuple[type[BaseException], ...]:
    """What reading a table not created yet raises, on either engine."""
    try:
        from psycopg.errors import UndefinedTable
    except ImportError:
        return (sqlite3.OperationalError,)
    return (sqlite3.OperationalError, UndefinedTable)


def open_store(config):
    """The config's store, whichever engine: what a test reads back or prepares."""
    from pipeline.storage.store import Store

    return Store.open(config.store, config.store_password)


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
    engine = f'url = "{STORE_URL}"\npassword_env = "{PG_PASSWORD_ENV}"\n' if STORE_URL else ""
    text = textwrap.dedent("""\
        [storage]
        database = "data/newsmon.db"
        """) + engine + textwrap.dedent("""\
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
    """What the run stored, read with plain sqlite3 (the SQL written for SQLite; on PostgreSQL
    it goes through the storage's own translation, dialect.translate)."""
    if config.storage_url:
        from pipeline.storage import postgres

        conn = postgres.connect(config.storage_url, config.store_password)
        try:
            return [tuple(r) for r in conn.execute(sql, args).fetchall()]
        finally:
            conn.close()
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
