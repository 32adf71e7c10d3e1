"""strata-memory through real MCP sessions: in-process, a stdio subprocess, HTTP, two servers on one store."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from fastmcp.exceptions import ToolError

from strata.memory.server import create_server
from strata.memory.settings import MemorySettings
from strata.memory.sharing import Memory
from strata.shared.runner import Metrics, ServeOptions, build_http_app
from strata.shared.testing import serving

pytestmark = pytest.mark.anyio
STRATA_MEMORY = str(Path(sys.executable).parent / "strata-memory")
TOOLS = {"remember", "recall", "set_fact", "get_facts", "relate", "neighbors", "forget", "timeline", "stats",
         "check_anchors", "anchored_symbols", "import_sessions"}  # fmt: skip


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client[Any]]:
    memory = Memory(MemorySettings(store_dir=tmp_path / "store", default_scope="project:demo"))
    async with Client(create_server(memory, Metrics()), timeout=60) as connected:
        yield connected


def stdio_transport(store: Path, tmp_path: Path, name: str) -> StdioTransport:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")} | {"STRATA_HOME": str(tmp_path)}
    return StdioTransport(
        command=STRATA_MEMORY,
        args=["serve", "--store", str(store)],
        env=env,
        keep_alive=False,
        log_file=tmp_path / f"{name}.log",
    )


def content(result: Any) -> dict[str, Any]:
    assert result.structured_content is not None
    data: dict[str, Any] = result.structured_content
    return data


async def test_tools_are_few_short_and_annotated(client: Client[Any]) -> None:
    tools = {t.name: t for t in await client.list_tools()}
    assert set(tools) == TOOLS
    assert all(t.description and len(t.description) < 120 for t in tools.values())
    assert tools["recall"].annotations is not None and tools["recall"].annotations.read_only_hint
    assert tools["forget"].annotations is not None and tools["forget"].annotations.destructive_hint


async def test_remember_recall_and_facts_over_mcp(client: Client[Any]) -> None:
    stored = content(
        await client.call_tool("remember", {"text": "We picked Kuzu for the code graph", "kind": "decision"})
    )
    assert stored == {"id": "mem_1", "deduplicated": False, "indexed": True}
    found = content(await client.call_tool("recall", {"query": "which graph database did we choose?", "k": 3}))
    assert found["hits"][0]["id"] == "mem_1" and found["hits"][0]["scope"] == "project:demo"
    await client.call_tool(
        "set_fact",
        {"subject": "codegraph", "predicate": "store", "object": "Kuzu", "valid_from": "2025-01-01T00:00:00Z"},
    )
    changed = content(
        await client.call_tool("set_fact", {"subject": "codegraph", "predicate": "store", "object": "LadybugDB"})
    )
    assert changed["status"] == "created" and changed["superseded"] == ["fact_1"]
    then = content(await client.call_tool("get_facts", {"subject": "codegraph", "as_of": "2025-06-01T00:00:00Z"}))
    assert [f["object"] for f in then["facts"]] == ["Kuzu"]
    await client.call_tool("relate", {"source": "router", "relation": "calls", "target": "llm"})
    near = content(await client.call_tool("neighbors", {"entity": "llm"}))
    assert near["neighbors"][0]["entity"] == "router" and near["neighbors"][0]["direction"] == "in"
    events = content(await client.call_tool("timeline", {"limit": 10, "newest_first": False}))["events"]
    assert [e["event"] for e in events] == ["fact_started", "memory", "fact_ended", "fact_started", "fact_started"]
    gone = content(await client.call_tool("forget", {"ids": ["mem_1"], "reason": "test"}))
    assert gone["memories"] == 1
    assert content(await client.call_tool("stats", {}))["memories"] == 0


async def test_bad_inputs_are_clear_errors_and_store_nothing(client: Client[Any]) -> None:
    with pytest.raises(ToolError, match="text"):
        await client.call_tool("remember", {"text": "x" * 100_001})
    with pytest.raises(ToolError, match=r"^invalid_request: memory text has 9000 characters; the limit is 8000"):
        await client.call_tool("remember", {"text": "x" * 9000})
    with pytest.raises(ToolError, match="scope"):
        await client.call_tool("remember", {"text": "hi", "scope": "team:x"})
    with pytest.raises(ToolError, match="query"):
        await client.call_tool("recall", {"query": ""})
    with pytest.raises(ToolError, match=r"^invalid_request: recall query is empty"):
        await client.call_tool("recall", {"query": "   "})
    with pytest.raises(ToolError, match=r"^invalid_request: invalid time range"):
        await client.call_tool(
            "recall", {"query": "x", "since": "2025-02-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"}
        )
    with pytest.raises(ToolError, match="k"):
        await client.call_tool("recall", {"query": "x", "k": 100000})
    with pytest.raises(ToolError, match=r"^unknown_id: no entity named 'nobody'"):
        await client.call_tool("neighbors", {"entity": "nobody"})
    with pytest.raises(ToolError, match=r"^unknown_id: no memory 'mem_42'"):
        await client.call_tool("forget", {"ids": ["mem_42"]})
    with pytest.raises(ToolError, match="never forgets everything"):
        await client.call_tool("forget", {})
    assert content(await client.call_tool("stats", {}))["memories"] == 0


async def test_the_dates_and_forget_that_poisoned_a_store_are_refused_over_stdio(tmp_path: Path) -> None:
    """Issue 25, the exact inputs: a year-9999.99 occurred_at made the store unopenable; forget with a
    `since` at year 1 deleted every memory of every scope."""
    store = tmp_path / "store"
    async with Client(stdio_transport(store, tmp_path, "first"), timeout=120) as first:
        kept = content(await first.call_tool("remember", {"text": "keep me", "scope": "project:a"}))["id"]
        for when in ("9999-12-31T23:59:59.999999Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59"):
            with pytest.raises(ToolError, match=r"^invalid_arguments: occurred_at: .* is out of range"):
                await first.call_tool("remember", {"text": "far away", "occurred_at": when})
        with pytest.raises(ToolError, match=r"^invalid_arguments: since: .* is out of range"):
            await first.call_tool("forget", {"since": "0001-01-01T00:00:00Z"})
        with pytest.raises(ToolError, match=r"^invalid_request: this filter matches all 1 memories in every scope"):
            await first.call_tool("forget", {"since": "1970-01-01T00:00:00Z"})
        preview = content(await first.call_tool("forget", {"since": "1970-01-01T00:00:00Z", "dry_run": True}))
        assert preview["memories"] == 1 and preview["needs_all_in_scope"]
    async with Client(stdio_transport(store, tmp_path, "again"), timeout=120) as again:  # the store opens
        stats = content(await again.call_tool("stats", {}))
        assert (stats["memories"], stats["pending_index"], stats["unindexed"]) == (1, 0, 0)
        assert content(await again.call_tool("timeline", {}))["events"][0]["id"] == kept


async def test_stdio_session(tmp_path: Path) -> None:
    async with Client(stdio_transport(tmp_path / "store", tmp_path, "stdio"), timeout=60) as stdio:
        assert {t.name for t in await stdio.list_tools()} == TOOLS
        await stdio.call_tool("remember", {"text": "The CI runs on two cores", "tags": ["ci"]})
        hits = content(await stdio.call_tool("recall", {"query": "how many CPUs does continuous integration have?"}))
        assert hits["hits"][0]["text"] == "The CI runs on two cores"


async def test_http_session(tmp_path: Path) -> None:
    metrics = Metrics()
    memory = Memory(MemorySettings(store_dir=tmp_path / "store"))
    app = build_http_app(create_server(memory, metrics), ServeOptions(transport="http"), metrics)
    async with serving(app) as url, Client(f"{url}/mcp", timeout=60) as http:
        await http.call_tool("remember", {"text": "Release notes live in docs/changes.md"})
        hits = content(await http.call_tool("recall", {"query": "where is the changelog?"}))
        assert hits["hits"][0]["text"] == "Release notes live in docs/changes.md"


async def test_two_stdio_servers_share_one_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    async with (
        Client(stdio_transport(store, tmp_path, "first"), timeout=60) as first,
        Client(stdio_transport(store, tmp_path, "second"), timeout=60) as second,
    ):
        await first.call_tool("remember", {"text": "first session: the cache is Redis"})
        await second.call_tool("remember", {"text": "second session: the queue is NATS"})
        for client in (first, second):
            stats = content(await client.call_tool("stats", {}))
            assert stats["memories"] == 2
        hits = content(await second.call_tool("recall", {"query": "which cache do we use?"}))
        assert hits["hits"][0]["text"] == "first session: the cache is Redis"
    logs = (tmp_path / "first.log").read_text() + (tmp_path / "second.log").read_text()
    assert "memory_store_shared" in logs and "already accessed" not in logs


async def test_the_store_opens_in_the_background_and_a_first_call_waits_for_it(tmp_path: Path) -> None:
    import threading

    import anyio

    settings = MemorySettings(store_dir=tmp_path / "store")
    may_open = threading.Event()

    def slow_open() -> Memory:
        may_open.wait(30)  # as a cold embedder and index do
        return Memory(settings)

    async with Client(create_server(slow_open, Metrics(), settings), timeout=60) as client:
        assert len(await client.list_tools()) == len(TOOLS)  # answered before the store is open
        async with anyio.create_task_group() as group:
            results: list[Any] = []

            async def remember() -> None:
                results.append(await client.call_tool("remember", {"text": "deploys happen on Tuesdays"}))

            group.start_soon(remember)
            await anyio.sleep(0.3)
            assert not results  # waiting for the store
            may_open.set()
        assert results[0].structured_content["id"]

    def broken() -> Memory:
        raise OSError("the store directory is read-only")

    async with Client(create_server(broken, Metrics(), settings), timeout=60) as client:
        with pytest.raises(
            ToolError, match=r"^config_error: the memory store could not be opened \(OSError: the store"
        ):
            await client.call_tool("stats", {})


WINDOWS = 5
WRITES = 500


@pytest.mark.slow
async def test_five_agent_windows_write_500_memories_each_while_recalling_and_lose_nothing(tmp_path: Path) -> None:
    """Five stdio servers on one store, as five agent windows would start them: each writes 500 memories and
    recalls every tenth write. Every acknowledged memory is stored once, none is lost, no call fails on a lock,
    and each is recalled afterwards by the words only it holds."""
    import secrets

    import anyio

    store = tmp_path / "store"
    marks = [f"w{w}x{secrets.token_hex(3)}" for w in range(WINDOWS)]  # a word only this window's memories hold
    written: dict[str, str] = {}  # memory id -> its unique words
    errors: list[str] = []

    async def window(w: int, client: Client[Any]) -> None:
        for i in range(WRITES):
            words = f"{marks[w]} n{i}q{secrets.token_hex(2)}"
            text = f"window {w} decision {i}: {words} keeps its sessions in the {('cache', 'queue', 'db')[i % 3]}"
            result = await client.call_tool("remember", {"text": text, "kind": "decision"}, raise_on_error=False)
            if result.is_error:
                errors.append(str(result.content))
                continue
            written[content(result)["id"]] = words
            if i % 10 == 9:
                hits = await client.call_tool(
                    "recall", {"query": "where are sessions kept?", "k": 3}, raise_on_error=False
                )
                if hits.is_error:
                    errors.append(str(hits.content))

    clients = [Client(stdio_transport(store, tmp_path, f"window-{w}"), timeout=120) for w in range(WINDOWS)]
    async with clients[0], clients[1], clients[2], clients[3], clients[4]:
        async with anyio.create_task_group() as group:
            for w, client in enumerate(clients):
                group.start_soon(window, w, client)
        assert errors == []
        assert len(written) == WINDOWS * WRITES  # every write acknowledged with its own id
        assert content(await clients[1].call_tool("stats", {}))["memories"] == WINDOWS * WRITES
        missed = []
        for memory_id, words in written.items():
            hits = content(await clients[len(missed) % WINDOWS].call_tool("recall", {"query": words, "k": 3}))
            if memory_id not in [hit["id"] for hit in hits["hits"]]:
                missed.append((memory_id, words))
        assert missed == []
    logs = "".join((tmp_path / f"window-{w}.log").read_text() for w in range(WINDOWS))
    assert "already accessed" not in logs and "database is locked" not in logs


async def test_memories_anchored_to_code_are_marked_when_it_changes_and_cleared_when_it_is_back(
    client: Client[Any],
) -> None:
    about = ["acme.auth.sso.sso_authenticate", "acme.auth.ldap_helper.ldap_authenticate"]
    anchors = {about[0]: "1111aaaa2222bbbb", about[1]: "3333cccc4444dddd"}
    decided = content(await client.call_tool("remember", {
        "text": "We moved every login from ldap_authenticate to sso_authenticate", "kind": "decision",
        "about": about, "anchors": anchors,
    }))  # fmt: skip
    plain = content(await client.call_tool("remember", {"text": "The staging password rotates every Monday"}))
    listed = content(await client.call_tool("anchored_symbols", {}))
    assert listed["symbols"] == sorted(about) and listed["memories"] == 2

    unchanged = content(await client.call_tool("check_anchors", {"symbols": anchors}))
    assert unchanged["anchors"] == 2 and unchanged["marked"] == []
    checked = content(await client.call_tool("check_anchors", {"symbols": {about[0]: "9999eeee", about[1]: None}}))
    [mark] = checked["marked"]
    assert mark["id"] == decided["id"] and sorted(mark["reasons"]) == [
        f"{about[1]} is no longer in the code", f"the code of {about[0]} changed since this was written",
    ]  # fmt: skip
    hits = {h["id"]: h for h in content(await client.call_tool("recall", {"query": "how do people log in?"}))["hits"]}
    assert len(hits[decided["id"]]["needs_review"]) == 2 and hits[plain["id"]]["needs_review"] == []

    back = content(await client.call_tool("check_anchors", {"symbols": anchors}))  # the code was restored
    assert back["cleared"] == 2 and back["marked"] == []
    hits = {h["id"]: h for h in content(await client.call_tool("recall", {"query": "how do people log in?"}))["hits"]}
    assert hits[decided["id"]]["needs_review"] == []

    for bad, match in (
        ({"text": "x", "about": [about[0]], "anchors": {about[1]: "1111aaaa"}}, "not about"),
        ({"text": "x", "about": [about[0]], "anchors": {about[0]: "NOT-HEX"}}, "anchors"),
    ):
        with pytest.raises(ToolError, match=match):
            await client.call_tool("remember", bad)
    with pytest.raises(ToolError, match="symbols"):
        await client.call_tool("check_anchors", {"symbols": {}})
    await client.call_tool("forget", {"ids": [decided["id"]]})
    assert content(await client.call_tool("anchored_symbols", {}))["symbols"] == []


async def test_import_sessions_over_mcp_stores_a_claude_code_and_a_codex_session_once(
    client: Client[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    project = tmp_path / "shop"
    project.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    sessions = tmp_path / "claude" / "projects" / "-shop"
    sessions.mkdir(parents=True)
    lines = [  # Claude Code's line format (a real session is imported in orchestrator/tests/test_real_clients.py)
        {"type": "user", "message": {"role": "user", "content": "Which queue do we use?"}},
        {"type": "assistant", "message": {"role": "assistant", "content": [{"type": "text", "text": "We decided on NATS."}]}},
    ]  # fmt: skip
    (sessions / "s1.jsonl").write_text("".join(
        json.dumps({**line, "uuid": f"u{n}", "sessionId": "s1", "cwd": str(project), "timestamp": "2026-11-02T10:00:00Z"}) + "\n"
        for n, line in enumerate(lines)
    ))  # fmt: skip
    first = content(await client.call_tool("import_sessions", {"project": str(project)}))
    assert (first["sessions"], first["new"], first["duplicates"]) == (1, 2, 0)
    again = content(await client.call_tool("import_sessions", {"project": str(project)}))
    assert (again["new"], again["duplicates"]) == (0, 2)
    hits = content(await client.call_tool("recall", {"query": "which queue?", "scopes": ["project:shop"]}))["hits"]
    assert {h["kind"] for h in hits} == {"decision", "request"}
    with pytest.raises(ToolError, match="project"):
        await client.call_tool("import_sessions", {"project": "relative/path"})

    # Codex's rollout format (a real one is imported in test_real_clients.py), and a client it cannot read.
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    rollout = tmp_path / "codex" / "sessions" / "2026" / "11" / "03" / "rollout-2026-11-03T10-00-00-c1.jsonl"
    rollout.parent.mkdir(parents=True)
    said = [("UserMessage", "user1", "Which cache do we use?"), ("AgentMessage", "msg1", "We chose Redis 7.")]
    rollout.write_text("".join(json.dumps(line) + "\n" for line in [
        {"timestamp": "2026-11-03T10:00:00Z", "type": "session_meta", "payload": {"id": "c1", "cwd": str(project)}},
        *({"timestamp": "2026-11-03T10:00:01Z", "type": "event_msg", "payload": {"type": "item_completed", "item": {
            "type": kind, "id": id_, "content": [{"type": "text", "text": text}]}}} for kind, id_, text in said),
    ]))  # fmt: skip
    codex = content(await client.call_tool("import_sessions", {"project": str(project), "client": "codex"}))
    assert (codex["sessions"], codex["new"]) == (1, 2)
    with pytest.raises(ToolError, match="client"):
        await client.call_tool("import_sessions", {"project": str(project), "client": "cursor"})
