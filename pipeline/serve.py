"""Daemon mode: `newsmon serve` keeps one pipeline and an APScheduler (3.x) schedule.

- one tick job (a third of the shortest interval, 1 to 60 s) runs every feed that is due — its
  `interval_minutes`, or its backoff while failing, as in cron mode — together in one run;
- a once-a-minute job writes the day's files when something changed and sends the email once
  it is due (`[email] send_at` in the digest zone, checked by the same rule as `newsmon run`, so a
  DST change never skips a day; a machine that slept through send_at sends once when it wakes);
- jobs run one at a time on a single worker thread, sharing the store, the duplicate index and
  the extraction workers, which are built once; a feed job does not render the digest (that is
  the minutely job's, at most once a minute and only when a feed job ran), so 400 feeds due every
  few seconds are not held up by re-rendering thousands of articles after each one;
- nightly at 03:30 (digest zone), and at start-up when none ran in the last 24 h, the upkeep of
  `newsmon db maintain` (retention, FTS merges, optimize, vacuum, checkpoint; app/retention.py) on
  the same worker thread, so it never overlaps a feed job; the duplicate index is then reloaded
  with the next new article, so it covers [dedup] window_days and no more;
- SIGTERM/SIGINT: no new feed starts, a feed already writing finishes its transaction, feeds
  still fetching are dropped whole (the next run does them), exit 0;
- SIGHUP: reload the config; a bad one is logged and the old one kept (`newsmon feeds add/remove/
  enable/disable/import` send it themselves);
- after every feed cycle a due or pending email is (re)tried; after failures the next try waits
  15 s, doubling up to an hour; SIGUSR1 (what `newsmon digest --send` sends to a running daemon)
  tries it at once.
On SQLite the daemon holds the run lock for its whole life, so a cron `newsmon run` beside it
exits 75. On PostgreSQL it is one worker among any number (other daemons, timer runs, on any
machine): each cycle claims its feeds as `newsmon run` does (app/claims.py), and what one actor
at a time does (the alert pass, the email, the nightly upkeep) takes the database's advisory lock
for that moment and is skipped when another worker holds it, which does it (archive.single_actor,
archive.daemon_lock). The lock file names the daemon's pid, which is how `feeds add/disable…` and
`digest --send` find it: so the handlers are installed before the pid is published. A signal
that comes while the daemon is still starting (reading thousands of seed files) is remembered and
acted on once it serves, never the default action that would kill it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from .app.archive import daemon_lock, open_store, single_actor
from .app.claims import claims_for
from .app.pipeline import Pipeline
from .clock import utcnow
from .config import Config, load_config
from .errors import ConfigError

log = logging.getLogger("newsmon.serve")

MISFIRE_GRACE_SECONDS = 6 * 3600
MAIL_RETRY_SECONDS = 15           # the first retry of a failed email; doubled up to an hour
MAINTAINED_WITHIN = timedelta(hours=6)   # PostgreSQL: upkeep another worker did this recently is not redone


def feed_tick_seconds(config: Config) -> float:
    """How often the daemon looks for due feeds: a third of the shortest interval, 1 to 60 s."""
    shortest = min((config.interval(f) for f in config.feeds if f.enabled), default=15.0) * 60
    return min(60.0, max(1.0, shortest / 3))


def digest_trigger(config: Config, start: datetime | None = None) -> IntervalTrigger:
    """When the digest job runs: every minute (it sends only once the email is due)."""
    return IntervalTrigger(minutes=1, start_date=start, timezone=config.zone)


class WallClockWatch:
    """Notices a step of the system clock (NTP correcting a wrong RTC, a VM restored from a
    snapshot): the wall clock moves against the monotonic one. APScheduler 3 keeps its run times
    in wall time, so after a step back its jobs would wait until the clock caught up (30 days
    back: 30 days without a fetch); the daemon then schedules them again from the new time."""

    def __init__(self, wall: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic,
                 tolerance_seconds: float = 5.0):
        self.wall, self.monotonic, self.tolerance = wall, monotonic, tolerance_seconds
        self.offset = wall() - monotonic()

    def stepped(self) -> float:
        """How far the wall clock jumped since the last call; 0.0 within the tolerance (slewing)."""
        offset = self.wall() - self.monotonic()
        step, self.offset = offset - self.offset, offset
        return step if abs(step) > self.tolerance else 0.0


@dataclass(frozen=True)
class Signals:
    """What the daemon has been asked by signal, set by the handlers and read by its loop."""

    stopping: threading.Event = field(default_factory=threading.Event)       # SIGTERM, SIGINT
    reload_asked: threading.Event = field(default_factory=threading.Event)   # SIGHUP
    send_asked: threading.Event = field(default_factory=threading.Event)     # SIGUSR1

    def install(self) -> "Signals":
        """Handlers that only set a flag (safe at any moment, even mid-start-up)."""
        def on_stop(signum, frame):
            log.info("%s: stopping after the feeds in flight", signal.Signals(signum).name)
            self.stopping.set()

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGHUP, lambda signum, frame: self.reload_asked.set())
        signal.signal(signal.SIGUSR1, lambda signum, frame: self.send_asked.set())  # `digest --send`
        return self


class Service:
    def __init__(self, config_path: Path, config: Config, signals: Signals | None = None):
        self.config_path, self.config = config_path, config
        signals = signals or Signals()
        self.stopping, self.reload_asked, self.send_asked = signals.stopping, signals.reload_asked, signals.send_asked
        self.digest_dirty, self.digest_day = True, None   # files to rewrite at the next minute
        self.mail_retry_at = 0.0            # monotonic time before which a failed email is not retried
        self.mail_failures = 0
        self.store = open_store(config)
        self.pipeline = self._pipeline(config)
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS},
            timezone=config.zone)
        # A job's edit of the schedule (a reload, a clock step, upkeep put off) is never beside the
        # stop: APScheduler's shutdown holds its job-store lock while it waits for the running job,
        # and that job's get_jobs/add_job waits for the same lock. The stop takes this lock first,
        # so an edit under way ends and a later one sees `stopping` and leaves the schedule alone.
        self.edits = threading.Lock()

    def _pipeline(self, config: Config) -> Pipeline:
        """The daemon's pipeline; on PostgreSQL its feeds taken under claims, as a run's are."""
        pipeline = Pipeline(config, self.store, should_stop=self.stopping.is_set)
        pipeline.claims = claims_for(config, utcnow)
        return pipeline.prepare()

    # --- jobs (all on the one worker thread)

    def run_feeds(self) -> None:
        if self.stopping.is_set():
            return
        feeds = self.pipeline.due_feeds()
        if not feeds:
            return
        try:
            report = asyncio.run(self.pipeline.run(feeds, write_digest=False))
            log.info("run %d: %d feed(s), %d new, %d failed", report.run_id, len(report.feeds),
                     report.new_articles, len(report.failed_feeds))
            # the run knows whether anything the digest shows changed (new articles, feed health)
            self.digest_dirty = self.digest_dirty or self.pipeline.changed
            self.notify()
        except Exception:  # a job must never kill the daemon; the run row says "failed"
            log.exception("run failed")
            self.digest_dirty = True
        finally:
            self.pipeline.claims.release_left()     # (a stopped cycle's claims: given back)
        self.deliver_if_due()

    def notify(self) -> None:
        """Alerts for the stories stored since the last alert pass (app/alerts.py), the chat
        digest when due, and every pending message whose retry time has come: in the same cycle."""
        if not self.config.channels:
            return
        from .app.notify import notify

        try:
            with single_actor(self.config, "send") as mine:
                for d in notify(self.store, self.config, utcnow()) if mine else ():
                    for error in d.errors:
                        log.warning("channel %s: %d pending: %s", d.channel, d.pending, error)
        except Exception:
            log.exception("alerts not sent")

    def deliver_if_due(self) -> None:
        """Every cycle: a due or pending email goes as soon as it can, not at tomorrow's send_at.
        After a failure the next try waits 15 s, 30 s, 1 min … up to an hour (a mail server that is down
        is not hammered once a cycle)."""
        if not self.config.email.enabled or time.monotonic() < self.mail_retry_at:
            return
        from .app.deliver import deliver_due

        try:
            with single_actor(self.config, "send") as mine:
                if not mine:       # another worker is sending: it sends what is due
                    return
                outcomes = deliver_due(self.store, self.config, utcnow(), self.config.labels)
        except Exception:
            log.exception("delivery failed")
            outcomes = []
        pending = [o for o in outcomes if o.status == "pending"]
        for o in outcomes:
            if o.status in ("pending", "failed"):
                log.warning("email to %s for %s not delivered (%s): %s", o.recipient, o.digest_date, o.status, o.error)
            elif o.status == "sent" and o.attempted:
                log.info("email to %s for %s sent%s", o.recipient, o.digest_date, " (late)" if o.late else "")
        if pending:
            self.mail_failures += 1
            self.mail_retry_at = time.monotonic() + MAIL_RETRY_SECONDS * min(2 ** (self.mail_failures - 1), 240)
        else:
            self.mail_failures, self.mail_retry_at = 0, 0.0

    def digest_job(self) -> None:
        """Once a minute: the day's files when something changed since they were last written
        (debounced: feed jobs never render the digest themselves), then the email if due."""
        if self.stopping.is_set():
            return
        from .app.report import write_for_day
        from .errors import DigestWriteError

        now = utcnow()
        day = now.astimezone(self.config.zone).date()
        if self.digest_dirty or day != self.digest_day:
            self.digest_dirty, self.digest_day = False, day
            try:          # the files and the email are independent outputs
                write_for_day(self.store, self.config, now, self.config.labels)
                log.debug("digest files for %s rewritten", day)
            except DigestWriteError as e:
                log.error("%s", e)
            except Exception:
                log.exception("digest files not written")
        self.deliver_if_due()
        self.notify()

    def maintain(self) -> None:
        """The nightly upkeep, between feed jobs (one worker thread). Stops early on SIGTERM. On
        PostgreSQL one worker does it: the one that takes the advisory lock, unless another did
        it in the last MAINTAINED_WITHIN (the daemons' 03:30 jobs fire about together). While
        another worker holds the lock (its upkeep, or a run sending), it tries again a minute
        later."""
        from .app.retention import maintain, maintenance_due

        try:
            with single_actor(self.config, "maintain") as mine:
                if not mine:
                    log.info("maintenance: another worker holds the run lock; trying again in a minute")
                    with self.edits:
                        if not self.stopping.is_set():
                            self.scheduler.add_job(self.maintain, DateTrigger(datetime.now(self.config.zone) + timedelta(
                                seconds=60)), id="maintain-again", name="upkeep, lock was held", replace_existing=True)
                    return
                if self.config.storage_url and not maintenance_due(self.store, utcnow(), every=MAINTAINED_WITHIN):
                    log.info("maintenance: another worker did it in the last %s", MAINTAINED_WITHIN)
                    return
                report = maintain(self.store, self.config, utcnow(), should_stop=self.stopping.is_set)
            pruned = report.prune
            log.info("maintenance: %d texts dropped, %d articles deleted, %.1f -> %.1f MB", pruned.texts_dropped,
                     pruned.articles_deleted, report.size_before / 1e6, report.size_after / 1e6)
            self.pipeline.forget_index()
            self.digest_dirty = self.digest_dirty or bool(pruned.articles_deleted)
        except Exception:  # a job must never kill the daemon
            log.exception("maintenance failed")

    def reload(self) -> None:
        try:
            config = load_config(self.config_path)
        except ConfigError as e:
            log.error("reload refused, keeping the running config: %s", e)
            return
        if config.store != self.config.store:
            log.error("reload refused: [storage] database or url cannot change while serving; restart instead")
            return
        self.pipeline.close()
        self.config = config
        self.pipeline = self._pipeline(config)
        self._schedule()
        log.info("config reloaded from %s: %d feeds", self.config_path, len(config.feeds))
        self.check_templates()

    def check_templates(self) -> None:
        """A custom template that does not compile is logged when the config is (re)loaded, not
        only once news makes the digest render (the start-up digest job reports it at start)."""
        if self.config.templates_dir:
            from .app.report import template_problems

            for problem in template_problems(self.config):
                log.error("%s", problem)

    # --- schedule

    def _schedule(self) -> None:
        with self.edits:
            if not self.stopping.is_set():
                self._schedule_jobs()

    def _schedule_jobs(self) -> None:
        for job in self.scheduler.get_jobs():
            if job.id in ("feeds", "digest", "maintain"):   # not the one-off start-up jobs
                job.remove()
        # One tick job, not one job per feed: each tick runs every feed that is due (its interval,
        # or its backoff, kept in the store) together, concurrently, in one run — 400 feeds due
        # every 15 s are not 400 runs queued on one thread.
        tick = feed_tick_seconds(self.config)
        self.scheduler.add_job(self.run_feeds, IntervalTrigger(seconds=tick, timezone=self.config.zone),
                               id="feeds", name="due feeds",
                               next_run_time=datetime.now(self.config.zone) + timedelta(seconds=tick))
        # Not a cron trigger at send_at: APScheduler 3.11 skips the day after spring-forward for
        # some send_at values. Once a minute the same rule as `newsmon run` decides (deliver_due:
        # due once today's send_at has passed in the digest zone), which no DST change can skip.
        self.scheduler.add_job(self.digest_job, digest_trigger(self.config), id="digest",
                               name="digest and email when due")
        from .app.retention import MAINTAIN_AT

        self.scheduler.add_job(self.maintain, CronTrigger(hour=MAINTAIN_AT[0], minute=MAINTAIN_AT[1],
                                                          timezone=self.config.zone),
                               id="maintain", name="nightly upkeep")

    def clock_stepped(self, step: float) -> None:
        """Schedule the jobs again from the new wall time (see WallClockWatch); on the worker, like
        a reload, so never beside a job that reschedules."""
        log.warning("the system clock stepped by %+.0f s: jobs rescheduled from the new time", step)
        self.scheduler.add_job(self._schedule, id="reschedule", name="clock step", replace_existing=True)

    def serve(self) -> int:
        log.info("serving %d feeds from %s", len(self.config.feeds), self.config_path)
        self.scheduler.start(paused=True)
        self.scheduler.add_job(self.run_feeds, id="startup", name="start-up cycle")
        self._schedule()
        self.scheduler.add_job(self.digest_job, id="startup-digest", name="start-up digest check")
        from .app.retention import maintenance_due

        if maintenance_due(self.store, utcnow()):
            self.scheduler.add_job(self.maintain, id="startup-maintain", name="upkeep missed overnight")
        self.scheduler.resume()
        watch = WallClockWatch()
        while not self.stopping.wait(0.5):
            step = watch.stepped()
            if step:
                self.clock_stepped(step)
            if self.reload_asked.is_set():
                self.reload_asked.clear()
                self.scheduler.add_job(self.reload, id="reload", replace_existing=True)
            if self.send_asked.is_set():
                self.send_asked.clear()
                self.mail_retry_at = 0.0
                self.scheduler.add_job(self.digest_job, id="send-now", name="send asked", replace_existing=True)
        with self.edits:        # (see __init__: an edit under way ends, no later one starts)
            pass
        self.scheduler.shutdown(wait=True)
        self.pipeline.close()
        self.store.close()
        log.info("stopped")
        return 0


def serve(config_path: Path) -> int:
    signals = Signals().install()        # before run_lock publishes the pid (module docstring)
    config = load_config(config_path)
    with daemon_lock(config):
        return Service(config_path, config, signals).serve()
