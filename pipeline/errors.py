"""One error tree. Every error says where the problem is (file and key, or URL).

    NewsmonError                 exit code 1 unless a subclass says otherwise
    ├── ConfigError              exit 2: a bad config file, key or value
    ├── LockHeld                 exit 75: another run holds the lock (EX_TEMPFAIL)
    ├── StoreError               exit 1: the database cannot be opened or written (storage/ turns
    │                            every sqlite3 error into one, in one place: Store.guard)
    ├── UsageError               exit 2: a command was given something it cannot use
    ├── DigestWriteError         exit 5: the digest files could not be written (the email still goes)
    ├── OPMLError                exit 1: an OPML file that cannot be read at all
    ├── MailError                never leaves delivery: recorded on the email (permanent or not)
    └── FetchError               never leaves a run: recorded on the feed or article
        ├── HTTPStatusError      a status other than 200/304 (carries Retry-After)
        ├── BodyTooLarge         the decoded body passed the byte cap
        └── NotAFeed             the body is no feed (HTML page, binary, empty, broken)

Errors are turned into messages and exit codes only in `cli/`.
"""

from __future__ import annotations

import difflib

from .sanitize import one_line


class NewsmonError(Exception):
    exit_code = 1


class ConfigError(NewsmonError):
    """A configuration problem, located as precisely as we can."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 key: str | None = None):
        self.message, self.file, self.line, self.key = message, file, line, key
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = self.file or "<config>"
        if self.line:
            where += f":{self.line}"
        if self.key:
            where += f": {self.key}"
        return f"{where}: {self.message}"


class LockHeld(NewsmonError):
    exit_code = 75


class StoreError(NewsmonError):
    pass


class FetchError(NewsmonError):
    """A failed request. `url` is what was asked for; the message says why, for a human."""

    def __init__(self, url: str, message: str):
        # reason phrases, Location headers and URLs come from servers: sanitised here, once,
        # so no stored, logged or printed error can carry an escape sequence or a bidi override
        self.url, self.message = one_line(url), one_line(message)
        super().__init__(f"{self.url}: {self.message}")

    def __reduce__(self):
        # errors raised in a worker process cross back pickled: rebuild them from their fields
        return type(self), (self.url, self.message)


class HTTPStatusError(FetchError):
    def __init__(self, url: str, status: int, reason: str = "", retry_after: float | None = None):
        self.status, self.retry_after, self.reason = status, retry_after, reason
        super().__init__(url, f"HTTP {status} {reason}".strip())

    def __reduce__(self):
        return type(self), (self.url, self.status, self.reason, self.retry_after)


class BodyTooLarge(FetchError):
    pass


class NotAFeed(FetchError):
    """The body is not a feed we can read (HTML page, binary, empty, broken beyond use)."""


class UsageError(NewsmonError):
    """What a command was given cannot be used (a bad search query, a file it cannot read)."""

    exit_code = 2


class OPMLError(NewsmonError):
    """An OPML file that cannot be read at all."""


class MailError(NewsmonError):
    """A failed SMTP step. `permanent`: retrying cannot help (bad credentials, 5xx) until the
    setting named in the message is fixed; `delivered_unknown`: the connection broke after the
    message was handed over, so it may have arrived (the retry resends the very same bytes)."""

    def __init__(self, message: str, permanent: bool, delivered_unknown: bool = False):
        # a mail server's replies are server-provided text: sanitised here, once (escapes gone,
        # configured secrets masked), as FetchError does for feeds
        super().__init__(one_line(message))
        self.permanent, self.delivered_unknown = permanent, delivered_unknown


class DigestWriteError(NewsmonError):
    """The day's files could not be written: reports/ full, unwritable or not a folder, or a
    custom template that does not compile. The database and the email do not depend on them."""

    exit_code = 5


def did_you_mean(value: str, names) -> str:
    """' (did you mean 'guardian'?)' for the names nearest a mistyped one, or ''."""
    by_fold = {}
    for name in names:
        by_fold.setdefault(name.casefold(), name)
    near = difflib.get_close_matches(value.casefold(), list(by_fold), n=3, cutoff=0.6)
    if not near:
        return ""
    return f" (did you mean {' or '.join(repr(by_fold[n]) for n in near)}?)"
