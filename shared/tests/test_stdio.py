"""A real stdio server process answers every line at once, the ones it cannot read included (issue 25)."""

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from strata.shared.stdio import MAX_LINE_BYTES

SERVER = """
from strata.shared.log import configure_logging
from strata.shared.runner import Metrics, ServeOptions, create_mcp, serve
configure_logging("info")
metrics = Metrics()
mcp = create_mcp("echo", version="1", instructions="echo", metrics=metrics)

@mcp.tool
def echo(text: str) -> str:
    '''Echo.'''
    return text

serve(mcp, ServeOptions(transport="stdio"), metrics)
"""
CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "hi"}}}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}},
}


@pytest.fixture
def server() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert exchange(process, json.dumps(INITIALIZE).encode())["id"] == 0
    assert process.stdin is not None
    process.stdin.write(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
    yield process
    process.kill()
    process.communicate()


def exchange(process: subprocess.Popen[bytes], line: bytes, timeout: float = 20) -> dict[str, Any]:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(line + b"\n")
    process.stdin.flush()
    started = time.monotonic()
    reply = process.stdout.readline()
    assert reply, "the server closed stdout"
    assert time.monotonic() - started < timeout
    parsed: dict[str, Any] = json.loads(reply)
    return parsed


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"[" * 1000 + b"]" * 1000, -32700),
        (b"this is not json", -32700),
        (b'{"jsonrpc": "2.0", "id": 5, "method": "\xff\xfe"', -32700),
        (b'{"jsonrpc": "2.0", "id": 5,\x00 "method": "ping"}', -32700),
        (b'{"hello": "world"}', -32600),
    ],
    ids=["deep nesting", "not json", "invalid utf-8", "nul byte", "not json-rpc"],
)
def test_unreadable_lines_get_a_json_rpc_error_and_the_server_goes_on(
    server: subprocess.Popen[bytes], line: bytes, code: int
) -> None:
    error = exchange(server, line)
    assert error["id"] in (None, 5) and error["error"]["code"] == code  # 5: the id these lines still show
    answer = exchange(server, json.dumps(CALL).encode())
    assert answer["id"] == 1 and answer["result"]["structuredContent"] == {"result": "hi"}


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (json.dumps({**CALL, "id": 41})[:-5].encode(), -32700),
        (
            b'{"jsonrpc": "2.0", "id": 42, "method": "tools/call", "params": {"x": ' + b"[" * 300 + b"]" * 300 + b"}}",
            -32700,
        ),
        (b'{"jsonrpc": "2.0", "id": "call-43"}', -32600),
    ],
    ids=["cut short", "deeper than the parser", "not a message"],
)
def test_an_unreadable_request_with_a_visible_id_gets_its_error_at_once(
    server: subprocess.Popen[bytes], line: bytes, code: int
) -> None:
    """The client's pending call ends with the error instead of waiting for its own timeout."""
    error = exchange(server, line)
    assert error["id"] in (41, 42, "call-43") and error["error"]["code"] == code
    answer = exchange(server, json.dumps(CALL).encode())
    assert answer["id"] == 1 and answer["result"]["structuredContent"] == {"result": "hi"}


def test_a_line_past_the_size_bound_is_refused_without_being_held(server: subprocess.Popen[bytes]) -> None:
    """mcp read a whole line however long: a 628 MB argument took a server past 6 GB."""
    huge = b'{"jsonrpc": "2.0", "id": 44, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "'
    huge += b"x" * (MAX_LINE_BYTES + 1024) + b'"}}}'
    error = exchange(server, huge)
    assert error["id"] == 44 and error["error"]["code"] == -32600 and "too large" in error["error"]["message"]
    answer = exchange(server, json.dumps(CALL).encode())
    assert answer["result"]["structuredContent"] == {"result": "hi"}
    status = Path(f"/proc/{server.pid}/status").read_text()
    peak_mb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024
    assert peak_mb < 300


def test_a_connection_serves_whichever_era_the_client_opens_with_until_a_handshake() -> None:
    """Claude Code probes with a 2026-07-28 request, and falls back to `initialize` on the same connection when the
    probe times out (five servers starting on two cores): the connection starts over as a handshake one."""
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    envelope = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "probe", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    modern = {"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {"_meta": envelope}}
    try:
        assert [t["name"] for t in exchange(process, json.dumps(modern).encode())["result"]["tools"]] == ["echo"]
        handshake = exchange(process, json.dumps(INITIALIZE).encode())
        assert handshake["id"] == 0 and handshake["result"]["protocolVersion"] == "2025-06-18", handshake
        assert process.stdin is not None
        process.stdin.write(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
        assert exchange(process, json.dumps(CALL).encode())["result"]["structuredContent"] == {"result": "hi"}
        refused = exchange(process, json.dumps(modern).encode())  # after a handshake, the era is fixed (mcp's rule)
        assert refused["error"]["code"] == -32600
    finally:
        process.kill()
        process.communicate()
