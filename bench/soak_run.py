"""One checkpoint step of `python -m bench soak`, in its own process on a fixed clock:

    python -m bench.soak_run run CONFIG NOW      # run_once(force=True), as `newsmon run` calls it
    python -m bench.soak_run digest CONFIG NOW   # the day's digest files (app/report.write_for_day)
    python -m bench.soak_run digest-day CONFIG NOW   # the day before's: a whole day of the history

Prints one JSON line with what it did.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime


def main(kind: str, config_path: str, now_text: str) -> None:
    from pipeline.config import load_config

    config, now = load_config(config_path), datetime.fromisoformat(now_text)
    if kind == "run":
        from pipeline.app.pipeline import run_once

        report = run_once(config, clock=lambda: now, force=True)
        print(json.dumps({"new": report.new_articles, "duplicates": report.duplicates}))
    else:
        from datetime import timedelta

        from pipeline.app.report import write_for_day
        from pipeline.stages.digest import day_bounds
        from pipeline.storage.store import Store

        store = Store.open(config.database)
        day = now.astimezone(config.zone).date() - timedelta(days=1 if kind == "digest-day" else 0)
        start = time.perf_counter()
        write_for_day(store, config, now, config.labels, day=day)
        seconds = time.perf_counter() - start
        rows = store.articles_between(*day_bounds(day, config.zone))      # (after the timing: what it showed)
        print(json.dumps({"render_seconds": seconds, "articles": len(rows),
                          "stories": len({r.story_id or r.id for r in rows if r.duplicate_of is None})}))
        store.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
