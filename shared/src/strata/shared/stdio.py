"""The stdio transport, answering every line it cannot read.

mcp's ``stdio_server`` hands a line it cannot decode to the session as an exception, and the session
drops it (logged at debug): a client that sent deep nesting, a non-JSON line, invalid UTF-8 or a NUL
byte waited for its own timeout. Here each such line gets a JSON-RPC error with ``"id": null`` at once:
-32700 (parse error) for text that is not JSON, -32600 (invalid request) for JSON that is not a
JSON-RPC message. Everything else is mcp's own transport, fd diversion included.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp.server.stdio import stdio_server
from mcp.shared._context_streams import create_context_streams
from mcp.shared.message import SessionMessage
from mcp_types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError

from strata.shared.log import get_logger

__all__ = ["answering_stdio", "error_for_unreadable"]

log = get_logger("strata.stdio")


def error_for_unreadable(problem: Exception) -> JSONRPCError:
    """The JSON-RPC error a client gets for a line that is not a JSON-RPC message."""
    not_json = not isinstance(problem, ValidationError) or any(
        e["type"] in ("json_invalid", "recursion_loop") for e in problem.errors(include_input=False)
    )
    if not_json:
        error = ErrorData(code=PARSE_ERROR, message="Parse error: the line is not valid JSON (or nests too deeply)")
    else:
        error = ErrorData(code=INVALID_REQUEST, message="Invalid Request: the line is JSON but not a JSON-RPC message")
    return JSONRPCError(jsonrpc="2.0", id=None, error=error)


@asynccontextmanager
async def answering_stdio() -> AsyncIterator[tuple[Any, Any]]:
    """``stdio_server()``'s (read, write) streams, with unreadable lines answered instead of passed on."""
    async with stdio_server() as (read_stream, write_stream):
        forward, received = create_context_streams[SessionMessage | Exception](0)

        async def pump() -> None:
            async with forward:
                async for item in read_stream:
                    if isinstance(item, Exception):
                        reply = error_for_unreadable(item)
                        log.info("stdio_unreadable_line", code=reply.error.code, error=type(item).__name__)
                        await write_stream.send(SessionMessage(reply))
                    else:
                        await forward.send(item)

        async with anyio.create_task_group() as tg:
            tg.start_soon(pump)
            yield received, write_stream
            tg.cancel_scope.cancel()
