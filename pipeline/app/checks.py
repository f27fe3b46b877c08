"""`newsmon config check`: what a valid file can still get wrong, and probes of the real world."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from ..config import Config
from ..errors import MailError
from ..sanitize import MIN_SECRET_CHARS
from .deliver import Mailer
from .feeds import probe_all


def extra_checks(config: Config) -> list[str]:
    """Problems a valid file can still have: folders, seed files, templates, secrets."""
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
    elif config.templates_dir:
        from .report import template_problems  # (jinja2: only with a custom folder)

        problems.extend(template_problems(config))
    e = config.email
    if e.enabled and e.password_env and e.password_env not in os.environ:
        problems.append(f"[email] password_env: environment variable {e.password_env} is not set here")
    if e.ca_file and not Path(e.ca_file).is_file():
        problems.append(f"[email] ca_file {e.ca_file} does not exist")
    return problems + _short_secrets(config)


def _short_secrets(config: Config) -> list[str]:
    """A secret too short to be told apart from text is not masked in output (sanitize.Secrets)."""
    named = [("[email] password_env", config.email.password_env)] + [
        (f"[[channels]] {c.name} password_env", c.password_env) for c in config.channels]
    return [f"{where}: the value of {name} is shorter than {MIN_SECRET_CHARS} characters, too short to be "
            "kept out of newsmon's output; use a longer secret"
            for where, name in named if name and 0 < len(os.environ.get(name, "")) < MIN_SECRET_CHARS]


def valid_channel_url(channel) -> bool:
    """Whether Apprise can read a channel's URL (its service, its fields), without sending."""
    from .notify import apprise_target

    return apprise_target(channel) is not None


def probe(config: Config) -> tuple[list[str], list[str]]:
    """Fetch each feed once and connect to the mail server: (lines to show, what failed, named:
    "feed bbc", "mail server")."""
    lines, failed = [], []
    for name, url, result in asyncio.run(probe_all(config)):
        if isinstance(result, Exception):
            failed.append(f"feed {name}")
            lines.append(f"probe: feed {name}: FAILED: {result}")
        else:
            lines.append(f"probe: feed {name}: ok — {result.feed.title or '(untitled)'}, {len(result.feed.entries)} "
                         f"items" + (f" (at {result.url})" if result.url != url else ""))
    for channel in config.channels:
        if channel.password_env and channel.password_env not in os.environ:
            failed.append(f"channel {channel.name}")
            lines.append(f"probe: channel {channel.name}: FAILED: environment variable {channel.password_env} "
                         "is not set here")
        elif valid_channel_url(channel):
            lines.append(f"probe: channel {channel.name}: ok — Apprise reads its URL; nothing sent "
                         f"(try `newsmon channels test {channel.name}`)")
        else:
            failed.append(f"channel {channel.name}")
            lines.append(f"probe: channel {channel.name}: FAILED: Apprise cannot use this URL "
                         f"(check [[channels]] {channel.name} url)")
    o = config.email
    if o.enabled:
        try:
            Mailer(o).check()
            lines.append(f"probe: mail server {o.host}:{o.port}: ok "
                         f"({o.security}{', authenticated' if o.username else ''}); no mail sent")
        except MailError as e:
            failed.append("mail server")
            lines.append(f"probe: mail server: FAILED: {e}")
    return lines, failed
