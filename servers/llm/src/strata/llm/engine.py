"""The engine contract: what every model backend (in-process llama.cpp, remote OpenAI-compatible) offers."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol

from strata.llm.types import (
    ChatMessage,
    EmbedResult,
    GenerationParams,
    GenerationResult,
    ModelInfo,
    ModelStatus,
)

__all__ = ["Engine", "OnDelta", "Prompt"]

# A chat conversation, or raw text for plain completion.
Prompt = Sequence[ChatMessage] | str
# Receives each piece of generated text as it is produced (streaming).
OnDelta = Callable[[str], Coroutine[Any, Any, None]]


class Engine(Protocol):
    """A named model backend. ``generate`` streams through ``on_delta`` when it is given."""

    name: str

    def info(self) -> ModelInfo: ...

    def status(self) -> ModelStatus: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def generate(
        self, prompt: Prompt, params: GenerationParams, on_delta: OnDelta | None = None
    ) -> GenerationResult: ...

    async def embed(self, texts: Sequence[str]) -> EmbedResult: ...
