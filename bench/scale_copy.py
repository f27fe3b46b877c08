"""`newsmon db copy` of a generated archive to PostgreSQL and back (issue 26, moving an archive),
for `python -m bench scale --copy`: the archive of tests/test_dbcopy.py (bench/archive.py,
generated text, 2,000 articles a day; 100,000 articles by default) in an SQLite file, copied by
`newsmon db copy` as a subprocess into a new PostgreSQL database (a throwaway cluster as the
tests start one, or `--pg-url`), then from there into a new SQLite file. Each leg's wall time
(copy, search index, and the check of counts and checksums of both sides), and whether every
table's rows and checksum are equal on all four sides.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from pipeline.storage.store import Store

from .archive import generate, pool_of, simple_texts

PASSWORD_ENV = "NEWSMON_BENCH_PG_PASSWORD"


def _copy(config: Path, target: str, password: str | None) -> tuple[float, dict]:
    env = {**os.environ, "PGPASSWORD": password or "", PASSWORD_ENV: password or ""}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pipeline", "db", "copy", "--config", str(config), "--to", target,
                           "--json"], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"newsmon db copy --to {target.split('@')[-1]} failed ({done.returncode}): "
                         f"{(done.stdout + done.stderr)[-2000:]}")
    return seconds, json.loads(done.stdout)


def _sides(report: dict, side: str) -> dict:
    return {name: (t[f"{side}_rows"], t[f"{side}_checksum"]) for name, t in report["tables"].items()}


def round_trip(articles: int, url: str | None, password: str | None, per_day: int = 2000) -> dict:
    """The archive generated, copied to PostgreSQL and back; the figures."""
    import psycopg

    from .engines import _pgserver

    folder = Path(tempfile.mkdtemp(prefix="newsmon-bench-copy-"))
    folder.chmod(0o755)
    server = None
    try:
        if url is None:
            server = _pgserver()
            url, password = server.start(folder / "cluster")
        name = f"bench_copy_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(url, password=password, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        target = url.rsplit("/", 1)[0] + "/" + name
        source = folder / "source.db"
        started = time.perf_counter()
        store = Store.open(source)
        generate(store, articles, pool_of(simple_texts(200)), per_day)
        store.close()
        made = time.perf_counter() - started
        (folder / "source.toml").write_text(f'[storage]\ndatabase = "{source}"\n')
        (folder / "pg.toml").write_text(f'[storage]\ndatabase = "{folder / "unused.db"}"\nurl = "{target}"\n'
                                        f'password_env = "{PASSWORD_ENV}"\n')
        forth_s, forth = _copy(folder / "source.toml", target, password)
        back_s, back = _copy(folder / "pg.toml", str(folder / "back.db"), password)
        sides = [_sides(forth, "source"), _sides(forth, "target"), _sides(back, "source"), _sides(back, "target")]
        from pipeline.storage import postgres

        postgres.close_pools()
        with psycopg.connect(url, password=password, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        return {"articles": articles, "generated_s": round(made, 1),
                "source_mb": round(source.stat().st_size / 1e6), "tables": len(sides[0]),
                "rows": sum(rows for rows, _ in sides[0].values()),
                "to_postgresql_s": round(forth_s, 1), "back_to_sqlite_s": round(back_s, 1),
                "equal": bool(forth["equal"] and back["equal"] and all(s == sides[0] for s in sides)),
                "server": "throwaway cluster (fsync off)" if server else "given (--pg-url)"}
    finally:
        if server is not None:
            server.stop(folder / "cluster")
        shutil.rmtree(folder, ignore_errors=True)
