"""Alerts: which messages a run's new stories call for, queued once per channel.

Rules, evaluated after every run (and daemon cycle) over the stories that got a report in it:
- **alert**: a story matching an `[[alerts]]` rule (topics, words, a minimum of outlets) or a
  topic marked `alert = true`; once per story and channel, and once more ("update") when it
  reaches `[alerting] outlets_update` outlets;
- **surge**: a story reported by `surge_outlets` outlets within `surge_hours` of its first report;
- **spike**: a topic's new stories over the last `spike_hours` against the same hours of the
  previous `spike_baseline_days` days. Poisson, because new stories are counts of independent
  arrivals; the same hours of past days carry the desk's daily rhythm (nights are quiet), and a
  tail probability (`spike_p`) says how unusual the count is without a smoothing factor or a
  variance to estimate, as an EWMA rule would need. At most once per topic per `cooldown_hours`.
A message is stored pending with its identity (channel, kind, key) before anything is sent
(app/notify.py sends it): a rerun or a crash never queues it twice.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from ..channels import AlertRule, ChannelConfig
from ..config import Config
from ..records import StoryRecord
from ..stages.render import counted
from ..storage.store import Store


def queue_alerts(store: Store, config: Config, since: datetime, now: datetime) -> int:
    """Queue every message due for stories changed since `since`; the number queued."""
    channels = [c for c in config.channels if "alerts" in c.receives]
    if not channels:
        return 0
    labels = config.labels
    rules = list(config.alerts) + [AlertRule(f"topic {t.id}", (t.id,), (), 1, ()) for t in config.topics if t.alert]
    options = config.alerting
    queued = 0
    with store.transaction():
        for story in store.stories_changed_since(since):
            feeds = store.story_feeds(story.id)
            text, url = _Texts(store, story.id), store.url_of(story.lead)     # the link: its best report
            for rule in rules:
                if not _matches(rule, story, text):
                    continue
                for channel in _targets(channels, rule, story):
                    new = store.queue_message(channel.name, "alert", story.id, *_story_message(
                        "Alert", story, feeds, labels, url, rule.name), now)
                    queued += new
                    if not new and len(feeds) >= options.outlets_update:   # a later report brought it there
                        queued += store.queue_message(channel.name, "update", story.id, *_story_message(
                            f"Now {len(feeds)} outlets", story, feeds, labels, url, rule.name), now)
            early = store.story_feeds(story.id, until=story.first_seen + timedelta(hours=options.surge_hours))
            if len(early) >= options.surge_outlets:
                for channel in _targets(channels, None, story):
                    queued += store.queue_message(channel.name, "surge", story.id, *_story_message(
                        f"{len(early)} outlets in {options.surge_hours:g} h", story, early, labels, url,
                        "surge"), now)
        queued += _queue_spikes(store, config, channels, labels, now)
    return queued


def spike(count: int, baseline: list[int], min_stories: int, p_max: float) -> tuple[bool, float, float]:
    """(is it a spike, the baseline mean, P(X >= count) under Poisson(mean)). A baseline of no
    stories at all counts as a tenth of a story per window: a first burst is still measured."""
    mean = max(sum(baseline) / len(baseline), 0.1) if baseline else 0.1
    tail = 1.0 - sum(math.exp(-mean) * mean ** i / math.factorial(i) for i in range(count))
    return count >= min_stories and tail <= p_max, mean, max(tail, 0.0)


def _queue_spikes(store: Store, config: Config, channels: list[ChannelConfig], labels: dict[str, str],
                  now: datetime) -> int:
    options = config.alerting
    window = timedelta(hours=options.spike_hours)
    queued = 0
    for topic, label in labels.items():
        targets = [c for c in channels if not c.topics or topic in c.topics]
        if not targets:
            continue
        count = store.stories_with_topic(topic, now - window, now)
        baseline = [store.stories_with_topic(topic, now - timedelta(days=d) - window, now - timedelta(days=d))
                    for d in range(1, options.spike_baseline_days + 1)]
        is_spike, mean, tail = spike(count, baseline, options.spike_min_stories, options.spike_p)
        if not is_spike:
            continue
        title = f"Spike: {count} new {label} stories in {options.spike_hours:g} h"
        body = (f"{title} (usually {mean:.1f} in these hours over the last {options.spike_baseline_days} days; "
                f"P = {tail:.1e}).")
        for channel in targets:
            last = store.last_message(channel.name, "spike", topic + ":")
            if last and now - last.created < timedelta(hours=options.cooldown_hours):
                continue
            queued += store.queue_message(channel.name, "spike", f"{topic}:{now:%Y-%m-%dT%H:%M}", title,
                                          body + f"\nnewsmon spike {topic}", now)
    return queued


class _Texts:
    """A story's titles and texts, read only when a rule looks for words."""

    def __init__(self, store: Store, story_id: str):
        self.store, self.story_id, self._rows = store, story_id, None

    @property
    def rows(self) -> list[tuple[str, str]]:
        if self._rows is None:
            self._rows = self.store.story_texts(self.story_id)
        return self._rows


def _matches(rule: AlertRule, story: StoryRecord, text: _Texts) -> bool:
    if rule.topics and not set(rule.topics) & set(story.topics):
        return False
    if story.outlets < rule.min_outlets:
        return False
    if rule.terms:
        words = [t.casefold() for t in rule.terms]
        return any(w in (title + "\n" + body).casefold() for title, body in text.rows for w in words)
    return True


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
