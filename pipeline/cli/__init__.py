"""The `newsmon` command. Errors become one line on stderr and an exit code here, nowhere else.

Exit codes: 0 done (feed failures are recorded and reported, not fatal); 1 anything else
(database unusable, unexpected error); 2 bad config or usage; 3 a feed failed and
--fail-on-feed-errors was given; 4 a due email was not delivered; 75 another run holds the lock;
130/143 stopped by SIGINT/SIGTERM (feeds in flight dropped whole, checked next run).
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import sys
from datetime import datetime
from pathlib import Path

import click

from .. import __version__
from .common import config_option, handle_errors, parse_since
from ..config import Config, load_config

log = logging.getLogger("newsmon")

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


def _print_report(report, stream=None) -> None:
    failed = report.failed_feeds
    click.echo(f"run {report.run_id}: {len(report.feeds)} feeds "
               f"({len(failed)} failed), {report.new_articles} new articles, "
               f"{report.duplicates} duplicates dropped", err=stream is sys.stderr)
    for f in failed:
        click.echo(f"  feed {f.name} failed: {f.error}", err=True)
    for path in report.digest_files:
        click.echo(f"  digest: {path}", err=stream is sys.stderr)


@main.command()
@config_option
@click.option("--force", is_flag=True, help="Check every feed now, ignoring intervals and backoff.")
@click.option("--feed", "only", multiple=True, help="Only this feed (repeatable).")
@click.option("--fail-on-feed-errors", is_flag=True,
              help="Exit 3 when any feed failed (by default feed failures are reported, exit 0).")
@handle_errors
def run(config_path: Path, force: bool, only: tuple[str, ...], fail_on_feed_errors: bool) -> None:
    """Run one full cycle: fetch due feeds, extract, dedup, flag, store, write today's digest.

    This is what cron or a systemd timer calls, every 15 minutes say: each feed is checked
    when its interval has passed (longer while it keeps failing). Runs never overlap: a
    second run while one is going exits 75 at once.

    \b
    Example:
      newsmon run --config config/newsmon.toml
      newsmon run --force --feed bbc-europe --config config/newsmon.toml
    """
    from ..lock import run_lock
    from ..app.pipeline import run_once

    config = load_config(config_path)
    unknown = set(only) - {f.name for f in config.feeds}
    if unknown:
        raise click.UsageError(f"no feed named {', '.join(sorted(unknown))} in {config_path}")
    with run_lock(config.database), _stop_on_signals() as stop:
        with _progress() as bar:    # on a terminal only
            report = run_once(config, force=force, only=set(only) or None, on_start=bar.start,
                              on_feed_done=bar.done, should_stop=lambda: stop.signal is not None)
        _print_report(report)
        if report.stopped:
            click.echo(f"stopped by {signal.Signals(stop.signal).name}: the feeds in flight were dropped "
                       "whole and are checked next run; no email sent", err=True)
            sys.exit(128 + stop.signal)
        undelivered = _deliver(config, send_now=False)
    if undelivered:
        sys.exit(4)
    if fail_on_feed_errors and report.failed_feeds:
        sys.exit(3)


class _Stop:
    signal: int | None = None


@contextlib.contextmanager
def _stop_on_signals():
    """SIGTERM/SIGINT during a run: note it; the run drops the feeds in flight within a fraction
    of a second, records itself as interrupted and writes its digest (exit 128 + signal)."""
    stop = _Stop()

    def note(signum, frame):
        stop.signal = signum

    previous = {s: signal.signal(s, note) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class _NoBar:
    def start(self, total: int) -> None:
        pass

    def done(self, outcome) -> None:
        pass


class _Bar(_NoBar):
    """Feeds done / total and articles stored, on a terminal only (never in cron mail or logs)."""

    def __init__(self):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self.task, self.articles, self.failed = None, 0, 0

    def start(self, total: int) -> None:
        self.progress.start()
        self.task = self.progress.add_task("feeds", total=total)

    def done(self, outcome) -> None:
        self.articles += outcome.new
        self.failed += outcome.status == "error"
        self.progress.update(self.task, advance=1,
                             description=f"feeds · {self.articles} articles stored · {self.failed} failed")

    def stop(self) -> None:
        self.progress.stop()


@contextlib.contextmanager
def _progress():
    if not sys.stderr.isatty() or logging.getLogger().level > logging.INFO:
        yield _NoBar()
        return
    bar = _Bar()
    try:
        yield bar
    finally:
        bar.stop()


def _deliver(config: Config, send_now: bool) -> int:
    """Send the due email(s); prints one line per recipient; returns how many were not delivered."""
    from ..app.deliver import deliver_due
    from ..stages.flag import TopicMatcher
    from ..app.pipeline import utcnow
    from ..storage.store import Store

    if not config.email.enabled:
        if send_now:
            raise click.UsageError("email is not enabled: set [email] enabled = true and its recipients")
        return 0
    store = Store.open(config.database)
    try:
        outcomes = deliver_due(store, config, utcnow(), TopicMatcher(config.topics).labels, send_now=send_now)
    finally:
        store.close()
    failed = 0
    for o in outcomes:
        if o.status in ("pending", "failed"):
            failed += 1
            click.echo(f"  email to {o.recipient} for {o.digest_date} NOT delivered ({o.status}): {o.error}", err=True)
        elif o.status != "not_due":
            late = " (late)" if o.late else ""
            click.echo(f"  email to {o.recipient} for {o.digest_date}: {o.status}{late}, {o.articles} articles")
    return failed


@main.command()
@config_option
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day to render (YYYY-MM-DD, in the digest time zone). Default: today.")
@click.option("--send", is_flag=True, help="Also send today's email now, if it has not gone out yet.")
@handle_errors
def digest(config_path: Path, day: datetime | None, send: bool) -> None:
    """Re-render one day's digest files from the database (no fetching); optionally email it.

    --send follows the exactly-once rule: each recipient gets today's email at most once,
    whether from `newsmon run`, the daemon or this command.

    \b
    Example:
      newsmon digest --config config/newsmon.toml --date 2026-11-23
      newsmon digest --send --config config/newsmon.toml
    """
    from ..stages.digest import write_for_day
    from ..stages.flag import TopicMatcher
    from ..app.pipeline import utcnow
    from ..storage.store import Store

    config = load_config(config_path)
    store = Store.open(config.database)
    try:
        paths = write_for_day(store, config, utcnow(), TopicMatcher(config.topics).labels,
                              day=day.date() if day else None)
    finally:
        store.close()
    for p in paths:
        click.echo(str(p))
    if send:
        from ..lock import run_lock

        with run_lock(config.database):   # never beside a run or the daemon: one sender at a time
            if _deliver(config, send_now=True):
                sys.exit(4)


def _match_json(m) -> dict:
    return {"topic": m.topic, "term": m.term, "field": m.field, "start": m.start, "end": m.end,
            "matched": m.matched, "sentence": m.sentence}


@main.command()
@config_option
@click.argument("source", required=False)
@click.option("--title", default="", help="A title to match too (single text).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--jsonl", "jsonl", is_flag=True,
              help='Batch mode: SOURCE has one {"id", "text", "title"?} object per line.')
@click.option("--replay", is_flag=True, help="Re-run the current rules over the stored archive.")
@click.option("--since", default="7d", show_default=True, help="With --replay: how far back (7d, 24h, 2026-11-01).")
@click.option("--apply", "apply_", is_flag=True, help="With --replay: store the new topics.")
@handle_errors
def flag(config_path: Path, source: str | None, title: str, as_json: bool, jsonl: bool,
         replay: bool, since: str, apply_: bool) -> None:
    """Test topic rules: on a text, a batch of texts, or the archive.

    SOURCE is a file or '-' for standard input. Uses the topics of --config when that file
    exists, otherwise the built-in defaults.

    \b
    Examples:
      echo "Talks on a cease-fire resumed." | newsmon flag -
      newsmon flag --jsonl sentences.jsonl > results.jsonl
      newsmon flag --replay --since 7d --config config/newsmon.toml          # dry run
      newsmon flag --replay --since 7d --apply --config config/newsmon.toml
    """
    from ..stages.flag import TopicMatcher
    from ..topics import DEFAULT_TOPICS

    if replay:
        return _replay(load_config(config_path), since, apply_, as_json)
    topics = load_config(config_path).topics if config_path.exists() else DEFAULT_TOPICS
    matcher = TopicMatcher(topics)
    stream = click.open_file(source or "-", encoding="utf-8")
    if jsonl:
        for n, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                text, item_title, item_id = item["text"], item.get("title", ""), item.get("id")
                if not isinstance(text, str) or not isinstance(item_title, str):
                    raise TypeError
            except (ValueError, KeyError, TypeError, AttributeError):
                raise click.UsageError(f"{source or '-'}:{n}: expected a JSON object with a "
                                       f'"text" string (and optional "id", "title")') from None
            matches = matcher.match(item_title, text)
            click.echo(json.dumps({"id": item_id, "topics": list(dict.fromkeys(m.topic for m in matches)),
                                   "matches": [_match_json(m) for m in matches]}, ensure_ascii=False))
        return
    matches = matcher.match(title, stream.read())
    if as_json:
        click.echo(json.dumps({"topics": list(dict.fromkeys(m.topic for m in matches)),
                               "matches": [_match_json(m) for m in matches]}, ensure_ascii=False, indent=2))
        return
    if not matches:
        click.echo("no topic matched")
        return
    for m in matches:
        click.echo(f"{m.topic}\t{m.term!r}\t{m.field}[{m.start}:{m.end}]\t{m.sentence}")


def _replay(config: Config, since: str, apply_: bool, as_json: bool) -> None:
    from ..stages.flag import TopicMatcher
    from ..app.pipeline import utcnow
    from ..storage.store import Store

    start = parse_since(since, utcnow())
    matcher = TopicMatcher(config.topics)
    store = Store.open(config.database)
    try:
        changes = []
        for row in store.originals_since(start):
            matches = matcher.match(row["title"], row["text"])
            new = list(dict.fromkeys(m.topic for m in matches))
            old = json.loads(row["topics"])
            if sorted(new) != sorted(old):
                changes.append((row, old, new, matches))
        if apply_ and changes:
            with store.transaction():
                for row, _, _, matches in changes:
                    store.replace_matches(row["id"], matches)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"since": start.isoformat(), "applied": apply_, "changes": [
            {"id": r["id"], "url": r["url"], "title": r["title"], "before": old, "after": new}
            for r, old, new, _ in changes]}, ensure_ascii=False, indent=2))
        return
    for r, old, new, _ in changes:
        click.echo(f"{r['first_seen'][:10]}  {r['title'][:70]}: {','.join(old) or '-'} -> {','.join(new) or '-'}")
    verb = "updated" if apply_ else "would change (dry run; add --apply to store)"
    click.echo(f"{len(changes)} article(s) since {start:%Y-%m-%d %H:%M} UTC {verb}")


@main.command()
@click.option("--reports", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True, help="Where the demo digest goes.")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=Path("data"),
              show_default=True, help="Where the demo's fresh database goes (demo.db).")
@click.option("--seeds", type=click.Path(file_okay=False, path_type=Path), default=Path("seeds"),
              show_default=True, help="The seed corpus folder.")
@handle_errors
def demo(reports: Path, data: Path, seeds: Path) -> None:
    """Offline demo: serve bundled sample feeds on 127.0.0.1, run the real pipeline twice.

    Starts a loopback HTTP server with sample RSS and Atom feeds and article pages, runs
    newsmon against it with a fresh SQLite file, writes the digest into --reports, then runs
    again to show that a rerun adds nothing.

    \b
    Example:
      newsmon demo --reports reports
    """
    from ..demo import run_demo

    run_demo(reports=reports, data=data, seeds=seeds)


@main.group()
def dedup() -> None:
    """Duplicate detection tools.

    \b
    Example:
      newsmon dedup check article.txt --config config/newsmon.toml
    """


@dedup.command("check")
@config_option
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@handle_errors
def dedup_check(config_path: Path, source: str, as_json: bool) -> None:
    """Tell which seed or stored article a text duplicates, with the similarity.

    SOURCE is a text file, '-' for standard input, or an http(s) URL (fetched and extracted as
    a run would). Nothing is stored.

    \b
    Example:
      newsmon dedup check seeds/000_2ceace7d45a6ac80.txt --config config/newsmon.toml
      newsmon dedup check https://example.org/story --config config/newsmon.toml
    """
    from ..stages.clean import clean_text, compile_boilerplate, fingerprint
    from ..stages.dedup import open_index, signature
    from ..app.pipeline import utcnow
    from ..app.seeds import sync_seeds
    from ..storage.store import Store

    config = load_config(config_path)
    boilerplate = compile_boilerplate(config.boilerplate)
    if source.startswith(("http://", "https://")):
        raw = _fetch_and_extract(config, source)
    elif source == "-":
        raw = sys.stdin.read()
    else:
        try:
            raw = Path(source).read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            raise click.UsageError(f"cannot read {source}: {e.strerror}") from None
    text = clean_text(raw, boilerplate)
    store = Store.open(config.database)
    try:
        sync_seeds(store, config.seeds_dir, boilerplate, utcnow())
        found = open_index(store).nearest(text, fingerprint(text), signature(text))
    finally:
        store.close()
    words = len(text.split())
    result = {"source": source, "words": words,
              "duplicate_of": found.target.ref if found else None,
              "kind": found.target.kind if found else None,
              "similarity": found.similarity if found else None}
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    elif found:
        click.echo(f"{source}: copy of {found.target.ref} ({found.target.kind}), "
                   f"similarity {found.similarity:.3f}")
    else:
        from ..stages.dedup import MIN_WORDS_NEAR, NEAR_THRESHOLD
        rule = (f"no stored text at similarity >= {NEAR_THRESHOLD}" if words >= MIN_WORDS_NEAR
                else f"only exact copies are checked for texts under {MIN_WORDS_NEAR} words ({words})")
        click.echo(f"{source}: no duplicate found ({rule})")


def _fetch_and_extract(config: Config, url: str) -> str:
    import asyncio

    from ..stages.clean import html_to_text
    from ..errors import FetchError
    from ..stages.workers import Workers
    from ..stages.fetch import Fetcher

    async def go() -> str:
        async with Fetcher(config.fetch) as fetcher:
            page = await fetcher.get(url, max_bytes=config.extract.max_page_bytes)
        with Workers(config.extract, config.boilerplate, config.topics) as extractor:
            extracted, note = await extractor.extract(page.body, page.url, "",
                                                      page.headers.get("content-type"))
        if extracted is None:
            click.echo(f"note: {note}; comparing the page's plain text", err=True)
            return html_to_text(page.body.decode("utf-8", errors="replace"))
        return extracted.text

    try:
        return asyncio.run(go())
    except FetchError as e:
        raise click.ClickException(str(e)) from None


@main.command()
@config_option
@handle_errors
def serve(config_path: Path) -> None:
    """Run as a daemon: fetch each feed at its interval, send the digest at send_at.

    Runs one full cycle at start-up, then follows the schedule. SIGTERM or SIGINT stops it
    cleanly (exit 0); SIGHUP reloads the config (a bad one is logged and the old one kept).

    \b
    Example:
      newsmon serve --config config/newsmon.toml
    """
    from ..serve import serve as serve_forever

    sys.exit(serve_forever(config_path))


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--runs", default=10, show_default=True, help="How many recent runs to show.")
@handle_errors
def status(config_path: Path, as_json: bool, runs: int) -> None:
    """Show feed health, recent runs and digests, without fetching anything.

    \b
    Example:
      newsmon status --config config/newsmon.toml
      newsmon status --json --config config/newsmon.toml | jq '.feeds[] | select(.status != "ok")'
    """
    from ..app.status import collect, render_text

    config = load_config(config_path)
    report = collect(config, runs=runs)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(render_text(report))


from .operators import archive_export, config_group, feeds, search  # noqa: E402

for _command in (feeds, config_group, search, archive_export):
    main.add_command(_command)
