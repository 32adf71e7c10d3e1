import json
from typing import Any

import httpx
import pytest
from fastmcp import Client
from fastmcp.exceptions import ToolError

from strata.shared.errors import BusyError, ConfigError
from strata.shared.runner import Metrics, ServeOptions, build_http_app, create_mcp, serve_options_from
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

    return mcp, metrics


def test_binding_beyond_loopback_without_a_token_is_refused() -> None:
    with pytest.raises(ConfigError, match="requires a bearer token"):
        ServeOptions(transport="http", host="0.0.0.0").check()
    ServeOptions(transport="http", host="0.0.0.0", token="t").check()
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
            assert health.json() == {"status": "ok", "server": "demo", "version": "9.9"}
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
