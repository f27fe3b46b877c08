"""One run at a time: a non-blocking flock on a file next to the database.

flock belongs to the open file, so the kernel drops it when the process dies however it dies:
a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import LockHeld, StoreError


def _lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextmanager
def run_lock(database: Path, role: str = "run", wait_seconds: float = 0) -> Iterator[None]:
    """Held for a run's or the daemon's whole life; the file says who holds it ("<pid> <role>").
    With `wait_seconds`, a run holding it is waited for (polled each second), the daemon never:
    it holds the lock for good."""
    path = _lock_path(database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise StoreError(f"{path}: cannot create the lock file: {e.strerror}") from None
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").split()
                serving = holder[1:] == ["serve"]
                if serving or time.monotonic() >= deadline:
                    pid = holder[0] if holder else "unknown"
                    what = "the newsmon daemon" if serving else f"another newsmon {holder[1] if holder[1:] else 'run'}"
                    raise LockHeld(f"{what} (pid {pid}) holds {path}; not starting") from None
                time.sleep(1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {role}".encode(), 0)
        yield
    finally:
        os.close(fd)


def daemon_pid(database: Path) -> int | None:
    """The pid of a running `newsmon serve` on this database, or None (no daemon, or a run)."""
    path = _lock_path(database)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:                    # held: by whom?
            holder = os.pread(fd, 64, 0).decode(errors="replace").split()
            if len(holder) == 2 and holder[1] == "serve" and holder[0].isdigit():
                return int(holder[0])
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)             # nobody holds it: no daemon
        return None
    finally:
        os.close(fd)


def signal_daemon(database: Path, signum: int) -> int | None:
    """Send `signum` to the daemon serving this database; its pid, or None when none runs."""
    pid = daemon_pid(database)
    if pid is None:
        return None
    try:
        os.kill(pid, signum)
    except OSError:
        return None
    return pid
