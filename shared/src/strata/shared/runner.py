"""The one server runner every Strata server uses: stdio or streamable HTTP, with health, metrics and auth.

HTTP serves MCP at ``/mcp``, ``GET /healthz`` (no auth, for probes) and Prometheus ``GET /metrics``.
Binding anything but loopback requires a strong bearer token; on loopback the Host header is checked
strictly (DNS-rebinding defence), and a browser Origin is trusted only when configured
(``http_guard.py``). SIGTERM and SIGINT stop the server gracefully on both transports.

At the tool edge every error is ``"<code>: <one line>"`` of at most ``MAX_ERROR_CHARS``: argument
validation says what was wrong first and how many more problems there were, a lone UTF-16 surrogate
anywhere in the arguments is refused before any tool sees it, and ``/healthz`` answers 503 while a tool
call has run longer than ``stuck_after_s``.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import signal
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import anyio.abc
import mcp.types as mt
from fastmcp import FastMCP
from fastmcp.exceptions import FastMCPError, ToolError
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import Field, ValidationError
from starlette.middleware import Middleware as AsgiMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from strata.shared.eras import serve_any_era
from strata.shared.errors import ConfigError, StrataError, UnauthorizedError
from strata.shared.http_guard import OriginGuard, check_token, protocol_options
from strata.shared.log import get_logger, register_secret
from strata.shared.settings import ServerSettings
from strata.shared.stdio import answering_stdio

__all__ = [
    "Metrics",
    "RunnerSettings",
    "ServeOptions",
    "build_http_app",
    "create_mcp",
    "http_config",
    "serve",
    "serve_options_from",
]

log = get_logger("strata.runner")

Transport = Literal["stdio", "http"]
DEFAULT_HOST = "127.0.0.1"
MCP_PATH = "/mcp"
GRACEFUL_SHUTDOWN_SECONDS = 5
UNAUTHENTICATED_PATHS = frozenset({"/healthz"})
# A tool error a client reads: one line, bounded (a call with 200k unknown keys made a 41.6 MB error).
MAX_ERROR_CHARS = 500
# A tool call running longer than this makes /healthz answer 503 "stuck" (a wedged worker).
DEFAULT_STUCK_AFTER_S = 300.0
# Arguments nested deeper than this are refused before any tool sees them (recursion in tool code).
MAX_ARGUMENT_DEPTH = 64


class RunnerSettings(ServerSettings):
    """Settings shared by every server's runner: ``[server]`` in strata.toml, ``STRATA_*`` env vars."""

    section = "server"
    model_config = ServerSettings.model_config | {"env_prefix": "STRATA_"}

    token: str | None = Field(default=None, description="Bearer token for HTTP (STRATA_TOKEN)")
    allowed_origins: list[str] = Field(default_factory=list, description="Extra browser origins trusted")
    allowed_hosts: list[str] = Field(default_factory=list, description="Extra Host header values trusted")
    stuck_after_s: float = Field(
        default=DEFAULT_STUCK_AFTER_S, gt=0, description="/healthz says stuck when a tool call runs longer"
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServeOptions:
    """How to run a server; built from flags and settings in each server's ``main()``."""

    transport: Transport = "stdio"
    host: str = DEFAULT_HOST
    port: int = 8000
    token: str | None = None
    allowed_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    # Path prefixes that authenticate their own requests; the bearer token does not guard them.
    self_authenticated: tuple[str, ...] = ()
    stuck_after_s: float = DEFAULT_STUCK_AFTER_S

    def check(self) -> None:
        """Refuse unsafe combinations before anything binds a port."""
        if self.transport != "http" or is_loopback(self.host):
            return
        if not self.token:
            raise ConfigError(
                f"Refusing to bind {self.host}: serving beyond loopback requires a bearer token - "
                "pass --token or set STRATA_TOKEN"
            )
        check_token(self.token)


@dataclass
class Metrics:
    """Prometheus metrics of one server process; servers add their own to ``registry``."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.http_requests = Counter(
            "strata_http_requests", "HTTP requests", ["method", "path", "status"], registry=self.registry
        )
        self.http_seconds = Histogram(
            "strata_http_request_seconds", "HTTP request latency", ["path"], registry=self.registry
        )
        self.tool_calls = Counter("strata_tool_calls", "MCP tool calls", ["tool", "outcome"], registry=self.registry)
        self.tool_seconds = Histogram(
            "strata_tool_call_seconds", "MCP tool call latency", ["tool"], registry=self.registry
        )
        self.stuck_after_s = DEFAULT_STUCK_AFTER_S
        self._in_flight: dict[int, tuple[str, float]] = {}
        self._next_call = 0

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def call_started(self, tool: str) -> int:
        self._next_call += 1
        self._in_flight[self._next_call] = (tool, time.monotonic())
        return self._next_call

    def call_ended(self, call: int) -> None:
        self._in_flight.pop(call, None)

    def health(self) -> tuple[dict[str, Any], int]:
        """The /healthz body and status: 503 "stuck" while a tool call has run past ``stuck_after_s``."""
        now = time.monotonic()
        calls = list(self._in_flight.values())
        oldest = min(calls, key=lambda call: call[1], default=None)
        body: dict[str, Any] = {"status": "ok", "in_flight": len(calls)}
        if oldest is not None:
            body["oldest_call"] = {"tool": oldest[0], "seconds": round(now - oldest[1], 1)}
            if now - oldest[1] > self.stuck_after_s:
                body["status"] = "stuck"
                return body, 503
        return body, 200


class _ToolEdgeMiddleware(Middleware):
    """Counts and times tool calls, turns errors into one-line MCP tool errors at the edge, and gives every result
    text content (besides its structured content).

    A StrataError becomes ``"<code>: <message>"``; invalid arguments ``"invalid_arguments: <first
    problem> (and N more problems)"``; any other exception is logged and reaches the client as
    ``"internal: ..."`` without a traceback. Every message is cut to ``MAX_ERROR_CHARS``.
    """

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def on_call_tool(
        self, context: MiddlewareContext[mt.CallToolRequestParams], call_next: CallNext[Any, ToolResult]
    ) -> ToolResult:
        tool = context.message.name
        started = time.perf_counter()
        outcome = "error"
        call = self.metrics.call_started(tool)
        try:
            problem = _argument_problem(context.message.arguments)
            if problem:
                outcome = "invalid_arguments"
                raise ToolError(_bounded(f"invalid_arguments: {problem}"))
            result = await call_next(context)
            outcome = "ok"
            if not result.content and not result.is_error:
                # An empty list (budget_status with no budget) or None converts to no content at all: a client that
                # shows only text would show nothing. The structured result, as text, is the answer.
                text = json.dumps(result.structured_content, ensure_ascii=False, separators=(",", ":"))
                result.content = [mt.TextContent(type="text", text=text)]
            return result
        except ToolError as exc:
            if outcome == "invalid_arguments":
                raise
            # FastMCP has already masked the tool's exception; the original is the cause.
            cause = exc.__cause__
            if isinstance(cause, StrataError):
                outcome = cause.code
                log.info("tool_error", tool=tool, code=cause.code, message=cause.message[:MAX_ERROR_CHARS])
                raise ToolError(_bounded(str(cause))) from cause
            invalid = _validation_error(exc)
            if invalid is not None:
                outcome = "invalid_arguments"
                raise ToolError(_bounded(f"invalid_arguments: {_describe(invalid)}")) from None
            if cause is not None and not isinstance(cause, FastMCPError):
                log.error("tool_crashed", tool=tool, error=type(cause).__name__)
                raise ToolError(
                    f"internal: tool '{tool}' failed ({type(cause).__name__}); see the server log"
                ) from cause
            raise ToolError(_bounded(" ".join(str(exc).split()))) from exc
        except FastMCPError as exc:  # fastmcp's own ValidationError for arguments that do not fit the schema
            invalid = _validation_error(exc)
            if invalid is None:
                raise
            outcome = "invalid_arguments"
            raise ToolError(_bounded(f"invalid_arguments: {_describe(invalid)}")) from None
        finally:
            self.metrics.call_ended(call)
            self.metrics.tool_calls.labels(tool=tool, outcome=outcome).inc()
            self.metrics.tool_seconds.labels(tool=tool).observe(time.perf_counter() - started)


def _bounded(message: str) -> str:
    return message if len(message) <= MAX_ERROR_CHARS else message[: MAX_ERROR_CHARS - 1] + "…"


def _validation_error(exc: BaseException) -> ValidationError | None:
    """The pydantic ValidationError behind ``exc`` (fastmcp wraps it once or twice), if any."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return None
        if isinstance(seen, ValidationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _describe(error: ValidationError) -> str:
    """The first problem of a validation error on one line, and how many more there were."""
    problems = error.errors(include_url=False, include_input=False, include_context=False)
    first = problems[0] if problems else {"loc": (), "msg": "invalid"}
    where = ".".join(str(part) for part in first["loc"])[:100] or "arguments"
    message = str(first["msg"]).removeprefix("Value error, ")
    text = " ".join(f"{where}: {message}".split())[:300]
    more = len(problems) - 1
    return f"{text} (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else text


def _argument_problem(arguments: Any) -> str:
    """What makes these arguments unusable by any tool: a lone surrogate, or nesting past MAX_ARGUMENT_DEPTH."""
    stack: list[tuple[Any, str, int]] = [(arguments, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_ARGUMENT_DEPTH:
            return f"{where or 'arguments'}: nested deeper than {MAX_ARGUMENT_DEPTH} levels"
        if isinstance(value, str):
            if not value.isascii() and not _encodable(value):
                return f"{where or 'arguments'}: text contains a lone UTF-16 surrogate (not valid Unicode)"
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and not key.isascii() and not _encodable(key):
                    return f"{where or 'arguments'}: a key contains a lone UTF-16 surrogate (not valid Unicode)"
                stack.append((item, f"{where}.{key}" if where else str(key)[:100], depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{where}.{i}", depth + 1) for i, item in enumerate(value))
    return ""


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def create_mcp(
    name: str,
    *,
    version: str,
    instructions: str,
    metrics: Metrics,
    lifespan: Callable[[FastMCP], AbstractAsyncContextManager[Any]] | None = None,
) -> FastMCP:
    """A FastMCP server with Strata's error edge, tool metrics, ``/healthz`` and ``/metrics``."""
    kwargs: dict[str, Any] = {"lifespan": lifespan} if lifespan is not None else {}
    server: FastMCP = FastMCP(
        name,
        instructions=instructions,
        version=version,
        mask_error_details=True,
        strict_input_validation=True,
        middleware=[_ToolEdgeMiddleware(metrics)],
        **kwargs,
    )

    @server.custom_route("/healthz", methods=["GET"], include_in_schema=False)
    async def healthz(_: Request) -> Response:
        body, status = metrics.health()
        return JSONResponse({**body, "server": name, "version": version}, status_code=status)

    @server.custom_route("/metrics", methods=["GET"], include_in_schema=False)
    async def metrics_route(_: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return server


class _BearerAuth:
    """Requires ``Authorization: Bearer <token>`` on every HTTP path but the health probe.

    Paths under ``self_authenticated`` prefixes check their own credentials (the router's /v1 API keys).
    """

    def __init__(self, app: ASGIApp, token: str, self_authenticated: tuple[str, ...] = ()) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()
        self.self_authenticated = self_authenticated

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] in UNAUTHENTICATED_PATHS
            or (self.self_authenticated and scope["path"].startswith(self.self_authenticated))
        ):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if not hmac.compare_digest(given, self.expected):
            error = UnauthorizedError("missing or wrong bearer token - send 'Authorization: Bearer <token>'")
            response = JSONResponse({"error": error.to_dict()}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class _HttpMetrics:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self._known: set[str] | None = None  # route paths, read from the app on the first request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._known is None:
            self._known = {getattr(r, "path", "") for r in getattr(scope.get("app"), "routes", [])}
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        # Label by route, not raw path, so unknown paths cannot grow the metric without bound.
        path = scope["path"] if scope["path"] in self._known else "other"
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.http_requests.labels(method=scope["method"], path=path, status=str(status)).inc()
            self.metrics.http_seconds.labels(path=path).observe(time.perf_counter() - started)


class _TraceContext:
    """A request's W3C ``traceparent`` header parents every span made while it is served, its streamed body included
    (the /v1 front doors of the router and llm; MCP requests carry their trace in ``_meta`` as well)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        carrier = (
            {
                k.decode("latin-1"): v.decode("latin-1")
                for k, v in scope["headers"]
                if k in (b"traceparent", b"tracestate")
            }
            if scope["type"] == "http"
            else {}
        )
        if not carrier:
            await self.app(scope, receive, send)
            return
        from strata.shared import telemetry

        with telemetry.remote_parent(carrier):
            await self.app(scope, receive, send)


def build_http_app(server: FastMCP, options: ServeOptions, metrics: Metrics) -> Any:
    """The Starlette app for ``server``: MCP at /mcp plus its custom routes, guarded as documented."""
    options.check()
    metrics.stuck_after_s = options.stuck_after_s
    middleware = [
        AsgiMiddleware(_HttpMetrics, metrics=metrics),
        AsgiMiddleware(_TraceContext),
        AsgiMiddleware(OriginGuard, allowed_origins=options.allowed_origins),
    ]
    if options.token:
        middleware.append(
            AsgiMiddleware(_BearerAuth, token=options.token, self_authenticated=options.self_authenticated)
        )
    # Loopback: validate Host and Origin strictly. Elsewhere the bearer token is the defence (a
    # rebinding page cannot attach it), and Host names vary behind proxies and compose networks.
    protection: bool | Literal["auto"] = True if is_loopback(options.host) else "auto"
    return server.http_app(
        path=MCP_PATH,
        middleware=middleware,
        host_origin_protection=protection,
        allowed_hosts=[*options.allowed_hosts, options.host] if options.allowed_hosts else None,
        allowed_origins=list(options.allowed_origins) or None,
    )


def serve(server: FastMCP, options: ServeOptions, metrics: Metrics) -> None:
    """Run ``server`` until it is stopped (EOF on stdio, or SIGTERM/SIGINT)."""
    options.check()
    from strata.shared import telemetry

    telemetry.setup(server.name)  # fastmcp's MCP spans and the server's own, to the local store (and OTLP if set)
    try:
        # libuv's loop where it is installed: it cuts the per-request cost of every HTTP server.
        anyio.run(_serve_async, server, options, metrics, backend_options={"use_uvloop": _has_uvloop()})
    finally:
        telemetry.shutdown()  # the last spans out now, before the interpreter starts tearing modules down


def _has_uvloop() -> bool:
    import importlib.util

    return importlib.util.find_spec("uvloop") is not None


async def _serve_async(server: FastMCP, options: ServeOptions, metrics: Metrics) -> None:
    if options.transport == "stdio":
        async with anyio.create_task_group() as tg:
            await tg.start(_stop_on_signal, tg.cancel_scope)
            log.info("serving", server=server.name, transport="stdio")
            await _run_stdio(server)
            tg.cancel_scope.cancel()
        return

    import uvicorn

    app = build_http_app(server, options, metrics)
    log.info("serving", server=server.name, transport="http", url=f"http://{options.host}:{options.port}{MCP_PATH}")
    # uvicorn drains in-flight requests on SIGTERM/SIGINT
    await uvicorn.Server(http_config(app, options.host, options.port)).serve()


def http_config(app: Any, host: str, port: int) -> Any:
    """The uvicorn configuration every Strata HTTP server runs with (request deadlines, JSON logs)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_config=None,  # our handlers (stderr JSON) stay in place
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        **protocol_options(),
    )


async def _run_stdio(server: FastMCP) -> None:
    """``FastMCP.run_stdio_async`` with a transport that answers the lines it cannot read (stdio.py), serving whichever
    protocol era the client opens with until it completes a handshake (eras.py)."""
    from fastmcp.server.context import reset_transport, set_transport

    token = set_transport("stdio")
    try:
        async with server._lifespan_manager(), answering_stdio() as (read_stream, write_stream):
            low_level = server._mcp_server
            async with low_level.lifespan(low_level) as lifespan_state:  # what Server.run does, with eras.py's loop
                await serve_any_era(
                    low_level, read_stream, write_stream, lifespan_state=lifespan_state,
                    init_options=low_level.create_initialization_options(),
                )  # fmt: skip
    finally:
        reset_transport(token)


async def _stop_on_signal(
    scope: anyio.CancelScope, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        task_status.started()  # "serving" is logged only once a signal can no longer kill us mid-request
        async for signum in signals:
            log.info("shutting_down", signal=signal.Signals(signum).name)
            scope.cancel()
            return


def serve_options_from(
    transport: Transport,
    host: str,
    port: int,
    token: str | None,
    settings: RunnerSettings | None = None,
    extra_origins: Sequence[str] = (),
) -> ServeOptions:
    """Combine flags with runner settings (flag > env > file > default)."""
    runner = settings or RunnerSettings()
    register_secret(token or runner.token)
    return ServeOptions(
        transport=transport,
        host=host,
        port=port,
        token=token or runner.token,
        allowed_origins=(*runner.allowed_origins, *extra_origins),
        allowed_hosts=tuple(runner.allowed_hosts),
        stuck_after_s=runner.stuck_after_s,
    )
