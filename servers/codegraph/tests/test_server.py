"""strata-codegraph through real MCP sessions: a stdio subprocess and HTTP."""

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from fastmcp.exceptions import ToolError

from strata.codegraph.server import create_server
from strata.codegraph.service import CodeGraph
from strata.shared.runner import Metrics, ServeOptions, build_http_app
from strata.shared.testing import serving

pytestmark = pytest.mark.anyio
STRATA_CODEGRAPH = str(Path(sys.executable).parent / "strata-codegraph")


@pytest.fixture
async def stdio(repo: Path, tmp_path: Path) -> AsyncIterator[Client[Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")} | {"STRATA_HOME": str(tmp_path)}
    transport = StdioTransport(
        command=STRATA_CODEGRAPH,
        args=["serve", "--repo", str(repo)],
        env=env,
        keep_alive=False,
        log_file=tmp_path / "stdio.log",
    )
    async with Client(transport, timeout=60) as client:
        yield client


async def test_tools_are_listed_compactly_with_annotations(stdio: Client[Any]) -> None:
    tools = {t.name: t for t in await stdio.list_tools()}
    assert set(tools) == {
        "search_symbols",
        "get_symbol",
        "symbol_hashes",
        "find_callers",
        "find_callees",
        "find_references",
        "file_outline",
        "impact",
        "cypher",
        "list_routes",
        "task_context",
        "index_status",
        "reindex",
    }
    assert all(t.description and len(t.description) < 200 for t in tools.values())
    assert tools["find_callers"].annotations is not None and tools["find_callers"].annotations.read_only_hint
    assert tools["reindex"].annotations is not None and not tools["reindex"].annotations.read_only_hint


async def test_stdio_search_and_callers(stdio: Client[Any]) -> None:
    found = (await stdio.call_tool("search_symbols", {"query": "ldap_auth"})).structured_content
    assert found is not None and found["items"][0]["id"] == "app.auth.ldap.ldap_authenticate"
    callers = await stdio.call_tool("find_callers", {"symbol": "app.auth.ldap.ldap_authenticate", "depth": 3})
    assert callers.structured_content is not None
    assert [c["caller"] for c in callers.structured_content["items"]] == [
        "app.views.login_view",
        "app.views.admin_view",
    ]


async def test_stdio_bad_inputs_are_clear_errors(stdio: Client[Any]) -> None:
    with pytest.raises(ToolError, match=r"^symbol_not_found: no symbol 'nope'"):
        await stdio.call_tool("get_symbol", {"symbol": "nope"})
    with pytest.raises(ToolError, match=r"^ambiguous: 'login' names 3 symbols"):
        await stdio.call_tool("find_callees", {"symbol": "login"})
    with pytest.raises(ToolError, match=r"^path_outside_repo: \.\./\.\./etc/passwd is outside"):
        await stdio.call_tool("file_outline", {"file": "../../etc/passwd"})
    with pytest.raises(ToolError, match="limit"):
        await stdio.call_tool("search_symbols", {"query": "a", "limit": 100000})
    with pytest.raises(ToolError, match="depth"):
        await stdio.call_tool("find_callers", {"symbol": "app.views.login_view", "depth": 9})
    assert (await stdio.call_tool("index_status", {})).structured_content is not None  # still serving


async def test_http_reindex_then_query(repo: Path) -> None:
    metrics = Metrics()
    server = create_server(CodeGraph(repo, repo / ".strata"), metrics)
    app = build_http_app(server, ServeOptions(transport="http"), metrics)
    async with serving(app) as url, Client(f"{url}/mcp", timeout=60) as client:
        unchanged = (await client.call_tool("reindex", {})).structured_content
        assert unchanged is not None and unchanged["up_to_date"]
        summary = (await client.call_tool("reindex", {"force": True})).structured_content
        assert summary is not None
        assert (summary["files"], summary["call_sites"], summary["unresolved_call_sites"]) == (5, 7, 0)
        assert summary["ambiguous_call_sites"] == 0
        outline = (await client.call_tool("file_outline", {"file": "app/views.py"})).structured_content
        assert outline is not None
        assert [s["id"] for s in outline["items"]][:2] == ["app.views.login_view", "app.views.admin_view"]


async def test_watch_reindexes_when_a_file_changes(tmp_path: Path) -> None:
    import anyio

    (tmp_path / "one.py").write_text("def one():\n    pass\n")
    graph = CodeGraph(tmp_path, tmp_path / ".strata")
    graph.reindex()
    server = create_server(graph, Metrics(), watch=True, debounce_ms=100)
    async with Client(server) as client:
        await anyio.sleep(0.5)  # let the watcher start
        (tmp_path / "two.py").write_text("def two():\n    one()\n")
        with anyio.fail_after(30):
            while True:
                found = (await client.call_tool("search_symbols", {"query": "two"})).structured_content
                assert found is not None
                if found["total"]:
                    break
                await anyio.sleep(0.1)
        callees = (await client.call_tool("find_callees", {"symbol": "two.two"})).structured_content
        assert callees is not None and callees["items"] == []  # one() lives in another module, not imported


async def test_two_servers_on_one_repository_both_answer_while_it_is_reindexed(repo: Path, tmp_path: Path) -> None:
    import subprocess

    import anyio

    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")} | {"STRATA_HOME": str(tmp_path)}

    def transport(n: int) -> StdioTransport:
        return StdioTransport(
            command=STRATA_CODEGRAPH,
            args=["serve", "--repo", str(repo)],
            env=env,
            keep_alive=False,
            log_file=tmp_path / f"server{n}.log",
        )

    async with Client(transport(1), timeout=60) as first, Client(transport(2), timeout=60) as second:
        for client in (first, second):
            found = (await client.call_tool("search_symbols", {"query": "ldap_authenticate"})).structured_content
            assert found is not None and found["total"] == 1
        # a third process rebuilds the index under both of them: no lock error, and both see it
        await anyio.to_thread.run_sync(
            lambda: subprocess.run([STRATA_CODEGRAPH, "index", str(repo)], check=True, capture_output=True, env=env)
        )
        for client in (first, second):
            status = (await client.call_tool("index_status", {})).structured_content
            assert status is not None and status["symbols"] == 16
    assert "lock" not in (tmp_path / "server1.log").read_text().lower()


async def test_a_registered_serve_indexes_on_start_and_answers_the_first_question(tmp_path: Path) -> None:
    """No index yet: the server builds it in the background; the first question waits for it (a small repository)
    instead of answering not_indexed, and the index directory never shows in `git status`."""
    import anyio

    from .conftest import REPO, write_tree

    repo = tmp_path / "fresh"
    write_tree(repo, REPO)
    await anyio.run_process(["git", "init", "-q", str(repo)])
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")} | {"STRATA_HOME": str(tmp_path)}
    transport = StdioTransport(
        command=STRATA_CODEGRAPH, args=["serve", "--repo", str(repo)], env=env, keep_alive=False,
        log_file=tmp_path / "fresh.log",
    )  # fmt: skip
    async with Client(transport, timeout=60) as client:
        found = (await client.call_tool("search_symbols", {"query": "ldap_authenticate"})).structured_content
        assert found is not None and found["total"] == 1
        status = (await client.call_tool("index_status", {})).structured_content
        assert status is not None and (status["state"], status["progress"], status["symbols"]) == ("ready", "", 16)
    assert (repo / ".strata" / ".gitignore").read_text().endswith("*\n")
    untracked = (await anyio.run_process(["git", "status", "--porcelain"], cwd=repo)).stdout.decode()
    assert untracked and ".strata" not in untracked
    assert '"on": true' in (tmp_path / "fresh.log").read_text() or "on=True" in (tmp_path / "fresh.log").read_text()


async def test_reindex_reports_its_steps_as_progress_when_asked(repo: Path) -> None:
    steps: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        steps.append((done, total, message))

    server = create_server(CodeGraph(repo, repo / ".strata"), Metrics(), watch=False)
    async with Client(server, progress_handler=progress, timeout=60) as client:
        summary = (await client.call_tool("reindex", {"force": True})).structured_content
        assert summary is not None and summary["files"] == 5
    from strata.codegraph.index import INDEX_STEPS

    assert [message for _, _, message in steps] == list(INDEX_STEPS)
    assert [(done, total) for done, total, _ in steps] == [(i, len(INDEX_STEPS)) for i in range(len(INDEX_STEPS))]
