"""The strata CLI: what is installed, and `strata servers` against real server processes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from strata.orchestrator.cli import cli, installed_servers
from strata.orchestrator.settings import DEFAULT_SERVERS, OrchestratorSettings

from .conftest import TOKEN  # type: ignore[import-not-found]

BIN = Path(sys.executable).parent


def test_installed_servers_finds_every_server() -> None:
    assert {f"strata-{name}" for name in DEFAULT_SERVERS} <= set(installed_servers())
    result = CliRunner().invoke(cli, ["installed"])
    line = next(line for line in result.output.splitlines() if line.startswith("strata-llm\t"))
    assert result.exit_code == 0 and line.split("\t")[1] == "0.1.0"


def test_without_config_the_five_servers_run_from_this_environment() -> None:
    specs = OrchestratorSettings().resolved()
    assert list(specs) == list(DEFAULT_SERVERS)
    assert all(
        spec.transport == "stdio" and spec.command == str(BIN / f"strata-{name}") for name, spec in specs.items()
    )


def test_servers_reports_each_server_and_degrades_one_by_one(
    tmp_path: Path, http_voice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "strata.toml"
    config.write_text(
        f"""
[servers.codegraph]
enabled = false
[servers.llm]
enabled = false
[servers.router]
enabled = false
[servers.memory]
enabled = false
[servers.voice]
command = "{BIN / "strata-voice"}"
[servers.voice-http]
url = "{http_voice}"
token_env = "VOICE_TOKEN"
[servers.voice-badtoken]
url = "{http_voice}"
[servers.ghost]
command = "{tmp_path / "no-such-server"}"
[servers.crash]
command = "{sys.executable}"
args = ["-c", "import sys; sys.exit(3)"]
"""
    )
    monkeypatch.setenv("STRATA_CONFIG", str(config))
    monkeypatch.setenv("VOICE_TOKEN", TOKEN)
    result = CliRunner().invoke(cli, ["servers", "--json", "--timeout", "90", "--logs", str(tmp_path / "logs")])
    assert result.exit_code == 1, result.output
    reports = {r["name"]: r for r in map(json.loads, result.output.splitlines())}
    assert list(reports) == ["voice", "voice-http", "voice-badtoken", "ghost", "crash"]
    tools = ["voice.list_voices", "voice.speak", "voice.status", "voice.transcribe"]
    for name, transport in (("voice", "stdio"), ("voice-http", "http")):
        assert reports[name]["health"] == "ok" and reports[name]["transport"] == transport
        assert reports[name]["tools"] == [t.replace("voice.", f"{name}.") for t in tools]
        assert reports[name]["ping_ms"] > 0
    assert reports["voice-badtoken"]["health"] != "ok" and "401" in reports["voice-badtoken"]["error"]
    assert reports["ghost"]["health"] == "unreachable" and "no-such-server" in reports["ghost"]["error"]
    assert reports["crash"]["health"] == "unreachable"
    assert "serving" in (tmp_path / "logs" / "voice.log").read_text()  # server stderr went to its log


def test_only_picks_servers_and_names_unknown_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(cli, ["servers", "--only", "voice,nosuch"])
    assert result.exit_code == 2 and "no server named nosuch" in result.output


def test_a_server_table_needs_exactly_one_transport(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "strata.toml"
    config.write_text('[servers.both]\ncommand = "x"\nurl = "http://127.0.0.1:1/mcp"\n')
    monkeypatch.setenv("STRATA_CONFIG", str(config))
    result = CliRunner().invoke(cli, ["servers"])
    assert result.exit_code == 1 and "exactly one of command (stdio) or url (HTTP)" in result.output
