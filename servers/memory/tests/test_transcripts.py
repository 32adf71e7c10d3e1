"""What an import keeps of a Claude Code session: requests, conclusions and decisions; never tool output, system
text, sub-agent turns or secrets. (The real client's own transcript is imported in orchestrator/tests/
test_real_clients.py; these lines follow its format for the cases one short session does not hold.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strata.memory.transcripts import claude_code_sessions, redact_transcript


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
    found = claude_code_sessions(project, "project:shop")
    assert [(m.kind, m.text) for m in found.memories] == [
        ("request", "Move the cache to Redis"),
        ("decision", "Let's go with Redis 7; token ***"),  # the last text before the next request, not "Looking."
    ]
    assert (
        found.memories[1].context == "Move the cache to Redis"
        and found.memories[1].source == "claude-code s1234567.jsonl#u5"
    )
    assert found.skipped == {"tool output": 1, "sub-agent message": 1} and found.sessions == 1
    later = claude_code_sessions(project, "project:shop", since=found.memories[1].occurred_at)
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
