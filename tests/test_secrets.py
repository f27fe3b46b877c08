"""Channel secrets and what a chat service says back, through real parts: Apprise posting to an
HTTP receiver on 127.0.0.1 that refuses, fails or is down and quotes what it was sent in its
error; real SQLite files and digests; `newsmon` as a subprocess for the CLI.

The rule under test (docs/security.md, "Security model"): every configured secret is masked in everything
newsmon prints, logs, stores or writes, in every form it can take there (as written,
percent-encoded, JSON- or HTML-escaped); a service's error text is sanitised where it enters.
"""

from __future__ import annotations

import base64
import html
import http.server
import io
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote

import pytest
from click.testing import CliRunner
from conftest import write_config
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_alerts import _baseline

from pipeline.app.notify import NotifyError, notify_now, send
from pipeline.app.pipeline import run_once
from pipeline.app.report import render_day
from pipeline.channels import ChannelConfig
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.demo.site import FeedItem, article_page, rss_feed
from pipeline.logs import TextFormatter
from pipeline.sanitize import SECRETS

HOSTILE = "\x1b]0;pwned\x07\x1b[31mred\x9b2J\u202eevil"      # OSC, CSI, 8-bit CSI, bidi override
TOPIC = "duty-phone-7Qx2"                     # an ntfy topic: the secret of an ntfy channel
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


class Receiver:
    """A chat service on 127.0.0.1 that records each request (path, basic-auth credentials,
    JSON body) and answers `status`; when it refuses, its error quotes what it was sent (the
    path, the password) and hostile terminal text, as a careless service might. `down()` closes
    the port."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                auth = self.headers.get("authorization", "")
                user_password = base64.b64decode(auth[6:]).decode() if auth.startswith("Basic ") else None
                outer.requests.append({"path": self.path, "auth": user_password, "json": json.loads(body)})
                said = json.dumps({"code": outer.status, "http": outer.status,
                                   "error": f"refused {unquote(self.path)} for {user_password} {HOSTILE}"}).encode()
                self.send_response(outer.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(said)))
                self.end_headers()
                self.wfile.write(said)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.down()


def forms(secret: str) -> set[str]:
    """Every way a secret could be written into output: as is, percent-encoded (three ways),
    JSON- and HTML-escaped, and as the basic-auth header value carrying it."""
    return {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), json.dumps(secret)[1:-1],
            html.escape(secret), html.escape(secret, quote=False),
            base64.b64encode(f"newsmon:{secret}".encode()).decode()}


def leaks(secret: str, outputs: dict[str, str | bytes]) -> list[str]:
    """(where, which form) for every form of the secret found in any output."""
    found = []
    for where, text in outputs.items():
        for form in forms(secret):
            if (form.encode() if isinstance(text, bytes) else form) in text:
                found.append(f"{where}: {form!r}")
    return found


def files_of(config) -> dict[str, str | bytes]:
    """Every file newsmon wrote (the database and its WAL as bytes, the digests), and every text
    value of every table of the database."""
    out: dict[str, str | bytes] = {}
    for folder in (config.database.parent, config.digest_dir):
        for path in sorted(folder.rglob("*")) if folder.exists() else ():
            if path.is_file():
                out[str(path)] = path.read_bytes()
    with sqlite3.connect(config.database) as db:
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            values = [v for row in db.execute(f'SELECT * FROM "{table}"') for v in row if isinstance(v, str)]
            out[f"table {table}"] = "\n".join(values)
    return out


def shows_terminal_text(outputs: dict[str, str | bytes]) -> list[tuple[str, str]]:
    """(where, character) for every escape or bidi override in a text output (a database's bytes
    hold 0x1b and 0x9b as numbers: its text is read from its tables)."""
    return [(where, ch) for where, text in outputs.items() if isinstance(text, str) for ch in "\x1b\x9b\u202e"
            if ch in text]


CHANNELS = '''
[[channels]]
name = "desk"
url = "json://newsmon:{{password}}@127.0.0.1:{port}/hook?token=Tk-{token}"
password_env = "NEWSMON_TEST_SECRET"
receives = ["alerts", "digest"]

[[channels]]
name = "phone"
url = "ntfy://127.0.0.1:{port}/{{password}}"
password_env = "NEWSMON_TEST_TOPIC"

[[alerts]]
name = "ceasefire"
topics = ["ceasefire"]
'''

TRUCE = ["A local ceasefire held for six hours on Monday around the Zaporizhzhia plant, letting "
         "repair crews reach a damaged line near Enerhodar, the operator said.",
         "Inspectors accompanied the engineers. Shelling resumed in the evening; nobody was hurt."]


def _feeds(site) -> list[tuple[str, str]]:
    site.routes["/truce"] = article_page("Local ceasefire lets engineers reach the plant", "Wire", "2026-11-23", TRUCE)
    site.routes["/w.xml"] = rss_feed("W", site.base, [FeedItem("Local ceasefire lets engineers reach the plant",
                                                                site.url("/truce"), "truce", "2026-11-23T06:00:00Z",
                                                                TRUCE[0])])
    return [("wire", site.url("/w.xml"))]


# --- substituted secrets are percent-encoded -------------------------------------------------

@pytest.mark.parametrize("secret", ["Zq8/k+Tw==", "pa#ss", "p@ss:w%rd", "a b?c&d=e"])
@pytest.mark.parametrize("scheme", ["json", "ntfy"])
def test_a_secret_with_url_characters_reaches_the_service_as_written(receiver, monkeypatch, secret, scheme):
    monkeypatch.setenv("NEWSMON_TEST_SECRET", secret)
    path = "hook" if scheme == "json" else "desk-topic"
    channel = ChannelConfig("desk", f"{scheme}://newsmon:{{password}}@127.0.0.1:{receiver.port}/{path}",
                            "NEWSMON_TEST_SECRET", (), ("alerts",))
    send(channel, "newsmon test message", "body")
    [request] = receiver.requests
    assert request["auth"] == f"newsmon:{secret}"
    assert request["json"]["title"] == "newsmon test message" and request["json"]["message"] == "body"


# --- a refusing, failing or absent service never shows the secret ----------------------------

def _in_process_outputs(config) -> dict[str, str | bytes]:
    """Every failure path, in process: a run's alerts and chat digest sent to a service that
    refuses (or is down), the day's digests written, `channels test`, `config check --probe` and
    `status --json` (click's runner), with the log lines a run prints at debug level."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        deliveries = notify_now(config, NOW.replace(hour=9))
        render_day(config, date(2026, 11, 23), NOW.replace(hour=9))
        runner = CliRunner()
        cli = {args[0] + " " + args[1]: runner.invoke(main, [*args, "--config", str(config.path)])
               for args in (("channels", "test", "desk"), ("channels", "test", "phone"),
                            ("config", "check", "--probe"), ("status", "--json"))}
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert any(d.errors or d.failed for d in deliveries), deliveries        # the failure path was taken
    assert cli["channels test"].exit_code == 1
    outputs: dict[str, str | bytes] = {"log": stream.getvalue(), "deliveries": repr(deliveries)}
    for name, result in cli.items():
        outputs[name] = result.output
        outputs[name + " (exception)"] = repr(result.exception)
    status = json.loads(cli["status --json"].output)
    outputs["status --json, decoded"] = json.dumps(status, ensure_ascii=False)
    outputs.update(files_of(config))
    return outputs


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory):
    """One run's database (a story that alerts), made once; each example gets a copy."""
    from pipeline.demo.server import LoopbackSite

    folder = tmp_path_factory.mktemp("stored")
    shutil.copytree(Path(__file__).resolve().parent.parent / "seeds", folder / "seeds")
    with LoopbackSite() as site:
        # a channel for alerts already configured, so the alert pass's mark stays for the examples'
        # channels (a channel added later starts from then), and the feed read once before its
        # story arrives (a first reading is a baseline, never an alert)
        config = load_config(write_config(folder, _feeds(site), extra=UNREACHABLE))
        _baseline(site, lambda: run_once(config, clock=lambda: NOW.replace(hour=7), force=True))
        run_once(config, clock=lambda: NOW, force=True)
    return folder


UNREACHABLE = '''
[[channels]]
name = "archive"
url = "json://127.0.0.1:9/hook"
receives = ["alerts"]
'''


# Secrets as an operator might set them: any characters but controls and line breaks, no
# surrounding space; not made only of what dates and numbers are made of ("2026-11-23T08:00"
# is in every digest whether or not it is someone's password).
SECRET_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
                      min_size=6, max_size=24).filter(
    lambda s: s.strip() == s and len(set(s)) > 2 and not re.fullmatch(r"[\d\s:.,+\-/TZ]*", s))


@settings(max_examples=20 if os.environ.get("NEWSMON_FUZZ_PROFILE") != "fuzz" else 200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(secret=st.one_of(st.sampled_from(["Zq8/k+Tw==", "pa#ss", "p@ss:w%rd", "hunter2-xyzzy"]), SECRET_TEXT),
       answer=st.sampled_from([401, 500, None]))
def test_no_generated_secret_reaches_any_output_file_or_table(stored_run, tmp_path_factory, secret, answer):
    """Property: whatever the secret and however the service fails, none of its forms is in the
    log, the run's deliveries, `channels test`, `config check --probe`, `status --json`, any
    digest file, or the SQLite file's bytes. A secret that is already in those outputs when it is
    not the secret (a word such as "finish", part of "finished") cannot be told from a leak, so
    such an example is discarded: what is checked is what the secret adds."""
    if answer not in _WITHOUT_IT:
        _WITHOUT_IT[answer] = _outputs(stored_run, tmp_path_factory, "Kq3#unrelated-Vw9", answer)
    assume(not leaks(secret, _WITHOUT_IT[answer]))
    outputs = _outputs(stored_run, tmp_path_factory, secret, answer)
    assert not leaks(secret, outputs) and not leaks(TOPIC, outputs)
    assert not shows_terminal_text(outputs)


_WITHOUT_IT: dict = {}     # the outputs of each kind of failure with another secret: the words a secret must not be


def _outputs(stored_run, tmp_path_factory, secret: str, answer) -> dict[str, str | bytes]:
    """Every output of a copy of the stored run with this secret set and the service answering
    `answer` (None: down)."""
    SECRETS.clear()
    receiver = Receiver()
    folder = tmp_path_factory.mktemp("example")
    shutil.copytree(stored_run / "data", folder / "data")
    shutil.copytree(stored_run / "seeds", folder / "seeds")
    text = (stored_run / "newsmon.toml").read_text() + CHANNELS.format(port=receiver.port, token=quote(secret[:5]))
    (folder / "newsmon.toml").write_text(text)
    os.environ["NEWSMON_TEST_SECRET"], os.environ["NEWSMON_TEST_TOPIC"] = secret, TOPIC
    try:
        if answer is None:
            receiver.down()
        else:
            receiver.status = answer
        return _in_process_outputs(load_config(folder / "newsmon.toml"))
    finally:
        del os.environ["NEWSMON_TEST_SECRET"], os.environ["NEWSMON_TEST_TOPIC"]
        if answer is not None:
            receiver.down()


def test_the_cli_never_shows_a_secret_nor_a_services_terminal_text(site, tmp_path, seeds_dir, receiver):
    """The same through `newsmon` as cron runs it: a run whose channels are refused (500, with an
    error quoting the secret and carrying escapes and U+202E), `channels test`, `config check
    --probe`, `status --json`, the digests and the database."""
    secret = "p@ss:w%rd/Zq8+Tw=="
    receiver.status = 500
    config_path = write_config(tmp_path, _feeds(site), extra=CHANNELS.format(port=receiver.port, token="abc12"))
    env = {**os.environ, "NEWSMON_TEST_SECRET": secret, "NEWSMON_TEST_TOPIC": TOPIC}
    _baseline(site, lambda: subprocess.run([sys.executable, "-m", "pipeline", "-q", "run", "--force", "--config",
                                            str(config_path)], capture_output=True, timeout=180, env=env))
    results = {" ".join(args): subprocess.run([sys.executable, "-m", "pipeline", *args, "--config", str(config_path)],
                                              capture_output=True, text=True, timeout=180, env=env)
               for args in (("-v", "run", "--force"), ("channels", "test", "desk"), ("channels", "test", "phone"),
                            ("config", "check", "--probe"), ("status", "--json"))}
    assert results["-v run --force"].returncode == 0, results["-v run --force"].stderr
    assert results["channels test desk"].returncode == 1
    assert "pending, retried next run" in results["-v run --force"].stderr
    assert receiver.requests and {r["auth"] for r in receiver.requests if r["auth"]} == {f"newsmon:{secret}"}
    outputs: dict[str, str | bytes] = {}
    for name, result in results.items():
        outputs[name + " stdout"], outputs[name + " stderr"] = result.stdout, result.stderr
    status = json.loads(results["status --json"].stdout)
    assert {c["name"]: bool(c["last_error"]) for c in status["channels"]} == {"desk": True, "phone": True}
    assert "***" in status["channels"][1]["last_error"]                          # the ntfy topic, masked
    outputs["status decoded"] = json.dumps(status, ensure_ascii=False)
    config = load_config(config_path)
    outputs.update(files_of(config))
    assert any(name.endswith(".md") for name in outputs) and any(name.endswith(".db") for name in outputs)
    assert not leaks(secret, outputs) and not leaks(TOPIC, outputs) and not leaks("Tk-abc12", outputs)
    assert not shows_terminal_text(outputs)


def test_loading_the_config_registers_every_secret_it_names(tmp_path, monkeypatch):
    """What the config names as secret is masked from the moment it is loaded: each password_env
    value (channels and [email]), a URL's password, a token-like query value; not a mode word."""
    monkeypatch.setenv("NEWSMON_TEST_SECRET", "from-the-environment")
    monkeypatch.setenv("NEWSMON_SMTP_PASSWORD", "smtp-password-1")
    (tmp_path / "seeds").mkdir()
    load_config(write_config(tmp_path, [], extra='''
[email]
password_env = "NEWSMON_SMTP_PASSWORD"

[[channels]]
name = "desk"
url = "ntfy://newsmon:written-in-the-file@127.0.0.1/{password}?auth=basic&apikey=key-in-the-query"
password_env = "NEWSMON_TEST_SECRET"
'''))
    for secret in ("from-the-environment", "smtp-password-1", "written-in-the-file", "key-in-the-query"):
        assert secret in SECRETS and quote(secret, safe="") in SECRETS
    assert "basic" not in SECRETS and "newsmon" not in SECRETS


def test_a_url_that_apprise_cannot_read_is_not_printed_with_its_secret(tmp_path, monkeypatch):
    """`channels test` and `config check --probe` on a URL Apprise refuses: Apprise logs the URL
    whole; the secret in it is masked."""
    monkeypatch.setenv("NEWSMON_TEST_SECRET", "Zq8/k+Tw==")
    (tmp_path / "seeds").mkdir()
    path = write_config(tmp_path, [], extra='''
[[channels]]
name = "desk"
url = "json://newsmon:{password}@/hook"
password_env = "NEWSMON_TEST_SECRET"
''')
    runner = CliRunner()
    for args in (("channels", "test", "desk"), ("config", "check", "--probe")):
        result = runner.invoke(main, [*args, "--config", str(path)])
        assert result.exit_code != 0 and "Unparseable JSON URL json://newsmon:***@/hook" in result.output
        assert not leaks("Zq8/k+Tw==", {"output": result.output})


def test_a_secret_only_apprise_knows_is_masked_once_apprise_is_given_the_url(monkeypatch):
    """A Discord webhook token written in the URL itself (no password_env): Apprise's privacy form
    hides it, so it is registered before Apprise can quote it."""
    channel = ChannelConfig("desk", "discord://4815162342/WebhookTokenZ9q8", None, (), ("alerts",))
    monkeypatch.setattr("requests.post", lambda *a, **k: (_ for _ in ()).throw(
        ConnectionError("cannot reach https://discord.com/api/webhooks/4815162342/WebhookTokenZ9q8")))
    with pytest.raises(NotifyError) as raised:
        send(channel, "t", "b")
    assert "WebhookTokenZ9q8" not in raised.value.message and "WebhookTokenZ9q8" in SECRETS


def test_a_mail_server_quoting_the_smtp_password_does_not_show_it(tmp_path, monkeypatch):
    """[email] password_env is a secret too: a server whose refusal quotes the password (and
    carries terminal escapes) is shown with both gone, by `config check --probe`."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult
    from smtp import Inbox, free_port

    password = "Zq8/k+Tw==smtp"
    monkeypatch.setenv("NEWSMON_SMTP_PASSWORD", password)

    def authenticate(server, session, envelope, mechanism, auth_data):
        said = auth_data.password.decode()
        return AuthResult(success=False, handled=False, message=f"535 5.7.8 wrong password {said} {HOSTILE}")

    port = free_port()
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port, authenticator=authenticate,
                            auth_required=True, auth_require_tls=False)
    controller.start()
    try:
        (tmp_path / "seeds").mkdir()
        path = write_config(tmp_path, [], extra=f'''
[email]
enabled = true
host = "127.0.0.1"
port = {port}
security = "none"
username = "newsmon"
password_env = "NEWSMON_SMTP_PASSWORD"
from = "newsmon@example.org"

[[email.recipients]]
address = "desk@example.org"
''')
        result = CliRunner().invoke(main, ["config", "check", "--probe", "--config", str(path)])
    finally:
        controller.stop()
    assert result.exit_code == 2 and "refused the login (535 5.7.8 wrong password ***" in result.output
    assert not leaks(password, {"output": result.output})
    assert not shows_terminal_text({"output": result.output})


def test_config_check_refuses_a_secret_too_short_to_mask(tmp_path, monkeypatch):
    """A 3-character secret cannot be masked without masking ordinary text: `config check` says so."""
    monkeypatch.setenv("NEWSMON_TEST_SECRET", "abc")
    (tmp_path / "seeds").mkdir()
    path = write_config(tmp_path, [], extra='''
[[channels]]
name = "desk"
url = "ntfy://127.0.0.1:9/{password}"
password_env = "NEWSMON_TEST_SECRET"
''')
    result = CliRunner().invoke(main, ["config", "check", "--config", str(path)])
    assert result.exit_code == 2
    assert "[[channels]] desk password_env: the value of NEWSMON_TEST_SECRET is shorter than 4" in result.output
    monkeypatch.setenv("NEWSMON_TEST_SECRET", "abcd")
    assert CliRunner().invoke(main, ["config", "check", "--config", str(path)]).exit_code == 0
