"""Gemini CLI records each chat under ``~/.gemini/tmp/<project>/chats/`` (``GEMINI_CLI_HOME`` moves the home):
``session-<time>-<id>.jsonl`` since 0.4x, one ``session-….json`` before. The folder's ``.project_root`` names the
project's path; older folders are named by ``projectHash``, the sha256 of that path, which every session's header
carries too. A JSON Lines chat is a header (``sessionId``, ``projectHash``, ``kind``: ``main`` or ``subagent``),
then records read as the CLI reads them back: a message by ``id`` (a later one with the same id replaces it),
``{"$set": {"messages": […]}}`` replacing them all, and ``{"$rewindTo": id}`` dropping that message and those
after it. A message is ``{id, timestamp, type: user | gemini | info | error | warning, content, toolCalls}``;
the CLI's own context (``<session_context>``) and slash commands are user messages it does not resume, nor do we."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from strata.memory.transcripts.common import (
    MAX_SESSION_BYTES,
    Message,
    Session,
    Transcripts,
    in_project,
    json_lines,
    parse_time,
)

INJECTED = ("<session_context>", "<hook_context>")  # the CLI's own text, which it leaves out when it resumes
COMMANDS = ("/", "?")  # slash commands and help, also left out


def home() -> Path:
    return Path(os.environ.get("GEMINI_CLI_HOME") or Path.home()) / ".gemini"


def sessions(root: Path, out: Transcripts) -> Iterator[Session]:
    """Gemini CLI's chats in the project at ``root`` (or a folder in it)."""
    digest = hashlib.sha256(str(root).encode()).hexdigest()
    for folder in sorted(p for p in (home() / "tmp").glob("*") if (p / "chats").is_dir()):
        marker = folder / ".project_root"
        mine = in_project(marker.read_text(encoding="utf-8").strip(), root) if marker.is_file() else None
        for path in sorted((folder / "chats").glob("session-*.json*")):
            if path.suffix not in (".json", ".jsonl"):
                continue
            if path.stat().st_size > MAX_SESSION_BYTES:
                out.skip("session file too large")
                continue
            header, messages = _load(path)
            if not (mine if mine is not None else header.get("projectHash") == digest):
                continue
            if header.get("kind") == "subagent":
                out.skip("sub-agent session")
                continue
            session = Session("gemini", path.name, str(header.get("sessionId") or path.stem))
            for record in messages:
                message = _message(record, out)
                if message is not None:
                    session.messages.append(message)
            yield session


def _load(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The chat's header and its messages, as the CLI reads them back."""
    if path.suffix == ".json":
        try:
            whole = json.loads(path.read_text(encoding="utf-8", errors="replace"))
        except ValueError:
            return {}, []
        if not isinstance(whole, dict):
            return {}, []
        return whole, [m for m in whole.get("messages") or [] if isinstance(m, dict) and isinstance(m.get("id"), str)]
    header: dict[str, Any] = {}
    messages: dict[str, dict[str, Any]] = {}  # insertion-ordered, as the CLI's Map
    for record in json_lines(path):
        if isinstance(rewind := record.get("$rewindTo"), str):
            ids = list(messages)
            for id_ in ids[ids.index(rewind) :] if rewind in messages else ids:
                del messages[id_]
        elif isinstance(record.get("id"), str):
            messages[record["id"]] = record
        elif isinstance(update := record.get("$set"), dict):
            if isinstance(update.get("messages"), list):
                listed = [m for m in update["messages"] if isinstance(m, dict) and isinstance(m.get("id"), str)]
                messages = {m["id"]: m for m in listed}
            header.update({k: v for k, v in update.items() if k != "messages"})
        elif isinstance(record.get("sessionId"), str):
            header.update(record)
    return header, list(messages.values())


def _message(record: dict[str, Any], out: Transcripts) -> Message | None:
    kind = record.get("type")
    if kind not in ("user", "gemini"):
        return None  # info, error and warning lines are the CLI's own
    text = _text(record.get("content"))
    when = parse_time(record.get("timestamp"))
    if kind == "user" and _tool_responses(record.get("content")):
        return None  # a tool's output going back to the model, counted with the call that made it
    if kind == "user":
        return None if text.startswith(INJECTED) else Message("user", "" if text.startswith(COMMANDS) else text,
                                                               record["id"], when)  # fmt: skip
    calls = record.get("toolCalls")
    out.skip("tool output", sum(1 for c in calls if isinstance(c, dict) and "result" in c) if isinstance(
        calls, list) else 0)  # fmt: skip
    return Message("assistant", text, record["id"], when)


def _text(content: Any) -> str:
    """A message's prose: a string, or its text parts (never function calls or responses)."""
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return ""
    return "\n".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)).strip()


def _tool_responses(content: Any) -> bool:
    return isinstance(content, list) and any(isinstance(p, dict) and "functionResponse" in p for p in content)
