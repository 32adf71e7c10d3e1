"""The MCP surface of strata-codegraph: each tool is one call into CodeGraph."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import anyio.from_thread
import anyio.to_thread
from fastmcp import Context, FastMCP
from mcp.types import ToolAnnotations
from pydantic import Field

from strata.codegraph.index import INDEX_STEPS, IndexSummary
from strata.codegraph.service import (
    CallList,
    CodeGraph,
    FileOutline,
    Impact,
    IndexStatus,
    QueryResult,
    ReferenceList,
    RouteList,
    SymbolDetail,
    SymbolHashes,
    SymbolList,
    TaskContext,
)
from strata.codegraph.watch import Watcher
from strata.shared.log import get_logger
from strata.shared.runner import Metrics, create_mcp

__all__ = ["create_server"]

log = get_logger("strata.codegraph.server")

VERSION = "0.1.0"
INSTRUCTIONS = (
    "Code graph of one repository (Python, JS/TS, Go, Rust, Java). Find symbols with search_symbols, read one with "
    "get_symbol, walk calls with find_callers/find_callees. Ids are fully qualified (pkg.mod.Class.method)."
)
READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
WRITES_INDEX = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)

SymbolArg = Annotated[str, Field(min_length=1, max_length=500, description="Symbol id, or a unique name")]
Limit = Annotated[int, Field(ge=1, le=500, description="Most results to return")]
Depth = Annotated[int, Field(ge=1, le=5, description="Call hops to follow")]
SymbolKind = Literal["module", "class", "interface", "function", "method", "lambda", "constant", "field"]


def create_server(graph: CodeGraph, metrics: Metrics, *, watch: bool = True, debounce_ms: int = 500) -> FastMCP:
    """Build the strata-codegraph MCP server over ``graph``: it indexes in the background from the start and, with
    ``watch``, reindexes on file changes."""

    @asynccontextmanager
    async def lifespan(_: FastMCP) -> AsyncIterator[dict[str, Any]]:
        # The index is built (or brought up to date) in the background from the start: the first question is
        # answered from it as soon as it exists, and index_status says how far it is until then.
        watcher = Watcher(graph, debounce_ms) if watch else None
        if watcher is not None:
            watcher.start()
        else:
            threading.Thread(target=_index_once, args=(graph,), name="codegraph-index", daemon=True).start()
        try:
            yield {}
        finally:
            if watcher is not None:
                watcher.stop()
            graph.interrupt()
            graph.close()

    mcp = create_mcp("strata-codegraph", version=VERSION, instructions=INSTRUCTIONS, metrics=metrics, lifespan=lifespan)

    @mcp.tool(annotations=READ_ONLY)
    def search_symbols(
        query: Annotated[str, Field(min_length=1, max_length=200, description="Part of a name or id")],
        kinds: Annotated[list[SymbolKind], Field(max_length=5)] | None = None,
        limit: Limit = 20,
    ) -> SymbolList:
        """Find symbols by name; exact names first."""
        return graph.search(query, list(kinds or []), limit)

    @mcp.tool(annotations=READ_ONLY)
    def get_symbol(
        symbol: SymbolArg,
        max_lines: Annotated[int, Field(ge=1, le=2000)] = 200,
    ) -> SymbolDetail:
        """A symbol's location, bases and source (cut at max_lines)."""
        return graph.get_symbol(symbol, max_lines)

    @mcp.tool(annotations=READ_ONLY)
    def symbol_hashes(
        symbols: Annotated[
            list[Annotated[str, Field(min_length=1, max_length=1000)]],
            Field(min_length=1, max_length=500, description="Exact symbol ids"),
        ],
    ) -> SymbolHashes:
        """Each symbol's content hash now, or exists=false: what memories about code keep to notice changes."""
        return graph.symbol_hashes(symbols)

    @mcp.tool(annotations=READ_ONLY)
    def find_callers(symbol: SymbolArg, depth: Depth = 1, limit: Limit = 50) -> CallList:
        """Who calls this symbol, up to depth hops. candidates>1: that call site may reach other targets too."""
        return graph.calls(symbol, "callers", depth, limit)

    @mcp.tool(annotations=READ_ONLY)
    def find_callees(symbol: SymbolArg, depth: Depth = 1, limit: Limit = 50) -> CallList:
        """What this symbol calls, up to depth hops, with external and builtin targets."""
        return graph.calls(symbol, "callees", depth, limit)

    @mcp.tool(annotations=READ_ONLY)
    def find_references(symbol: SymbolArg, limit: Limit = 100) -> ReferenceList:
        """Every place that uses this symbol: calls, callbacks, isinstance checks, types, imports."""
        return graph.references(symbol, limit)

    @mcp.tool(annotations=READ_ONLY)
    def impact(symbol: SymbolArg, depth: Depth = 3, limit: Limit = 200) -> Impact:
        """Transitive callers grouped by file: what a change to this symbol can break."""
        return graph.impact(symbol, depth, limit)

    @mcp.tool(annotations=READ_ONLY)
    def task_context(
        task: Annotated[str, Field(min_length=1, max_length=2000, description="What you are about to do")],
        max_tokens: Annotated[int, Field(ge=200, le=64000)] = 4000,
    ) -> TaskContext:
        """Source of the symbols most relevant to a task (text match + call graph), within max_tokens."""
        return graph.task_context(task, max_tokens)

    @mcp.tool(annotations=READ_ONLY)
    def list_routes(
        path: Annotated[str, Field(max_length=500, description="Part of the URL path; empty for all")] = "",
        method: Annotated[str | None, Field(max_length=10, description="GET, POST, ...")] = None,
        limit: Limit = 100,
    ) -> RouteList:
        """HTTP routes (Flask, FastAPI, Django, Express) with their handler symbols."""
        return graph.routes(path, method, limit)

    @mcp.tool(annotations=READ_ONLY)
    def cypher(
        query: Annotated[
            str,
            Field(
                min_length=1,
                max_length=5000,
                description="Read-only Cypher; paths need an upper bound (at most 6 hops, e.g. [:CALLS*1..3]); "
                "10 s, 2 GB and 512 KB of rows per query",
            ),
        ],
        limit: Annotated[int, Field(ge=1, le=1000)] = 100,
    ) -> QueryResult:
        """Read-only Cypher. Nodes: Symbol(id,name,kind,language,file,start_line,end_line,tests), Route, File.
        Edges: CALLS/REFERENCES/IMPORTS(line,candidates), INHERITS, HANDLED_BY (Route->Symbol)."""
        return graph.query(query, limit)

    @mcp.tool(annotations=READ_ONLY)
    def file_outline(
        file: Annotated[str, Field(min_length=1, max_length=1000, description="Path in the repo")],
    ) -> FileOutline:
        """A file's imports and the classes, functions and methods it defines, in order."""
        return graph.outline(file)

    @mcp.tool(annotations=READ_ONLY)
    def index_status() -> IndexStatus:
        """What is indexed: root, time, languages, counts."""
        return graph.status()

    @mcp.tool(annotations=WRITES_INDEX)
    async def reindex(ctx: Context, force: bool = False) -> IndexSummary:
        """Rebuild the index if files changed (force: always). Reports changed files; progress notifications on
        request."""

        def on_step(name: str) -> None:
            number = INDEX_STEPS.index(name) if name in INDEX_STEPS else 0
            anyio.from_thread.run(ctx.report_progress, number, len(INDEX_STEPS), name)

        return await anyio.to_thread.run_sync(lambda: graph.reindex(force=force, on_step=on_step))

    return mcp


def _index_once(graph: CodeGraph) -> None:
    try:
        graph.reindex()
    except Exception:  # the tools say the index is missing, and index_status why
        log.exception("index_failed")
