"""Feed claims: how several `newsmon run` workers share one PostgreSQL database's feeds.

Each worker takes a feed only once it has claimed it (`Feeds.claim_feed`: FOR UPDATE SKIP
LOCKED, a lease that expires), just before fetching it, so workers started together share the
feeds as they go rather than split them up front. The claim is released in the same transaction
that stores the feed (`Feeds.save_feed`), so a feed is stored once per cycle: a worker that
claims a feed another just stored reads its new state, finds it no longer due and lets it go.
A worker that dies leaves its claims; they lapse after `[storage] claim_lease_seconds` and the
feeds are taken over by the next worker that finds them due (nothing was stored for them).

On SQLite there is one run at a time (the run lock), so there is nothing to claim: `NoClaims`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import AsyncIterator, Callable

from ..config import Config, FeedConfig
from ..records import FeedState
from ..stages.health import is_due, policy_for
from ..storage.store import Store, database_errors

log = logging.getLogger("newsmon")


class NoClaims:
    """SQLite: the run lock already makes the run the only one."""

    @asynccontextmanager
    async def held(self, feed: FeedConfig, states: dict[str, FeedState]) -> AsyncIterator[bool]:
        yield True

    def release_left(self) -> None:
        pass


class FeedClaims:
    """A worker's claims, on a connection of their own in autocommit (a claim is visible to the
    other workers at once, whatever the run's group transaction holds)."""

    def __init__(self, config: Config, clock: Callable[[], datetime], force: bool = False):
        self.config, self.clock, self.force = config, clock, force
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"[:100]
        self.lease = timedelta(seconds=config.claim_lease_seconds)
        # feeds claimed and in flight at once: as many as the fetcher fetches, so claims are
        # taken as a worker is ready for them, and another worker gets its share
        self.slots = asyncio.Semaphore(max(1, config.fetch.concurrency))
        self.store: Store | None = None

    def _store(self) -> Store:
        if self.store is None:
            self.store = Store.open(self.config.store, self.config.store_password)
        return self.store

    @asynccontextmanager
    async def held(self, feed: FeedConfig, states: dict[str, FeedState]) -> AsyncIterator[bool]:
        """True while this worker holds the feed's claim and the feed is still due (its fresh
        state put in `states`); False: another worker has it or has just checked it."""
        async with self.slots:
            now = self.clock()
            state = self._store().claim_feed(feed.name, self.worker, now, now + self.lease)
            if state is not None and not state.disabled and (
                    self.force or is_due(state, now, policy_for(self.config, feed))):
                states[feed.name] = state
                yield True
                return
            if state is not None:
                self._store().release_claims(self.worker, feed.name)
            yield False

    def release_left(self) -> None:
        """The claims of feeds this worker took but did not store (stopped, or the store failed):
        given back at the end of its run rather than left to lapse."""
        if self.store is None:
            return
        try:
            self.store.release_claims(self.worker)
            self.store.close()
        except database_errors() as e:      # (the server gone: the claims lapse with their lease)
            log.warning("could not give back this worker's feed claims: %s", e)
        self.store = None


def claims_for(config: Config, clock: Callable[[], datetime], force: bool = False) -> NoClaims | FeedClaims:
    return FeedClaims(config, clock, force) if config.storage_url else NoClaims()
