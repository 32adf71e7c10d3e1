"""Whether a client will start a registered server at all: its approval and folder-trust state, read from the
client's own files, and the step that lets it.

Each rule was checked against the client itself (``claude mcp list`` 2.1.332, ``gemini mcp list`` 0.61, ``codex mcp
list`` 0.171; the tests run them where npm can install them):

- **Claude Code** keeps a project's ``.mcp.json`` servers at "Pending approval" until approved. Approvals
  (``enabledMcpjsonServers``, ``enableAllProjectMcpServers``) count from the user's ``settings.json`` always, and from
  the project's entry in ``.claude.json``, ``.claude/settings.local.json`` and ``.claude/settings.json`` only once
  the folder is trusted (``hasTrustDialogAccepted``, for the folder itself). ``disabledMcpjsonServers`` anywhere
  hides the server. User- and local-scope servers need no approval.
- **Gemini CLI** starts no MCP server, the user's included, in a folder it does not trust: ``trustedFolders.json``,
  the longest matching rule (``TRUST_FOLDER`` covers the folder and below it, ``TRUST_PARENT`` the rule's parent),
  unless ``security.folderTrust.enabled`` is false or ``GEMINI_CLI_TRUST_WORKSPACE`` says otherwise.
- **Codex** reads a project's ``.codex/config.toml`` only when ``[projects."<root>"] trust_level = "trusted"`` in
  its own config.toml, for that very folder (a trusted parent does not count).
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from strata.orchestrator.jsonedit import JsonEditError, loads

__all__ = ["Gate", "gates"]


@dataclass(frozen=True)
class Gate:
    """Why a client will not start a server yet, and what lets it."""

    state: Literal["pending approval", "rejected", "untrusted folder"]
    next_step: str


def gates(client: str, scope: str, repo: Path, names: list[str]) -> dict[str, Gate]:
    """The servers among ``names`` (registered for ``client`` in ``scope``) that the client will not start now."""
    repo = repo.resolve()
    if client == "claude-code" and scope == "project":
        return _claude_code(repo, names)
    if client == "gemini":
        gate = _gemini(repo)
        return dict.fromkeys(names, gate) if gate else {}
    if client == "codex" and scope == "project":
        gate = _codex(repo)
        return dict.fromkeys(names, gate) if gate else {}
    return {}


def _read_json(path: Path) -> dict[str, Any]:
    """A client's JSON (or JSONC) file as a dict; absent or unreadable: empty."""
    try:
        data = loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, JsonEditError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _names(settings: dict[str, Any], key: str) -> set[str]:
    value = settings.get(key)
    return {v for v in value if isinstance(v, str)} if isinstance(value, list) else set()


def _claude_code(repo: Path, names: list[str]) -> dict[str, Gate]:
    config_dir = os.environ.get("CLAUDE_CONFIG_DIR")
    home = Path(os.environ.get("HOME") or Path.home())
    claude_json = Path(config_dir) / ".claude.json" if config_dir else home / ".claude.json"
    user_settings = (Path(config_dir) if config_dir else home / ".claude") / "settings.json"
    projects = _read_json(claude_json).get("projects")
    entry = projects.get(str(repo), {}) if isinstance(projects, dict) else {}
    entry = entry if isinstance(entry, dict) else {}
    trusted = entry.get("hasTrustDialogAccepted") is True
    always = [(user_settings, _read_json(user_settings))]
    once_trusted = [
        (claude_json, entry),
        (repo / ".claude" / "settings.local.json", _read_json(repo / ".claude" / "settings.local.json")),
        (repo / ".claude" / "settings.json", _read_json(repo / ".claude" / "settings.json")),
    ]
    counted = always + once_trusted if trusted else always
    found: dict[str, Gate] = {}
    for name in names:
        rejected = [
            path for path, settings in always + once_trusted if name in _names(settings, "disabledMcpjsonServers")
        ]
        if rejected:
            found[name] = Gate(
                "rejected",
                f"Claude Code was told not to start it (disabledMcpjsonServers in {rejected[0]}): take it out of "
                f"that list, or run `claude mcp reset-project-choices` in {repo} and approve it",
            )
            continue
        approved = any(
            settings.get("enableAllProjectMcpServers") is True or name in _names(settings, "enabledMcpjsonServers")
            for _, settings in counted
        )
        if not approved:
            trust = "" if trusted else ", accept the folder trust dialog"
            found[name] = Gate(
                "pending approval",
                f"Claude Code starts a project's .mcp.json servers only once approved: run `claude` in {repo}{trust} "
                f"and approve the strata-* servers (or register with --scope local: private to you, nothing to approve)",
            )
    return found


def _gemini(repo: Path) -> Gate | None:
    home = Path(os.environ.get("HOME") or Path.home())
    forced = os.environ.get("GEMINI_CLI_TRUST_WORKSPACE")
    if os.environ.get("GEMINI_RESTRICTED_MODE") == "true" or forced == "false":
        return Gate(
            "untrusted folder",
            "Gemini CLI runs in restricted mode here (GEMINI_RESTRICTED_MODE or GEMINI_CLI_TRUST_WORKSPACE=false in "
            "its environment) and starts no MCP server: unset it",
        )
    if forced == "true":
        return None
    security = _read_json(home / ".gemini" / "settings.json").get("security")
    folder_trust = security.get("folderTrust") if isinstance(security, dict) else None
    if isinstance(folder_trust, dict) and folder_trust.get("enabled") is False:
        return None
    rules_file = Path(os.environ.get("GEMINI_CLI_TRUSTED_FOLDERS_PATH") or home / ".gemini" / "trustedFolders.json")
    rules = _read_json(rules_file)
    best, level = -1, None
    for rule, value in rules.items():
        covered = Path(rule).parent if value == "TRUST_PARENT" else Path(rule)
        if _within(repo, covered) and len(rule) > best:
            best, level = len(rule), value
    if level in ("TRUST_FOLDER", "TRUST_PARENT"):
        return None
    how = (
        f"it is marked DO_NOT_TRUST in {rules_file}: change that rule to TRUST_FOLDER"
        if level == "DO_NOT_TRUST"
        else f'run `gemini` in {repo} and choose "Trust folder", or add "{repo}": "TRUST_FOLDER" to {rules_file}'
    )
    return Gate("untrusted folder", f"Gemini CLI starts no MCP server in a folder it does not trust: {how}")


def _within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder.resolve() if folder.exists() else folder)
    except ValueError:
        return False
    return True


def _codex(repo: Path) -> Gate | None:
    home = Path(os.environ.get("HOME") or Path.home())
    codex_home = Path(os.environ["CODEX_HOME"]) if os.environ.get("CODEX_HOME") else home / ".codex"
    config_file = codex_home / "config.toml"
    try:
        config = tomllib.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        config = {}
    projects = config.get("projects")
    project = projects.get(str(repo)) if isinstance(projects, dict) else None
    if isinstance(project, dict) and project.get("trust_level") == "trusted":
        return None
    return Gate(
        "untrusted folder",
        f"Codex ignores {repo / '.codex' / 'config.toml'} until it trusts the project: run `codex` in {repo} and "
        f'trust it, or add [projects.{json.dumps(str(repo))}] trust_level = "trusted" to {config_file}',
    )
