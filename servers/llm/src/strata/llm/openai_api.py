"""OpenAI-compatible HTTP endpoints: /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models.

They share the engines, admission control and error model of the MCP tools. Differences from OpenAI
that a client may notice: ``n`` must be 1; ``response_format`` json_schema is enforced by grammar on
local models (llama-cpp-python itself ignores that form); a client that disconnects cancels its
generation at once.
"""

from __future__ import annotations

import base64
import json
import struct
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from strata.llm.engine import OnDelta, Prompt
from strata.llm.errors import InvalidRequestError, StrataError
from strata.llm.registry import ModelRegistry
from strata.llm.types import MAX_STOP_SEQUENCES, ChatMessage, GenerationParams, GenerationResult
from strata.shared.log import get_logger

__all__ = ["openai_routes"]

log = get_logger("strata.llm.http")

MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_MESSAGES = 1024
MAX_EMBED_INPUTS = 2048
Handler = Callable[[Request], Awaitable[Response]]


class _ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str
    text: str | None = None


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[_ContentPart] | None = None

    def to_chat(self) -> ChatMessage:
        if isinstance(self.content, list):
            if any(p.type != "text" for p in self.content):
                raise InvalidRequestError("only text content parts are supported")
            text = "".join(p.text or "" for p in self.content)
        else:
            text = self.content or ""
        return ChatMessage(role="system" if self.role == "developer" else self.role, content=text)


class _Sampling(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    n: int = 1
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None

    @field_validator("n")
    @classmethod
    def _one_choice(cls, n: int) -> int:
        if n != 1:
            raise ValueError("only n=1 is supported")
        return n

    def params(self) -> GenerationParams:
        stop = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        if len(stop) > MAX_STOP_SEQUENCES:
            raise InvalidRequestError(f"at most {MAX_STOP_SEQUENCES} stop sequences")
        return GenerationParams(
            max_tokens=self.max_completion_tokens or self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=stop,
            seed=self.seed,
            json_schema=_schema_from(self.response_format),
        )

    @property
    def include_usage(self) -> bool:
        return bool((self.stream_options or {}).get("include_usage"))


class _ChatRequest(_Sampling):
    messages: list[_Message] = Field(min_length=1, max_length=MAX_MESSAGES)


class _CompletionRequest(_Sampling):
    prompt: str


class _EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str | None = None
    input: str | list[str] = Field(min_length=1)
    encoding_format: Literal["float", "base64"] = "float"


def _schema_from(response_format: dict[str, Any] | None) -> dict[str, Any] | None:
    """Translate both OpenAI's json_schema form and llama-cpp's json_object+schema form to a schema."""
    if not response_format or response_format.get("type") in (None, "text"):
        return None
    kind = response_format.get("type")
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise InvalidRequestError("response_format.json_schema.schema must be an object")
        return schema
    if kind == "json_object":
        schema = response_format.get("schema")
        return schema if isinstance(schema, dict) else {"type": "object"}
    raise InvalidRequestError(f"unsupported response_format type '{kind}'")


def _error_response(exc: StrataError) -> JSONResponse:
    body = {"error": {**exc.to_dict(), "param": None}}
    return JSONResponse(body, status_code=exc.http_status)


async def _parse(request: Request, model: type[BaseModel]) -> Any:
    too_big = InvalidRequestError(f"request body is larger than {MAX_BODY_BYTES} bytes")
    if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():  # chunked bodies carry no length: count as they arrive
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_big
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidRequestError(f"{where}: {first['msg']}") from exc


class _GenerationJob(Response):
    """Runs one generation as the response: JSON, or SSE when streaming.

    Headers are held back until the first token, so an error found before it (context overflow,
    busy) still gets its proper status. A client disconnect cancels the generation.
    """

    def __init__(
        self,
        run: Callable[[OnDelta | None], Awaitable[GenerationResult]],
        *,
        stream: bool,
        include_usage: bool,
        render_delta: Callable[[str, str], dict[str, Any]],
        render_final: Callable[[str, GenerationResult], dict[str, Any]],
        render_whole: Callable[[str, GenerationResult], dict[str, Any]],
    ) -> None:
        super().__init__()
        self.run, self.stream, self.include_usage = run, stream, include_usage
        self.render_delta, self.render_final, self.render_whole = render_delta, render_final, render_whole
        self.id = uuid.uuid4().hex

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def start_sse() -> None:
            nonlocal started
            if not started:
                started = True
                headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
                await send({"type": "http.response.start", "status": 200, "headers": headers})

        async def event(payload: dict[str, Any] | str) -> None:
            data = payload if isinstance(payload, str) else json.dumps(payload)
            await send({"type": "http.response.body", "body": f"data: {data}\n\n".encode(), "more_body": True})

        async def on_delta(text: str) -> None:
            await start_sse()
            await event(self.render_delta(self.id, text))

        result: GenerationResult | None = None
        error: StrataError | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(_cancel_on_disconnect, receive, tg.cancel_scope)
            try:
                result = await self.run(on_delta if self.stream else None)
            except StrataError as exc:
                error = exc
            tg.cancel_scope.cancel()
        if error is not None:
            if started:  # mid-stream: the status line is gone, so report in-band
                await event({"error": error.to_dict()})
                await event("[DONE]")
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await _error_response(error)(scope, receive, send)
            return
        if result is None:  # the client went away and the generation was cancelled
            return
        if not self.stream:
            await JSONResponse(self.render_whole(self.id, result))(scope, receive, send)
            return
        await start_sse()
        await event(self.render_final(self.id, result))
        if self.include_usage:
            await event(
                {
                    "id": self.id,
                    "object": "chat.completion.chunk",
                    "choices": [],
                    "usage": result.usage.model_dump(),
                    "model": result.model,
                }
            )
        await event("[DONE]")
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            log.info("client_disconnected")
            scope.cancel()
            return


def _finish(result: GenerationResult) -> str:
    return "length" if result.finish_reason == "length" else "stop"


def openai_routes(registry: ModelRegistry) -> list[tuple[str, list[str], Handler]]:
    """The OpenAI-compatible routes over ``registry``: (path, methods, handler) triples."""

    def generation(prompt: Prompt, req: _Sampling, chat: bool) -> Response:
        engine = registry.get(req.model)
        params = req.params()
        created = int(time.time())
        obj = "chat.completion" if chat else "text_completion"

        def delta(id_: str, text: str) -> dict[str, Any]:
            choice = {"index": 0, "delta": {"content": text}} if chat else {"index": 0, "text": text}
            return {
                "id": id_,
                "object": f"{obj}.chunk" if chat else obj,
                "created": created,
                "model": engine.name,
                "choices": [{**choice, "finish_reason": None}],
            }

        def final(id_: str, result: GenerationResult) -> dict[str, Any]:
            choice = {"index": 0, "delta": {}} if chat else {"index": 0, "text": ""}
            return {
                "id": id_,
                "object": f"{obj}.chunk" if chat else obj,
                "created": created,
                "model": engine.name,
                "choices": [{**choice, "finish_reason": _finish(result)}],
            }

        def whole(id_: str, result: GenerationResult) -> dict[str, Any]:
            choice: dict[str, Any] = (
                {"message": {"role": "assistant", "content": result.text}} if chat else {"text": result.text}
            )
            return {
                "id": id_,
                "object": obj,
                "created": created,
                "model": engine.name,
                "choices": [{"index": 0, **choice, "finish_reason": _finish(result)}],
                "usage": result.usage.model_dump(),
            }

        return _GenerationJob(
            lambda on_delta: engine.generate(prompt, params, on_delta),
            stream=req.stream,
            include_usage=req.include_usage,
            render_delta=delta,
            render_final=final,
            render_whole=whole,
        )

    async def chat_completions(request: Request) -> Response:
        try:
            req: _ChatRequest = await _parse(request, _ChatRequest)
            return generation([m.to_chat() for m in req.messages], req, chat=True)
        except StrataError as exc:
            return _error_response(exc)

    async def completions(request: Request) -> Response:
        try:
            req: _CompletionRequest = await _parse(request, _CompletionRequest)
            return generation(req.prompt, req, chat=False)
        except StrataError as exc:
            return _error_response(exc)

    async def embeddings(request: Request) -> Response:
        try:
            req: _EmbeddingRequest = await _parse(request, _EmbeddingRequest)
            texts = [req.input] if isinstance(req.input, str) else req.input
            if len(texts) > MAX_EMBED_INPUTS:
                raise InvalidRequestError(f"at most {MAX_EMBED_INPUTS} inputs per request")
            result = await registry.get(req.model).embed(texts)
        except StrataError as exc:
            return _error_response(exc)
        data = [
            {"object": "embedding", "index": i, "embedding": _encode(vec, req.encoding_format)}
            for i, vec in enumerate(result.embeddings)
        ]
        usage = {"prompt_tokens": result.prompt_tokens, "total_tokens": result.prompt_tokens}
        return JSONResponse({"object": "list", "data": data, "model": result.model, "usage": usage})

    async def models(_: Request) -> Response:
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "strata"} for name in sorted(registry.engines)
        ]
        return JSONResponse({"object": "list", "data": data})

    return [
        ("/v1/chat/completions", ["POST"], chat_completions),
        ("/v1/completions", ["POST"], completions),
        ("/v1/embeddings", ["POST"], embeddings),
        ("/v1/models", ["GET"], models),
    ]


def _encode(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
