"""Where each coding agent keeps its MCP servers, and how it wants one written.

A ``Location`` is a file plus the path of the servers table inside it; ``entry`` turns one Strata
server into that client's shape. Secrets never appear: HTTP entries reference ``$STRATA_TOKEN`` in
the client's own interpolation syntax (Codex: ``bearer_token_env_var``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "CLIENTS", "DEFAULT_SCOPES", "SCOPES", "ClientLaunch", "Launch", "Location", "entry", "expand", "launch_of",
    "locate", "opencode_layout",
]  # fmt: skip

Client = Literal[
    "claude-code",
    "cursor",
    "opencode",
    "codex",
    "gemini",
    "claude-desktop",
    "vscode",
    "windsurf",
    "kiro",
    "zed",
    "cline",
    "roo",
]
Scope = Literal["project", "user", "local"]
CLIENTS: tuple[Client, ...] = (
    "claude-code", "cursor", "opencode", "codex", "gemini", "claude-desktop", "vscode", "windsurf", "kiro", "zed",
    "cline", "roo",
)  # fmt: skip
DEFAULT_SCOPES: dict[str, Scope] = {
    "claude-code": "project", "cursor": "project", "opencode": "project",
    "codex": "user", "gemini": "project", "claude-desktop": "user",
    "vscode": "project", "windsurf": "user", "kiro": "project", "zed": "project", "cline": "user", "roo": "project",
}  # fmt: skip
SCOPES: dict[str, tuple[Scope, ...]] = {
    "claude-code": ("project", "user", "local"), "cursor": ("project", "user"), "opencode": ("project", "user"),
    "codex": ("project", "user"), "gemini": ("project", "user"), "claude-desktop": ("user",),
    "vscode": ("project", "user"), "windsurf": ("user",), "kiro": ("project", "user"), "zed": ("project", "user"),
    "cline": ("user",), "roo": ("project", "user"),
}  # fmt: skip
TOKEN_ENV = "STRATA_TOKEN"  # noqa: S105 - the name of the variable, not a secret
STARTUP_TIMEOUT_S = 30
# Codex stops a tool call after 60 s unless told (tool_timeout_sec); an llm chat or an index of a large repository
# takes longer. Ten minutes, Gemini CLI's own default per call (its "timeout" bounds every call, not the start).
TOOL_TIMEOUT_S = 600


@dataclass(frozen=True)
class Location:
    client: str
    scope: Scope
    path: Path
    container: tuple[str, ...]  # keys leading to the servers table
    layout: str = ""  # opencode: v1 or v2

    @property
    def is_toml(self) -> bool:
        return self.path.suffix == ".toml"


@dataclass(frozen=True)
class Launch:
    """A server as a client would start it: a command (stdio) or a URL (HTTP)."""

    command: str | None = None
    args: tuple[str, ...] = ()
    url: str | None = None
    env: tuple[tuple[str, str], ...] = ()  # what a stdio server needs set, whatever the client passes it

    @property
    def transport(self) -> str:
        return "http" if self.url else "stdio"


def _home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def _config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or _home() / ".config")


def _first_existing(*paths: Path) -> Path:
    return next((p for p in paths if p.exists()), paths[-1])


def opencode_layout(path: Path, text: str | None) -> str:
    """v2 (``mcp.servers``) or v1 (``mcp.<name>``): from the file when it says, else ``opencode --version``."""
    from strata.orchestrator.jsonedit import JsonEditError, loads

    if text and text.strip():
        try:
            mcp = (loads(text) or {}).get("mcp")
        except JsonEditError:
            mcp = None
        if isinstance(mcp, dict) and isinstance(mcp.get("servers"), dict):
            return "v2"
        if isinstance(mcp, dict) and any(isinstance(v, dict) and "type" in v for v in mcp.values()):
            return "v1"
    binary = shutil.which("opencode")
    if binary:
        try:
            version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            version = ""
        match = re.search(r"(\d+)\.\d+", version)
        if match and int(match.group(1)) >= 2:
            return "v2"
    return "v1"


def locate(client: str, scope: Scope, repo: Path, layout: str | None = None) -> Location:
    """The file (and table inside it) that ``client`` reads for ``scope``."""
    if scope not in SCOPES[client]:
        raise ValueError(f"{client} has no {scope} scope (it has: {', '.join(SCOPES[client])})")
    home, repo = _home(), repo.resolve()
    if client == "claude-code":
        claude_json = Path(os.environ["CLAUDE_CONFIG_DIR"]) / ".claude.json" if os.environ.get("CLAUDE_CONFIG_DIR") else home / ".claude.json"  # fmt: skip
        if scope == "project":
            return Location(client, scope, repo / ".mcp.json", ("mcpServers",))
        if scope == "user":
            return Location(client, scope, claude_json, ("mcpServers",))
        return Location(client, scope, claude_json, ("projects", str(repo), "mcpServers"))
    if client == "cursor":
        base = repo if scope == "project" else home
        return Location(client, scope, base / ".cursor" / "mcp.json", ("mcpServers",))
    if client == "opencode":
        base = repo if scope == "project" else _config_home() / "opencode"
        path = _first_existing(base / "opencode.jsonc", base / "opencode.json")
        chosen = layout or opencode_layout(path, path.read_text(encoding="utf-8") if path.exists() else None)
        return Location(client, scope, path, ("mcp", "servers") if chosen == "v2" else ("mcp",), chosen)
    if client == "codex":
        codex_home = Path(os.environ["CODEX_HOME"]) if os.environ.get("CODEX_HOME") else home / ".codex"
        base = repo / ".codex" if scope == "project" else codex_home
        return Location(client, scope, base / "config.toml", ("mcp_servers",))
    if client == "gemini":
        base = repo if scope == "project" else home
        return Location(client, scope, base / ".gemini" / "settings.json", ("mcpServers",))
    if client == "vscode":  # VS Code's own format: a top-level "servers" object
        if scope == "project":
            return Location(client, scope, repo / ".vscode" / "mcp.json", ("servers",))
        return Location(client, scope, _vscode_user_dir(home) / "mcp.json", ("servers",))
    if client == "windsurf":
        return Location(client, scope, home / ".codeium" / "windsurf" / "mcp_config.json", ("mcpServers",))
    if client == "kiro":
        base = repo if scope == "project" else home
        return Location(client, scope, base / ".kiro" / "settings" / "mcp.json", ("mcpServers",))
    if client == "cline":  # the VS Code extension's own storage
        storage = _vscode_user_dir(home) / "globalStorage" / "saoudrizwan.claude-dev" / "settings"
        return Location(client, scope, storage / "cline_mcp_settings.json", ("mcpServers",))
    if client == "roo":
        if scope == "project":
            return Location(client, scope, repo / ".roo" / "mcp.json", ("mcpServers",))
        storage = _vscode_user_dir(home) / "globalStorage" / "rooveterinaryinc.roo-cline" / "settings"
        return Location(client, scope, storage / "mcp_settings.json", ("mcpServers",))
    if client == "zed":  # its settings file (JSONC), "context_servers"
        path = repo / ".zed" / "settings.json" if scope == "project" else _config_home() / "zed" / "settings.json"
        return Location(client, scope, path, ("context_servers",))
    if sys.platform == "darwin":
        path = home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    elif sys.platform == "win32":
        path = Path(os.environ.get("APPDATA", home)) / "Claude" / "claude_desktop_config.json"
    else:
        path = _config_home() / "Claude" / "claude_desktop_config.json"
    return Location(client, scope, path, ("mcpServers",))


def _vscode_user_dir(home: Path) -> Path:
    """VS Code's user profile folder (the default profile), where its user-level mcp.json lives."""
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "Code" / "User"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", home)) / "Code" / "User"
    return _config_home() / "Code" / "User"


def entry(location: Location, launch: Launch) -> dict[str, Any]:
    """``launch`` in the shape ``location.client`` expects."""
    client, command, args = location.client, launch.command or "", list(launch.args)
    if launch.url is None:
        env = dict(launch.env)
        if client in ("claude-code", "vscode"):
            return {"type": "stdio", "command": command, "args": args, "env": env}
        if client == "opencode":
            base: dict[str, Any] = {"type": "local", "command": [command, *args], "environment": env}
            return base if location.layout == "v2" else {**base, "enabled": True}
        if client == "codex":
            return {
                "command": command, "args": args, "env": env, "startup_timeout_sec": STARTUP_TIMEOUT_S,
                "tool_timeout_sec": TOOL_TIMEOUT_S,
            }  # fmt: skip
        return {"command": command, "args": args, "env": env}
    url = launch.url
    if client == "claude-desktop":
        raise ValueError("Claude Desktop starts stdio servers only - register with --transport stdio")
    if client in ("zed", "cline", "roo"):  # no documented variable in headers, and strata never writes the token
        name = {"zed": "Zed", "cline": "Cline", "roo": "Roo Code"}[client]
        raise ValueError(f"{name}'s headers cannot reference $STRATA_TOKEN - register with --transport stdio")
    if client == "claude-code":
        return {"type": "http", "url": url, "headers": {"Authorization": f"Bearer ${{{TOKEN_ENV}}}"}}
    if client == "cursor":
        return {"url": url, "headers": {"Authorization": f"Bearer ${{env:{TOKEN_ENV}}}"}}
    if client == "vscode":
        return {"type": "http", "url": url, "headers": {"Authorization": f"Bearer ${{env:{TOKEN_ENV}}}"}}
    if client == "windsurf":  # "url" does not connect there: streamable HTTP is "serverUrl"
        return {"serverUrl": url, "headers": {"Authorization": f"Bearer ${{env:{TOKEN_ENV}}}"}}
    if client == "kiro":
        return {"url": url, "headers": {"Authorization": f"Bearer ${{{TOKEN_ENV}}}"}}
    if client == "opencode":
        remote: dict[str, Any] = {
            "type": "remote", "url": url, "headers": {"Authorization": f"Bearer {{env:{TOKEN_ENV}}}"},
        }  # fmt: skip
        return remote if location.layout == "v2" else {**remote, "enabled": True}
    if client == "codex":
        return {"url": url, "bearer_token_env_var": TOKEN_ENV, "tool_timeout_sec": TOOL_TIMEOUT_S}
    return {"httpUrl": url, "headers": {"Authorization": f"Bearer ${TOKEN_ENV}"}}


ENV_REFERENCE = re.compile(r"\$\{env:(\w+)\}|\$\{(\w+)(?::-([^}]*))?\}|\{env:(\w+)\}|\$(\w+)")


def expand(value: str, env: dict[str, str]) -> str:
    """Expand every client's variable syntax: ``${VAR}``, ``${VAR:-default}``, ``${env:VAR}``, ``{env:VAR}``, ``$VAR``."""

    def one(match: re.Match[str]) -> str:
        cursor, name, default, opencode, bare = match.groups()
        key = cursor or name or opencode or bare
        return env.get(key, default if default is not None else "")

    return ENV_REFERENCE.sub(one, value)


@dataclass(frozen=True)
class ClientLaunch:
    """What a client would run for an entry: argv, env and cwd (stdio), or URL and headers (HTTP)."""

    argv: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    cwd: str | None = None
    url: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


def launch_of(client: str, value: dict[str, Any], env: dict[str, str]) -> ClientLaunch:
    """Read an entry back the way ``client`` interprets it, expanding variable references from ``env``."""
    if client == "codex" and value.get("url"):
        token = env.get(str(value.get("bearer_token_env_var", "")), "")
        headers = {str(k): expand(str(v), env) for k, v in dict(value.get("http_headers") or {}).items()}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return ClientLaunch(url=str(value["url"]), headers=tuple(headers.items()))
    url = value.get("httpUrl") or value.get("url") or value.get("serverUrl")
    if url:
        headers = {str(k): expand(str(v), env) for k, v in dict(value.get("headers") or {}).items()}
        return ClientLaunch(url=expand(str(url), env), headers=tuple(headers.items()))
    if client == "opencode":
        argv = [expand(str(a), env) for a in value.get("command", [])]
        extra = value.get("environment") or {}
    else:
        argv = [expand(str(value.get("command", "")), env), *[expand(str(a), env) for a in value.get("args", [])]]
        extra = value.get("env") or {}
    cwd = value.get("cwd")
    return ClientLaunch(
        argv=tuple(argv), env=tuple((str(k), expand(str(v), env)) for k, v in dict(extra).items()),
        cwd=str(cwd) if cwd else None,
    )  # fmt: skip
