"""`newsmon web`: the archive read by story, over HTTP (Starlette under uvicorn).

- pages.py   the routes: each HTML page and its JSON twin under /api/v1/ come from one reading
             (app/reading.py), so the pages and the API cannot drift;
- atom.py    Atom feeds out: per topic and per search, one entry per story;
- serve.py   the safety rule on where it may listen, and uvicorn;
- people.py  with [[web.users]] (or a trusted proxy's header): gate.py (who is asking, foreign
             POSTs refused), login.py (sign-in, its rate limit), state.py (read, starred, saved
             searches and their private feeds), passwords.py (scrypt hashes).

An interface layer, like cli/: it reads through app/ and holds no SQL.
"""
