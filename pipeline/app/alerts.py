"""Alerts: which messages new stories call for, queued once per channel.

Rules, evaluated after every run (and daemon cycle) over the stories that got a report since the
last pass committed (a stored mark on article rowids: queue_alerts says how it cannot lose one).
Only reports that are news count: an item of a feed's first reading, or published more than
`[fetch] max_age_days` before it was stored, is backlog (stored, searchable, never alerted):
- **alert**: a story matching an `[[alerts]]` rule (topics, words, a minimum of outlets) or a
  topic marked `alert = true`; once per story and channel, and once more ("update") when it
  reaches `[alerting] outlets_update` outlets;
- **surge**: a story reported by `surge_outlets` outlets within `surge_hours` of its first report;
- **spike**: a topic's new stories over the last `spike_hours` against the same hours of the
  previous `spike_baseline_days` days. Poisson, because new stories are counts of independent
  arrivals; the same hours of past days carry the desk's daily rhythm (nights are quiet), and a
  tail probability (`spike_p`) says how unusual the count is without a smoothing factor or a
  variance to estimate, as an EWMA rule would need. At most once per topic per `cooldown_hours`,
  and never before the topic has `spike_baseline_days` of history (a new database has none).
A message is stored pending with its identity (channel, kind, key) before anything is sent
(app/notify.py sends it): a rerun or a crash never queues it twice.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from ..channels import AlertRule, ChannelConfig
from ..config import Config
from ..records import StoryRecord
from ..stages.clean import one_line
from ..stages.flag import TopicMatcher
from ..stages.render import counted
from ..storage.store import Store, database_errors
from ..storage.stories import ALERT_PASS
from ..topics import TopicRule

log = logging.getLogger("newsmon.alerts")


@dataclass(frozen=True, slots=True)
class AlertPass:
    """What one alert pass did: messages queued, how far it evaluated, what failed in it."""

    queued: int                      # messages stored pending (and spikes) by this pass
    rowid_upto: int                  # articles up to this rowid were evaluated
    advanced: bool                   # the stored mark moved there (False after a failure: evaluated again)
    errors: tuple[str, ...] = ()     # one line per story, rule or topic whose evaluation raised


def queue_alerts(store: Store, config: Config, now: datetime) -> AlertPass:
    """Queue every message due for the stories that got a report since the pass last committed.

    The pass reads the stored mark (articles with rowid <= it were evaluated), evaluates the
    stories with a news report (not backlog: stages/backlog.py) in (mark, newest rowid], and
    moves the mark in the same transaction as the messages it queued. A run stopped by a signal
    or killed after storing leaves the mark where it was, so the next pass (the next run, or the
    daemon's next cycle) evaluates those stories; a pass repeated is harmless, each message
    having its identity. Each story, rule and topic is evaluated in its own fault boundary: one
    that raises is logged and named in `errors`, the others go on, and the mark stays (that range
    is evaluated again next pass). Reports stored more than `[fetch] max_age_days` ago are not
    evaluated. Without a channel for alerts the mark just moves (runs move it too: the pipeline's
    `_nobody_to_alert`): a channel added later starts from then, not from the stored history. A
    pass with nothing stored since the last one does nothing, spikes included (a spike is new
    stories arriving).
    """
    channels = [c for c in config.channels if "alerts" in c.receives]
    rules = list(config.alerts) + [AlertRule(f"topic {t.id}", (t.id,), (), 1, ()) for t in config.topics if t.alert]
    errors: list[str] = []
    queued = 0
    with store.transaction():
        after, upto = store.mark(ALERT_PASS), store.last_rowid()
        if upto <= after or not channels:
            if upto > after:                  # (nothing written when nothing is new: the daemon asks every minute)
                store.advance_mark(ALERT_PASS, upto, now)
            return AlertPass(0, upto, True)
        since = now - timedelta(days=config.fetch.max_age_days)
        for story_id in store.stories_reported(after, upto, since):
            queued += _guarded(store, errors, f"story {story_id}",
                               lambda sid=story_id: _queue_story(store, config, channels, rules, sid, now, errors))
        advanced = not errors
        queued += _queue_spikes(store, config, channels, config.labels, now, errors)
        if advanced:
            store.advance_mark(ALERT_PASS, upto, now)
    return AlertPass(queued, upto, advanced, tuple(errors))


def _guarded(store: Store, errors: list[str], what: str, evaluate: Callable[[], int]) -> int:
    """A fault boundary: what `evaluate` queued, or 0 and its error noted and logged. A database
    error that ended the pass's transaction (disk full, read-only file) is the pass's, not one
    story's: it goes up, and the pass is repeated whole. One in a row (malformed JSON) stays here."""
    try:
        with store.fault_boundary():       # (on PostgreSQL a failed statement would end the pass)
            return evaluate()
    except Exception as e:
        if isinstance(e, database_errors()) and not store.conn.in_transaction:
            raise
        message = one_line(f"{what}: {type(e).__name__}: {e}")[:500]
        log.error("alerts: %s; evaluated again next pass", message)
        log.debug("alerts: %s: traceback", what, exc_info=True)
        errors.append(message)
        return 0


def _queue_story(store: Store, config: Config, channels: list[ChannelConfig], rules: list[AlertRule],
                 story_id: str, now: datetime, errors: list[str]) -> int:
    """The messages one story calls for: each rule in its own fault boundary, then a surge."""
    story = store.stories_by_id([story_id]).get(story_id)
    if story is None:
        return 0
    labels, options = config.labels, config.alerting
    feeds = store.story_feeds(story.id)
    text, url = _Texts(store, story.id), store.url_of(story.lead)     # the link: its best report

    def by_rule(rule: AlertRule) -> int:
        queued = 0
        if not _matches(rule, story, text):
            return 0
        for channel in _targets(channels, rule, story):
            new = store.queue_message(channel.name, "alert", story.id, *_story_message(
                "Alert", story, feeds, labels, url, rule.name), now)
            queued += new
            if not new and len(feeds) >= options.outlets_update:   # a later report brought it there
                queued += store.queue_message(channel.name, "update", story.id, *_story_message(
                    f"Now {len(feeds)} outlets", story, feeds, labels, url, rule.name), now)
        return queued

    queued = sum(_guarded(store, errors, f"rule {rule.name} on story {story.id}", lambda r=rule: by_rule(r))
                 for rule in rules)
    early = store.story_feeds(story.id, until=story.first_seen + timedelta(hours=options.surge_hours))
    if len(early) >= options.surge_outlets:
        for channel in _targets(channels, None, story):
            queued += store.queue_message(channel.name, "surge", story.id, *_story_message(
                f"{len(early)} outlets in {options.surge_hours:g} h", story, early, labels, url, "surge"), now)
    return queued


def poisson_tail(count: int, mean: float) -> float:
    """P(X >= count) for X ~ Poisson(mean), for any count and mean: the terms are built in log
    space (lgamma), so nothing overflows (math.factorial overflowed a float at 171), and only the
    smaller side is summed, outward from `count` by the ratio of neighbouring terms until they no
    longer change the sum: the upper tail when count > mean, else 1 minus the lower one. Tens of
    thousands of terms at most, for a mean of a million."""
    if count <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    upper = count > mean
    i = count if upper else count - 1
    term = math.exp(-mean + i * math.log(mean) - math.lgamma(i + 1))
    total = 0.0
    while term > 0.0 and term >= total * 1e-17:
        total += term
        if upper:
            i += 1
            term *= mean / i
        else:
            term *= i / mean
            i -= 1
            if i < 0:
                break
    return min(max(total if upper else 1.0 - total, 0.0), 1.0)


def spike(count: int, baseline: list[int], min_stories: int, p_max: float) -> tuple[bool, float, float]:
    """(is it a spike, the baseline mean, P(X >= count) under Poisson(mean)). A baseline of no
    stories at all counts as a tenth of a story per window: a first burst is still measured."""
    mean = max(sum(baseline) / len(baseline), 0.1) if baseline else 0.1
    tail = poisson_tail(count, mean)
    return count >= min_stories and tail <= p_max, mean, tail


def _queue_spikes(store: Store, config: Config, channels: list[ChannelConfig], labels: dict[str, str],
                  now: datetime, errors: list[str]) -> int:
    """Each topic in its own fault boundary. A topic whose first story is younger than
    `spike_baseline_days` has no baseline yet (a new database, a new topic): no spike."""
    options = config.alerting

    def by_topic(topic: str, label: str) -> int:
        targets = [c for c in channels if not c.topics or topic in c.topics]
        first = store.first_story_with_topic(topic) if targets else None
        if first is None or now - first < timedelta(days=options.spike_baseline_days):
            return 0
        window = timedelta(hours=options.spike_hours)
        count = store.stories_with_topic(topic, now - window, now)
        baseline = [store.stories_with_topic(topic, now - timedelta(days=d) - window, now - timedelta(days=d))
                    for d in range(1, options.spike_baseline_days + 1)]
        is_spike, mean, tail = spike(count, baseline, options.spike_min_stories, options.spike_p)
        if not is_spike:
            return 0
        title = f"Spike: {count} new {label} stories in {options.spike_hours:g} h"
        body = (f"{title} (usually {mean:.1f} in these hours over the last {options.spike_baseline_days} days; "
                f"P = {tail:.1e}).")
        queued = 0
        for channel in targets:
            last = store.last_message(channel.name, "spike", topic + ":")
            if last and now - last.created < timedelta(hours=options.cooldown_hours):
                continue
            queued += store.queue_message(channel.name, "spike", f"{topic}:{now:%Y-%m-%dT%H:%M}", title,
                                          body + f"\nnewsmon spike {topic}", now)
        return queued

    return sum(_guarded(store, errors, f"spike of topic {topic}", lambda t=topic, lb=label: by_topic(t, lb))
               for topic, label in labels.items())


class _Texts:
    """A story's titles and texts, read only when a rule looks for words."""

    def __init__(self, store: Store, story_id: str):
        self.store, self.story_id, self._rows = store, story_id, None

    @property
    def rows(self) -> list[tuple[str, str]]:
        if self._rows is None:
            self._rows = self.store.story_texts(self.story_id)
        return self._rows


def rule_matches(store: Store, rule: AlertRule, story: StoryRecord) -> bool:
    """Whether `rule` matches `story` as the alert pass decides it (topics, words, min_outlets):
    what `newsmon web`'s Atom feed per alert rule lists (app/reading.py)."""
    return _matches(rule, story, _Texts(store, story.id))


def _matches(rule: AlertRule, story: StoryRecord, text: _Texts) -> bool:
    if rule.topics and not set(rule.topics) & set(story.topics):
        return False
    if story.outlets < rule.min_outlets:
        return False
    if rule.words:
        matcher = words_matcher(rule.words)
        return any(matcher.match(title, body) for title, body in text.rows)
    return True


@functools.lru_cache(maxsize=256)
def words_matcher(words: TopicRule) -> TopicMatcher:
    """An alert rule's words as the topic matcher reads a topic's: whole words, variants, `*`
    endings, case-sensitive terms and excludes ("NATO" is not in "Senator Donato"). Compiled once
    per rule for the life of the process — rules are frozen values, so the cache cannot go stale —
    rather than in the config, which as shared vocabulary cannot import a stage."""
    return TopicMatcher((words,))


def _targets(channels: list[ChannelConfig], rule: AlertRule | None, story: StoryRecord) -> list[ChannelConfig]:
    named = [c for c in channels if rule is None or not rule.channels or c.name in rule.channels]
    return [c for c in named if not c.topics or set(c.topics) & set(story.topics)]


def _story_message(what: str, story: StoryRecord, feeds: list[str], labels: dict[str, str], url: str | None,
                   rule: str) -> tuple[str, str]:
    """(title, body) of a message about a story; the body ends with its identity."""
    topics = ", ".join(labels.get(t, t) for t in story.topics)
    title = f"{what}: {story.title}" + (f" [{topics}]" if topics else "")
    lines = [story.title, f"{counted(len(feeds), 'outlet')}: {', '.join(feeds)}"]
    if url:
        lines.append(url)
    lines.append(f"newsmon {rule} story {story.id}")
    return title, "\n".join(lines)


def queue_digests(store: Store, config: Config, now: datetime) -> int:
    """Each channel that receives the digest gets the previous day's, once, from `[email]
    send_at`: the top stories per topic with links, and the HTML digest's link when `[digest]
    base_url` is set. A day without stories is recorded as skipped unless `[email] send_empty`."""
    from .report import digest_for

    channels = [c for c in config.channels if "digest" in c.receives]
    local = now.astimezone(config.zone)
    if not channels or (local.hour, local.minute) < config.send_at:
        return 0
    day = local.date() - timedelta(days=1)
    labels = config.labels
    queued = 0
    for channel in channels:
        if store.message(channel.name, "digest", day.isoformat()) is not None:
            continue
        digest = digest_for(store, config, day, labels, now, topics=channel.topics, cap=5)
        lines = []
        for section in digest.topics:
            if section.stories:                  # the digest's definition: the section counts its
                lines.append(f"{section.label} ({section.stories}):")    # stories shown elsewhere too
                lines += [f"- {s.title} ({counted(len(s.outlets), 'outlet')}) {s.url or ''}".rstrip()
                          for s in section.articles]
                if section.more:
                    lines.append(f"  {section.more} more in the full digest")
                if section.elsewhere:
                    lines.append(f"  {len(section.elsewhere)} more listed under other topics")
        if config.base_url:
            lines.append(f"Full digest: {config.base_url.rstrip('/')}/{day}.html")
        n = len(digest.articles)
        title = f"News digest {day}: {counted(n, 'story')}"
        skipped = not n and not config.email.send_empty    # as the email: an empty day is not sent
        with store.transaction():
            queued += store.queue_message(channel.name, "digest", day.isoformat(), title,
                                          "\n".join(lines or ["No new stories."]) + f"\nnewsmon digest {day}", now,
                                          status="skipped" if skipped else "pending")
    return queued
