import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import load_config, parse_config
from pipeline.errors import ConfigError
from pipeline.topics import DEFAULT_TOPICS

GOOD = """
[storage]
database = "../data/newsmon.db"
[seeds]
directory = "../seeds"
[digest]
directory = "../reports"
formats = ["html", "md", "json"]
timezone = "Europe/Kyiv"
[fetch]
timeout_seconds = 20
max_bytes = 10_000_000
allow_private_networks = false
[[feeds]]
name = "example"
url = "https://example.org/rss.xml"
[topics.nato]
label = "NATO"
terms = ["NATO", "North Atlantic Treaty Organization"]
"""


def test_the_documented_keys_load_and_paths_resolve_against_the_file(tmp_path: Path):
    folder = tmp_path / "config"
    folder.mkdir()
    config = parse_config(GOOD, folder / "newsmon.toml")
    assert config.database == (tmp_path / "data" / "newsmon.db").resolve()
    assert config.seeds_dir == (tmp_path / "seeds").resolve()
    assert config.digest_formats == ("html", "md", "json")
    assert config.fetch.timeout_seconds == 20 and config.fetch.max_bytes == 10_000_000
    assert config.feeds[0].name == "example" and config.feeds[0].url == "https://example.org/rss.xml"
    assert [t.id for t in config.topics] == ["nato", "ceasefire", "territory"]   # nato replaced in place
    assert config.topics[0].terms == ("NATO", "North Atlantic Treaty Organization")


def test_without_topics_the_built_in_defaults_apply(tmp_path: Path):
    config = parse_config('[[feeds]]\nname = "a"\nurl = "https://a.example/feed"\n', tmp_path / "c.toml")
    assert config.topics == DEFAULT_TOPICS
    assert {t.id for t in config.topics} == {"nato", "ceasefire", "territory"}


def test_user_topics_extend_the_built_in_ones_unless_builtin_is_false(tmp_path: Path):
    feed = '[[feeds]]\nname = "a"\nurl = "https://a.example/feed"\n'
    russia = '[topics.russia]\nlabel = "Russia"\nterms = ["Russia", "Kremlin"]\n'
    extended = parse_config(feed + russia, tmp_path / "c.toml")
    assert [t.id for t in extended.topics] == ["nato", "ceasefire", "territory", "russia"]
    assert extended.topics[:3] == DEFAULT_TOPICS
    only = parse_config(feed + russia + "[topics]\nbuiltin = false\n", tmp_path / "c.toml")
    assert [t.id for t in only.topics] == ["russia"]
    with pytest.raises(ConfigError) as e:
        parse_config(feed + "[topics]\nbuiltin = \"no\"\n", tmp_path / "c.toml")
    assert e.value.line == 5 and e.value.key == "topics.builtin"


def test_config_check_lists_every_active_topic(tmp_path: Path, seeds_dir: Path):
    from conftest import write_config

    path = write_config(tmp_path, [("a", "https://a.example/feed")],
                        '[topics.russia]\nlabel = "Russia"\nterms = ["Russia"]\n'
                        '[topics.territory]\nlabel = "Land"\nterms = ["territory"]\n')
    done = subprocess.run([sys.executable, "-m", "pipeline", "config", "check", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "4 topics" in done.stdout
    assert ("topics: NATO [nato, built-in], Ceasefire [ceasefire, built-in], Land [territory], "
            "Russia [russia]") in done.stdout


@pytest.mark.parametrize("text, line, key, words", [
    ("[fetch]\ntimeout_secs = 3\n", 2, "fetch.timeout_secs", "unknown key"),
    ("[fetch]\n\ntimeout_seconds = \"fast\"\n", 3, "fetch.timeout_seconds", "expected a number"),
    ("[digest]\ntimezone = \"Mars/Olympus\"\n", 2, "digest.timezone", "IANA time zone"),
    ("[digest]\nformats = [\"html\", \"pdf\"]\n", 2, "digest.formats", "expected one of"),
    ('[[feeds]]\nname = "a"\nurl = "https://a.example/f"\n[[feeds]]\nname = "b"\nurl = "file:///etc/passwd"\n',
     6, "feeds[2].url", "http:// or https://"),
    ('[[feeds]]\nname = "a"\n', 1, "feeds[1].url", "missing"),
    ('[topics.nato]\nterms = ["NATO"]\npatterns = ["(unclosed"]\n', 3, "topics.nato.patterns",
     "not a valid regular expression"),
    ("[storage]\ndatabase = \n", 2, None, "not valid TOML"),
    ("[stroage]\ndatabase = \"x.db\"\n", 1, "stroage", "unknown section"),
    ("[fetch]\nallow_private_networks = \"yes\"\n", 2, "fetch.allow_private_networks", "expected true, false or a list"),
    ("[fetch]\nallow_private_networks = [\"10.0.0.0/33\"]\n", 2, "fetch.allow_private_networks", "not an address range"),
])
def test_errors_name_file_line_key_and_expectation(tmp_path: Path, text, line, key, words):
    path = tmp_path / "bad.toml"
    with pytest.raises(ConfigError) as info:
        parse_config(text, path)
    err = info.value
    assert err.file == str(path)
    assert err.line == line
    assert err.key == key
    assert words in str(err)
    assert str(err).startswith(f"{path}:{line}")


def test_missing_file_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_cli_reports_a_bad_config_in_one_line_and_exits_2(tmp_path: Path):
    path = tmp_path / "newsmon.toml"
    path.write_text('[fetch]\nmax_bytes = -5\n[[feeds]]\nname = "x"\nurl = "https://x.example/f"\n')
    result = subprocess.run([sys.executable, "-m", "pipeline", "run", "--config", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{path}:2: fetch.max_bytes: expected a whole number >= 1024" in result.stderr


def test_shipped_example_config_is_valid():
    config = load_config(Path(__file__).resolve().parent.parent / "config" / "newsmon.toml")
    assert config.feeds and all(f.url.startswith("https://") for f in config.feeds)
    assert config.timezone == "Europe/Kyiv"


def test_the_manuals_options_table_is_the_one_the_code_declares():
    """Each option's default and meaning are declared once (options.OPTIONS); the table in
    docs/configuration.md is generated from them (`python -m pipeline.options`) and must not drift."""
    from conftest import doc_text

    from pipeline.optiondoc import options_table

    page = doc_text("configuration")
    block = page.split("a test keeps them equal -->\n", 1)[1].split("<!-- options end -->", 1)[0]
    assert block == options_table()


@pytest.mark.parametrize("value", ["1e308", "inf", "nan", "-inf", "0"])
def test_non_finite_and_absurd_numbers_are_refused_at_load(tmp_path, value):
    path = tmp_path / "c.toml"
    path.write_text(f"[fetch]\ninterval_minutes = {value}\n")
    with pytest.raises(ConfigError, match=r"c.toml:2: fetch.interval_minutes: expected a number > 0 and <= 1e\+06"):
        load_config(path)
