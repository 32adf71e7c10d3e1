"""The router's own vocabulary: the OpenAI chat request it routes, the answer, and what routing did.

OpenAI's chat-completions format is the lingua franca inside the router: the Anthropic front door and
the Anthropic provider translate to and from it at the edges.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "Attempt",
    "ChatRequest",
    "CheckResult",
    "Completion",
    "Message",
    "RequestContext",
    "Routed",
    "Usage",
    "estimate_tokens",
]

MAX_MESSAGES = 4096
MAX_TOOLS = 512
CHARS_PER_TOKEN = 4  # a pre-flight estimate only; the ledger records the upstream's own counts


class Message(BaseModel):
    """One chat message; fields the router does not read (tool_calls, name, ...) pass through untouched."""

    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(str(p.get("text") or "") for p in self.content or [] if p.get("type") == "text")

    def has_image(self) -> bool:
        return isinstance(self.content, list) and any(
            p.get("type") in ("image_url", "input_image") for p in self.content
        )


class ChatRequest(BaseModel):
    """An OpenAI ``/v1/chat/completions`` body. Unknown fields are kept and forwarded upstream."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1, max_length=256)
    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    tools: list[dict[str, Any]] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    n: int | None = None

    @field_validator("n")
    @classmethod
    def _one_choice(cls, n: int | None) -> int | None:
        if n not in (None, 1):
            raise ValueError("only n=1 is supported: the router checks and prices one answer")
        return n

    @property
    def output_cap(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def wants_json(self) -> bool:
        return (self.response_format or {}).get("type") in ("json_object", "json_schema")

    @property
    def json_schema(self) -> dict[str, Any] | None:
        fmt = self.response_format or {}
        if fmt.get("type") != "json_schema":
            return None
        schema = (fmt.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else None

    def prompt_tokens_estimate(self) -> int:
        chars = sum(len(m.text()) + 4 for m in self.messages)
        if self.tools:
            chars += len(json.dumps(self.tools))
        return estimate_tokens(chars)

    def upstream_body(self, model: str, *, stream: bool) -> dict[str, Any]:
        body = self.model_dump(exclude_none=True)
        body["model"] = model
        body["stream"] = stream
        if stream:
            body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        else:
            body.pop("stream_options", None)
        return body


def estimate_tokens(chars: int) -> int:
    return math.ceil(chars / CHARS_PER_TOKEN)


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = Field(default=False, description="The upstream sent no counts; these are estimates")


@dataclass
class Completion:
    """One upstream answer, parsed just enough to check and price it; ``raw`` is the OpenAI response."""

    text: str
    tool_calls: list[dict[str, Any]]
    finish_reason: str
    usage: Usage
    raw: dict[str, Any]

    @classmethod
    def from_openai(cls, data: dict[str, Any]) -> Completion:
        choice = data["choices"][0]
        message = choice.get("message") or {}
        usage = data.get("usage") or {}
        return cls(
            text=message.get("content") or "",
            tool_calls=list(message.get("tool_calls") or []),
            finish_reason=choice.get("finish_reason") or "stop",
            usage=Usage(
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
            ),
            raw=data,
        )


@dataclass(frozen=True)
class CheckResult:
    check: str
    passed: bool
    reason: str = ""


@dataclass
class Attempt:
    """One upstream call (or one refusal to make it) on the way to the answer."""

    model: str
    outcome: Literal["ok", "failed", "skipped", "escalated"]
    reason: str = ""
    cost_usd: float = 0.0
    latency_ms: float = 0.0


@dataclass
class RequestContext:
    """Who asks and how: the front door fills it from headers, the MCP tool from its arguments."""

    key: str = "anonymous"
    session: str | None = None
    tags: tuple[str, ...] = ()
    route: str | None = None
    route_override: Any = None  # a RouteConfig given with this one request
    max_cost_usd: float | None = None
    cache: Literal["use", "bypass"] = "use"


@dataclass
class Routed:
    """What the router did for one request: the answer, where it came from, what it cost."""

    completion: Completion
    route: str
    model: str
    cost_usd: float
    cache: Literal["exact", "semantic"] | None = None
    attempts: list[Attempt] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    escalations: list[str] = field(default_factory=list)
    # What the route's top tier would have cost (set when the request is recorded; savings = baseline - cost)
    baseline_usd: float | None = None

    def headers(self) -> dict[str, str]:
        """``X-Strata-*`` response headers, so an OpenAI/Anthropic client can see the routing."""
        out = {
            "x-strata-route": self.route,
            "x-strata-model": self.model,
            "x-strata-cost-usd": f"{self.cost_usd:.8f}",
        }
        if self.cache:
            out["x-strata-cache"] = self.cache
        if self.escalations:
            out["x-strata-escalations"] = "; ".join(self.escalations)[:500]
        return out
