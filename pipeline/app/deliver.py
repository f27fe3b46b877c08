"""Email delivery: the digest, to each recipient, exactly once per day.

Rules:
- Once today's `send_at` (digest zone) has passed, each recipient is due one email for today,
  covering every article first seen since the end of the last email they were sent (at most the
  last 24 hours for the first one). After downtime the one email covers the whole gap and is
  marked late: never one per missed day, never a gap, never an article twice.
- Exactly once: the message is rendered, given its Message-ID and stored as `pending` in the
  database *before* it is handed to the server; it becomes `sent` only after the server accepted
  it. A retry sends the stored bytes, so a crash between the server's 250 and our record can
  only repeat the very same message (same Message-ID), never a second, different one.
- An unsent email from an earlier day that never reached the DATA stage is `superseded`: today's
  email starts where the last delivered one ended, so nothing is lost. One that may have reached
  the server is retried as stored.
- Temporary failures (connection refused, timeout, 4xx) leave the email pending for the next
  run; permanent ones (authentication, 5xx) are `failed`, with a message naming the setting to
  fix, and are retried too once the operator has fixed it. Both make the command exit non-zero.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid, parseaddr

from jinja2 import TemplateError

from ..config import Config, EmailOptions, Recipient
from ..errors import MailError, StoreError
from ..options import address_key
from ..sanitize import sanitize
from ..stages.digest import Digest
from ..stages.render import email_html, render
from ..storage.store import Store, database_errors, iso
from .report import digest_for

log = logging.getLogger("newsmon.deliver")
FIRST_EMAIL_WINDOW = timedelta(hours=24)
LATE_AFTER = timedelta(hours=25)   # a period longer than this covers downtime


@dataclass(frozen=True, slots=True)
class SendOutcome:
    recipient: str
    digest_date: str
    status: str                    # sent | skipped | pending | failed | not_due
    stories: int = 0               # the stories the email lists (each with its reports)
    error: str | None = None
    late: bool = False
    attempted: bool = False        # sent (or tried) in this call, not found sent already
    sent_at: datetime | None = None   # when the server accepted it (in this call or before)


def subject_for(digest: Digest) -> str:
    counts = " · ".join(f"{s.label} {s.stories}" for s in digest.topics)
    continuing = len(digest.continuing)
    new = len(digest.articles) - continuing
    text = f"News digest {digest.date}: {new} new {'story' if new == 1 else 'stories'}"
    if continuing:
        text += f", {continuing} continuing"
    if counts:
        text += f" — {counts}"
    if digest.late:
        text += " (late)"
    return " ".join(sanitize(text).split())  # no CR/LF can reach a header


def compose(digest: Digest, options: EmailOptions, recipient: str, now: datetime,
            templates_dir=None) -> tuple[str, bytes]:
    """(Message-ID, the full message) — multipart/alternative, text first, then HTML."""
    domain = parseaddr(options.sender)[1].rpartition("@")[2] or "newsmon.local"
    message_id = make_msgid(idstring=f"digest-{digest.date}", domain=domain)
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["Subject"] = subject_for(digest)
    msg["From"] = options.sender
    msg["To"] = recipient
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(_part(digest, "txt", templates_dir))
    msg.add_alternative(_part(digest, "html", templates_dir), subtype="html")
    return message_id, msg.as_bytes()


def _part(digest: Digest, fmt: str, templates_dir) -> str:
    """One part of the email from the custom template, or from the built-in one when the custom
    one fails: the digest files and the email are independent outputs, so a broken template
    costs the email its look, never the email (the run still reports the template: exit 5)."""
    def make(folder):
        return email_html(digest, folder) if fmt == "html" else render(digest, fmt, folder)

    try:
        return make(templates_dir)
    except TemplateError as e:
        if templates_dir is None:
            raise
        log.warning("email %s part: custom template failed (%s); the built-in one was used", fmt, e)
        return make(None)


class Mailer:
    """One SMTP session for a batch of messages, opened on first use."""

    def __init__(self, options: EmailOptions):
        self.options = options
        self._smtp: smtplib.SMTP | None = None

    def _password(self) -> str | None:
        name = self.options.password_env
        if not name:
            return None
        value = os.environ.get(name)
        if value is None:
            raise MailError(f"environment variable {name} (set by [email] password_env) is not set", True)
        return value

    def _connect(self) -> smtplib.SMTP:
        o = self.options
        context = ssl.create_default_context(cafile=o.ca_file)
        where = f"{o.host}:{o.port}"
        try:
            if o.security == "ssl":
                smtp = smtplib.SMTP_SSL(o.host, o.port, timeout=o.timeout_seconds, context=context)
            else:
                smtp = smtplib.SMTP(o.host, o.port, timeout=o.timeout_seconds)
                if o.security == "starttls":
                    smtp.starttls(context=context)
            if o.username:
                smtp.login(o.username, self._password() or "")
            return smtp
        except smtplib.SMTPAuthenticationError as e:
            raise MailError(f"{where} refused the login ({e.smtp_code} {_text(e.smtp_error)}): check "
                            f"[email] username and the password in ${o.password_env or '(password_env unset)'}",
                            True) from None
        except smtplib.SMTPNotSupportedError as e:
            raise MailError(f"{where}: {e}; check [email] security (none | starttls | ssl)", True) from None
        except ssl.SSLError as e:
            raise MailError(f"{where}: TLS failed ({e.reason or e}); check [email] security, port and "
                            f"ca_file", True) from None
        except smtplib.SMTPResponseException as e:
            raise MailError(f"{where}: {e.smtp_code} {_text(e.smtp_error)}", e.smtp_code >= 500) from None
        except (OSError, smtplib.SMTPException) as e:
            raise MailError(f"cannot reach the mail server {where}: {e}; check [email] host and port "
                            "(will retry next run)", False) from None

    def check(self) -> None:
        """Connect and log in as a send would, then hang up; MailError when that fails."""
        self._smtp = self._connect()
        self.close()

    def send(self, sender: str, recipient: str, message: bytes, before_data) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        before_data()
        try:
            refused = self._smtp.sendmail(parseaddr(sender)[1], [parseaddr(recipient)[1]], message)
        except smtplib.SMTPRecipientsRefused as e:
            code, text = next(iter(e.recipients.values()))
            raise MailError(f"{recipient} refused: {code} {_text(text)}; check [[email.recipients]] address",
                            code >= 500) from None
        except smtplib.SMTPSenderRefused as e:
            raise MailError(f"sender refused: {e.smtp_code} {_text(e.smtp_error)}; check [email] from",
                            e.smtp_code >= 500) from None
        except smtplib.SMTPDataError as e:
            raise MailError(f"message refused: {e.smtp_code} {_text(e.smtp_error)}", e.smtp_code >= 500) from None
        except (OSError, smtplib.SMTPException) as e:
            self._smtp = None
            raise MailError(f"connection lost while sending: {e} (will retry the same message)", False,
                            delivered_unknown=True) from None
        if refused:
            raise MailError(f"{recipient} refused: {refused}", True)

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._smtp = None


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _due_at(config: Config, day) -> datetime:
    hour, minute = config.send_at
    return datetime.combine(day, time(hour, minute), tzinfo=config.zone)


def deliver_due(store: Store, config: Config, now: datetime, labels: dict[str, str], *,
                send_now: bool = False, mailer: Mailer | None = None) -> list[SendOutcome]:
    """Send what is due (see the module docstring); returns one outcome per recipient."""
    options = config.email
    if not options.enabled:
        return []
    today = now.astimezone(config.zone).date()
    if not send_now and now < _due_at(config, today):
        return [SendOutcome(r.address, today.isoformat(), "not_due") for r in options.recipients]
    mailer = mailer or Mailer(options)
    try:
        return [_deliver_isolated(store, config, now, labels, r, today, mailer) for r in options.recipients]
    finally:
        mailer.close()


def _deliver_isolated(store: Store, config: Config, now: datetime, labels: dict[str, str],
                      recipient: Recipient, today, mailer: Mailer) -> SendOutcome:
    """One recipient's failure, whatever it is, never stops the others: it is that recipient's
    outcome (its stored message stays pending, to be retried)."""
    try:     # (rows are keyed on the bare address; the outcome names the recipient as configured)
        return replace(_deliver_one(store, config, now, labels, recipient, today, mailer), recipient=recipient.address)
    except (*database_errors(), StoreError):
        raise
    except Exception as e:
        log.error("email to %s: %s: %s", recipient.address, type(e).__name__, e)
        return SendOutcome(recipient.address, today.isoformat(), "failed", 0, f"{type(e).__name__}: {e}")


def _deliver_one(store: Store, config: Config, now: datetime, labels: dict[str, str],
                 recipient: Recipient, today, mailer: Mailer) -> SendOutcome:
    rows = store.emails_for(address_key(recipient.address))
    day = today.isoformat()
    current = next((r for r in rows if r.digest_date == day), None)
    if current is not None and current.status in ("sent", "skipped"):
        return SendOutcome(recipient.address, day, current.status, current.articles, late=current.late,
                           sent_at=current.sent_at)

    # earlier days' unsent emails: retry those that may have reached the server, drop the rest
    for old in rows:
        if old.digest_date < day and old.status in ("pending", "failed"):
            if old.data_started:
                outcome = _send_stored(store, mailer, config.email, old)
                if outcome.status != "sent":
                    return outcome
            else:
                store.update_email(old.id, status="superseded")

    if current is None:
        covered = [r for r in store.emails_for(address_key(recipient.address))
                   if r.status in ("sent", "skipped") or r.data_started]
        if covered:
            last = max(covered, key=lambda r: r.rowid_upto)
            start, after = last.period_end, last.rowid_upto
        else:
            start = now - FIRST_EMAIL_WINDOW
            after = store.last_rowid(before=start)
        upto = store.last_rowid()
        late = now - start > LATE_AFTER
        digest = digest_for(store, config, today, labels, now, period=(start, now), rowids=(after, upto),
                              topics=recipient.topics, late=late, cap=config.email.stories_per_topic)
        digest = replace(digest, images=config.email.images)
        if config.base_url:              # the capped email links to the day's whole digest
            digest = replace(digest, full_url=f"{config.base_url.rstrip('/')}/{today}.html")
        cut = {"period_start": iso(start), "period_end": iso(now), "rowid_after": after, "rowid_upto": upto}
        if not digest.articles and not config.email.send_empty:
            store.add_email({"digest_date": day, "recipient": address_key(recipient.address),
                             "message_id": f"<skipped-{day}-{recipient.address}>", **cut,
                             "status": "skipped", "late": late, "articles": 0,
                             "created": iso(now), "message": b""})
            return SendOutcome(recipient.address, day, "skipped", 0, late=late)
        message_id, message = compose(digest, config.email, recipient.address, now, config.templates_dir)
        email_id = store.add_email({
            "digest_date": day, "recipient": address_key(recipient.address), "message_id": message_id, **cut,
            "status": "pending", "late": late,
            "articles": len(digest.articles), "created": iso(now), "message": message})
        current = next(r for r in store.emails_for(address_key(recipient.address)) if r.id == email_id)
    return _send_stored(store, mailer, config.email, current)


def _send_stored(store: Store, mailer: Mailer, options: EmailOptions, row: dict) -> SendOutcome:
    def before_data() -> None:
        store.update_email(row.id, data_started=1, attempts=row.attempts + 1)

    try:
        mailer.send(options.sender, row.recipient, row.message, before_data)
    except MailError as e:
        store.update_email(row.id, status="failed" if e.permanent else "pending", last_error=str(e),
                           data_started=1 if e.delivered_unknown else 0, attempts=row.attempts + 1)
        return SendOutcome(row.recipient, row.digest_date, "failed" if e.permanent else "pending",
                           row.articles, str(e), row.late)
    sent_at = datetime.now(timezone.utc)
    store.update_email(row.id, status="sent", sent_at=iso(sent_at), last_error=None)
    return SendOutcome(row.recipient, row.digest_date, "sent", row.articles, late=row.late, attempted=True,
                       sent_at=sent_at)


def deliver_now(config: Config, *, send_now: bool, now: datetime | None = None) -> list[SendOutcome]:
    """deliver_due on the configured database, as `newsmon run` and `digest --send` do."""
    from ..clock import utcnow
    from .archive import opened

    with opened(config) as store:
        return deliver_due(store, config, now or utcnow(), config.labels, send_now=send_now)
