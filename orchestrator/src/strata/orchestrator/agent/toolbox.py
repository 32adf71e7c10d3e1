"""The trace's hands: one MCP client per server, every call timed, recorded in the thread, retried.

A server that cannot be reached is recorded once (``server_unavailable``) and its calls return None,
so the trace goes on without it. A call that fails because the connection broke is retried on a
fresh connection at most ``max_retries`` times (12-Factor #9); a tool that answers with an error is
not retried blindly - its compacted error is returned to the step, which decides.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import structlog

from strata.orchestrator.agent.thread import Thread
from strata.orchestrator.discovery import client_for
from strata.orchestrator.settings import ServerSpec

__all__ = ["CallOutcome", "Toolbox", "compact_error"]

log = structlog.get_logger("strata.orchestrator")
MAX_ARG_CHARS = 160
MAX_ERROR_CHARS = 300


class CallOutcome:
    """What a step gets back: the structured result, or the compacted error."""

    def __init__(self, data: dict[str, Any] | None, error: str = "") -> None:
        self.data = data
        self.error = error

    @property
    def ok(self) -> bool:
        return self.data is not None


def compact_error(exc: BaseException | str) -> str:
    """One short line for the context window: the innermost message, no traceback."""
    if isinstance(exc, BaseException):
        while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
            exc = exc.exceptions[0]
        text = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    else:
        text = " ".join(exc.split())
    return text[:MAX_ERROR_CHARS]


def _summarise(args: Mapping[str, Any]) -> str:
    text = json.dumps(args, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_ARG_CHARS else text[: MAX_ARG_CHARS - 1] + "…"


def _tokens(value: Any) -> int:
    return max(1, len(json.dumps(value, default=str)) // 4) if value else 0


class Toolbox:
    """Clients for the servers a run uses; ``call`` records every call in ``thread``."""

    def __init__(
        self,
        thread: Thread,
        specs: Mapping[str, ServerSpec],
        *,
        tokens: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
        max_retries: int = 2,
        connect_timeout_s: float = 120.0,
        tool_timeout_s: float = 300.0,
    ) -> None:
        self.thread = thread
        self.specs = dict(specs)
        self.tokens = dict(tokens or {})
        self.log_dir = log_dir
        self.max_retries = max_retries
        self.connect_timeout_s = connect_timeout_s
        self.tool_timeout_s = tool_timeout_s
        self._clients: dict[str, Any] = {}
        self.down: dict[str, str] = {}

    async def __aenter__(self) -> Toolbox:
        for name in self.specs:
            error = await self._connect(name)
            spec = self.specs[name]
            if error:
                self.down[name] = error
                self.thread.add("server_unavailable", data={"server": name, "error": error})
            else:
                self.thread.add("connected", data={"server": name, "transport": spec.transport, "target": spec.target})
        return self

    async def __aexit__(self, *exc: object) -> None:
        for name in list(self._clients):
            await self._disconnect(name)

    def available(self, server: str) -> bool:
        return server in self._clients or (server in self.specs and server not in self.down)

    async def _connect(self, name: str) -> str:
        client = client_for(name, self.specs[name], self.log_dir, token=self.tokens.get(name))
        try:
            with anyio.fail_after(self.connect_timeout_s):
                await client.__aenter__()
        except TimeoutError:
            await self._close(client)
            return f"no answer within {self.connect_timeout_s:g} s"
        except Exception as exc:  # any failure to start or reach the server is reported the same way
            await self._close(client)
            return compact_error(exc)
        self._clients[name] = client
        return ""

    async def _disconnect(self, name: str) -> None:
        client = self._clients.pop(name, None)
        if client is not None:
            await self._close(client)

    @staticmethod
    async def _close(client: Any) -> None:
        try:
            with anyio.move_on_after(10, shield=True):
                await client.__aexit__(None, None, None)
        except Exception as exc:  # a dead server may fail to close cleanly; nothing is left to do
            log.debug("close failed", error=compact_error(exc))

    async def call(self, step: str, server: str, tool: str, args: Mapping[str, Any]) -> CallOutcome:
        """Call ``server.tool``; record latency, tokens, model, cost, cache and outcome in the thread."""
        record: dict[str, Any] = {"server": server, "tool": tool, "args": _summarise(args)}
        if server in self.down or server not in self.specs:
            reason = self.down.get(server, "not configured")
            record |= {"outcome": "unavailable", "error": reason, "latency_ms": 0.0, "attempts": 0}
            self.thread.add("tool_call", step, data=record)
            return CallOutcome(None, f"{server} is unavailable: {reason}")
        attempts, error, result = 0, "", None
        started = time.perf_counter()
        while attempts <= self.max_retries:
            attempts += 1
            if server not in self._clients:
                error = await self._connect(server)
                if error:
                    break
            try:
                with anyio.fail_after(self.tool_timeout_s):
                    result = await self._clients[server].call_tool(
                        tool, dict(args), timeout=self.tool_timeout_s, raise_on_error=False
                    )
                break
            except TimeoutError:
                error = f"no answer within {self.tool_timeout_s:g} s"
                await self._disconnect(server)
                break  # a hung tool is not retried: the trace must not hang
            except Exception as exc:  # the connection broke: reconnect and retry (12-Factor #9)
                error = compact_error(exc)
                log.warning("tool call failed", server=server, tool=tool, attempt=attempts, error=error)
                await self._disconnect(server)
        record["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        record["attempts"] = attempts
        record["tokens_in"] = _tokens(dict(args))
        if result is None:
            self.down[server] = error
            record |= {"outcome": "unavailable", "error": error, "tokens_out": 0}
            self.thread.add("tool_call", step, data=record)
            return CallOutcome(None, f"{server} failed: {error}")
        if result.is_error:
            text = " ".join(getattr(block, "text", "") for block in result.content)
            record |= {"outcome": "error", "error": compact_error(text), "tokens_out": _tokens(text)}
            self.thread.add("tool_call", step, data=record)
            return CallOutcome(None, record["error"])
        data = result.structured_content
        if isinstance(data, dict) and set(data) == {"result"}:
            data = {"items": data["result"]} if isinstance(data["result"], list) else data
        data = data if isinstance(data, dict) else {"text": " ".join(getattr(b, "text", "") for b in result.content)}
        record |= {"outcome": "ok", "tokens_out": _tokens(data)}
        if server == "router" and tool == "complete":  # real token counts, model, cost and cache from the router
            record |= {
                "tokens_in": data.get("prompt_tokens", 0),
                "tokens_out": data.get("completion_tokens", 0),
                "model": data.get("model"),
                "cost_usd": data.get("cost_usd", 0.0),
                "cache": data.get("cache"),
                "escalations": len(data.get("escalations") or []),
            }
        else:
            record["tokens_estimated"] = True
        self.thread.add("tool_call", step, data=record)
        return CallOutcome(data)
