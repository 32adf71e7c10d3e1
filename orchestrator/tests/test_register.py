"""`strata register` / `unregister` against golden files for every client format, and `strata doctor`
against the real servers started the way each client would start them.

Golden files hold ``<BIN>`` for this environment's bin directory and ``<REPO>`` for the project, so
they compare on any machine. ``STRATA_UPDATE_GOLDEN=1 pytest orchestrator/tests/test_register.py``
rewrites them (then read the diff).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from strata.orchestrator.cli import cli
from strata.orchestrator.jsonedit import loads
from strata.orchestrator.register import RegistrationError, register, unregister

from .conftest import TOKEN  # type: ignore[import-not-found]

GOLDEN = Path(__file__).parent / "golden"
BIN = str(Path(sys.executable).parent)
FILES = {  # client -> file for the project scope (user scope for codex and claude-desktop), under HOME or REPO
    "claude-code": ("repo", ".mcp.json"),
    "cursor": ("repo", ".cursor/mcp.json"),
    "opencode": ("repo", "opencode.json"),
    "codex": ("home", ".codex/config.toml"),
    "gemini": ("repo", ".gemini/settings.json"),
    "claude-desktop": ("home", ".config/Claude/claude_desktop_config.json"),
    "vscode": ("repo", ".vscode/mcp.json"),
    "windsurf": ("home", ".codeium/windsurf/mcp_config.json"),
    "kiro": ("repo", ".kiro/settings/mcp.json"),
    "zed": ("repo", ".zed/settings.json"),
    "cline": ("home", ".config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json"),
    "roo": ("repo", ".roo/mcp.json"),
}
FOREIGN = {  # hand-written files with other servers (and comments where the format has them)
    "claude-code": '{\n  "mcpServers": {\n    "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],\n               "env": {"GITHUB_TOKEN": "${GITHUB_TOKEN}"}}\n  },\n  "note": "keep me"\n}\n',
    "cursor": '{\n\t"mcpServers": {\n\t\t"linear": {"url": "https://mcp.linear.app/sse"}\n\t}\n}\n',
    "opencode": '{\n  // my OpenCode setup\n  "$schema": "https://opencode.ai/config.json",\n  "theme": "tokyonight",\n  "mcp": {\n    "sentry": {"type": "remote", "url": "https://mcp.sentry.dev/mcp", "enabled": true}, // work\n  },\n}\n',
    "codex": '# Codex settings, by hand\nmodel = "gpt-5-codex"  # the default\n\n[mcp_servers.docs]\ncommand = "docs-mcp"  # keep\nargs = ["--stdio"]\n\n[profiles.fast]\nmodel = "gpt-5-mini"\n',
    "gemini": '{\n    "theme": "Dracula",\n    "mcpServers": {\n        "pal": {"command": "pal-mcp", "timeout": 30000}\n    },\n    "mcp": {"allowed": ["pal"]}\n}\n',
    "claude-desktop": '{\n  "globalShortcut": "Ctrl+Space",\n  "mcpServers": {\n    "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]}\n  }\n}\n',
    "vscode": '{\n\t// the team\'s servers\n\t"inputs": [{"type": "promptString", "id": "gh", "password": true}],\n\t"servers": {\n\t\t"github": {"type": "http", "url": "https://api.githubcopilot.com/mcp/"}\n\t}\n}\n',
    "windsurf": '{\n  "mcpServers": {\n    "confluent": {"command": "npx", "args": ["-y", "@confluentinc/mcp-confluent"], "disabled": false}\n  }\n}\n',
    "kiro": '{\n  "mcpServers": {\n    "aws-docs": {"command": "uvx", "args": ["awslabs.aws-documentation-mcp-server@latest"], "autoApprove": []}\n  }\n}\n',
    "zed": '// Zed settings\n{\n  "theme": "One Dark",\n  "context_servers": {\n    "postgres": {"command": "pg-mcp", "args": [], "env": {}}\n  },\n}\n',
    "cline": '{\n  "mcpServers": {\n    "fetch": {"command": "uvx", "args": ["mcp-server-fetch"], "disabled": false, "autoApprove": []}\n  }\n}\n',
    "roo": '{\n  "mcpServers": {\n    "fetch": {"command": "uvx", "args": ["mcp-server-fetch"], "alwaysAllow": []}\n  }\n}\n',
}


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    home, repo = tmp_path / "home", tmp_path / "repo"
    home.mkdir()
    repo.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CONFIG_HOME", "CODEX_HOME", "CLAUDE_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr("shutil.which", lambda *_a, **_k: None)  # no opencode binary: layout from the file
    return {"home": home, "repo": repo}


def config_file(client: str, places: dict[str, Path]) -> Path:
    where, relative = FILES[client]
    return places[where] / relative


def normalise(text: str, places: dict[str, Path]) -> str:
    text = text.replace(BIN, "<BIN>").replace(str(places["repo"].resolve()), "<REPO>")
    return text.replace(str(Path(os.environ["STRATA_HOME"]).resolve()), "<STRATA_HOME>")


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("STRATA_UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"no golden file {path} - run with STRATA_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"{name} differs from its golden file"


def scope_of(client: str) -> str:
    return "user" if client in ("codex", "claude-desktop", "windsurf", "cline") else "project"


def suffix(client: str) -> str:
    return ".toml" if client == "codex" else ".json"


@pytest.mark.parametrize("client", list(FILES))
def test_fresh_file_rerun_and_unregister(client: str, places: dict[str, Path]) -> None:
    repo, scope = places["repo"], scope_of(client)
    change = register(client, [], scope=scope, transport="stdio", repo=repo)
    path = config_file(client, places)
    assert change.written and change.location.path == path and change.backup is None
    check_golden(f"{client}-fresh{suffix(client)}", normalise(path.read_text(), places))
    again = register(client, [], scope=scope, transport="stdio", repo=repo)
    assert not again.written and len(again.skipped) == 5  # idempotent: nothing rewritten
    gone = unregister(client, [], scope=scope, repo=repo)
    assert sorted(gone.removed) == sorted(change.added) and not path.exists()  # it created the file: it goes


@pytest.mark.parametrize("client", list(FILES))
def test_foreign_entries_and_comments_survive_byte_for_byte(client: str, places: dict[str, Path]) -> None:
    repo, scope, path = places["repo"], scope_of(client), config_file(client, places)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FOREIGN[client])
    preview = register(client, ["codegraph", "voice"], scope=scope, transport="stdio", repo=repo, dry_run=True)
    assert path.read_text() == FOREIGN[client] and preview.diff.count("\n+") > 4  # dry run: a diff, no write
    change = register(client, ["codegraph", "voice"], scope=scope, transport="stdio", repo=repo)
    assert change.backup is not None and change.backup.read_text() == FOREIGN[client]
    written = path.read_text()
    check_golden(f"{client}-foreign{suffix(client)}", normalise(written, places))
    assert not register(client, ["codegraph", "voice"], scope=scope, transport="stdio", repo=repo).written
    unregister(client, ["codegraph", "voice"], scope=scope, repo=repo)
    assert path.read_text() == FOREIGN[client]  # the round trip restores every byte


@pytest.mark.parametrize("client", [c for c in FILES if c not in ("claude-desktop", "zed", "cline", "roo")])
def test_http_entries_reference_the_token_variable_only(
    client: str, places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRATA_TOKEN", "s3cret-value")
    register(client, ["memory", "router"], scope=scope_of(client), transport="http", repo=places["repo"])
    text = config_file(client, places).read_text()
    assert "s3cret-value" not in text and "STRATA_TOKEN" in text and "http://127.0.0.1:8103/mcp" in text
    check_golden(f"{client}-http{suffix(client)}", normalise(text, places))


@pytest.mark.parametrize("client", ["zed", "cline", "roo"])
def test_clients_whose_headers_take_no_variable_refuse_http(client: str, places: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match=r"headers cannot reference \$STRATA_TOKEN - register with --transport stdio"):
        register(client, ["memory"], scope=scope_of(client), transport="http", repo=places["repo"])
    assert not config_file(client, places).exists()


def test_claude_desktop_refuses_http(places: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="stdio servers only"):
        register("claude-desktop", ["memory"], scope="user", transport="http", repo=places["repo"])


def test_opencode_v2_is_detected_from_the_file_and_written_under_mcp_servers(places: dict[str, Path]) -> None:
    path = config_file("opencode", places)
    v2 = '{\n  "$schema": "https://opencode.ai/config.json",\n  "mcp": {\n    "servers": {\n      "sentry": {"type": "remote", "url": "https://mcp.sentry.dev/mcp"}\n    }\n  }\n}\n'
    path.write_text(v2)
    change = register("opencode", ["llm"], scope="project", transport="stdio", repo=places["repo"])
    assert change.location.layout == "v2"
    check_golden("opencode-v2.json", normalise(path.read_text(), places))
    value = loads(path.read_text())["mcp"]["servers"]["strata-llm"]
    assert "enabled" not in value and value["command"][0].endswith("strata-llm")
    unregister("opencode", [], scope="project", repo=places["repo"])
    assert path.read_text() == v2


def test_claude_code_local_scope_lives_in_the_project_entry_of_claude_json(places: dict[str, Path]) -> None:
    claude_json = places["home"] / ".claude.json"
    original = '{\n  "numStartups": 12,\n  "projects": {\n    "/elsewhere": {"mcpServers": {}}\n  }\n}\n'
    claude_json.write_text(original)
    register("claude-code", ["memory"], scope="local", transport="stdio", repo=places["repo"])
    data = loads(claude_json.read_text())
    assert data["projects"][str(places["repo"].resolve())]["mcpServers"]["strata-memory"]["args"] == ["serve"]
    assert data["numStartups"] == 12 and data["projects"]["/elsewhere"] == {"mcpServers": {}}
    unregister("claude-code", [], scope="local", repo=places["repo"])
    assert claude_json.read_text() == original  # the project table it created goes too


def test_never_clobbers_a_foreign_or_hand_edited_entry(places: dict[str, Path]) -> None:
    path = config_file("cursor", places)
    path.parent.mkdir(parents=True)
    path.write_text('{"mcpServers": {"strata-memory": {"command": "my-own-memory"}}}\n')
    change = register("cursor", ["memory"], scope="project", transport="stdio", repo=places["repo"])
    assert not change.written and "not written by strata" in change.skipped[0]
    assert loads(path.read_text())["mcpServers"]["strata-memory"] == {"command": "my-own-memory"}
    forced = register("cursor", ["memory"], scope="project", transport="stdio", repo=places["repo"], force=True)
    assert forced.written and loads(path.read_text())["mcpServers"]["strata-memory"]["args"] == ["serve"]

    edited = path.read_text().replace('"serve"', '"serve", "--log-level", "debug"')
    path.write_text(edited)
    kept = unregister("cursor", [], scope="project", repo=places["repo"])
    assert "edited by hand" in kept.skipped[0] and path.read_text() == edited


def test_broken_files_and_unknown_names_are_refused_untouched(places: dict[str, Path]) -> None:
    path = config_file("gemini", places)
    path.parent.mkdir(parents=True)
    path.write_text('{"mcpServers": {')
    with pytest.raises(RegistrationError, match="not valid JSON"):
        register("gemini", ["memory"], scope="project", transport="stdio", repo=places["repo"])
    assert path.read_text() == '{"mcpServers": {'
    with pytest.raises(RegistrationError, match="unknown server nope"):
        register("gemini", ["nope"], scope="project", transport="stdio", repo=places["repo"])
    with pytest.raises(ValueError, match="no local scope"):
        register("cursor", ["memory"], scope="local", transport="stdio", repo=places["repo"])


@pytest.mark.slow
def test_doctor_starts_registered_servers_like_the_client(places: dict[str, Path]) -> None:
    runner = CliRunner()
    repo = str(places["repo"])
    assert runner.invoke(cli, ["register", "cursor", "memory", "router", "--repo", repo]).exit_code == 0
    assert runner.invoke(cli, ["register", "opencode", "voice", "--repo", repo]).exit_code == 0
    path = config_file("claude-code", places)  # a hand-made entry that relies on PATH: what doctor must catch
    path.write_text('{"mcpServers": {"strata-llm": {"command": "strata-llm", "args": ["serve"]}}}\n')
    result = runner.invoke(cli, ["doctor", "--repo", repo, "--json"])
    rows = {(r["client"], r["server"]): r for r in map(json.loads, result.output.splitlines())}
    assert result.exit_code == 1, result.output
    assert {k: r["health"] for k, r in rows.items()} == {
        ("claude-code", "strata-llm"): "error",
        ("cursor", "strata-memory"): "ok",
        ("cursor", "strata-router"): "ok",
        ("opencode", "strata-voice"): "ok",
    }
    assert "not an absolute path" in rows[("claude-code", "strata-llm")]["error"]
    assert rows[("cursor", "strata-memory")]["tools"] == 12 and rows[("opencode", "strata-voice")]["tools"] == 4
    path.unlink()
    only = runner.invoke(cli, ["doctor", "opencode", "--repo", repo])
    assert only.exit_code == 0 and "strata-voice" in only.output


@pytest.mark.slow
def test_doctor_reaches_http_entries_with_their_expanded_headers(
    places: dict[str, Path], http_voice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config_file("cursor", places)
    path.parent.mkdir(parents=True)
    entry = {"url": http_voice, "headers": {"Authorization": "Bearer ${env:STRATA_TOKEN}"}}
    path.write_text(json.dumps({"mcpServers": {"strata-voice": entry}}))
    runner, repo = CliRunner(), str(places["repo"])
    monkeypatch.delenv("STRATA_TOKEN", raising=False)
    unset = json.loads(runner.invoke(cli, ["doctor", "cursor", "--repo", repo, "--json"]).output)
    assert unset["health"] == "error" and "set STRATA_TOKEN" in unset["error"]
    monkeypatch.setenv("STRATA_TOKEN", "a-wrong-token")
    wrong = json.loads(runner.invoke(cli, ["doctor", "cursor", "--repo", repo, "--json"]).output)
    assert wrong["health"] != "ok" and wrong["error"] == "HTTP 401: the server refused this bearer token"
    monkeypatch.setenv("STRATA_TOKEN", TOKEN)
    result = runner.invoke(cli, ["doctor", "cursor", "--repo", repo, "--json"])
    row = json.loads(result.output)
    assert result.exit_code == 0 and row["health"] == "ok" and row["transport"] == "http" and row["tools"] == 4


def test_backups_keep_the_mode_of_what_they_copy_and_sort_as_time_does(places: dict[str, Path]) -> None:
    from strata.orchestrator.register import backup_stamp

    path = config_file("claude-code", places)
    path.write_text(FOREIGN["claude-code"])
    path.chmod(0o600)  # ~/.claude.json is 600: it holds tokens
    change = register("claude-code", ["voice"], scope="project", transport="stdio", repo=places["repo"])
    assert change.backup is not None and change.backup.stat().st_mode & 0o777 == 0o600
    second = 1_796_000_000 * 10**9
    times = [second + 1_000_500, second + 2_000_100, second + 999_999_999, second + 10**9]  # within one second too
    assert sorted(map(backup_stamp, times)) == list(map(backup_stamp, times))
    assert backup_stamp(second + 2_000_100) == "20261130-005320-002000100"  # UTC, to the nanosecond


def test_unregister_takes_back_the_folder_it_created_and_says_what_it_kept(places: dict[str, Path]) -> None:
    repo = places["repo"]
    register("gemini", ["voice"], scope="project", transport="stdio", repo=repo)
    unregister("gemini", [], scope="project", repo=repo)
    assert not (repo / ".gemini").exists()  # strata made it for the file: both go
    register("gemini", ["voice"], scope="project", transport="stdio", repo=repo)
    (repo / ".gemini" / "GEMINI.md").write_text("# notes\n")  # the user's, added since
    gone = unregister("gemini", [], scope="project", repo=repo)
    assert (repo / ".gemini" / "GEMINI.md").exists() and not (repo / ".gemini" / "settings.json").exists()
    assert gone.kept == [f"{repo.resolve() / '.gemini'}: strata created it; kept for what it holds now"]
    register("opencode", ["voice"], scope="project", transport="stdio", repo=repo)
    path = config_file("opencode", places)
    path.write_text(path.read_text().replace("{", '{\n  "$schema": "https://opencode.ai/config.json",', 1))
    unregister("opencode", [], scope="project", repo=repo)
    assert not path.exists()  # only what OpenCode adds by itself was left besides the empty table
    register("opencode", ["voice"], scope="project", transport="stdio", repo=repo)
    path.write_text(path.read_text().replace("{", '{\n  "theme": "tokyonight",', 1))
    kept = unregister("opencode", [], scope="project", repo=repo)
    assert json.loads(path.read_text()) == {"theme": "tokyonight", "mcp": {}}
    assert kept.kept == [f"{path}: strata created it; kept for what was added since (theme)"]


def test_every_stdio_entry_carries_the_store_every_client_shares(places: dict[str, Path]) -> None:
    home = str(Path(os.environ["STRATA_HOME"]).resolve())
    for client in FILES:
        register(client, ["memory"], scope=scope_of(client), transport="stdio", repo=places["repo"])
        text = config_file(client, places).read_text()
        assert f'"STRATA_HOME": "{home}"' in text or f'STRATA_HOME = "{home}"' in text, client
    assert '"timeout"' not in config_file("gemini", places).read_text()  # Gemini's bounds each tool call


@pytest.mark.parametrize("client", ["vscode", "windsurf", "kiro"])
def test_doctor_reads_the_new_clients_entries_as_they_do(
    client: str, places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from strata.orchestrator.clients import launch_of
    from strata.orchestrator.register import registered_entries

    monkeypatch.setenv("STRATA_TOKEN", "t0k")
    register(client, ["memory"], scope=scope_of(client), transport="http", repo=places["repo"])
    _, entries = registered_entries(client, scope_of(client), places["repo"])
    http = launch_of(client, entries["strata-memory"], dict(os.environ))
    assert http.url == "http://127.0.0.1:8103/mcp" and dict(http.headers) == {"Authorization": "Bearer t0k"}
    unregister(client, [], scope=scope_of(client), repo=places["repo"])
    register(client, ["memory"], scope=scope_of(client), transport="stdio", repo=places["repo"])
    _, entries = registered_entries(client, scope_of(client), places["repo"])
    stdio = launch_of(client, entries["strata-memory"], dict(os.environ))
    assert stdio.argv == (f"{BIN}/strata-memory", "serve") and dict(stdio.env)["STRATA_HOME"]


def test_profiles_register_their_set_and_switching_removes_the_rest(places: dict[str, Path]) -> None:
    repo = places["repo"]
    (repo / "strata.toml").write_text(
        '[profiles.full]\nservers = ["codegraph", "memory", "router", "llm", "voice"]\n\n'
        '[profiles.lean]\nservers = ["codegraph", "memory"]\n\n'
        '[profiles.broken]\nservers = ["nope"]\n'
    )
    runner, path = CliRunner(), config_file("claude-code", places)

    def names() -> list[str]:
        return sorted(loads(path.read_text())["mcpServers"])

    assert runner.invoke(cli, ["register", "claude-code", "--profile", "full", "--repo", str(repo)]).exit_code == 0
    assert names() == ["strata-codegraph", "strata-llm", "strata-memory", "strata-router", "strata-voice"]
    lean = runner.invoke(cli, ["register", "claude-code", "--profile", "lean", "--repo", str(repo)])
    assert lean.exit_code == 0 and "- strata-voice" in lean.output, lean.output
    assert names() == ["strata-codegraph", "strata-memory"]
    unknown = runner.invoke(cli, ["register", "claude-code", "--profile", "tiny", "--repo", str(repo)])
    assert unknown.exit_code == 1 and "no profile 'tiny'" in unknown.output and "broken, full, lean" in unknown.output
    broken = runner.invoke(cli, ["register", "claude-code", "--profile", "broken", "--repo", str(repo)])
    assert broken.exit_code == 1 and "[profiles.broken] is not a valid profile" in broken.output
    assert names() == ["strata-codegraph", "strata-memory"]  # a refused profile changes nothing
