"""What an import keeps of a coding agent's sessions: requests, conclusions and decisions; never tool output,
system text, sub-agent turns or secrets. (Each real client's own transcript is imported in orchestrator/tests/
test_real_clients.py; these follow each format for the cases one short session does not hold.)"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from strata.memory.transcripts import read_sessions, redact_transcript
from strata.shared.errors import InvalidRequestError


def _line(kind: str, content: object, n: int, cwd: Path, **extra: object) -> str:
    return json.dumps({"type": kind, "uuid": f"u{n}", "sessionId": "s1234567", "cwd": str(cwd),
                       "timestamp": f"2026-11-0{n}T10:00:00Z", "message": {"role": kind, "content": content}, **extra})  # fmt: skip


def test_requests_conclusions_and_decisions_are_kept_and_the_rest_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    folder = tmp_path / "claude" / "projects" / "-shop"
    folder.mkdir(parents=True)
    lines = [
        _line("user", "<system-reminder>ignore me</system-reminder>Move the cache to Redis", 1, project),
        _line("assistant", [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}}], 2, project),
        _line("user", [{"type": "tool_result", "tool_use_id": "t1", "content": "secret tool output"}], 3, project),
        _line("assistant", [{"type": "text", "text": "Looking."}], 4, project),
        _line(
            "assistant",
            [{"type": "text", "text": "Let's go with Redis 7; token ghp_abcdefghijklmnopqrstuvwx12"}],
            5,
            project,
        ),
        _line("user", "sub-agent chatter", 6, project, isSidechain=True),
        _line("user", "Another project's request", 7, tmp_path / "elsewhere"),
    ]
    (folder / "s1234567.jsonl").write_text("\n".join(lines) + "\nnot json\n")
    found = read_sessions("claude-code", project, "project:shop")
    assert [(m.kind, m.text) for m in found.memories] == [
        ("request", "Move the cache to Redis"),
        ("decision", "Let's go with Redis 7; token ***"),  # the last text before the next request, not "Looking."
    ]
    assert (
        found.memories[1].context == "Move the cache to Redis"
        and found.memories[1].source == "claude-code s1234567.jsonl#u5"
    )
    assert found.skipped == {"tool output": 1, "sub-agent message": 1} and found.sessions == 1
    later = read_sessions("claude-code", project, "project:shop", since=found.memories[1].occurred_at)
    assert [m.kind for m in later.memories] == ["decision"]


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("db at postgres://admin:hunter2@db:5432/app", "db at postgres://admin:***@db:5432/app"),
        ("key sk-ant-api03-abcdefghijklmnopqrstuvwx here", "key *** here"),
        ("aws AKIAABCDEFGHIJKLMNOP", "aws ***"),
        ("password=opensesame", "password=***"),
    ],
)
def test_transcript_secrets_are_redacted(text: str, kept: str) -> None:
    assert redact_transcript(text) == kept


def _jsonl(path: Path, records: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_codex_2025_rollouts_are_read_from_their_message_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Codex before the 2026 item events: user_message / agent_message (the real 2026 form is in test_real_clients)."""
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    project = tmp_path / "shop"
    day = tmp_path / "codex" / "sessions" / "2025" / "10" / "29"

    def event(line_type: str, **payload: object) -> dict[str, object]:
        return {"timestamp": "2025-10-29T00:59:38Z", "type": line_type, "payload": payload}

    _jsonl(day / "rollout-2025-10-29T00-59-38-abc.jsonl", [
        event("session_meta", id="abc12345", cwd=str(project / "api"), source="cli"),
        event("response_item", type="message", role="user", content=[{"type": "input_text", "text": "<environment_context>x"}]),
        event("event_msg", type="user_message", message="Use Redis for the cache", kind="plain"),
        event("response_item", type="function_call_output", call_id="c1", output="secret tool output"),
        event("event_msg", type="agent_message", message="Done: we chose Redis 7."),
    ])  # fmt: skip
    _jsonl(day / "rollout-2025-10-29T01-00-00-sub.jsonl", [
        event("session_meta", id="sub", cwd=str(project), source={"subagent": "review"}),
        event("event_msg", type="user_message", message="review this"),
    ])  # fmt: skip
    found = read_sessions("codex", project, "project:shop")
    assert [(m.kind, m.text, m.source) for m in found.memories] == [
        ("request", "Use Redis for the cache", "codex rollout-2025-10-29T00-59-38-abc.jsonl#line-2"),
        ("decision", "Done: we chose Redis 7.", "codex rollout-2025-10-29T00-59-38-abc.jsonl#line-4"),
    ]
    assert found.skipped == {"tool output": 1, "sub-agent session": 1} and found.sessions == 1


def test_gemini_chats_are_read_back_as_the_cli_reads_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rewound message is gone and a replaced one counts once; an older chat (one .json, its folder named by the
    project's hash) is found by that hash."""
    monkeypatch.setenv("GEMINI_CLI_HOME", str(tmp_path))
    project = tmp_path / "shop"
    chats = tmp_path / ".gemini" / "tmp" / "shop" / "chats"
    (tmp_path / ".gemini" / "tmp" / "shop").mkdir(parents=True)
    (tmp_path / ".gemini" / "tmp" / "shop" / ".project_root").write_text(str(project))

    def message(n: int, kind: str, content: object, **extra: object) -> dict[str, object]:
        return {"id": f"m{n}", "timestamp": f"2026-11-0{n}T10:00:00Z", "type": kind, "content": content, **extra}

    _jsonl(chats / "session-2026-11-01T10-00-aaaa1111.jsonl", [
        {"sessionId": "aaaa1111", "projectHash": "x", "kind": "main"},
        {"$set": {"messages": [message(1, "user", [{"text": "<session_context>the CLI's own"}])]}},
        message(2, "user", [{"text": "Pick a queue"}]),
        message(3, "gemini", "Thinking…"),
        message(3, "gemini", "Let's use SQS.", toolCalls=[{"id": "t", "name": "run_shell_command", "result": "out"}]),
        message(4, "user", [{"text": "No, Kafka"}]),
        message(5, "gemini", "Kafka then"),
        {"$rewindTo": "m4"},
        message(6, "user", "/stats"),
    ])  # fmt: skip
    digest = hashlib.sha256(str(project).encode()).hexdigest()
    old = tmp_path / ".gemini" / "tmp" / digest / "chats" / "session-2025-06-01T10-00-bbbb2222.json"
    old.parent.mkdir(parents=True)
    old.write_text(json.dumps({"sessionId": "bbbb2222", "projectHash": digest, "messages": [
        message(7, "user", "Rename the service"), message(8, "gemini", "Renamed it to billing.")]}))  # fmt: skip
    found = read_sessions("gemini", project, "project:shop")
    assert [(m.kind, m.text) for m in found.memories] == [
        ("request", "Rename the service"),  # the hash-named folder sorts first
        ("outcome", "Renamed it to billing."),
        ("request", "Pick a queue"),
        ("decision", "Let's use SQS."),
    ]
    assert found.skipped == {"tool output": 1, "command or empty": 1} and found.sessions == 2


def test_opencode_sessions_come_from_its_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Text OpenCode wrote itself (synthetic) and sub-agent sessions are left out; a database of another layout is
    a clear error, not an empty import."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    project = tmp_path / "shop"
    (tmp_path / "opencode").mkdir()
    with closing(sqlite3.connect(tmp_path / "opencode" / "opencode.db")) as db, db:
        db.execute("CREATE TABLE session (id, directory, parent_id, time_created)")
        db.execute("CREATE TABLE message (id, session_id, time_created, data)")
        db.execute("CREATE TABLE part (id, message_id, session_id, time_created, data)")
        db.executemany("INSERT INTO session VALUES (?, ?, ?, ?)",
                       [("s1", str(project), None, 1), ("s2", str(project), "s1", 2), ("s3", "/elsewhere", None, 3)])  # fmt: skip
        db.executemany("INSERT INTO message VALUES (?, ?, ?, ?)", [
            ("m1", "s1", 1796000000000, '{"role": "user"}'), ("m2", "s1", 1796000001000, '{"role": "assistant"}'),
            ("m3", "s2", 1796000002000, '{"role": "user"}')])  # fmt: skip
        db.executemany("INSERT INTO part VALUES (?, ?, ?, ?, ?)", [
            ("p1", "m1", "s1", 1, '{"type": "text", "text": "Split the monolith"}'),
            ("p2", "m1", "s1", 2, '{"type": "text", "text": "Called the tool", "synthetic": true}'),
            ("p3", "m2", "s1", 3, '{"type": "tool", "state": {"output": "secret tool output"}}'),
            ("p4", "m2", "s1", 4, '{"type": "text", "text": "We agreed on three services."}'),
            ("p5", "m3", "s2", 5, '{"type": "text", "text": "sub-agent"}')])  # fmt: skip
    found = read_sessions("opencode", project, "project:shop")
    assert [(m.kind, m.text, m.source) for m in found.memories] == [
        ("request", "Split the monolith", "opencode opencode.db:s1#m1"),
        ("decision", "We agreed on three services.", "opencode opencode.db:s1#m2"),
    ]
    assert found.skipped == {"tool output": 1, "sub-agent session": 1}
    assert found.memories[0].occurred_at is not None and found.memories[0].occurred_at.year == 2026

    (tmp_path / "opencode" / "opencode.db").unlink()
    with closing(sqlite3.connect(tmp_path / "opencode" / "opencode.db")) as db, db:
        db.execute("CREATE TABLE sessions (id)")
    with pytest.raises(InvalidRequestError, match="cannot read OpenCode's sessions"):
        read_sessions("opencode", project, "project:shop")


def test_an_unknown_client_is_named() -> None:
    with pytest.raises(InvalidRequestError, match="cannot import from 'cursor'; known: claude-code, codex"):
        read_sessions("cursor", Path("."), "project:x")
