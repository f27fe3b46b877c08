"""The settings of each config section, as records (config.py reads and checks them, and
re-exports them): kept apart so that config.py holds the reading rules only."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WebUser:
    name: str
    password_hash: str             # "$scrypt$ln=15,r=8,p=1$salt$hash" (web/passwords.py)


@dataclass(frozen=True, slots=True)
class WebOptions:
    host: str                      # where `newsmon web` listens (loopback only without users)
    port: int
    max_stale_seconds: int = 5     # a whole-day page kept at most this long after a write
    session_days: float = 14.0     # a login lasts this long
    nice: int = 10                 # the server's niceness: a run beside it gets the CPU first
    trusted_user_header: str | None = None   # lower-case header name a reverse proxy sets
    trusted_proxies: tuple[str, ...] = ()    # the addresses it is believed from
    users: tuple[WebUser, ...] = ()          # [[web.users]]

    @property
    def people(self) -> bool:
        """Whether anyone can sign in: then pages need a user, POST routes exist, any address may be bound."""
        return bool(self.users or (self.trusted_user_header and self.trusted_proxies))


@dataclass(frozen=True, slots=True)
class FetchOptions:
    timeout_seconds: float         # whole-request budget: connect + headers + body, redirects included
    max_bytes: int                 # cap on the decoded feed body
    allow_private_networks: bool | tuple[str, ...]  # true, or the CIDR ranges allowed (else refused)
    concurrency: int               # requests in flight at once, all hosts together
    per_host: int                  # requests in flight at once to one host
    per_host_delay_seconds: float  # minimum gap between two requests to one host
    user_agent: str
    max_items_per_feed: int        # entries taken from one feed in one run (newest first)
    max_age_days: float            # an item published earlier than this is stored but is not news
    interval_minutes: float        # how often a feed is due (per-feed override in [[feeds]])
    backoff_cap_minutes: float     # failing feeds are retried at most this far apart
    failing_after: int             # consecutive failures before a feed is listed as failing
    stale_after_days: float        # no new item for this long: the feed is stale
    run_deadline_minutes: float    # a run stops waiting for unfinished feeds after this long


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    fetch_pages: bool              # fetch article pages; false = use the feed's own content only
    max_page_bytes: int            # pages larger than this are not given to trafilatura
    timeout_seconds: float         # per-document extraction budget, in a worker process
    memory_mb: int                 # address-space cap of each extraction worker
    workers: int                   # extraction processes; 0 = one per core
    min_chars: int                 # page text shorter than this falls back to the feed's content
    thorough: bool                 # every page gets trafilatura's full pass, not the fast one first

    @property
    def processes(self) -> int:
        """Extraction processes: `workers`, or one per core."""
        return self.workers or os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class RetentionOptions:
    keep_text_days: int = 90           # then an article's text goes (title, URL, topics, story stay)
    keep_days: int | None = None       # then the whole article goes; None = forever
    disk_warning_days: int = 30        # warn when the disk fills within this many days
    window_days: int = 365             # [dedup]: stored articles a new one is compared with


@dataclass(frozen=True, slots=True)
class Recipient:
    address: str                   # "desk@example.org" or "Desk <desk@example.org>"
    topics: tuple[str, ...]        # only these topic ids; empty = everything


@dataclass(frozen=True, slots=True)
class EmailOptions:
    enabled: bool
    host: str
    port: int
    security: str                  # none | starttls | ssl
    username: str | None
    password_env: str | None       # name of the environment variable holding the password
    sender: str                    # the From header ([email] from)
    send_at: str                   # "HH:MM" in the digest time zone
    send_empty: bool               # email a digest that says "no new articles"
    stories_per_topic: int         # the email's cap per topic (the files show every story)
    images: bool                   # lead images in the email (off by default: fetched when opened)
    timeout_seconds: float
    ca_file: str | None            # extra CA bundle to trust (a private mail relay); never "no verify"
    recipients: tuple[Recipient, ...]


@dataclass(frozen=True, slots=True)
class FeedConfig:
    name: str
    url: str
    fetch_pages: bool | None       # None: follow [extract] fetch_pages
    tags: tuple[str, ...]
    enabled: bool
    interval_minutes: float | None = None  # None: follow [fetch] interval_minutes
    title: str | None = None       # the title it was subscribed under (an OPML import), any script
