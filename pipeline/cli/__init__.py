"""The `newsmon` command: click groups only. Each command parses its arguments, calls app/,
prints, and maps errors to exit codes (cli/common.py) — nothing else.

Exit codes: 0 done (feed failures are recorded and reported, not fatal); 1 anything else
(database unusable, unexpected error); 2 bad config or usage; 3 a feed failed and
--fail-on-feed-errors was given; 4 a due email was not delivered; 5 the digest files could not be
written (the email still went out); 75 another run holds the lock;
130/143 stopped by SIGINT/SIGTERM (feeds in flight dropped whole, checked next run).
"""

from __future__ import annotations

import logging

import click

from .. import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newsmon")
@click.option("-v", "--verbose", count=True, help="More log lines (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one JSON object per line, for journald and log collectors.")
def main(verbose: int, quiet: bool, log_format: str) -> None:
    """newsmon: monitor news feeds, flag watched topics, write a daily digest.

    \b
    Example:
      newsmon run --config config/newsmon.toml
    """
    from .. import logs

    logs.setup(logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO), log_format)


from .channels import channels  # noqa: E402
from .db import db  # noqa: E402
from .operators import archive_export, config_group, feeds, search  # noqa: E402
from .runs import digest, run, serve, status  # noqa: E402
from .stories import stories  # noqa: E402
from .tools import dedup, demo, flag  # noqa: E402
from .web import web  # noqa: E402

for _command in (run, digest, stories, flag, demo, dedup, serve, status, feeds, config_group, search,
                 archive_export, channels, web, db):
    main.add_command(_command)
