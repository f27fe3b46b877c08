"""The alert pass's mark when nobody is to be alerted (app/alerts.py owns the pass itself): kept
apart so that a run can settle it without loading the alert rules' matcher and templates."""

from __future__ import annotations

from datetime import datetime

from ..config import Config
from ..storage.store import Store
from ..storage.stories import ALERT_PASS


def nobody_to_alert(store: Store, config: Config, now: datetime) -> None:
    """With no channel for alerts, what a run stored counts as evaluated: the mark moves, so a
    channel added later starts from then, not from the stored history."""
    if any("alerts" in c.receives for c in config.channels):
        return
    upto = store.last_rowid()
    if upto > store.mark(ALERT_PASS):      # (a run that stored nothing writes nothing, as the pass itself)
        with store.transaction():
            store.advance_mark(ALERT_PASS, upto, now)
