"""How each client's approval and folder-trust files are read (the rules test_real_clients.py checks against the
clients themselves, here without npm)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strata.orchestrator.trust import gates

NAMES = ["strata-memory", "strata-voice"]


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    home, repo = tmp_path / "home", tmp_path / "repo"
    home.mkdir()
    repo.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("CODEX_HOME", "CLAUDE_CONFIG_DIR", "GEMINI_CLI_TRUST_WORKSPACE", "GEMINI_RESTRICTED_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("GEMINI_CLI_TRUSTED_FOLDERS_PATH", raising=False)
    return home, repo.resolve()


def write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def states(client: str, repo: Path, scope: str = "project") -> dict[str, str]:
    return {name: gate.state for name, gate in gates(client, scope, repo, NAMES).items()}


def test_claude_code_approvals_count_where_the_folder_trust_allows(place: tuple[Path, Path]) -> None:
    home, repo = place
    assert states("claude-code", repo) == dict.fromkeys(NAMES, "pending approval")
    assert states("claude-code", repo, "local") == {} and states("claude-code", repo, "user") == {}
    write(repo / ".claude" / "settings.local.json", {"enabledMcpjsonServers": ["strata-voice"]})
    assert states("claude-code", repo) == dict.fromkeys(NAMES, "pending approval")  # not in an untrusted folder
    write(home / ".claude.json", {"projects": {str(repo): {"hasTrustDialogAccepted": True}}})
    assert states("claude-code", repo) == {"strata-memory": "pending approval"}
    write(home / ".claude" / "settings.json", {"enableAllProjectMcpServers": True})  # the user's: any folder
    assert states("claude-code", repo) == {}
    write(repo / ".claude" / "settings.json", {"disabledMcpjsonServers": ["strata-memory"]})
    [gate] = gates("claude-code", "project", repo, ["strata-memory"]).values()
    assert gate.state == "rejected" and str(repo / ".claude" / "settings.json") in gate.next_step


def test_gemini_trust_is_the_longest_matching_rule(place: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    home, repo = place
    rules = home / ".gemini" / "trustedFolders.json"
    assert states("gemini", repo) == dict.fromkeys(NAMES, "untrusted folder")
    assert states("gemini", repo, "user") == dict.fromkeys(NAMES, "untrusted folder")  # the user's servers too
    for folders, trusted in [
        ({str(repo): "TRUST_FOLDER"}, True),
        ({str(repo.parent): "TRUST_FOLDER"}, True),  # a folder covers what is below it
        ({str(repo / "x"): "TRUST_PARENT"}, True),  # the rule's parent is trusted
        ({str(repo): "TRUST_PARENT"}, True),  # repo's parent, which holds repo
        ({str(repo.parent): "TRUST_FOLDER", str(repo): "DO_NOT_TRUST"}, False),
        ({str(repo.parent): "DO_NOT_TRUST", str(repo): "TRUST_FOLDER"}, True),
    ]:
        write(rules, folders)
        expected = {} if trusted else dict.fromkeys(NAMES, "untrusted folder")
        assert states("gemini", repo) == expected, folders
    write(rules, {str(repo): "DO_NOT_TRUST"})
    assert "DO_NOT_TRUST" in gates("gemini", "project", repo, NAMES)["strata-voice"].next_step
    write(home / ".gemini" / "settings.json", {"security": {"folderTrust": {"enabled": False}}})
    assert states("gemini", repo) == {}
    monkeypatch.setenv("GEMINI_CLI_TRUST_WORKSPACE", "false")
    assert states("gemini", repo) == dict.fromkeys(NAMES, "untrusted folder")


def test_codex_trusts_the_project_folder_itself_only(place: tuple[Path, Path]) -> None:
    home, repo = place
    config = home / ".codex" / "config.toml"
    config.parent.mkdir()
    assert states("codex", repo) == dict.fromkeys(NAMES, "untrusted folder")
    assert states("codex", repo, "user") == {}
    config.write_text(f'[projects.{json.dumps(str(repo.parent))}]\ntrust_level = "trusted"\n')
    assert states("codex", repo) == dict.fromkeys(NAMES, "untrusted folder")  # a trusted parent does not count
    config.write_text(f'[projects.{json.dumps(str(repo))}]\ntrust_level = "trusted"\n')
    assert states("codex", repo) == {}
