"""`newsmon web`: the archive read by story, in a browser, with a JSON API and Atom feeds;
`newsmon web passwd NAME`: a user's password, hashed into the config."""

from __future__ import annotations

import getpass
import re
import sys
from pathlib import Path

import click

from ..config import load_config
from ..errors import UsageError
from .common import config_option, handle_errors


@click.group(invoke_without_command=True)
@config_option
@click.option("--host", default=None, help="Address to listen on (default: [web] host, 127.0.0.1). Without "
                                           "[[web.users]] (or a trusted proxy header): loopback only.")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port (default: [web] port, 8080; 0: any free one).")
@click.pass_context
@handle_errors
def web(ctx: click.Context, config_path: Path, host: str | None, port: int | None) -> None:
    """Serve the archive read by story: Today, stories, search, days, feeds, alerts; the same as
    JSON under /api/v1/ (described at /api/v1/openapi.json); Atom feeds per topic and per search.
    Without users: read-only, on loopback only. With [[web.users]]: sign-in, reading state per user.
    It lowers its own CPU priority ([web] nice, 10), so that a run on the same machine comes first.

    \b
    Examples:
      newsmon web --config config/newsmon.toml
      newsmon web --port 8181 --config config/newsmon.toml   # then open http://127.0.0.1:8181/
      newsmon web passwd ann --config config/newsmon.toml    # add a user, or change her password
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..web.serve import serve

    config = load_config(config_path)
    serve(config, host or config.web.host, config.web.port if port is None else port)


def _read_password() -> str:
    """Twice on a terminal (no echo); else one line from stdin (a script, a secret manager)."""
    if sys.stdin.isatty():
        first = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != first:
            raise UsageError("the two passwords differ; nothing changed")
        return first
    return sys.stdin.readline().rstrip("\r\n")


@web.command()
@click.argument("name")
@config_option
@handle_errors
def passwd(name: str, config_path: Path) -> None:
    """Set NAME's password for `newsmon web` (adding the user when new): asked twice on a
    terminal, or read from stdin; stored as a scrypt hash in [[web.users]], comments kept.

    \b
    Example:
      newsmon web passwd ann --config config/newsmon.toml
    """
    from ..configedit import edit, set_web_user
    from ..web.passwords import hash_password

    if not re.fullmatch(r"[A-Za-z0-9._@-]{1,64}", name):
        raise UsageError(f"{name!r}: a user name is letters, digits and . _ @ - (at most 64)")
    load_config(config_path)                        # a broken config is named before a password is asked
    password = _read_password()
    if len(password) < 8:
        raise UsageError("a password of at least 8 characters is needed; nothing changed")
    added: list[bool] = []
    edit(config_path, lambda doc: added.append(set_web_user(doc, name, hash_password(password))))
    click.echo(f"newsmon web: {'added' if added[0] else 'changed the password of'} {name} in {config_path}; "
               "restart `newsmon web` to apply")
