"""Discovery: reach each configured server, list its tools (namespaced ``<server>.<tool>``) and ping it.

One MCP client per server, never one group client: a missing or broken server is reported on its own
line and the others still work (a group fails whole if one member fails).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import anyio
from pydantic import BaseModel

from strata.orchestrator.settings import ServerSpec

__all__ = ["ServerReport", "client_for", "probe", "probe_all"]

DEFAULT_TIMEOUT_S = 60.0
Health = Literal["ok", "unreachable", "error", "timeout"]


class ServerReport(BaseModel):
    """What ``strata servers`` says about one server."""

    name: str
    transport: Literal["stdio", "http"]
    target: str
    health: Health
    tools: list[str] = []
    ping_ms: float | None = None
    connect_ms: float | None = None
    error: str = ""


def client_for(name: str, spec: ServerSpec, log_dir: Path | None = None, token: str | None = None) -> Any:
    """A fastmcp Client for ``spec``; stdio servers inherit this process's environment plus ``spec.env``.

    An HTTP server's bearer token is ``token`` if given, else the value of ``spec.token_env``.
    """
    from fastmcp import Client
    from fastmcp.client.auth import BearerAuth
    from fastmcp.client.transports import StdioTransport

    if spec.url is not None:
        token = token or (os.environ.get(spec.token_env) if spec.token_env else None)
        return Client(spec.url, auth=BearerAuth(token) if token else None, timeout=DEFAULT_TIMEOUT_S)
    log_file = (log_dir / f"{name}.log") if log_dir is not None else None
    transport = StdioTransport(
        command=spec.command or "",
        args=spec.args,
        env={**os.environ, **spec.env},
        cwd=str(spec.cwd) if spec.cwd else None,
        keep_alive=False,
        log_file=log_file,
    )
    return Client(transport, timeout=DEFAULT_TIMEOUT_S)


async def probe(
    name: str,
    spec: ServerSpec,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    log_dir: Path | None = None,
    token: str | None = None,
) -> ServerReport:
    """Connect, list tools and ping once; every failure becomes a report, never an exception."""
    report = ServerReport(name=name, transport=spec.transport, target=spec.target, health="ok")
    started = time.perf_counter()
    try:
        with anyio.fail_after(timeout_s):
            async with client_for(name, spec, log_dir, token=token) as client:
                report.connect_ms = round((time.perf_counter() - started) * 1000, 1)
                report.tools = sorted(f"{name}.{tool.name}" for tool in await client.list_tools())
                # The ping is a second tools/list: protocol 2026-07-28 (sessionless) has no ping method.
                pinged = time.perf_counter()
                await client.list_tools()
                report.ping_ms = round((time.perf_counter() - pinged) * 1000, 2)
    except TimeoutError:
        report.health, report.error = "timeout", f"no answer within {timeout_s:g} s"
    except (OSError, ConnectionError) as exc:
        report.health, report.error = "unreachable", _one_line(exc)
    except Exception as exc:  # any client or server failure is this server's problem only
        report.health, report.error = _classify(exc)
        if spec.url is not None:
            report.error = await _http_hint(spec, token) or report.error
    return report


async def _http_hint(spec: ServerSpec, given: str | None = None) -> str:
    """MCP clients report a refused HTTP request vaguely; say which status came back and what to fix."""
    import httpx

    token = given or (os.environ.get(spec.token_env) if spec.token_env else None)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            status = (await client.post(spec.url or "", json={}, headers=headers)).status_code
    except httpx.HTTPError:
        return ""
    if status in (401, 403) and given:
        return f"HTTP {status}: the server refused this bearer token"
    if status in (401, 403):
        where = f"${spec.token_env}" if spec.token_env else "token_env (not set in [servers])"
        return f"HTTP {status}: the server wants a bearer token - check {where}"
    if status == 404:
        return "HTTP 404: nothing at this URL - MCP is usually served at /mcp"
    return ""


def _classify(exc: BaseException) -> tuple[Health, str]:
    text = _one_line(exc)
    lowered = text.lower()
    if any(word in lowered for word in ("failed to connect", "connection closed", "refused", "connecterror")):
        return "unreachable", text
    return "error", text


def _one_line(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    message = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {message}"[:300]


async def probe_all(
    specs: Mapping[str, ServerSpec], *, timeout_s: float = DEFAULT_TIMEOUT_S, log_dir: Path | None = None
) -> list[ServerReport]:
    """Probe every server at once; the reports come back in the order of ``specs``."""
    reports: dict[str, ServerReport] = {}

    async def one(name: str, spec: ServerSpec) -> None:
        reports[name] = await probe(name, spec, timeout_s=timeout_s, log_dir=log_dir)

    async with anyio.create_task_group() as tg:
        for name, spec in specs.items():
            tg.start_soon(one, name, spec)
    return [reports[name] for name in specs]
