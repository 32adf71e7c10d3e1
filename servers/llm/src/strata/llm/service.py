"""The llm domain as the MCP tools and the CLI see it: chat, complete, embed, models, status."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from strata.llm.engine import OnDelta
from strata.llm.errors import InvalidRequestError
from strata.llm.registry import ModelRegistry
from strata.llm.types import (
    ChatMessage,
    EmbedResult,
    GenerationParams,
    GenerationResult,
    ModelInfo,
    ModelStatus,
)

__all__ = ["ChatOutput", "LlmService", "ServerStatus"]


class ChatOutput(GenerationResult):
    """A generation, plus the parsed value when a json_schema constrained it."""

    json_value: Any = None


class ServerStatus(BaseModel):
    default_model: str
    models: list[ModelStatus]


class LlmService:
    """Thin domain facade over the model registry."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry

    async def chat(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        model: str | None = None,
        on_delta: OnDelta | None = None,
    ) -> ChatOutput:
        result = await self.registry.get(model).generate(list(messages), params, on_delta)
        return _with_json(result, params)

    async def complete(
        self, prompt: str, params: GenerationParams, model: str | None = None, on_delta: OnDelta | None = None
    ) -> ChatOutput:
        result = await self.registry.get(model).generate(prompt, params, on_delta)
        return _with_json(result, params)

    async def embed(self, texts: Sequence[str], model: str | None = None) -> EmbedResult:
        return await self.registry.get(model).embed(texts)

    def models(self) -> list[ModelInfo]:
        return [engine.info() for _, engine in sorted(self.registry.engines.items())]

    def status(self) -> ServerStatus:
        return ServerStatus(
            default_model=self.registry.default,
            models=[engine.status() for _, engine in sorted(self.registry.engines.items())],
        )


def _with_json(result: GenerationResult, params: GenerationParams) -> ChatOutput:
    out = ChatOutput(**result.model_dump())
    if params.json_schema is not None:
        if result.finish_reason == "length":
            raise InvalidRequestError(
                f"the JSON answer was cut off at max_tokens after {result.usage.completion_tokens} tokens; "
                "raise max_tokens"
            )
        try:
            out.json_value = json.loads(result.text)
        except json.JSONDecodeError as exc:  # grammar-constrained output should always parse
            raise InvalidRequestError(f"model output is not valid JSON: {exc}") from exc
    return out
