"""`newsmon web` with people ([[web.users]], a trusted proxy's header): sign-in, sessions and their
cookies, CSRF (tokens and Origin), the sign-in rate limit, reading state, saved searches and their
private feeds, "new since your last visit". Real parts only: a real run's desk, the real server
on loopback, HTTP over sockets, `newsmon web passwd` as a subprocess. The whole flow in a real
headless Chromium is in test_webbrowser.py."""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from email.message import Message
from urllib.parse import urlencode, urlsplit

import feedparser
import pytest
from conftest import write_config
from test_alerts import Receiver
from test_web import DAY, TALKS, Archive, Web, _publish, cli_json

from pipeline.app.pipeline import run_once
from pipeline.config import load_config
from pipeline.errors import ConfigError, UsageError
from pipeline.web.passwords import hash_password, verify_password
from pipeline.web.serve import bound_socket, check_bind

PASSWORD = "correct horse battery"
ANN_HASH = hash_password(PASSWORD)          # once: a hash costs ~0.1 s on purpose


def people_config(desk: Archive, web: str = "") -> None:
    """The desk's config with users ann and bob (and `web`: more [web] keys)."""
    text = desk.path.read_text().replace("[web]\n", f"[web]\n{web}\n", 1)
    text += "".join(f'\n[[web.users]]\nname = "{n}"\npassword_hash = "{ANN_HASH}"\n' for n in ("ann", "bob"))
    desk.path.write_text(text)
    desk.config = load_config(desk.path)


class Client:
    """One browser's worth of HTTP: its cookies, its source address; redirects not followed."""

    def __init__(self, base: str, source: str = "127.0.0.1"):
        parts = urlsplit(base)
        self.host, self.port, self.source, self.origin = parts.hostname, parts.port, source, base
        self.cookies: dict[str, str] = {}
        self.set_cookies: list[str] = []              # every Set-Cookie seen, as sent

    def request(self, method: str, path: str, form: dict | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30, source_address=(self.source, 0))
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
            sent.setdefault("Origin", self.origin)
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        text = response.read().decode("utf-8")
        for header in response.headers.get_all("set-cookie") or []:
            self.set_cookies.append(header)
            name, _, rest = header.partition("=")
            value = rest.split(";")[0].strip('"')
            if "max-age=0" in header.lower() or "expires=thu, 01 jan 1970" in header.lower() or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        conn.close()
        return response.status, response.headers, text

    def moved_to(self, base: str) -> None:
        """The same browser (its cookies), at a restarted server."""
        self.origin, self.port = base, urlsplit(base).port

    def sign_in(self, name: str = "ann", password: str = PASSWORD, target: str = "/"):
        status, _, page = self.request("GET", "/login")
        assert status == 200, page[:300]
        return self.request("POST", "/login", {"csrf": field(page, "csrf"), "name": name, "password": password,
                                               "next": target})


def ann_on_the_truce(desk: Archive, people) -> tuple[Client, str, str]:
    """Ann signed in, on the truce story's page: (her client, the story id, the page)."""
    ann = Client(people.base)
    ann.sign_in()
    story = desk.story_of("Local ceasefire%")
    return ann, story, ann.request("GET", f"/story/{story}")[2]


def passwd(name: str, path, stdin: str) -> subprocess.CompletedProcess:
    """`newsmon web passwd NAME` as an operator's script runs it: the password on stdin."""
    return subprocess.run([sys.executable, "-m", "pipeline", "web", "passwd", name, "--config", str(path)],
                          input=stdin, capture_output=True, text=True, timeout=120)


def field(html: str, name: str) -> str:
    """The value of the first hidden input `name` in a page."""
    marker = f'name="{name}" value="'
    at = html.index(marker) + len(marker)
    return html[at:html.index('"', at)]


def cookie(client: Client, name: str) -> Message:
    """The attributes of the last Set-Cookie for `name` (lower-case keys)."""
    header = [h for h in client.set_cookies if h.startswith(name + "=")][-1]
    attributes = Message()
    for part in header.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        attributes[key.lower()] = value or "yes"
    return attributes


@pytest.fixture
def desk(site, tmp_path, seeds_dir, clock) -> Archive:
    """test_web's archive: a real run's, with one alert sent to a receiver on loopback."""
    receiver = Receiver()
    try:
        yield Archive(site, tmp_path, clock, receiver)
    finally:
        receiver.stop()


@pytest.fixture
def people(desk):
    people_config(desk, 'trusted_proxies = ["127.0.0.2"]\ntrusted_user_header = "X-Remote-User"')
    w = Web(desk.config)
    yield w
    w.stop()


def test_newsmon_web_passwd_as_a_subprocess_writes_a_scrypt_hash_keeping_comments(tmp_path, seeds_dir):
    path = write_config(tmp_path, [])
    path.write_text("# the desk's config: keep this comment\n" + path.read_text())
    done = passwd("ann", path, "s3cret-enough\n")
    assert done.returncode == 0 and "added ann" in done.stdout, done.stderr
    text = path.read_text()
    assert text.startswith("# the desk's config: keep this comment\n") and "s3cret" not in text
    [user] = load_config(path).web.users
    assert user.name == "ann" and user.password_hash.startswith("$scrypt$ln=15,r=8,p=1$")
    assert verify_password("s3cret-enough", user.password_hash) and not verify_password("s3cret-enougH", user.password_hash)
    again = passwd("ann", path, "another-password\n")
    assert again.returncode == 0 and "changed the password of ann" in again.stdout
    [user] = load_config(path).web.users                 # still one ann, the new password
    assert verify_password("another-password", user.password_hash)
    short = passwd("bob", path, "short\n")
    assert short.returncode == 2 and "at least 8" in short.stderr and "bob" not in path.read_text()
    bad = passwd("a b", path, "long-enough-1\n")
    assert bad.returncode == 2 and "user name" in bad.stderr and "Traceback" not in bad.stderr


def test_web_users_in_the_config_are_checked_naming_file_line_and_key(tmp_path, seeds_dir):
    path = write_config(tmp_path, [], extra=(
        '\n[web]\ntrusted_user_header = "X-Remote-User"\n'
        f'\n[[web.users]]\nname = "ann"\npassword_hash = "{ANN_HASH}"\n'
        '\n[[web.users]]\nname = "ann"\npassword_hash = "plain text"\n'
        '\n[[web.users]]\nname = "cy"\npasword_hash = "x"\n'))
    problems: list[ConfigError] = []
    load_config(path, problems)
    said = [str(p) for p in problems]
    assert any("web.trusted_user_header" in s and "trusted_proxies" in s for s in said), said
    assert any("web.users[2].password_hash" in s and "newsmon web passwd" in s for s in said), said
    assert any("web.users[3].pasword_hash" in s and "unknown key" in s for s in said), said
    assert any("web.users[3].password_hash: missing" in s for s in said), said
    assert all(str(path) + ":" in s for s in said)          # file and line, every one


def test_with_users_every_page_needs_a_sign_in_and_sessions_have_safe_cookies(desk, people):
    anonymous = Client(people.base)
    status, headers, _ = anonymous.request("GET", f"/?date={DAY}")
    assert status == 303 and headers["location"] == f"/login?next=%2F%3Fdate%3D{DAY}"
    assert anonymous.request("GET", "/api/v1/today")[0] == 401
    assert anonymous.request("GET", "/feeds/topic/ceasefire.atom")[0] == 401
    assert anonymous.request("GET", "/static/style.css")[0] == 200          # the sign-in page's styles
    login = cookie(anonymous, "newsmon_login") if anonymous.request("GET", "/login")[0] == 200 else None
    assert login["httponly"] and login["samesite"].lower() == "strict" and login["path"] == "/login"

    status, _, page = anonymous.sign_in(password="wrong password")
    assert status == 401 and "Wrong name or password" in page and "newsmon_session" not in anonymous.cookies
    status, headers, _ = anonymous.sign_in(target=f"/?date={DAY}")
    assert status == 303 and headers["location"] == f"/?date={DAY}"
    session = cookie(anonymous, "newsmon_session")
    assert session["httponly"] and session["samesite"].lower() == "lax" and session["path"] == "/"
    assert "secure" not in session and int(session["max-age"]) == 14 * 86400      # plain http: not Secure
    token = anonymous.cookies["newsmon_session"]
    stored = desk.sql("SELECT token_hash, user FROM sessions")
    assert stored == [(hashlib.sha256(token.encode()).hexdigest(), "ann")]        # only its hash is kept
    status, _, html = anonymous.request("GET", f"/?date={DAY}")
    assert status == 200 and '<span class="who">ann</span>' in html and 'action="/logout"' in html
    assert anonymous.request("GET", "/api/v1/today")[0] == 200
    assert Client(people.base).sign_in(target="//evil.example/")[1]["location"] == "/"   # only our own paths

    status, headers, _ = anonymous.request("POST", "/logout", {"csrf": field(html, "csrf")})
    assert status == 303 and headers["location"] == "/login" and "newsmon_session" not in anonymous.cookies
    assert desk.sql("SELECT user FROM sessions WHERE token_hash = ?",
                       [hashlib.sha256(token.encode()).hexdigest()]) == []
    anonymous.cookies["newsmon_session"] = token                                   # a copy kept: refused
    assert anonymous.request("GET", "/")[0] == 303


def test_behind_a_trusted_proxy_cookies_are_secure_and_its_user_header_is_believed_from_it_only(desk, people):
    direct = Client(people.base)
    assert direct.request("GET", "/", headers={"X-Remote-User": "mallory"})[0] == 303      # not from the proxy
    direct.sign_in()
    direct.request("GET", "/login", headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in cookie(direct, "newsmon_login")               # an untrusted claim of TLS
    proxy = Client(people.base, source="127.0.0.2")                      # the configured proxy
    proxy.request("GET", "/login", headers={"X-Forwarded-Proto": "https"})
    assert cookie(proxy, "newsmon_login")["secure"]
    status, _, html = proxy.request("GET", f"/?date={DAY}", headers={"X-Remote-User": "carol",
                                                                     "X-Forwarded-Proto": "https"})
    assert status == 200 and '<span class="who">carol</span>' in html
    assert cookie(proxy, "newsmon_session")["secure"]                    # her session, for her forms' token
    story = desk.story_of("Local ceasefire%")
    _, _, page = proxy.request("GET", f"/story/{story}", headers={"X-Remote-User": "carol"})
    status, _, _ = proxy.request("POST", f"/story/{story}/mark", {"csrf": field(page, "csrf"), "what": "star"},
                                 headers={"X-Remote-User": "carol"})
    assert status == 303 and desk.sql("SELECT user, story_id FROM stars") == [("carol", story)]
    direct.cookies["newsmon_session"] = proxy.cookies["newsmon_session"]     # her cookie, not through the proxy
    assert direct.request("GET", "/")[0] == 303


def test_a_new_password_ends_the_sessions_signed_in_with_the_old_one(desk):
    people_config(desk)
    w = Web(desk.config)
    ann, bob = Client(w.base), Client(w.base)
    try:
        assert ann.sign_in()[0] == 303 and bob.sign_in("bob")[0] == 303
    finally:
        w.stop()
    text = desk.path.read_text()
    at = text.index('name = "ann"')
    desk.path.write_text(text[:at] + text[at:].replace(ANN_HASH, hash_password("a new password!"), 1))
    w = Web(load_config(desk.path))                                          # restarted, as the docs say
    try:
        for client in (ann, bob):
            client.moved_to(w.base)
        assert ann.request("GET", "/")[0] == 303                             # ann's old session: ended
        assert bob.request("GET", f"/?date={DAY}")[0] == 200                 # bob's password did not change
    finally:
        w.stop()


def test_a_cross_site_post_is_refused_and_a_post_needs_the_sessions_token(desk, people):
    ann, story, page = ann_on_the_truce(desk, people)
    token = field(page, "csrf")
    other = "http://127.0.0.1:1"                                         # another site (another port)
    for headers in ({"Origin": other}, {"Origin": "null"}, {"Origin": "", "Referer": other + "/attack.html"}):
        status, _, body = ann.request("POST", f"/story/{story}/mark", {"what": "read", "csrf": token}, headers=headers)
        assert status == 403 and "not sent from newsmon&#39;s own pages" in body, (headers, body[:300])
    conn = http.client.HTTPConnection("127.0.0.1", ann.port, timeout=10)   # neither Origin nor Referer
    conn.request("POST", f"/story/{story}/mark", body=f"what=read&csrf={token}",
                 headers={"Cookie": f"newsmon_session={ann.cookies['newsmon_session']}",
                          "Content-Type": "application/x-www-form-urlencoded"})
    assert conn.getresponse().status == 403
    for form in ({"what": "read"}, {"what": "read", "csrf": "forged" + token[6:]}):   # our origin, no or a wrong token
        status, _, body = ann.request("POST", f"/story/{story}/mark", form)
        assert status == 403 and "does not belong to your session" in body
    bob = Client(people.base)
    bob.sign_in("bob")
    assert bob.request("POST", f"/story/{story}/mark", {"what": "read", "csrf": token})[0] == 403   # ann's token
    assert desk.sql("SELECT * FROM reads") == []                       # nothing changed
    status, headers, _ = ann.request("POST", f"/story/{story}/mark", {"what": "read", "csrf": token})
    assert status == 303 and headers["location"] == f"/story/{story}"
    assert desk.sql("SELECT user, story_id FROM reads") == [("ann", story)]
    assert ann.request("POST", "/login", {"name": "ann", "password": PASSWORD, "csrf": "forged"})[0] == 403


def test_sign_in_attempts_are_limited_per_user_and_per_address_and_logged_without_the_password(
        desk, people, caplog):
    attempts = people.server.config.app.state.login.attempts
    now = [1000.0]
    attempts.clock = lambda: now[0]
    client = Client(people.base)
    with caplog.at_level(logging.WARNING, logger="newsmon.web"):
        for _ in range(5):
            assert client.sign_in(password="guess-123")[0] == 401
        status, headers, body = client.sign_in()                          # the right one, too late
        assert status == 429 and 1 <= int(headers["retry-after"]) <= 61 and "Too many failed attempts" in body
        proxy = Client(people.base, source="127.0.0.2")                   # ann from elsewhere: her name is limited
        assert proxy.sign_in()[0] == 429
        assert client.sign_in("bob")[0] == 429                            # bob from here: the address is limited
        assert Client(people.base, source="127.0.0.2").sign_in("bob")[0] == 303   # bob elsewhere: fine
    failures = [r.getMessage() for r in caplog.records if "failed sign-in" in r.getMessage()]
    assert len(failures) == 5 and all("'ann'" in m and "127.0.0.1" in m for m in failures)
    assert not any("guess-123" in r.getMessage() or PASSWORD in r.getMessage() for r in caplog.records)
    now[0] += 61                                                          # a minute later
    assert client.sign_in()[0] == 303


@pytest.mark.both_engines
def test_reading_state_saved_searches_and_their_private_feeds(desk, people):
    ann, truce, page = ann_on_the_truce(desk, people)
    talks = desk.story_of("Ceasefire talks%")
    token = field(page, "csrf")
    assert 'value="read">Mark read<' in page
    for what in ("read", "star"):
        assert ann.request("POST", f"/story/{truce}/mark", {"what": what, "csrf": token})[0] == 303
    _, _, page = ann.request("GET", f"/story/{truce}")
    assert 'value="unread">Mark unread<' in page and 'value="unstar">Unstar<' in page
    _, _, today = ann.request("GET", f"/?date={DAY}")
    assert '<li class="story read">' in today and today.count('class="story read"') == 1
    bob = Client(people.base)
    bob.sign_in("bob")
    assert 'class="story read"' not in bob.request("GET", f"/?date={DAY}")[2]      # ann's marks are hers
    assert ann.request("POST", f"/story/{truce}/mark", {"what": "unread", "csrf": token})[0] == 303
    assert 'class="story read"' not in ann.request("GET", f"/?date={DAY}")[2]      # her page follows at once

    _, _, found = ann.request("GET", "/search?q=ceasefire&topic=ceasefire")
    assert 'action="/searches"' in found
    status, headers, _ = ann.request("POST", "/searches", {"csrf": token, "q": "ceasefire", "topic": "ceasefire",
                                                           "name": "Truce watch", "since": "", "until": ""})
    assert status == 303 and headers["location"] == "/mine#saved"
    _, _, mine = ann.request("GET", "/mine")
    assert "Truce watch" in mine and f'href="/story/{truce}"' in mine            # saved, and her star
    feed_url = field(mine.replace('class="feed" href="', 'name="feed" value="'), "feed").replace("&amp;", "&")
    assert "key=" in feed_url
    reader = Client(people.base)                                                  # a feed reader: no cookie
    status, headers, body = reader.request("GET", urlsplit(feed_url).path + "?" + urlsplit(feed_url).query)
    assert status == 200 and headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(body.encode())
    assert not parsed.bozo and {e.id.rpartition(":")[2] for e in parsed.entries} == {truce, talks}
    key = feed_url.rpartition("key=")[2]
    assert reader.request("GET", f"/feeds/topic/ceasefire.atom?key={key}")[0] == 200   # every feed, with the key
    assert reader.request("GET", f"/feeds/topic/ceasefire.atom?key={key}x")[0] == 401
    saved_id = desk.sql("SELECT id FROM saved_searches")[0][0]
    assert bob.request("GET", f"/feeds/saved/{saved_id}.atom")[0] == 404          # not bob's
    assert ann.request("POST", "/feeds/key", {"csrf": token})[0] == 303            # a new key: the old URL stops
    assert reader.request("GET", f"/feeds/topic/ceasefire.atom?key={key}")[0] == 401
    assert ann.request("POST", f"/searches/{saved_id}/delete", {"csrf": token})[0] == 303
    assert desk.sql("SELECT count(*) FROM saved_searches") == [(0,)]


@pytest.mark.both_engines
def test_today_marks_the_stories_with_a_report_since_the_users_last_visit(desk, site):
    people_config(desk)
    truce, talks = desk.story_of("Local ceasefire%"), desk.story_of("Ceasefire talks%")
    feeds = _publish(site, {"courier": [("talks", "Geneva talks on a ceasefire resume", TALKS[:1] + [
        "Negotiators from both sides arrived on Monday morning, the courier reported."])]})
    users = desk.path.read_text().partition("[[web.users]]")
    config_path = write_config(desk.path.parent, [*[(n, site.url(f"/{n}.xml")) for n in ("wire", "herald")],
                                                     *feeds])
    config_path.write_text(config_path.read_text() + "\n[[web.users]]" + users[2])
    config = load_config(config_path)
    w = Web(config)
    try:
        ann = Client(w.base)
        ann.sign_in()
        html = ann.request("GET", f"/?date={DAY}")[2]
        assert 'badge new' not in html                      # a first visit: nothing to compare with
        desk.clock.now += timedelta(hours=1)
        run_once(config, clock=desk.clock, force=True)   # a report joins the talks at 09:00
        assert desk.story_of("Geneva talks on a ceasefire%") == talks
    finally:
        w.stop()
    # her visit ended at 08:30 (between the two runs); she comes back
    desk.sql("UPDATE visits SET latest = '2026-11-23T08:30:00+00:00' WHERE user = 'ann'")
    w = Web(config)
    try:
        ann.moved_to(w.base)
        html = ann.request("GET", f"/?date={DAY}")[2]
        assert desk.sql("SELECT previous FROM visits WHERE user = 'ann'") == [("2026-11-23T08:30:00+00:00",)]
        item = html[html.index(f'href="/story/{talks}"') - 200:html.index(f'href="/story/{talks}"')]
        assert "badge new" in item
        assert html.count("badge new") == 1 and truce in html
    finally:
        w.stop()


def test_reading_state_waits_for_a_runs_transaction_and_never_holds_it_long(desk, people):
    ann, story, page = ann_on_the_truce(desk, people)
    token = field(page, "csrf")
    writer = sqlite3.connect(desk.config.database, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")                        # a run in the middle of its transaction
    threading.Timer(1.0, lambda: writer.execute("COMMIT")).start()
    started = time.monotonic()
    status = ann.request("POST", f"/story/{story}/mark", {"what": "star", "csrf": token})[0]
    assert status == 303 and time.monotonic() - started >= 0.9       # it waited (busy timeout)...
    assert desk.sql("SELECT user FROM stars") == [("ann",)]       # ...and then wrote
    started = time.monotonic()
    writer.execute("BEGIN IMMEDIATE")                                # the run's next transaction: at once
    writer.execute("COMMIT")
    assert time.monotonic() - started < 0.5
    writer.close()


def test_with_users_any_address_may_be_bound_without_them_only_loopback():
    check_bind("0.0.0.0", people=True)
    with pytest.raises(UsageError, match=r"newsmon web passwd NAME"):
        check_bind("0.0.0.0")
    sock = bound_socket("0.0.0.0", 0, people=True)
    sock.close()


@pytest.mark.both_engines
def test_signed_in_the_api_carries_the_users_marks_beside_the_clis_records_and_saved_searches(desk, people):
    """The API's story records carry read, starred and "new since your last visit" as the pages
    mark them, the shared fields stay `newsmon stories --json`'s; /api/v1/saved-searches lists
    the saved searches with their private feeds; the OpenAPI description names all of it."""
    ann, truce, page = ann_on_the_truce(desk, people)
    talks, rail = desk.story_of("Ceasefire talks%"), desk.story_of("Night train%")
    token = field(page, "csrf")
    for story, what in ((truce, "read"), (talks, "star")):
        assert ann.request("POST", f"/story/{story}/mark", {"what": what, "csrf": token})[0] == 303
    [(first,)] = desk.sql("SELECT min(first_seen) FROM articles")
    before = (datetime.fromisoformat(first) - timedelta(minutes=1)).isoformat()
    desk.sql("UPDATE visits SET previous = ? WHERE user = 'ann'", [before])   # her last visit ended before the run

    def today(client: Client) -> dict:
        status, _, body = client.request("GET", f"/api/v1/today?date={DAY}")
        assert status == 200, body[:300]
        return json.loads(body)

    mine = today(ann)
    marks = {s["story_id"]: (s["read"], s["starred"], s["new"]) for s in mine["stories"]}
    assert marks == {truce: (True, False, False), talks: (False, True, True), rail: (False, False, True)}
    assert datetime.fromisoformat(mine["last_visit"]) == datetime.fromisoformat(before)
    shared = [{k: v for k, v in s.items() if k not in ("read", "starred", "new")} for s in mine["stories"]]
    assert shared == cli_json(desk, "stories", "--date", DAY)["stories"]          # the CLI's records, the same
    html = ann.request("GET", f"/?date={DAY}")[2]                                   # the page shows the same
    assert html.count("badge new") == 2 and html.count('class="story read"') == 1 and html.count("badge star") == 1
    story = json.loads(ann.request("GET", f"/api/v1/stories/{talks}")[2])["story"]
    assert (story["read"], story["starred"], story["new"]) == (False, True, True) and story["id"] == talks
    bob = Client(people.base)
    bob.sign_in("bob")
    assert {(s["read"], s["starred"]) for s in today(bob)["stories"]} == {(False, False)}   # ann's marks are hers
    desk.sql("UPDATE visits SET previous = ? WHERE user = 'ann'", ["2099-01-01T00:00:00+00:00"])
    assert not any(s["new"] for s in today(ann)["stories"])                        # nothing since: nothing new
    proxy = Client(people.base, source="127.0.0.2")       # two of the proxy's users, each a read at the same second
    desk.sql("INSERT INTO reads (user, story_id, at) VALUES ('carol', ?, ?), ('dave', ?, ?)", [truce, first, rail, first])
    for user, story in (("carol", truce), ("dave", rail)):
        status, _, body = proxy.request("GET", f"/api/v1/today?date={DAY}", headers={"X-Remote-User": user})
        assert status == 200 and [s["story_id"] for s in json.loads(body)["stories"] if s["read"]] == [story], user

    assert json.loads(ann.request("GET", "/api/v1/saved-searches")[2]) == {"saved_searches": []}
    ann.request("POST", "/searches", {"csrf": token, "q": "ceasefire", "topic": "ceasefire", "name": "Truce watch"})
    [saved] = json.loads(ann.request("GET", "/api/v1/saved-searches")[2])["saved_searches"]
    assert (saved["name"], saved["query"], saved["filters"]) == ("Truce watch", "ceasefire", {"topic": "ceasefire"})
    assert saved["link"] == "/search?q=ceasefire&topic=ceasefire" and "key=" in saved["feed"]
    feed = urlsplit(saved["feed"])
    status, _, body = Client(people.base).request("GET", f"{feed.path}?{feed.query}")     # a reader, no session
    assert status == 200 and {e.id.rpartition(":")[2] for e in feedparser.parse(body.encode()).entries} == {truce, talks}
    assert json.loads(bob.request("GET", "/api/v1/saved-searches")[2]) == {"saved_searches": []}
    assert Client(people.base).request("GET", "/api/v1/saved-searches")[0] == 401

    spec = json.loads(ann.request("GET", "/api/v1/openapi.json")[2])
    routes = {r.path.replace(":int", "") for r in people.server.config.app.routes if "GET" in r.methods}
    assert {p for p in routes if p.startswith(("/api/v1/", "/feeds/"))} == set(spec["paths"])
    assert set(spec["components"]["schemas"]["Yours"]["properties"]) == {"read", "starred", "new"}
    today_schema = spec["paths"]["/api/v1/today"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert today_schema["properties"]["stories"]["items"] == {"$ref": "#/components/schemas/DigestStory"}
