"""The shipped systemd units and crontab line: parsed and checked (systemd-analyze when present)."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import main

UNITS = Path(__file__).resolve().parent.parent / "config" / "systemd"
OPERATIONS = Path(__file__).resolve().parent.parent / "docs" / "operations.md"
SECTIONS = {"Unit", "Service", "Timer", "Install"}
KNOWN = {
    "Unit": {"Description", "Documentation", "Wants", "After"},
    "Service": {"Type", "User", "Group", "WorkingDirectory", "ExecStart", "ExecReload", "SuccessExitStatus",
                "EnvironmentFile", "TimeoutStartSec", "TimeoutStopSec", "Nice", "NoNewPrivileges",
                "PrivateTmp", "ProtectSystem", "ReadWritePaths", "ProtectHome", "Restart", "RestartSec", "KillSignal"},
    "Timer": {"OnCalendar", "Persistent", "RandomizedDelaySec", "Unit"},
    "Install": {"WantedBy"},
}


def parse(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str   # systemd keys are case-sensitive
    parser.read_string((UNITS / name).read_text())
    assert set(parser.sections()) <= SECTIONS
    for section in parser.sections():
        assert set(parser[section]) <= KNOWN[section], f"{name}: unknown keys in [{section}]"
    return parser


def _command(exec_start: str) -> list[str]:
    words = exec_start.split()
    assert words[0].startswith("/") and words[0].endswith("/newsmon")
    return words[1:]


def test_timer_runs_the_service_every_15_minutes_and_catches_up():
    timer = parse("newsmon.timer")
    assert timer["Timer"]["OnCalendar"] == "*:0/15"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["Unit"] == "newsmon.service"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_oneshot_service_runs_newsmon_run_and_treats_75_as_success():
    service = parse("newsmon.service")
    assert service["Service"]["Type"] == "oneshot"
    args = _command(service["Service"]["ExecStart"])
    assert "run" in args and "--config" in args
    assert service["Service"]["SuccessExitStatus"] == "75"
    # the command line is one newsmon understands (its options parse; --help stops before running)
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0 and "Run one full cycle" in result.output


def test_daemon_service_reloads_with_sighup():
    service = parse("newsmon-serve.service")
    assert "serve" in _command(service["Service"]["ExecStart"])
    assert service["Service"]["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["Install"]["WantedBy"] == "multi-user.target"


def test_web_service_runs_newsmon_web_on_loopback():
    service = parse("newsmon-web.service")
    args = _command(service["Service"]["ExecStart"])
    assert "web" in args and "--host" not in args          # [web] host, loopback unless users exist
    assert service["Service"]["ProtectSystem"] == "strict"  # it writes only the database's folder (reading state)
    assert service["Service"]["ReadWritePaths"] == "/opt/newsmon/data"
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0 and "read by story" in result.output


def test_the_manuals_crontab_line_is_valid_and_every_15_minutes():
    [line] = [x for x in OPERATIONS.read_text().splitlines() if re.match(r"^\*/15 \* \* \* \* ", x)]
    fields = line.split(None, 5)
    assert fields[:5] == ["*/15", "*", "*", "*", "*"]
    assert "newsmon" in fields[5] and " run " in fields[5]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verify(tmp_path):
    for name in ("newsmon.service", "newsmon.timer", "newsmon-serve.service", "newsmon-web.service"):
        text = (UNITS / name).read_text().replace("User=newsmon", "User=root").replace("Group=newsmon", "Group=root")
        (tmp_path / name).write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", *(str(p) for p in tmp_path.iterdir())],
                            capture_output=True, text=True)
    errors = [line for line in result.stderr.splitlines() if "Command /opt/newsmon" not in line and line.strip()]
    assert result.returncode == 0 or not errors, result.stderr


def test_the_maintenance_timer_runs_db_maintain_nightly_and_waits_for_a_run():
    timer = parse("newsmon-maintain.timer")
    assert timer["Timer"]["OnCalendar"] == "*-*-* 03:30:00" and timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["Unit"] == "newsmon-maintain.service"
    service = parse("newsmon-maintain.service")
    args = _command(service["Service"]["ExecStart"])
    assert args[args.index("db"):args.index("db") + 2] == ["db", "maintain"] and "--wait" in args
    assert service["Service"]["SuccessExitStatus"] == "75"
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0 and "Nightly upkeep" in result.output
