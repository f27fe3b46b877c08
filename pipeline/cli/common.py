"""What every `newsmon` command shares: the --config option, error handling, time arguments."""

from __future__ import annotations

import functools
import re
import sqlite3
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click

from ..config import DEFAULT_CONFIG_PATH
from ..errors import NewsmonError

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG_PATH, show_default=True, help="The TOML configuration file.")




def handle_errors(fn):
    """Turn NewsmonError into one line on stderr and its exit code; never a traceback for those."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NewsmonError as e:
            click.echo(f"newsmon: {e}", err=True)
            sys.exit(e.exit_code)
        except sqlite3.Error as e:
            click.echo(f"newsmon: database error: {e} (disk full? read-only? see [storage] database)", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("newsmon: interrupted", err=True)
            sys.exit(130)
    return wrapper



def parse_since(value: str, now: datetime) -> datetime:
    """'7d', '24h', '90m' before now, or an ISO date/time (UTC when no zone is given)."""
    m = re.fullmatch(r"(\d+)\s*([dhm])", value.strip())
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return now - timedelta(**{{"d": "days", "h": "hours", "m": "minutes"}[unit]: n})
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected like 7d, 24h, 90m or 2026-11-01") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


