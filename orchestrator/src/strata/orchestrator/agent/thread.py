"""The event thread: the only state of a ``strata ask`` run (12-Factor Agents #5 and #12).

A thread is the request plus an append-only list of events. Everything else - which step runs next,
whether the run waits for approval, what the plan was - is derived from the events, so a thread
saved to ``<repo>/.strata/threads/<id>.json`` can be resumed by another process at any point.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["STEPS", "Event", "Thread", "ThreadOptions", "load_thread", "thread_dir"]

# The trace, in order. Each step ends with exactly one step_done / step_skipped / step_failed event.
STEPS = ("recall", "symbols", "route", "plan", "edits", "approval", "apply", "tests", "announce", "store")
THREAD_ID_PATTERN = r"^t-[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$"

EventType = Literal[
    "request",  # the user's request and options: always first
    "connected",  # a server answered when the run (or resume) started: transport and target
    "server_unavailable",  # a server could not be reached when the run (or resume) started
    "tool_call",  # one MCP tool call: server, tool, latency, tokens, model, cost, cache, outcome
    "llm_rejected",  # an LLM answer failed a check; the compacted error goes back into the context
    "awaiting_approval",  # the run paused for a human
    "approval",  # a human (or --yes) answered
    "step_done",
    "step_skipped",
    "step_failed",
    "finished",
]


class Event(BaseModel):
    type: EventType
    at: float = Field(default_factory=time.time)
    step: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class ThreadOptions(BaseModel):
    yes: bool = False
    voice: bool = False
    test_command: list[str] | None = None


class Thread(BaseModel):
    id: str = Field(pattern=THREAD_ID_PATTERN)
    request: str
    repo: str
    created_at: float = Field(default_factory=time.time)
    options: ThreadOptions = Field(default_factory=ThreadOptions)
    events: list[Event] = Field(default_factory=list)

    @classmethod
    def start(cls, request: str, repo: Path, options: ThreadOptions) -> Thread:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime())
        thread = cls(id=f"t-{stamp}-{secrets.token_hex(3)}", request=request, repo=str(repo), options=options)
        thread.add("request", data={"request": request, "options": options.model_dump()})
        return thread

    def add(self, type: EventType, step: str | None = None, data: dict[str, Any] | None = None) -> Event:
        event = Event(type=type, step=step, data=dict(data or {}))
        self.events.append(event)
        return event

    # --- derived state -------------------------------------------------------------------------
    def outcome_of(self, step: str) -> Event | None:
        """The event that ended ``step`` (done, skipped or failed), if it has ended."""
        for event in reversed(self.events):
            if event.step == step and event.type in ("step_done", "step_skipped", "step_failed"):
                return event
        return None

    def result(self, step: str) -> dict[str, Any]:
        """What a finished step produced; empty if it was skipped, failed or has not run."""
        event = self.outcome_of(step)
        return event.data if event is not None and event.type == "step_done" else {}

    def next_step(self) -> str | None:
        """The first step that has not ended, or None when the run is over."""
        if self.finished:
            return None
        return next((step for step in STEPS if self.outcome_of(step) is None), None)

    @property
    def finished(self) -> bool:
        return any(event.type == "finished" for event in self.events)

    @property
    def awaiting_approval(self) -> bool:
        """Paused at the approval step with no answer yet."""
        if self.next_step() != "approval":
            return False
        asked = [i for i, e in enumerate(self.events) if e.type == "awaiting_approval"]
        answered = [i for i, e in enumerate(self.events) if e.type == "approval"]
        return bool(asked) and (not answered or answered[-1] < asked[-1])

    def tool_calls(self, step: str | None = None) -> list[Event]:
        return [e for e in self.events if e.type == "tool_call" and (step is None or e.step == step)]

    # --- persistence ---------------------------------------------------------------------------
    def save(self, directory: Path) -> Path:
        """Write the thread atomically (and its flat trace next to it); return the thread file."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.id}.json"
        _write_atomic(path, self.model_dump_json(indent=1))
        _write_atomic(directory / f"{self.id}.trace.json", json.dumps(self.trace(), indent=1))
        return path

    def trace(self) -> dict[str, Any]:
        """The readable record: per tool call server, tool, latency, tokens, model, cost, cache, outcome."""
        calls = [{"step": e.step, **{k: v for k, v in e.data.items() if k != "result"}} for e in self.tool_calls()]
        steps = [
            {"step": e.step, "outcome": e.type.removeprefix("step_"), "summary": e.data.get("summary", "")}
            for e in self.events
            if e.type in ("step_done", "step_skipped", "step_failed")
        ]
        finished = next((e.data for e in self.events if e.type == "finished"), None)
        return {
            "thread": self.id,
            "request": self.request,
            "repo": self.repo,
            "steps": steps,
            "calls": calls,
            "totals": {
                "latency_ms": round(sum(float(c.get("latency_ms", 0)) for c in calls), 1),
                "tokens_in": sum(int(c.get("tokens_in", 0)) for c in calls),
                "tokens_out": sum(int(c.get("tokens_out", 0)) for c in calls),
                "cost_usd": round(sum(float(c.get("cost_usd", 0) or 0) for c in calls), 8),
            },
            "outcome": finished,
        }


def thread_dir(repo: Path) -> Path:
    return repo / ".strata" / "threads"


def load_thread(repo: Path, thread_id: str) -> Thread:
    """Read a saved thread; FileNotFoundError names where it looked."""
    import re

    if not re.match(THREAD_ID_PATTERN, thread_id):
        raise ValueError(f"'{thread_id}' is not a thread id (they look like t-20261124-101500-a1b2c3)")
    path = thread_dir(repo) / f"{thread_id}.json"
    if not path.exists():
        raise FileNotFoundError(f"no thread {thread_id} in {thread_dir(repo)}")
    return Thread.model_validate_json(path.read_text(encoding="utf-8"))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
