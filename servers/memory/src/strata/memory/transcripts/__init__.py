"""Memories from the sessions the coding agents already keep: Claude Code, Codex, Gemini CLI and OpenCode, each read
from where the client itself writes them (one module per client says where and how), turned into requests and
conclusions by ``common``, secrets redacted, then stored through the memory's own ``remember``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from pydantic import BaseModel, Field

from strata.memory.transcripts import claude_code, codex, gemini, opencode
from strata.memory.transcripts.common import Session, Transcripts, redact_transcript
from strata.shared.errors import InvalidRequestError

if TYPE_CHECKING:
    from strata.memory.sharing import Memory

__all__ = ["CLIENTS", "Client", "ImportResult", "Transcripts", "import_sessions", "read_sessions", "redact_transcript"]

Client = Literal["claude-code", "codex", "gemini", "opencode"]
READERS: dict[Client, Callable[[Path, Transcripts], Iterator[Session]]] = {
    "claude-code": claude_code.sessions,
    "codex": codex.sessions,
    "gemini": gemini.sessions,
    "opencode": opencode.sessions,
}
CLIENTS: tuple[Client, ...] = get_args(Client)
IMPORT_BATCH = 256


def read_sessions(client: str, project: Path, scope: str, since: datetime | None = None) -> Transcripts:
    """The memories ``client``'s sessions in ``project`` (or a folder in it) hold, from ``since`` on."""
    if client not in READERS:
        raise InvalidRequestError(f"cannot import from {client!r}; known: {', '.join(CLIENTS)}")
    found = Transcripts()
    for session in READERS[client](project.expanduser().resolve(), found):
        found.add(session, scope, since)
    return found


class ImportResult(BaseModel):
    sessions: int = Field(description="sessions that ran in the project")
    read: int = Field(description="memories made from them")
    new: int
    duplicates: int = Field(description="already stored (an import run again stores nothing twice)")
    skipped: dict[str, int] = Field(description="messages and sessions not kept, by why")


def import_sessions(memory: Memory, client: str, project: Path, since: datetime | None) -> ImportResult:
    """Store ``client``'s session memories for ``project`` (scope ``project:<its folder name>``) in ``memory``."""
    root = project.expanduser().resolve()
    found = read_sessions(client, root, f"project:{root.name}", since)
    new = read = 0
    for start in range(0, len(found.memories), IMPORT_BATCH):
        results = memory.remember(
            found.memories[start : start + IMPORT_BATCH], max_chars=memory.settings.max_text_chars
        )
        read += len(results)
        new += sum(not r.deduplicated for r in results)
    return ImportResult(sessions=found.sessions, read=read, new=new, duplicates=read - new, skipped=found.skipped)
