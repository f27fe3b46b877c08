"""Operators' commands: the feed list, OPML, config checks, archive search and export.

They edit the TOML config in place (comments and order kept, validated, written atomically) and
read the database, so nobody needs to open the config by hand or SQLite at all.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click

from ..config import load_config
from ..errors import ConfigError, FetchError, OPMLError, UsageError
from .common import config_option, handle_errors, parse_since

# --- feeds ---------------------------------------------------------------------------------------

@click.group()
def feeds() -> None:
    """List, add, remove, enable and disable feeds; import and export OPML.

    \b
    Example:
      newsmon feeds list --config config/newsmon.toml
    """


@feeds.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors
def feeds_list(config_path: Path, as_json: bool) -> None:
    """The configured feeds with their health.

    \b
    Example:
      newsmon feeds list --config config/newsmon.toml
    """
    from ..app.status import collect

    config = load_config(config_path)
    rows = collect(config, runs=0)["feeds"]
    tags = {f.name: list(f.tags) for f in config.feeds}
    for row in rows:
        row["tags"] = tags[row["name"]]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from ..app.status import short_time, text_table

    click.echo(text_table(["name", "status", "fails", "last success", "next due", "tags", "url"], [
        [r["name"] + ("" if r["enabled"] else " (disabled)"), r["status"], str(r["consecutive_failures"]),
         short_time(r["last_success"]), short_time(r["next_due"]), ",".join(r["tags"]), r["url"]] for r in rows]))


@feeds.command("add")
@config_option
@click.argument("url")
@click.option("--name", help="A short unique name (default: from the feed's title).")
@click.option("--tags", default="", help="Comma-separated tags.")
@click.option("--interval", type=float, help="Minutes between checks (default: [fetch] interval_minutes).")
@handle_errors
def feeds_add(config_path: Path, url: str, name: str | None, tags: str, interval: float | None) -> None:
    """Add a feed to the config after fetching it once.

    Refuses duplicates and anything that is not a feed, saying why. Given a web page that links
    to its feed, adds the feed.

    \b
    Example:
      newsmon feeds add https://www.theguardian.com/world/ukraine/rss --tags ukraine,uk
    """
    from ..app.feeds import add_feed

    tag_list = tuple(t.strip() for t in tags.split(",") if t.strip())
    try:
        name, probe = add_feed(config_path, url, name, tag_list, interval)
    except (FetchError, UsageError) as e:
        raise click.ClickException(f"not added: {e}".replace("not added: not added:", "not added:")) from None
    if probe.page:
        click.echo(f"{probe.page} is a web page; it links to the feed {probe.url}")
    click.echo(f"added {name!r}: {probe.feed.title or '(untitled)'} — {len(probe.feed.entries)} items — {probe.url}")
    _tell_daemon(config_path)


@feeds.command("remove")
@config_option
@click.argument("name")
@handle_errors
def feeds_remove(config_path: Path, name: str) -> None:
    """Remove a feed from the config (its stored articles stay in the archive).

    \b
    Example:
      newsmon feeds remove bbc-europe --config config/newsmon.toml
    """
    from ..app.feeds import remove_feed

    remove_feed(config_path, name)
    click.echo(f"removed {name!r}")
    _tell_daemon(config_path)


def _tell_daemon(config_path: Path) -> None:
    """A running daemon takes the edit at once (SIGHUP); without one, the next run reads it."""
    from ..app.feeds import reload_daemon

    pid = reload_daemon(config_path)
    if pid is not None:
        click.echo(f"the running daemon (pid {pid}) was told to reload the config")


def _set_enabled(config_path: Path, name: str, enabled: bool) -> None:
    from ..app.feeds import set_enabled

    set_enabled(config_path, name, enabled)
    click.echo(f"{'enabled' if enabled else 'disabled'} {name!r}")
    _tell_daemon(config_path)


@feeds.command("enable")
@config_option
@click.argument("name")
@handle_errors
def feeds_enable(config_path: Path, name: str) -> None:
    """Enable a feed.

    \b
    Example:
      newsmon feeds enable bbc-europe --config config/newsmon.toml
    """
    _set_enabled(config_path, name, True)


@feeds.command("disable")
@config_option
@click.argument("name")
@handle_errors
def feeds_disable(config_path: Path, name: str) -> None:
    """Disable a feed without removing it.

    \b
    Example:
      newsmon feeds disable bbc-europe --config config/newsmon.toml
    """
    _set_enabled(config_path, name, False)


@feeds.command("import")
@config_option
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@handle_errors
def feeds_import(config_path: Path, opml_file: Path) -> None:
    """Add the feeds of an OPML file (from Feedly, Inoreader, NetNewsWire, …); categories become tags.

    Feeds already configured (same URL) or repeated in the file are skipped and counted.

    \b
    Example:
      newsmon feeds import subscriptions.opml --config config/newsmon.toml
    """
    from ..app.feeds import import_opml

    try:
        report = import_opml(config_path, opml_file.read_bytes())
    except OPMLError as e:
        raise click.ClickException(f"{opml_file}: {e}") from None
    for problem in report.problems:
        click.echo(f"{opml_file}: {problem}", err=True)
    click.echo(f"imported {report.added} feed(s); {report.duplicates} duplicate(s) skipped or merged"
               + (f"; {report.schemeless} without a scheme taken as https://" if report.schemeless else "")
               + (f"; {len(report.invalid)} not http(s), skipped: {', '.join(report.invalid)}" if report.invalid else ""))
    if report.added:
        _tell_daemon(config_path)


@feeds.command("export")
@config_option
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path), required=False)
@handle_errors
def feeds_export(config_path: Path, output: Path | None) -> None:
    """Write the feed list as OPML 2.0 (to OUTPUT, or standard output); tags become categories.

    \b
    Example:
      newsmon feeds export feeds.opml --config config/newsmon.toml
    """
    from ..app.feeds import export_opml

    config = load_config(config_path)
    data = export_opml(config)
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        from ..files import write_atomic

        write_atomic(output, data, keep_mode=False)
        click.echo(f"wrote {len(config.feeds)} feed(s) to {output}")


# --- config check ----------------------------------------------------------------------------------

@click.group("config")
def config_group() -> None:
    """Configuration tools.

    \b
    Example:
      newsmon config check --config config/newsmon.toml
    """


@config_group.command("check")
@config_option
@click.option("--probe", is_flag=True, help="Also fetch every feed once and open the SMTP connection (no mail sent).")
@handle_errors
def config_check(config_path: Path, probe: bool) -> None:
    """Validate the config and print every problem at once, with file, line and key.

    Exit 0 when all is well, 2 when anything is wrong.

    \b
    Example:
      newsmon config check --config config/newsmon.toml
      newsmon config check --probe --config config/newsmon.toml
    """
    problems: list[ConfigError] = []
    config = load_config(config_path, problems)
    for p in problems:
        click.echo(f"error: {p}")
    from ..app.checks import extra_checks
    from ..app.checks import probe as probe_all

    other = extra_checks(config) if config else []
    for p in other:
        click.echo(f"error: {config_path}: {p}")
    probe_failed: list[str] = []
    if config and probe:
        lines, probe_failed = probe_all(config)
        for line in lines:
            click.echo(line)
    if problems or other or probe_failed:
        said = []
        if problems or other:
            said.append(f"{len(problems) + len(other)} problem(s) in the configuration")
        if probe_failed:
            said.append(f"{len(probe_failed)} probe(s) failed: {', '.join(probe_failed)} "
                        "(see the FAILED lines above)")
        click.echo(f"{config_path}: {'; '.join(said)}", err=True)
        sys.exit(2)
    click.echo(f"{config_path}: OK — {len(config.feeds)} feeds, {len(config.topics)} topics, "
               f"email {'on' if config.email.enabled else 'off'}")
    from ..topics import DEFAULT_TOPICS

    builtin = set(DEFAULT_TOPICS)        # a built-in replaced by a table of its id is the user's
    click.echo("topics: " + (", ".join(f"{t.label} [{t.id}{', built-in' if t in builtin else ''}]"
                                       for t in config.topics) or "none ([topics] builtin = false)"))


# --- archive ---------------------------------------------------------------------------------------

@click.command()
@config_option
@click.argument("query")
@click.option("--topic", help="Only articles flagged with this topic (its id or its label).")
@click.option("--feed", help="Only articles from this feed (its name or its title).")
@click.option("--since", help="Only articles first seen since (7d, 24h, 2026-11-01).")
@click.option("--limit", default=20, show_default=True)
@click.option("--raw", is_flag=True, help="QUERY is FTS5 syntax (AND, OR, NEAR, \"phrases\", prefix*).")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV output.")
@handle_errors
def search(config_path: Path, query: str, topic: str | None, feed: str | None, since: str | None,
           limit: int, raw: bool, as_json: bool, as_csv: bool) -> None:
    """Full-text search over the archive, best matches first, with highlighted snippets.

    Words are searched as typed; "quoted phrases", AND, OR and NOT (upper case) and a trailing
    * (prefix) work without --raw.

    \b
    Example:
      newsmon search "air defence" --topic nato --since 7d --config config/newsmon.toml
      newsmon search 'truce OR ceasefire NOT "trade truce"' --topic Ceasefire --config config/newsmon.toml
      newsmon search 'ceasefire NEAR/5 monitor*' --raw --csv --config config/newsmon.toml
    """
    from ..app.archive import SEARCH_FIELDS, one_line_snippet, search_records
    from ..app.archive import search as search_archive
    from ..clock import utcnow

    config = load_config(config_path)
    rows = search_archive(config, query, raw=raw, topic=topic, feed=feed,
                          since=parse_since(since, utcnow()) if since else None, limit=limit)
    fields = list(SEARCH_FIELDS)
    bold = not (as_json or as_csv) and sys.stdout.isatty()   # highlights: the terminal's bold, or none
    for r in rows:
        r["snippet"] = one_line_snippet(r["snippet"], bold)
    if as_json:
        click.echo(json.dumps(search_records(rows), ensure_ascii=False, indent=2))
    elif as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({**r, "topics": json.dumps(r["topics"])} for r in rows)
    else:
        if not rows:
            click.echo("no match")
        for r in rows:
            click.echo(f"{r['first_seen'][:16].replace('T', ' ')}  {r['feed']}  {r['title']}")
            click.echo(f"    {r['snippet']}")
            if r["url"]:
                click.echo(f"    {r['url']}")



@click.command("export")
@config_option
@click.option("--since", help="Articles first seen since (7d, 24h, 2026-11-01); default: all.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--duplicates", is_flag=True, help="Include the articles stored as duplicates.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
@handle_errors
def archive_export(config_path: Path, since: str | None, fmt: str, duplicates: bool, output: Path | None) -> None:
    """Export stored articles for analysts, as CSV or JSON, streaming.

    \b
    Example:
      newsmon export --since 30d --format csv --output november.csv --config config/newsmon.toml
    """
    from ..app.archive import exported
    from ..clock import utcnow

    config = load_config(config_path)
    try:
        stream = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
    except OSError as e:
        raise click.UsageError(f"cannot write {output}: {e.strerror}") from None
    count = 0
    try:
        with exported(config, parse_since(since, utcnow()) if since else None, duplicates) as rows:
            count = _write_rows(rows, fmt, stream)
    finally:
        if output:
            stream.close()
    if output:
        click.echo(f"wrote {count} article(s) to {output}")


def _write_rows(rows, fmt: str, stream) -> int:
    """Stream rows as CSV or a JSON array; how many were written."""
    count = 0
    if fmt == "csv":
        writer = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(stream, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)
            count += 1
        return count
    stream.write("[")
    for row in rows:
        row["topics"] = json.loads(row["topics"])
        stream.write(("," if count else "") + "\n" + json.dumps(row, ensure_ascii=False))
        count += 1
    stream.write("\n]\n")
    return count
