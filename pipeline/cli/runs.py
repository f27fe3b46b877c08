"""The commands that run newsmon: run, digest, serve, status."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import sys
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path

import click

from ..config import Config, load_config
from ..sanitize import sanitize
from .common import config_option, handle_errors


def _print_report(report, stream=None) -> None:
    failed = report.failed_feeds
    click.echo(f"run {report.run_id}: {len(report.feeds)} feeds "
               f"({len(failed)} failed), {report.new_articles} new articles, "
               f"{report.duplicates} duplicates dropped", err=stream is sys.stderr)
    for f in failed:
        click.echo(f"  feed {f.name} failed: {f.error}", err=True)
    for path in report.digest_files:
        click.echo(f"  digest: {path}", err=stream is sys.stderr)


@click.command()
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
    from ..app.archive import exclusive, single_actor
    from ..app.pipeline import run_once

    config = load_config(config_path)
    only = tuple(config.feed_name(name) for name in only)   # an unknown name names the nearest
    # PostgreSQL: runs and daemons overlap (feed claims); the sending is one's at a time
    with (nullcontext() if config.storage_url else exclusive(config)), _stop_on_signals() as stop:
        with _progress() as bar:    # on a terminal only
            report = run_once(config, force=force, only=set(only) or None, on_start=bar.start,
                              on_feed_done=bar.done, should_stop=lambda: stop.signal is not None)
        _print_report(report)
        if report.stopped:
            click.echo(f"stopped by {signal.Signals(stop.signal).name}: the feeds in flight were dropped "
                       "whole and are checked next run; no email sent", err=True)
            sys.exit(128 + stop.signal)
        undelivered = 0
        with single_actor(config, "send") as mine:
            if mine:           # else another worker (or the daemon) is sending: it sends what is due
                undelivered = _deliver(config, send_now=False)
                _notify(config)
    if report.digest_error:
        click.echo(f"newsmon: {report.digest_error}", err=True)
    if undelivered:
        sys.exit(4)
    if report.digest_error:
        sys.exit(5)
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
        self.logging = contextlib.ExitStack()

    def start(self, total: int) -> None:
        from ..logs import through

        self.logging.enter_context(through(self.progress.console))   # log lines above the bar
        self.progress.start()
        self.task = self.progress.add_task("feeds", total=total)

    def done(self, outcome) -> None:
        self.articles += outcome.new
        self.failed += outcome.status == "error"
        self.progress.update(self.task, advance=1,
                             description=f"feeds · {self.articles} articles stored · {self.failed} failed")

    def stop(self) -> None:
        self.progress.stop()
        self.logging.close()


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


def _notify(config: Config) -> None:
    """Alerts (for every story stored since the last alert pass, this run's and any a stopped
    run left) and chat digests: queued, sent, one line per channel that did anything."""
    if not config.channels:
        return                               # (nothing to load: no chat library, no templates)
    from ..app.notify import notify_now
    from ..app.report import render_day

    try:
        deliveries = notify_now(config)
    except Exception as e:          # the run is stored and its email went: alerts retry next run
        click.echo(sanitize(f"  channels: alerts not processed ({type(e).__name__}: {e}); retried next run"), err=True)
        return
    if any(d.sent or d.batched or d.failed or d.errors for d in deliveries):
        render_day(config, None)             # the day's files list the alerts sent and pending
    for d in deliveries:
        if d.sent or d.batched:
            click.echo(f"  channel {d.channel}: {d.sent} sent" + (f", {d.batched} batched" if d.batched else ""))
        for error in d.errors:
            click.echo(f"  channel {d.channel}: {d.pending} pending, retried next run: {error}", err=True)
        if d.failed:
            click.echo(f"  channel {d.channel}: {d.failed} NOT sent (permanent failure; see newsmon status)", err=True)


def _deliver(config: Config, send_now: bool) -> int:
    """Send the due email(s); prints one line per recipient; returns how many were not delivered."""
    if not config.email.enabled:
        if send_now:
            raise click.UsageError("email is not enabled: set [email] enabled = true and its recipients")
        return 0
    from ..app.deliver import deliver_now

    failed = 0
    for o in deliver_now(config, send_now=send_now):
        if o.status in ("pending", "failed"):
            failed += 1
            click.echo(f"  email to {o.recipient} for {o.digest_date} NOT delivered ({o.status}): {o.error}", err=True)
        elif o.status != "not_due":
            click.echo(f"  email to {o.recipient} for {o.digest_date}: {_sent_line(o, config)}")
    return failed


def _sent_line(o, config: Config) -> str:
    """What became of an email: sent now, or found sent (or skipped) by an earlier call, which
    must not read as if it had just gone again."""
    late, stories = " (late)" if o.late else "", f"{o.stories} {'story' if o.stories == 1 else 'stories'}"
    if o.status == "sent" and not o.attempted:
        when = f" at {o.sent_at.astimezone(config.zone):%Y-%m-%d %H:%M %Z}" if o.sent_at else ""
        return f"already sent{when}{late}, {stories}; not sent again"
    if o.status == "skipped":
        return f"skipped{late}: nothing new to send"
    return f"{o.status}{late}, {stories}"


@click.command()
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
    from ..app.report import render_day

    if day is not None and not 1970 <= day.year <= 9998:
        raise click.BadParameter(f"{day:%Y-%m-%d}: expected a day between 1970 and 9998", param_hint="--date")
    config = load_config(config_path)
    if day is not None:
        from ..clock import utcnow

        today = utcnow().astimezone(config.zone).date()
        if day.date() > today:
            raise click.BadParameter(f"{day:%Y-%m-%d} is in the future (today is {today} in {config.timezone}): "
                                     "there is nothing to show yet", param_hint="--date")
    for p in render_day(config, day.date() if day else None):
        click.echo(str(p))
    if send:
        from ..app.archive import exclusive
        from ..errors import LockHeld
        from ..lock import signal_daemon

        try:
            with exclusive(config):   # never beside a run or the daemon: one sender at a time
                if _deliver(config, send_now=True):
                    sys.exit(4)
        except LockHeld:
            pid = signal_daemon(config.database, signal.SIGUSR1)
            if pid is None:
                raise
            click.echo(f"the running daemon (pid {pid}) was asked to send the due email now; "
                       "its log and `newsmon status` say when it has gone")


@click.command()
@config_option
@handle_errors
def serve(config_path: Path) -> None:
    """Run as a daemon: fetch each feed at its interval, send the digest at send_at.

    Runs one full cycle at start-up, then follows the schedule. SIGTERM or SIGINT stops it
    cleanly (exit 0); SIGHUP reloads the config (a bad one is logged and the old one kept);
    SIGUSR1 sends a due or pending email now. A signal during start-up is acted on once it serves.

    \b
    Example:
      newsmon serve --config config/newsmon.toml
    """
    from ..serve import serve as serve_forever

    sys.exit(serve_forever(config_path))


@click.command()
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
