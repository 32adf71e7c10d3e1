"""OpenCode (1.x) keeps every session in one SQLite database, ``~/.local/share/opencode/opencode.db``
(``XDG_DATA_HOME`` moves ``~/.local/share``; the JSON files of older versions are moved into it on start).
``session`` rows hold the working ``directory`` and a ``parent_id`` for a sub-agent's session; ``message`` rows
hold ``{"role": …}`` as JSON in ``data``; ``part`` rows hold a message's pieces: ``text`` (``synthetic`` when
OpenCode wrote it itself), ``reasoning``, ``tool`` (the call and its output), ``file``, step marks. The database is
opened read-only; OpenCode may be writing to it."""

from __future__ import annotations

import os
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

from strata.memory.transcripts.common import Message, Session, Transcripts, in_project, parse_time
from strata.shared.errors import InvalidRequestError

MAX_PART_CHARS = 64_000  # a text part is read up to this (a memory keeps 4,000)


def database() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "opencode" / "opencode.db"


def sessions(root: Path, out: Transcripts) -> Iterator[Session]:
    """OpenCode's sessions whose directory is ``root`` (or a folder in it)."""
    path = database()
    if not path.is_file():
        return
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=10)) as db:
            rows = db.execute("SELECT id, directory, parent_id FROM session ORDER BY time_created, id").fetchall()
            for session_id, directory, parent in rows:
                if not in_project(directory, root):
                    continue
                if parent:
                    out.skip("sub-agent session")
                    continue
                yield _session(db, path, str(session_id), out)
    except sqlite3.Error as exc:
        raise InvalidRequestError(f"cannot read OpenCode's sessions in {path}: {exc}") from exc


def _session(db: sqlite3.Connection, path: Path, session_id: str, out: Transcripts) -> Session:
    texts: dict[str, list[str]] = defaultdict(list)
    query = (
        "SELECT message_id, json_extract(data, '$.type'), substr(json_extract(data, '$.text'), 1, ?),"
        " coalesce(json_extract(data, '$.synthetic'), 0) OR coalesce(json_extract(data, '$.ignored'), 0)"
        " FROM part WHERE session_id = ? AND json_valid(data) ORDER BY time_created, id"
    )
    for message_id, kind, text, injected in db.execute(query, (MAX_PART_CHARS, session_id)):
        if kind == "tool":
            out.skip("tool output")
        elif kind == "text" and isinstance(text, str) and not injected:
            texts[message_id].append(text)
    session = Session("opencode", f"{path.name}:{session_id}", session_id)
    query = (
        "SELECT id, time_created, json_extract(data, '$.role') FROM message WHERE session_id = ? AND json_valid(data)"
        " ORDER BY time_created, id"
    )
    for message_id, created, role in db.execute(query, (session_id,)):
        if role in ("user", "assistant"):
            text = "\n".join(texts[message_id]).strip()
            session.messages.append(Message("user" if role == "user" else "assistant", text, str(message_id),
                                            parse_time(created)))  # fmt: skip
    return session
