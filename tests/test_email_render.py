"""The email as clients show it (issue 24): CSS inlined into style attributes, so a client that
drops <style> still shows cards, colours and the sans-serif face; dark mode only as an
enhancement; a link to the full digest when [digest] base_url is set. The message goes through a
run and the real SMTP server; headless Chromium (skipped cleanly when absent) lays it out at
600 px, with and without its <style>."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess

import pytest
from conftest import write_config
from smtp import SMTPServer
from test_email import deliver, email_section
from world import serve_world

from pipeline.app.pipeline import run_once
from pipeline.config import load_config

BASE = "https://news.example.org/digests/"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def received(site, tmp_path, seeds_dir, clock):
    """The HTML and text parts of the email everyone received after one run."""
    feeds = serve_world(site)
    with SMTPServer() as smtp:
        path = write_config(tmp_path, list(feeds.items()), extra=email_section(smtp.port))
        path.write_text(path.read_text().replace("[digest]\n", f'[digest]\nbase_url = "{BASE}"\n', 1))
        config = load_config(path)
        run_once(config, clock=clock)
        deliver(config, clock)
        message = smtp.inbox.parsed()[1]                  # everyone's: every topic and the others
    return message.get_body(("html",)).get_content(), message.get_body(("plain",)).get_content()


def _tag(page: str, pattern: str) -> str:
    found = re.search(pattern, page)
    assert found, pattern
    return found.group(0)


def test_the_email_carries_its_css_inline_and_links_the_full_digest(received):
    page, text = received
    styles = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert len(styles) == 1 and styles[0].strip().startswith("@media (prefers-color-scheme: dark)")
    assert "var(--" not in page                              # nothing depends on the <style> block
    body = _tag(page, r"<body[^>]*>")
    assert "background: #ffffff" in body and "font-family: -apple-system" in body and "color: #1d2330" in body
    card = _tag(page, r'<div class="story"[^>]*>')
    assert "background: #f5f7fa" in card and "border: 1px solid #dfe3ea" in card and "padding: 12px 16px" in card
    assert "color: #1f5fbf" in _tag(page, r'<a href="https://[^"]*"[^>]*>')
    assert "border-bottom: 1px solid #dfe3ea" in _tag(page, r"<h2[^>]*>")
    assert "background: #ffe58a" in _tag(page, r"<mark[^>]*>")
    assert "max-width: 720px" in _tag(page, r'<table class="page"[^>]*>')   # laid out in tables
    link = f'<a href="{BASE}2026-11-23.html" style="color: #1f5fbf;">Read the full digest of 2026-11-23 on the web</a>'
    assert link in page
    assert f"The full digest: {BASE}2026-11-23.html" in text


def _laid_out(page: str, folder, *flags: str) -> dict:
    """What Chromium computes for `page` in a 600 px wide window: widths and colours."""
    probe = """<script>
const card = document.querySelector('.story');
document.body.setAttribute('data-layout', JSON.stringify({
  scroll: document.documentElement.scrollWidth, body: getComputedStyle(document.body).backgroundColor,
  card: getComputedStyle(card).backgroundColor, cardBorder: getComputedStyle(card).borderTopWidth,
  font: getComputedStyle(document.body).fontFamily, h1: getComputedStyle(document.querySelector('h1')).fontSize}));
</script></body>"""
    path = folder / "probe.html"
    path.write_text(page.replace("</body>", probe), encoding="utf-8")
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                          "--window-size=600,3000", *flags, "--dump-dom", path.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    return json.loads(html.unescape(re.search(r'data-layout="([^"]*)"', dom).group(1)))


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (apt-get install chromium)")
def test_the_email_reads_well_at_600_px_with_and_without_its_style_block(received, tmp_path):
    page, _ = received
    stripped = re.sub(r"<style>.*?</style>", "", page, flags=re.S)   # a client that drops <style>
    for version in (stripped, page):
        seen = _laid_out(version, tmp_path)
        assert seen["scroll"] <= 600                                 # nothing wider than the screen
        assert seen["body"] == "rgb(255, 255, 255)" and seen["card"] == "rgb(245, 247, 250)"
        assert seen["cardBorder"] == "1px" and seen["font"].startswith("-apple-system") and seen["h1"] == "24px"
    dark = _laid_out(page, tmp_path, "--force-dark-mode")            # the enhancement, where honoured
    assert dark["body"] == "rgb(20, 23, 28)" and dark["card"] == "rgb(29, 33, 40)"
    shot = tmp_path / "email-600.png"
    (tmp_path / "stripped.html").write_text(stripped, encoding="utf-8")
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=600,2400", f"--screenshot={shot}", (tmp_path / "stripped.html").as_uri()],
                   capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (apt-get install chromium)")
def test_the_html_digest_lays_out_in_chromium(tmp_path):
    """The golden digest as a file of reports/ (navigation, contents, cards, the others collapsed),
    at a phone's 600 px and a desktop's 1280 px: nothing wider than the window, the cards styled,
    the other stories closed until asked for."""
    from dataclasses import replace
    from datetime import timedelta

    from golden import DAY, T, build

    from pipeline.app.report import digest_for
    from pipeline.stages.render import render

    config, store = build(tmp_path)
    try:
        digest = digest_for(store, config, DAY, config.labels, T + timedelta(hours=2))
    finally:
        store.close()
    page = render(replace(digest, in_archive=True, previous_day="2026-11-22"), "html")
    probe = """<script>
const others = document.querySelector('#others + details');
document.body.setAttribute('data-layout', JSON.stringify({
  scroll: document.documentElement.scrollWidth, cards: document.querySelectorAll('.story').length,
  card: getComputedStyle(document.querySelector('.story')).backgroundColor,
  othersOpen: others.open, othersHeight: others.getBoundingClientRect().height,
  toc: [...document.querySelectorAll('.toc a')].map(a => a.getAttribute('href'))}));
</script></body>"""
    path = tmp_path / "digest.html"
    path.write_text(page.replace("</body>", probe), encoding="utf-8")
    for width in (600, 1280):
        dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                              f"--window-size={width},3000", "--dump-dom", path.as_uri()],
                             capture_output=True, text=True, timeout=120).stdout
        seen = json.loads(html.unescape(re.search(r'data-layout="([^"]*)"', dom).group(1)))
        assert seen["scroll"] <= width and seen["cards"] == 5 and seen["card"] == "rgb(245, 247, 250)"
        assert seen["othersOpen"] is False and seen["othersHeight"] < 40          # collapsed: one line
        assert seen["toc"] == ["#topic-nato", "#topic-ceasefire", "#topic-territory", "#others", "#health"]
    shot = tmp_path / "digest-600.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=600,2600", f"--screenshot={shot}", path.as_uri()], capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
