"""Text cleaning: what is stored, and what is fingerprinted.

Two levels, on purpose:
- `clean_text` is for readers and storage: markup remnants and known boilerplate lines removed,
  control characters and terminal escapes stripped, whitespace tidied; wording kept as published.
- `normalise` is for fingerprints only: case, typographic quotes, dashes and all whitespace folded,
  so a republished copy with straight quotes or different line breaks hashes the same.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Iterable

from ..sanitize import one_line, sanitize  # noqa: F401  (re-exported for the stages)

# HTML tag names, so a stray "<h2 Implications" goes while "a <b and c" in prose stays.
_TAGS = ("a abbr article aside b blockquote body br caption cite code div em figcaption figure "
         "footer h1 h2 h3 h4 h5 h6 head header hr html i iframe img input label li link main meta "
         "nav ol p picture pre q s script section small source span strong style sub sup table "
         "tbody td tfoot th thead time title tr u ul video")
_TAG_ALT = "|".join(_TAGS.split())
_WHOLE_TAG = re.compile(rf"</?(?:{_TAG_ALT})\b[^<>]*>", re.IGNORECASE)
_TAG_STUMP = re.compile(rf"</?(?:{_TAG_ALT})(?=\s|$)\s*", re.IGNORECASE)
_ENTITY = re.compile(r"&(?:[a-zA-Z]{2,8}|#\d{1,7}|#x[0-9a-fA-F]{1,6});")

_FOLD = {"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'",
         "‚": "'", "ʼ": "'", "–": "-", "—": "-", "‐": "-", "‑": "-", "\u00a0": " "}
# a regex touches only the few characters to fold; str.translate looks up every character
_FOLDABLE = re.compile("[" + "".join(_FOLD) + "]")

# a sentence end directly followed by a capital: where a glued footer may start
_GLUED = re.compile(r"(?<=[.!?”\"])(?=[A-Z])")
_FOOTER_MAX = 300

_BLOCK_TAGS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr",
               "section", "article", "pre", "ul", "ol", "table", "header", "footer", "figure"}


def compile_boilerplate(patterns: Iterable[str]) -> re.Pattern:
    """One regex for all boilerplate lines: a line is dropped when it matches whole."""
    alternation = "|".join(f"(?:{p})" for p in patterns) or r"(?!)"
    return re.compile(rf"^(?:{alternation})$", re.IGNORECASE)


def clean_text(text: str, boilerplate: re.Pattern) -> str:
    """Readable, stored text: one paragraph per line, no markup remnants or site furniture."""
    import html

    if _ENTITY.search(text):     # before the sanitiser: "&#x202e;" must not come back after it
        text = html.unescape(text)
    text = sanitize(unicodedata.normalize("NFC", text))
    lines = []
    for raw in text.splitlines():
        line = _WHOLE_TAG.sub(" ", raw)
        line = _TAG_STUMP.sub("", line)
        line = " ".join(line.split())
        if not line or boilerplate.match(line):
            continue
        # Scrapers glue a footer to the last sentence ("…peace.GIPHY App Key not set"). Footers
        # are short, so only the line's tail is tried: linear time however long the line is.
        for sep in _GLUED.finditer(line, max(0, len(line) - _FOOTER_MAX)):
            if boilerplate.match(line[sep.start():].strip()):
                line = line[:sep.start()].rstrip()
                break
        if line:
            lines.append(line)
    return "\n".join(lines)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (a feed's content or summary), paragraphs on their own lines."""
    if not fragment or not fragment.strip():
        return ""
    if "<" not in fragment:
        import html
        return html.unescape(fragment)
    import lxml.html  # here: the parent process cleans plain text (seeds, boilerplate) but no HTML
    from lxml import etree

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return re.sub(r"<[^>]*>", " ", fragment)
    # what a reader never sees as text: code, styles, and frames (whose content is raw text to
    # an HTML parser: "<b>" would come out as written)
    for bad in root.xpath("//script|//style|//noscript|//iframe|//noembed|//noframes|//template"
                          "|//comment()|//processing-instruction()"):
        bad.drop_tree()                  # drop_tree keeps the tail: text after a comment stays
    parts: list[str] = []
    # iterative, not recursive: a hostile fragment nested thousands deep must not overflow the stack
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        if event == "start":
            if tag in _BLOCK_TAGS:
                parts.append("\n")
            if el.text and isinstance(el.tag, str):
                parts.append(el.text)
        else:
            if tag in _BLOCK_TAGS:
                parts.append("\n")
            if el.tail and el is not root:
                parts.append(el.tail)
    return "\n".join(" ".join(line.split()) for line in "".join(parts).splitlines() if line.strip())


def normalise(text: str) -> str:
    """Fingerprint form: NFKC, lower case, quotes and dashes folded, whitespace collapsed."""
    text = _FOLDABLE.sub(lambda m: _FOLD[m.group(0)], unicodedata.normalize("NFKC", text)).casefold()
    return " ".join(text.split())


def fingerprint(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def drop_headline(text: str, title: str) -> str:
    """Extractors often repeat the headline as the first line; the title is stored apart."""
    first, _, rest = text.partition("\n")
    if title and normalise(first) == normalise(title):
        return rest
    return text
