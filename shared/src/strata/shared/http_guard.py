"""What guards every server's HTTP port beyond the MCP SDK's own checks.

- :class:`TimedHttpProtocol`: uvicorn never times out a request that is still arriving, so a client
  that sends its headers or body a byte at a time held a connection (and its memory) forever. Headers
  must arrive within ``HEADER_TIMEOUT_S`` of the connection (or of the request's first byte), the body
  within ``BODY_TIMEOUT_S`` of the headers; otherwise 408 and the connection is closed.
- :class:`OriginGuard`: the SDK's guard trusts any ``http://localhost:<port>`` Origin when the server is
  on loopback, so any page served on this machine (a dev server, a compromised tool) could call the
  tools. A browser Origin is trusted only when configured, or when it is this server's own origin.
- :func:`check_token`: a bearer token that guards a port beyond loopback must be worth guessing against.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from strata.shared.errors import ConfigError, StrataError

__all__ = [
    "BODY_TIMEOUT_S",
    "HEADER_TIMEOUT_S",
    "MIN_TOKEN_CHARS",
    "OriginGuard",
    "TimedHttpProtocol",
    "check_token",
    "protocol_options",
]

HEADER_TIMEOUT_S = 10.0
BODY_TIMEOUT_S = 30.0
MIN_TOKEN_CHARS = 16
MIN_TOKEN_DISTINCT = 8
REQUEST_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\ncontent-length: 16\r\n"
    b"connection: close\r\n\r\nrequest too slow"
)


class TimedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with deadlines for a request's headers and body."""

    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(HEADER_TIMEOUT_S)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm(HEADER_TIMEOUT_S)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arm(BODY_TIMEOUT_S)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._disarm()  # the keep-alive timer of uvicorn takes over until the next request begins

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is None or not cycle.response_started:
            self.transport.write(REQUEST_TIMEOUT_RESPONSE)
        self.transport.close()


class OriginGuard:
    """Refuses a request whose Origin header is neither configured nor this server's own origin."""

    def __init__(self, app: ASGIApp, allowed_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.allowed = {origin.rstrip("/").lower() for origin in allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and not self._trusted(origin.rstrip("/").lower(), scope, headers):
                error = StrataError(
                    "browser origin not allowed - add it to allowed_origins in [server] (STRATA_ALLOWED_ORIGINS)",
                    code="forbidden_origin",
                )
                await JSONResponse({"error": error.to_dict()}, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _trusted(self, origin: str, scope: Scope, headers: Headers) -> bool:
        if origin in self.allowed:
            return True
        host = headers.get("host", "").lower()
        return bool(host) and origin == f"{scope.get('scheme', 'http')}://{host}"


def check_token(token: str) -> None:
    """Refuse a bearer token too weak to guard a port: short, spaced, or of few distinct characters."""
    if len(token) < MIN_TOKEN_CHARS or any(ch.isspace() for ch in token) or len(set(token)) < MIN_TOKEN_DISTINCT:
        raise ConfigError(
            f"the bearer token is too weak to guard a port beyond loopback: use at least {MIN_TOKEN_CHARS} "
            f"characters, no spaces, at least {MIN_TOKEN_DISTINCT} different ones - e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )


def protocol_options() -> dict[str, Any]:
    """The uvicorn.Config keyword arguments that install these guards at the protocol level."""
    return {"http": TimedHttpProtocol, "h11_max_incomplete_event_size": 64 * 1024}
