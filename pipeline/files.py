"""Writing a file so that no reader ever sees half of it (shared vocabulary: a leaf, no imports).

One rule for every file newsmon writes (digests, the index, the config, exports): write a temporary
file beside the target, fsync it, give it the target's mode — the existing file's, or for a new file
what the process umask allows (0644 under 022, so a web server or an analyst can read `reports/`),
never mkstemp's 0600 — keep the existing file's owner and group where allowed, and rename it over
the target. A symlinked target is written through the
link: the real file is replaced and the link stays.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask() -> int:
    """The process umask, read without changing it (Linux), else by setting and restoring it."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, text: str | bytes, keep_mode: bool = True) -> None:
    """`keep_mode`: an operator's file (the config) keeps its mode, owner and group; newsmon's own
    outputs (digests, the index, exports) always get the umask's mode, so files left 0600 by an
    older version are readable again after the next write."""
    path = Path(os.path.realpath(path))       # through a symlink, to the real file
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.stat() if keep_mode and path.exists() else None
    mode = existing.st_mode & 0o7777 if existing else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8") if isinstance(text, str) else text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        if existing is not None and (existing.st_uid, existing.st_gid) != (os.getuid(), os.getgid()):
            try:                              # keep its owner and group (allowed to root, or to
                os.chown(tmp, existing.st_uid, existing.st_gid)   # a member for the group)
            except PermissionError:
                pass
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
