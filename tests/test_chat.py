"""What reaches a chat channel: feed text that no service reads as markup, alert words matched as
topic terms are, and Apprise kept quiet under -q. Payloads are captured where they leave:
at an HTTP receiver on 127.0.0.1 (JSON and ntfy), and, for services Apprise only posts to on the
internet (Slack, Discord, Telegram, Matrix), at `requests`' door, the internet being the one thing
replaced."""

from __future__ import annotations

import json

import pytest
import requests
from conftest import newsmon, write_config
from test_alerts import Receiver, _baseline, _site

from pipeline.app.notify import notify_now, send
from pipeline.app.pipeline import run_once
from pipeline.channels import ChannelConfig, inert
from pipeline.config import load_config

HOSTILE = ("<!channel> read <https://evil.example/login|the signed agreement> @everyone @here <@123456> "
           "**now** [terms](https://evil.example/x) `code` & more > quote _under_ ~strike~ @room")


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


class _Captured:
    """What Apprise handed to `requests` (URL, JSON payload), answered with a 200."""

    def __init__(self):
        self.calls: list[dict] = []

    def request(self, method, url, data=None, json=None, **kwargs):
        return self(url, data=data, json=json)

    def __call__(self, url, data=None, json=None, **kwargs):
        import json as json_module

        payload = json if json is not None else (json_module.loads(data) if data else None)
        self.calls.append({"url": url, "payload": payload})
        response = requests.models.Response()
        response.status_code = 200
        response._content = b"ok" if "slack.com" in url else b'{"ok": true, "result": {}, "event_id": "$1", "room_id": "!r:x", "access_token": "t"}'
        return response


@pytest.fixture
def internet(monkeypatch) -> _Captured:
    captured = _Captured()
    monkeypatch.setattr(requests, "post", captured)
    monkeypatch.setattr(requests, "put", captured)
    monkeypatch.setattr(requests, "request", captured.request)
    monkeypatch.setattr(requests.Session, "post", lambda self, *a, **k: captured(*a, **k))
    return captured


def _sent(internet: _Captured, url: str) -> dict:
    send(ChannelConfig("desk", url, None, (), ("alerts",)), "Alert: " + HOSTILE, HOSTILE)
    return internet.calls[-1]["payload"]


def test_slack_gets_entities_so_no_channel_ping_and_no_disguised_link(internet):
    payload = _sent(internet, "slack://T1ABCDEFG/B1ABCDEFG/abcdefghijklmnopqrstuvwx")
    attachment = payload["attachments"][0]
    for text in (attachment["title"], attachment["text"]):
        assert "<" not in text and ">" not in text                       # no <!channel>, <url|text>, <@U1>
        assert "&lt;!channel&gt;" in text and "&lt;https://evil.example/login|the signed agreement&gt;" in text
        assert "&amp; more" in text and "&amp;amp;" not in text           # escaped once, not twice
    assert payload["mrkdwn"] is False                                    # **now** is not bold


def test_slack_block_kit_gets_the_text_as_written_in_plain_text_blocks(internet):
    payload = _sent(internet, "slack://T1ABCDEFG/B1ABCDEFG/abcdefghijklmnopqrstuvwx?blocks=yes")
    header, section = payload["attachments"][0]["blocks"][:2]
    assert header["text"] == {"type": "plain_text", "text": "Alert: " + HOSTILE, "emoji": True}
    assert section["text"] == {"type": "plain_text", "text": HOSTILE}     # parsed by nothing: shown as is


def test_discord_gets_no_mention_and_no_markdown(internet):
    payload = _sent(internet, "discord://4815162342/abcdefghijklmnopqrstuvwxyz")
    content = payload["content"]
    assert "@everyone" not in content and "@here" not in content and "<@123456>" not in content
    assert "allow_mentions" not in payload and "👉" not in content      # Apprise found nothing to ping
    assert r"\*\*now\*\*" in content and r"\[terms\](https://evil.example/x)" in content
    assert r"\`code\`" in content and r"\_under\_" in content and r"\~strike\~" in content
    assert "https://evil.example/login|the" in content                  # a URL stays whole, and shown


def test_telegram_gets_its_html_escaped(internet):
    """Apprise posts plain text to Telegram with parse_mode HTML, unescaped: newsmon escapes it."""
    payload = _sent(internet, "tgram://123456789:ABCdefGhIJKlmnoPQRsTUVwxyZ/987654321")
    assert payload["parse_mode"] == "HTML"
    assert "<" not in payload["text"] and ">" not in payload["text"].replace("&gt;", "")
    assert payload["text"].count("&lt;!channel&gt;") == 2 and "&amp; more" in payload["text"]


def test_matrix_gets_no_room_ping(internet):
    payload = _sent(internet, "matrix://newsmon:pw123456@matrix.example.org/#desk?mode=off")
    bodies = [json.dumps(c["payload"]) for c in internet.calls if c["payload"]]
    message = next(b for b in bodies if "signed agreement" in b)
    assert payload is not None and "@room" not in message and "m.text" in message


@pytest.mark.parametrize("scheme", ["json", "ntfy"])
def test_webhooks_get_the_text_exactly_as_written(receiver, scheme):
    """JSON and ntfy carry text, not markup: nothing to escape, and nothing escaped."""
    url = receiver.url if scheme == "json" else f"ntfy://127.0.0.1:{receiver.port}/desk"
    send(ChannelConfig("desk", url, None, (), ("alerts",)), "Alert: " + HOSTILE, HOSTILE)
    [got] = receiver.received
    assert got["message"] == HOSTILE and got["title"] == "Alert: " + HOSTILE


@pytest.mark.parametrize("scheme, expected", [
    ("slack", "&lt;!channel&gt; &amp; a"),
    ("discord", "\\<!channel\\> & a"),
    ("mmost", "\\<!channel\\> & a"),
    ("matrix", "<!channel> & a"),
    ("tgram", "&lt;!channel&gt; &amp; a"),
    ("json", "<!channel> & a"),
])
def test_inert_escapes_what_each_service_reads_as_markup(scheme, expected):
    assert inert("<!channel> & a", scheme) == expected


def test_a_feed_title_reaches_slack_through_a_run_as_plain_text(site, tmp_path, seeds_dir, clock, internet):
    """End to end: a hostile title in a feed, a run, the alert posted to Slack."""
    body = ["A local ceasefire held for six hours on Monday around the plant, the operator said.",
            "Inspectors accompanied the engineers; nobody was hurt."]
    feeds = _site(site, (("truce", "Ceasefire <!channel> <https://evil.example/login|read the signed agreement>",
                          body),))
    config = load_config(write_config(tmp_path, feeds, extra='''
[[channels]]
name = "desk"
url = "slack://T1ABCDEFG/B1ABCDEFG/abcdefghijklmnopqrstuvwx"

[[alerts]]
topics = ["ceasefire"]
'''))
    _baseline(site, lambda: run_once(config, clock=clock, force=True))   # a first reading is no news
    run_once(config, clock=clock, force=True)
    [delivered] = notify_now(config, clock())
    assert delivered.sent == 1
    attachment = internet.calls[-1]["payload"]["attachments"][0]
    assert "&lt;!channel&gt; &lt;https://evil.example/login|read the signed agreement&gt;" in attachment["text"]
    assert "<!channel>" not in attachment["text"] + attachment["title"]


# --- alert words are matched as topic terms ---------------------------------------------------

STORIES = (
    ("bakery", "Senator Donato opens a bakery in Ohio",
     ["Senator Donato cut the ribbon at a new bakery in Columbus on Monday, his office said.",
      "The bakery will sell bread and pastries from Tuesday."]),
    ("ministers", "NATO defence ministers meet in Brussels",
     ["NATO defence ministers met in Brussels on Monday to discuss air defence for Ukraine.",
      "The meeting lasted four hours, officials said."]),
    ("floods", "Floods cut roads in the Northern Territory",
     ["Floods cut roads across the Northern Territory on Monday, police said.",
      "Residents were told to stay home."]),
    ("lines", "Troops cross into disputed territories overnight",
     ["Troops crossed into disputed territories overnight, the defence ministry said on Monday.",
      "Talks are planned for Friday."]),
)


def test_alert_terms_are_whole_words_with_variants_and_excludes(site, tmp_path, seeds_dir, clock, receiver):
    """`terms = ["NATO"]` does not alert on "Senator Donato"; `territor*` takes its endings;
    an `exclude` phrase hides its matches, as for a topic."""
    config = load_config(write_config(tmp_path, _site(site, STORIES), extra=f'''
[[channels]]
name = "desk"
url = "{receiver.url}"

[[alerts]]
name = "nato"
terms = ["NATO"]

[[alerts]]
name = "land"
terms = ["territor*"]
exclude = ["Northern Territory"]
'''))
    _baseline(site, lambda: run_once(config, clock=clock, force=True))
    run_once(config, clock=clock, force=True)
    notify_now(config, clock())
    got = sorted((m["message"].splitlines()[-1].split(" story ")[0], m["message"].splitlines()[0])
                 for m in receiver.received)
    assert got == [("newsmon land", "Troops cross into disputed territories overnight"),
                   ("newsmon nato", "NATO defence ministers meet in Brussels")]


# --- quiet means quiet ------------------------------------------------------------------------

def test_apprise_info_lines_are_not_printed_under_quiet(tmp_path, seeds_dir, receiver):
    path = write_config(tmp_path, [], extra=f'''
[[channels]]
name = "desk"
url = "{receiver.url}"
''')
    quiet = newsmon("-q", "channels", "test", "desk", "--config", str(path))
    assert quiet.returncode == 0 and len(receiver.received) == 1
    assert quiet.stderr == ""
    loud = newsmon("channels", "test", "desk", "--config", str(path))
    assert "INFO" in loud.stderr                                        # the line exists, and -q hides it
