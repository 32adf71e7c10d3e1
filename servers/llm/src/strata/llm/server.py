"""The MCP surface of strata-llm: five tools, each one call into LlmService, plus the /v1 routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastmcp import FastMCP
from mcp.types import ToolAnnotations
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import Field

from strata.llm.openai_api import openai_routes
from strata.llm.registry import ModelRegistry
from strata.llm.service import ChatOutput, LlmService, ServerStatus
from strata.llm.types import (
    MAX_MESSAGE_CHARS,
    MAX_STOP_SEQUENCES,
    ChatMessage,
    EmbedResult,
    GenerationParams,
    ModelInfo,
)
from strata.shared.runner import Metrics, create_mcp

__all__ = ["create_server"]

VERSION = "0.1.0"
INSTRUCTIONS = (
    "Local LLM runtime. Use `chat` for conversations (json_schema forces valid JSON), `complete` for raw "
    "text continuation, `embed` for vectors, `models` to see what is served, `status` for load."
)
MAX_MESSAGES = 256
MAX_EMBED_TEXTS = 256
MAX_SCHEMA_KEYS = 200

READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
# Generation reads nothing and writes nothing, but sampling makes it non-idempotent.
GENERATES = ToolAnnotations(read_only_hint=True, idempotent_hint=False, open_world_hint=False)

ModelArg = Annotated[
    str | None, Field(description="Model name from `models`; default model if omitted", max_length=200)
]
MaxTokens = Annotated[int | None, Field(ge=1, le=1_048_576, description="Tokens to generate at most")]
Temperature = Annotated[float, Field(ge=0.0, le=2.0, description="0 = greedy")]
TopP = Annotated[float, Field(gt=0.0, le=1.0)]
Stop = Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=MAX_STOP_SEQUENCES)]
Seed = Annotated[int | None, Field(ge=0, le=2**31 - 1)]
Schema = Annotated[
    dict[str, Any] | None,
    Field(description="JSON Schema the output must satisfy (enforced by grammar)", max_length=MAX_SCHEMA_KEYS),
]


def create_server(registry: ModelRegistry, metrics: Metrics) -> FastMCP:
    """Build the strata-llm MCP server over ``registry``; models load in its lifespan."""
    service = LlmService(registry)
    metrics.registry.register(_ModelCollector(service))

    @asynccontextmanager
    async def lifespan(_: FastMCP) -> AsyncIterator[dict[str, Any]]:
        await registry.start()
        try:
            yield {}
        finally:
            await registry.close()

    mcp = create_mcp("strata-llm", version=VERSION, instructions=INSTRUCTIONS, metrics=metrics, lifespan=lifespan)

    @mcp.tool(annotations=GENERATES)
    async def chat(
        messages: Annotated[list[ChatMessage], Field(min_length=1, max_length=MAX_MESSAGES)],
        model: ModelArg = None,
        max_tokens: MaxTokens = None,
        temperature: Temperature = 0.7,
        top_p: TopP = 0.95,
        stop: Stop | None = None,
        seed: Seed = None,
        json_schema: Schema = None,
    ) -> ChatOutput:
        """Generate the assistant's next message. With json_schema the reply is JSON valid against it
        (also returned parsed as json_value). A prompt longer than the context window is an error."""
        params = GenerationParams(
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            stop=stop or [],
            seed=seed,
            json_schema=json_schema,
        )
        return await service.chat(messages, params, model)

    @mcp.tool(annotations=GENERATES)
    async def complete(
        prompt: Annotated[str, Field(min_length=1, max_length=MAX_MESSAGE_CHARS)],
        model: ModelArg = None,
        max_tokens: MaxTokens = None,
        temperature: Temperature = 0.7,
        top_p: TopP = 0.95,
        stop: Stop | None = None,
        seed: Seed = None,
        json_schema: Schema = None,
    ) -> ChatOutput:
        """Continue raw text (no chat template)."""
        params = GenerationParams(
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            stop=stop or [],
            seed=seed,
            json_schema=json_schema,
        )
        return await service.complete(prompt, params, model)

    @mcp.tool(annotations=READ_ONLY)
    async def embed(
        texts: Annotated[
            list[Annotated[str, Field(max_length=MAX_MESSAGE_CHARS)]],
            Field(min_length=1, max_length=MAX_EMBED_TEXTS),
        ],
        model: ModelArg = None,
    ) -> EmbedResult:
        """Embed texts as unit vectors. Needs a model configured for embeddings."""
        return await service.embed(texts, model)

    @mcp.tool(annotations=READ_ONLY)
    def models() -> list[ModelInfo]:
        """List served models: engine, context window, chat/embedding ability, loaded or not."""
        return service.models()

    @mcp.tool(annotations=READ_ONLY)
    def status() -> ServerStatus:
        """Per model: instances, busy, queued, served/rejected/cancelled counts, recent tokens/s."""
        return service.status()

    for path, methods, handler in openai_routes(registry):
        mcp.custom_route(path, methods=methods)(handler)
    return mcp


class _ModelCollector(Collector):
    """Exports each model's live status to /metrics."""

    def __init__(self, service: LlmService) -> None:
        self.service = service

    def collect(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        busy = GaugeMetricFamily("strata_llm_busy", "Requests running", labels=["model"])
        queued = GaugeMetricFamily("strata_llm_queued", "Requests waiting", labels=["model"])
        served = CounterMetricFamily("strata_llm_requests", "Requests finished", labels=["model"])
        rejected = CounterMetricFamily("strata_llm_rejected", "Requests refused as busy", labels=["model"])
        cancelled = CounterMetricFamily("strata_llm_cancelled", "Requests cancelled", labels=["model"])
        for s in self.service.status().models:
            busy.add_metric([s.name], s.busy)
            queued.add_metric([s.name], s.queued)
            served.add_metric([s.name], s.requests_served)
            rejected.add_metric([s.name], s.requests_rejected)
            cancelled.add_metric([s.name], s.requests_cancelled)
        return [busy, queued, served, rejected, cancelled]
