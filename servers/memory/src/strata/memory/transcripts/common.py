"""What every client's sessions become: a request per message the user typed (kind ``request``), and the
assistant's last text before the next request, its conclusion (kind ``outcome``, or ``decision`` when it says one
was made), with the request as its context. The readers turn each client's own files into ``Session``s; tool
calls and tool output, system and injected text and sub-agent sessions never reach this module. Secrets are
redacted before anything is stored: the log scrubber's keys and tokens, passwords in URLs and the token forms of
common hosts. Provenance: the client, the session file (or database and session id) and the message id, and the
message's time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from strata.memory.store import NewMemory
from strata.shared.log import redact

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
    r"AIza[0-9A-Za-z_\-]{30,}|sk_(?:live|test)_[A-Za-z0-9]{16,}|glpat-[A-Za-z0-9_\-]{16,}|"
    r"sk-(?:proj-|ant-|or-)?[A-Za-z0-9_\-]{20,})\b"
)


def redact_transcript(text: str) -> str:
    """``text`` without the secrets a transcript holds: the scrubber's, URL passwords and host token forms."""
    text = URL_PASSWORD.sub(lambda m: m.group(1) + "***@", text)
    return str(redact(TOKEN_FORMS.sub("***", text)))


Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class Message:
    """A message of a session as the client recorded it: who, its prose (empty when it held none), its id."""

    role: Role
    text: str
    id: str
    when: datetime | None


@dataclass
class Session:
    client: str
    file: str  # where it lives, for provenance: the session file's name, or the database and the session's id
    id: str
    messages: list[Message] = field(default_factory=list)


@dataclass
class Transcripts:
    """What one import read: the memories, and how many sessions and messages it read or skipped, and why."""

    memories: list[NewMemory] = field(default_factory=list)
    sessions: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, why: str, count: int = 1) -> None:
        if count:
            self.skipped[why] = self.skipped.get(why, 0) + count

    def add(self, session: Session, scope: str, since: datetime | None) -> None:
        """The requests and conclusions of ``session`` (messages from ``since`` on)."""
        self.sessions += 1
        request: Message | None = None
        answer: Message | None = None

        def conclude() -> None:
            if answer is not None:
                kind = "decision" if DECISION.search(answer.text) else "outcome"
                self.memories.append(_memory(session, answer, kind, scope, request.text if request else None))

        for message in session.messages:
            if since is not None and (message.when is None or message.when < since):
                continue
            if message.role == "user":
                if not message.text:
                    self.skip("command or empty")
                    continue
                conclude()
                answer, request = None, message
                self.memories.append(_memory(session, message, "request", scope, None))
            elif message.text:
                answer = message  # the last text before the next request is the conclusion
        conclude()


def json_lines(path: Path) -> Generator[dict[str, Any]]:
    """The JSON objects of a JSON Lines file, one per line; a line that is not one (cut short, say) is passed over."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record


def in_project(folder: str | None, root: Path) -> bool:
    """Whether a session that ran in ``folder`` belongs to the project at ``root`` (it or a folder in it)."""
    if not folder:
        return False
    where = Path(folder)
    return where == root or root in where.parents


def parse_time(stamp: object) -> datetime | None:
    """An ISO 8601 string, or epoch milliseconds, as an aware datetime."""
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        return datetime.fromtimestamp(stamp / 1000, tz=UTC)
    if not isinstance(stamp, str):
        return None
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _memory(session: Session, message: Message, kind: str, scope: str, context: str | None) -> NewMemory:
    text = redact_transcript(message.text)
    if len(text) > MAX_MEMORY_CHARS:
        text = text[: MAX_MEMORY_CHARS - 20].rstrip() + " […cut at import]"
    return NewMemory(
        text,
        kind=kind,
        scope=scope,
        tags=(session.client, f"session-{session.id[:8]}"),
        source=f"{session.client} {session.file}#{message.id}",
        occurred_at=message.when,
        context=redact_transcript(context)[:MAX_MEMORY_CHARS] if context else None,
    )
