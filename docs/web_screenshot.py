"""Regenerate docs/web-story.png, the README's screenshot of a story page with its "why grouped"
part, from parts anyone can run here: the offline demo's archive (`newsmon demo`, sample feeds on
loopback), `newsmon web` over it on 127.0.0.1, and Debian's headless Chromium driven by Playwright
(the set-up of tests/test_webbrowser.py: never `playwright install`).

    .venv/bin/python docs/web_screenshot.py [--out docs/web-story.png]

The story shown is the demo's story whose later report the story model grouped most surely (a
recorded `why` with the highest pair score, not a near copy), found through the JSON API as any
client would.
Kept small (< 300 KB): one page wide, as tall as the story.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
MAX_BYTES = 300_000


def newsmon(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline", "-q", *args]


def grouped_story(base: str) -> str:
    """The id of the story whose later report the model paired most surely (the highest
    recorded pair score, not a near copy): the clearest "why grouped" (the demo also has a
    doubtful join, issue 28's truce in the grid-repair story, which a front page should not show)."""
    def get(path: str) -> dict:
        with urllib.request.urlopen(base + path, timeout=30) as r:
            return json.loads(r.read())

    scored = []
    for day in get("/api/v1/days")["days"]:
        for story in get(f"/api/v1/today?date={day['date']}")["stories"]:
            if len(story["reports"]) > 1:
                reports = get(f"/api/v1/stories/{story['story_id']}")["reports"]
                scored += [(r["why"]["pair_score"], story["story_id"]) for r in reports
                           if r["why"] and not r["why"].get("near_copy") and r["why"].get("pair_score") is not None]
    if not scored:
        raise SystemExit("the demo archive has no story grouped by the model: nothing to show")
    return max(scored)[1]


def shoot(url: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        raise SystemExit("no chromium here (apt-get install -y chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=binary, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 700})
            page.goto(url)
            assert page.locator("p.why").count() >= 1, "the page shows no 'why grouped' part"
            page.screenshot(path=str(out), full_page=True)
        finally:
            browser.close()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="docs/web_screenshot.py")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "web-story.png")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        subprocess.run(newsmon("demo", "--reports", str(Path(tmp) / "reports"), "--data", str(data)),
                       cwd=ROOT, check=True, capture_output=True)
        server = subprocess.Popen(newsmon("web", "--port", "0", "--config", str(data / "demo.toml")), cwd=ROOT,
                                  stdout=subprocess.PIPE, text=True)
        try:
            base = server.stdout.readline().split(" on ")[1].split()[0].rstrip("/")
            story = grouped_story(base)
            shoot(f"{base}/story/{story}", args.out)
        finally:
            server.terminate()
            server.wait(timeout=20)
    size = args.out.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"{args.out}: {size:,} bytes, over {MAX_BYTES:,}: keep the README light")
    print(f"{args.out}: story {story}, {size:,} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
