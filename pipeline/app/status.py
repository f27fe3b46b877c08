"""`newsmon status`: what an operator wants to know without opening SQLite."""

from __future__ import annotations

import re
from contextlib import nullcontext
from datetime import datetime

from ..clock import utcnow
from ..config import Config
from ..sanitize import one_line
from ..stages.health import policy_for, scheduled, status_of
from ..storage.store import iso
from .archive import opened
from .retention import growth

_DIGEST = re.compile(r"^(\d{4}-\d{2}-\d{2})\.(html|md|txt|json)$")


def collect(config: Config, runs: int = 10, now: datetime | None = None, store=None) -> dict:
    """What `newsmon status` shows (on `store` when given: the web server's read-only one)."""
    now = now or utcnow()
    with (nullcontext(store) if store is not None else opened(config)) as store:
        feeds = feed_rows(config, store, now)
        recent = run_rows(store, runs)
        grown = growth(store, config, now)
        last_upkeep = store.last_maintenance()
        sends = store.sends()
        channels = channel_rows(config, store)
    store_info = {"bytes": grown.database_bytes, "free_inside_bytes": grown.free_bytes,
                  "disk_free_bytes": grown.disk_free_bytes, "articles": grown.articles,
                  "articles_per_day_7": grown.per_day_7, "articles_per_day_30": grown.per_day_30,
                  "bytes_per_day": grown.bytes_per_day, "days_until_full": grown.days_until_full,
                  "warning": grown.warning, "line": grown.line,
                  "keep_text_days": config.retention.keep_text_days, "keep_days": config.retention.keep_days,
                  "last_maintenance": last_upkeep["started"] if last_upkeep else None}
    return {"generated": now.isoformat(timespec="seconds"), "database": str(config.store),
            "store": store_info, "feeds": feeds, "runs": recent, "digests": digest_files(config), "emails": sends,
            "channels": channels}


# The parts of the report, apart: a web page that shows one part reads only that one (the store's
# growth counts a month of articles, ~25 ms on 100,000, which the feeds and alerts pages never show).

def feed_rows(config: Config, store, now: datetime) -> list[dict]:
    """Each configured feed's health, as `status --json` gives it."""
    states = {f.name: f for f in store.feeds()}
    feeds = []
    for f in config.feeds:
        state = states.get(f.name)
        feeds.append({
            "name": f.name,
            "url": state.url if state else f.url,
            "enabled": f.enabled,
            "status": status_of(state, now, config.fetch.failing_after, config.fetch.stale_after_days)
            if state else "unchecked",
            "consecutive_failures": state.consecutive_failures if state else 0,
            "last_error": (state.last_error or state.disabled) if state else None,
            "warning": state.warning if state else None,
            "error_since": iso(state.error_since) if state else None,
            "last_success": iso(state.last_success) if state else None,
            "last_new_item": iso(state.last_new_item) if state else None,
            "next_due": iso(scheduled(state, now, policy_for(config, f))) if state else None,
            "items_seen": state.items_seen if state else 0,
        })
    return feeds


def run_rows(store, runs: int) -> list[dict]:
    """The latest `runs` runs, newest first."""
    recent = []
    for r in store.recent_runs(runs) if runs else ():
        duration = None
        if r["finished"]:
            duration = (datetime.fromisoformat(r["finished"]) - datetime.fromisoformat(r["started"])).total_seconds()
        recent.append({"id": r["id"], "started": r["started"], "finished": r["finished"],
                       "duration_seconds": duration, "status": r["status"], "feeds_ok": r["feeds_ok"],
                       "feeds_failed": r["feeds_failed"], "new_articles": r["new_articles"],
                       "duplicates": r["duplicates"], "error": r["error"]})
    return recent


def channel_rows(config: Config, store) -> list[dict]:
    """Per configured channel: messages pending, sent, failed, batched, and its last error."""
    counts = store.message_counts()
    errors = store.channel_errors() if counts else {}
    return [{"name": c.name, "receives": list(c.receives), "topics": list(c.topics),
             **{s: counts.get(c.name, {}).get(s, 0) for s in ("pending", "sent", "failed", "batched")},
             "last_error": errors.get(c.name)} for c in config.channels]


def digest_files(config: Config) -> list[dict]:
    """The digest files written, per day (newest first), with their formats."""
    days: dict[str, list[str]] = {}
    if config.digest_dir.is_dir():
        for p in config.digest_dir.iterdir():
            m = _DIGEST.match(p.name)
            if m:
                days.setdefault(m.group(1), []).append(m.group(2))
    return [{"date": d, "formats": sorted(days[d]), "path": str(config.digest_dir / f"{d}.html")}
            for d in sorted(days, reverse=True)]


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain table for a terminal; every cell sanitised, since cells hold what servers said."""
    rows = [[one_line(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def short_time(ts: str | None) -> str:
    return ts[:16].replace("T", " ") if ts else "-"


def render_text(report: dict) -> str:
    store = report["store"]
    out = [f"newsmon status — {report['database']}", f"Store: {store['line']}",
           f"Kept: texts {store['keep_text_days']} days, articles "
           + (f"{store['keep_days']} days" if store["keep_days"] else "forever")
           + f"; last maintenance {short_time(store['last_maintenance'])}"]
    if store["warning"]:
        out.append(f"WARNING: {store['warning']}")
    out += ["", "Recent runs:"]
    out.append(text_table(["id", "started (UTC)", "took", "status", "feeds ok/failed", "new", "dups", "error"], [
        [str(r["id"]), short_time(r["started"]),
         f"{r['duration_seconds']:.1f}s" if r["duration_seconds"] is not None else "-",
         r["status"], f"{r['feeds_ok']}/{r['feeds_failed']}", str(r["new_articles"]), str(r["duplicates"]),
         (r["error"] or "")[:50]] for r in report["runs"]]) if report["runs"] else "  (no run yet)")
    out += ["", "Feeds:"]
    out.append(text_table(["name", "status", "fails", "last success", "next due", "items", "last error / warning"], [
        [f["name"] + ("" if f["enabled"] else " (disabled)"), f["status"], str(f["consecutive_failures"]),
         short_time(f["last_success"]), short_time(f["next_due"]), str(f["items_seen"]),
         (f["last_error"] or (f"warning: {f['warning']}" if f["warning"] else ""))[:60]]
        for f in report["feeds"]]))
    out += ["", "Digests written:"]
    out += [f"  {d['date']}  {', '.join(d['formats'])}" for d in report["digests"][:10]] or ["  (none yet)"]
    if report["emails"]:
        out += ["", "Emails:"]
        out += [f"  {e['digest_date']}  {e['recipient']}  {e['status']}  {e.get('error') or ''}".rstrip()
                for e in report["emails"][:20]]
    if report["channels"]:
        out += ["", "Channels:"]
        out.append(text_table(["name", "receives", "pending", "sent", "batched", "failed", "last error"], [
            [c["name"], ",".join(c["receives"]), str(c["pending"]), str(c["sent"]), str(c["batched"]), str(c["failed"]),
             (c["last_error"] or "")[:70]] for c in report["channels"]]))
    return "\n".join(out)
