"""Translation between Anthropic's Messages API and OpenAI's chat completions, both ways.

The front door (``/v1/messages``) turns an Anthropic request into the router's OpenAI form and the
answer back; the Anthropic provider does the reverse for an Anthropic upstream. Streams are translated
event by event, so nothing is buffered beyond one event.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from strata.router.errors import InvalidRequestError

__all__ = [
    "AnthropicStreamReader",
    "AnthropicStreamWriter",
    "anthropic_error",
    "from_anthropic_request",
    "from_anthropic_response",
    "to_anthropic_request",
    "to_anthropic_response",
]

STOP_TO_OPENAI = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
STOP_TO_ANTHROPIC = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
}


def anthropic_error(status: int, message: str) -> dict[str, Any]:
    """Anthropic's error body for an HTTP status."""
    kind = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


# --- front door: Anthropic request -> OpenAI request -------------------------------------------------


def _text_of(blocks: Any) -> str:
    if isinstance(blocks, str):
        return blocks
    if isinstance(blocks, list):
        return "".join(str(b.get("text") or "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")
    return ""


def _image_part(block: dict[str, Any]) -> dict[str, Any]:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
    elif source.get("type") == "url":
        url = str(source.get("url") or "")
    else:
        raise InvalidRequestError(f"image source type '{source.get('type')}' is not supported")
    return {"type": "image_url", "image_url": {"url": url}}


def _user_turn(content: Any) -> list[dict[str, Any]]:
    """One Anthropic user turn -> OpenAI messages: tool results first (role tool), then the rest."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tools: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in content or []:
        kind = block.get("type")
        if kind == "tool_result":
            text = _text_of(block.get("content"))
            if block.get("is_error"):
                text = f"[tool error] {text}"
            tools.append({"role": "tool", "tool_call_id": block.get("tool_use_id", ""), "content": text})
        elif kind == "text":
            parts.append({"type": "text", "text": block.get("text", "")})
        elif kind == "image":
            parts.append(_image_part(block))
        elif kind == "document":
            parts.append({"type": "text", "text": _text_of((block.get("source") or {}).get("content"))})
        # thinking / redacted_thinking blocks carry no instruction for another model: dropped.
    out = tools
    if parts:
        only_text = all(p["type"] == "text" for p in parts)
        out.append({"role": "user", "content": "".join(p["text"] for p in parts) if only_text else parts})
    return out


def _assistant_turn(content: Any) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    text = []
    calls = []
    for block in content or []:
        if block.get("type") == "text":
            text.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            calls.append(
                {
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {"name": block.get("name", ""), "arguments": json.dumps(block.get("input") or {})},
                }
            )
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
    if calls:
        message["tool_calls"] = calls
    return message


def _tool_choice(choice: dict[str, Any] | None) -> str | dict[str, Any] | None:
    if not choice:
        return None
    kind = choice.get("type")
    if kind == "tool":
        return {"type": "function", "function": {"name": choice.get("name", "")}}
    return {"auto": "auto", "any": "required", "none": "none"}.get(str(kind))


def from_anthropic_request(body: dict[str, Any]) -> dict[str, Any]:
    """An Anthropic ``/v1/messages`` body as an OpenAI chat-completions body."""
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise InvalidRequestError("messages: a non-empty list is required")
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
        raise InvalidRequestError("max_tokens: a positive integer is required")
    messages: list[dict[str, Any]] = []
    system = _text_of(body.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    for turn in body["messages"]:
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant"):
            raise InvalidRequestError("messages: each turn needs role 'user' or 'assistant'")
        if turn["role"] == "user":
            messages.extend(_user_turn(turn.get("content")))
        else:
            messages.append(_assistant_turn(turn.get("content")))
    out: dict[str, Any] = {
        "model": body.get("model") or "default",
        "messages": messages,
        "max_tokens": body["max_tokens"],
        "stream": bool(body.get("stream")),
    }
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = body[name]
    if body.get("stop_sequences"):
        out["stop"] = body["stop_sequences"]
    if body.get("tools"):
        out["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.get("name", ""),
                    "description": t.get("description", ""),
                    "parameters": t.get("input_schema") or {"type": "object"},
                },
            }
            for t in body["tools"]
            if isinstance(t, dict) and t.get("name")  # server tools (web_search ...) have no schema to offer
        ] or None
    choice = _tool_choice(body.get("tool_choice"))
    if choice is not None and out.get("tools"):
        out["tool_choice"] = choice
    fmt = ((body.get("output_config") or {}).get("format")) or None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        out["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": fmt.get("schema")}}
    return {k: v for k, v in out.items() if v is not None}


def to_anthropic_response(data: dict[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI chat completion as an Anthropic message."""
    choice = data["choices"][0]
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    if message.get("content"):
        content.append({"type": "text", "text": message["content"]})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_{uuid.uuid4().hex[:24]}",
                "name": function.get("name", ""),
                "input": _json_object(function.get("arguments")),
            }
        )
    usage = data.get("usage") or {}
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": STOP_TO_ANTHROPIC.get(choice.get("finish_reason") or "stop", "end_turn"),
        "stop_sequence": None,
        "usage": {
            "input_tokens": int(usage.get("prompt_tokens") or 0),
            "output_tokens": int(usage.get("completion_tokens") or 0),
        },
    }


def _json_object(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        parsed = json.loads(arguments or "{}")
    except (TypeError, ValueError):
        return {"_unparsed_arguments": str(arguments)}
    return parsed if isinstance(parsed, dict) else {"value": parsed}


class AnthropicStreamWriter:
    """OpenAI stream chunks in, Anthropic SSE events (``event:`` + ``data:``) out."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.index = -1
        self.open: str | None = None  # "text" or "tool:<openai index>"
        self.started = False
        self.finish = "stop"
        self.usage: dict[str, Any] = {}

    def _event(self, name: str, payload: dict[str, Any]) -> bytes:
        return f"event: {name}\ndata: {json.dumps({'type': name, **payload})}\n\n".encode()

    def _start(self) -> Iterator[bytes]:
        if not self.started:
            self.started = True
            message: dict[str, Any] = {
                "id": f"msg_{uuid.uuid4().hex[:24]}",
                "type": "message",
                "role": "assistant",
                "model": self.model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            }
            yield self._event("message_start", {"message": message})

    def _close_block(self) -> Iterator[bytes]:
        if self.open is not None:
            yield self._event("content_block_stop", {"index": self.index})
            self.open = None

    def _open_block(self, kind: str, block: dict[str, Any]) -> Iterator[bytes]:
        yield from self._close_block()
        self.index += 1
        self.open = kind
        yield self._event("content_block_start", {"index": self.index, "content_block": block})

    def feed(self, chunk: dict[str, Any]) -> Iterator[bytes]:
        yield from self._start()
        self.usage = chunk.get("usage") or self.usage
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                if self.open != "text":
                    yield from self._open_block("text", {"type": "text", "text": ""})
                yield self._event(
                    "content_block_delta",
                    {"index": self.index, "delta": {"type": "text_delta", "text": delta["content"]}},
                )
            for call in delta.get("tool_calls") or []:
                key = f"tool:{call.get('index', 0)}"
                function = call.get("function") or {}
                if self.open != key:
                    block = {
                        "type": "tool_use",
                        "id": call.get("id") or f"toolu_{uuid.uuid4().hex[:24]}",
                        "name": function.get("name", ""),
                        "input": {},
                    }
                    yield from self._open_block(key, block)
                if function.get("arguments"):
                    yield self._event(
                        "content_block_delta",
                        {
                            "index": self.index,
                            "delta": {"type": "input_json_delta", "partial_json": function["arguments"]},
                        },
                    )
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]

    def close(self) -> Iterator[bytes]:
        yield from self._start()
        yield from self._close_block()
        yield self._event(
            "message_delta",
            {
                "delta": {"stop_reason": STOP_TO_ANTHROPIC.get(self.finish, "end_turn"), "stop_sequence": None},
                "usage": {
                    "input_tokens": int(self.usage.get("prompt_tokens") or 0),
                    "output_tokens": int(self.usage.get("completion_tokens") or 0),
                },
            },
        )
        yield self._event("message_stop", {})

    def error(self, status: int, message: str) -> bytes:
        return f"event: error\ndata: {json.dumps(anthropic_error(status, message))}\n\n".encode()


# --- provider: OpenAI request -> Anthropic upstream ---------------------------------------------------


def _blocks_of(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content or []:
        if part.get("type") == "text":
            blocks.append({"type": "text", "text": part.get("text", "")})
        elif part.get("type") == "image_url":
            url = str((part.get("image_url") or {}).get("url") or "")
            if url.startswith("data:") and ";base64," in url:
                media, data = url[5:].split(";base64,", 1)
                blocks.append({"type": "image", "source": {"type": "base64", "media_type": media, "data": data}})
            else:
                blocks.append({"type": "image", "source": {"type": "url", "url": url}})
    return blocks


def to_anthropic_request(body: dict[str, Any], default_max_tokens: int) -> dict[str, Any]:
    """An OpenAI chat-completions body as an Anthropic ``/v1/messages`` body."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if turns and turns[-1]["role"] == role:  # Anthropic wants user/assistant alternating
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})

    for message in body.get("messages") or []:
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(
                _text_of(message.get("content")) if not isinstance(message.get("content"), str) else message["content"]
            )
        elif role == "user":
            add("user", _blocks_of(message.get("content")))
        elif role == "assistant":
            blocks = _blocks_of(message.get("content"))
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call.get("id", ""),
                        "name": function.get("name", ""),
                        "input": _json_object(function.get("arguments")),
                    }
                )
            add("assistant", blocks)
        elif role in ("tool", "function"):
            result = {
                "type": "tool_result",
                "tool_use_id": message.get("tool_call_id", ""),
                "content": _text_of(message.get("content"))
                if not isinstance(message.get("content"), str)
                else message["content"],
            }
            add("user", [result])
    out: dict[str, Any] = {
        "model": body["model"],
        "messages": turns,
        "max_tokens": body.get("max_completion_tokens") or body.get("max_tokens") or default_max_tokens,
        "stream": bool(body.get("stream")),
    }
    if system:
        out["system"] = "\n\n".join(system)
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = body[name]
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("tools"):
        out["tools"] = [
            {
                "name": (t.get("function") or {}).get("name", ""),
                "description": (t.get("function") or {}).get("description", ""),
                "input_schema": (t.get("function") or {}).get("parameters") or {"type": "object"},
            }
            for t in body["tools"]
        ]
        choice = body.get("tool_choice")
        if isinstance(choice, dict):
            out["tool_choice"] = {"type": "tool", "name": (choice.get("function") or {}).get("name", "")}
        elif choice in ("auto", "required", "none"):
            out["tool_choice"] = {"type": {"auto": "auto", "required": "any", "none": "none"}[choice]}
    schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema")
    if isinstance(schema, dict):
        out["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
    return out


def from_anthropic_response(data: dict[str, Any]) -> dict[str, Any]:
    """An Anthropic message as an OpenAI chat completion."""
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in data.get("content") or []:
        if block.get("type") == "text":
            text.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            calls.append(
                {
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {"name": block.get("name", ""), "arguments": json.dumps(block.get("input") or {})},
                }
            )
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) or (None if calls else "")}
    if calls:
        message["tool_calls"] = calls
    usage = data.get("usage") or {}
    prompt = int(usage.get("input_tokens") or 0) + int(usage.get("cache_read_input_tokens") or 0)
    completion = int(usage.get("output_tokens") or 0)
    return {
        "id": data.get("id") or f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": data.get("model", ""),
        "choices": [
            {"index": 0, "message": message, "finish_reason": STOP_TO_OPENAI.get(data.get("stop_reason") or "", "stop")}
        ],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }


class AnthropicStreamReader:
    """Anthropic stream events in (parsed ``data:`` objects), OpenAI chunks out."""

    def __init__(self) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.model = ""
        self.created = int(time.time())
        self.tool_index: dict[int, int] = {}  # Anthropic block index -> OpenAI tool_calls index
        self.prompt_tokens = 0

    def _chunk(
        self, delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None
    ) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if usage is not None:
            chunk["usage"] = usage
        return chunk

    def feed(self, event: dict[str, Any]) -> Iterator[dict[str, Any]]:
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self.model = message.get("model", "")
            self.prompt_tokens = int((message.get("usage") or {}).get("input_tokens") or 0)
            yield self._chunk({"role": "assistant", "content": ""})
        elif kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                index = self.tool_index[event.get("index", 0)] = len(self.tool_index)
                call = {"index": index, "id": block.get("id", ""), "type": "function"}
                yield self._chunk(
                    {"tool_calls": [{**call, "function": {"name": block.get("name", ""), "arguments": ""}}]}
                )
        elif kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta":
                yield self._chunk({"content": delta.get("text", "")})
            elif delta.get("type") == "input_json_delta":
                index = self.tool_index.get(event.get("index", 0), 0)
                yield self._chunk(
                    {"tool_calls": [{"index": index, "function": {"arguments": delta.get("partial_json", "")}}]}
                )
        elif kind == "message_delta":
            stop = (event.get("delta") or {}).get("stop_reason") or ""
            output = int((event.get("usage") or {}).get("output_tokens") or 0)
            prompt = int((event.get("usage") or {}).get("input_tokens") or self.prompt_tokens)
            usage = {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output}
            yield self._chunk({}, STOP_TO_OPENAI.get(stop, "stop"), usage)
