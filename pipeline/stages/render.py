"""Digest files: HTML, Markdown, plain text and JSON from one Digest.

Feed text is untrusted: the HTML template autoescapes everything, highlights are built from
escaped pieces, only http(s) URLs become links, and the Markdown output escapes Markdown's special
characters. Files are written atomically (temp file, then rename), so a reader never sees half.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    PackageLoader,
    TemplateError,
    select_autoescape,
)
from markupsafe import Markup, escape

from ..config import Config
from ..files import write_atomic
from .digest import Digest
from .urls import http_url

# Characters that change meaning anywhere in a Markdown line, and those that do only at its start.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
_MD_LINE_START = re.compile(r"^(\s*)([#+\-=>]|\d+(?=[.)]))")


def md_escape(text: str | None) -> str:
    """Plain text made inert in Markdown: no emphasis, links, HTML or list/heading starts."""
    text = re.sub(r"\s+", " ", text or "")
    return _MD_LINE_START.sub(r"\1\\\2", _MD_INLINE.sub(r"\\\1", text))


def safe_href(url: str | None) -> str | None:
    """Only valid http(s) URLs become links (urls.http_url: controls gone, <>"` and spaces
    percent-encoded, so a URL cannot close the attribute or the Markdown link it sits in)."""
    return http_url(url)


_MD_URL_UNSAFE = re.compile(r"[<>\\()\s`]")


def md_href(url: str | None) -> str | None:
    """A link target for Markdown's `(<…>)`: besides safe_href, the characters that could end the
    destination or be read as an escape are percent-encoded, whatever a stored URL holds."""
    url = safe_href(url)
    if url is None:
        return None
    return _MD_URL_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode()), url)


def highlight(sentence: str, words: list[str] | str, markup: str = "html") -> str:
    """The sentence with each matched phrase marked: <mark> in HTML, **bold** in Markdown."""
    if isinstance(words, str):
        words = [words]
    phrases = sorted({w for w in words if w}, key=len, reverse=True)
    if not phrases:
        return escape(sentence) if markup == "html" else md_escape(sentence)
    pattern = re.compile("|".join(re.escape(p) for p in phrases))
    out, last = [], 0
    for m in pattern.finditer(sentence):
        before, hit = sentence[last:m.start()], m.group(0)
        if markup == "html":
            out.append(str(escape(before)) + "<mark>" + str(escape(hit)) + "</mark>")
        else:
            out.append(_MD_INLINE.sub(r"\\\1", re.sub(r"\s+", " ", before)) + "**" + md_escape(hit) + "**")
        last = m.end()
    tail = sentence[last:]
    out.append(str(escape(tail)) if markup == "html" else _MD_INLINE.sub(r"\\\1", re.sub(r"\s+", " ", tail)))
    result = "".join(out)
    return Markup(result) if markup == "html" else _MD_LINE_START.sub(r"\1\\\2", result)


class _QuietBytecodeCache(FileSystemBytecodeCache):
    """Compiled templates kept between runs, in jinja2's private per-user temporary folder
    (keyed on each template's source, so an edited template is compiled again): compiling the
    digest templates was ~0.2 s of every run that wrote a digest. A cache that cannot be written
    is skipped, never an error."""

    def dump_bytecode(self, bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    try:
        return _QuietBytecodeCache()
    except (OSError, RuntimeError):      # no safe temporary folder: compile every time
        return None


@lru_cache(maxsize=8)
def environment(templates_dir: Path | None) -> Environment:
    """One environment per templates folder for the life of the process: jinja2 compiles each
    template once and keeps it (re-checking the file's time), where a fresh environment per file
    compiled every template again on every digest."""
    loaders = [PackageLoader("pipeline", "templates")]
    if templates_dir is not None:
        loaders.insert(0, FileSystemLoader(str(templates_dir)))
    env = Environment(loader=ChoiceLoader(loaders), bytecode_cache=_bytecode_cache(),
                      autoescape=select_autoescape(enabled_extensions=("html", "html.j2"),
                                                   default_for_string=False),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["md"] = md_escape
    env.filters["href"] = safe_href
    env.filters["md_href"] = md_href
    env.filters["highlight"] = highlight
    env.filters["when"] = local_time
    env.filters["ago"] = ago
    env.filters["snippet"] = snippet
    env.filters["counted"] = counted
    return env


def sentences_for(article, topic: str | None = None) -> list[dict]:
    """Distinct matched sentences of an article (for one topic), each with its matched words.

    The headline is shown anyway, so it is quoted only when the text itself has no match."""
    seen: dict[str, list[str]] = {}
    matches = [m for m in article.matches if topic is None or m.topic == topic]
    in_text = [m for m in matches if m.field == "text"]
    for m in in_text or matches:
        seen.setdefault(m.sentence, []).append(m.matched)
    return [{"sentence": s, "words": w} for s, w in seen.items()]


def counted(n: int, noun: str) -> str:
    """'1 story', '3 stories', '2 articles'."""
    if n == 1:
        return f"1 {noun}"
    return f"{n} {noun[:-1] + 'ies' if noun.endswith('y') else noun + 's'}"


def local_time(value: datetime | str | None, zone: str) -> str:
    """A time (aware datetime, or ISO text from JSON-shaped data) as 'YYYY-MM-DD HH:MM EET' in
    the digest's zone, the zone shown."""
    if not value:
        return ""
    try:
        when = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        return when.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")
    except ValueError:
        return str(value)


# Every template newsmon loads itself: the digest files, the email (text and HTML) and the index.
TEMPLATES = ("digest.html", "digest.md.j2", "digest.txt.j2", "index.html")
_TEMPLATE_SUFFIXES = (".html", ".j2", ".jinja", ".jinja2")


def template_errors(templates_dir: Path | None) -> list[TemplateError]:
    """Compile every template a digest may load (the built-in ones or their overrides, and any other
    template in the custom folder, such as a partial they include) without rendering: what is
    wrong, as jinja2 says it (file and line), so a broken template is reported the day it is
    saved, not the next time something new arrives."""
    env = environment(templates_dir)
    names = set(TEMPLATES)
    if templates_dir is not None and templates_dir.is_dir():
        names.update(n for n in FileSystemLoader(str(templates_dir)).list_templates()
                     if n.endswith(_TEMPLATE_SUFFIXES))
    errors = []
    for name in sorted(names):
        try:
            env.get_template(name)
        except TemplateError as e:
            errors.append(e)
    return errors


def snippet(text: str | None, limit: int = 160) -> str:
    """The first words of a text on one line, cut at a word with "…"."""
    words = " ".join((text or "").split())
    if len(words) <= limit:
        return words
    return words[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + " …"


def ago(value: datetime | None, generated: str | datetime) -> str:
    """How long before the digest was generated: '40 min ago', '2 h ago', '3 days ago'; '' for a
    time after it (a feed's clock ahead) or unknown."""
    if not value or not generated:
        return ""
    then = generated if isinstance(generated, datetime) else datetime.fromisoformat(generated)
    minutes = int((then - value).total_seconds() // 60)
    if minutes < 0:
        return ""
    if minutes < 60:
        return "just now" if minutes < 1 else f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // (24 * 60)} days ago"


def by_outlet(stories) -> list[tuple[str, list]]:
    """Stories grouped by their lead's outlet: outlets with more first, then by name."""
    groups: dict[str, list] = {}
    for s in stories:
        groups.setdefault(s.outlet or s.feed, []).append(s)
    return sorted(groups.items(), key=lambda g: (-len(g[1]), g[0].casefold()))


def index_entry(digest: Digest) -> dict:
    """What reports/index.html shows of a day: its counts per topic and its top story (the first
    flagged one, else the first)."""
    flagged = [s for s in digest.articles if set(s.topics) & {t.id for t in digest.topics}]
    top = (flagged or list(digest.articles) or [None])[0]
    return {"date": digest.date, "stories": len(digest.articles),
            "topics": [{"id": t.id, "label": t.label, "stories": t.stories} for t in digest.topics],
            "top": {"title": top.title, "url": top.url, "outlet": top.outlet,
                    "outlets": len(top.outlets)} if top else None}


def render(digest: Digest, fmt: str, templates_dir: Path | None = None) -> str:
    if fmt == "json":
        return json_text(digest.to_json()) + "\n"
    env = environment(templates_dir)
    template = env.get_template(f"digest.{fmt}.j2" if fmt != "html" else "digest.html")
    return template.render(d=digest, sentences_for=sentences_for, by_outlet=by_outlet)


@lru_cache(maxsize=1)
def _inliner():
    import css_inline

    # no remote stylesheet is ever fetched; @media rules (dark mode) stay in a <style> block for
    # the clients that read it, every other rule goes into the elements' style attributes
    return css_inline.CSSInliner(keep_style_tags=False, keep_at_rules=True, load_remote_stylesheets=False)


def email_html(digest: Digest, templates_dir: Path | None = None) -> str:
    """The HTML digest for an email: its CSS inlined into style attributes, since many clients
    (Gmail's apps, Outlook, webmail in general) drop or rewrite a <style> block; what is left
    there is the dark-mode enhancement."""
    return _inliner().inline(render(digest, "html", templates_dir))


def json_text(value, depth: int = 2, margin: str = "") -> str:
    """JSON laid out for reading down to `depth` levels, each deeper value (an article) on one line.

    json.dumps with `indent` runs the encoder in pure Python (~0.8 s for a 5,000-article day);
    without it the C encoder writes each article in microseconds. One article per line also
    reads and diffs well."""
    inner = margin + "  "
    if depth and isinstance(value, dict) and value:
        items = (f"{inner}{_encode(str(k))}: {json_text(v, depth - 1, inner)}"
                 for k, v in value.items())
        return "{\n" + ",\n".join(items) + f"\n{margin}}}"
    if depth and isinstance(value, list) and value:
        return "[\n" + ",\n".join(inner + json_text(v, depth - 1, inner) for v in value) + f"\n{margin}]"
    return _encode(value)


_encode = json.JSONEncoder(ensure_ascii=False).encode     # made once: json.dumps builds one per call


def write_digest(digest: Digest, config: Config) -> list[Path]:
    out = []
    for fmt in config.digest_formats:
        path = config.digest_dir / f"{digest.date}.{fmt}"
        write_atomic(path, render(digest, fmt, config.templates_dir), keep_mode=False)
        out.append(path)
    write_index(config.digest_dir, config.templates_dir, index_entry(digest))
    return out


_DIGEST_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.(html|md|txt|json)$")
INDEX_DATA = "index.json"


def digest_days(directory: Path) -> dict[str, list[str]]:
    """Day -> the formats of its digest files in `directory`."""
    days: dict[str, list[str]] = {}
    if directory.is_dir():
        for p in directory.iterdir():
            m = _DIGEST_FILE.match(p.name)
            if m:
                days.setdefault(m.group(1), []).append(m.group(2))
    return days


def _entry_from_json(path: Path) -> dict | None:
    """An index entry read back from a day's JSON digest (days written before index.json)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        top = (data.get("articles") or [None])[0]
        return {"date": data["date"], "stories": data["summary"]["stories"],
                "topics": [{"id": k, "label": v["label"], "stories": v.get("stories", 0)}
                           for k, v in data["summary"]["topics"].items()],
                "top": {"title": top["title"], "url": top.get("url"), "outlet": top.get("outlet") or top.get("feed"),
                        "outlets": len(top.get("outlets") or [])} if top else None}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def write_index(directory: Path, templates_dir: Path | None = None, entry: dict | None = None) -> Path:
    """reports/index.html: every digest written, newest first, each day with its story counts per
    topic and its top story. Those come from reports/index.json (the index as data, updated with
    `entry` by each digest written), or from a day's JSON digest for days written before it."""
    days = digest_days(directory)
    data_path = directory / INDEX_DATA
    try:
        known = {e["date"]: e for e in json.loads(data_path.read_text(encoding="utf-8")) if isinstance(e, dict)}
    except (OSError, ValueError, KeyError, TypeError):
        known = {}
    if entry is not None:
        known[entry["date"]] = entry
    for day in days:
        if day not in known and "json" in days[day]:
            found = _entry_from_json(directory / f"{day}.json")
            if found:
                known[day] = found
    known = {d: e for d, e in known.items() if d in days}
    write_atomic(data_path, json_text([known[d] for d in sorted(known, reverse=True)], depth=1) + "\n",
                 keep_mode=False)
    entries = [{"date": d, "formats": sorted(days[d]), "summary": known.get(d)} for d in sorted(days, reverse=True)]
    html = environment(templates_dir).get_template("index.html").render(entries=entries)
    path = directory / "index.html"
    write_atomic(path, html, keep_mode=False)
    return path
