"""Claude Code writes one JSON Lines file per session under ``~/.claude/projects/<project>/``
(``CLAUDE_CONFIG_DIR`` moves ``~/.claude``): a line per event, the user's and the assistant's messages among them,
each with ``uuid``, ``timestamp``, ``cwd`` and ``sessionId``. Sub-agent turns carry ``isSidechain``; tool results
come back as user messages holding ``tool_result`` blocks; command wrappers and reminders are tags in the text."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
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

WRAPPERS = re.compile(r"<(system-reminder|command-[a-z]+|local-command-[a-z]+)>.*?</\1>", re.DOTALL)


def home() -> Path:
    return Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude")


def sessions(root: Path, out: Transcripts) -> Iterator[Session]:
    """Claude Code's sessions whose working directory is ``root`` (or a folder in it)."""
    for path in sorted((home() / "projects").glob("*/*.jsonl")):
        if path.stat().st_size > MAX_SESSION_BYTES:
            out.skip("session file too large")
            continue
        events = [
            e for e in json_lines(path) if e.get("type") in ("user", "assistant") and in_project(e.get("cwd"), root)
        ]
        if not events:
            continue
        session = Session("claude-code", path.name, str(events[0].get("sessionId") or path.stem))
        for event in events:
            if event.get("isSidechain"):
                out.skip("sub-agent message")
                continue
            content = (event.get("message") or {}).get("content")
            if (
                event["type"] == "user"
                and isinstance(content, list)
                and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)
            ):
                out.skip("tool output")
                continue
            role: Role = "user" if event["type"] == "user" else "assistant"
            when = parse_time(event.get("timestamp"))
            session.messages.append(Message(role, _text(content), str(event.get("uuid", "")), when))
        yield session


def _text(content: Any) -> str:
    """The prose of a message: a string, or its text blocks (not tool calls, tool results or thinking)."""
    if isinstance(content, str):
        parts = [content]
    elif isinstance(content, list):
        parts = [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
    else:
        return ""
    return WRAPPERS.sub("", "\n".join(p for p in parts if isinstance(p, str))).strip()
