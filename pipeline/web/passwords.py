"""Password hashes for `[[web.users]]`: scrypt (hashlib, no dependency), in the self-describing
form passlib and others use, `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (base64 without padding), so
the cost can be raised later and old hashes still verify with their own parameters."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

LOG2_N, R, P = 15, 8, 1          # ~32 MiB and ~0.1 s per check on a 2-core VM: costly to guess offline
_FORM = re.compile(r"\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/.]+)\$([A-Za-z0-9+/.]+)")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32,
                          maxmem=256 * n * r * p + (1 << 20))


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    return f"$scrypt$ln={LOG2_N},r={R},p={P}${_b64(salt)}${_b64(_scrypt(password, salt, LOG2_N, R, P))}"


def verify_password(password: str, stored: str | None) -> bool:
    """Whether `password` matches `stored`, compared in constant time. With no stored hash (an
    unknown user) a hash is still computed, so the answer takes as long as for a known one."""
    m = _FORM.fullmatch(stored or "")
    if m is None:
        _scrypt(password, b"no such user....", LOG2_N, R, P)
        return False
    log2_n, r, p = (int(x) for x in m.group(1, 2, 3))
    if not (1 <= log2_n <= 22 and 1 <= r <= 32 and 1 <= p <= 16):
        return False
    return hmac.compare_digest(_scrypt(password, _unb64(m.group(4)), log2_n, r, p), _unb64(m.group(5)))
