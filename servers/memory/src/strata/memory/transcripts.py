"""Memories from the sessions a coding agent already keeps. Claude Code writes one JSON Lines file per session
under ``~/.claude/projects/<project>/`` (``CLAUDE_CONFIG_DIR`` moves ``~/.claude``): a line per event, the user's
and the assistant's messages among them, each with ``uuid``, ``timestamp``, ``cwd`` and ``sessionId``.

What becomes a memory: each request the user typed (kind ``request``) and the assistant's last text before the
next request, its conclusion (kind ``outcome``, or ``decision`` when it says one was made), with the request as
its context. Tool calls, tool output, system prompts, sub-agent turns and command wrappers are skipped. Secrets
are redacted before anything is stored: the log scrubber's keys and tokens, passwords in URLs, and the token
forms of common hosts. Provenance: the client, the session file and the message id, and the message's time.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from strata.memory.store import NewMemory
from strata.shared.errors import InvalidRequestError
from strata.shared.log import redact

if TYPE_CHECKING:
    from strata.memory.sharing import Memory

__all__ = ["CLIENTS", "ImportResult", "Transcripts", "claude_code_sessions", "import_sessions", "redact_transcript"]

CLIENTS = ("claude-code",)
IMPORT_BATCH = 256
MAX_SESSION_BYTES = 256 * 1024 * 1024  # a session file larger than this is skipped (and counted)
MAX_MEMORY_CHARS = 4_000  # a longer message is cut, with a mark
DECISION = re.compile(
    r"\b(?:we|i|you)(?:'ve| have)?\s+(?:decided|chose|chosen|picked|agreed|settled)\b|\bdecision\b|"
    r"\blet'?s\s+(?:go\s+with|use|keep|switch)\b",
    re.IGNORECASE,
)
URL_PASSWORD = re.compile(r"\b([a-z][a-z0-9+.\-]*://[^\s/:@]+:)[^\s/@]+@", re.IGNORECASE)
TOKEN_FORMS = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abpr]-[A-Za-z0-9\-]{10,}|AKIA[0-9A-Z]{16}|"
    r"AIza[0-9A-Za-z_\-]{30,}|sk_(?:live|test)_[A-Za-z0-9]{16,}|glpat-[A-Za-z0-9_\-]{16,})\b"
)
WRAPPERS = re.compile(r"<(system-reminder|command-[a-z]+|local-command-[a-z]+)>.*?</\1>", re.DOTALL)


def redact_transcript(text: str) -> str:
    """``text`` without the secrets a transcript holds: the scrubber's, URL passwords and host token forms."""
    text = URL_PASSWORD.sub(lambda m: m.group(1) + "***@", text)
    return str(redact(TOKEN_FORMS.sub("***", text)))


@dataclass
class Transcripts:
    """What one import read: the memories, and how many sessions and messages it read or skipped, and why."""

    memories: list[NewMemory] = field(default_factory=list)
    sessions: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1


def claude_code_home() -> Path:
    return Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude")


def claude_code_sessions(project: Path, scope: str, since: datetime | None = None) -> Transcripts:
    """Memories from Claude Code's sessions whose working directory is ``project`` (or a folder in it)."""
    out = Transcripts()
    root = project.resolve()
    for path in sorted((claude_code_home() / "projects").glob("*/*.jsonl")):
        if path.stat().st_size > MAX_SESSION_BYTES:
            out.skip("session file too large")
            continue
        events = [e for e in _events(path) if _in_project(e, root)]
        if not events:
            continue
        out.sessions += 1
        _session(path, events, scope, since, out)
    return out


def _events(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("type") in ("user", "assistant"):
                yield event


def _in_project(event: dict[str, Any], root: Path) -> bool:
    cwd = event.get("cwd")
    if not isinstance(cwd, str):
        return False
    where = Path(cwd)
    return where == root or root in where.parents


def _session(path: Path, events: list[dict[str, Any]], scope: str, since: datetime | None, out: Transcripts) -> None:
    request: tuple[dict[str, Any], str] | None = None
    answer: tuple[dict[str, Any], str] | None = None

    def conclude() -> None:
        if answer is not None:
            event, text = answer
            kind = "decision" if DECISION.search(text) else "outcome"
            out.memories.append(_memory(path, event, text, kind, scope, request[1] if request else None))

    for event in events:
        if event.get("isSidechain"):
            out.skip("sub-agent message")
            continue
        when = _when(event)
        if since is not None and (when is None or when < since):
            continue
        message = event.get("message") or {}
        content = message.get("content")
        if event["type"] == "user":
            if isinstance(content, list) and any(
                isinstance(b, dict) and b.get("type") == "tool_result" for b in content
            ):
                out.skip("tool output")
                continue
            text = _text(content)
            if not text:
                out.skip("command or empty")
                continue
            conclude()
            answer = None
            request = (event, text)
            out.memories.append(_memory(path, event, text, "request", scope, None))
        else:
            text = _text(content)
            if text:
                answer = (event, text)  # the last text before the next request is the conclusion
    conclude()


def _text(content: Any) -> str:
    """The prose of a message: a string, or its text blocks (not tool calls, tool results or thinking)."""
    if isinstance(content, str):
        parts = [content]
    elif isinstance(content, list):
        parts = [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
    else:
        return ""
    text = WRAPPERS.sub("", "\n".join(p for p in parts if isinstance(p, str))).strip()
    return text


def _when(event: dict[str, Any]) -> datetime | None:
    stamp = event.get("timestamp")
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def _memory(path: Path, event: dict[str, Any], text: str, kind: str, scope: str, context: str | None) -> NewMemory:
    text = redact_transcript(text)
    if len(text) > MAX_MEMORY_CHARS:
        text = text[: MAX_MEMORY_CHARS - 20].rstrip() + " […cut at import]"
    session = str(event.get("sessionId") or path.stem)
    return NewMemory(
        text,
        kind=kind,
        scope=scope,
        tags=("claude-code", f"session-{session[:8]}"),
        source=f"claude-code {path.name}#{event.get('uuid', '')}",
        occurred_at=_when(event),
        context=redact_transcript(context)[:MAX_MEMORY_CHARS] if context else None,
    )


class ImportResult(BaseModel):
    sessions: int = Field(description="session files with messages from the project")
    read: int = Field(description="memories made from them")
    new: int
    duplicates: int = Field(description="already stored (an import run again stores nothing twice)")
    skipped: dict[str, int] = Field(description="messages not kept, by why")


def import_sessions(memory: Memory, client: str, project: Path, since: datetime | None) -> ImportResult:
    """Store ``client``'s session memories for ``project`` (scope ``project:<its folder name>``) in ``memory``."""
    if client not in CLIENTS:
        raise InvalidRequestError(f"cannot import from {client!r}; known: {', '.join(CLIENTS)}")
    root = project.expanduser().resolve()
    found = claude_code_sessions(root, f"project:{root.name}", since)
    new = read = 0
    for start in range(0, len(found.memories), IMPORT_BATCH):
        results = memory.remember(
            found.memories[start : start + IMPORT_BATCH], max_chars=memory.settings.max_text_chars
        )
        read += len(results)
        new += sum(not r.deduplicated for r in results)
    return ImportResult(sessions=found.sessions, read=read, new=new, duplicates=read - new, skipped=found.skipped)
