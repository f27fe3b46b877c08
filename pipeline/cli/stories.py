"""`newsmon stories`: a day's stories, each with every report, as the digest groups them."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from ..config import load_config
from .common import config_option, handle_errors


@click.command()
@config_option
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The digest day (default: today in the digest time zone).")
@click.option("--topic", default=None, help="Only stories flagged under this topic (its id or its label).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@handle_errors
def stories(config_path: Path, day: datetime | None, topic: str | None, as_json: bool) -> None:
    """List a day's stories: each event once, with the outlets and every report.

    \b
    Examples:
      newsmon stories --config config/newsmon.toml
      newsmon stories --date 2026-11-23 --topic ceasefire --json --config config/newsmon.toml
    """
    from ..app.stories import day_stories, story_json
    from ..clock import utcnow

    if day is not None and not 1970 <= day.year <= 9998:
        raise click.BadParameter(f"{day:%Y-%m-%d}: expected a day between 1970 and 9998", param_hint="--date")
    config = load_config(config_path)
    when = day.date() if day else utcnow().astimezone(config.zone).date()
    found = day_stories(config, when, topic)
    if as_json:
        click.echo(json.dumps({"date": when.isoformat(), "topic": topic, "stories": [story_json(s) for s in found]},
                              ensure_ascii=False, indent=2))
        return
    for s in found:
        badges = "".join(f" [{t}]" for t in s.topics)
        extra = f"; continuing since {s.continuing.since}" if s.continuing else ""
        extra += f"; follows {s.follow_up_of.title!r}" if s.follow_up_of else ""
        click.echo(f"{s.title}{badges} — {len(s.outlets)} outlet{'s' if len(s.outlets) != 1 else ''}{extra}")
        for feed, title, url in [(s.feed, s.title, s.url)] + [(c.feed, c.title, c.url) for c in s.also]:
            click.echo(f"  {feed}: {title}  {url or ''}".rstrip())
    click.echo(f"{len(found)} stor{'y' if len(found) == 1 else 'ies'} on {when}"
               + (f" under {topic}" if topic else ""))
