"""The router's HTTP front doors: OpenAI ``/v1/chat/completions`` + ``/v1/models`` and Anthropic ``/v1/messages``.

Request headers a client may add:
    X-Strata-Route: <route>          pick a route (else the requested model's alias, else the default)
    X-Strata-Session: <id>           count spend against per-session budgets
    X-Strata-Tags: a,b               tags for rules and the usage report
    X-Strata-Max-Cost: 0.01          refuse a request whose calls would cost more (USD)
    Cache-Control: no-cache          skip the response cache (X-Strata-Cache: bypass too)
Response headers: X-Strata-Route, X-Strata-Model, X-Strata-Cost-Usd, X-Strata-Cache, X-Strata-Escalations.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from strata.router.anthropic_format import (
    AnthropicStreamWriter,
    anthropic_error,
    from_anthropic_request,
    to_anthropic_response,
)
from strata.router.core import Router
from strata.router.errors import InvalidRequestError, NotFoundError, StrataError, UnauthorizedError
from strata.router.responses_format import (
    ResponsesStreamWriter,
    ResponseStore,
    from_responses_request,
    new_response_id,
    to_responses,
)
from strata.router.types import ChatRequest, RequestContext
from strata.shared.log import get_logger

__all__ = ["KeyRing", "http_routes"]

log = get_logger("strata.router.http")

MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_TAGS = 16
Handler = Callable[[Request], Awaitable[Response]]


class KeyRing:
    """Client API keys (name -> secret). Empty means /v1 is open (loopback, or guarded by STRATA_TOKEN)."""

    def __init__(self, keys: dict[str, str]) -> None:
        self.keys = [(name, secret.encode()) for name, secret in keys.items()]

    def identify(self, request: Request) -> str:
        if not self.keys:
            return "anonymous"
        given = (
            request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        )
        match = None
        for name, secret in self.keys:  # compare against every key so timing does not tell which was close
            if hmac.compare_digest(given.encode(), secret):
                match = name
        if match is None:
            raise UnauthorizedError(
                "missing or unknown API key - send 'Authorization: Bearer <key>' or 'x-api-key: <key>'"
            )
        return match


def _context(request: Request, key: str) -> RequestContext:
    headers = request.headers
    tags = tuple(t.strip() for t in headers.get("x-strata-tags", "").split(",") if t.strip())[:MAX_TAGS]
    max_cost = None
    if headers.get("x-strata-max-cost"):
        try:
            max_cost = float(headers["x-strata-max-cost"])
        except ValueError as exc:
            raise InvalidRequestError("X-Strata-Max-Cost must be a number of USD") from exc
        if max_cost < 0:
            raise InvalidRequestError("X-Strata-Max-Cost must not be negative")
    bypass = "no-cache" in headers.get("cache-control", "") or headers.get("x-strata-cache") == "bypass"
    session = headers.get("x-strata-session") or None
    return RequestContext(
        key=key,
        session=session[:200] if session else None,
        tags=tags,
        route=headers.get("x-strata-route") or None,
        max_cost_usd=max_cost,
        cache="bypass" if bypass else "use",
    )


async def _body(request: Request) -> dict[str, Any]:
    too_big = InvalidRequestError(f"request body is larger than {MAX_BODY_BYTES} bytes")
    if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_big
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks))
    except ValueError as exc:
        raise InvalidRequestError(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidRequestError("request body must be a JSON object")
    return body


def _chat_request(body: dict[str, Any]) -> ChatRequest:
    try:
        return ChatRequest.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidRequestError(f"{where}: {first['msg']}") from exc


class _EventStream(Response):
    """An SSE response over an async iterator of encoded events; a client disconnect stops the upstream."""

    def __init__(self, events: AsyncIterator[bytes], headers: dict[str, str]) -> None:
        super().__init__(headers={**headers, "cache-control": "no-cache"}, media_type="text/event-stream")
        # Starlette stamps an empty body's length (0); a stream has none.
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})

        async def pump() -> None:
            async for event in self.events:
                await send({"type": "http.response.body", "body": event, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        async with anyio.create_task_group() as tg:

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                log.info("client_disconnected")
                tg.cancel_scope.cancel()

            tg.start_soon(watch)
            try:
                await pump()
            finally:
                tg.cancel_scope.cancel()


def http_routes(router: Router, keys: KeyRing) -> list[tuple[str, list[str], Handler]]:
    """(path, methods, handler) for every front-door endpoint."""

    def openai_error(exc: StrataError) -> JSONResponse:
        return JSONResponse({"error": {**exc.to_dict(), "param": None}}, status_code=exc.http_status)

    async def chat_completions(request: Request) -> Response:
        try:
            ctx = _context(request, keys.identify(request))
            chat = _chat_request(await _body(request))
            if chat.stream:
                handle = await router.open_stream(chat, ctx)
                include_usage = bool((getattr(chat, "stream_options", None) or {}).get("include_usage"))
                return _EventStream(_openai_events(handle.chunks, include_usage), handle.routed.headers())
            routed = await router.complete(chat, ctx)
        except StrataError as exc:
            return openai_error(exc)
        return JSONResponse({**routed.completion.raw, "model": routed.model}, headers=routed.headers())

    async def models(request: Request) -> Response:
        try:
            keys.identify(request)
        except StrataError as exc:
            return openai_error(exc)
        names = sorted({*router.routes, *router.models, *router.aliases})
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "strata-router"} for name in names]
        return JSONResponse({"object": "list", "data": data})

    def anthropic_failure(exc: StrataError) -> JSONResponse:
        return JSONResponse(anthropic_error(exc.http_status, str(exc)), status_code=exc.http_status)

    async def messages(request: Request) -> Response:
        try:
            ctx = _context(request, keys.identify(request))
            body = await _body(request)
            chat = _chat_request(from_anthropic_request(body))
            if chat.stream:
                handle = await router.open_stream(chat, ctx)
                writer = AnthropicStreamWriter(handle.routed.model)
                return _EventStream(_anthropic_events(handle.chunks, writer), handle.routed.headers())
            routed = await router.complete(chat, ctx)
        except StrataError as exc:
            return anthropic_failure(exc)
        return JSONResponse(to_anthropic_response(routed.completion.raw, routed.model), headers=routed.headers())

    conversations = ResponseStore(router.db)

    async def responses(request: Request) -> Response:
        try:
            ctx = _context(request, keys.identify(request))
            body = await _body(request)
            previous = body.get("previous_response_id")
            history: list[dict[str, Any]] = []
            if previous:
                found = conversations.load(str(previous))
                if found is None:
                    raise NotFoundError(f"no stored response '{previous}' to continue (not stored, or trimmed)")
                history = found
            chat_body = from_responses_request(body, history)
            chat = _chat_request(chat_body)
            response_id, keep = new_response_id(), body.get("store", True) is not False
            if chat.stream:
                handle = await router.open_stream(chat, ctx)
                writer = ResponsesStreamWriter(handle.routed.model, response_id)

                async def events() -> AsyncIterator[bytes]:
                    for event in writer.start():
                        yield event
                    try:
                        async for chunk in handle.chunks:
                            for event in writer.feed(chunk):
                                yield event
                    except StrataError as exc:
                        yield writer.error(str(exc))
                        return
                    for event in writer.close():
                        yield event
                    if keep:
                        conversations.save(response_id, [*chat_body["messages"], writer.message()])

                return _EventStream(events(), handle.routed.headers())
            routed = await router.complete(chat, ctx)
        except StrataError as exc:
            return openai_error(exc)
        message = ((routed.completion.raw.get("choices") or [{}])[0]).get("message") or {}
        if keep:
            conversations.save(response_id, [*chat_body["messages"], {"role": "assistant", **message}])
        answer = to_responses(routed.completion.raw, routed.model, response_id, time.time())
        return JSONResponse(answer, headers=routed.headers())

    async def count_tokens(request: Request) -> Response:
        try:
            keys.identify(request)
            body = await _body(request)
            chat = _chat_request(from_anthropic_request({**body, "max_tokens": 1}))
        except StrataError as exc:
            return anthropic_failure(exc)
        return JSONResponse({"input_tokens": chat.prompt_tokens_estimate()})

    return [
        ("/v1/chat/completions", ["POST"], chat_completions),
        ("/v1/models", ["GET"], models),
        ("/v1/messages", ["POST"], messages),
        ("/v1/messages/count_tokens", ["POST"], count_tokens),
        ("/v1/responses", ["POST"], responses),
    ]


async def _openai_events(chunks: AsyncIterator[dict[str, Any]], include_usage: bool) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            if not chunk.get("choices") and "usage" in chunk and not include_usage:
                continue  # the router asked upstream for usage to price the call; the client did not
            yield b"data: " + json.dumps(chunk).encode() + b"\n\n"
    except StrataError as exc:
        yield b"data: " + json.dumps({"error": exc.to_dict()}).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"


async def _anthropic_events(
    chunks: AsyncIterator[dict[str, Any]], writer: AnthropicStreamWriter
) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            for event in writer.feed(chunk):
                yield event
    except StrataError as exc:
        yield writer.error(exc.http_status, str(exc))
        return
    for event in writer.close():
        yield event
