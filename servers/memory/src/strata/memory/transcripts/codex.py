"""Codex writes one JSON Lines "rollout" per session under ``~/.codex/sessions/YYYY/MM/DD/`` (and moves old ones to
``archived_sessions/``; ``CODEX_HOME`` moves ``~/.codex``). Each line is ``{timestamp, type, payload}``; the first,
``session_meta``, holds the session's id, its working directory and its source (a sub-agent's is
``{"subagent": …}``). What the user typed and what the agent said are events: ``item_completed`` with a
``UserMessage`` or ``AgentMessage`` item since 2026, ``user_message`` / ``agent_message`` before. The
``response_item`` lines repeat the model's input, with the injected environment and instructions, and the tool
calls and their output; they are not read, except to count the tool output skipped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import closing
from itertools import chain
from pathlib import Path
from typing import Any

from strata.memory.transcripts.common import (
    MAX_SESSION_BYTES,
    Message,
    Role,
    Session,
    Transcripts,
    in_project,
    json_lines,
    parse_time,
)

ITEM_ROLES: dict[str, Role] = {"UserMessage": "user", "AgentMessage": "assistant"}
EVENT_ROLES: dict[str, Role] = {"user_message": "user", "agent_message": "assistant"}


def home() -> Path:
    return Path(os.environ.get("CODEX_HOME") or Path.home() / ".codex")


def sessions(root: Path, out: Transcripts) -> Iterator[Session]:
    """Codex's sessions whose working directory is ``root`` (or a folder in it)."""
    base = home()
    files = chain((base / "sessions").rglob("rollout-*.jsonl"), (base / "archived_sessions").rglob("rollout-*.jsonl"))
    for path in sorted(files):
        if path.stat().st_size > MAX_SESSION_BYTES:
            out.skip("session file too large")
            continue
        with closing(json_lines(path)) as records:
            valid = (r for r in records if isinstance(r.get("payload"), dict) and isinstance(r.get("type"), str))
            first = next(valid, None)  # session_meta: a rollout of another project is read no further
            if first is None or first["type"] != "session_meta" or not in_project(first["payload"].get("cwd"), root):
                continue
            meta, lines = first["payload"], [first, *valid]
        source = meta.get("source")
        if (isinstance(source, dict) and "subagent" in source) or meta.get("thread_source") == "subagent":
            out.skip("sub-agent session")
            continue
        session = Session("codex", path.name, str(meta.get("id") or path.stem))
        items = [m for n, line in enumerate(lines) if (m := _item(line, n))]
        session.messages = items or [m for n, line in enumerate(lines) if (m := _event(line, n))]
        out.skip("tool output", sum(_is_tool_output(line) for line in lines))
        yield session


def _item(line: dict[str, Any], number: int) -> Message | None:
    """A message from an ``item_completed`` event (Codex 2026)."""
    payload = line["payload"]
    item = payload.get("item")
    if line["type"] != "event_msg" or payload.get("type") != "item_completed" or not isinstance(item, dict):
        return None
    role = ITEM_ROLES.get(str(item.get("type")))
    if role is None:
        return None
    content = item.get("content")
    parts = content if isinstance(content, list) else []
    text = "\n".join(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)).strip()
    return Message(role, text, str(item.get("id") or f"line-{number}"), parse_time(line.get("timestamp")))


def _event(line: dict[str, Any], number: int) -> Message | None:
    """A message from a ``user_message`` / ``agent_message`` event (Codex 2025)."""
    payload = line["payload"]
    role = EVENT_ROLES.get(str(payload.get("type"))) if line["type"] == "event_msg" else None
    if role is None:
        return None
    text = payload.get("message")
    text = text.strip() if isinstance(text, str) else ""
    return Message(role, text, f"line-{number}", parse_time(line.get("timestamp")))


def _is_tool_output(line: dict[str, Any]) -> bool:
    return line["type"] == "response_item" and str(line["payload"].get("type", "")).endswith("_output")
