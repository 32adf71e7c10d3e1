"""strata-llm through real MCP client sessions: a stdio subprocess and an HTTP server subprocess."""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import jsonschema
import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from fastmcp.exceptions import ToolError
from mcp import MCPError

from .conftest import (
    MAIN_CONFIG,
    STRATA_LLM,
    RunningServer,
    server_env,
    start_http_server,
    stop,
    write_config,
)

pytestmark = pytest.mark.anyio

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}
ENDLESS = {"type": "array", "items": {"type": "integer"}, "minItems": 400}
USER_HI = [{"role": "user", "content": "Say hello."}]


@pytest.fixture
async def stdio_client(tmp_path: Path) -> AsyncIterator[Client[Any]]:
    config = write_config(tmp_path, MAIN_CONFIG.replace("n_ctx = 1024", "n_ctx = 512"))
    transport = StdioTransport(
        command=STRATA_LLM, args=[], env=server_env(config), keep_alive=False, log_file=tmp_path / "stdio.log"
    )
    async with Client(transport, timeout=120) as client:
        yield client


async def test_stdio_lists_the_five_tools_with_annotations(stdio_client: Client[Any]) -> None:
    tools = {t.name: t for t in await stdio_client.list_tools()}
    assert set(tools) == {"chat", "complete", "embed", "models", "status"}
    assert tools["models"].annotations is not None and tools["models"].annotations.read_only_hint
    assert tools["chat"].output_schema is not None


CRASHING_SCHEMAS = [
    {"type": "string", "maxLength": 5000},
    {"type": "array", "items": {"type": "integer"}, "maxItems": 2000},
    {"$defs": {"a": {"$ref": "#/$defs/a"}}, "type": "object", "properties": {"x": {"$ref": "#/$defs/a"}}},
]


async def test_stdio_schemas_that_crashed_the_server_are_refused_and_it_lives_on(stdio_client: Client[Any]) -> None:
    for schema in CRASHING_SCHEMAS:
        for tool, args in (("chat", {"messages": USER_HI}), ("complete", {"prompt": "JSON:"})):
            with pytest.raises(ToolError, match=r"^invalid_schema: "):
                await stdio_client.call_tool(tool, {**args, "max_tokens": 8, "json_schema": schema})
    result = await stdio_client.call_tool("chat", {"messages": USER_HI, "max_tokens": 4, "temperature": 0})
    assert result.structured_content is not None and result.structured_content["usage"]["completion_tokens"] >= 1


async def test_stdio_chat_answers(stdio_client: Client[Any]) -> None:
    result = await stdio_client.call_tool("chat", {"messages": USER_HI, "max_tokens": 16, "temperature": 0})
    out = result.structured_content
    assert out is not None and out["text"].strip()
    assert out["model"] == "smollm2-135m-instruct"
    assert out["usage"]["completion_tokens"] >= 1


async def test_stdio_json_schema_answer_validates(stdio_client: Client[Any]) -> None:
    messages = [{"role": "user", "content": "Bob is 41. Reply with his name and age as JSON."}]
    result = await stdio_client.call_tool(
        "chat", {"messages": messages, "max_tokens": 40, "temperature": 0, "json_schema": PERSON}
    )
    out = result.structured_content
    assert out is not None
    jsonschema.validate(out["json_value"], PERSON)
    assert json.loads(out["text"]) == out["json_value"]


async def test_stdio_over_long_prompt_is_a_tool_error_with_both_sizes(stdio_client: Client[Any]) -> None:
    messages = [{"role": "user", "content": "token " * 800}]
    with pytest.raises(ToolError, match=r"^context_length_exceeded: prompt is \d+ tokens .*context window of 512"):
        await stdio_client.call_tool("chat", {"messages": messages, "max_tokens": 8})


async def test_stdio_bad_arguments_are_refused(stdio_client: Client[Any]) -> None:
    with pytest.raises(ToolError, match="temperature"):
        await stdio_client.call_tool("chat", {"messages": USER_HI, "temperature": 5})
    with pytest.raises(ToolError, match="messages"):
        await stdio_client.call_tool("chat", {"messages": []})
    with pytest.raises(ToolError, match="role"):
        await stdio_client.call_tool("chat", {"messages": [{"role": "wizard", "content": "x"}]})
    with pytest.raises(ToolError, match=r"^model_not_found: no model 'gpt-9'"):
        await stdio_client.call_tool("chat", {"messages": USER_HI, "model": "gpt-9"})
    # the server is still fine afterwards
    ok = await stdio_client.call_tool("models", {})
    assert ok.structured_content is not None


async def test_stdio_embed_and_models(stdio_client: Client[Any]) -> None:
    models = (await stdio_client.call_tool("models", {})).structured_content
    assert models is not None
    by_name = {m["name"]: m for m in models["result"]}
    assert by_name["smollm2-embed"]["embedding"] and not by_name["smollm2-embed"]["chat"]
    out = (await stdio_client.call_tool("embed", {"texts": ["a", "b"], "model": "smollm2-embed"})).structured_content
    assert out is not None and out["dimensions"] == 576 and len(out["embeddings"]) == 2
    with pytest.raises(ToolError, match=r"^unsupported: model 'smollm2-135m-instruct' is a chat model"):
        await stdio_client.call_tool("embed", {"texts": ["a"]})


async def test_http_session_requires_the_token_and_chats(llm_http: RunningServer) -> None:
    async with httpx.AsyncClient() as http:
        refused = await http.post(f"{llm_http.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert refused.status_code == 401
    async with Client(f"{llm_http.url}/mcp", auth=llm_http.token, timeout=120) as client:
        result = await client.call_tool("chat", {"messages": USER_HI, "max_tokens": 12, "temperature": 0})
        assert result.structured_content is not None and result.structured_content["text"].strip()
        status = (await client.call_tool("status", {})).structured_content
        assert status is not None and status["default_model"] == "smollm2-135m-instruct"


async def test_http_refuses_a_foreign_origin(llm_http: RunningServer) -> None:
    headers = {
        **llm_http.headers(),
        "origin": "http://attacker.example",
        "accept": "application/json, text/event-stream",
    }
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{llm_http.url}/mcp", headers=headers, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        )
    assert response.status_code == 403


async def test_http_busy_error_when_the_queue_is_full(tmp_path: Path) -> None:
    server = start_http_server(tmp_path, "[llm]\nthreads = 1\ninstances = 1\nmax_queue = 0\nn_ctx = 1024\n", token=None)
    try:
        async with Client(f"{server.url}/mcp", timeout=120) as client:
            long_call = {
                "messages": [{"role": "user", "content": "Numbers."}],
                "max_tokens": 600,
                "temperature": 0,
                "json_schema": ENDLESS,
            }
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.call_tool, "chat", long_call)
                with anyio.fail_after(30):
                    while True:
                        status = (await client.call_tool("status", {})).structured_content
                        assert status is not None
                        if status["models"][0]["busy"] == 1:
                            break
                        await anyio.sleep(0.05)
                with pytest.raises(ToolError, match=r"^busy: model 'smollm2-135m-instruct' is busy"):
                    await client.call_tool("chat", {"messages": USER_HI, "max_tokens": 4})
                tg.cancel_scope.cancel()
    finally:
        stop(server)


async def test_http_client_timeout_cancels_the_generation_on_the_server(llm_http: RunningServer) -> None:
    long_call = {
        "messages": [{"role": "user", "content": "Numbers."}],
        "max_tokens": 900,
        "temperature": 0,
        "json_schema": ENDLESS,
    }
    async with Client(f"{llm_http.url}/mcp", auth=llm_http.token, timeout=120) as client:
        before = (await client.call_tool("status", {})).structured_content
        assert before is not None
        cancelled_before = before["models"][0]["requests_cancelled"]
        with pytest.raises(MCPError, match="timed out"):
            await client.call_tool("chat", long_call, timeout=1.5)
        with anyio.fail_after(20):  # without cancellation the slot stays busy for all 900 tokens (~20 s)
            while True:
                status = (await client.call_tool("status", {})).structured_content
                assert status is not None
                model = status["models"][0]
                if model["busy"] == 0:
                    break
                await anyio.sleep(0.05)
    assert model["requests_cancelled"] == cancelled_before + 1
