"""Sending chat messages through Apprise, exactly once, never silently lost.

Each pending message (stored by app/alerts.py or the daily digest) is sent, then marked sent; a
crash between the two repeats that one message, with the same identity in its last line. A
failure keeps it pending with a backoff (30 s doubling, at most an hour); a refusal that no retry
can fix (HTTP 400, 401, 403, 404, 410, or a URL Apprise cannot read) marks it failed, with the
setting to fix. Per channel, at most `[alerting] max_per_hour` alerts go out in an hour: the
overflow goes out as one batched message; in quiet hours alerts wait, and the hourly cap batches
what piled up when they end. The chat digest is never batched: it is its own message, outside
the cap and quiet hours, sent before the channel's alerts and not counted against the cap.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from urllib.parse import unquote

from ..channels import ChannelConfig, inert
from ..config import Config
from ..records import MessageRecord
from ..sanitize import SECRETS, one_line
from ..storage.store import Store

log = logging.getLogger("newsmon.notify")
PERMANENT = {400, 401, 403, 404, 410}
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
_STATUS = re.compile(r"error=(\d{3})")


class NotifyError(Exception):
    """Why a message did not go out. The message carries a chat service's own words (Apprise's
    reasons quote its replies): sanitised here, once, with the configured secrets masked, before
    it can reach a log line, the run's output, the database or a digest."""

    def __init__(self, message: str, permanent: bool):
        message = one_line(message)
        super().__init__(message)
        self.message, self.permanent = message, permanent


def send(channel: ChannelConfig, title: str, body: str) -> None:
    """One message to one channel through Apprise; raises NotifyError saying why it failed.

    This is where a service's text enters newsmon (the reasons Apprise logs, its exceptions): all
    of it leaves as a NotifyError, which sanitises it. What goes out is made inert for the
    service first (channels.inert)."""
    import apprise

    with apprise.LogCapture(level=logging.INFO) as captured:
        try:
            target = apprise_target(channel)
            ok = target is not None and target.notify(
                title=inert(title, channel.dialect, title=True), body=inert(body, channel.dialect),
                body_format=apprise.NotifyFormat.TEXT)
        except Exception as e:                   # Apprise's own failure: the message waits for a retry
            raise NotifyError(f"channel {channel.name}: {type(e).__name__}: {e}", False) from None
    if target is None:
        raise NotifyError(f"channel {channel.name}: not an Apprise URL Apprise can use "
                          f"(check [[channels]] {channel.name} url)", permanent=True)
    if ok:
        return
    said = [line.split(" - ", 2)[-1] for line in captured.getvalue().splitlines() if " - WARNING - " in line
            or " - ERROR - " in line]
    reason = said[-1] if said else "the service did not accept it"
    status = _STATUS.search(reason)
    permanent = bool(status) and int(status.group(1)) in PERMANENT
    hint = f" (check [[channels]] {channel.name} url" + (f" and {channel.password_env}" if channel.password_env
                                                         else "") + ")" if permanent else ""
    raise NotifyError(f"channel {channel.name}: {reason}{hint}", permanent)


def apprise_target(channel: ChannelConfig):
    """The channel as an Apprise object (None if Apprise cannot read its URL). The parts of the
    URL Apprise itself hides in its privacy form (Slack's and Discord's webhook tokens, a
    Telegram bot token…) are registered as secrets first, before Apprise can quote them."""
    import apprise

    url = channel.apprise_url()
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if not plugin:
        return None
    SECRETS.add(*_private_parts(plugin.url(privacy=False), plugin.url(privacy=True)))
    target = apprise.Apprise()
    return target if target.add(plugin) else None


_URL_PARTS = re.compile(r"[/:@?&=#,]+")


def _private_parts(plain: str, private: str) -> list[str]:
    """The parts of a URL that its privacy form does not show."""
    shown = set(_URL_PARTS.split(private))
    return [unquote(part) for part in _URL_PARTS.split(plain) if part and part not in shown]


@dataclass(frozen=True, slots=True)
class Delivered:
    channel: str
    sent: int = 0
    batched: int = 0
    pending: int = 0
    failed: int = 0
    errors: tuple[str, ...] = ()


def deliver_messages(store: Store, config: Config, now: datetime, sender=send) -> list[Delivered]:
    """Send what is pending and due, per channel, each in its own fault boundary (one channel
    that raises never keeps the others' messages back); returns what happened."""
    return [_deliver_guarded(store, config, channel, now, sender) for channel in config.channels]


def _deliver_guarded(store: Store, config: Config, channel: ChannelConfig, now: datetime, sender) -> Delivered:
    try:
        return _deliver_channel(store, config, channel, now, sender)
    except Exception as e:
        error = f"channel {channel.name}: {type(e).__name__}: {e}"
        log.error("%s; its messages stay pending", error)
        log.debug("channel %s: traceback", channel.name, exc_info=True)
        return Delivered(channel.name, pending=len(_waiting(store, channel)), errors=(error,))


def _waiting(store: Store, channel: ChannelConfig) -> list[MessageRecord]:
    """The channel's pending messages; a pending batch is sent only by _send_batch, with its alerts."""
    return [m for m in store.pending_messages(channel.name) if m.kind != "batch"]


def _deliver_channel(store: Store, config: Config, channel: ChannelConfig, now: datetime, sender) -> Delivered:
    """The channel's digests first, each its own message whatever the hour and the cap; then its
    alerts, within quiet hours and the hourly cap (the overflow as one batch)."""
    waiting = _waiting(store, channel)
    pending = [m for m in waiting if m.next_try is None or m.next_try <= now]
    if not pending:
        return Delivered(channel.name, pending=len(waiting))
    digests = [m for m in pending if m.kind == "digest"]
    pending = [] if _quiet(config, now) else [m for m in pending if m.kind != "digest"]
    room = config.alerting.max_per_hour - store.sent_since(channel.name, now - timedelta(hours=1), but="digest")
    alone, grouped = (pending, []) if room >= len(pending) else (pending[:max(room - 1, 0)], pending[max(room - 1, 0):])
    if room <= 0:
        alone, grouped = [], []
    sent = failed = batched = 0
    errors: list[str] = []
    for message in digests + alone:
        outcome = _attempt(store, channel, message, now, sender)
        sent += outcome == "sent"
        failed += outcome == "failed"
        if outcome not in ("sent", "failed"):
            errors.append(outcome)
            break                                # the channel is down: the rest wait for the retry
    if grouped and not errors:
        batched = _send_batch(store, channel, grouped, now, sender, errors)
    return Delivered(channel.name, sent, batched, len(_waiting(store, channel)), failed, tuple(errors))


def _attempt(store: Store, channel: ChannelConfig, message: MessageRecord, now: datetime, sender) -> str:
    """Send one stored message; "sent", "failed", or the error of a failure worth retrying."""
    try:
        sender(channel, message.title, message.body)
    except NotifyError as e:
        if e.permanent:
            with store.transaction():
                store.mark_message(message.id, "failed", now, e.message)
            log.error("%s: not sent and not retried: %s", message.kind, e.message)
            return "failed"
        wait = min(FIRST_RETRY * 2 ** message.attempts, MAX_RETRY)
        with store.transaction():
            store.mark_message(message.id, "pending", now, e.message, next_try=now + wait)
        log.warning("%s: not sent, retried from %s: %s", message.kind, (now + wait).isoformat(timespec="seconds"),
                    e.message)
        return e.message
    with store.transaction():
        store.mark_message(message.id, "sent", now)
    return "sent"


def _send_batch(store: Store, channel: ChannelConfig, messages: list[MessageRecord], now: datetime, sender,
                errors: list[str]) -> int:
    """The overflow as one message: a line per alert. Stored like any other (kind "batch", keyed
    by the alerts it carries), so it too goes out once: a batch that failed is retried, after its
    backoff, while it carries the same alerts, and superseded by a new one when more arrive; its
    alerts are marked batched when it has gone out (failed, when the channel refused it for good)."""
    ids = ",".join(str(m.id) for m in messages)
    key = f"{len(messages)}:{hashlib.sha1(ids.encode()).hexdigest()[:16]}"
    title = f"{len(messages)} more alerts"
    body = "\n".join(f"- {m.title}" for m in messages) + f"\nnewsmon batch {key}"
    with store.transaction():
        store.queue_message(channel.name, "batch", key, title, body, now)
        for old in store.pending_messages(channel.name):
            if old.kind == "batch" and old.key != key:
                store.mark_message(old.id, "superseded", now, "replaced by a batch of more alerts")
    batch = store.message(channel.name, "batch", key)
    if batch.status != "pending" or (batch.next_try is not None and batch.next_try > now):
        return 0
    outcome = _attempt(store, channel, batch, now, sender)
    if outcome == "sent":
        with store.transaction():
            for m in messages:
                store.mark_message(m.id, "batched", now)
        return len(messages)
    if outcome == "failed":
        with store.transaction():
            for m in messages:
                store.mark_message(m.id, "failed", now, f"in a batch the channel refused: {batch.key}")
    else:
        errors.append(outcome)
    return 0


def _quiet(config: Config, now: datetime) -> bool:
    if not config.alerting.quiet_hours:
        return False
    start, end = (time.fromisoformat(part.zfill(5)) for part in config.alerting.quiet_hours.split("-"))
    local = now.astimezone(config.zone).time()
    return start <= local < end if start < end else (local >= start or local < end)


def notify(store: Store, config: Config, now: datetime, sender=send) -> list[Delivered]:
    """Queue the alerts the stories stored since the last alert pass call for (app/alerts.py:
    whatever run stored them, even one that was stopped) and the chat digest if due, then send
    what is pending: what a run and every daemon cycle do. A failed alert pass is logged and
    repeated next time; it never keeps the digest or pending messages from going out."""
    from .alerts import queue_alerts, queue_digests

    try:
        queue_alerts(store, config, now)
    except Exception:                    # (its own boundaries caught stories, rules and topics)
        log.exception("alert pass failed; evaluated again next pass")
    queue_digests(store, config, now)
    return deliver_messages(store, config, now, sender)


def notify_now(config: Config, now: datetime | None = None, sender=send) -> list[Delivered]:
    """After a run (`newsmon run`), on the configured database. Nothing happens without [[channels]]."""
    from ..clock import utcnow
    from .archive import opened

    if not config.channels:
        return []
    with opened(config) as store:
        return notify(store, config, now or utcnow(), sender)
