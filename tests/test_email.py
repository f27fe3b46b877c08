"""Email delivery to a real SMTP server (aiosmtpd) on 127.0.0.1: parts, headers, topic filters,
exactly-once across reruns, outages, downtime, STARTTLS and authentication failures."""

from __future__ import annotations

import ssl
from datetime import timedelta

import pytest
import trustme
from conftest import open_store
from smtp import SMTPServer, free_port
from world import serve_world

from pipeline.app.deliver import deliver_due
from pipeline.app.pipeline import run_once
from pipeline.demo.site import FeedItem, article_page, rss_feed

pytestmark = pytest.mark.both_engines  # each test on SQLite and on PostgreSQL (conftest: engine)


def email_section(port: int, security: str = "none", extra: str = "") -> str:
    return f"""
[email]
enabled = true
host = "127.0.0.1"
port = {port}
security = "{security}"
from = "newsmon <newsmon@example.org>"
send_at = "07:00"
timeout_seconds = 5
{extra}
[[email.recipients]]
address = "desk@example.org"
topics = ["nato", "ceasefire"]

[[email.recipients]]
address = "All Hands <all@example.org>"
"""


def deliver(config, clock, **kw):
    store = open_store(config)
    try:
        return deliver_due(store, config, clock(), config.labels, **kw)
    finally:
        store.close()


@pytest.fixture
def world_config(site, make_config):
    feeds = serve_world(site)
    return lambda email: make_config(list(feeds.items()), extra=email)


def nato_labelled(port: int, label_toml: str) -> str:
    """An email section whose desk gets only a NATO topic with this (TOML-quoted) label."""
    extra = email_section(port).replace('topics = ["nato", "ceasefire"]', 'topics = ["nato"]')
    return extra + f'\n[topics.nato]\nlabel = {label_toml}\nterms = ["NATO"]\n'


def test_non_ascii_labels_are_encoded_in_the_subject(site, make_config, clock):
    feeds = serve_world(site)
    with SMTPServer() as smtp:
        config = make_config(list(feeds.items()), extra=nato_labelled(smtp.port, '"НАТО / OTAN"'))
        run_once(config, clock=clock)
        deliver(config, clock)
        raw = smtp.inbox.messages[0][2]
        assert all(b < 128 for b in raw.split(b"\r\n\r\n", 1)[0])     # headers stay 7-bit (RFC 2047)
        assert "НАТО / OTAN 1" in smtp.inbox.parsed()[0]["Subject"]


def test_due_email_goes_once_to_each_recipient_with_both_parts(world_config, clock):
    with SMTPServer() as smtp:
        config = world_config(email_section(smtp.port))
        run_once(config, clock=clock)            # 08:00 UTC = 10:00 in Kyiv: past send_at
        outcomes = deliver(config, clock)
        assert [(o.recipient, o.status) for o in outcomes] == [
            ("desk@example.org", "sent"), ("All Hands <all@example.org>", "sent")]
        assert len(smtp.inbox.messages) == 2
        desk, everyone = smtp.inbox.parsed()
        assert smtp.inbox.messages[0][1] == ["desk@example.org"]
        assert smtp.inbox.messages[1][1] == ["all@example.org"]
        for msg in (desk, everyone):
            assert msg.get_content_type() == "multipart/alternative"
            assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
            assert msg["Message-ID"].endswith("@example.org>") and msg["Date"]
            assert msg["Subject"].startswith("News digest 2026-11-23: ")
        assert "NATO 1 · Ceasefire 2" in desk["Subject"] and "Territory" not in desk["Subject"]
        desk_text = desk.get_body(("plain",)).get_content()
        assert "Ministers meet in Oslo" in desk_text and "Sunflower harvest" not in desk_text
        all_html = everyone.get_body(("html",)).get_content()
        assert "Sunflower harvest" in all_html

        # a rerun, the daemon or `digest --send`: nothing goes twice
        clock.now += timedelta(hours=3)
        run_once(config, clock=clock, force=True)
        assert {o.status for o in deliver(config, clock)} == {"sent"}
        assert {o.status for o in deliver(config, clock, send_now=True)} == {"sent"}
        assert len(smtp.inbox.messages) == 2


def test_nothing_goes_before_send_at(world_config, clock):
    with SMTPServer() as smtp:
        config = world_config(email_section(smtp.port))
        clock.now = clock.now.replace(hour=4)    # 06:00 in Kyiv
        run_once(config, clock=clock)
        assert {o.status for o in deliver(config, clock)} == {"not_due"}
        assert smtp.inbox.messages == []


def test_an_outage_keeps_the_email_pending_and_the_next_run_sends_it(world_config, clock):
    port = free_port()
    config = world_config(email_section(port))
    run_once(config, clock=clock)
    [desk, everyone] = deliver(config, clock)
    assert desk.status == "pending" and "cannot reach the mail server" in desk.error
    with SMTPServer(port=port) as smtp:          # the mail server is back
        clock.now += timedelta(minutes=15)
        assert [o.status for o in deliver(config, clock)] == ["sent", "sent"]
        assert [o.status for o in deliver(config, clock)] == ["sent", "sent"]
        assert len(smtp.inbox.messages) == 2


def test_after_downtime_one_late_email_covers_the_gap(world_config, clock, site):
    with SMTPServer() as smtp:
        config = world_config(email_section(smtp.port))
        run_once(config, clock=clock)
        assert [o.status for o in deliver(config, clock)] == ["sent", "sent"]
        first = len(smtp.inbox.messages)
        clock.now += timedelta(days=3)           # the machine was off for three days; news went on
        site.routes["/a/truce"] = article_page("Truce talks resume in Geneva", "Daily A", "2026-11-26",
                                               ["Negotiators met again in Geneva to discuss a ceasefire along the "
                                                "front line, the first talks since the summer.",
                                                "Both delegations said the talks would continue next week."])
        site.routes["/a/rss.xml"] = rss_feed("Daily A", site.base + "/a/", [
            FeedItem("Truce talks resume in Geneva", site.url("/a/truce"), "a-9", "2026-11-26T06:00:00Z",
                     "Negotiators met again in Geneva to discuss a ceasefire.")])
        run_once(config, clock=clock, force=True)
        outcomes = deliver(config, clock)
        assert [(o.status, o.late) for o in outcomes] == [("sent", True), ("sent", True)]
        late_msgs = smtp.inbox.parsed()[first:]
        assert len(late_msgs) == 2                # one per recipient, never one per missed day
        for msg in late_msgs:
            assert msg["Subject"].endswith("(late)")
            body = msg.get_body(("plain",)).get_content()
            assert "covers the whole gap" in body and "Truce talks resume in Geneva" in body
            # the period runs from the end of the last email, three days back, to now
            assert "2026-11-23 10:00 - 2026-11-26 10:00" in body


def test_a_crash_after_the_server_accepted_can_only_repeat_the_same_message(world_config, clock):
    with SMTPServer() as smtp:
        config = world_config(email_section(smtp.port))
        run_once(config, clock=clock)
        deliver(config, clock)
        store = open_store(config)
        # the server said 250, then newsmon died before recording it
        store.conn.execute("UPDATE emails SET status = 'pending' WHERE recipient = 'desk@example.org'")
        store.close()
        deliver(config, clock)
        sent_to_desk = [m for _, to, m in smtp.inbox.messages if to == ["desk@example.org"]]
        assert len(sent_to_desk) == 2 and sent_to_desk[0] == sent_to_desk[1]


def test_authentication_failure_names_the_settings_to_fix(world_config, clock, monkeypatch):
    monkeypatch.setenv("NEWSMON_SMTP_PASSWORD", "wrong")
    with SMTPServer(users={"newsmon": "right"}) as smtp:
        config = world_config(email_section(smtp.port, extra='username = "newsmon"\npassword_env = "NEWSMON_SMTP_PASSWORD"'))
        run_once(config, clock=clock)
        outcome = deliver(config, clock)[0]
        assert outcome.status == "failed"
        assert "refused the login (535" in outcome.error
        assert "[email] username and the password in $NEWSMON_SMTP_PASSWORD" in outcome.error
        assert smtp.inbox.messages == []
        monkeypatch.setenv("NEWSMON_SMTP_PASSWORD", "right")   # the operator fixes it
        assert [o.status for o in deliver(config, clock)] == ["sent", "sent"]


@pytest.fixture
def tls(tmp_path):
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return server_context, ca_file


def test_starttls_with_a_private_ca_and_authentication(world_config, clock, tls, monkeypatch):
    server_context, ca_file = tls
    monkeypatch.setenv("NEWSMON_SMTP_PASSWORD", "s3cret")
    with SMTPServer(tls_context=server_context, users={"newsmon": "s3cret"}) as smtp:
        config = world_config(email_section(smtp.port, "starttls",
                                            f'username = "newsmon"\npassword_env = "NEWSMON_SMTP_PASSWORD"\nca_file = "{ca_file}"'))
        run_once(config, clock=clock)
        assert [o.status for o in deliver(config, clock)] == ["sent", "sent"]
        assert len(smtp.inbox.messages) == 2


def test_starttls_never_skips_certificate_verification(world_config, clock, tls):
    server_context, _ = tls
    with SMTPServer(tls_context=server_context) as smtp:
        config = world_config(email_section(smtp.port, "starttls"))
        run_once(config, clock=clock)
        outcome = deliver(config, clock)[0]
        assert outcome.status == "failed" and "TLS failed" in outcome.error and "ca_file" in outcome.error
        assert smtp.inbox.messages == []


def test_header_injection_through_labels_is_impossible(site, make_config, clock):
    feeds = serve_world(site)
    with SMTPServer() as smtp:
        config = make_config(list(feeds.items()),
                             extra=nato_labelled(smtp.port, '"NATO\\r\\nBcc: victim@example.org"'))
        run_once(config, clock=clock)
        deliver(config, clock)
        for msg in smtp.inbox.parsed():
            assert msg["Bcc"] is None
            assert "\n" not in msg["Subject"]
            assert msg["Subject"].startswith("News digest 2026-11-23")
        assert all(to != ["victim@example.org"] for _, to, _ in smtp.inbox.messages)


def test_cli_run_exits_4_when_the_due_email_cannot_go_and_keeps_the_digest(site, tmp_path, seeds_dir):
    import subprocess
    import sys

    from conftest import write_config

    feeds = serve_world(site)
    path = write_config(tmp_path, list(feeds.items()),
                        extra=email_section(free_port()).replace('send_at = "07:00"', 'send_at = "00:00"'))
    result = subprocess.run([sys.executable, "-m", "pipeline", "run", "--config", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 4, result.stderr
    assert "email to desk@example.org for" in result.stderr and "NOT delivered (pending)" in result.stderr
    assert list((tmp_path / "reports").glob("*.html"))           # the digest is on disk


def test_an_empty_period_is_skipped_unless_send_empty(world_config, clock):
    with SMTPServer() as smtp:
        config = world_config(email_section(smtp.port))
        assert [o.status for o in deliver(config, clock)] == ["skipped", "skipped"]   # nothing stored yet
        assert smtp.inbox.messages == []
        clock.now += timedelta(days=1)
        config = world_config(email_section(smtp.port, extra="send_empty = true"))
        assert [o.status for o in deliver(config, clock)] == ["sent", "sent"]
        [msg, _] = smtp.inbox.parsed()
        assert "No new articles." in msg.get_body(("plain",)).get_content()


@pytest.mark.parametrize("breakage", ["not-a-folder", "read-only", "bad-template", "bad-email-template"])
def test_a_digest_that_cannot_be_written_still_lets_the_email_go(site, tmp_path, seeds_dir, breakage):
    """The files and the email are independent outputs: one line for the files, exit 5, the
    email rendered from the database and sent."""
    import os
    import subprocess
    import sys

    from conftest import write_config

    if breakage == "read-only" and os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    feeds = serve_world(site)
    with SMTPServer() as smtp:
        extra = email_section(smtp.port).replace('send_at = "07:00"', 'send_at = "00:00"')
        path = write_config(tmp_path, list(feeds.items()), extra=extra)
        reports = tmp_path / "reports"
        if breakage == "not-a-folder":
            reports.write_text("a file where the folder should be")
        elif breakage == "read-only":
            reports.mkdir()
            reports.chmod(0o500)
        else:                 # the email's own template (text part) or only the files' (Markdown)
            (tmp_path / "templates").mkdir()
            name = "digest.txt.j2" if breakage == "bad-email-template" else "digest.md.j2"
            (tmp_path / "templates" / name).write_text("{% for x in %}broken")
            path.write_text(path.read_text().replace("[digest]\n", '[digest]\ntemplates = "templates"\n'))
        done = subprocess.run([sys.executable, "-m", "pipeline", "run", "--config", str(path)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 5, done.stderr
        assert "Traceback" not in done.stderr
        assert "newsmon: digest " in done.stderr and ("check [digest] directory" in done.stderr
                                                       or "check [digest] templates" in done.stderr)
        assert len(smtp.inbox.messages) == 2                        # both recipients got the day's email
        assert "6 new articles" in done.stdout


def test_non_ascii_addresses_are_idna_or_refused_at_config_check(tmp_path, seeds_dir):
    import subprocess
    import sys

    from conftest import write_config

    base = email_section(2525).replace('address = "desk@example.org"', 'address = "Desk <desk@пример.укр>"')
    path = write_config(tmp_path, [], extra=base)
    from pipeline.config import load_config

    assert load_config(path).email.recipients[0].address == "Desk <desk@xn--e1afmkfd.xn--j1amh>"
    path.write_text(path.read_text().replace("Desk <desk@пример.укр>", "dësk@example.org"))
    check = subprocess.run([sys.executable, "-m", "pipeline", "config", "check", "--config", str(path)],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 2 and "Traceback" not in check.stderr + check.stdout
    assert f"{path}:" in check.stdout and "email.recipients[1].address: 'dësk@example.org': the part before @ must be ASCII" in check.stdout


def test_one_recipients_failure_never_stops_the_others(world_config, clock, monkeypatch):
    from pipeline.app import deliver as deliver_mod

    original = deliver_mod._deliver_one

    def failing_for_desk(store, config, now, labels, recipient, today, mailer):
        if recipient.address == "desk@example.org":
            raise UnicodeEncodeError("ascii", "dësk", 1, 2, "something nobody anticipated")
        return original(store, config, now, labels, recipient, today, mailer)

    monkeypatch.setattr(deliver_mod, "_deliver_one", failing_for_desk)
    with SMTPServer() as smtp:
        config = world_config(email_section(smtp.port))
        run_once(config, clock=clock)
        outcomes = deliver(config, clock)
        assert [(o.recipient, o.status) for o in outcomes] == [
            ("desk@example.org", "failed"), ("All Hands <all@example.org>", "sent")]
        assert [to for _, to, _ in smtp.inbox.messages] == [["all@example.org"]]


def test_a_cosmetic_recipient_change_does_not_resend_the_days_email(world_config, clock, tmp_path):
    with SMTPServer() as smtp:
        config = world_config(email_section(smtp.port))
        run_once(config, clock=clock)
        deliver(config, clock)
        assert len(smtp.inbox.messages) == 2
        path = tmp_path / "newsmon.toml"
        path.write_text(path.read_text().replace('address = "desk@example.org"', 'address = "News Desk <Desk@Example.org>"')
                        .replace('"All Hands <all@example.org>"', '"all@example.org"'))
        from pipeline.config import load_config

        outcomes = deliver(load_config(path), clock)
        assert [o.status for o in outcomes] == ["sent", "sent"]       # already sent today: not again
        assert len(smtp.inbox.messages) == 2


@pytest.mark.sqlite_only
def test_a_version_2_database_keys_its_emails_on_the_bare_address(world_config, clock):
    import sqlite3

    with SMTPServer() as smtp:
        config = world_config(email_section(smtp.port))
        run_once(config, clock=clock)
        deliver(config, clock)
        with sqlite3.connect(config.database) as c:          # as schema 2 stored them: the whole string
            c.execute("UPDATE emails SET recipient = 'All Hands <all@example.org>' WHERE recipient = 'all@example.org'")
            c.execute("ALTER TABLE articles DROP COLUMN image")     # (schema 9's)
            c.execute("PRAGMA user_version = 2")
        assert [o.status for o in deliver(config, clock)] == ["sent", "sent"]
        assert len(smtp.inbox.messages) == 2
        with sqlite3.connect(config.database) as c:
            assert sorted(r for (r,) in c.execute("SELECT recipient FROM emails")) == ["all@example.org", "desk@example.org"]


@pytest.mark.parametrize("zone, start, days", [
    ("Europe/Kyiv", "2026-03-26", 6),            # spring forward 2026-03-29, 03:00 -> 04:00
    ("Europe/Kyiv", "2026-10-23", 6),            # fall back 2026-10-25
    ("America/New_York", "2026-03-05", 6),       # spring forward 2026-03-08, 02:00 -> 03:00
    ("America/New_York", "2026-10-29", 6),       # fall back 2026-11-01
])
def test_the_daily_email_goes_out_every_day_across_dst_changes(tmp_path, seeds_dir, zone, start, days):
    """A fixed clock stepped across the change by the daemon's own digest trigger (fast-forwarded
    to every 20 minutes), asking what its job asks: each local day gets its email once, soon after
    send_at ("00:30"). (A cron trigger at 00:30 skips the day after spring-forward in APScheduler
    3.11.)"""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from conftest import write_config

    from pipeline.config import load_config
    from pipeline.serve import digest_trigger

    with SMTPServer() as smtp:
        extra = (email_section(smtp.port).replace('send_at = "07:00"', 'send_at = "00:30"')
                 + "").replace("timeout_seconds = 5", "timeout_seconds = 5\nsend_empty = true")
        path = write_config(tmp_path, [], extra=extra)
        path.write_text(path.read_text().replace('timezone = "Europe/Kyiv"', f'timezone = "{zone}"'))
        config = load_config(path)
        local = ZoneInfo(zone)
        now = datetime.fromisoformat(start).replace(tzinfo=local).astimezone(timezone.utc)
        end = now + timedelta(days=days)
        sent_at: dict[str, list] = {}
        trigger, previous = digest_trigger(config, start=now), None   # the daemon's own schedule
        store, labels = open_store(config), config.labels
        while now < end:
            for o in deliver_due(store, config, now, labels):
                if o.status == "sent" and o.attempted and o.recipient == "desk@example.org":
                    sent_at.setdefault(o.digest_date, []).append(now.astimezone(local))
            previous = trigger.get_next_fire_time(previous, now + timedelta(minutes=19))
            now = previous.astimezone(timezone.utc)        # every 20 minutes: a fast-forwarded minutely job
        store.close()
        first = datetime.fromisoformat(start).date()
        expected = {(first + timedelta(days=i)).isoformat() for i in range(days + 2)
                    if datetime.combine(first + timedelta(days=i), datetime.min.time().replace(minute=30),
                                        tzinfo=local) < end}
        assert set(sent_at) == expected                                  # every local day, none skipped
        for day, times in sent_at.items():
            assert len(times) == 1, (day, times)                      # once
            assert times[0].strftime("%Y-%m-%d") == day
            assert "00:30" <= times[0].strftime("%H:%M") < "01:00", (day, times)   # within one tick
        assert len(smtp.inbox.messages) == 2 * len(expected)


def test_a_near_copy_after_the_email_comes_under_updates_never_as_a_story_again(site, make_config, clock):
    """A near-copy (Jaccard ~0.89) that arrives after the day's email joins the morning story as a
    report of it; the next email lists it under "Updates to stories already sent", as "also
    reported by", with the story as the reader had it: not headed again, its text not repeated."""
    from world import NATO_STORY

    story = NATO_STORY + ["The ministers will meet again in February to review deliveries."]
    copy = ["OSLO (Example Wire) — " + NATO_STORY[0]] + NATO_STORY[1:] + [story[-1],
            "Copyright 2026 Example Wire. Distributed under licence."]
    copy_url = site.url("/copy").replace("127.0.0.1", "localhost")          # another outlet, another host
    site.routes.update({"/orig": article_page("Ministers meet in Oslo", "Daily A", "2026-11-23", story),
                        "/copy": article_page("Oslo meeting on air defence", "Wire", "2026-11-23", copy)})
    site.routes["/a.xml"] = rss_feed("A", site.base, [FeedItem("Ministers meet in Oslo", site.url("/orig"), "o",
                                                               "2026-11-23T05:00:00Z")])
    site.routes["/w.xml"] = rss_feed("W", site.base, [])
    with SMTPServer() as smtp:
        config = make_config([("a", site.url("/a.xml")), ("w", site.url("/w.xml"))], extra=email_section(smtp.port))
        run_once(config, clock=clock, force=True)
        assert [o.status for o in deliver(config, clock)] == ["sent", "sent"]
        clock.now += timedelta(hours=2)                                       # after the email, same day
        site.routes["/w.xml"] = rss_feed("W", site.base, [FeedItem("Oslo meeting on air defence", copy_url, "c",
                                                                   "2026-11-23T09:00:00Z")])
        run_once(config, clock=clock, force=True)
        clock.now += timedelta(days=1)
        run_once(config, clock=clock, force=True)
        assert [o.status for o in deliver(config, clock)] == ["sent", "sent"]
        second = smtp.inbox.parsed()[-1]                                      # the all-topics recipient
        body = second.get_body(("plain",)).get_content()
        assert second["Subject"].startswith("News digest 2026-11-24: 0 new stories, 1 continuing")
        assert "Stories: 1 (1 continuing) from 1 new article" in body
        body = body.replace("\r\n", "\n")
        assert "* Oslo meeting on air defence" not in body and "* Ministers meet in Oslo" not in body
        assert ("== Updates to stories already sent (1) ==\n- Ministers meet in Oslo (since 2026-11-23)\n"
                f"  also reported by w: Oslo meeting on air defence <{copy_url}>") in body
        assert NATO_STORY[0] not in body and "> " not in body                 # no text told again
        html = second.get_body(("html",)).get_content()
        assert "Updates to stories already sent" in html and NATO_STORY[0] not in html


def test_digest_send_twice_says_already_sent_and_counts_stories(site, tmp_path, seeds_dir):
    """`digest --send` run again finds the email sent: it says when, to whom, and that nothing went
    again (one message per recipient in the server), and the count it shows is the stories the
    email lists, the digest's entries, not articles."""
    import json
    import re

    from conftest import newsmon, write_config

    from pipeline.config import load_config

    feeds = serve_world(site)
    with SMTPServer() as smtp:
        path = write_config(tmp_path, list(feeds.items()), extra=email_section(smtp.port))
        config = load_config(path)
        run_once(config)                                   # today's articles, on the real clock
        first = newsmon("digest", "--send", "--config", str(path))
        assert first.returncode == 0, first.stderr
        day = next((tmp_path / "reports").glob("*.json")).stem
        stories = len(json.loads((tmp_path / "reports" / f"{day}.json").read_text())["articles"])
        assert f"email to All Hands <all@example.org> for {day}: sent, {stories} stories" in first.stdout
        assert len(smtp.inbox.messages) == 2

        again = newsmon("digest", "--send", "--config", str(path))
        assert again.returncode == 0, again.stderr
        assert len(smtp.inbox.messages) == 2                         # nothing went again
        line = next(x for x in again.stdout.splitlines() if "All Hands" in x)
        assert re.fullmatch(rf"  email to All Hands <all@example.org> for {day}: already sent at "
                            rf"{day} \d\d:\d\d EET, {stories} stories; not sent again", line), line
        assert ": sent," not in again.stdout and "articles" not in again.stdout
