"""Inputs and outputs of the llm domain, shared by the MCP tools and the OpenAI-compatible routes."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ChatMessage",
    "EmbedResult",
    "GenerationParams",
    "GenerationResult",
    "ModelInfo",
    "ModelStatus",
    "Usage",
]

MAX_MESSAGE_CHARS = 400_000
MAX_STOP_SEQUENCES = 8
MAX_SCHEMA_BYTES = 32_768


class ChatMessage(BaseModel):
    """One chat turn."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant", "tool"]
    content: str = Field(max_length=MAX_MESSAGE_CHARS)


class GenerationParams(BaseModel):
    """Sampling and output controls common to chat and completion."""

    model_config = ConfigDict(extra="forbid")

    max_tokens: int | None = Field(default=None, ge=1, description="None: up to the context window")
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    stop: list[str] = Field(default_factory=list, max_length=MAX_STOP_SEQUENCES)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    json_schema: dict[str, Any] | None = None

    @field_validator("json_schema")
    @classmethod
    def _bounded_schema(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is not None and len(json.dumps(schema)) > MAX_SCHEMA_BYTES:
            raise ValueError(f"json_schema is larger than {MAX_SCHEMA_BYTES} bytes")
        return schema


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class GenerationResult(BaseModel):
    """A finished generation, with the counts and timings the router and benchmarks use."""

    model: str
    text: str
    finish_reason: Literal["stop", "length", "cancelled"]
    usage: Usage
    time_to_first_token_ms: float | None = None
    tokens_per_second: float | None = None


class EmbedResult(BaseModel):
    model: str
    dimensions: int
    embeddings: list[list[float]]
    prompt_tokens: int


class ModelInfo(BaseModel):
    """What a configured model is and can do."""

    name: str
    engine: Literal["llama-cpp", "openai-compatible"]
    source: str
    context_window: int | None
    chat: bool
    embedding: bool
    loaded: bool


class ModelStatus(BaseModel):
    """Live state of one model: how busy it is and how fast it has been."""

    name: str
    loaded: bool
    instances: int
    busy: int
    queued: int
    max_queue: int
    requests_served: int
    requests_rejected: int
    requests_cancelled: int
    recent_tokens_per_second: float | None
