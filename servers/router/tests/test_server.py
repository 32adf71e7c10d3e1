"""strata-router through real MCP sessions: in-process, a stdio subprocess, and HTTP beside /v1."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from fastmcp.exceptions import ToolError

from strata.router.core import Router
from strata.router.http_api import KeyRing
from strata.router.server import create_server
from strata.router.settings import RouterSettings
from strata.shared.runner import Metrics

pytestmark = pytest.mark.anyio
STRATA_ROUTER = str(Path(sys.executable).parent / "strata-router")
TOOLS = {"complete", "estimate_cost", "budget_status", "usage_report", "quality_report", "compress", "raw_output"}
FAILING_PYTEST = "\n".join(
    ["============================= test session starts ==============================", "collected 40 items", ""]
    + [f"tests/test_mod{i}.py ........................................ [ {i}%]" for i in range(30)]
    + [
        "FAILED tests/test_mod3.py::test_parse - AssertionError: assert 1 == 2",
        "========= 1 failed, 1199 passed in 3.21s =========",
    ]
)


def settings(tmp_path: Path, upstream_url: str, **extra: Any) -> RouterSettings:
    config: dict[str, Any] = {
        "data_dir": tmp_path / "router",
        "providers": {"fake": {"base_url": upstream_url}},
        "models": {
            "local": {"provider": "fake", "model": "bad-json", "local": True},
            "frontier": {"provider": "fake", "model": "json-good", "input_price": 3.0, "output_price": 15.0},
        },
        "routes": {"default": {"policy": "cascade", "cascade": ["local", "frontier"]}},
        "budgets": [{"scope": "global", "limit_usd": 1.0}],
    }
    config.update(extra)
    return RouterSettings(**config)


@pytest.fixture
async def client(tmp_path: Path, openai_upstream: Any) -> AsyncIterator[Client[Any]]:
    router = Router.from_settings(settings(tmp_path, openai_upstream.url))
    async with Client(create_server(router, Metrics(), KeyRing({})), timeout=60) as connected:
        yield connected


def data(result: Any) -> Any:
    assert result.structured_content is not None
    return result.structured_content.get("result", result.structured_content)


async def test_tools_are_few_short_and_annotated(client: Client[Any]) -> None:
    tools = {t.name: t for t in await client.list_tools()}
    assert set(tools) == TOOLS
    assert all(t.description and len(t.description) < 120 for t in tools.values())
    assert tools["budget_status"].annotations is not None and tools["budget_status"].annotations.read_only_hint
    assert tools["complete"].annotations is not None and tools["complete"].annotations.open_world_hint


async def test_complete_escalates_and_reports_why_then_usage_and_budget_see_it(client: Client[Any]) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    result = data(
        await client.call_tool(
            "complete", {"messages": [{"role": "user", "content": "6*7 as JSON"}], "json_schema": schema}
        )
    )
    assert json.loads(result["text"]) == {"answer": 42}
    assert result["model"] == "frontier" and result["cost_usd"] > 0
    assert result["escalations"] and "json" in result["escalations"][0]
    report = data(await client.call_tool("usage_report", {"group_by": ["route", "model"]}))
    rows = {r["group"]["model"]: r for r in report["rows"]}
    assert set(rows) == {"local", "frontier"} and rows["frontier"]["escalations"] == 1 and report["left_out"] == 0
    [budget] = data(await client.call_tool("budget_status", {}))
    assert budget["scope"] == "global" and budget["spent_usd"] == pytest.approx(result["cost_usd"])
    assert budget["remaining_usd"] == pytest.approx(1.0 - result["cost_usd"])


async def test_estimate_cost_before_spending(client: Client[Any]) -> None:
    estimate = data(
        await client.call_tool(
            "estimate_cost", {"messages": [{"role": "user", "content": "x" * 4000}], "max_tokens": 1000}
        )
    )
    assert [t["model"] for t in estimate["tiers"]] == ["local", "frontier"]
    assert estimate["first_call_usd"] == 0.0
    assert estimate["worst_case_usd"] == pytest.approx((1001 * 3.0 + 1000 * 15.0) / 1e6, rel=0.01)
    assert estimate["budgets"][0]["remaining_usd"] == 1.0


async def test_a_one_off_policy_and_max_cost(client: Client[Any]) -> None:
    fixed = {"policy": "fixed", "model": "local"}
    result = data(
        await client.call_tool("complete", {"messages": [{"role": "user", "content": "hi"}], "policy": fixed})
    )
    assert result["model"] == "local" and result["escalations"] == []
    with pytest.raises(ToolError, match="budget_exceeded: refused before calling 'frontier': max_cost"):
        await client.call_tool(
            "complete",
            {"messages": [{"role": "user", "content": "hi"}], "json_schema": {"type": "object"}, "max_cost": 0.000001},
        )


async def test_compress_and_raw_output_round_trip(client: Client[Any]) -> None:
    packed = data(await client.call_tool("compress", {"text": FAILING_PYTEST}))
    assert packed["kind"] == "pytest" and packed["tokens_after"] < packed["tokens_before"] / 5
    assert "FAILED tests/test_mod3.py::test_parse - AssertionError: assert 1 == 2" in packed["text"]
    first = data(await client.call_tool("raw_output", {"id": packed["id"], "max_chars": 1000}))
    rest = data(
        await client.call_tool("raw_output", {"id": packed["id"], "offset": first["next_offset"], "max_chars": 200_000})
    )
    assert first["text"] + rest["text"] == FAILING_PYTEST and rest["next_offset"] is None


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("raw_output", {"id": "out_0000000000000000"}, "not_found: no raw output"),
        ("raw_output", {"id": "../etc/passwd"}, "pattern"),
        ("complete", {"messages": []}, "at least 1"),
        (
            "complete",
            {"messages": [{"role": "user", "content": "hi"}], "route": "nope"},
            "not_found: no route or model named 'nope'",
        ),
        (
            "complete",
            {"messages": [{"role": "user", "content": "hi"}], "policy": {"policy": "cascade", "cascade": ["local"]}},
            "at least two tiers",
        ),
        ("usage_report", {"since": "yesterday"}, "pattern"),
        ("compress", {"text": "x", "kind": "cobol"}, "kind"),
    ],
)
async def test_bad_arguments_are_clear_tool_errors(
    client: Client[Any], tool: str, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ToolError, match=message):
        await client.call_tool(tool, arguments)


async def test_stdio_session_with_config_from_strata_toml(tmp_path: Path, openai_upstream: Any) -> None:
    config = tmp_path / "strata.toml"
    config.write_text(
        f"""
[router]
data_dir = "{tmp_path / "data"}"
[router.providers.fake]
base_url = "{openai_upstream.url}"
[router.models.local]
provider = "fake"
model = "echo"
local = true
[router.routes.default]
policy = "fixed"
model = "local"
"""
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")} | {
        "STRATA_HOME": str(tmp_path),
        "STRATA_CONFIG": str(config),
    }
    transport = StdioTransport(
        command=STRATA_ROUTER, args=["serve"], env=env, keep_alive=False, log_file=tmp_path / "stdio.log"
    )
    async with Client(transport, timeout=60) as stdio:
        result = data(await stdio.call_tool("complete", {"messages": [{"role": "user", "content": "over stdio"}]}))
        assert result["text"] == "echo: over stdio" and result["model"] == "local"
    rows = (tmp_path / "data" / "router.db").exists()
    assert rows


async def test_http_serves_mcp_beside_the_front_doors(make_router: Any) -> None:
    router = make_router()
    async with Client(router.url + "/mcp", timeout=60) as http:
        result = data(await http.call_tool("complete", {"messages": [{"role": "user", "content": "over http"}]}))
    assert result["text"] == "echo: over http"
