"""The event thread: the next step, the approval pause and resume, all derived from saved events."""

from __future__ import annotations

from pathlib import Path

import pytest

from strata.orchestrator.agent.thread import STEPS, Thread, ThreadOptions, load_thread, thread_dir


def test_next_step_and_pause_are_derived_from_the_events(tmp_path: Path) -> None:
    thread = Thread.start("move logins to SSO", tmp_path, ThreadOptions())
    assert thread.next_step() == "recall" and not thread.finished
    for step in STEPS[: STEPS.index("approval")]:
        thread.add("step_done", step, {"summary": step})
    assert thread.next_step() == "approval" and not thread.awaiting_approval
    thread.add("awaiting_approval", "approval", {"files": ["a.py"]})
    assert thread.awaiting_approval
    path = thread.save(thread_dir(tmp_path))
    assert path == tmp_path / ".strata" / "threads" / f"{thread.id}.json"

    again = load_thread(tmp_path, thread.id)  # what another process sees
    assert again.awaiting_approval and again.next_step() == "approval"
    again.add("approval", "approval", {"approved": True, "by": "test"})
    assert not again.awaiting_approval
    again.add("step_done", "approval", {"summary": "approved", "approved": True})
    assert again.next_step() == "apply" and again.result("approval")["approved"] is True
    assert again.result("apply") == {}


def test_trace_file_totals_the_tool_calls(tmp_path: Path) -> None:
    thread = Thread.start("x", tmp_path, ThreadOptions())
    thread.add("tool_call", "plan", {"server": "router", "tool": "complete", "latency_ms": 5.0, "tokens_in": 10,
                                     "tokens_out": 3, "cost_usd": 0.001, "outcome": "ok"})  # fmt: skip
    thread.add("tool_call", "recall", {"server": "memory", "tool": "recall", "latency_ms": 2.5, "tokens_in": 4,
                                       "tokens_out": 8, "outcome": "ok", "result": {"big": 1}})  # fmt: skip
    trace = thread.trace()
    assert trace["totals"] == {"latency_ms": 7.5, "tokens_in": 14, "tokens_out": 11, "cost_usd": 0.001}
    assert [c["tool"] for c in trace["calls"]] == ["complete", "recall"] and "result" not in trace["calls"][1]


def test_load_refuses_bad_ids_and_names_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a thread id"):
        load_thread(tmp_path, "../../etc/passwd")
    with pytest.raises(FileNotFoundError, match=str(thread_dir(tmp_path))):
        load_thread(tmp_path, "t-20260101-000000-abcdef")
