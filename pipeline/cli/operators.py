"""Operators' commands: the feed list, OPML, config checks, archive search and export.

They edit the TOML config in place (comments and order kept, validated, written atomically) and
read the database, so nobody needs to open the config by hand or SQLite at all.
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from pathlib import Path

import click

from .common import config_option, handle_errors, parse_since
from ..config import Config, load_config
from ..errors import ConfigError, FetchError


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


async def _probe_feed(config: Config, url: str):
    """Fetch and parse once: (parsed feed, final URL). Finds a feed linked from an HTML page."""
    from ..stages.fetch import Fetcher
    from ..stages.parse import discover_feed_links, parse_feed
    from ..errors import NotAFeed
    from ..app.pipeline import FEED_ACCEPT

    async with Fetcher(config.fetch) as fetcher:
        response = await fetcher.get(url, accept=FEED_ACCEPT)
        try:
            return parse_feed("probe", response, max_items=10_000), response.url
        except NotAFeed:
            links = discover_feed_links(response.body, response.url)
            if not links:
                raise
            click.echo(f"{url} is a web page; it links to the feed {links[0]}")
            response = await fetcher.get(links[0], accept=FEED_ACCEPT)
            return parse_feed("probe", response, max_items=10_000), response.url


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
    from ..configedit import edit, feeds_table, new_feed, slug
    from ..stages.dedup import canonical_url

    config = load_config(config_path)
    try:
        parsed, final_url = asyncio.run(_probe_feed(config, url))
    except FetchError as e:
        raise click.ClickException(f"not added: {e}") from None
    for f in config.feeds:
        if canonical_url(f.url) in (canonical_url(url), canonical_url(final_url)):
            raise click.ClickException(f"not added: the feed {f.name!r} already has this URL ({f.url})")
        if name and f.name == name:
            raise click.ClickException(f"not added: there is already a feed named {name!r}")
    name = name or slug(parsed.title or final_url, {f.name for f in config.feeds})
    tag_list = tuple(t.strip() for t in tags.split(",") if t.strip())
    edit(config_path, lambda doc: feeds_table(doc).append(new_feed(name, final_url, tag_list, interval)))
    click.echo(f"added {name!r}: {parsed.title or '(untitled)'} — {len(parsed.entries)} items — {final_url}")


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
    from ..configedit import edit, find_feed

    def change(doc) -> None:
        table = find_feed(doc, name)
        doc["feeds"].remove(table)

    edit(config_path, change)
    click.echo(f"removed {name!r}")


def _set_enabled(config_path: Path, name: str, enabled: bool) -> None:
    from ..configedit import edit, find_feed

    def change(doc) -> None:
        find_feed(doc, name)["enabled"] = enabled

    edit(config_path, change)
    click.echo(f"{'enabled' if enabled else 'disabled'} {name!r}")


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
    from ..config import _http_url
    from ..configedit import edit, feeds_table, new_feed, slug
    from ..stages.dedup import canonical_url
    from ..opml import OPMLError, parse_opml

    try:
        outlines = parse_opml(opml_file.read_bytes())
    except OPMLError as e:
        raise click.ClickException(f"{opml_file}: {e}") from None
    config = load_config(config_path)
    known_urls = {canonical_url(f.url) for f in config.feeds}
    names = {f.name for f in config.feeds}
    added, duplicates, invalid = [], 0, []
    for o in outlines:
        try:
            url = _http_url(o.url)
        except ValueError:
            invalid.append(o.url)
            continue
        if canonical_url(url) in known_urls:
            duplicates += 1
            continue
        known_urls.add(canonical_url(url))
        name = slug(o.title, names)
        names.add(name)
        added.append(new_feed(name, url, o.tags))
    if added:
        edit(config_path, lambda doc: [feeds_table(doc).append(t) for t in added])
    click.echo(f"imported {len(added)} feed(s); {duplicates} duplicate(s) skipped"
               + (f"; {len(invalid)} not http(s), skipped: {', '.join(invalid)}" if invalid else ""))


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
    from ..opml import to_opml
    from ..storage.store import Store

    config = load_config(config_path)
    titles = {}
    if config.database.exists():
        store = Store.open(config.database)
        try:
            titles = {r["name"]: r["title"] for r in store.feeds() if r["title"]}
        finally:
            store.close()
    data = to_opml(config.feeds, titles)
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        from ..configedit import write_atomic
        write_atomic(output, data.decode("utf-8"))
        click.echo(f"wrote {len(config.feeds)} feed(s) to {output}")


# --- config check ----------------------------------------------------------------------------------

@click.group("config")
def config_group() -> None:
    """Configuration tools.

    \b
    Example:
      newsmon config check --config config/newsmon.toml
    """


def _extra_checks(config: Config) -> list[str]:
    """Problems a valid file can still have: folders, seed files, templates, secrets."""
    import os

    problems = []
    if not config.seeds_dir.is_dir():
        problems.append(f"[seeds] directory {config.seeds_dir} does not exist")
    else:
        for p in sorted(config.seeds_dir.glob("*.txt")):
            try:
                p.read_text(encoding="utf-8")
            except UnicodeDecodeError as e:
                problems.append(f"seed file {p}: not UTF-8 ({e.reason} at byte {e.start})")
            except OSError as e:
                problems.append(f"seed file {p}: cannot read ({e.strerror})")
    for label, folder in (("[storage] database folder", config.database.parent),
                          ("[digest] directory", config.digest_dir)):
        existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if existing is None or not os.access(existing, os.W_OK):
            problems.append(f"{label} {folder} cannot be created or written")
    if config.templates_dir and not config.templates_dir.is_dir():
        problems.append(f"[digest] templates {config.templates_dir} does not exist")
    e = config.email
    if e.enabled and e.password_env and e.password_env not in os.environ:
        problems.append(f"[email] password_env: environment variable {e.password_env} is not set here")
    if e.ca_file and not Path(e.ca_file).is_file():
        problems.append(f"[email] ca_file {e.ca_file} does not exist")
    return problems


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
    other = _extra_checks(config) if config else []
    for p in other:
        click.echo(f"error: {config_path}: {p}")
    failed = bool(problems or other)
    if config and probe:
        failed = _probe(config) or failed
    if failed:
        click.echo(f"{config_path}: {len(problems) + len(other)} problem(s)"
                   + (" (and failed probes)" if not (problems or other) else ""), err=True)
        sys.exit(2)
    click.echo(f"{config_path}: OK — {len(config.feeds)} feeds, {len(config.topics)} topics, "
               f"email {'on' if config.email.enabled else 'off'}")


def _probe(config: Config) -> bool:
    """Fetch each feed once and connect to the mail server; True when anything failed."""
    from ..app.deliver import MailError, Mailer

    async def all_feeds():
        return await asyncio.gather(*(_probe_one(config, f.name, f.url) for f in config.feeds if f.enabled))

    failed = False
    for name, url, result in asyncio.run(all_feeds()):
        if isinstance(result, Exception):
            failed = True
            click.echo(f"probe: feed {name}: FAILED: {result}")
        else:
            parsed, final = result
            click.echo(f"probe: feed {name}: ok — {parsed.title or '(untitled)'}, {len(parsed.entries)} items"
                       + (f" (at {final})" if final != url else ""))
    if config.email.enabled:
        mailer = Mailer(config.email)
        try:
            mailer._smtp = mailer._connect()
            click.echo(f"probe: mail server {config.email.host}:{config.email.port}: ok "
                       f"({config.email.security}{', authenticated' if config.email.username else ''}); no mail sent")
        except MailError as e:
            failed = True
            click.echo(f"probe: mail server: FAILED: {e}")
        finally:
            mailer.close()
    return failed


async def _probe_one(config: Config, name: str, url: str):
    from ..errors import NotAFeed

    try:
        return name, url, await _probe_feed(config, url)
    except (FetchError, NotAFeed) as e:
        return name, url, e


# --- archive ---------------------------------------------------------------------------------------

@click.command()
@config_option
@click.argument("query")
@click.option("--topic", help="Only articles flagged with this topic id.")
@click.option("--feed", help="Only articles from this feed.")
@click.option("--since", help="Only articles first seen since (7d, 24h, 2026-11-01).")
@click.option("--limit", default=20, show_default=True)
@click.option("--raw", is_flag=True, help="QUERY is FTS5 syntax (AND, OR, NEAR, \"phrases\", prefix*).")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV output.")
@handle_errors
def search(config_path: Path, query: str, topic: str | None, feed: str | None, since: str | None,
           limit: int, raw: bool, as_json: bool, as_csv: bool) -> None:
    """Full-text search over the archive, best matches first, with highlighted snippets.

    \b
    Example:
      newsmon search "air defence" --topic nato --since 7d --config config/newsmon.toml
      newsmon search 'ceasefire NEAR/5 monitor*' --raw --csv --config config/newsmon.toml
    """
    import sqlite3

    from ..app.pipeline import utcnow
    from ..storage.store import Store

    config = load_config(config_path)
    store = Store.open(config.database)
    try:
        rows = store.search(query, raw=raw, topic=topic, feed=feed,
                            since=parse_since(since, utcnow()) if since else None, limit=limit)
    except sqlite3.OperationalError as e:
        raise click.UsageError(f"bad search query {query!r}: {e}" + ("" if raw else "")) from None
    finally:
        store.close()
    fields = ["first_seen", "feed", "title", "url", "topics", "snippet", "rank"]
    if as_json:
        click.echo(json.dumps([{k: (json.loads(r[k]) if k == "topics" else r[k]) for k in fields} for r in rows],
                              ensure_ascii=False, indent=2))
    elif as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
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
    from ..app.pipeline import utcnow
    from ..storage.store import Store

    config = load_config(config_path)
    store = Store.open(config.database)
    stream = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
    count = 0
    try:
        rows = store.export_rows(parse_since(since, utcnow()) if since else None, include_duplicates=duplicates)
        if fmt == "csv":
            writer = None
            for row in rows:
                if writer is None:
                    writer = csv.DictWriter(stream, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
                count += 1
        else:
            stream.write("[")
            for row in rows:
                row["topics"] = json.loads(row["topics"])
                stream.write(("," if count else "") + "\n" + json.dumps(row, ensure_ascii=False))
                count += 1
            stream.write("\n]\n")
    finally:
        store.close()
        if output:
            stream.close()
    if output:
        click.echo(f"wrote {count} article(s) to {output}")
