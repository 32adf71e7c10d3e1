"""The real coding agents, from npm, list what `strata register` wrote: each registered server connects once the
approval or folder-trust step that `strata doctor` names is taken, and doctor's reading of that state agrees with
the client's own listing before and after it.

The clients come from the npm registry into ~/.cache/strata/npm-clients on first use (pinned below; about 20 s
and 1.3 GB), as tests/test_inspector.py fetches the MCP Inspector; without npm or the registry they fail, saying so. Their listings run offline: `claude mcp list`,
`gemini mcp list` and `opencode mcp list` start each server and report it, `codex mcp list` reports what it loaded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from strata.orchestrator.cli import cli
from strata.orchestrator.trust import gates

pytestmark = pytest.mark.slow

CLIENTS_DIR = Path.home() / ".cache" / "strata" / "npm-clients"
PACKAGES = {  # the versions the issue was measured with
    "claude": "@anthropic-ai/claude-code@2.1.332",
    "gemini": "@google/gemini-cli@0.61.0",
    "codex": "@openai/codex@0.171.0",
    "opencode": "opencode-ai@1.18.33",
}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def bin_dir() -> Path:
    folder = CLIENTS_DIR / "node_modules" / ".bin"
    if all((folder / name).exists() for name in PACKAGES):
        return folder
    npm = shutil.which("npm")
    assert npm is not None, "npm is needed to fetch the real clients (make install puts Node and npm in place)"
    CLIENTS_DIR.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--silent", *PACKAGES.values()],
        cwd=CLIENTS_DIR, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, f"npm could not install the clients: {run.stderr.strip()[-300:]}"
    return folder


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository, with HOME (where every client keeps its state) beside it."""
    home, repo = tmp_path / "home", tmp_path / "repo"
    home.mkdir()
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CONFIG_HOME", "CODEX_HOME", "CLAUDE_CONFIG_DIR", "GEMINI_CLI_TRUST_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)
    return repo


def listing(bin_dir: Path, client: str, repo: Path) -> str:
    env = {**os.environ, "NO_COLOR": "1"}
    run = subprocess.run(
        [str(bin_dir / client), "mcp", "list"], cwd=repo, env=env, capture_output=True, text=True, timeout=180
    )
    return ANSI.sub("", run.stdout + run.stderr)


def register(client: str, repo: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["register", client, "voice", "--repo", str(repo), *args])
    assert result.exit_code == 0, result.output
    return result.output


def doctor(client: str, repo: Path) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["doctor", client, "--repo", str(repo), "--json"])
    [row] = [json.loads(line) for line in result.output.splitlines()]
    return row


def test_claude_code_connects_once_the_project_server_is_approved(bin_dir: Path, place: Path) -> None:
    output = register("claude-code", place)
    assert "next: Claude Code starts a project's .mcp.json servers only once approved" in output
    assert "strata-voice:" in listing(bin_dir, "claude", place)
    assert "Pending approval" in listing(bin_dir, "claude", place)
    row = doctor("claude-code", place)
    assert row["health"] == "pending_approval" and "run `claude` in" in str(row["error"]) and row["tools"] == 4
    # what accepting the folder trust dialog and approving the server in `claude` records
    claude_json = Path(os.environ["HOME"]) / ".claude.json"
    state = json.loads(claude_json.read_text())
    state.setdefault("projects", {})[str(place.resolve())] = {
        "hasTrustDialogAccepted": True,
        "enabledMcpjsonServers": ["strata-voice"],
    }
    claude_json.write_text(json.dumps(state))
    assert "strata-voice: " in (after := listing(bin_dir, "claude", place)) and "Connected" in after, after
    assert doctor("claude-code", place)["health"] == "ok"


def test_claude_code_local_scope_needs_no_approval(bin_dir: Path, place: Path) -> None:
    assert "next:" not in register("claude-code", place, "--scope", "local")
    assert "Connected" in listing(bin_dir, "claude", place)
    assert gates("claude-code", "local", place, ["strata-voice"]) == {}


def test_gemini_connects_once_the_folder_is_trusted(bin_dir: Path, place: Path) -> None:
    output = register("gemini", place)
    assert "next: Gemini CLI starts no MCP server in a folder it does not trust" in output
    before = listing(bin_dir, "gemini", place)
    assert "strata-voice" in before and "Disabled" in before, before
    assert doctor("gemini", place)["health"] == "untrusted_folder"
    rules = Path(os.environ["HOME"]) / ".gemini" / "trustedFolders.json"  # the file the step names
    assert str(rules) in output
    rules.write_text(json.dumps({str(place.resolve()): "TRUST_FOLDER"}))
    after = listing(bin_dir, "gemini", place)
    assert "strata-voice" in after and "Connected" in after, after
    assert doctor("gemini", place)["health"] == "ok"


def test_codex_loads_the_project_config_once_the_project_is_trusted(bin_dir: Path, place: Path) -> None:
    output = register("codex", place, "--scope", "project")
    assert "next: Codex ignores" in output
    assert "strata-voice" not in listing(bin_dir, "codex", place)
    assert doctor("codex", place)["health"] == "untrusted_folder"
    config = Path(os.environ["HOME"]) / ".codex" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[projects.{json.dumps(str(place.resolve()))}]\ntrust_level = "trusted"\n')
    after = listing(bin_dir, "codex", place)
    assert re.search(r"strata-voice .*STRATA_HOME=\*+ .*enabled", after), after  # with the store's location
    assert doctor("codex", place)["health"] == "ok"


def test_opencode_connects_and_unregister_takes_back_the_file_it_marked(bin_dir: Path, place: Path) -> None:
    assert "next:" not in register("opencode", place)
    assert re.search(r"strata-voice\s+connected", listing(bin_dir, "opencode", place))
    assert '"$schema"' in (place / "opencode.json").read_text()  # what OpenCode adds to a file it loaded
    result = CliRunner().invoke(cli, ["unregister", "opencode", "--repo", str(place)])
    assert result.exit_code == 0 and not (place / "opencode.json").exists(), result.output


def test_codex_starts_a_user_server_and_lists_its_tools(bin_dir: Path, place: Path) -> None:
    """The Codex app-server's mcpServerStatus/list: the server Codex started answered its handshake and tools."""
    import time

    register("codex", place)  # user scope: no trust step
    process = subprocess.Popen(
        [str(bin_dir / "codex"), "app-server"], cwd=place, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None

    def call(number: int, method: str, params: dict[str, object]) -> dict[str, object]:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps({"jsonrpc": "2.0", "id": number, "method": method, "params": params}) + "\n")
        process.stdin.flush()
        while True:
            message = json.loads(process.stdout.readline())
            if message.get("id") == number:
                return message

    try:
        call(1, "initialize", {"clientInfo": {"name": "strata-test", "version": "1"}})
        process.stdin.write('{"jsonrpc": "2.0", "method": "initialized"}\n')
        deadline, servers = time.monotonic() + 90, []
        while time.monotonic() < deadline and not any(s.get("serverInfo") for s in servers):
            servers = call(2, "mcpServerStatus/list", {})["result"]["data"]  # type: ignore[index]
            time.sleep(1)
        [voice] = [s for s in servers if s["name"] == "strata-voice"]
        assert voice["serverInfo"]["name"] == "strata-voice" and voice["tools"], voice
    finally:
        process.kill()
        process.communicate()


ANTHROPIC_ANSWER = "We decided to keep Postgres and move the sessions to Redis."


def anthropic_wire() -> Any:
    """Anthropic's Messages API (streamed and not) on loopback, answering every request the same: the paid API
    cannot be reached here; the client, its transcript and the importer are the real ones."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    async def messages(request: Request) -> Response:
        body = await request.json()
        model = body.get("model", "claude")
        usage = {"input_tokens": 10, "output_tokens": 12}
        if not body.get("stream"):
            return JSONResponse({"id": "msg_1", "type": "message", "role": "assistant", "model": model,
                                 "content": [{"type": "text", "text": ANTHROPIC_ANSWER}], "stop_reason": "end_turn",
                                 "stop_sequence": None, "usage": usage})  # fmt: skip

        async def events() -> Any:
            def event(name: str, data: dict[str, Any]) -> bytes:
                return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()

            start = {"id": "msg_1", "type": "message", "role": "assistant", "model": model, "content": [],
                     "stop_reason": None, "stop_sequence": None, "usage": {**usage, "output_tokens": 0}}  # fmt: skip
            yield event("message_start", {"message": start})
            yield event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
            yield event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": ANTHROPIC_ANSWER}})
            yield event("content_block_stop", {"index": 0})
            yield event("message_delta", {"delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": usage})
            yield event("message_stop", {})

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])])


def test_strata_memory_imports_a_real_claude_code_session_once_with_its_secrets_redacted(
    bin_dir: Path, place: Path, tmp_path: Path
) -> None:
    from strata.shared.testing import ThreadServer

    request = "Which database do we keep? The old one is at postgres://admin:hunter2pass@db.internal:5432/app"
    env = {**os.environ, "ANTHROPIC_API_KEY": "sk-ant-test-0123456789abcdef", "DISABLE_TELEMETRY": "1",
           "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "NO_COLOR": "1"}  # fmt: skip
    with ThreadServer(anthropic_wire()) as url:
        asked = subprocess.run(
            [str(bin_dir / "claude"), "-p", request], cwd=place, env={**env, "ANTHROPIC_BASE_URL": url},
            capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
    assert asked.returncode == 0 and ANTHROPIC_ANSWER in asked.stdout, asked.stdout + asked.stderr
    [session] = list((Path(os.environ["HOME"]) / ".claude" / "projects").glob("*/*.jsonl"))  # Claude Code's own

    store = tmp_path / "memory"
    memory = [str(Path(sys.executable).parent / "strata-memory")]
    first = subprocess.run([*memory, "import", "--from", "claude-code", "--project", str(place), "--store", str(store)],
                           capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) | {"skipped": {}} == {"sessions": 1, "read": 2, "new": 2, "duplicates": 0,
                                                          "skipped": {}}  # fmt: skip
    again = subprocess.run([*memory, "import", "--from", "claude-code", "--project", str(place), "--store", str(store)],
                           capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert json.loads(again.stdout)["new"] == 0 and json.loads(again.stdout)["duplicates"] == 2  # idempotent

    recalled = subprocess.run(
        [*memory, "recall", "which database did we decide on?", "--scope", f"project:{place.name}", "--store", str(store)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    hits = json.loads(recalled.stdout)["hits"]
    by_kind = {h["kind"]: h for h in hits}
    assert by_kind["decision"]["text"] == ANTHROPIC_ANSWER
    assert by_kind["decision"]["source"].startswith(f"claude-code {session.name}#")
    assert (
        "hunter2pass" not in by_kind["request"]["text"]
        and "postgres://admin:***@db.internal" in by_kind["request"]["text"]
    )
    assert not any(b"hunter2pass" in p.read_bytes() for p in store.rglob("*") if p.is_file())  # nowhere on disk
