"""A stdio connection serves whichever protocol era the client opens with, until it completes a handshake.

mcp's ``serve_dual_era_loop`` fixes a connection's era at its first request: one carrying the 2026-07-28 envelope
makes it a modern connection for good, and an ``initialize`` after that is refused ("connection is serving the
2026-07-28 protocol"). Claude Code probes with a modern request first; when a server is slow to answer (five
servers started at once on two cores), the probe times out and the client falls back to ``initialize`` on the same
connection, which was then refused. A modern connection keeps no state between requests, so nothing is lost by
starting over: here an ``initialize`` on a modern connection ends the modern loop (a request still running there is
cancelled: its client has given up on it) and opens a handshake connection with that ``initialize``. Once a
handshake connection has started, it stays one (mcp refuses modern requests on it, as before).
"""

from __future__ import annotations

from typing import Any

import anyio
from mcp.server.runner import serve_dual_era_loop
from mcp.shared._context_streams import create_context_streams
from mcp.shared.message import SessionMessage
from mcp_types import PROTOCOL_VERSION_META_KEY, JSONRPCRequest

from strata.shared.log import get_logger

__all__ = ["serve_any_era"]

log = get_logger("strata.eras")


class _KeptOpen:
    """The connection's write stream as one era's loop sees it: the loop closes it when it ends, the connection
    does not end with it."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def send(self, item: Any) -> None:
        await self._inner.send(item)

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass

    async def __aenter__(self) -> _KeptOpen:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


def _request(item: SessionMessage | Exception) -> JSONRPCRequest | None:
    if isinstance(item, SessionMessage) and isinstance(item.message, JSONRPCRequest):
        return item.message
    return None


def _modern(request: JSONRPCRequest) -> bool:
    meta = (request.params or {}).get("_meta")
    return request.method != "initialize" and isinstance(meta, dict) and PROTOCOL_VERSION_META_KEY in meta


async def _relay(read_stream: Any, segment_send: Any, carried: Any, state: dict[str, Any]) -> None:
    """Pass the client's messages to one era's loop, until the connection ends or an ``initialize`` arrives on a
    modern connection (kept in ``state["switch"]`` for the next loop)."""
    async with segment_send:
        if carried is not None:
            await segment_send.send(carried)
            request = _request(carried)
            state["era"] = "modern" if request is not None and _modern(request) else "legacy"
        try:
            async for item in read_stream:
                request = _request(item)
                if request is not None and not state["era"]:
                    state["era"] = "modern" if _modern(request) else "legacy"
                elif request is not None and state["era"] == "modern" and request.method == "initialize":
                    state["switch"] = item
                    return
                await segment_send.send(item)
        except anyio.ClosedResourceError:
            pass


async def serve_any_era(server: Any, read_stream: Any, write_stream: Any, **options: Any) -> None:
    """``serve_dual_era_loop(server, read_stream, write_stream, **options)``, where an ``initialize`` on a modern
    connection starts the connection over as a handshake one."""
    carried: SessionMessage | Exception | None = None
    try:
        while True:
            segment_send, segment_receive = create_context_streams[SessionMessage | Exception](0)
            state: dict[str, Any] = {"era": "", "switch": None}

            async with anyio.create_task_group() as group:
                group.start_soon(_relay, read_stream, segment_send, carried, state)
                await serve_dual_era_loop(server, segment_receive, _KeptOpen(write_stream), **options)
                group.cancel_scope.cancel()  # the loop ended by itself (its stream closed): nothing left to relay
            if state["switch"] is None:
                return
            log.info("era_switched", to="handshake", reason="initialize after modern requests")
            carried = state["switch"]
    finally:
        await write_stream.aclose()
