"""Run the benchmarks: `python -m bench` (all) or `python -m bench dedup flag pipeline`.

Each prints a table and saves its figures into bench/results.json. Network traffic stays on
127.0.0.1; corpora in ../shared/corpora are used when present and skipped when absent.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ["topics", "dedup", "stories", "extraction", "pipeline", "daemon", "compare", "web", "people"]
ON_REQUEST = ["soak", "diskindex", "scale", "engines", "workers"]   # long, or needing a PostgreSQL server: only when named


def main(argv: list[str]) -> None:
    split = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    names, rest = argv[:split] or BENCHMARKS, argv[split:]
    for name in names:
        if name not in BENCHMARKS + ON_REQUEST:
            sys.exit(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS + ON_REQUEST)}")
        importlib.import_module(f"bench.{name}").run(rest if len(names) == 1 else [])


if __name__ == "__main__":
    main(sys.argv[1:])
