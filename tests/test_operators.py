"""Operators' tools: feeds add/remove/enable/disable, OPML, config check, search, export."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from conftest import newsmon, write_config
from smtp import SMTPServer
from world import serve_world

from pipeline.demo.server import Page
from pipeline.opml import parse_opml

HEADER = "# Our monitoring config — keep this comment\n"


def commented_config(tmp_path: Path, feeds) -> Path:
    path = write_config(tmp_path, feeds)
    text = HEADER + path.read_text().replace('[[feeds]]\nname = "daily-a"',
                                              '# the morning paper\n[[feeds]]\nname = "daily-a"  # keep me')
    path.write_text(text)
    return path


def test_feeds_add_fetches_once_and_keeps_comments(site, tmp_path, seeds_dir):
    feeds = serve_world(site)
    path = commented_config(tmp_path, [("daily-a", feeds["daily-a"])])
    added = newsmon("feeds", "add", feeds["weekly-b"], "--tags", "baltic, weekly", "--interval", "30",
                    "--config", str(path))
    assert added.returncode == 0, added.stderr
    assert "added 'weekly-b': Weekly B — 3 items" in added.stdout
    text = path.read_text()
    assert text.startswith(HEADER) and "# the morning paper" in text and 'name = "daily-a"  # keep me' in text
    assert text.index('name = "daily-a"') < text.index('name = "weekly-b"')
    assert 'tags = ["baltic", "weekly"]' in text and "interval_minutes = 30" in text
    assert not list(tmp_path.glob(".newsmon.toml.*"))           # no temp file left behind

    again = newsmon("feeds", "add", feeds["weekly-b"], "--config", str(path))
    assert again.returncode == 1 and "already has this URL" in again.stderr

    site.routes["/page"] = Page(b"<html><body><p>Just a page</p></body></html>")
    not_feed = newsmon("feeds", "add", site.url("/page"), "--config", str(path))
    assert not_feed.returncode == 1 and "not added" in not_feed.stderr and "not a feed" in not_feed.stderr
    site.routes["/404"] = Page(b"", status=404)
    gone = newsmon("feeds", "add", site.url("/404"), "--config", str(path))
    assert gone.returncode == 1 and "HTTP 404" in gone.stderr
    assert path.read_text() == text                                # refused adds changed nothing


def test_feeds_add_discovers_the_feed_of_a_web_page(site, tmp_path, seeds_dir):
    feeds = serve_world(site)
    site.routes["/home"] = Page('<html><head><link rel="alternate" type="application/rss+xml" '
                                'href="/a/rss.xml"></head><body>Home</body></html>'.encode())
    path = write_config(tmp_path, [])
    result = newsmon("feeds", "add", site.url("/home"), "--name", "daily", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert "links to the feed" in result.stdout
    assert f'url = "{feeds["daily-a"]}"' in path.read_text()


def test_remove_enable_disable_edit_in_place(site, tmp_path, seeds_dir):
    feeds = serve_world(site)
    path = commented_config(tmp_path, list(feeds.items()))
    assert newsmon("feeds", "disable", "weekly-b", "--config", str(path)).returncode == 0
    assert "enabled = false" in path.read_text()
    listed = json.loads(newsmon("feeds", "list", "--json", "--config", str(path)).stdout)
    assert [(f["name"], f["enabled"]) for f in listed] == [("daily-a", True), ("weekly-b", False)]
    assert newsmon("feeds", "enable", "weekly-b", "--config", str(path)).returncode == 0
    assert "enabled = true" in path.read_text()
    assert newsmon("feeds", "remove", "weekly-b", "--config", str(path)).returncode == 0
    text = path.read_text()
    assert "weekly-b" not in text and text.startswith(HEADER) and "# the morning paper" in text
    missing = newsmon("feeds", "remove", "nope", "--config", str(path))
    assert missing.returncode == 2 and "no feed named 'nope'" in missing.stderr


FEEDLY = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0"><head><title>Feedly subscriptions</title></head><body>
<outline text="Ukraine" title="Ukraine">
  <outline type="rss" text="Kyiv Post" title="Kyiv Post" xmlUrl="https://www.kyivpost.com/feed" htmlUrl="https://www.kyivpost.com"/>
  <outline type="rss" text="Ukrinform" title="Ukrinform" xmlUrl="https://www.ukrinform.net/rss/block-lastnews"/>
</outline>
<outline text="Europe" title="Europe">
  <outline type="rss" text="BBC Europe" title="BBC Europe" xmlUrl="https://feeds.bbci.co.uk/news/world/europe/rss.xml"/>
  <outline type="rss" text="Kyiv Post again" title="Kyiv Post again" xmlUrl="https://www.kyivpost.com/feed"/>
</outline>
</body></opml>"""

NETNEWSWIRE = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.1"><head><title>Subscriptions-OnMyMac.opml</title></head><body>
<outline text="Guardian Ukraine" title="Guardian Ukraine" description="" type="rss" version="RSS"
  htmlUrl="https://www.theguardian.com/world/ukraine" xmlUrl="https://www.theguardian.com/world/ukraine/rss"
  category="/News/Ukraine,Europe"/>
<outline text="Local file" type="rss" xmlUrl="file:///etc/passwd"/>
</body></opml>"""


def test_opml_import_from_common_readers_then_export_round_trip(tmp_path, seeds_dir):
    path = write_config(tmp_path, [("bbc", "https://feeds.bbci.co.uk/news/world/europe/rss.xml")])
    (tmp_path / "feedly.opml").write_bytes(FEEDLY)
    (tmp_path / "nnw.opml").write_bytes(NETNEWSWIRE)
    first = newsmon("feeds", "import", str(tmp_path / "feedly.opml"), "--config", str(path))
    assert first.returncode == 0, first.stderr
    assert "imported 2 feed(s); 2 duplicate(s) skipped or merged" in first.stdout
    second = newsmon("feeds", "import", str(tmp_path / "nnw.opml"), "--config", str(path))
    assert ("imported 1 feed(s); 0 duplicate(s) skipped or merged; 1 not http(s), skipped: line 6: file:///etc/passwd"
            in second.stdout) and second.stderr == ""
    listed = {f["name"]: f for f in json.loads(newsmon("feeds", "list", "--json", "--config", str(path)).stdout)}
    assert listed["kyiv-post"]["tags"] == ["Ukraine", "Europe"]      # filed twice: one feed, both tags
    assert listed["guardian-ukraine"]["tags"] == ["News", "Ukraine", "Europe"]

    exported = newsmon("feeds", "export", "--config", str(path))
    assert exported.returncode == 0
    back = {o.url: o.tags for o in parse_opml(exported.stdout.encode()).feeds}
    assert back == {"https://feeds.bbci.co.uk/news/world/europe/rss.xml": (),
                    "https://www.kyivpost.com/feed": ("Ukraine", "Europe"),
                    "https://www.ukrinform.net/rss/block-lastnews": ("Ukraine",),
                    "https://www.theguardian.com/world/ukraine/rss": ("News", "Ukraine", "Europe")}
    (tmp_path / "bad.opml").write_bytes(b"<html><body>not opml</body></html>")
    bad = newsmon("feeds", "import", str(tmp_path / "bad.opml"), "--config", str(path))
    assert bad.returncode == 1 and "not OPML" in bad.stderr


def test_config_check_reports_every_problem_with_file_line_and_key(tmp_path, seeds_dir):
    (seeds_dir / "broken.txt").write_bytes(b"caf\xe9 latin-1 bytes")
    path = tmp_path / "newsmon.toml"
    path.write_text("""[storage]
database = "data/n.db"
[seeds]
directory = "seeds"
[digest]
timezone = "Europe/Kiev-ish"
[fetch]
timeout_seconds = 0
[topics.nato]
terms = ["NATO"]
patterns = ["(unclosed"]
[email]
send_at = "7am"
[[email.recipients]]
address = "desk@example.org"
topics = ["nato", "weather"]
[[feeds]]
name = "a"
url = "ftp://example.org/feed"
""")
    result = newsmon("config", "check", "--config", str(path))
    assert result.returncode == 2
    lines = [line for line in result.stdout.splitlines() if line.startswith("error:")]
    expected = [f"{path}:6: digest.timezone:", f"{path}:8: fetch.timeout_seconds:", f"{path}:11: topics.nato.patterns:",
                f"{path}:13: email.send_at:", f"{path}:16: email.recipients[1].topics: unknown topic id(s) weather",
                f"{path}:19: feeds[1].url:", "broken.txt: not UTF-8"]
    for fragment in expected:
        assert any(fragment in line for line in lines), (fragment, lines)
    assert "Traceback" not in result.stderr


def test_config_check_probe_fetches_feeds_and_opens_smtp(site, tmp_path, seeds_dir):
    feeds = serve_world(site)
    with SMTPServer() as smtp:
        email = (f'\n[email]\nenabled = true\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\n'
                 f'[[email.recipients]]\naddress = "desk@example.org"\n')
        path = write_config(tmp_path, list(feeds.items()) + [("dead", site.url("/dead.xml"))], extra=email)
        result = newsmon("config", "check", "--probe", "--config", str(path))
        assert "probe: feed daily-a: ok — Daily A, 4 items" in result.stdout
        assert "probe: feed dead: FAILED:" in result.stdout and "HTTP 404" in result.stdout
        assert f"probe: mail server 127.0.0.1:{smtp.port}: ok" in result.stdout
        assert result.returncode == 2                      # a probe failed, and it says which
        assert "1 probe(s) failed: feed dead (see the FAILED lines above)" in result.stderr
        assert "0 problem" not in result.stderr
        assert smtp.inbox.messages == []


def test_search_and_export_the_archive(site, tmp_path, seeds_dir):
    feeds = serve_world(site)
    path = write_config(tmp_path, list(feeds.items()))
    assert newsmon("run", "--config", str(path)).returncode == 0

    text = newsmon("search", "air defence", "--config", str(path))
    assert "Ministers meet in Oslo on air defence" in text.stdout and "air defence" in text.stdout
    assert "**" not in text.stdout and "\x1b" not in text.stdout          # piped: no highlight marks
    as_json = json.loads(newsmon("search", "sunflower OR truce", "--raw", "--json", "--config", str(path)).stdout)
    assert {r["title"] for r in as_json} == {"Sunflower harvest ends late after rain", "Live: updates"}
    topic = json.loads(newsmon("search", "Kyiv", "--topic", "ceasefire", "--json", "--config", str(path)).stdout)
    assert [r["title"] for r in topic] == ["Live: updates"]
    feed = json.loads(newsmon("search", "sunflower", "--feed", "weekly-b", "--json", "--config", str(path)).stdout)
    assert feed == []
    rows = list(csv.DictReader(io.StringIO(newsmon("search", "Oslo ministers", "--csv", "--config", str(path)).stdout)))
    assert rows and set(rows[0]) == {"first_seen", "feed", "title", "url", "topics", "snippet", "rank"}
    bad = newsmon("search", '"unbalanced', "--raw", "--config", str(path))
    assert bad.returncode == 2 and "bad search query" in bad.stderr

    out = tmp_path / "export.csv"
    exported = newsmon("export", "--since", "30d", "--format", "csv", "--output", str(out), "--config", str(path))
    assert exported.returncode == 0 and "wrote 6 article(s)" in exported.stdout
    table = list(csv.DictReader(out.open()))
    assert len(table) == 6 and {"title", "url", "topics", "text"} <= set(table[0])
    with_dups = json.loads(newsmon("export", "--format", "json", "--duplicates", "--config", str(path)).stdout)
    assert len(with_dups) == 7 and sum(r["duplicate_of"] is not None for r in with_dups) == 1


def test_files_are_written_with_the_umask_mode_and_through_symlinks(site, tmp_path, seeds_dir):
    """Digests readable by a web server under umask 022 (not mkstemp's 0600); a symlinked config is
    edited through the link, keeping its mode."""
    import os
    import stat


    feeds = serve_world(site)
    real = write_config(tmp_path, list(feeds.items()), extra="fetch_pages = false\n")
    real.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(real, 1234, 4321)                   # an operator's file, group "analysts"
    link = tmp_path / "linked.toml"
    link.symlink_to(real)
    done = subprocess.run(["sh", "-c", f"umask 022 && {sys.executable} -m pipeline run --config {link}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "reports").iterdir()}
    assert modes and set(modes.values()) == {0o644}, modes
    for p in (tmp_path / "reports").iterdir():
        p.chmod(0o600)                                   # as an older version left them
    assert newsmon("digest", "--config", str(link)).returncode == 0
    assert {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "reports").iterdir()} == {0o644}
    assert newsmon("feeds", "disable", "daily-a", "--config", str(link)).returncode == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert stat.S_IMODE(real.stat().st_mode) == 0o640 and "enabled = false" in real.read_text()
    if os.geteuid() == 0:
        assert (real.stat().st_uid, real.stat().st_gid) == (1234, 4321)


def test_ill_formed_opml_with_scripts_categories_and_schemeless_urls_imports_whole(tmp_path, seeds_dir):
    """What real exports do: a bare &, quotes inside a title, a feed under two categories, titles
    with no ASCII letter, a URL without a scheme. Nothing is lost; every problem names its line."""
    path = write_config(tmp_path, [])
    (tmp_path / "real.opml").write_bytes('''<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>Export</title></head><body>
<outline text="Business & Economy">
  <outline type="rss" text="Газета "Коммерсантъ". Главное" xmlUrl="https://www.kommersant.ru/RSS/main.xml"/>
  <outline type="rss" text="Українська правда" xmlUrl="https://www.pravda.com.ua/rss/"/>
</outline>
<outline text="Україна">
  <outline type="rss" text="Українська правда" xmlUrl="https://www.pravda.com.ua/rss/"/>
  <outline type="rss" text="卫报" xmlUrl="www.theguardian.com/world/ukraine/rss"/>
  <outline type="rss" text="★★★" xmlUrl="https://example.org/news/feed.xml"/>
</outline>
</body></opml>'''.encode())
    done = newsmon("feeds", "import", str(tmp_path / "real.opml"), "--config", str(path))
    assert done.returncode == 0, done.stderr
    assert "imported 4 feed(s); 1 duplicate(s) skipped or merged; 1 without a scheme taken as https://" in done.stdout
    assert "real.opml: line 4: ill-formed outline, read from its attributes: https://www.kommersant.ru/RSS/main.xml" in done.stderr
    feeds = {f["name"]: f for f in json.loads(newsmon("feeds", "list", "--json", "--config", str(path)).stdout)}
    assert set(feeds) == {"gazeta-kommersant-glavnoe", "ukrainska-pravda", "weibao", "example-org-news-feed-xml"}
    assert feeds["ukrainska-pravda"]["tags"] == ["Business & Economy", "Україна"]
    assert feeds["weibao"]["url"] == "https://www.theguardian.com/world/ukraine/rss"
    assert newsmon("config", "check", "--config", str(path)).returncode == 0
    exported = parse_opml(newsmon("feeds", "export", "--config", str(path)).stdout.encode()).feeds
    assert {(o.title, o.url) for o in exported} == {
        ('Газета "Коммерсантъ". Главное', "https://www.kommersant.ru/RSS/main.xml"),
        ("Українська правда", "https://www.pravda.com.ua/rss/"),
        ("卫报", "https://www.theguardian.com/world/ukraine/rss"), ("★★★", "https://example.org/news/feed.xml")}


def test_concurrent_feed_edits_all_survive(tmp_path, seeds_dir):
    """Five edits at once, each slow between reading and writing: five changes survive, since an
    edit holds a lock for its whole read-modify-write."""
    import threading
    import time

    from pipeline.configedit import edit, find_feed

    feeds = [(f"f{i}", f"https://example.org/{i}") for i in range(5)]
    path = write_config(tmp_path, feeds)

    def disable(name: str) -> None:
        def change(doc) -> None:
            time.sleep(0.2)                     # another edit would read the file meanwhile
            find_feed(doc, name)["enabled"] = False
        edit(path, change)

    threads = [threading.Thread(target=disable, args=(name,)) for name, _ in feeds]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    listed = json.loads(newsmon("feeds", "list", "--json", "--config", str(path)).stdout)
    assert [f["enabled"] for f in listed] == [False] * 5


def test_opml_round_trip_keeps_tags_with_commas_and_slashes_whole(tmp_path, seeds_dir):
    """A tag is one tag whatever it holds: "Politics, Europe" is not "Politics" and "Europe" after
    `feeds export` then `feeds import`, whether it was the feed's folder or one of its other tags,
    and other readers (which know nothing of newsmon's own attribute) read it whole as well."""
    import re

    tags = {"brussels": ["Politics, Europe"], "desk": ["news", "Politics, Europe", "Ukraine/Russia", "daily"]}
    source = tmp_path / "source"
    source.mkdir()
    path = write_config(source, [(name, f"https://{name}.example/feed.xml") for name in tags])
    text = path.read_text()
    for name, values in tags.items():
        text = text.replace(f'name = "{name}"\n', f'name = "{name}"\ntags = {json.dumps(values)}\n')
    path.write_text(text)
    exported = newsmon("feeds", "export", str(tmp_path / "feeds.opml"), "--config", str(path))
    assert exported.returncode == 0, exported.stderr

    fresh = write_config(tmp_path, [])
    done = newsmon("feeds", "import", str(tmp_path / "feeds.opml"), "--config", str(fresh))
    assert done.returncode == 0, done.stderr
    listed = {f["url"]: f["tags"] for f in json.loads(newsmon("feeds", "list", "--json", "--config", str(fresh)).stdout)}
    assert listed == {f"https://{name}.example/feed.xml": values for name, values in tags.items()}

    plain = re.sub(rb' newsmon:tags="[^"]*"', b"", (tmp_path / "feeds.opml").read_bytes())   # another reader's view
    assert b"newsmon:tags" not in plain.split(b"<body>")[1]
    seen: dict[str, set[str]] = {}
    for o in parse_opml(plain).feeds:
        seen.setdefault(o.url, set()).update(o.tags)
    assert seen == {f"https://{name}.example/feed.xml": set(values) for name, values in tags.items()}
