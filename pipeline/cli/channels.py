"""`newsmon channels`: the configured chat channels, and a test message to one."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..config import load_config
from .common import config_option, handle_errors


@click.group()
def channels() -> None:
    """Chat channels (Slack, Teams, Telegram, Matrix, ntfy, webhooks… through Apprise).

    \b
    Example:
      newsmon channels test desk-slack --config config/newsmon.toml
    """


@channels.command("test")
@config_option
@click.argument("name")
@handle_errors
def channels_test(config_path: Path, name: str) -> None:
    """Send a test message to channel NAME now (not stored; exit 1 if it was not accepted).

    \b
    Example:
      newsmon channels test duty-phone --config config/newsmon.toml
    """
    from ..app.notify import NotifyError, send

    config = load_config(config_path)
    channel = next((c for c in config.channels if c.name == name), None)
    if channel is None:
        known = ", ".join(c.name for c in config.channels) or "none configured"
        raise click.UsageError(f"no channel named {name!r} in {config_path} (known: {known})")
    try:
        send(channel, "newsmon test message", f"newsmon can reach channel {name}. Nothing else was sent.")
    except NotifyError as e:
        click.echo(f"channel {name}: NOT sent: {e.message}", err=True)
        sys.exit(1)
    click.echo(f"channel {name}: test message accepted")
