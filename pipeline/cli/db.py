"""`newsmon db prune`, `db maintain` and `db copy`: retention, upkeep and moving the store."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import click

from ..config import load_config
from .common import config_option, handle_errors

_now_option = click.option("--now", "now_text", hidden=True,
                           help="Act as if it were this UTC time (ISO): for tests and replays.")
_wait_option = click.option("--wait", "wait_seconds", default=0, show_default=True, type=click.IntRange(0),
                            help="Seconds to wait for a run holding the lock (never for the daemon: it does this itself).")


def _now(now_text: str | None) -> datetime:
    from ..clock import utcnow
    from .common import parse_since

    return parse_since(now_text, utcnow()) if now_text else utcnow()


def _jsonable(report) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(report).items()}


def _prune_lines(p) -> list[str]:
    verb = "would go" if p.dry_run else "went"
    out = [f"texts dropped (stored before {p.text_before:%Y-%m-%d %H:%M} UTC): {p.texts_dropped} {verb}",
           f"articles deleted: {p.articles_deleted} {verb}" + (
               f" (stored before {p.delete_before:%Y-%m-%d %H:%M} UTC)" if p.delete_before else
               " ([storage] keep_days is not set: kept forever)")]
    if not p.dry_run:
        out.append(f"stories: {p.stories_refreshed} recomputed, {p.stories_deleted} deleted (no report left)")
    if p.kept_after_rowid is not None or p.kept_stories:
        out.append(f"kept whatever their age: articles after rowid {p.kept_after_rowid} (an email still to send "
                   f"covers them), the reports of {p.kept_stories} stories a pending message is about")
    if not p.complete:
        out.append("stopped before the end: the next prune goes on")
    return out


@click.group("db")
def db() -> None:
    """The store's retention and upkeep.

    \b
    Example:
      newsmon db prune --dry-run --config config/newsmon.toml
      newsmon db maintain --config config/newsmon.toml
    """


@db.command()
@config_option
@click.option("--dry-run", is_flag=True, help="Say what would go; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_wait_option
@_now_option
@handle_errors
def prune(config_path: Path, dry_run: bool, as_json: bool, wait_seconds: int, now_text: str | None) -> None:
    """Apply retention now: drop texts older than [storage] keep_text_days, delete articles older
    than keep_days. Never what an unsent email or a pending message needs. `db maintain` (nightly
    in the daemon, or its timer unit) does this too.

    \b
    Example:
      newsmon db prune --dry-run --config config/newsmon.toml
      newsmon db prune --config config/newsmon.toml
    """
    from ..app.archive import exclusive, opened
    from ..app.retention import prune as prune_store

    config = load_config(config_path)
    now = _now(now_text)
    if dry_run:                     # reads only: no lock, a run may go on beside it
        with opened(config) as store:
            report = prune_store(store, config, now, dry_run=True)
    else:
        with exclusive(config, role="prune", wait_seconds=wait_seconds), opened(config) as store:
            report = prune_store(store, config, now)
    if as_json:
        click.echo(json.dumps(_jsonable(report), indent=2))
    else:
        click.echo("\n".join(_prune_lines(report)))


@db.command()
@config_option
@click.option("--no-prune", is_flag=True, help="Upkeep only; leave retention to `db prune`.")
@click.option("--vacuum", is_flag=True,
              help="Rewrite the whole file once (VACUUM), switching a file made before newsmon's schema 10 to "
                   "incremental vacuum; holds the store for its whole length and needs its size free on disk.")
@click.option("--full", is_flag=True,
              help="Merge the whole search index into one segment now (FTS5 'optimize', in short steps), "
                   "dropping what emptied texts left in it; the nightly upkeep merges incrementally.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_wait_option
@_now_option
@handle_errors
def maintain(config_path: Path, no_prune: bool, vacuum: bool, full: bool, as_json: bool, wait_seconds: int,
             now_text: str | None) -> None:
    """Nightly upkeep: retention (as `db prune`), incremental FTS5 index merges (work that
    follows the day's growth), PRAGMA optimize, incremental vacuum, WAL checkpoint. Each step is
    a short transaction. Takes the run lock, so it never overlaps a run (a run started meanwhile
    exits 75 and the next one goes on); the daemon does this itself every night.

    \b
    Example:
      newsmon db maintain --config config/newsmon.toml
      newsmon db maintain --wait 1800 --config config/newsmon.toml     # what the timer unit runs
      newsmon db maintain --vacuum --config config/newsmon.toml        # once, for an old file
      newsmon db maintain --full --config config/newsmon.toml          # the whole search index, now
    """
    from ..app.archive import exclusive, opened
    from ..app.retention import maintain as maintain_store
    from ..app.retention import size_text

    config = load_config(config_path)
    with exclusive(config, role="maintain", wait_seconds=wait_seconds), opened(config) as store:
        report = maintain_store(store, config, _now(now_text), apply_retention=not no_prune, vacuum=vacuum,
                                full=full)
    if as_json:
        out = _jsonable(report)
        out["prune"] = _jsonable(report.prune) if report.prune else None
        click.echo(json.dumps(out, indent=2))
        return
    lines = _prune_lines(report.prune) if report.prune else []
    merged = report.search_merge
    lines.append(f"search index: {merged.steps} merge steps"
                 + (" (a whole-index merge)" if merged.whole else f" (at most {merged.budget} tonight)")
                 + f", segments {merged.segments_before} -> {merged.segments_after}; free pages given back: "
                 f"{report.vacuumed_pages}; size {size_text(report.size_before)} -> {size_text(report.size_after)}")
    if report.auto_vacuum == "none":
        lines.append("this file was made before incremental vacuum: space freed by pruning is reused but not "
                     "given back; run `newsmon db maintain --vacuum` once to switch it")
    if report.checkpoint_busy:
        lines.append("a reader kept the WAL checkpoint from finishing; it is tried again next time")
    click.echo("\n".join(lines))


def _copy_lines(report) -> list[str]:
    width = max(len(t.name) for t in report.tables)
    out = [f"{'verified' if not any(t.copied_now for t in report.tables) else 'copied'} {report.source} -> "
           f"{report.target}" + (" (went on from an interrupted copy)" if report.resumed else ""),
           f"{'table'.ljust(width)}  {'source rows':>11}  {'target rows':>11}  {'copied now':>10}  checksum"]
    for t in report.tables:
        same = f"{t.source.hex} equal" if t.equal else f"MISMATCH source {t.source.hex} target {t.target.hex}"
        out.append(f"{t.name.ljust(width)}  {t.source.rows:>11,}  {t.target.rows:>11,}  {t.copied_now:>10,}  {same}")
    out.append("search index: " + ("matches the articles" if report.search_index is None
                                   else f"MISMATCH ({report.search_index})"))
    differing = [t.name for t in report.tables if not t.equal]
    out.append(f"{len(report.tables)} tables, {sum(t.target.rows for t in report.tables):,} rows: "
               + ("counts and checksums equal" if report.equal else
                  f"DIFFERENT ({', '.join(differing) or 'search index'}): the target is not a faithful copy "
                  "(the source written since the copy began? copy into a new file)")
               + f" ({report.seconds:.1f} s)")
    return out


@db.command("copy")
@config_option
@click.option("--to", "target", required=True, metavar="TARGET",
              help="The database to copy into: an SQLite file or a postgresql:// URL (made with the schema "
                   "when new; its password from the URL, PGPASSWORD or ~/.pgpass).")
@click.option("--verify", is_flag=True, help="Copy nothing: compare row counts and checksums of every table.")
@click.option("--batch", default=1000, show_default=True, type=click.IntRange(1),
              help="Rows per transaction on the target.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_wait_option
@handle_errors
def copy_command(config_path: Path, target: str, verify: bool, batch: int, as_json: bool, wait_seconds: int) -> None:
    """Copy the whole archive of the config's store into another database: articles (their search
    index rebuilt there), stories, profiles and signatures, feeds' health, runs, emails and
    messages sent, marks, upkeep. Table by table in key order, a short transaction per batch:
    interrupted, run it again and it goes on where it stopped. Checked at the end by per-table
    row counts and checksums (exit 1 when they differ). Holds the run lock of the source, so no
    run changes it meanwhile (a run started then exits 75 and the next one goes on). Either side
    may be PostgreSQL: the config's [storage] url, or a URL given to --to.

    \b
    Example:
      newsmon db copy --config config/newsmon.toml --to /srv/newsmon/copy.db
      newsmon db copy --config config/newsmon.toml --to /srv/newsmon/copy.db --verify
      PGPASSWORD=… newsmon db copy --config config/newsmon.toml --to postgresql://newsmon@db/newsmon
    """
    from ..app.archive import exclusive, opened
    from ..app.dbcopy import copy_into, describe
    from ..errors import UsageError

    config = load_config(config_path)
    if not config.storage_url and not config.database.is_file():
        raise UsageError(f"{config.database}: no database yet to copy (see [storage] database)")
    source_name = describe(str(config.store))
    if source_name == describe(target):
        raise UsageError(f"--to {describe(target)}: that is the config's own database")
    with exclusive(config, role="copy", wait_seconds=wait_seconds), opened(config) as source:
        report = copy_into(source, source_name, target, batch=batch, verify_only=verify)
    if as_json:
        click.echo(json.dumps({"source": report.source, "target": report.target, "resumed": report.resumed,
                               "equal": report.equal, "seconds": round(report.seconds, 2),
                               "search_index": report.search_index,
                               "tables": {t.name: {"source_rows": t.source.rows, "target_rows": t.target.rows,
                                                   "source_checksum": t.source.hex, "target_checksum": t.target.hex,
                                                   "copied_now": t.copied_now} for t in report.tables}}, indent=2))
    else:
        click.echo("\n".join(_copy_lines(report)))
    if not report.equal:
        sys.exit(1)
