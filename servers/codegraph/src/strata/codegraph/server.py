"""The MCP surface of strata-codegraph: each tool is one call into CodeGraph."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastmcp import FastMCP
from mcp.types import ToolAnnotations
from pydantic import Field

from strata.codegraph.index import IndexSummary
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
    SymbolList,
    TaskContext,
)
from strata.codegraph.watch import Watcher
from strata.shared.runner import Metrics, create_mcp

__all__ = ["create_server"]

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


def create_server(graph: CodeGraph, metrics: Metrics, *, watch: bool = False, debounce_ms: int = 500) -> FastMCP:
    """Build the strata-codegraph MCP server over ``graph``; with ``watch``, reindex on file changes."""

    @asynccontextmanager
    async def lifespan(_: FastMCP) -> AsyncIterator[dict[str, Any]]:
        watcher = Watcher(graph, debounce_ms) if watch else None
        if watcher is not None:
            watcher.start()
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
        """Read-only Cypher. Nodes: Symbol(id,name,kind,language,file,start_line,end_line), Route, File.
        Edges: CALLS/REFERENCES/IMPORTS(line,candidates), INHERITS, HANDLED_BY (Route->Symbol). Writes refused."""
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
    async def reindex(force: bool = False) -> IndexSummary:
        """Rebuild the index if files changed (force: always). Reports changed files."""
        return await anyio.to_thread.run_sync(lambda: graph.reindex(force=force))

    return mcp
