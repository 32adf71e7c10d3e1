"""Real HTTP servers on 127.0.0.1 for the router tests.

The upstreams stand in for paid APIs only: they speak OpenAI's chat-completions and Anthropic's
Messages wire formats (JSON, SSE streams, error bodies and status codes). What each answers is chosen
by the upstream model id, so a route's config decides which behaviour a tier gets:

    echo        repeats the last user message            json-good   {"answer": 42}
    judge-same  SAME                                     judge-different  DIFFERENT: the totals differ
    bad-json    prose where JSON was asked               truncated   finish_reason "length"
    empty       an empty answer                          tool        calls the first offered tool properly
    bad-tool    calls a tool that was not offered        fail500     HTTP 500
    ratelimit   HTTP 429                                 overflow    HTTP 400 context_length_exceeded
    reject      HTTP 400 (a client error)                slow        answers after 2 s
    midfail     streams a piece, then an error event
    leak401     HTTP 401 whose body echoes the request's Authorization header, with a traceback
    leak500     HTTP 500, the same echo as plain text
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from strata.router.core import Router
from strata.router.http_api import KeyRing
from strata.router.server import create_server
from strata.router.settings import RouterSettings
from strata.shared.runner import Metrics, ServeOptions, build_http_app
from strata.shared.testing import ThreadServer, postgres_binaries, postgres_server

ANTHROPIC_KEY = "sk-ant-test-key"


@dataclass
class Upstream:
    url: str
    calls: list[dict[str, Any]] = field(default_factory=list)

    def models_called(self) -> list[str]:
        return [c["model"] for c in self.calls]


def _answer(model: str, body: dict[str, Any]) -> tuple[str, list[dict[str, Any]], str]:
    """(text, tool calls, finish reason) for an upstream model id."""
    last = next((m for m in reversed(body.get("messages", [])) if m.get("role") == "user"), {})
    content = last.get("content")
    said = (
        content
        if isinstance(content, str)
        else " ".join(p.get("text", "") for p in content or [] if isinstance(p, dict))
    )
    tools = body.get("tools") or []
    if model == "json-good":
        return '{"answer": 42}', [], "stop"
    if model == "judge-same":  # a judge comparing two answers (shadow evaluation)
        return "SAME", [], "stop"
    if model == "judge-different":
        return "DIFFERENT: the totals differ", [], "stop"
    if model == "bad-json":
        return "The answer is forty-two.", [], "stop"
    if model == "truncated":
        return "The answer is", [], "length"
    if model == "empty":
        return "", [], "stop"
    if model == "tool" and tools:
        name = tools[0]["function"]["name"] if "function" in tools[0] else tools[0]["name"]
        return (
            "",
            [{"id": "call_1", "type": "function", "function": {"name": name, "arguments": '{"city": "Paris"}'}}],
            "tool_calls",
        )
    if model == "bad-tool":
        return (
            "",
            [{"id": "call_1", "type": "function", "function": {"name": "rm_rf", "arguments": "{}"}}],
            "tool_calls",
        )
    return f"echo: {said}", [], "stop"


ERRORS = {
    "fail500": (500, {"error": {"message": "upstream exploded", "type": "server_error"}}),
    "ratelimit": (429, {"error": {"message": "slow down", "type": "rate_limit_error"}}),
    "overflow": (
        400,
        {"error": {"message": "This model's maximum context length is 10 tokens", "code": "context_length_exceeded"}},
    ),
    "reject": (400, {"error": {"message": "tools[0].function.name is invalid", "type": "invalid_request_error"}}),
}


def openai_app(calls: list[dict[str, Any]]) -> Starlette:
    async def chat(request: Request) -> Response:
        body = await request.json()
        calls.append(body)
        model = body["model"]
        if model in ("leak401", "leak500"):
            echoed = request.headers.get("authorization", "")
            trace = 'Traceback (most recent call last):\n  File "/srv/app.py", line 9, in check\nKeyError: ' + echoed
            if model == "leak401":
                return JSONResponse({"error": {"message": f"bad key {echoed}\n{trace}"}}, status_code=401)
            return Response(f"internal error; request had Authorization: {echoed}\n{trace}", status_code=500)
        if model in ERRORS:
            status, payload = ERRORS[model]
            return JSONResponse(payload, status_code=status)
        if model == "slow":
            await anyio.sleep(2)
        text, tool_calls, finish = _answer(model, body)
        usage = {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": text or (None if tool_calls else "")}
            if tool_calls:
                message["tool_calls"] = tool_calls
            return JSONResponse(
                {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
                 "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage}
            )  # fmt: skip

        async def events() -> AsyncIterator[bytes]:
            base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model}

            def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
                data = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
                return f"data: {json.dumps(data)}\n\n".encode()

            yield chunk({"role": "assistant", "content": ""})
            pieces = [text[i : i + 5] for i in range(0, len(text), 5)]
            for index, piece in enumerate(pieces):
                yield chunk({"content": piece})
                if model == "midfail" and index == 0:
                    yield b'data: {"error": {"message": "worker died"}}\n\n'
                    return
            for index, call in enumerate(tool_calls):
                yield chunk({"tool_calls": [{"index": index, **call}]})
            yield chunk({}, finish)
            if (body.get("stream_options") or {}).get("include_usage"):
                yield f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n".encode()
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


def anthropic_app(calls: list[dict[str, Any]]) -> Starlette:
    async def messages(request: Request) -> Response:
        if request.headers.get("x-api-key") != ANTHROPIC_KEY or not request.headers.get("anthropic-version"):
            return JSONResponse(
                {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}},
                status_code=401,
            )
        body = await request.json()
        calls.append(body)
        model = body["model"]
        if model == "fail500":
            return JSONResponse(
                {"type": "error", "error": {"type": "api_error", "message": "overloaded"}}, status_code=529
            )
        tools = body.get("tools") or []
        text, tool_calls, finish = _answer(model, {"messages": body["messages"], "tools": tools})
        stop = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}[finish]
        content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
        for call in tool_calls:
            content.append(
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": call["function"]["name"],
                    "input": json.loads(call["function"]["arguments"]),
                }
            )
        if not body.get("stream"):
            return JSONResponse(
                {"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": content,
                 "stop_reason": stop, "stop_sequence": None, "usage": {"input_tokens": 80, "output_tokens": 20}}
            )  # fmt: skip

        async def events() -> AsyncIterator[bytes]:
            def event(name: str, data: dict[str, Any]) -> bytes:
                return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()

            message = {"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [],
                       "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 80, "output_tokens": 0}}  # fmt: skip
            yield event("message_start", {"message": message})
            yield event("ping", {})
            for index, block in enumerate(content):
                if block["type"] == "text":
                    yield event("content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}})
                    for i in range(0, len(block["text"]), 5):
                        yield event(
                            "content_block_delta",
                            {"index": index, "delta": {"type": "text_delta", "text": block["text"][i : i + 5]}},
                        )
                else:
                    start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
                    yield event("content_block_start", {"index": index, "content_block": start})
                    yield event(
                        "content_block_delta",
                        {
                            "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": json.dumps(block["input"])},
                        },
                    )
                yield event("content_block_stop", {"index": index})
            yield event(
                "message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 20}}
            )
            yield event("message_stop", {})

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])])


@pytest.fixture(scope="session")
def openai_upstream() -> Iterator[Upstream]:
    calls: list[dict[str, Any]] = []
    with ThreadServer(openai_app(calls)) as url:
        yield Upstream(url + "/v1", calls)


@pytest.fixture(scope="session")
def anthropic_upstream() -> Iterator[Upstream]:
    calls: list[dict[str, Any]] = []
    with ThreadServer(anthropic_app(calls)) as url:
        yield Upstream(url, calls)


@pytest.fixture
def upstreams(openai_upstream: Upstream, anthropic_upstream: Upstream) -> tuple[Upstream, Upstream]:
    openai_upstream.calls.clear()
    anthropic_upstream.calls.clear()
    return openai_upstream, anthropic_upstream


def model(provider: str, upstream_id: str, **extra: Any) -> dict[str, Any]:
    return {"provider": provider, "model": upstream_id, **extra}


def base_config(openai_url: str, anthropic_url: str, tmp_path: Path) -> dict[str, Any]:
    """Providers for both fakes and one model per behaviour; tests add routes, budgets and keys."""
    behaviours = [
        "echo",
        "json-good",
        "bad-json",
        "truncated",
        "empty",
        "tool",
        "bad-tool",
        "fail500",
        "ratelimit",
        "overflow",
        "reject",
        "slow",
        "midfail",
    ]
    models = {name: model("fake", name, input_price=1.0, output_price=2.0) for name in behaviours}
    models["local"] = model("fake", "echo", local=True)  # free, like a local GGUF
    models["frontier"] = model("fake", "json-good", input_price=3.0, output_price=15.0)
    models["claude"] = model("anthropic", "echo", input_price=3.0, output_price=15.0)
    return {
        "data_dir": tmp_path / "router",
        "providers": {
            "fake": {"base_url": openai_url, "timeout_s": 0.5},
            "anthropic": {"kind": "anthropic", "base_url": anthropic_url, "api_key_env": "FAKE_ANTHROPIC_KEY"},
        },
        "models": models,
        "routes": {"default": {"policy": "fixed", "model": "echo"}},
    }


RouterFactory = Callable[..., "RunningRouter"]


@dataclass
class RunningRouter:
    url: str
    router: Router

    @property
    def v1(self) -> str:
        return self.url + "/v1"


@pytest.fixture
def make_router(
    upstreams: tuple[Upstream, Upstream], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., RunningRouter]]:
    """Start a router over HTTP with the base config updated by the given keys."""
    monkeypatch.setenv("FAKE_ANTHROPIC_KEY", ANTHROPIC_KEY)
    stack: list[ThreadServer] = []

    def start(keys: dict[str, str] | None = None, **overrides: Any) -> RunningRouter:
        config = base_config(upstreams[0].url, upstreams[1].url, tmp_path)
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key] = {**config[key], **value}
            else:
                config[key] = value
        router = Router.from_settings(RouterSettings(**config))
        metrics = Metrics()
        server = create_server(router, metrics, KeyRing(keys or {}))
        options = ServeOptions(transport="http", self_authenticated=("/v1/",) if keys else ())
        thread = ThreadServer(build_http_app(server, options, metrics))
        url = thread.__enter__()
        stack.append(thread)
        return RunningRouter(url, router)

    yield start
    for thread in stack:
        thread.__exit__()


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A PostgreSQL server (Debian's package) for the session, as an ordinary user in a temp dir."""
    bin_dir = postgres_binaries()
    # Fails, never skips, when they are missing (house rule: no skips; the issue allowed a skip): .ci/run installs them.
    assert bin_dir is not None, (
        "PostgreSQL's initdb and postgres are needed for the shared-ledger tests: apt-get install postgresql "
        "(.ci/run installs it)"
    )
    with postgres_server(bin_dir) as url:
        yield url


@pytest.fixture
def ledger_url(postgres: str) -> str:
    """A fresh database on the session's PostgreSQL server."""
    import psycopg

    name = "ledger_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def router_process(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start ``strata-router serve --transport http`` processes, configured through STRATA_ROUTER_* (JSON values);
    each has its own STRATA_HOME. Yields a starter returning the base URL; stops them all at teardown."""
    import os
    import subprocess
    import sys

    from strata.shared.process import stop
    from strata.shared.testing import free_port, wait_healthy

    started: list[tuple[subprocess.Popen[bytes], Any]] = []

    def start(config: dict[str, Any], home: Path, **env_extra: str) -> str:
        port = free_port()
        home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("STRATA_", "OTEL_"))}
        env |= {"STRATA_HOME": str(home), "STRATA_CONFIG": str(home / "none.toml"), **env_extra}
        for key, value in config.items():
            env["STRATA_ROUTER_" + key.upper()] = value if isinstance(value, str) else json.dumps(value, default=str)
        log = home / "router.log"
        handle = log.open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "strata.router", "serve", "--transport", "http", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=handle,
        )  # fmt: skip
        started.append((proc, handle))
        url = f"http://127.0.0.1:{port}"
        if not wait_healthy(url, timeout=60):
            raise RuntimeError("the router process did not start: " + log.read_text()[-2000:])
        return url

    yield start
    for proc, handle in started:
        stop(proc)
        handle.close()
