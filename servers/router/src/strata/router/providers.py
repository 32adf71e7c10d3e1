"""Providers: the upstreams the router calls. The router core never names one.

A provider takes an OpenAI chat-completions body (``model`` already set to the upstream's id) and
returns an OpenAI chat completion, or streams OpenAI chunks. Built-ins: ``openai`` (any
OpenAI-compatible endpoint: strata-llm, vLLM, Ollama, llama-server, hosted APIs) and ``anthropic``.
Third-party providers register a factory under the ``strata.providers`` entry-point group, exactly as
the built-ins do (see pyproject.toml); ``kind`` in strata.toml names the entry point.

Every upstream failure becomes a ProviderFailure whose ``kind`` decides whether the next model of a
fallback chain is tried.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from importlib.metadata import entry_points
from typing import Any, Literal, Protocol

import aiohttp

from strata.router.anthropic_format import AnthropicStreamReader, from_anthropic_response, to_anthropic_request
from strata.router.errors import ConfigError
from strata.router.settings import ProviderConfig
from strata.shared import telemetry
from strata.shared.log import register_secret, scrub

__all__ = [
    "AnthropicProvider",
    "OpenAIProvider",
    "Provider",
    "ProviderFactory",
    "ProviderFailure",
    "load_provider",
]

FailureKind = Literal["connect", "timeout", "rate_limited", "server", "context_overflow", "client", "bad_response"]
# What a fallback chain moves on from. A plain 4xx is the client's fault: every model would refuse it.
RETRYABLE: frozenset[str] = frozenset(
    {"connect", "timeout", "rate_limited", "server", "context_overflow", "bad_response"}
)
CONTEXT_MARKERS = (
    "context_length",
    "context length",
    "context window",
    "context_overflow",
    "maximum context",
    "too many tokens",
    "prompt is too long",
)
ENTRY_POINT_GROUP = "strata.providers"


class ProviderFailure(Exception):
    """An upstream call failed; ``kind`` classifies it, ``status`` is the HTTP status if there was one."""

    def __init__(self, kind: FailureKind, message: str, status: int | None = None) -> None:
        # Upstream text goes to clients and the ledger: no configured key, bearer token or traceback in it.
        message = scrub(message)
        super().__init__(message)
        self.kind: FailureKind = kind
        self.status = status
        self.message = message

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


class Provider(Protocol):
    """One upstream endpoint."""

    name: str

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """One OpenAI chat completion for ``body``."""
        ...

    def stream(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """OpenAI ``chat.completion.chunk`` objects for ``body`` (usage in the last one when known)."""
        ...

    async def close(self) -> None: ...


ProviderFactory = Callable[[str, ProviderConfig], Provider]


def load_provider(name: str, config: ProviderConfig) -> Provider:
    """Build the provider ``config.kind`` names, from the ``strata.providers`` entry points."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if config.kind not in found:
        known = ", ".join(sorted(found)) or "none installed"
        raise ConfigError(f"provider '{name}' has kind '{config.kind}', which no installed package provides ({known})")
    factory: ProviderFactory = found[config.kind].load()
    return factory(name, config)


def _api_key(name: str, config: ProviderConfig) -> str | None:
    if not config.api_key_env:
        return None
    key = os.environ.get(config.api_key_env)
    if not key:
        raise ConfigError(f"provider '{name}' reads its API key from ${config.api_key_env}, which is not set")
    register_secret(key)
    return key


def _classify(status: int, text: str) -> ProviderFailure:
    try:
        body = json.loads(text)
        error = body.get("error") if isinstance(body, dict) else None
        message = str((error or {}).get("message") or text[:300]) if isinstance(error, dict) else text[:300]
        code = str((error or {}).get("code") or (error or {}).get("type") or "") if isinstance(error, dict) else ""
    except ValueError:
        message, code = text[:300], ""
    lowered = f"{code} {message}".lower()
    if status in (400, 413) and any(marker in lowered for marker in CONTEXT_MARKERS):
        return ProviderFailure("context_overflow", message, status)
    if status == 429:
        return ProviderFailure("rate_limited", message, status)
    if status >= 500 or status == 408:
        return ProviderFailure("server", message, status)
    return ProviderFailure("client", message, status)


def _transport_failure(exc: Exception) -> ProviderFailure:
    """The one place aiohttp's (and asyncio's) transport errors become ProviderFailures."""
    if isinstance(exc, TimeoutError):  # aiohttp's connect/read timeouts subclass it
        return ProviderFailure("timeout", f"timed out ({type(exc).__name__})")
    return ProviderFailure("connect", f"{type(exc).__name__}: {exc}")


class _HttpProvider:
    """Pooled async HTTP, error classification and SSE reading shared by the built-in providers.

    aiohttp, not httpx: on a loopback upstream httpx spent ~0.6 ms of Python per call against aiohttp's
    ~0.1 ms (bench/bench_router.py measures the whole proxy), and this call is most of the router's
    own overhead. The session is made on first use, inside the event loop that uses it.
    """

    path = ""

    def __init__(self, name: str, config: ProviderConfig) -> None:
        self.name = name
        self.config = config
        self.url = config.base_url.rstrip("/") + "/" + self.path
        self._headers = {**self.headers(_api_key(name, config)), "content-type": "application/json"}
        self._session: aiohttp.ClientSession | None = None

    def headers(self, key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # sock_read, not total: a long stream may take minutes, but no single read may stall past timeout_s.
            # connect covers waiting for a pooled connection too.
            timeout = aiohttp.ClientTimeout(
                total=None, sock_read=self.config.timeout_s, connect=self.config.connect_timeout_s
            )
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=timeout,
                connector=aiohttp.TCPConnector(limit=self.config.max_connections),
                auto_decompress=True,
                trust_env=False,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            async with self._client().post(
                self.url, data=json.dumps(body), headers=telemetry.trace_headers()
            ) as response:
                status = response.status
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _transport_failure(exc) from exc
        text = raw.decode("utf-8", errors="replace")
        if status >= 400:
            raise _classify(status, text)
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ProviderFailure("bad_response", "answered with non-JSON", status) from exc
        if not isinstance(data, dict):
            raise ProviderFailure("bad_response", "answered with a JSON value that is not an object")
        return data

    async def _events(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        try:
            async with self._client().post(
                self.url, data=json.dumps(body), headers=telemetry.trace_headers()
            ) as response:
                if response.status >= 400:
                    raise _classify(response.status, (await response.read()).decode("utf-8", errors="replace"))
                async for line in _lines(response.content):
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        return
                    try:
                        event = json.loads(payload)
                    except ValueError as exc:
                        raise ProviderFailure("bad_response", "sent an unreadable stream event") from exc
                    if (isinstance(event, dict) and event.get("type") == "error") or (
                        isinstance(event, dict) and "error" in event and "choices" not in event
                    ):
                        error = event.get("error") or {}
                        raise ProviderFailure("server", str(error.get("message") or error)[:300])
                    yield event
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _transport_failure(exc) from exc


async def _lines(content: aiohttp.StreamReader) -> AsyncIterator[str]:
    """Text lines of a body as it arrives; no line-length cap (aiohttp's readline has one)."""
    pending = b""
    async for chunk in content.iter_any():
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.rstrip(b"\r").decode("utf-8", errors="replace")
    if pending:
        yield pending.rstrip(b"\r").decode("utf-8", errors="replace")


class OpenAIProvider(_HttpProvider):
    """Any OpenAI-compatible ``/chat/completions`` endpoint."""

    path = "chat/completions"

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        data = await self._post(body)
        if not data.get("choices"):
            raise ProviderFailure("bad_response", "answered without choices")
        return data

    async def stream(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        async for event in self._events(body):
            yield event


class AnthropicProvider(_HttpProvider):
    """Anthropic's Messages API (or anything that speaks it), translated to and from OpenAI's form."""

    path = "v1/messages"
    version = "2023-06-01"

    def headers(self, key: str | None) -> dict[str, str]:
        headers = {"anthropic-version": self.version}
        if key:
            headers["x-api-key"] = key
        return headers

    def _body(self, body: dict[str, Any]) -> dict[str, Any]:
        return to_anthropic_request(body, default_max_tokens=4096)

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        data = await self._post(self._body(body))
        if data.get("type") != "message":
            raise ProviderFailure("bad_response", f"answered with type '{data.get('type')}', not a message")
        return from_anthropic_response(data)

    async def stream(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        reader = AnthropicStreamReader()
        async for event in self._events(self._body(body)):
            for chunk in reader.feed(event):
                yield chunk
