"""`newsmon web`: the archive read by story, in a browser, with a JSON API and Atom feeds."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import load_config
from .common import config_option, handle_errors


@click.command()
@config_option
@click.option("--host", default=None, help="Address to listen on (default: [web] host, 127.0.0.1). Loopback "
                                           "only: no user accounts exist yet.")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port (default: [web] port, 8080; 0: any free one).")
@handle_errors
def web(config_path: Path, host: str | None, port: int | None) -> None:
    """Serve the archive read by story: Today, stories, search, days, feeds, alerts; the same as
    JSON under /api/v1/ (described at /api/v1/openapi.json); Atom feeds per topic and per search.
    Read-only, on loopback only.

    \b
    Examples:
      newsmon web --config config/newsmon.toml
      newsmon web --port 8181 --config config/newsmon.toml   # then open http://127.0.0.1:8181/
    """
    from ..web.serve import serve

    config = load_config(config_path)
    serve(config, host or config.web.host, config.web.port if port is None else port)
