"""The stdio transport, answering every line it cannot read.

mcp's ``stdio_server`` hands a line it cannot decode to the session as an exception, and the session
drops it (logged at debug): a client that sent deep nesting, a non-JSON line, invalid UTF-8 or a NUL
byte waited for its own timeout. Here each such line gets a JSON-RPC error at once: -32700 (parse
error) for text that is not JSON (or nests deeper than the parser's 200 levels), -32600 (invalid
request) for JSON that is not a JSON-RPC message. The error carries the request's id when the line
still shows it, so the client's pending call ends now; otherwise ``"id": null``. Everything else is
mcp's own transport, fd diversion included.

A line is read at most ``MAX_LINE_BYTES`` at a time: mcp read a whole line however long it was (a
628 MB argument took a server past 6 GB while it was parsed). A longer line is skipped to its end and
answered with -32600 "request too large", with the id its first bytes show.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, BinaryIO

import anyio
from mcp.server.stdio import stdio_server
from mcp.shared._context_streams import create_context_streams
from mcp.shared.message import SessionMessage
from mcp_types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError

from strata.shared.log import get_logger

__all__ = ["answering_stdio", "error_for_unreadable"]

log = get_logger("strata.stdio")


MAX_LINE_BYTES = 16 * 1024 * 1024
OVERSIZE_KEY = "strata_line_too_large"


def error_for_unreadable(problem: Exception) -> JSONRPCError:
    """The JSON-RPC error a client gets for a line that is not a JSON-RPC message."""
    problems = problem.errors() if isinstance(problem, ValidationError) else []
    oversize = next(
        (p["input"] for p in problems if isinstance(p.get("input"), dict) and OVERSIZE_KEY in p["input"]), None
    )
    if oversize is not None:
        error = ErrorData(
            code=INVALID_REQUEST, message=f"Request too large: a message may be at most {MAX_LINE_BYTES:,} bytes"
        )
        found = oversize.get("id")
        return JSONRPCError(jsonrpc="2.0", id=found if isinstance(found, int | str) else None, error=error)
    not_json = not problems or any(e["type"] in ("json_invalid", "recursion_loop") for e in problems)
    if not_json:
        error = ErrorData(code=PARSE_ERROR, message="Parse error: the line is not valid JSON (or nests too deeply)")
    else:
        error = ErrorData(code=INVALID_REQUEST, message="Invalid Request: the line is JSON but not a JSON-RPC message")
    return JSONRPCError(jsonrpc="2.0", id=_request_id(problems), error=error)


TOP_LEVEL_ID = re.compile(r'^\s*\{[^{}\[\]]*?"id"\s*:\s*(-?\d{1,18}|"(?:[^"\\]|\\.){0,200}")')


def _request_id(problems: list[Any]) -> int | str | None:
    """The id of the request behind a line that failed validation, when it can be read off safely."""
    for problem in problems:
        value = problem.get("input")
        if isinstance(value, dict):  # valid JSON, not a valid message: the parsed object is in the error
            found = value.get("id")
            return found if isinstance(found, int | str) and not isinstance(found, bool) else None
        if isinstance(value, str):
            try:  # deeper than the protocol's parser allows, but Python's may read it
                parsed = json.loads(value)
            except (ValueError, RecursionError):
                parsed = None
            if isinstance(parsed, dict):
                found = parsed.get("id")
                return found if isinstance(found, int | str) and not isinstance(found, bool) else None
            match = TOP_LEVEL_ID.match(value)  # only before any nested object or array
            if match:
                found = json.loads(match.group(1))
                return found if isinstance(found, int | str) else None
    return None


class BoundedLines:
    """The lines of a binary stream as text (invalid UTF-8 replaced, as mcp does), each at most
    ``MAX_LINE_BYTES``; a longer one is read to its end and stands as a small JSON marker instead."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw

    def __aiter__(self) -> BoundedLines:
        return self

    async def __anext__(self) -> str:
        line = await anyio.to_thread.run_sync(self.read_line, abandon_on_cancel=True)
        if line is None:
            raise StopAsyncIteration
        return line

    def read_line(self) -> str | None:
        line = self.raw.readline(MAX_LINE_BYTES + 1)
        if not line:
            return None
        if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
            return line.decode("utf-8", errors="replace")
        while True:  # skip the rest of the line without holding it
            more = self.raw.readline(1 << 20)
            if not more or more.endswith(b"\n"):
                break
        match = TOP_LEVEL_ID.match(line[:4096].decode("utf-8", errors="replace"))
        found = json.loads(match.group(1)) if match else None
        return json.dumps({"jsonrpc": "2.0", "id": found, OVERSIZE_KEY: True}) + "\n"


@contextmanager
def _claimed_stdin() -> Iterator[BinaryIO]:
    """The wire on a private descriptor, fd 0 on the null device meanwhile (as mcp's own claim does:
    a child process or a stray read then sees EOF instead of protocol bytes)."""
    try:
        private = os.dup(0)
        null = os.open(os.devnull, os.O_RDONLY)
    except OSError:
        yield sys.stdin.buffer
        return
    try:
        os.dup2(null, 0)
    finally:
        os.close(null)
    try:
        yield os.fdopen(private, "rb", closefd=False)
    finally:
        os.dup2(private, 0)
        os.close(private)


@asynccontextmanager
async def answering_stdio() -> AsyncIterator[tuple[Any, Any]]:
    """``stdio_server()``'s (read, write) streams, with unreadable lines answered instead of passed on."""
    with _claimed_stdin() as wire:
        async with _answering(BoundedLines(wire)) as streams:
            yield streams


@asynccontextmanager
async def _answering(stdin: BoundedLines) -> AsyncIterator[tuple[Any, Any]]:
    async with stdio_server(stdin=stdin) as (read_stream, write_stream):  # type: ignore[arg-type]
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
