"""The MCP surface of strata-memory: each tool validates its arguments and makes one call into Memory."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastmcp import FastMCP
from mcp.types import ToolAnnotations
from opentelemetry.trace import Span
from pydantic import Field

from strata.memory import transcripts
from strata.memory.settings import MemorySettings
from strata.memory.sharing import Memory
from strata.memory.store import MemoryFilter, NewMemory
from strata.memory.transcripts import Client, ImportResult
from strata.memory.types import (
    AnchorCheck,
    AnchoredSymbols,
    Cardinality,
    FactList,
    ForgetResult,
    Kind,
    Neighborhood,
    RecallResult,
    RememberResult,
    Scope,
    SetFactResult,
    Stats,
    SymbolId,
    Tag,
    Timeline,
    UtcDatetime,
)
from strata.shared import telemetry
from strata.shared.errors import ConfigError
from strata.shared.log import get_logger
from strata.shared.runner import Metrics, create_mcp

__all__ = ["create_server"]

log = get_logger("strata.memory.server")

VERSION = "0.1.0"
INSTRUCTIONS = (
    "Long-term memory across sessions. recall before you start a task; remember decisions and outcomes; "
    "set_fact for things that change over time (the old value is kept as history)."
)
READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False)

T = TypeVar("T")
Limit = Annotated[int, Field(ge=1, le=500, description="Most results to return")]
Scopes = Annotated[list[Scope], Field(max_length=16, description="Only these scopes (any of)")]
Kinds = Annotated[list[Kind], Field(max_length=16)]
Tags = Annotated[list[Tag], Field(max_length=32)]
Symbols = Annotated[list[SymbolId], Field(max_length=32, description="codegraph symbol ids")]
ContentHash = Annotated[str, Field(pattern=r"^[0-9a-f]{8,64}$", description="a symbol's content hash (hex)")]
EntityName = Annotated[str, Field(min_length=1, max_length=200, description="Entity name (case-insensitive)")]
Predicate = Annotated[str, Field(pattern=r"^[A-Za-z][\w\-.:]{0,63}$", description="e.g. works_at, prefers")]
EntityType = Annotated[str, Field(min_length=1, max_length=64)]
Source = Annotated[str, Field(min_length=1, max_length=500, description="Where this came from (provenance)")]
When = UtcDatetime | None


class _Opening:
    """The Memory the tools use, opened in the background when the server starts (given a factory): opening the
    store (embedder, vector index) takes a third of a second that the client's tool list need not wait for. A tool
    called before it is open waits for it; a store that failed to open fails each call with the reason."""

    def __init__(self, memory: Memory | Callable[[], Memory]) -> None:
        self._factory = None if isinstance(memory, Memory) else memory
        self._memory = memory if isinstance(memory, Memory) else None
        self._error: BaseException | None = None
        self._done = threading.Event()
        if self._factory is None:
            self._done.set()

    def start(self) -> None:
        if self._factory is not None:
            threading.Thread(target=self._open, name="memory-open", daemon=True).start()

    def _open(self) -> None:
        assert self._factory is not None
        try:
            self._memory = self._factory()
        except Exception as exc:
            log.error("memory_open_failed", error=f"{type(exc).__name__}: {exc}")
            self._error = exc
        finally:
            self._done.set()

    def get(self) -> Memory:
        self._done.wait()
        if self._memory is None:
            why = f"{type(self._error).__name__}: {self._error}" if self._error is not None else "unknown"
            raise ConfigError(f"the memory store could not be opened ({why}); see the server log") from self._error
        return self._memory

    def close(self) -> None:
        self._done.wait()
        if self._memory is not None:
            self._memory.close()


def create_server(
    memory: Memory | Callable[[], Memory], metrics: Metrics, settings: MemorySettings | None = None
) -> FastMCP:
    """Build the strata-memory MCP server over ``memory`` (closed when the server stops). Given a factory (and the
    settings it opens with), the store is opened in the background from the start."""
    if isinstance(memory, Memory):
        settings = memory.settings
    elif settings is None:
        raise TypeError("create_server needs the settings a memory factory opens with")
    opening = _Opening(memory)

    @asynccontextmanager
    async def lifespan(_: FastMCP) -> AsyncIterator[dict[str, Any]]:
        opening.start()
        try:
            yield {}
        finally:
            await anyio.to_thread.run_sync(opening.close)

    mcp = create_mcp("strata-memory", version=VERSION, instructions=INSTRUCTIONS, metrics=metrics, lifespan=lifespan)

    async def run(fn: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(fn)

    def memory_span(operation: str, attributes: dict[str, Any]) -> AbstractContextManager[Span]:
        """A GenAI memory operation span (``search_memory``, ``create_memory``, ``delete_memory``) on this store."""
        return telemetry.span(
            f"{operation} strata-memory",
            {"gen_ai.operation.name": operation, "gen_ai.provider.name": "strata-memory", **attributes},
        )

    def scope_or_default(scope: str | None) -> str:
        return scope or settings.default_scope

    @mcp.tool(annotations=WRITES)
    async def remember(
        text: Annotated[str, Field(min_length=1, max_length=100_000, description="What to remember, verbatim")],
        kind: Kind = "note",
        scope: Scope | None = None,
        tags: Tags | None = None,
        about: Symbols | None = None,
        source: Source | None = None,
        occurred_at: Annotated[When, Field(description="When it happened (default: now)")] = None,
        anchors: Annotated[
            dict[SymbolId, ContentHash] | None,
            Field(
                max_length=32,
                description="Symbols of `about` whose code this describes, with their content "
                "hash now (codegraph symbol_hashes): check_anchors flags the memory when that code changes",
            ),
        ] = None,
    ) -> RememberResult:
        """Store a memory (durable on return); the same text in the same scope is stored once."""
        item = NewMemory(
            text, kind, scope_or_default(scope), tuple(tags or ()), tuple(about or ()), source, occurred_at,
            anchors=tuple(sorted((anchors or {}).items())),
        )  # fmt: skip
        with memory_span("create_memory", {"strata.scope": item.scope, "strata.kind": kind}) as span:
            stored = (await run(lambda: opening.get().remember([item], max_chars=settings.max_text_chars)))[0]
            span.set_attributes({"strata.memory_id": stored.id, "strata.deduplicated": stored.deduplicated})
            return stored

    @mcp.tool(annotations=READ_ONLY)
    async def recall(
        query: Annotated[str, Field(min_length=1, max_length=2000)],
        k: Annotated[int, Field(ge=1, le=50, description="Most memories to return")] = 8,
        scopes: Scopes | None = None,
        kinds: Kinds | None = None,
        tags: Tags | None = None,
        about: Symbols | None = None,
        since: When = None,
        until: When = None,
        max_tokens: Annotated[int, Field(ge=50, le=32000)] = 2000,
    ) -> RecallResult:
        """Memories matching a query by meaning and keywords, best first, within max_tokens."""
        flt = MemoryFilter(tuple(scopes or ()), tuple(kinds or ()), tuple(tags or ()), tuple(about or ()), since, until)
        with memory_span("search_memory", {"strata.k": k, "strata.scopes": list(scopes or ()) or None}) as span:
            found = await run(lambda: opening.get().recall(query, k, flt, max_tokens))
            span.set_attributes({"strata.hits": len(found.hits), "strata.left_out": found.left_out})
            return found

    @mcp.tool(annotations=WRITES)
    async def set_fact(
        subject: EntityName,
        predicate: Predicate,
        object: Annotated[str, Field(min_length=1, max_length=2000)],
        object_is_entity: Annotated[bool, Field(description="The object names an entity (graph edge)")] = False,
        cardinality: Annotated[
            Cardinality | None, Field(description="one: a new value ends the old (default); many: values add up")
        ] = None,
        valid_from: When = None,
        valid_to: Annotated[When, Field(description="Set on the current value to end it")] = None,
        scope: Scope | None = None,
        source: Source | None = None,
        memory_id: Annotated[str | None, Field(pattern=r"^mem_\d+$", description="Memory it was taken from")] = None,
    ) -> SetFactResult:
        """Record subject-predicate-object from valid_from; a single-valued predicate's old value is kept as history."""
        return await run(
            lambda: opening.get().set_fact(
                subject, predicate, object, scope=scope_or_default(scope), object_is_entity=object_is_entity,
                cardinality=cardinality, valid_from=valid_from, valid_to=valid_to, source=source, memory_id=memory_id,
            )
        )  # fmt: skip

    @mcp.tool(annotations=READ_ONLY)
    async def get_facts(
        subject: EntityName | None = None,
        predicate: Predicate | None = None,
        as_of: Annotated[When, Field(description="Facts valid at this time (default: now)")] = None,
        history: Annotated[bool, Field(description="Every version, superseded ones too")] = False,
        scopes: Scopes | None = None,
        limit: Limit = 50,
    ) -> FactList:
        """Facts about a subject and/or predicate, as of a time or with their history."""
        return await run(
            lambda: opening.get().get_facts(
                subject, predicate, as_of=as_of, history=history, scopes=scopes or [], limit=limit
            )
        )

    @mcp.tool(annotations=WRITES)
    async def relate(
        source: EntityName,
        relation: Predicate,
        target: EntityName,
        source_type: EntityType | None = None,
        target_type: EntityType | None = None,
        valid_from: When = None,
        scope: Scope | None = None,
    ) -> SetFactResult:
        """Link two entities (e.g. service_a depends_on service_b)."""
        return await run(
            lambda: opening.get().relate(
                source, relation, target, scope=scope_or_default(scope), source_type=source_type,
                target_type=target_type, valid_from=valid_from,
            )
        )  # fmt: skip

    @mcp.tool(annotations=READ_ONLY)
    async def neighbors(
        entity: EntityName,
        depth: Annotated[int, Field(ge=1, le=3)] = 1,
        relations: Annotated[list[Predicate], Field(max_length=16)] | None = None,
        as_of: When = None,
        limit: Limit = 50,
    ) -> Neighborhood:
        """Entities linked to an entity within depth hops (breadth first, bounded)."""
        return await run(
            lambda: opening.get().neighbors(entity, depth=depth, relations=relations or [], as_of=as_of, limit=limit)
        )

    @mcp.tool(annotations=DESTRUCTIVE)
    async def forget(
        ids: Annotated[list[Annotated[str, Field(pattern=r"^(mem|fact)_\d+$")]], Field(max_length=500)] | None = None,
        entity: EntityName | None = None,
        scopes: Scopes | None = None,
        kinds: Kinds | None = None,
        tags: Tags | None = None,
        about: Symbols | None = None,
        since: When = None,
        until: When = None,
        dry_run: Annotated[bool, Field(description="Only count what would go")] = False,
        reason: Annotated[str | None, Field(max_length=500)] = None,
        all_in_scope: Annotated[
            bool, Field(description="Confirm a filter that matches every memory of the named scopes (or very many)")
        ] = False,
    ) -> ForgetResult:
        """Delete memories/facts by id, entity or filter (they intersect); emptying a scope needs all_in_scope."""
        flt = MemoryFilter(tuple(scopes or ()), tuple(kinds or ()), tuple(tags or ()), tuple(about or ()), since, until)
        with memory_span(
            "delete_memory", {"strata.dry_run": dry_run, "strata.scopes": list(scopes or ()) or None}
        ) as span:
            gone = await run(
                lambda: opening.get().forget(
                    ids or [], entity, flt, dry_run=dry_run, reason=reason, all_in_scope=all_in_scope
                )
            )
            span.set_attributes({"strata.memories": gone.memories, "strata.facts": gone.facts})
            return gone

    @mcp.tool(annotations=READ_ONLY)
    async def timeline(
        scopes: Scopes | None = None,
        entity: Annotated[EntityName | None, Field(description="Only facts about this entity")] = None,
        kinds: Kinds | None = None,
        since: When = None,
        until: When = None,
        newest_first: bool = True,
        limit: Limit = 50,
    ) -> Timeline:
        """Memories and fact changes in time order."""
        flt = MemoryFilter(tuple(scopes or ()), tuple(kinds or ()), since=since, until=until)
        return await run(lambda: opening.get().timeline(flt, entity, newest_first=newest_first, limit=limit))

    @mcp.tool(annotations=WRITES)
    async def check_anchors(
        symbols: Annotated[
            dict[SymbolId, ContentHash | None],
            Field(
                min_length=1,
                max_length=2000,
                description="Symbol id -> its content hash now (codegraph "
                "symbol_hashes), or null when it no longer exists",
            ),
        ],
    ) -> AnchorCheck:
        """Flag memories whose anchored code changed or went away (needs_review); unflag where it is back."""
        return await run(lambda: opening.get().check_anchors(symbols))

    @mcp.tool(annotations=READ_ONLY)
    async def anchored_symbols(
        scopes: Scopes | None = None, limit: Annotated[int, Field(ge=1, le=2000)] = 500
    ) -> AnchoredSymbols:
        """The symbols memories are anchored to: ask codegraph's symbol_hashes about them, then check_anchors."""
        return await run(lambda: opening.get().anchored_symbols(tuple(scopes or ()), limit))

    @mcp.tool(annotations=WRITES)
    async def import_sessions(
        project: Annotated[str, Field(pattern=r"^/", max_length=4096, description="The folder the sessions ran in")],
        client: Client = "claude-code",
        since: Annotated[When, Field(description="Only messages from this time on")] = None,
    ) -> ImportResult:
        """Remember a coding agent's requests, conclusions and decisions for a project, secrets redacted."""
        return await run(lambda: transcripts.import_sessions(opening.get(), client, Path(project), since))

    @mcp.tool(annotations=READ_ONLY)
    async def stats() -> Stats:
        """Counts by kind and scope, facts, entities, engines and disk use."""
        return await run(lambda: opening.get().stats())

    return mcp
