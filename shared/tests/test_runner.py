import json
from typing import Any

import anyio
import httpx
import pytest
from fastmcp import Client
from fastmcp.exceptions import ToolError

from strata.shared import http_guard
from strata.shared.errors import BusyError, ConfigError
from strata.shared.log import configure_logging
from strata.shared.runner import (
    MAX_ERROR_CHARS,
    Metrics,
    ServeOptions,
    build_http_app,
    create_mcp,
    serve_options_from,
)
from strata.shared.testing import serving

pytestmark = pytest.mark.anyio
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


def make_server() -> tuple[Any, Metrics]:
    metrics = Metrics()
    mcp = create_mcp("demo", version="9.9", instructions="demo", metrics=metrics)

    @mcp.tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    @mcp.tool
    def refuse() -> int:
        """Always busy."""
        raise BusyError("queue full\nretry later")

    @mcp.tool
    def crash() -> int:
        """A programming error."""
        raise KeyError("secret internals")

    @mcp.tool
    def budgets() -> list[dict[str, float]]:
        """None set."""
        return []

    @mcp.tool
    def nothing() -> None:
        """Done, nothing to say."""

    return mcp, metrics


async def test_every_result_has_text_content_beside_its_structured_content() -> None:
    mcp, _ = make_server()
    async with Client(mcp) as client:
        empty = await client.call_tool("budgets", {})
        assert [c.text for c in empty.content] == ['{"result":[]}']  # type: ignore[union-attr]
        assert empty.structured_content == {"result": []}
        assert [c.text for c in (await client.call_tool("nothing", {})).content] == ["null"]  # type: ignore[union-attr]
        assert [c.text for c in (await client.call_tool("add", {"a": 1, "b": 2})).content] == ["3"]  # type: ignore[union-attr]


def test_binding_beyond_loopback_without_a_token_is_refused() -> None:
    with pytest.raises(ConfigError, match="requires a bearer token"):
        ServeOptions(transport="http", host="0.0.0.0").check()
    ServeOptions(transport="http", host="0.0.0.0", token="k3J9-xq2LmV7pZ4r").check()
    ServeOptions(transport="http", host="::1").check()
    ServeOptions(transport="stdio", host="0.0.0.0").check()


def test_serve_options_take_the_token_from_strata_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRATA_TOKEN", "from-env")
    assert serve_options_from("http", "127.0.0.1", 1, None).token == "from-env"
    assert serve_options_from("http", "127.0.0.1", 1, "flag").token == "flag"


async def test_tool_errors_carry_a_code_and_one_line_and_hide_tracebacks() -> None:
    mcp, metrics = make_server()
    async with Client(mcp) as client:
        assert (await client.call_tool("add", {"a": 2, "b": 3})).data == 5
        with pytest.raises(ToolError) as busy:
            await client.call_tool("refuse", {})
        assert str(busy.value) == "busy: queue full retry later"
        with pytest.raises(ToolError) as crash:
            await client.call_tool("crash", {})
        assert str(crash.value).startswith("internal: tool 'crash' failed (KeyError)")
        assert "secret internals" not in str(crash.value)
    text = metrics.render().decode()
    assert 'strata_tool_calls_total{outcome="ok",tool="add"} 1.0' in text
    assert 'strata_tool_calls_total{outcome="busy",tool="refuse"} 1.0' in text


async def test_http_serves_mcp_health_and_metrics() -> None:
    mcp, metrics = make_server()
    async with serving(build_http_app(mcp, ServeOptions(transport="http"), metrics)) as url:
        async with Client(f"{url}/mcp") as client:
            assert (await client.call_tool("add", {"a": 40, "b": 2})).data == 42
        async with httpx.AsyncClient() as http:
            health = await http.get(f"{url}/healthz")
            assert health.json() == {"status": "ok", "in_flight": 0, "server": "demo", "version": "9.9"}
            scrape = (await http.get(f"{url}/metrics")).text
    assert 'strata_http_requests_total{method="POST",path="/mcp",status="200"}' in scrape
    assert 'strata_tool_calls_total{outcome="ok",tool="add"} 1.0' in scrape


async def test_http_requires_the_bearer_token_except_for_health() -> None:
    mcp, metrics = make_server()
    app = build_http_app(mcp, ServeOptions(transport="http", token="s3cret"), metrics)
    async with serving(app) as url, httpx.AsyncClient() as http:
        refused = await http.post(f"{url}/mcp", headers=MCP_HEADERS, content=json.dumps(LIST_TOOLS))
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        assert refused.headers["www-authenticate"] == "Bearer"
        wrong = await http.get(f"{url}/metrics", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert (await http.get(f"{url}/healthz")).status_code == 200
        async with Client(f"{url}/mcp", auth="s3cret") as client:
            assert (await client.call_tool("add", {"a": 1, "b": 1})).data == 2


async def test_dns_rebinding_foreign_origin_and_host_are_refused() -> None:
    mcp, metrics = make_server()
    async with (
        serving(build_http_app(mcp, ServeOptions(transport="http"), metrics)) as url,
        httpx.AsyncClient() as http,
    ):
        evil = await http.post(
            f"{url}/mcp",
            headers={**MCP_HEADERS, "origin": "http://evil.example"},
            content=json.dumps(LIST_TOOLS),
        )
        assert evil.status_code == 403
        rebound = await http.get(f"{url}/healthz", headers={"host": "evil.example"})
        assert rebound.status_code == 421
        local = await http.get(f"{url}/healthz", headers={"origin": url})
        assert local.status_code == 200


async def test_configured_origin_is_allowed() -> None:
    mcp, metrics = make_server()
    options = ServeOptions(transport="http", allowed_origins=("https://app.example",))
    async with serving(build_http_app(mcp, options, metrics)) as url, httpx.AsyncClient() as http:
        ok = await http.get(f"{url}/healthz", headers={"origin": "https://app.example"})
        assert ok.status_code == 200


def make_slow_server(metrics: Metrics) -> Any:
    mcp = create_mcp("slow", version="1", instructions="slow", metrics=metrics)

    @mcp.tool
    async def nap(seconds: float) -> float:
        """Sleep."""
        await anyio.sleep(seconds)
        return seconds

    @mcp.tool
    def echo(text: str, when: int = 0) -> str:
        """Echo."""
        return text

    return mcp


async def test_validation_errors_are_one_bounded_line_however_many_problems() -> None:
    """Issue 25: 200k unknown keys made a 41.6 MB multi-line pydantic error."""
    mcp, _ = make_server()
    arguments: dict[str, Any] = {"a": "x", "b": 2, **{f"unknown_{i}": i for i in range(200_000)}}
    async with Client(mcp) as client:
        with pytest.raises(ToolError) as refused:
            await client.call_tool("add", arguments)
    message = str(refused.value)
    assert message.startswith("invalid_arguments: a: Input should be a valid integer (and 200000 more problems)")
    assert "\n" not in message and len(message) <= MAX_ERROR_CHARS


async def test_lone_surrogates_and_deep_nesting_are_coded_errors() -> None:
    metrics = Metrics()
    async with Client(make_slow_server(metrics)) as client:
        with pytest.raises(ToolError, match=r"^invalid_arguments: text: text contains a lone UTF-16 surrogate"):
            await client.call_tool("echo", {"text": "ok \ud800 there"})
        deep: Any = "bottom"
        for _ in range(100):
            deep = [deep]
        with pytest.raises(ToolError, match=r"^invalid_arguments: .*nested deeper than 64 levels"):
            await client.call_tool("echo", {"text": deep})
        assert (await client.call_tool("echo", {"text": "still alive ✓"})).data == "still alive ✓"
    # Over HTTP the JSON parser refuses a lone surrogate escape itself: a parse error, not a crash.
    raw = '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x","\\udfff":1}}}'
    app = build_http_app(make_slow_server(metrics), ServeOptions(transport="http"), metrics)
    async with serving(app) as url, httpx.AsyncClient() as http:
        reply = await http.post(f"{url}/mcp", headers=MCP_HEADERS, content=raw)
        assert (reply.status_code, reply.json()["error"]["code"]) == (400, -32700)
        assert (await http.get(f"{url}/healthz")).status_code == 200


async def test_expected_tool_errors_log_no_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info")
    mcp, _ = make_server()
    async with Client(mcp) as client:
        with pytest.raises(ToolError):
            await client.call_tool("refuse", {})
        with pytest.raises(ToolError):
            await client.call_tool("crash", {})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    refused = [line for line in lines if "refuse" in json.dumps(line)]
    assert refused and all("exception" not in line for line in refused)
    assert any("exception" in line and "KeyError" in line["exception"] for line in lines)  # a real crash keeps it


async def test_health_reports_a_stuck_tool_call() -> None:
    metrics = Metrics()
    options = ServeOptions(transport="http", stuck_after_s=0.3)
    async with serving(build_http_app(make_slow_server(metrics), options, metrics)) as url:
        async with Client(f"{url}/mcp") as client, anyio.create_task_group() as tg, httpx.AsyncClient() as http:
            tg.start_soon(client.call_tool, "nap", {"seconds": 1.5})
            await anyio.sleep(0.8)
            stuck = await http.get(f"{url}/healthz")
            assert stuck.status_code == 503
            assert stuck.json()["status"] == "stuck" and stuck.json()["oldest_call"]["tool"] == "nap"
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{url}/healthz")).json()["status"] == "ok"


async def test_localhost_origin_on_another_port_is_refused() -> None:
    """Issue 25: any http://localhost:<port> Origin was trusted on a loopback server."""
    mcp, metrics = make_server()
    async with (
        serving(build_http_app(mcp, ServeOptions(transport="http"), metrics)) as url,
        httpx.AsyncClient() as http,
    ):
        for origin in ("http://localhost:3000", "http://127.0.0.1:1", "null"):
            other = await http.post(
                f"{url}/mcp", headers={**MCP_HEADERS, "origin": origin}, content=json.dumps(LIST_TOOLS)
            )
            assert other.status_code == 403, origin
            assert origin == "null" or "forbidden_origin" in other.text, origin  # the SDK's guard let these by
        assert (await http.get(f"{url}/healthz", headers={"origin": url})).status_code == 200


@pytest.mark.parametrize(
    "token", [" ", "x", "                    ", "aaaaaaaaaaaaaaaaaaaa", "short-token-1", "has a space in it!"]
)
def test_weak_tokens_do_not_guard_a_public_port(token: str) -> None:
    with pytest.raises(ConfigError, match="too weak"):
        ServeOptions(transport="http", host="0.0.0.0", token=token).check()


async def test_slow_headers_and_slow_bodies_are_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_guard, "HEADER_TIMEOUT_S", 0.5)
    monkeypatch.setattr(http_guard, "BODY_TIMEOUT_S", 0.5)
    mcp, metrics = make_server()
    async with serving(build_http_app(mcp, ServeOptions(transport="http"), metrics)) as url:
        host, port = url.removeprefix("http://").split(":")
        for partial in (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", b""):
            async with await anyio.connect_tcp(host, int(port)) as stream:
                await stream.send(partial)
                with anyio.fail_after(5):
                    answer = await stream.receive()
                assert answer.startswith(b"HTTP/1.1 408")
        body_header = f"POST /mcp HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        async with await anyio.connect_tcp(host, int(port)) as stream:
            await stream.send(f"{body_header}Content-Length: 1000\r\n\r\n{{".encode())
            with anyio.fail_after(5):
                with pytest.raises((anyio.EndOfStream, anyio.BrokenResourceError)):
                    while True:
                        await stream.receive()
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{url}/healthz")).status_code == 200
