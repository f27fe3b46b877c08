"""Outlets: who published a report, as readers know them.

A report's outlet is its feed's: `title` in the config, else the feed's own title, else its
name. An aggregator feed's item (Google Alerts, Google News; urls.is_aggregator_feed) is its
publisher's, the host of the article it links (urls.http_url already unwrapped the redirect). A
story's outlets are the distinct outlets of its reports, so two alert feeds citing one page are
one outlet.
"""

from __future__ import annotations

from ..config import Config
from ..records import FeedState, StoredArticle
from .urls import is_aggregator_feed, publisher


def outlet_names(config: Config, feeds: list[FeedState]) -> dict[str, str]:
    """Feed name -> the outlet readers know: `title` in the config, else the feed's own title,
    else its name."""
    stored = {f.name: f.title for f in feeds if f.title}
    return {f.name: f.title or stored.get(f.name) or f.name for f in config.feeds} | {
        name: title for name, title in stored.items() if name not in {f.name for f in config.feeds}}


def outlet_of(config: Config, feeds: list[FeedState]):
    """An article's outlet: its publisher for an aggregator's item (Google Alerts), else its feed's."""
    names = outlet_names(config, feeds)
    aggregators = {f.name for f in config.feeds if is_aggregator_feed(f.url)}

    def outlet(r: StoredArticle) -> str:
        if r.feed in aggregators:
            found = publisher(r.url)
            if found:
                return found
        return names.get(r.feed, r.feed)
    return outlet
