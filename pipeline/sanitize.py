"""The one sanitiser for what servers send (shared vocabulary: no I/O).

Every server-provided string — titles, texts, URLs, reason phrases, headers, error messages —
passes `sanitize` (or `one_line`) before it is stored, logged, printed or mailed; so does every
message a library (Apprise, smtplib) gives back. The same pass masks the configured secrets
(`SECRETS`), so a secret quoted in a service's error text is masked wherever that text goes.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import quote, quote_plus

# Terminal escape sequences (7-bit and 8-bit CSI, OSC, other ESC sequences). An OSC that is never
# terminated runs to the end of the line, as a terminal would swallow it.
_ESCAPES = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
                      r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
                      r"|\x1b[@-_]")
# What may never reach a reader, a terminal, a log line or SQLite, once the escapes are gone:
# C0/C1 controls other than tab and newline; bidirectional embedding, override and isolate marks
# (U+202E turns "txt.exe" into "exe.txt" on screen); zero-width space and BOM; lone surrogates
# (they cannot even be encoded as UTF-8) and the two noncharacters U+FFFE/U+FFFF.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e"
                       "\u2066-\u2069\ufeff\ufffe\uffff\ud800-\udfff]")

def sanitize(text: str) -> str:
    """The one sanitiser for every server-provided string (titles, texts, URLs, reason phrases,
    headers, error messages) before it is stored, logged, printed or mailed: terminal escapes,
    control characters, bidi overrides and lone surrogates removed; tab and newline kept; every
    configured secret (SECRETS) masked as "***"."""
    return SECRETS.mask(_CONTROLS.sub("", _ESCAPES.sub("", text)))


def one_line(text: str | None) -> str:
    """A sanitised string folded onto one line (titles, error messages, header values)."""
    return " ".join(sanitize(text or "").split())


MASK = "***"
# A shorter value is not told apart from ordinary text: masking every "abc" in a digest would
# destroy it and protect nothing (`config check` says so for such a secret).
MIN_SECRET_CHARS = 4


class Secrets:
    """The configured secrets, masked by `sanitize` in everything newsmon prints, logs, stores or
    writes: one rule at the one place all outside text already passes, not a mask per call site.

    Process-wide on purpose: a secret must be masked wherever text leaves newsmon — in log records
    that libraries emit (Apprise quotes URLs in its errors), in exceptions, in rows — and none of
    those carry the config. It is filled when the config loads (the values behind `password_env`,
    a URL's password and token-like query values) and when a URL is handed to Apprise (the parts
    Apprise itself hides in its privacy URL). It only grows, which is the safe direction: a secret
    replaced by a reload, or met by another config in the same process (tests, the daemon's
    reload), stays masked. `clear()` exists for tests. The state is one immutable tuple replaced
    whole, so a reader on another thread sees the old set or the new one, never half of either;
    writers take a lock, so two threads registering at once cannot drop each other's secrets.
    """

    def __init__(self) -> None:
        self._forms: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, *values: str | None) -> None:
        """Register secrets (None, empty and too-short values are ignored), in each form they can
        appear in: as written, percent-encoded (as in a URL) and sanitised."""
        new = {f for value in values if value and len(value) >= MIN_SECRET_CHARS
               for f in _forms(value) if len(f) >= MIN_SECRET_CHARS}
        if new <= set(self._forms):
            return                                # the usual case: known already, no lock taken
        with self._lock:
            # longest first: a form that contains another is masked whole
            self._forms = tuple(sorted(new | set(self._forms), key=lambda f: (-len(f), f)))

    def clear(self) -> None:
        with self._lock:
            self._forms = ()

    def mask(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def __contains__(self, value: str) -> bool:
        return value in self._forms


def _forms(value: str) -> set[str]:
    stripped = _CONTROLS.sub("", _ESCAPES.sub("", value))
    return {value, stripped, quote(value, safe=""), quote(value), quote_plus(value),
            quote(value, safe="").lower(), quote(value, safe="/:@")}


SECRETS = Secrets()
