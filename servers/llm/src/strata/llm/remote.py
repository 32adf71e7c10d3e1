"""Any OpenAI-compatible engine (vLLM, Ollama, llama.cpp's llama-server, a cloud API) behind the same tools.

This is the scale path: the heavy lifting happens on the upstream, and this engine only translates,
streams and enforces the same admission control and error model as the local one.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from strata.llm.admission import Admission
from strata.llm.engine import OnDelta, Prompt
from strata.llm.errors import (
    BusyError,
    ContextOverflowError,
    InvalidRequestError,
    UnsupportedError,
    UpstreamError,
)
from strata.llm.settings import RemoteConfig
from strata.llm.types import EmbedResult, GenerationParams, GenerationResult, ModelInfo, ModelStatus, Usage
from strata.shared.log import register_secret, scrub

__all__ = ["RemoteEngine"]


class RemoteEngine:
    """A model served by an OpenAI-compatible HTTP endpoint."""

    def __init__(self, name: str, config: RemoteConfig, *, max_queue: int) -> None:
        self.name = name
        self.config = config
        self.admission = Admission(name, config.max_concurrency, max_queue)
        register_secret(config.api_key)
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._client = httpx.AsyncClient(
            base_url=config.base_url.rstrip("/") + "/", headers=headers, timeout=config.timeout_s
        )

    async def start(self) -> None:
        """Nothing to load: the upstream is contacted on the first request."""

    async def close(self) -> None:
        await self._client.aclose()

    def info(self) -> ModelInfo:
        return ModelInfo(
            name=self.name,
            engine="openai-compatible",
            source=f"{self.config.base_url} ({self.config.model})",
            context_window=None,
            chat=True,
            embedding=self.config.embedding,
            loaded=True,
        )

    def status(self) -> ModelStatus:
        return self.admission.snapshot(loaded=True)

    async def generate(
        self, prompt: Prompt, params: GenerationParams, on_delta: OnDelta | None = None
    ) -> GenerationResult:
        chat = not isinstance(prompt, str)
        body: dict[str, Any] = {
            "model": self.config.model,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "stream": on_delta is not None,
        }
        if chat:
            body["messages"] = [m.model_dump() for m in prompt]  # type: ignore[union-attr]
        else:
            body["prompt"] = prompt
        if params.max_tokens is not None:
            body["max_tokens"] = params.max_tokens
        if params.stop:
            body["stop"] = params.stop
        if params.seed is not None:
            body["seed"] = params.seed
        if params.json_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": params.json_schema},
            }
        if on_delta is not None:
            body["stream_options"] = {"include_usage": True}
        path = "chat/completions" if chat else "completions"
        async with self.admission.slot():
            started = time.perf_counter()
            if on_delta is None:
                data = await self._post(path, body)
                result = self._parse_result(data, chat)
            else:
                result = await self._stream(path, body, chat, on_delta, started)
        self.admission.record_speed(result.tokens_per_second)
        return result

    def _parse_result(self, data: dict[str, Any], chat: bool) -> GenerationResult:
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] if chat else choice["text"]
            usage = data.get("usage") or {}
            return GenerationResult(
                model=self.name,
                text=text or "",
                finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
                usage=Usage(
                    prompt_tokens=usage.get("prompt_tokens", 0),
                    completion_tokens=usage.get("completion_tokens", 0),
                    total_tokens=usage.get("total_tokens", 0),
                ),
            )
        except (KeyError, IndexError, TypeError) as exc:
            raise UpstreamError(f"{self.config.base_url} answered in an unexpected shape: {exc!r}") from exc

    async def _stream(
        self, path: str, body: dict[str, Any], chat: bool, on_delta: OnDelta, started: float
    ) -> GenerationResult:
        pieces: list[str] = []
        finish = "stop"
        usage: dict[str, Any] = {}
        first: float | None = None
        async for event in self._sse(path, body):
            usage = event.get("usage") or usage
            for choice in event.get("choices", []):
                delta = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
                if delta:
                    first = first or time.perf_counter()
                    pieces.append(delta)
                    await on_delta(delta)
                finish = choice.get("finish_reason") or finish
        completion = usage.get("completion_tokens", 0)
        elapsed = time.perf_counter() - (first or started)
        return GenerationResult(
            model=self.name,
            text="".join(pieces),
            finish_reason="length" if finish == "length" else "stop",
            usage=Usage(
                prompt_tokens=usage.get("prompt_tokens", 0),
                completion_tokens=completion,
                total_tokens=usage.get("total_tokens", 0),
            ),
            time_to_first_token_ms=round((first - started) * 1000, 2) if first else None,
            tokens_per_second=round((completion - 1) / elapsed, 2) if completion > 1 and elapsed > 0 else None,
        )

    async def _sse(self, path: str, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        try:
            async with self._client.stream("POST", path, json=body) as response:
                if response.status_code >= 400:
                    await response.aread()
                    self._raise_for(response)
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        return
                    yield json.loads(payload)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"{self.config.base_url} failed: {type(exc).__name__}: {scrub(str(exc))}") from exc
        except json.JSONDecodeError as exc:
            raise UpstreamError(f"{self.config.base_url} sent an unreadable stream event") from exc

    async def embed(self, texts: Sequence[str]) -> EmbedResult:
        if not self.config.embedding:
            raise UnsupportedError(f"remote model '{self.name}' is not configured with embedding = true")
        async with self.admission.slot():
            data = await self._post("embeddings", {"model": self.config.model, "input": list(texts)})
        try:
            vectors = [item["embedding"] for item in sorted(data["data"], key=lambda d: d["index"])]
            tokens = (data.get("usage") or {}).get("prompt_tokens", 0)
        except (KeyError, TypeError) as exc:
            raise UpstreamError(f"{self.config.base_url} answered embeddings in an unexpected shape") from exc
        return EmbedResult(model=self.name, dimensions=len(vectors[0]), embeddings=vectors, prompt_tokens=tokens)

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._client.post(path, json=body)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"{self.config.base_url} failed: {type(exc).__name__}: {scrub(str(exc))}") from exc
        if response.status_code >= 400:
            self._raise_for(response)
        try:
            data: dict[str, Any] = response.json()
        except ValueError as exc:
            raise UpstreamError(f"{self.config.base_url} answered with non-JSON") from exc
        return data

    def _raise_for(self, response: httpx.Response) -> None:
        """Map an upstream error response to our error model, keeping its message."""
        try:
            error = response.json().get("error") or {}
        except ValueError:
            error = {}
        # Relayed to clients: no configured key, bearer token or upstream traceback in it.
        message = scrub(str(error.get("message") or response.text[:2000] or response.reason_phrase))
        where = f"upstream {self.config.base_url} ({response.status_code})"
        if response.status_code == 429:
            raise BusyError(f"{where} is busy: {message}")
        if error.get("code") == ContextOverflowError.code:
            raise InvalidRequestError(f"{where}: {message}", code=ContextOverflowError.code)
        if 400 <= response.status_code < 500:
            raise InvalidRequestError(f"{where} rejected the request: {message}")
        raise UpstreamError(f"{where}: {message}")
