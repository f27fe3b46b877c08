"""The one sanitiser for what servers send (shared vocabulary: no I/O).

Every server-provided string — titles, texts, URLs, reason phrases, headers, error messages —
passes `sanitize` (or `one_line`) before it is stored, logged, printed or mailed.
"""

from __future__ import annotations

import re

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
    control characters, bidi overrides and lone surrogates removed; tab and newline kept."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def one_line(text: str | None) -> str:
    """A sanitised string folded onto one line (titles, error messages, header values)."""
    return " ".join(sanitize(text or "").split())
