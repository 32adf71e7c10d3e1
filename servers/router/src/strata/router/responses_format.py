"""OpenAI's Responses API (``POST /v1/responses``) as a front door: translated to and from chat completions, so any
upstream the router speaks to serves it, and Codex or the OpenAI Agents SDK can sit behind the router.

Covered: ``input`` as text or items (messages with input/output text and images, ``function_call`` and
``function_call_output``), ``instructions``, function ``tools`` and ``tool_choice``, ``max_output_tokens``,
``temperature``/``top_p``, ``text.format`` (``json_object``, ``json_schema``), ``stream`` (the event sequence
``response.created`` ... ``response.completed``), and ``previous_response_id``: each answered response's whole
conversation is kept in the router's database, and a follow-up continues from it. Not covered: built-in tools
(web search, file search, computer use), ``background``, reasoning items (dropped from replayed input).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from strata.router.errors import InvalidRequestError

__all__ = ["ResponseStore", "ResponsesStreamWriter", "from_responses_request", "new_response_id", "to_responses"]

MAX_STORED = 10_000  # responses kept for previous_response_id; the oldest go first
MAX_CONVERSATION_BYTES = 8 * 1024 * 1024

PASSED_THROUGH = ("temperature", "top_p", "user", "parallel_tool_calls")


def new_response_id() -> str:
    return f"resp_{uuid.uuid4().hex}"


def _content(parts: Any) -> str | list[dict[str, Any]]:
    if isinstance(parts, str):
        return parts
    out: list[dict[str, Any]] = []
    for part in parts or []:
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            out.append({"type": "text", "text": part.get("text", "")})
        elif kind == "input_image" and part.get("image_url"):
            out.append({"type": "image_url", "image_url": {"url": part["image_url"]}})
        elif kind == "refusal":
            out.append({"type": "text", "text": part.get("refusal", "")})
    if all(p["type"] == "text" for p in out):
        return "".join(p["text"] for p in out)
    return out


def _messages(items: Any) -> list[dict[str, Any]]:
    """Responses input items as chat messages (function calls join the assistant message before them)."""
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    if not isinstance(items, list):
        raise InvalidRequestError("'input' must be a string or a list of items")
    messages: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            raise InvalidRequestError("each input item must be an object")
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role", "user")
            if role not in ("user", "assistant", "system", "developer"):
                raise InvalidRequestError(
                    f"input message role '{role}' is not one of user, assistant, system, developer"
                )
            messages.append({"role": role, "content": _content(item.get("content"))})
        elif kind == "function_call":
            call = {
                "id": item.get("call_id", ""),
                "type": "function",
                "function": {"name": item.get("name", ""), "arguments": item.get("arguments", "")},
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output", "")
            text = output if isinstance(output, str) else json.dumps(output)
            messages.append({"role": "tool", "tool_call_id": item.get("call_id", ""), "content": text})
        elif kind == "reasoning":
            continue  # no instruction for another model
        else:
            raise InvalidRequestError(f"input item type '{kind}' is not supported here (built-in tools are not)")
    return messages


def from_responses_request(body: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    """A chat-completions body for a Responses request continuing ``history`` (the previous response's messages)."""
    if "input" not in body:
        raise InvalidRequestError("'input' is required")
    messages = list(history)
    if body.get("instructions"):
        messages = [m for m in messages if m["role"] != "system"]  # the new instructions replace the old ones
        messages.insert(0, {"role": "system", "content": str(body["instructions"])})
    messages += _messages(body["input"])
    chat: dict[str, Any] = {"model": body.get("model") or "default", "messages": messages}
    chat["stream"] = bool(body.get("stream"))
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    for key in PASSED_THROUGH:
        if body.get(key) is not None:
            chat[key] = body[key]
    tools = []
    for tool in body.get("tools") or []:
        if tool.get("type") != "function":
            raise InvalidRequestError(f"tool type '{tool.get('type')}' is not supported here (function tools are)")
        function = {k: tool[k] for k in ("name", "description", "parameters", "strict") if k in tool}
        tools.append({"type": "function", "function": function})
    if tools:
        chat["tools"] = tools
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        chat["tool_choice"] = {"type": "function", "function": {"name": choice.get("name", "")}}
    elif isinstance(choice, str):
        chat["tool_choice"] = choice
    form = (body.get("text") or {}).get("format") or {}
    if form.get("type") == "json_object":
        chat["response_format"] = {"type": "json_object"}
    elif form.get("type") == "json_schema":
        schema = {k: form[k] for k in ("name", "schema", "strict", "description") if k in form}
        chat["response_format"] = {"type": "json_schema", "json_schema": schema}
    return chat


def _output_items(message: dict[str, Any], response_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    text = message.get("content") or ""
    if text:
        items.append(
            {
                "type": "message", "id": f"msg_{response_id[5:]}", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        )  # fmt: skip
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        items.append(
            {
                "type": "function_call", "id": f"fc_{call.get('id', '')}", "call_id": call.get("id", ""),
                "name": function.get("name", ""), "arguments": function.get("arguments", ""), "status": "completed",
            }
        )  # fmt: skip
    return items


def to_responses(chat: dict[str, Any], model: str, response_id: str, created: float) -> dict[str, Any]:
    """A chat completion as a Responses ``response`` object."""
    choice = (chat.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    usage = chat.get("usage") or {}
    incomplete = choice.get("finish_reason") == "length"
    return {
        "id": response_id, "object": "response", "created_at": int(created), "model": model,
        "status": "incomplete" if incomplete else "completed",
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "output": _output_items(message, response_id),
        "usage": {
            "input_tokens": usage.get("prompt_tokens", 0), "output_tokens": usage.get("completion_tokens", 0),
            "total_tokens": usage.get("total_tokens", 0),
            "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0},
        },
        "error": None, "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
    }  # fmt: skip


class ResponsesStreamWriter:
    """Chat-completion chunks in, Responses stream events (server-sent) out; the final message for the store."""

    def __init__(self, model: str, response_id: str) -> None:
        self.model, self.id, self.created = model, response_id, time.time()
        self.sequence = 0
        self.text: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.usage: dict[str, Any] = {}
        self.finish: str | None = None
        self.started_text = False

    def _event(self, kind: str, **data: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self.sequence, **data}
        self.sequence += 1
        return f"event: {kind}\ndata: {json.dumps(payload)}\n\n".encode()

    def _shell(self, status: str) -> dict[str, Any]:
        return {
            "id": self.id, "object": "response", "created_at": int(self.created), "model": self.model,
            "status": status, "output": [], "usage": None, "error": None,
        }  # fmt: skip

    def start(self) -> list[bytes]:
        return [
            self._event("response.created", response=self._shell("in_progress")),
            self._event("response.in_progress", response=self._shell("in_progress")),
        ]

    def feed(self, chunk: dict[str, Any]) -> list[bytes]:
        events: list[bytes] = []
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                if not self.started_text:
                    self.started_text = True
                    item = {"type": "message", "id": f"msg_{self.id[5:]}", "status": "in_progress",
                            "role": "assistant", "content": []}  # fmt: skip
                    events.append(self._event("response.output_item.added", output_index=0, item=item))
                    part = {"type": "output_text", "text": "", "annotations": []}
                    events.append(
                        self._event("response.content_part.added", item_id=item["id"], output_index=0,
                                    content_index=0, part=part)
                    )  # fmt: skip
                self.text.append(delta["content"])
                events.append(
                    self._event("response.output_text.delta", item_id=f"msg_{self.id[5:]}", output_index=0,
                                content_index=0, delta=delta["content"])
                )  # fmt: skip
            for call in delta.get("tool_calls") or []:
                entry = self.calls.setdefault(int(call.get("index", 0)), {"id": "", "name": "", "arguments": ""})
                entry["id"] = call.get("id") or entry["id"]
                function = call.get("function") or {}
                entry["name"] = function.get("name") or entry["name"]
                entry["arguments"] += function.get("arguments") or ""
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]
        return events

    def message(self) -> dict[str, Any]:
        """The assistant message the stream made, in chat form (what the conversation store keeps)."""
        calls = [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for _, c in sorted(self.calls.items())
        ]
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.text) or None}
        if calls:
            message["tool_calls"] = calls
        return message

    def close(self) -> list[bytes]:
        events: list[bytes] = []
        text = "".join(self.text)
        if self.started_text:
            item_id = f"msg_{self.id[5:]}"
            events.append(
                self._event("response.output_text.done", item_id=item_id, output_index=0, content_index=0, text=text)
            )
            part = {"type": "output_text", "text": text, "annotations": []}
            events.append(
                self._event("response.content_part.done", item_id=item_id, output_index=0, content_index=0, part=part)
            )
        chat = {"choices": [{"message": self.message(), "finish_reason": self.finish}], "usage": self.usage}
        final = to_responses(chat, self.model, self.id, self.created)
        for index, item in enumerate(final["output"]):
            if item["type"] == "message":
                events.append(self._event("response.output_item.done", output_index=index, item=item))
            else:
                events.append(self._event("response.output_item.added", output_index=index, item=item))
                events.append(
                    self._event("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                                arguments=item["arguments"])
                )  # fmt: skip
                events.append(self._event("response.output_item.done", output_index=index, item=item))
        events.append(self._event("response.completed", response=final))
        return events

    def error(self, message: str) -> bytes:
        failed = {**self._shell("failed"), "error": {"code": "server_error", "message": message}}
        return self._event("response.failed", response=failed)


class ResponseStore:
    """Each answered response's whole conversation (chat messages), for ``previous_response_id``."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self._saved = 0

    def load(self, response_id: str) -> list[dict[str, Any]] | None:
        self.db.flush()
        rows = self.db.query("SELECT messages FROM responses WHERE id = ?", (response_id,))
        return json.loads(rows[0][0]) if rows else None

    def save(self, response_id: str, messages: list[dict[str, Any]]) -> None:
        text = json.dumps(messages, separators=(",", ":"))
        if len(text) > MAX_CONVERSATION_BYTES:
            return  # too long to continue from: a follow-up naming it gets "not found", not a truncated history
        self.db.replace("responses", (response_id, time.time(), text))
        self._saved += 1
        if self._saved % 512 == 0:
            self.db.write(
                "DELETE FROM responses WHERE id NOT IN (SELECT id FROM responses ORDER BY created DESC LIMIT ?)",
                (MAX_STORED,),
            )
