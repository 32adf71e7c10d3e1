"""The built-in providers' HTTP layer against real loopback sockets: failures classified, long SSE lines read whole."""

from __future__ import annotations

import asyncio
import json

import pytest

from strata.router.providers import OpenAIProvider, ProviderFailure
from strata.router.settings import ProviderConfig
from strata.shared.testing import free_port

pytestmark = pytest.mark.anyio
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


async def test_a_closed_port_is_a_retryable_connect_failure() -> None:
    provider = OpenAIProvider("dead", ProviderConfig(base_url=f"http://127.0.0.1:{free_port()}/v1"))
    try:
        with pytest.raises(ProviderFailure) as caught:
            await provider.complete(BODY)
        assert caught.value.kind == "connect" and caught.value.retryable
    finally:
        await provider.close()


async def _serve(respond: bytes, delay: float = 0.0) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
            )
            await reader.readexactly(length)
            await asyncio.sleep(delay)
            writer.write(respond)
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_a_silent_upstream_is_a_timeout_failure() -> None:
    server, port = await _serve(b"", delay=1.0)
    provider = OpenAIProvider("slow", ProviderConfig(base_url=f"http://127.0.0.1:{port}/v1", timeout_s=0.3))
    try:
        with pytest.raises(ProviderFailure) as caught:
            await provider.complete(BODY)
        assert caught.value.kind == "timeout"
    finally:
        await provider.close()
        server.close()
        await asyncio.sleep(0.8)  # let the handler finish and close its socket


async def test_stream_events_longer_than_any_line_buffer_arrive_whole() -> None:
    huge = "x" * 300_000  # a big tool-call argument in one SSE event
    events = [
        {"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": huge}}]},
        {"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]
    sse = "".join(f"data: {json.dumps(e)}\r\n\r\n" for e in events) + "data: [DONE]\r\n\r\n"
    body = sse.encode()
    response = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
    server, port = await _serve(response)
    provider = OpenAIProvider("sse", ProviderConfig(base_url=f"http://127.0.0.1:{port}/v1"))
    try:
        received = [event async for event in provider.stream(BODY)]
    finally:
        await provider.close()
        server.close()
    assert len(received) == 2 and received[0]["choices"][0]["delta"]["content"] == huge
