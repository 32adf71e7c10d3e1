"""GenAI spans around every model call, whichever door it came in by (MCP tools, /v1, the CLI).

``TracedEngine`` wraps an engine: a generation is a ``chat <model>`` (or ``text_completion <model>``) span and an
embedding an ``embeddings <model>`` span, with the GenAI attributes (model, sampling, token counts, finish reason) and
Strata's timings. In-process llama.cpp models are INTERNAL spans; remote engines are CLIENT spans, as the conventions
say. Prompt and answer text only with ``[telemetry] capture_content = true``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from opentelemetry.trace import SpanKind

from strata.llm.engine import Engine, OnDelta, Prompt
from strata.llm.types import EmbedResult, GenerationParams, GenerationResult, ModelInfo, ModelStatus
from strata.shared import telemetry

__all__ = ["TracedEngine"]

PROVIDERS = {"llama-cpp": "llama.cpp", "openai-compatible": "openai"}


class TracedEngine:
    """An engine whose calls are GenAI spans; everything else is the wrapped engine's."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.name = engine.name
        info = engine.info()
        self._kind = SpanKind.INTERNAL if info.engine == "llama-cpp" else SpanKind.CLIENT
        self._provider = PROVIDERS.get(info.engine, info.engine)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def info(self) -> ModelInfo:
        return self.engine.info()

    def status(self) -> ModelStatus:
        return self.engine.status()

    async def start(self) -> None:
        await self.engine.start()

    async def close(self) -> None:
        await self.engine.close()

    async def generate(
        self, prompt: Prompt, params: GenerationParams, on_delta: OnDelta | None = None
    ) -> GenerationResult:
        operation = "text_completion" if isinstance(prompt, str) else "chat"
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation, "gen_ai.provider.name": self._provider,
            "gen_ai.request.model": self.name, "gen_ai.request.max_tokens": params.max_tokens,
            "gen_ai.request.temperature": params.temperature, "gen_ai.request.top_p": params.top_p,
            "gen_ai.request.seed": params.seed, "strata.json_schema": params.json_schema is not None,
            "strata.stream": on_delta is not None,
        }  # fmt: skip
        if telemetry.capture_content():
            attributes["gen_ai.input.messages"] = (
                prompt if isinstance(prompt, str) else json.dumps([m.model_dump(exclude_none=True) for m in prompt])
            )
        with telemetry.span(f"{operation} {self.name}", attributes, self._kind) as span:
            result = await self.engine.generate(prompt, params, on_delta)
            span.set_attributes(
                telemetry.safe_attributes(
                    {"gen_ai.response.model": result.model, "gen_ai.response.finish_reasons": [result.finish_reason],
                     "gen_ai.usage.input_tokens": result.usage.prompt_tokens,
                     "gen_ai.usage.output_tokens": result.usage.completion_tokens,
                     "strata.time_to_first_token_ms": result.time_to_first_token_ms,
                     "strata.tokens_per_second": result.tokens_per_second,
                     "gen_ai.output.messages": result.text if telemetry.capture_content() else None}
                )
            )  # fmt: skip
            return result

    async def embed(self, texts: Sequence[str]) -> EmbedResult:
        attributes = {"gen_ai.operation.name": "embeddings", "gen_ai.provider.name": self._provider,
                      "gen_ai.request.model": self.name, "strata.inputs": len(texts)}  # fmt: skip
        with telemetry.span(f"embeddings {self.name}", attributes, self._kind) as span:
            result = await self.engine.embed(texts)
            span.set_attributes({"gen_ai.usage.input_tokens": result.prompt_tokens,
                                 "gen_ai.embeddings.dimension.count": result.dimensions})  # fmt: skip
            return result
