"""The code graph store: Kuzu 0.11.3, bulk-loaded with COPY from Arrow tables, queried read-only.

Kept thin on purpose so another engine (the LadybugDB fork) could replace it. An index is built into
a temporary database file and moved into place only when complete, so killing ``index`` halfway leaves
the previous store intact and openable.
"""

from __future__ import annotations

import bisect
import heapq
import importlib.util  # noqa: F401 - kuzu's Arrow scan uses importlib.util without importing it
import itertools
import math
import os
import re
import shutil
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from strata.shared.process import pid_alive

__all__ = ["STORE_FORMAT", "CallEdge", "CodeGraphStore", "GraphDelta", "HotGraph", "StoredSymbol"]

DB_FILE = "codegraph.kuzu"
# The layout of the tables below; a store of another format (an older strata-codegraph) is rebuilt, never patched.
# 2: Symbol.tests
STORE_FORMAT = "2"
SCHEMA = [
    "CREATE NODE TABLE Symbol(id STRING, name STRING, kind STRING, language STRING, file STRING, "
    "start_line INT64, end_line INT64, words STRING, tests BOOLEAN, PRIMARY KEY(id))",
    "CREATE NODE TABLE Meta(key STRING, value STRING, PRIMARY KEY(key))",
    "CREATE REL TABLE CALLS(FROM Symbol TO Symbol, line INT64, candidates INT64)",
    "CREATE REL TABLE INHERITS(FROM Symbol TO Symbol, position INT64, candidates INT64)",
    "CREATE REL TABLE REFERENCES(FROM Symbol TO Symbol, line INT64, candidates INT64)",
    "CREATE REL TABLE IMPORTS(FROM Symbol TO Symbol, line INT64, candidates INT64)",
    "CREATE NODE TABLE Route(id STRING, method STRING, path STRING, framework STRING, file STRING, line INT64, "
    "PRIMARY KEY(id))",
    "CREATE REL TABLE HANDLED_BY(FROM Route TO Symbol)",
    "CREATE NODE TABLE File(path STRING, sha256 STRING, PRIMARY KEY(path))",
]
LOCK_WAIT_SECONDS = 10.0
SEPARATORS = re.compile(r"[./:\\ ]")  # what joins the names in a symbol id
SYMBOL_COLUMNS = "s.id, s.name, s.kind, s.language, s.file, s.start_line, s.end_line, s.tests"
SYMBOL_WIDTH = 8  # the columns above
HIDDEN_KINDS = ("external", "builtin")  # names the code uses but does not define: never search results
MAX_SEARCH_OVERLAY = 2000  # symbols patched in (or out) before the search index is rebuilt


@dataclass(frozen=True)
class StoredSymbol:
    id: str
    name: str
    kind: str
    language: str
    file: str
    start_line: int
    end_line: int

    tests: bool = False  # test code (see :func:`strata.codegraph.files.is_test_file`)


@dataclass(frozen=True)
class CallEdge:
    caller: StoredSymbol
    callee: StoredSymbol
    line: int
    candidates: int
    depth: int


def _symbol(row: Sequence[Any], offset: int = 0) -> StoredSymbol:
    return StoredSymbol(*row[offset : offset + SYMBOL_WIDTH])


class CodeGraphStore:
    """One Kuzu database holding one repository's graph."""

    def __init__(self, path: Path, *, read_only: bool = True, buffer_pool_bytes: int = 0, timeout_ms: int = 0) -> None:
        """``buffer_pool_bytes`` and ``timeout_ms`` (0: Kuzu's defaults) bound every query on this handle."""
        import kuzu

        self.path = path
        self._db = kuzu.Database(str(path), read_only=read_only, buffer_pool_size=buffer_pool_bytes)
        self._conn = kuzu.Connection(self._db)
        if timeout_ms:
            self._conn.set_query_timeout(timeout_ms)
        self._fts_loaded = False
        self._hot: HotGraph | None = None

    @staticmethod
    def location(directory: Path) -> Path:
        return directory / DB_FILE

    @classmethod
    @contextmanager
    def building(cls, directory: Path) -> Iterator[CodeGraphStore]:
        """A fresh store to load; it replaces ``directory``'s store only when the block completes."""
        with cls._aside(directory, copy=False) as store:
            for statement in SCHEMA:
                store._conn.execute(statement)
            yield store

    @classmethod
    @contextmanager
    def updating(cls, directory: Path) -> Iterator[CodeGraphStore]:
        """``directory``'s store, writable: in place when no other process has it open, else a copy of it
        that replaces it when the block completes.

        Kuzu allows no writer beside a reader, so while other processes hold read-only handles the update
        goes to a copy (a fraction of rebuilding; 0.2 s for Lib/'s 110 MB); alone, it costs no copy. Readers
        that open the store during an in-place update wait for it (:meth:`open_read_only`). The caller must
        have closed its own handles on the store.
        """
        try:
            store = cls(cls.location(directory), read_only=False)
        except RuntimeError as exc:
            if not _is_lock_error(exc):
                raise
        else:
            try:
                store._conn.execute("LOAD EXTENSION fts")
                yield store
            finally:
                store.close()
            return
        with cls._aside(directory, copy=True) as store:
            store._conn.execute("LOAD EXTENSION fts")
            yield store

    @classmethod
    def open_read_only(
        cls, path: Path, wait: float = LOCK_WAIT_SECONDS, *, buffer_pool_bytes: int = 0, timeout_ms: int = 0
    ) -> CodeGraphStore:
        """Open a store for reading, waiting out an in-place update by another process (it takes milliseconds)."""
        deadline = time.monotonic() + wait
        while True:
            try:
                return cls(path, read_only=True, buffer_pool_bytes=buffer_pool_bytes, timeout_ms=timeout_ms)
            except RuntimeError as exc:
                if not _is_lock_error(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    @classmethod
    @contextmanager
    def _aside(cls, directory: Path, *, copy: bool) -> Iterator[CodeGraphStore]:
        """A writable store next to ``directory``'s (empty, or a copy of it), moved over it on success."""
        created = not directory.exists()
        directory.mkdir(parents=True, exist_ok=True)
        if created or directory.name == ".strata":
            _ignored_by_git(directory)
        _remove_abandoned_builds(directory)
        final = cls.location(directory)
        temporary = directory / f".{DB_FILE}.building-{os.getpid()}"
        _remove(temporary)
        if copy:
            shutil.copyfile(final, temporary)
            if Path(f"{final}.wal").exists():
                shutil.copyfile(Path(f"{final}.wal"), Path(f"{temporary}.wal"))
        store = cls(temporary, read_only=False)
        try:
            yield store
            store.close()
            _install(temporary, final)
        finally:
            store.close()
            _remove(temporary)

    def close(self) -> None:
        if getattr(self, "_conn", None) is not None:
            self._conn.close()
            self._db.close()
            self._conn = None  # type: ignore[assignment]

    # -- loading -------------------------------------------------------------------------------------

    def load_symbols(self, symbols: Any, threads: int | None = None) -> None:
        """Bulk-load the symbols and build the full-text index over their identifier words (for task_context).

        Symbols loaded later by :meth:`load` join the index. Kuzu releases the GIL while it copies and indexes,
        so a caller can run this on a thread while Python works (index.py does); ``threads`` caps the threads
        Kuzu uses meanwhile (back to one per core after).
        """
        if threads:
            self._conn.set_max_threads_for_exec(threads)
        try:
            self._conn.execute("COPY Symbol FROM symbols")
            self._conn.execute("INSTALL fts")
            self._conn.execute("LOAD EXTENSION fts")
            self._conn.execute("CALL CREATE_FTS_INDEX('Symbol', 'symbol_fts', ['words'])")
        finally:
            if threads:
                self._conn.set_max_threads_for_exec(os.cpu_count() or 1)

    def load_calls(self, symbols: Any, calls: Any, inherits: Any) -> None:
        """Bulk-load the external names the calls and bases point to (``symbols``), then the CALLS and INHERITS
        edges, after :meth:`load_symbols` (Arrow tables; COPY reads them from this frame's variables by name)."""
        if symbols.num_rows:
            self._conn.execute("COPY Symbol FROM symbols")
        if calls.num_rows:
            self._conn.execute("COPY CALLS FROM calls")
        if inherits.num_rows:
            self._conn.execute("COPY INHERITS FROM inherits")

    def load(
        self,
        symbols: Any,
        meta: dict[str, str],
        routes: Any = None,
        handlers: Any = None,
        files: Any = None,
        references: Any = None,
        imports: Any = None,
    ) -> None:
        """Bulk-load the rest, after :meth:`load_calls`: ``symbols`` are the external names found since."""
        import pyarrow as pa

        meta_table = pa.table({"key": list(meta), "value": list(meta.values())})  # noqa: F841 - read by COPY
        if symbols.num_rows:
            self._conn.execute("COPY Symbol FROM symbols")
        self._conn.execute("COPY Meta FROM meta_table")
        if files is not None and files.num_rows:
            self._conn.execute("COPY File FROM files")
        if references is not None and references.num_rows:
            self._conn.execute("COPY REFERENCES FROM references")
        if imports is not None and imports.num_rows:
            self._conn.execute("COPY IMPORTS FROM imports")
        if routes is not None and routes.num_rows:
            self._conn.execute("COPY Route FROM routes")
            if handlers is not None and handlers.num_rows:
                self._conn.execute("COPY HANDLED_BY FROM handlers")

    def apply(self, delta: GraphDelta) -> None:
        """Apply an incremental update (see GraphDelta) to a store opened with :meth:`updating`."""
        import pyarrow as pa

        execute = self._conn.execute
        # Each statement costs Kuzu 2-40 ms on a large store (Lib/: 86k symbols, 560k calls), so they are few.
        # External names whose users change leave at the end if nothing points at them any more.
        rels = (
            ("CALLS", delta.calls_from, delta.calls),
            ("REFERENCES", delta.references_from, delta.references),
            ("INHERITS", delta.inherits_from, delta.inherits),
            ("IMPORTS", delta.imports_from, delta.imports),
        )
        touched = sorted({*delta.removed_symbols, *(owner for _, owners, _ in rels for owner in owners)})
        orphans = (
            {
                row[0]
                for row in self._rows(
                    "MATCH (a:Symbol)-[]->(b:Symbol) WHERE a.id IN $ids "
                    "AND (b.kind = 'external' OR b.kind = 'builtin') RETURN DISTINCT b.id",
                    {"ids": touched},
                )
            }
            if touched
            else set()
        )
        if delta.removed_symbols:
            execute("MATCH (s:Symbol) WHERE s.id IN $ids DETACH DELETE s", {"ids": delta.removed_symbols})
        symbols = delta.symbols
        columns = list(symbols)
        rows = [{c: symbols[c][i] for c in columns} for i in range(len(symbols.get("id", [])))]
        stored = {
            r[0]: dict(zip(columns, r, strict=True))
            for r in self._rows(
                f"MATCH (s:Symbol) WHERE s.id IN $ids RETURN {', '.join('s.' + c for c in columns)}",
                {"ids": [r["id"] for r in rows]},
            )
        }
        # New symbols first, then changes to existing ones, and the full-text column only where it changed:
        # in Kuzu 0.11.3 a COPY after a SET of an FTS-indexed column fails on a duplicated key, and a
        # CREATE after it indexes the wrong words.
        fresh = pa.Table.from_pylist([r for r in rows if r["id"] not in stored])
        if fresh.num_rows:
            execute("COPY Symbol FROM fresh")
        plain = [c for c in columns if c not in ("id", "words")]
        changed = [
            {c: r[c] for c in ["id", *plain]}
            for r in rows
            if r["id"] in stored and any(stored[r["id"]][c] != r[c] for c in plain)
        ]
        if changed:
            assignments = ", ".join(f"s.{c} = r.{c}" for c in plain)
            execute(f"UNWIND $rows AS r MATCH (s:Symbol) WHERE s.id = r.id SET {assignments}", {"rows": changed})
        reworded = [
            {"id": r["id"], "words": r["words"]}
            for r in rows
            if r["id"] in stored and stored[r["id"]]["words"] != r["words"]
        ]
        if reworded:
            execute("UNWIND $rows AS r MATCH (s:Symbol) WHERE s.id = r.id SET s.words = r.words", {"rows": reworded})
        by_owners: dict[tuple[str, ...], list[str]] = {}  # the same owners' edges of several kinds: one DELETE
        for rel, owners, _ in rels:
            if owners:
                by_owners.setdefault(tuple(owners), []).append(rel)
        for owner_ids, names in by_owners.items():
            pattern = f"MATCH (a:Symbol)-[e:{'|'.join(names)}]->() WHERE a.id IN $ids DELETE e"
            execute(pattern, {"ids": list(owner_ids)})
        for rel, _, table in rels:
            edges = pa.table(table)
            if edges.num_rows:
                execute(f"COPY {rel} FROM edges")
        if orphans:  # an external name nothing calls or extends any more leaves, as from a full index
            execute(
                "MATCH (s:Symbol) WHERE s.id IN $ids AND NOT EXISTS { MATCH (s)<-[]-() } DELETE s",
                {"ids": sorted(orphans)},
            )
        if delta.route_files:
            execute("MATCH (r:Route) WHERE r.file IN $files DETACH DELETE r", {"files": delta.route_files})
        routes, handlers = pa.table(delta.routes), pa.table(delta.handlers)
        if routes.num_rows:
            execute("COPY Route FROM routes")
            if handlers.num_rows:
                execute("COPY HANDLED_BY FROM handlers")
        if delta.files:
            execute("MATCH (f:File) WHERE f.path IN $paths DELETE f", {"paths": list(delta.files)})
            present = {p: h for p, h in delta.files.items() if h is not None}
            files = pa.table({"path": list(present), "sha256": list(present.values())})
            if files.num_rows:
                execute("COPY File FROM files")
        for key, value in delta.meta.items():
            execute("MATCH (m:Meta {key: $key}) SET m.value = $value", {"key": key, "value": value})

    # -- queries -------------------------------------------------------------------------------------

    def _rows(self, query: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        import kuzu

        result = self._conn.execute(query, params or {})
        assert isinstance(result, kuzu.QueryResult)  # one statement, one result
        rows: list[list[Any]] = []
        while result.has_next():
            rows.append(list(result.get_next()))
        return rows

    def _columns(self, query: str) -> Iterator[tuple[Any, ...]]:
        """Rows of a large result, fetched as Arrow columns (about 3x faster than row by row)."""
        import kuzu

        result = self._conn.execute(query)
        assert isinstance(result, kuzu.QueryResult)
        table = result.get_as_arrow(chunk_size=100_000)
        return zip(*(column.to_pylist() for column in table.columns), strict=True)

    def file_hashes(self) -> dict[str, str]:
        return {path: digest for path, digest in self._rows("MATCH (f:File) RETURN f.path, f.sha256")}

    def meta(self) -> dict[str, str]:
        return {k: v for k, v in self._rows("MATCH (m:Meta) RETURN m.key, m.value")}

    def counts(self) -> dict[str, int]:
        def count(query: str) -> int:
            return int(self._rows(query)[0][0])

        return {
            "symbols": count("MATCH (s:Symbol) WHERE s.kind <> 'external' AND s.kind <> 'builtin' RETURN count(*)"),
            "external_symbols": count(
                "MATCH (s:Symbol) WHERE s.kind = 'external' OR s.kind = 'builtin' RETURN count(*)"
            ),
            "calls": count("MATCH ()-[e:CALLS]->() RETURN count(*)"),
            "inherits": count("MATCH ()-[e:INHERITS]->() RETURN count(*)"),
            "imports": count("MATCH ()-[e:IMPORTS]->() RETURN count(*)"),
            "files": count("MATCH (s:Symbol) WHERE s.kind = 'module' RETURN count(*)"),
            "routes": count("MATCH (r:Route) RETURN count(*)"),
        }

    def by_name_in_database(self, name: str, limit: int) -> list[StoredSymbol]:
        """Symbols named exactly ``name`` as a Cypher query (kept to check the in-memory lookup against)."""
        rows = self._rows(
            f"MATCH (s:Symbol) WHERE s.name = $name AND s.kind <> 'external' AND s.kind <> 'builtin' "
            f"RETURN {SYMBOL_COLUMNS} ORDER BY s.id LIMIT $limit",
            {"name": name, "limit": limit},
        )
        return [_symbol(r) for r in rows]

    def adopt(self, hot: HotGraph | None) -> None:
        """Use ``hot`` (patched to this store's contents by the process that just wrote it) instead of
        reading the graph back."""
        self._hot = hot

    def loaded(self) -> HotGraph | None:
        """The in-memory graph if a query has built it."""
        return self._hot

    def hot(self) -> HotGraph:
        """Symbols and call edges held in memory: searches and call walks are the hot path of agents."""
        if self._hot is None:
            from strata.codegraph.pycalls import collector_paused

            # a million new tuples would set off full collections, each walking whatever else the process
            # holds (an analysis kept for incremental updates: 11 s instead of 1.5 s on Lib/)
            with collector_paused():
                rows = self._columns(f"MATCH (s:Symbol) RETURN {SYMBOL_COLUMNS}")
                symbols = {row[0]: _symbol(row) for row in rows}
                edges = self._columns("MATCH (a:Symbol)-[e:CALLS]->(b:Symbol) RETURN a.id, b.id, e.line, e.candidates")
                self._hot = HotGraph(symbols, edges)
        return self._hot

    def search(self, text: str, kinds: Sequence[str], limit: int) -> tuple[list[StoredSymbol], int]:
        """Symbols whose id contains ``text`` (case-insensitive); exact names rank first."""
        return self.hot().search(text, kinds, limit)

    def search_in_database(self, text: str, kinds: Sequence[str], limit: int) -> tuple[list[StoredSymbol], int]:
        """The same search as a Cypher query (kept to check the in-memory one against)."""
        where = "lower(s.id) CONTAINS $q AND s.kind <> 'external' AND s.kind <> 'builtin'"
        params: dict[str, Any] = {"q": text.lower()}
        if kinds:
            where += " AND list_contains($kinds, s.kind)"
            params["kinds"] = list(kinds)
        total = int(self._rows(f"MATCH (s:Symbol) WHERE {where} RETURN count(*)", params)[0][0])
        params |= {"exact": text, "limit": limit}  # kuzu refuses parameters a query does not use
        rows = self._rows(
            f"MATCH (s:Symbol) WHERE {where} "
            f"RETURN {SYMBOL_COLUMNS}, CASE WHEN s.name = $exact THEN 0 WHEN lower(s.name) = $q THEN 1 "
            f"WHEN lower(s.name) STARTS WITH $q THEN 2 ELSE 3 END AS rank "
            f"ORDER BY rank, s.tests, size(s.id), s.id LIMIT $limit",
            params,
        )
        return [_symbol(r) for r in rows], total

    def calls(self, symbol_id: str, *, callers: bool, depth: int, limit: int) -> tuple[list[CallEdge], int]:
        """Call edges reaching (callers) or leaving (callees) ``symbol_id`` up to ``depth`` hops."""
        return self.hot().calls(symbol_id, callers=callers, depth=depth, limit=limit)

    def calls_in_database(self, symbol_id: str, *, callers: bool, depth: int, limit: int) -> tuple[list[CallEdge], int]:
        """The same walk with one Cypher query per node (kept to check the in-memory one against)."""
        edges: list[CallEdge] = []
        seen_edges: set[tuple[str, str, int]] = set()
        frontier = {symbol_id}
        visited = {symbol_id}
        total = 0
        for level in range(1, depth + 1):
            if not frontier:
                break
            pattern = (
                "(a:Symbol)-[e:CALLS]->(b:Symbol {id: $id})"
                if callers
                else "(b:Symbol {id: $id})-[e:CALLS]->(a:Symbol)"
            )
            next_frontier: set[str] = set()
            for node in sorted(frontier):
                rows = self._rows(
                    f"MATCH {pattern} RETURN {SYMBOL_COLUMNS.replace('s.', 'a.')}, "
                    f"{SYMBOL_COLUMNS.replace('s.', 'b.')}, e.line, e.candidates ORDER BY a.id, e.line",
                    {"id": node},
                )
                for row in rows:
                    other, this = _symbol(row, 0), _symbol(row, SYMBOL_WIDTH)
                    caller, callee = (other, this) if callers else (this, other)
                    line, candidates = row[2 * SYMBOL_WIDTH], row[2 * SYMBOL_WIDTH + 1]
                    key = (caller.id, callee.id, line)
                    if key in seen_edges:
                        continue
                    seen_edges.add(key)
                    total += 1
                    if len(edges) < limit:
                        edges.append(CallEdge(caller, callee, line, candidates, level))
                    if other.id not in visited and other.kind not in ("external", "builtin"):
                        visited.add(other.id)
                        next_frontier.add(other.id)
            frontier = next_frontier
        return edges, total

    def text_search(self, text: str, limit: int) -> list[tuple[StoredSymbol, float]]:
        """Symbols ranked by BM25 over their identifier words (any word may match)."""
        if not self._fts_loaded:
            self._conn.execute("LOAD EXTENSION fts")
            self._fts_loaded = True
        rows = self._rows(
            "CALL QUERY_FTS_INDEX('Symbol', 'symbol_fts', $q) WITH node AS s, score "
            f"WHERE s.kind <> 'external' AND s.kind <> 'builtin' RETURN {SYMBOL_COLUMNS}, score "
            "ORDER BY score DESC, s.id LIMIT $limit",
            {"q": text, "limit": limit},
        )
        return [(_symbol(r), float(r[SYMBOL_WIDTH])) for r in rows]

    def read_query(self, query: str) -> Any:
        """Run a read-only Cypher query; the result, to read row by row (``get_next``)."""
        import kuzu

        result = self._conn.execute(query)
        assert isinstance(result, kuzu.QueryResult)
        return result

    def routes(self, text: str, method: str | None, limit: int) -> tuple[list[tuple[Any, ...]], int]:
        """Routes whose path contains ``text`` (and whose method matches), with their handler ids."""
        conditions = ["true"]
        params: dict[str, Any] = {}
        if text:  # kuzu evaluates CONTAINS '' as false, so an empty filter must not be a condition
            conditions.append("lower(r.path) CONTAINS $q")
            params["q"] = text.lower()
        if method:
            conditions.append("(r.method CONTAINS $method OR r.method = '*')")
            params["method"] = method.upper()
        where = " AND ".join(conditions)
        total = int(self._rows(f"MATCH (r:Route) WHERE {where} RETURN count(*)", params)[0][0])
        rows = self._rows(
            f"MATCH (r:Route) WHERE {where} OPTIONAL MATCH (r)-[:HANDLED_BY]->(s:Symbol) "
            "RETURN r.method, r.path, r.framework, r.file, r.line, collect(s.id) "
            "ORDER BY r.path, r.method, r.file, r.line LIMIT $limit",
            params | {"limit": limit},
        )
        return [tuple(r) for r in rows], total

    def in_file(self, file: str) -> list[StoredSymbol]:
        rows = self._rows(
            f"MATCH (s:Symbol) WHERE s.file = $file RETURN {SYMBOL_COLUMNS} ORDER BY s.start_line, s.id",
            {"file": file},
        )
        return [_symbol(r) for r in rows]

    def references_to(
        self, symbol_id: str, limit: int
    ) -> tuple[list[tuple[StoredSymbol, int, int, Literal["use", "import"]]], int]:
        """Symbols that use or import ``symbol_id``, with the line, candidate count and "use" or "import"."""
        pattern = "MATCH (s:Symbol)-[e:REFERENCES|IMPORTS]->(b:Symbol {id: $id})"
        total = int(self._rows(f"{pattern} RETURN count(*)", {"id": symbol_id})[0][0])
        rows = self._rows(
            f"{pattern} RETURN {SYMBOL_COLUMNS}, e.line, e.candidates, label(e) "
            "ORDER BY s.file, e.line, s.id LIMIT $limit",
            {"id": symbol_id, "limit": limit},
        )
        w = SYMBOL_WIDTH
        return [
            (_symbol(r), int(r[w]), int(r[w + 1]), "import" if r[w + 2] == "IMPORTS" else "use") for r in rows
        ], total

    def imports_of(self, module_id: str) -> list[tuple[str, int]]:
        """What a module imports: (imported module or definition, line)."""
        rows = self._rows(
            "MATCH (a:Symbol {id: $id})-[e:IMPORTS]->(b:Symbol) RETURN DISTINCT b.id, e.line ORDER BY e.line, b.id",
            {"id": module_id},
        )
        return [(r[0], int(r[1])) for r in rows]

    def bases(self, symbol_id: str) -> list[str]:
        rows = self._rows(
            "MATCH (a:Symbol {id: $id})-[e:INHERITS]->(b:Symbol) RETURN b.id ORDER BY e.position", {"id": symbol_id}
        )
        return [r[0] for r in rows]


class HotGraph:
    """In-memory symbols and call adjacency, built once per opened store (or patched, see :meth:`apply`)."""

    def __init__(self, symbols: dict[str, StoredSymbol], edges: Iterable[tuple[Any, ...]]) -> None:
        self.symbols = symbols
        self.callers: defaultdict[str, list[tuple[str, int, int]]] = defaultdict(list)
        self.callees: defaultdict[str, list[tuple[str, int, int]]] = defaultdict(list)
        callers, callees = self.callers, self.callees
        for caller, callee, line, candidates in edges:
            callees[caller].append((callee, line, candidates))
            callers[callee].append((caller, line, candidates))
        for adjacency in (callers, callees):
            for lst in adjacency.values():
                lst.sort()  # by the other end, then line
        self._index_search()

    def _index_search(self) -> None:
        symbols = self.symbols
        # Search. Ids in rank order (shortest first) and, to avoid scanning them all (3.9 MB for Lib/), the
        # distinct segments of the ids (`a.b.C.f`, `web/x.js:C.f`): text without a separator lies inside one
        # segment, so the segments containing it, joined in one string that str.find scans at C speed, give the
        # ids by their posting lists. Names sorted for the prefix tier.
        ordered = sorted((s for s in symbols.values() if s.kind not in HIDDEN_KINDS), key=_rank)
        self._ordered = ordered
        self._by_kind: dict[str, set[int]] = {}
        postings: dict[str, list[int]] = {}
        exact: dict[str, list[int]] = {}
        for index, s in enumerate(ordered):
            self._by_kind.setdefault(s.kind, set()).add(index)
            exact.setdefault(s.name.lower(), []).append(index)
            for segment in set(SEPARATORS.split(s.id.lower())):
                postings.setdefault(segment, []).append(index)
        self._exact = exact
        self._names = sorted(exact)
        self._segments = list(postings)
        self._postings = [postings[segment] for segment in self._segments]
        self._segment_starts = list(itertools.accumulate((len(seg) + 1 for seg in self._segments), initial=0))
        self._segment_blob = "\n".join(self._segments)
        # Updates since the index was built (see _reindex_symbol): rebuilding it takes 0.3 s on Lib/, so a
        # patch only hides the entries it replaces and keeps the new ones aside, scanned at query time.
        self._slot = {s.id: index for index, s in enumerate(ordered)}
        self._dead: set[int] = set()
        self._extra: dict[str, StoredSymbol] = {}

    def apply(self, delta: GraphDelta) -> None:
        """Patch in the delta just applied to the store, as :meth:`CodeGraphStore.apply` changes it: symbols
        upserted or removed (with every edge to or from them), the owners' outgoing calls replaced.

        Reloading instead costs a second on Lib/ (all symbols and 550k calls read back from Kuzu and
        indexed). External names Kuzu drops when nothing points at them any more stay here, edgeless and
        hidden from search as externals always are.
        """
        removed = set(delta.removed_symbols)
        for sid in removed:
            self.symbols.pop(sid, None)
            self._reindex_symbol(sid, None)
        rows = delta.symbols
        for i, new_id in enumerate(rows.get("id", [])):
            symbol = self.symbols[str(new_id)] = StoredSymbol(
                str(new_id),
                str(rows["name"][i]),
                str(rows["kind"][i]),
                str(rows["language"][i]),
                str(rows["file"][i]),
                int(rows["start_line"][i]),  # type: ignore[call-overload]
                int(rows["end_line"][i]),  # type: ignore[call-overload]
                bool(rows["tests"][i]),
            )
            self._reindex_symbol(symbol.id, symbol)
        gone_from = set(delta.calls_from) | removed  # callers whose outgoing edges are replaced or deleted
        for caller in gone_from:
            for callee in {callee for callee, _, _ in self.callees.pop(caller, [])}:
                edges = self.callers[callee]  # sorted by caller: cut its run out (<builtin>.len has 10k callers)
                del edges[bisect.bisect_left(edges, (caller,)) : bisect.bisect_left(edges, (caller, math.inf))]
                if not edges:
                    del self.callers[callee]
        for callee in removed:  # edges into a removed symbol go with it (DETACH DELETE)
            for caller in {c for c, _, _ in self.callers.pop(callee, [])}:
                self._set(self.callees, caller, [e for e in self.callees.get(caller, []) if e[0] != callee])
        calls = delta.calls
        for source, target, line, candidates in zip(
            calls.get("from", []), calls.get("to", []), calls.get("line", []), calls.get("candidates", []), strict=True
        ):
            edge_line, count = int(line), int(candidates)  # type: ignore[call-overload]
            bisect.insort(self.callees[str(source)], (str(target), edge_line, count))
            bisect.insort(self.callers[str(target)], (str(source), edge_line, count))
        if len(self._extra) + len(self._dead) > MAX_SEARCH_OVERLAY:
            self._index_search()

    def by_name(self, name: str, limit: int) -> list[StoredSymbol]:
        """Symbols named exactly ``name`` (external names excluded), by id."""
        ordered = self._ordered
        found = [ordered[i] for i in self._exact.get(name.lower(), []) if ordered[i].name == name]
        if self._dead:
            found = [s for s in found if self._slot[s.id] not in self._dead]
        found += [s for s in self._extra.values() if s.name == name]
        return sorted(found, key=lambda s: s.id)[:limit]

    def counts(self) -> tuple[int, int]:
        """(symbols the code defines, call edges): what a store's counts say of the same graph."""
        return len(self._ordered) - len(self._dead) + len(self._extra), sum(map(len, self.callees.values()))

    def _reindex_symbol(self, sid: str, symbol: StoredSymbol | None) -> None:
        """Search sees ``symbol`` (None: nothing) under ``sid`` from now on, without rebuilding the index."""
        slot = self._slot.get(sid)
        unchanged = slot is not None and self._ordered[slot] == symbol
        if slot is not None:
            if unchanged:
                self._dead.discard(slot)
            else:
                self._dead.add(slot)
        self._extra.pop(sid, None)
        if symbol is not None and not unchanged and symbol.kind not in HIDDEN_KINDS:
            self._extra[sid] = symbol

    @staticmethod
    def _set(
        adjacency: defaultdict[str, list[tuple[str, int, int]]], key: str, edges: list[tuple[str, int, int]]
    ) -> None:
        if edges:
            adjacency[key] = edges
        else:
            adjacency.pop(key, None)

    def search(self, text: str, kinds: Sequence[str], limit: int) -> tuple[list[StoredSymbol], int]:
        """Ids containing ``text`` (case-insensitive): exact name, then same name in any case, then name prefix,
        then the rest; shorter ids first within each."""
        needle = text.lower()
        if not needle or "\n" in needle:
            return [], 0
        matches = self._matches(needle)
        if self._dead:
            matches -= self._dead
        if kinds:
            wanted = set().union(*(matches & self._by_kind.get(kind, set()) for kind in set(kinds)))
            matches = wanted
        ordered = self._ordered
        exact = [i for i in self._exact.get(needle, []) if i in matches]
        first = [ordered[i] for i in exact if ordered[i].name == text]
        second = [ordered[i] for i in exact if ordered[i].name != text]
        prefixed: list[int] = []
        position = bisect.bisect_right(self._names, needle)  # names that start with the needle, but longer
        while position < len(self._names) and self._names[position].startswith(needle):
            prefixed.extend(self._exact[self._names[position]])
            position += 1
        prefixed = sorted(i for i in prefixed if i in matches)
        picked = set(exact) | set(prefixed[:limit])
        rest = [ordered[i] for i in itertools.islice((i for i in sorted(matches) if i not in picked), limit)]
        tiers = [first, second, [ordered[i] for i in prefixed[:limit]], rest]
        extra = self._extra_matches(needle, text, set(kinds))
        if extra:  # symbols patched in since the index was built, merged into each tier in rank order
            tiers = [
                list(heapq.merge(tier, added, key=_rank))[:limit] for tier, added in zip(tiers, extra, strict=True)
            ]
        found = list(itertools.chain(*tiers))[:limit]
        return found, len(matches) + sum(map(len, extra))

    def _extra_matches(self, needle: str, text: str, kinds: set[str]) -> list[list[StoredSymbol]]:
        """The patched-in symbols matching ``needle``, by tier as :meth:`search` ranks them ([] if none)."""
        tiers: list[list[StoredSymbol]] = [[], [], [], []]
        for s in self._extra.values():
            if needle in s.id.lower() and (not kinds or s.kind in kinds):
                name = s.name.lower()
                tier = (0 if s.name == text else 1) if name == needle else 2 if name.startswith(needle) else 3
                tiers[tier].append(s)
        return [sorted(tier, key=_rank) for tier in tiers] if any(tiers) else []

    def _matches(self, needle: str) -> set[int]:
        """Indexes (into the rank order) of the ids that contain ``needle``."""
        if SEPARATORS.search(needle):  # it may span segments: test every id
            return {i for i, s in enumerate(self._ordered) if needle in s.id.lower()}
        matches: set[int] = set()
        blob, starts, postings = self._segment_blob, self._segment_starts, self._postings
        position = blob.find(needle)
        while position >= 0:
            index = bisect.bisect_right(starts, position) - 1
            matches.update(postings[index])
            position = blob.find(needle, starts[index + 1])
        return matches

    def calls(self, symbol_id: str, *, callers: bool, depth: int, limit: int) -> tuple[list[CallEdge], int]:
        adjacency = self.callers if callers else self.callees
        this_symbol = self.symbols.get(symbol_id)
        if this_symbol is None:
            return [], 0
        edges: list[CallEdge] = []
        seen: set[tuple[str, str, int]] = set()
        visited = {symbol_id}
        frontier = [symbol_id]
        total = 0
        for level in range(1, depth + 1):
            next_frontier: list[str] = []
            for node in sorted(frontier):
                for other_id, line, candidates in adjacency.get(node, []):
                    caller, callee = (other_id, node) if callers else (node, other_id)
                    key = (caller, callee, line)
                    if key in seen:
                        continue
                    seen.add(key)
                    total += 1
                    other = self.symbols[other_id]
                    if len(edges) < limit:
                        edges.append(CallEdge(self.symbols[caller], self.symbols[callee], line, candidates, level))
                    if other_id not in visited and other.kind not in ("external", "builtin"):
                        visited.add(other_id)
                        next_frontier.append(other_id)
            frontier = next_frontier
            if not frontier:
                break
        return edges, total


def _rank(symbol: StoredSymbol) -> tuple[bool, int, str]:
    """Search order within a tier: the code before its tests, then shorter ids first."""
    return symbol.tests, len(symbol.id), symbol.id


@dataclass
class GraphDelta:
    """What an incremental update changes in a store.

    Symbols are upserted by id; every outgoing edge of the listed owners is replaced by the given rows
    (column lists, as for a bulk load), routes of the listed files likewise; ``files`` maps a path to its
    new hash, or None when the file is gone.
    """

    removed_symbols: list[str] = field(default_factory=list)
    symbols: dict[str, list[object]] = field(default_factory=dict)
    calls_from: list[str] = field(default_factory=list)
    calls: dict[str, list[object]] = field(default_factory=dict)
    references_from: list[str] = field(default_factory=list)
    references: dict[str, list[object]] = field(default_factory=dict)
    inherits_from: list[str] = field(default_factory=list)
    inherits: dict[str, list[object]] = field(default_factory=dict)
    imports_from: list[str] = field(default_factory=list)
    imports: dict[str, list[object]] = field(default_factory=dict)
    route_files: list[str] = field(default_factory=list)
    routes: dict[str, list[object]] = field(default_factory=dict)
    handlers: dict[str, list[object]] = field(default_factory=dict)
    files: dict[str, str | None] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)


def _ignored_by_git(directory: Path) -> None:
    """An index directory strata made holds a .gitignore of its own: it never shows in `git status`."""
    ignore = directory / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# written by strata: an index, not source\n*\n", encoding="utf-8")


def _is_lock_error(exc: RuntimeError) -> bool:
    return "Could not set lock on file" in str(exc)


def _install(temporary: Path, final: Path) -> None:
    """Move a complete store (and its write-ahead log, if any) over ``final``."""
    _remove(final)
    os.replace(temporary, final)
    wal = Path(f"{temporary}.wal")
    if wal.exists():
        os.replace(wal, Path(f"{final}.wal"))


def _remove_abandoned_builds(directory: Path) -> None:
    """Delete half-built stores left by index runs that were killed (their process is gone)."""
    for leftover in directory.glob(f".{DB_FILE}.building-*"):
        pid_text = leftover.name.rsplit("-", 1)[-1].split(".", 1)[0]  # Kuzu's own files: .wal, .shadow
        if not pid_text.isdigit() or pid_alive(int(pid_text)):
            continue
        _remove(directory / f".{DB_FILE}.building-{pid_text}")


def _remove(path: Path) -> None:
    for candidate in (path, Path(f"{path}.wal"), Path(f"{path}.shadow")):
        if candidate.is_dir():
            shutil.rmtree(candidate)
        elif candidate.exists():
            candidate.unlink()
