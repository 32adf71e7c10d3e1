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
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "CODEX_HOME",
                 "CLAUDE_CONFIG_DIR", "GEMINI_CLI_HOME", "GEMINI_CLI_TRUST_WORKSPACE"):  # fmt: skip
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
    """Anthropic's Messages API (streamed and not) on loopback. Like model_wire below, the model first calls the
    client's shell tool when it offers one, then answers ANTHROPIC_ANSWER: the paid API cannot be reached here;
    the client, its tool run, its transcript and the importer are the real ones."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    async def messages(request: Request) -> Response:
        body = await request.json()
        model = body.get("model", "claude")
        usage = {"input_tokens": 10, "output_tokens": 12}
        answered = any(isinstance(b, dict) and b.get("type") == "tool_result"
                       for m in body.get("messages", []) if isinstance(m.get("content"), list) for b in m["content"])  # fmt: skip
        shell = not answered and any(t.get("name") == "Bash" for t in body.get("tools") or [])
        block: dict[str, Any] = (
            {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": SHELL_CALLS["bash"]} if shell
            else {"type": "text", "text": ANTHROPIC_ANSWER}
        )  # fmt: skip
        stop = "tool_use" if shell else "end_turn"
        if not body.get("stream"):
            return JSONResponse({"id": "msg_1", "type": "message", "role": "assistant", "model": model,
                                 "content": [block], "stop_reason": stop, "stop_sequence": None, "usage": usage})  # fmt: skip

        async def events() -> Any:
            def event(name: str, data: dict[str, Any]) -> bytes:
                return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()

            start = {"id": "msg_1", "type": "message", "role": "assistant", "model": model, "content": [],
                     "stop_reason": None, "stop_sequence": None, "usage": {**usage, "output_tokens": 0}}  # fmt: skip
            yield event("message_start", {"message": start})
            if shell:
                yield event("content_block_start", {"index": 0, "content_block": {**block, "input": {}}})
                delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
            else:
                yield event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
                delta = {"type": "text_delta", "text": ANTHROPIC_ANSWER}
            yield event("content_block_delta", {"index": 0, "delta": delta})
            yield event("content_block_stop", {"index": 0})
            yield event("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": usage})
            yield event("message_stop", {})

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])])


def test_strata_memory_imports_a_real_claude_code_session_once_keeping_no_tool_output_or_secret(
    bin_dir: Path, place: Path, tmp_path: Path
) -> None:
    from strata.shared.testing import ThreadServer

    env = {**os.environ, "ANTHROPIC_API_KEY": "sk-ant-test-0123456789abcdef", "DISABLE_TELEMETRY": "1",
           "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "NO_COLOR": "1"}  # fmt: skip
    with ThreadServer(anthropic_wire()) as url:
        asked = subprocess.run(
            [str(bin_dir / "claude"), "-p", SECRET_REQUEST, "--allowedTools", "Bash(echo:*)"], cwd=place,
            env={**env, "ANTHROPIC_BASE_URL": url},
            capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
    assert asked.returncode == 0 and ANTHROPIC_ANSWER in asked.stdout, asked.stdout + asked.stderr
    [session] = list((Path(os.environ["HOME"]) / ".claude" / "projects").glob("*/*.jsonl"))  # Claude Code's own
    assert TOOL_OUTPUT in session.read_text(), "Claude Code ran the tool and kept its output"
    imported = import_twice_and_recall("claude-code", place, tmp_path, skipped={"tool output": 1})
    assert imported["decision"]["source"].startswith(f"claude-code {session.name}#")


SECRET_REQUEST = "Which database do we keep? The old one is at postgres://admin:hunter2pass@db.internal:5432/app"
TOOL_OUTPUT = "TOOL-OUTPUT-NEVER-STORED"
SHELL_CALLS = {  # each client's shell tool, as its model would call it
    "exec_command": {"cmd": f"echo {TOOL_OUTPUT}"},  # Codex
    "run_shell_command": {"command": f"echo {TOOL_OUTPUT}"},  # Gemini CLI
    "bash": {"command": f"echo {TOOL_OUTPUT}", "description": "Echo a word"},  # OpenCode
}


def model_wire() -> Any:
    """OpenAI's Responses API (streamed) and Gemini's generateContent on loopback. The model first calls the
    client's shell tool, when it offers one, then answers ANTHROPIC_ANSWER once the tool's output comes back: the
    clients run the tool for real, and their transcripts hold its output, which no import may keep."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    def call(offered: list[str], answered: bool) -> str | None:
        return None if answered else next((name for name in offered if name in SHELL_CALLS), None)

    async def responses(request: Request) -> Response:
        body = await request.json()
        answered = any(isinstance(i, dict) and i.get("type") == "function_call_output" for i in body.get("input", []))
        tool = call([str(t.get("name")) for t in body.get("tools") or []], answered)
        item: dict[str, Any] = (
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": tool, "status": "completed",
             "arguments": json.dumps(SHELL_CALLS[tool])} if tool else
            {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": ANTHROPIC_ANSWER, "annotations": []}]}
        )  # fmt: skip
        response = {"id": "resp_1", "object": "response", "created_at": 1796000000, "model": body.get("model")}
        usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15,
                 "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}  # fmt: skip

        async def events() -> Any:
            def event(name: str, data: dict[str, Any]) -> bytes:
                return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()

            yield event("response.created", {"response": {**response, "status": "in_progress", "output": []}})
            yield event("response.output_item.added", {"output_index": 0, "item": item})
            if not tool:
                yield event("response.output_text.delta", {"item_id": "msg_1", "output_index": 0, "content_index": 0,
                                                           "delta": ANTHROPIC_ANSWER})  # fmt: skip
            yield event("response.output_item.done", {"output_index": 0, "item": item})
            yield event("response.completed", {"response": {**response, "status": "completed", "output": [item],
                                                            "usage": usage}})  # fmt: skip

        return StreamingResponse(events(), media_type="text/event-stream")

    async def generate(request: Request) -> Response:
        body = await request.json()
        offered = [str(f.get("name")) for t in body.get("tools") or [] for f in t.get("functionDeclarations") or []]
        answered = any("functionResponse" in p for c in body.get("contents") or [] for p in c.get("parts") or [])
        tool = call(offered, answered)
        part = {"functionCall": {"name": tool, "args": SHELL_CALLS[tool]}} if tool else {"text": ANTHROPIC_ANSWER}
        chunk = {"candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
                 "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}}  # fmt: skip
        if not request.url.path.endswith(":streamGenerateContent"):
            return JSONResponse(chunk)

        async def events() -> Any:
            yield f"data: {json.dumps(chunk)}\r\n\r\n".encode()

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/responses", responses, methods=["POST"]),
                             Route("/v1beta/models/{model:path}", generate, methods=["POST"])])  # fmt: skip


def run_client(bin_dir: Path, client: str, place: Path, url: str) -> None:
    """``client`` answers SECRET_REQUEST in ``place`` through the loopback model at ``url``, tools allowed."""
    home = Path(os.environ["HOME"])
    env = {**os.environ, "NO_COLOR": "1", "PWD": str(place)}  # OpenCode takes its folder from PWD, as a shell sets it
    if client == "codex":
        (home / ".codex").mkdir()
        (home / ".codex" / "config.toml").write_text(
            f'model = "test-model"\nmodel_provider = "loopback"\n[model_providers.loopback]\nname = "loopback"\n'
            f'base_url = "{url}/v1"\nwire_api = "responses"\nenv_key = "LOOPBACK_KEY"\n'
        )
        argv, env = ["codex", "exec", "--skip-git-repo-check", SECRET_REQUEST], {**env, "LOOPBACK_KEY": "test"}
    elif client == "gemini":
        (home / ".gemini").mkdir()
        (home / ".gemini" / "settings.json").write_text(json.dumps(
            {"security": {"auth": {"selectedType": "gemini-api-key"}}, "privacy": {"usageStatisticsEnabled": False}}))  # fmt: skip
        argv = ["gemini", "-m", "gemini-2.5-pro", "--approval-mode", "yolo", "-p", SECRET_REQUEST]
        env |= {"GEMINI_API_KEY": "test", "GOOGLE_GEMINI_BASE_URL": url, "GEMINI_CLI_TRUST_WORKSPACE": "true"}
    else:
        (home / ".config" / "opencode").mkdir(parents=True)
        (home / ".config" / "opencode" / "opencode.json").write_text(json.dumps({
            "autoupdate": False, "share": "disabled", "model": "openai/test-model", "small_model": "openai/test-model",
            "provider": {"openai": {"options": {"baseURL": f"{url}/v1", "apiKey": "test"},
                                    "models": {"test-model": {"name": "test-model"}}}}}))  # fmt: skip
        argv, env = ["opencode", "run", SECRET_REQUEST], {**env, "OPENCODE_DISABLE_AUTOUPDATE": "1"}
    asked = subprocess.run([str(bin_dir / argv[0]), *argv[1:]], cwd=place, env=env, capture_output=True, text=True,
                           timeout=180, stdin=subprocess.DEVNULL, check=False)  # fmt: skip
    assert asked.returncode == 0 and ANTHROPIC_ANSWER in asked.stdout, asked.stdout + asked.stderr


@pytest.mark.parametrize("client", ["codex", "gemini", "opencode"])
def test_strata_memory_imports_a_real_session_with_a_tool_call_keeping_no_tool_output(
    bin_dir: Path, place: Path, tmp_path: Path, client: str
) -> None:
    from strata.shared.testing import ThreadServer

    with ThreadServer(model_wire()) as url:
        run_client(bin_dir, client, place, url)
    home = Path(os.environ["HOME"])
    written = [p for p in home.rglob("*") if p.is_file() and TOOL_OUTPUT.encode() in p.read_bytes()]
    assert written, "the client ran the tool and kept its output"  # so the check below means something
    imported = import_twice_and_recall(client, place, tmp_path, skipped={"tool output": 1})
    assert imported["decision"]["source"].startswith(f"{client} ")


def import_twice_and_recall(client: str, place: Path, tmp_path: Path, skipped: dict[str, int] | None = None) -> Any:
    """Import ``client``'s sessions for ``place`` twice through the CLI (the second stores nothing), recall the
    decision, check the request's password was redacted and is nowhere on disk; the hits by kind."""
    store = tmp_path / "memory"
    memory = [str(Path(sys.executable).parent / "strata-memory")]
    command = [*memory, "import", "--from", client, "--project", str(place), "--store", str(store)]
    first = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result | {"skipped": {}} == {"sessions": 1, "read": 2, "new": 2, "duplicates": 0, "skipped": {}}, result
    assert skipped is None or result["skipped"] == skipped, result
    again = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert json.loads(again.stdout)["new"] == 0 and json.loads(again.stdout)["duplicates"] == 2  # idempotent

    recalled = subprocess.run(
        [*memory, "recall", "which database did we decide on?", "--scope", f"project:{place.name}", "--store", str(store)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    by_kind = {h["kind"]: h for h in json.loads(recalled.stdout)["hits"]}
    assert by_kind["decision"]["text"] == ANTHROPIC_ANSWER and client in by_kind["decision"]["tags"], by_kind
    assert by_kind["request"]["occurred_at"] <= by_kind["decision"]["occurred_at"], by_kind
    assert (
        "hunter2pass" not in by_kind["request"]["text"]
        and "postgres://admin:***@db.internal" in by_kind["request"]["text"]
    )
    stored = [p.read_bytes() for p in store.rglob("*") if p.is_file()]
    assert not any(b"hunter2pass" in data or TOOL_OUTPUT.encode() in data for data in stored)  # nowhere on disk
    return by_kind
