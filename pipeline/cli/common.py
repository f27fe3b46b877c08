"""What every `newsmon` command shares: the --config option, error handling, time arguments."""

from __future__ import annotations

import functools
import logging
import os
import re
import select
import signal
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click

from ..config import DEFAULT_CONFIG_PATH
from ..errors import NewsmonError
from ..sanitize import sanitize

log = logging.getLogger("newsmon")

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG_PATH, show_default=True, help="The TOML configuration file.")


# A reader that stopped reading (`newsmon search … | head`): quiet, and the status a shell gives
# a process killed by SIGPIPE, as `cat` and `grep` end there.
EXIT_PIPE_CLOSED = 128 + signal.SIGPIPE


def _stdout_gone() -> bool:
    """Whether stdout's reader went away (poll reports an error on the pipe), as opposed to a
    broken pipe elsewhere (a socket), which is a bug to report, not a reader that stopped."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return True


def _pipe_closed() -> None:
    """stdout's reader is gone: point stdout at /dev/null, so the interpreter's last flush of what
    is still buffered cannot fail again ("Exception ignored … BrokenPipeError"), and exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(EXIT_PIPE_CLOSED)


def handle_errors(fn):
    """Turn NewsmonError into one line on stderr and its exit code; never a traceback for those.
    A closed pipe on stdout ends quietly (EXIT_PIPE_CLOSED)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            sys.stdout.flush()               # a closed pipe shows here, not at interpreter exit
            return result
        except BrokenPipeError as e:
            if not _stdout_gone():
                _unexpected(e)
            _pipe_closed()
        except NewsmonError as e:
            click.echo(sanitize(f"newsmon: {e}"), err=True)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("newsmon: interrupted", err=True)
            sys.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except Exception as e:        # a bug of ours: one line, the traceback in the log at debug level
            _unexpected(e)
    return wrapper


def _unexpected(e: BaseException) -> None:
    log.debug("unexpected error", exc_info=True)
    click.echo(sanitize(f"newsmon: unexpected error ({type(e).__name__}: {e}); run with -vv for the traceback "
                        "and please report it"), err=True)
    sys.exit(1)


def parse_since(value: str, now: datetime) -> datetime:
    """'7d', '24h', '90m' before now, or an ISO date/time (UTC when no zone is given)."""
    m = re.fullmatch(r"(\d+)\s*([dhm])", value.strip())
    if m:
        n, unit = int(m.group(1)), m.group(2)
        try:
            return now - timedelta(**{{"d": "days", "h": "hours", "m": "minutes"}[unit]: n})
        except OverflowError:
            raise click.BadParameter(f"{value!r}: further back than the calendar goes") from None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected like 7d, 24h, 90m or 2026-11-01") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


