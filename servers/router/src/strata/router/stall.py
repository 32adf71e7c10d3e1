"""Stall escalation for agent loops: a session whose tool results keep coming back as errors moves up a tier.

An agent on a cheap model can loop: the same tool call, the same error, again and again, each turn billed. When one
session (``X-Strata-Session``) reports a failing tool result ``repeats`` times within ``window_s`` seconds, the
session is latched for ``latch_s`` seconds: its requests on that route skip the cheapest tier of the cascade. A tool
result is failing when it reads as an error: Anthropic's ``is_error`` (carried as ``[tool error]``), or a text that
starts as an error or a traceback does.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque

from strata.router.settings import StallConfig
from strata.router.types import ChatRequest

__all__ = ["StallWatch", "failing_tool_turn"]

ERROR_STARTS = ("[tool error]", "error", "traceback (most recent call last)", "exception", "fatal:")
MAX_SESSIONS = 10_000  # sessions tracked at once (the least recently seen go first)


def failing_tool_turn(request: ChatRequest) -> str | None:
    """The tool call whose failed result this request reports (``name(arguments)``), or None when its last message
    is not a failing tool result."""
    last = request.messages[-1]
    if last.role != "tool" or not last.text().strip().casefold().startswith(ERROR_STARTS):
        return None
    call_id = (last.model_extra or {}).get("tool_call_id")
    for message in reversed(request.messages[:-1]):
        for call in (message.model_extra or {}).get("tool_calls") or [] if message.role == "assistant" else []:
            if isinstance(call, dict) and call.get("id") == call_id:
                function = call.get("function") or {}
                return f"{function.get('name', '?')}({str(function.get('arguments', ''))[:200]})"
    return "a tool call"


class StallWatch:
    """Failing tool turns per (route, session), and the sessions latched to a stronger tier."""

    def __init__(self) -> None:
        self._failures: OrderedDict[tuple[str, str], deque[tuple[float, str]]] = OrderedDict()
        self._latched: dict[tuple[str, str], tuple[float, str]] = {}
        self._lock = threading.Lock()

    def observe(self, route: str, session: str | None, request: ChatRequest, config: StallConfig) -> str | None:
        """Why this request of a stalled session goes up a tier (it may be the one that stalls it), or None."""
        if session is None:
            return None
        key, now = (route, session), time.monotonic()
        with self._lock:
            latched = self._latched.get(key)
            if latched is not None and latched[0] > now:
                return latched[1]
            self._latched.pop(key, None)
            failing = failing_tool_turn(request)
            if failing is None:
                return None
            seen = self._failures.setdefault(key, deque())
            self._failures.move_to_end(key)
            while len(self._failures) > MAX_SESSIONS:
                self._failures.popitem(last=False)
            seen.append((now, failing))
            while seen and seen[0][0] < now - config.window_s:
                seen.popleft()
            if len(seen) < config.repeats:
                return None
            same = sum(1 for _, call in seen if call == failing)
            what = f"{same} times {failing}" if same == len(seen) else f"{len(seen)} failing tool results"
            reason = (
                f"stalled session: {what} within {config.window_s:.0f} s; a stronger tier for {config.latch_s:.0f} s"
            )
            self._latched[key] = (now + config.latch_s, reason)
            seen.clear()
            return reason
