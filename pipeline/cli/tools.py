"""Tools for trying things by hand: topic rules, duplicate checks, the offline demo."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..config import load_config
from ..errors import FetchError
from .common import config_option, handle_errors, parse_since


@click.command()
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
    from ..app.topics import match_json, matcher_for

    if replay:
        return _replay(config_path, since, apply_, as_json)
    matcher = matcher_for(config_path)
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
                                   "matches": [match_json(m) for m in matches]}, ensure_ascii=False))
        return
    matches = matcher.match(title, stream.read())
    if as_json:
        click.echo(json.dumps({"topics": list(dict.fromkeys(m.topic for m in matches)),
                               "matches": [match_json(m) for m in matches]}, ensure_ascii=False, indent=2))
        return
    if not matches:
        click.echo("no topic matched")
        return
    for m in matches:
        click.echo(f"{m.topic}\t{m.term!r}\t{m.field}[{m.start}:{m.end}]\t{m.sentence}")


def _replay(config_path: Path, since: str, apply_: bool, as_json: bool) -> None:
    from ..app.topics import replay
    from ..clock import utcnow

    start = parse_since(since, utcnow())
    changes = replay(load_config(config_path), start, apply_)
    if as_json:
        click.echo(json.dumps({"since": start.isoformat(), "applied": apply_, "changes": [
            {"id": c.id, "url": c.url, "title": c.title, "before": c.before, "after": c.after}
            for c in changes]}, ensure_ascii=False, indent=2))
        return
    for c in changes:
        click.echo(f"{c.first_seen[:10]}  {c.title[:70]}: {','.join(c.before) or '-'} -> {','.join(c.after) or '-'}")
    verb = "updated" if apply_ else "would change (dry run; add --apply to store)"
    click.echo(f"{len(changes)} article(s) since {start:%Y-%m-%d %H:%M} UTC {verb}")


@click.command()
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


@click.group()
def dedup() -> None:
    """Duplicate detection tools.

    \b
    Example:
      newsmon dedup check article.txt --config config/newsmon.toml
    """


@dedup.command("check")
@config_option
@click.argument("source")
@click.option("--title", default="", help="The text's headline (stories weigh it).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@handle_errors
def dedup_check(config_path: Path, source: str, title: str, as_json: bool) -> None:
    """Tell which seed or stored article a text duplicates, with the similarity, and which
    story it would join and why (shared names, terms and numbers, or what keeps it apart).

    SOURCE is a text file, '-' for standard input, or an http(s) URL (fetched and extracted as
    a run would). Nothing is stored.

    \b
    Example:
      newsmon dedup check seeds/000_2ceace7d45a6ac80.txt --config config/newsmon.toml
      newsmon dedup check https://example.org/story --config config/newsmon.toml
    """
    from ..app.dedupcheck import check_text, fetch_text, story_line

    config = load_config(config_path)
    if source.startswith(("http://", "https://")):
        try:
            raw, note = fetch_text(config, source)
        except FetchError as e:
            raise click.ClickException(str(e)) from None
        if note:
            click.echo(f"note: {note}; comparing the page's plain text", err=True)
    elif source == "-":
        raw = sys.stdin.read()
    else:
        try:
            raw = Path(source).read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            raise click.UsageError(f"cannot read {source}: {e.strerror}") from None
    verdict = check_text(config, raw, title)
    if as_json:
        s = verdict.story
        story = None if s is None else {
            "joins": s.story_id, "follow_up_of": s.follow_up_of, "closest": s.closest, "title": verdict.story_title,
            "score": s.score, "shared_entities": list(s.shared_entities), "shared_terms": list(s.shared_terms),
            "shared_numbers": list(s.shared_numbers), "veto": s.veto,
            "pair_features": dict(s.features), "pair_score": s.pair_score}
        click.echo(json.dumps({"source": source, "words": verdict.words, "duplicate_of": verdict.duplicate_of,
                               "kind": verdict.kind, "similarity": verdict.similarity,
                               "left_out": verdict.left_out, "story": None if verdict.left_out else story},
                              ensure_ascii=False))
        return
    if verdict.duplicate_of:
        click.echo(f"{source}: copy of {verdict.duplicate_of} ({verdict.kind}), similarity {verdict.similarity:.3f}")
    else:
        click.echo(f"{source}: no duplicate found ({verdict.rule()})")
    click.echo(story_line(verdict))
