"""`newsmon stories`: a day's stories, each with every report, as the digest groups them; and
`newsmon stories group`: the story stage over reports given as JSON lines, touching no database."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from ..config import load_config
from .common import config_option, handle_errors


@click.group(invoke_without_command=True)
@config_option
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The digest day (default: today in the digest time zone).")
@click.option("--topic", default=None, help="Only stories flagged under this topic (its id or its label).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--why", "why_id", default=None, metavar="ID",
              help="Why this article is in its story: the model's pair features and probability.")
@click.pass_context
@handle_errors
def stories(ctx: click.Context, config_path: Path, day: datetime | None, topic: str | None, as_json: bool,
            why_id: str | None) -> None:
    """List a day's stories: each event once, with the outlets and every report.

    \b
    Examples:
      newsmon stories --config config/newsmon.toml
      newsmon stories --date 2026-11-23 --topic ceasefire --json --config config/newsmon.toml
      newsmon stories --why 3be18144 --config config/newsmon.toml
      newsmon stories group --config config/newsmon.toml < reports.jsonl
      newsmon stories split 3be18144 --config config/newsmon.toml
      newsmon stories merge 3be18144 9f0c2d11 --config config/newsmon.toml
    """
    if ctx.invoked_subcommand is not None:
        return
    if why_id is not None:
        return _why(load_config(config_path), why_id, as_json)
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


def _why(config, article_id: str, as_json: bool) -> None:
    from ..app.stories import why

    row, found = why(config, article_id)
    story = found.story_id or found.closest
    if as_json:
        click.echo(json.dumps({"article": row["id"], "title": row["title"], "story": row["story_id"],
                               "model_story": found.story_id, "closest": found.closest, "score": found.score,
                               "veto": found.veto, "pair_features": dict(found.features),
                               "pair_score": found.pair_score, "recorded": row["recorded"],
                               "corrections": row["corrections"]},
                              ensure_ascii=False, indent=2))
        return
    click.echo(f"{row['id']} \"{row['title']}\" ({row['feed']}) is in story {row['story_id']}")
    for edit in row["corrections"]:
        click.echo(f"  correction: {edit['note']}")
    if any(e["article"] == row["id"] for e in row["corrections"]):
        click.echo("  (the operator's correction holds whatever the model says below)")
    if story is None:
        click.echo("  no story of its window was close: it started its own")
        return
    verb = "joined" if found.story_id else f"stayed out of ({found.veto})"
    source = "as the run recorded it" if row["recorded"] else "replayed on its window"
    click.echo(f"  {verb} {story} ({source}): average probability over that story's reports {found.score:.2f}")
    click.echo(f"  with its closest report there: probability {found.pair_score:.2f}, from "
               + ", ".join(f"{k} {v:g}" for k, v in found.features if v))


@stories.command("group")
@config_option
@handle_errors
def group(config_path: Path) -> None:
    """Group reports given as JSON lines on stdin into stories, as a run would; no database.

    Each input line is {"id", "title", "text", "outlet", "published" (ISO 8601), "lang"}, in
    arrival order; each output line is {"id", "story"}, the story being the id of its first
    report. The stage, the fitted model and the time zone are the run's (from the config).

    \b
    Example:
      newsmon stories group --config config/newsmon.toml < reports.jsonl > stories.jsonl
    """
    import sys

    from ..app.semantic import embedder_of
    from ..app.stories import group_reports

    config = load_config(config_path)
    for report_id, story_id in group_reports(config.zone, sys.stdin, embedder_of(config)):
        click.echo(json.dumps({"id": report_id, "story": story_id}, ensure_ascii=False))


def _corrected(config, change, as_json: bool) -> None:
    """Carry out a correction on the configured database and say what it left."""
    from ..app.archive import opened
    from ..clock import utcnow

    with opened(config) as store:
        done = change(store, utcnow())
    if as_json:
        click.echo(json.dumps({"edits": [e.to_json() for e in done.edits],
                               "stories": [{"story_id": s.id, "title": s.title, "lead": s.lead, "reports": s.reports,
                                            "outlets": s.outlets} for s in done.stories]}, ensure_ascii=False, indent=2))
        return
    for e in done.edits:
        click.echo(e.note())
    for s in done.stories:
        click.echo(f"story {s.id}: {s.reports} report{'s' if s.reports != 1 else ''}, {s.outlets} "
                   f"outlet{'s' if s.outlets != 1 else ''}, led by {s.lead} {s.title!r}")


@stories.command("split")
@config_option
@click.argument("article_id", metavar="ID")
@click.option("--from", "expect_from", default=None, metavar="STORY", help="The story it is in (checked).")
@click.option("--to", "to", default=None, metavar="STORY", help="Move it into this story instead.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@handle_errors
def split(config_path: Path, article_id: str, expect_from: str | None, to: str | None, as_json: bool) -> None:
    """Take a report out of its story: into a story of its own, or --to another story.

    The correction is stored and kept by every later run (a new report never pulls it back);
    both stories' leads and counts are recomputed.

    \b
    Example:
      newsmon stories split 3be18144 --config config/newsmon.toml
      newsmon stories split 3be18144 --from 77aa0c1e --to 9f0c2d11 --config config/newsmon.toml
    """
    from ..app.storyedits import split as split_report

    _corrected(load_config(config_path),
               lambda store, now: split_report(store, article_id, now, to=to, expect_from=expect_from), as_json)


@stories.command("merge")
@config_option
@click.argument("first", metavar="A")
@click.argument("second", metavar="B")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@handle_errors
def merge(config_path: Path, first: str, second: str, as_json: bool) -> None:
    """Make stories A and B one story (the one that began first keeps its id).

    The correction is stored and kept by every later run: a new report of either event joins the
    merged story; its lead and counts are recomputed.

    \b
    Example:
      newsmon stories merge 3be18144 9f0c2d11 --config config/newsmon.toml
    """
    from ..app.storyedits import merge as merge_stories

    _corrected(load_config(config_path), lambda store, now: merge_stories(store, first, second, now), as_json)
