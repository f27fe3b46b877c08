"""A throwaway PostgreSQL cluster for the tests: Debian's binaries, a temp folder, 127.0.0.1 on a
free port, a password (scram), run as an unprivileged user (initdb refuses root: as root, the
cluster is `nobody`'s). Standard library only, so that .ci/run can start one before the venv:

    python3 tests/pgserver.py start FOLDER    # prints NEWSMON_TEST_PG_URL=… and …_PASSWORD=…
    python3 tests/pgserver.py stop FOLDER
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

USER = "newsmon"


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, or Debian's /usr/lib/postgresql/N/bin (newest)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    return Path(folders[-1]) if folders and Path(folders[-1], "initdb").exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_owner(command: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *command] if owner else command


def start(folder: Path) -> tuple[str, str]:
    """Make and start a cluster in `folder`; (URL of its `postgres` database, password)."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL binaries (apt-get install postgresql)")
    owner = "nobody" if os.geteuid() == 0 else None
    folder.mkdir(parents=True, exist_ok=True)
    password = secrets.token_hex(12)
    (folder / "pw").write_text(password)
    if owner:
        shutil.chown(folder, owner)
        shutil.chown(folder / "pw", owner)
    data, port = folder / "data", _free_port()
    subprocess.run(_as_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--auth=scram-sha-256",
                              f"--pwfile={folder / 'pw'}", "--locale=C", "-E", "UTF8", "--no-sync"], owner),
                   check=True, capture_output=True, cwd=folder)
    options = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='' -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
    subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-o", options,
                              "-w", "-t", "60", "start"], owner), check=True, capture_output=True, cwd=folder)
    (folder / "port").write_text(str(port))
    return f"postgresql://{USER}@127.0.0.1:{port}/postgres", password


def stop(folder: Path) -> None:
    bin_dir, owner = binaries(), "nobody" if os.geteuid() == 0 else None
    if bin_dir and (folder / "data" / "postmaster.pid").exists():
        subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "-w",
                                  "stop"], owner), capture_output=True, cwd=folder)


if __name__ == "__main__":
    action, where = sys.argv[1], Path(sys.argv[2])
    if action == "start":
        url, secret = start(where)
        print(f"NEWSMON_TEST_PG_URL={url}\nNEWSMON_TEST_PG_PASSWORD={secret}")
    else:
        stop(where)
