"""newsmon: feeds -> full text -> dedup -> topic flags -> SQLite -> daily digest.

Stages, one owner module each (only `run.py` wires them together):

    fetch    -> fetch.py    network I/O, the only module that talks HTTP
    parse    -> parse.py    feed bytes -> FeedEntry records
    extract  -> extract.py  article page -> main text (trafilatura, in worker processes)
    clean    -> clean.py    markup remnants, boilerplate lines, fingerprints
    dedup    -> dedup.py    identity and duplicate detection
    flag     -> flag.py     topic matching
    store    -> store.py    SQLite schema and writes (the contract between runs)
    digest   -> digest.py   the day's digest as data; render.py turns it into files
    deliver  -> deliver.py  the digest by email, exactly once per day and recipient

Around them: config.py (the one option table), records.py (frozen records between stages),
errors.py (the error tree), health.py (feed scheduling and status), lock.py (one run at a
time), serve.py (the daemon), status.py, configedit.py and opml.py (operators' tools), and
the CLI in cli.py, cli_operators.py and cli_common.py.
"""

__version__ = "0.1.0"
