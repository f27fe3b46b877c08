"""The terminal (issue 24): log lines above the progress bar, never through it; a closed pipe
(`newsmon … | head`) ends quietly with the conventional status. All through `newsmon` as a
subprocess, on a real pseudo-terminal or a real pipe."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import write_config
from world import serve_world

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_LOG_LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d (?:INFO|WARNING|ERROR) ")


def on_a_terminal(*args: str, columns: int = 120) -> str:
    """`newsmon ARGS` with stderr on a pseudo-terminal: what the terminal received."""
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", *args], stdout=subprocess.DEVNULL,
                            stderr=slave, env={**os.environ, "COLUMNS": str(columns), "TERM": "xterm"})
    os.close(slave)
    output = b""
    while True:                  # until the terminal closes (EOF or EIO) when the process exits
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    proc.wait(timeout=120)
    os.close(master)
    assert proc.returncode == 0, output
    return output.decode(errors="replace")


def test_log_lines_print_above_the_progress_bar_never_through_it(site, tmp_path, seeds_dir):
    feeds = serve_world(site)
    path = write_config(tmp_path, list(feeds.items()))
    raw = on_a_terminal("run", "--force", "--config", str(path))
    assert "━" in raw and "articles stored" in raw            # the bar was drawn
    logged = list(_LOG_LINE.finditer(raw))
    assert len(logged) >= 2                                    # a line per feed, at INFO
    for m in logged:
        # what the terminal shows before the log line on its row: nothing, once the escape
        # sequences are applied (rich erases the bar, prints the line, draws the bar again)
        before = raw[:m.start()]
        row = _ANSI.sub("", before).rsplit("\n", 1)[-1].rsplit("\r", 1)[-1]
        assert row == "", f"log line glued to {row!r}"
        assert before.endswith(("\n", "\r\x1b[2K")), before[-80:]   # a fresh row, or the bar's row erased
