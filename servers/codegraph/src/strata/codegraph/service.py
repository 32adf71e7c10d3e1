"""What the codegraph tools do, independent of MCP: look up symbols, walk calls, outline files.

The store is opened read-only and reopened when a newer index replaces it, so any number of server
processes can share one index and ``index`` never waits on a lock held by a server.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

from pydantic import BaseModel, Field

from strata.codegraph.cypher import QueryWorker
from strata.codegraph.errors import (
    AmbiguousSymbolError,
    IndexingError,
    NotIndexedError,
    PathOutsideRepoError,
    ReadOnlyQueryError,
    SymbolNotFoundError,
)
from strata.codegraph.graph import STORE_FORMAT, CallEdge, CodeGraphStore, GraphDelta, HotGraph, StoredSymbol
from strata.codegraph.index import (
    INDEX_STEPS,
    IndexSummary,
    RepositoryAnalysis,
    analyze_repository,
    build_index,
    file_hashes,
    python_analysis_build,
    update_analysis,
    write_index,
)
from strata.shared import telemetry
from strata.shared.errors import InvalidRequestError
from strata.shared.log import get_logger

__all__ = [
    "CallList",
    "CodeGraph",
    "FileOutline",
    "Impact",
    "IndexStatus",
    "QueryResult",
    "ReferenceList",
    "RouteList",
    "SymbolDetail",
    "SymbolHash",
    "SymbolHashes",
    "SymbolList",
    "SymbolRef",
    "TaskContext",
    "content_hash",
]

MAX_CANDIDATES = 20
# task_context: how many full-text hits to take, how many of them to expand through the call graph,
# and how much a neighbour counts relative to the hit it was reached from (callers say more about
# what uses the code than callees do).
TEXT_HITS = 30
EXPANDED_HITS = 10
CALLER_WEIGHT = 0.5
CALLEE_WEIGHT = 0.4
SNIPPET_LINES = 80
CHARS_PER_TOKEN = 4  # a rough, model-independent estimate
ITEM_OVERHEAD_TOKENS = 20
# Anything that writes, changes the schema, loads code or touches files. The store is also opened
# read-only, so this is defence in depth with a clearer message.
WRITE_KEYWORDS = re.compile(
    r"\b(CREATE|MERGE|SET|DELETE|DETACH|REMOVE|DROP|ALTER|COPY|LOAD|INSTALL|IMPORT|EXPORT|ATTACH|"
    r"CALL|CHECKPOINT|BEGIN|COMMIT|ROLLBACK)\b",
    re.IGNORECASE,
)
log = get_logger("strata.codegraph.service")
# A variable-length pattern must say how far it goes: -[:CALLS*1..3]->. Kuzu's default is 30 hops, and
# paths multiply with every hop (1..6 hops over 9k call edges filled 10 GB in a minute).
MAX_PATH_HOPS = 6
VARIABLE_LENGTH = re.compile(  # a relationship pattern -[...*...]- (not a list literal such as [x * 10])
    r"-\s*\[[^\]]*?\*\s*(?:SHORTEST|ALL\s+SHORTEST|TRAIL|ACYCLIC|WSHORTEST\([^)]*\))?\s*(\d*)\s*(\.\.\s*(\d*))?", re.I
)
# A Cypher query may run this long, and hold this much memory, in the query worker (cypher.py).
QUERY_TIMEOUT_S = 10.0
QUERY_MEMORY_BYTES = 2 * 1024 * 1024 * 1024
STRINGS_AND_COMMENTS = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|//[^\n]*|/\*.*?\*/", re.DOTALL)


class SymbolRef(BaseModel):
    id: str = Field(description="Fully qualified name, e.g. pkg.mod.Class.method")
    name: str
    kind: str
    file: str
    start_line: int
    end_line: int
    tests: bool = Field(description="Test code (a test file or a tests directory): ranked after the code it tests")

    @classmethod
    def of(cls, s: StoredSymbol) -> SymbolRef:
        return cls(
            id=s.id, name=s.name, kind=s.kind, file=s.file, start_line=s.start_line, end_line=s.end_line, tests=s.tests
        )


class SymbolList(BaseModel):
    items: list[SymbolRef]
    total: int
    omitted: int = Field(description="Matches not returned because of limit")


class ImportRef(BaseModel):
    target: str = Field(description="Imported module or definition (external ones too)")
    line: int


class FileOutline(SymbolList):
    file: str
    imports: list[ImportRef]


class SymbolDetail(SymbolRef):
    source: str
    truncated: bool = Field(description="True when the source was cut at max_lines")
    bases: list[str] = Field(default_factory=list)
    content_hash: str | None = Field(
        default=None, description="Hash of the whole source (as symbol_hashes gives it); none without source"
    )


class SymbolHash(BaseModel):
    symbol: str
    exists: bool = Field(description="False: no symbol with this id in the index (removed or renamed)")
    content_hash: str | None = Field(
        default=None, description="Hash of its source lines now; none for a symbol without source (external)"
    )


class SymbolHashes(BaseModel):
    items: list[SymbolHash]


def content_hash(lines: Sequence[str]) -> str:
    """A symbol's content hash: sha256 of its source lines without trailing spaces (16 hex digits). Moving the
    symbol in its file keeps it; any edit to its text changes it."""
    text = "\n".join(line.rstrip() for line in lines)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class CallRef(BaseModel):
    caller: str
    callee: str
    callee_kind: str
    file: str = Field(description="File of the call site (the caller's file)")
    line: int
    in_tests: bool = Field(description="The call is in test code")
    depth: int = Field(description="Hops from the queried symbol")
    candidates: int = Field(description="Possible targets at this call site; above 1 the call is one of them")


class ReferenceRef(BaseModel):
    symbol: str = Field(description="The symbol whose code uses the target")
    kind: str
    how: Literal["use", "import"]
    file: str
    line: int
    candidates: int = Field(description="Above 1: the name may also denote other definitions")


class ReferenceList(BaseModel):
    symbol: str
    items: list[ReferenceRef]
    total: int
    omitted: int


class CallList(BaseModel):
    symbol: str
    direction: Literal["callers", "callees"]
    items: list[CallRef]
    total: int
    omitted: int


class ImpactFile(BaseModel):
    file: str
    tests: bool = Field(description="A test file: its symbols are tests that reach the changed symbol")
    symbols: list[str]


class Impact(BaseModel):
    symbol: str
    depth: int
    files: list[ImpactFile] = Field(
        description="Files holding transitive callers: the code's, most affected first, then the tests'"
    )
    callers: int
    omitted: int


class QueryResult(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = Field(description="True when more rows matched than limit, or the rows filled the reply")
    note: str | None = Field(default=None, description="why rows were left out, when not because of limit")


class RouteRef(BaseModel):
    method: str = Field(description="GET, POST, ... or * for any")
    path: str
    framework: str
    file: str
    line: int
    handlers: list[str] = Field(description="Handler symbol ids; empty when inline or not found")


class RouteList(BaseModel):
    items: list[RouteRef]
    total: int
    omitted: int


class ContextItem(SymbolRef):
    score: float
    reason: str = Field(description="Why it was picked: it matches the task, or calls/is called by a match")
    source: str
    truncated: bool


class TaskContext(BaseModel):
    task: str
    items: list[ContextItem]
    used_tokens: int = Field(description="Estimated at 4 characters per token")
    max_tokens: int
    omitted: int = Field(description="Relevant symbols left out to stay within max_tokens")


class IndexStatus(BaseModel):
    root: str
    store: str
    state: Literal["ready", "indexing"] = Field(
        description="indexing: a whole index is being built (tools answer from the previous one, if any)"
    )
    progress: str = Field(description="While indexing: the step and the time so far")
    indexed_at: int
    languages: list[str]
    symbols: int
    external_symbols: int
    calls: int
    inherits: int
    imports: int
    files: int
    routes: int
    python_analysis: Literal["compiled", "interpreted", "stale"] = Field(
        description="compiled: the fast mypyc build; stale: compiled from an older source, reinstall"
    )
    go_engine: str = Field(
        description="How Go calls were resolved: 'go/types <version>', or 'tree-sitter (<why>)' by name when Go was "
        "not there; empty without Go files"
    )
    java_engine: str = Field(
        description="How Java calls were resolved: 'javac <version>', or 'tree-sitter (<why>)' by name when no JDK was "
        "there; empty without Java files"
    )
    typescript_engine: str = Field(
        description="How TypeScript/JavaScript calls were resolved: 'compiler <version> (repository|bundled)', "
        "'tree-sitter (<why>)' by name when Node or the compiler was not there; empty without such files"
    )


P = ParamSpec("P")
R = TypeVar("R")


def _locked(method: Callable[P, R]) -> Callable[P, R]:
    """Tools run in worker threads and --watch reindexes in another: one store swap at a time. While a whole index
    is being built, a tool waits for it at most ``BUILD_WAIT_S``, then says how far it got (IndexingError)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        graph: CodeGraph = args[0]  # type: ignore[assignment]
        graph._acquire()
        try:
            return method(*args, **kwargs)
        finally:
            graph._lock.release()

    return wrapper


BUILD_WAIT_S = 5.0  # a small repository's first index ends within it: the first question gets its answer


class IndexProgress:
    """How far a whole index (a first one, or a rebuild) has got; read without the lock."""

    def __init__(self) -> None:
        self.running = False
        self.step = ""
        self.number = 0
        self.started = 0.0
        self.error = ""

    def begin(self) -> None:
        self.step, self.number, self.error, self.started = INDEX_STEPS[0], 1, "", time.monotonic()
        self.running = True

    def advance(self, step: str) -> None:
        self.step = step
        self.number = INDEX_STEPS.index(step) + 1 if step in INDEX_STEPS else self.number

    def describe(self) -> str:
        elapsed = time.monotonic() - self.started
        return f"step {self.number} of {len(INDEX_STEPS)}: {self.step}, {elapsed:.0f} s so far"


class CodeGraph:
    """One repository's graph, as the tools use it.

    A process that has analysed the repository (``prepare``, or a first ``reindex``) applies later edits
    of Python files incrementally and writes them behind: ``reindex`` returns once the in-memory graph
    is patched, and the store on disk follows in a writer thread. Searches and call walks answer from
    that graph at once; tools that read the store wait for the queued writes.
    """

    def __init__(self, root: Path, store_dir: Path) -> None:
        self.root = root.resolve()
        self.store_dir = store_dir
        self._store: CodeGraphStore | None = None
        self._queries = QueryWorker(timeout_s=QUERY_TIMEOUT_S, memory_bytes=QUERY_MEMORY_BYTES)
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.RLock()
        self.progress = IndexProgress()
        self._analysis: RepositoryAnalysis | None = None  # kept after this process indexes: incremental updates
        # This process's updates: the graph they patched, the store writes queued behind them, and the
        # store file (inode, mtime) as this process last left it - while it is unchanged, the store holds
        # what the analysis says once the queued writes land.
        self._hot: HotGraph | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._writes: Future[tuple[int, int]] | None = None
        self._write_failed = False
        self._written: tuple[int, int] | None = None

    def _acquire(self) -> None:
        """Take the lock for a tool; while a whole index is being built and nothing can answer yet (the build holds
        the lock, or no store exists), wait for it at most BUILD_WAIT_S."""
        deadline = time.monotonic() + BUILD_WAIT_S
        while True:
            if self._lock.acquire(timeout=0.2):
                if not (self.progress.running and self._store_stamp() is None):
                    return
                self._lock.release()  # nothing to read yet: the build needs the lock to write it
                time.sleep(0.05)
            if self.progress.running and time.monotonic() >= deadline:
                raise IndexingError(
                    f"the index of {self.root} is being built ({self.progress.describe()}) - index_status shows "
                    "how far it is; ask again shortly"
                )

    def _building(self, on_step: Callable[[str], None] | None) -> Callable[[str], None]:
        """The step callback of a whole index: progress for index_status, and the caller's own."""
        self.progress.begin()

        def step(name: str) -> None:
            self.progress.advance(name)
            if on_step is not None:
                on_step(name)

        return step

    def interrupt(self) -> None:
        """Stop a Cypher query that is running now (shutdown must not wait out its timeout)."""
        self._queries.close()

    @_locked
    def close(self) -> None:
        """Write what is queued, then let the store go."""
        self._settle()
        if self._writer is not None:
            self._writer.shutdown()
            self._writer = None
        self._queries.close()
        self._close_store()
        if self._analysis is not None:
            self._analysis.close()  # the TypeScript compiler it keeps for updates

    @_locked
    def flush(self) -> None:
        """Wait until every update this process made is in the store on disk."""
        self._settle()

    def _close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _store_stamp(self) -> tuple[int, int] | None:
        try:
            stat = CodeGraphStore.location(self.store_dir).stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    def store(self) -> CodeGraphStore:
        self._settle()
        stamp = self._store_stamp()
        if stamp is None:
            raise NotIndexedError(
                f"{self.root} has no index yet - call reindex or run `strata-codegraph index {self.root}`"
            )
        if self._store is None or stamp != self._stamp:  # a newer index was moved into place
            self._close_store()
            store = CodeGraphStore.open_read_only(CodeGraphStore.location(self.store_dir))
            stored_format = store.meta().get("format", "1")
            if stored_format != STORE_FORMAT:
                store.close()
                raise NotIndexedError(
                    f"the index of {self.root} has format {stored_format}, written by an older strata-codegraph; "
                    f"this one reads format {STORE_FORMAT} - call reindex to rebuild it"
                )
            self._store = store
            self._stamp = stamp
            if stamp != self._written:
                self._hot = None  # another process wrote the store: what this one patched is not in it
            elif self._hot is not None:
                self._store.adopt(self._hot)  # what this process wrote: no reload
        return self._store

    def _graph(self) -> HotGraph:
        """The in-memory graph: this process's patched one while it owns the store, else the store's."""
        if self._hot is not None and self._owns_store():
            return self._hot
        return self.store().hot()

    def _owns_store(self) -> bool:
        """Whether the store holds, or will once the queued writes land, what this process's analysis says."""
        if self._writes is not None:
            if not self._writes.done():
                return self._analysis is not None
            self._settle()
        return self._analysis is not None and self._written is not None and self._written == self._store_stamp()

    def _settle(self) -> None:
        """Wait for the queued store writes; after a failed one, drop the analysis (the next reindex rebuilds)."""
        writes, self._writes = self._writes, None
        if writes is None:
            return
        try:
            self._written = writes.result()
        except Exception:
            log.exception("store_update_failed")
            self._write_failed = False
            self._written = self._hot = None
            self._hold(None)

    def _write_behind(self, delta: GraphDelta) -> None:
        # our read-only handle must not stay open beside the writer, which closes it (that takes 10 ms)
        handle, self._store = self._store, None
        self._writes = self._start_writer().submit(self._write, delta, handle)

    def _start_writer(self) -> ThreadPoolExecutor:
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codegraph-store")
            self._writer.submit(lambda: None)  # its thread starts now, not inside the first update (0.2 s)
        return self._writer

    def _write(self, delta: GraphDelta, handle: CodeGraphStore | None) -> tuple[int, int]:
        """The writer thread: one update into the store, in order; none after one fails."""
        if handle is not None:
            handle.close()
        if self._write_failed:
            raise RuntimeError("an earlier update of the store failed")
        try:
            with CodeGraphStore.updating(self.store_dir) as store:
                store.apply(delta)
        except BaseException:
            self._write_failed = True
            raise
        stamp = self._store_stamp()
        assert stamp is not None  # the update wrote it
        return stamp

    # -- tools --------------------------------------------------------------------------------------

    def status(self) -> IndexStatus:
        """What is indexed; while a whole index is being built, how far it got (never waiting for it)."""
        if not self._lock.acquire(timeout=0.5):
            if self.progress.running:
                return self._status_while_building()
            self._lock.acquire()
        try:
            try:
                store = self.store()
            except NotIndexedError as exc:
                if self.progress.running:
                    return self._status_while_building()
                if self.progress.error:
                    raise NotIndexedError(f"{exc} (the last index failed: {self.progress.error})") from None
                raise
            meta = store.meta()
            return IndexStatus(
                root=meta.get("root", str(self.root)),
                store=str(store.path),
                state="indexing" if self.progress.running else "ready",
                progress=self.progress.describe() if self.progress.running else "",
                indexed_at=int(meta.get("indexed_at", "0")),
                languages=meta.get("languages", "").split(","),
                python_analysis=python_analysis_build(),
                typescript_engine=meta.get("typescript_engine", ""),
                go_engine=meta.get("go_engine", ""),
                java_engine=meta.get("java_engine", ""),
                **store.counts(),
            )
        finally:
            self._lock.release()

    def _status_while_building(self) -> IndexStatus:
        counts = dict.fromkeys(("symbols", "external_symbols", "calls", "inherits", "imports", "files", "routes"), 0)
        return IndexStatus(
            root=str(self.root),
            store=str(CodeGraphStore.location(self.store_dir)),
            state="indexing",
            progress=self.progress.describe(),
            indexed_at=0,
            languages=[],
            python_analysis=python_analysis_build(),
            typescript_engine="",
            go_engine="",
            java_engine="",
            **counts,
        )

    @_locked
    def reindex(self, *, force: bool = False, on_step: Callable[[str], None] | None = None) -> IndexSummary:
        """Bring the index up to date with the files (rebuilding all when forced); report what changed.

        After this process has indexed once, a change to Python files is applied incrementally from the
        analysis it keeps in memory and written behind (see the class); anything else (first run, other
        languages, a store another process rebuilt from other files) rebuilds the whole index. One ``index`` span.
        """
        with telemetry.span("index " + self.root.name, {"strata.root": str(self.root), "strata.force": force}) as span:
            summary = self._reindex(force, on_step)
            span.set_attributes(
                {"strata.files": summary.files, "strata.symbols": summary.symbols, "strata.call_edges": summary.call_edges,
                 "strata.changed_files": summary.changed_files, "strata.seconds": summary.seconds}
            )  # fmt: skip
            return summary

    def _reindex(self, force: bool, on_step: Callable[[str], None] | None) -> IndexSummary:
        started = time.perf_counter()
        analysis = self._analysis
        current = analysis.current_hashes() if analysis is not None else file_hashes(self.root)
        if analysis is not None and not force and not self._owns_store():
            try:
                if self.store().file_hashes() == analysis.hashes:  # another process left what we hold
                    self._written = self._stamp
            except NotIndexedError:
                pass
        if analysis is not None and not force and self._owns_store():
            summary = self._update(analysis, current)
            if summary is not None:
                return replace(summary, seconds=round(time.perf_counter() - started, 3))
        try:
            store = self.store()
            previous = store.file_hashes()
            counts = store.counts()
        except NotIndexedError:
            previous, counts = {}, {}
        changed = {p for p in current.keys() | previous.keys() if current.get(p) != previous.get(p)}
        if counts and not changed and not force:
            return self._up_to_date(len(current), counts["symbols"], counts["calls"])
        if self._analysis is not None:
            self._analysis.close()
        self._hold(None)
        self._hot = None
        try:
            summary, analysis = build_index(self.root, self.store_dir, self._building(on_step))
        except Exception as exc:
            self.progress.error = f"{type(exc).__name__}: {exc}"[:500]
            raise
        finally:
            self.progress.running = False
        self._close_store()
        self._written = self._store_stamp()
        self._hold(analysis)
        return replace(summary, changed_files=len(changed) if counts else -1)

    def _update(self, analysis: RepositoryAnalysis, current: dict[str, str]) -> IndexSummary | None:
        """The incremental update of a store this process owns; None when it needs a full index."""
        hot = self._hot
        if hot is None:
            hot = self._hot = self.store().hot()
        if current == analysis.hashes:
            return self._up_to_date(len(current), *hot.counts())
        self._hold(None)  # in case the update fails half-way: the next reindex starts afresh
        self._hot = None
        update = update_analysis(analysis, current)
        if update is None:  # another language changed: the caller rebuilds
            self._hot = hot
            self._hold(analysis)
            return None
        delta, summary = update
        hot.apply(delta)
        self._write_behind(delta)
        self._hot = hot
        self._hold(analysis)
        symbols, calls = hot.counts()
        return replace(summary, store=str(CodeGraphStore.location(self.store_dir)), symbols=symbols, call_edges=calls)

    def _up_to_date(self, files: int, symbols: int, calls: int) -> IndexSummary:
        return IndexSummary(
            root=str(self.root),
            store=str(CodeGraphStore.location(self.store_dir)),
            files=files,
            symbols=symbols,
            call_edges=calls,
            call_sites=0,
            unresolved_call_sites=0,
            ambiguous_call_sites=0,
            seconds=0.0,
            changed_files=0,
            up_to_date=True,
        )

    def prepare(self) -> None:
        """Analyse the repository in memory so that the next change is applied incrementally.

        Rebuilds the index as well when it is missing or stale; a current index is left untouched, and the tools
        answer from it while the analysis runs (the lock is taken only to write and to keep the result). The
        in-memory graph is loaded too: the first query and the first update need it.
        """
        with self._lock:
            if self._analysis is not None:
                return
        step = self._building(None)
        try:
            analysis = analyze_repository(self.root, step)  # reads files only
            with self._lock:
                if self._analysis is not None:  # a reindex held one meanwhile
                    analysis.close()
                    return
                try:
                    previous = self.store().file_hashes()
                except NotIndexedError:
                    previous = {}
                if previous != analysis.hashes:
                    step(INDEX_STEPS[-1])
                    write_index(analysis, self.store_dir)
                self._close_store()
                self._hot = None
                self._written = self._store_stamp()
                self._hold(analysis)
                self._hot = self.store().hot()
                self._start_writer()
        except Exception as exc:
            self.progress.error = f"{type(exc).__name__}: {exc}"[:500]
            raise
        finally:
            self.progress.running = False

    def _hold(self, analysis: RepositoryAnalysis | None) -> None:
        """Keep (or drop) the analysis, out of the cyclic collector's sight while kept.

        Its millions of objects live as long as the process; every full collection walked all of them
        (the first one after an analysis of Lib/ took 9 s, inside whichever call set it off).
        """
        if self._analysis is not None:
            gc.unfreeze()  # what is dropped must be collectable again
        self._analysis = analysis
        if analysis is not None:
            gc.freeze()

    @_locked
    def search(self, query: str, kinds: list[str], limit: int) -> SymbolList:
        found, total = self._graph().search(query, kinds, limit)
        return SymbolList(items=[SymbolRef.of(s) for s in found], total=total, omitted=max(0, total - len(found)))

    def resolve(self, symbol: str) -> StoredSymbol:
        """An exact id, or a name that matches exactly one symbol; never a guess among several."""
        graph = self._graph()
        exact = graph.symbols.get(symbol)
        if exact is not None:
            return exact
        named = graph.by_name(symbol, MAX_CANDIDATES + 1)
        if len(named) == 1:
            return named[0]
        if named:
            listed = ", ".join(f"{s.id} ({s.file}:{s.start_line})" for s in named[:MAX_CANDIDATES])
            more = " and more" if len(named) > MAX_CANDIDATES else ""
            raise AmbiguousSymbolError(f"'{symbol}' names {len(named)} symbols: {listed}{more}; pass one id")
        suggestions, _ = graph.search(symbol, [], 5)
        hint = f"; did you mean {', '.join(s.id for s in suggestions)}?" if suggestions else "; try search_symbols"
        raise SymbolNotFoundError(f"no symbol '{symbol}' in the index{hint}")

    @_locked
    def get_symbol(self, symbol: str, max_lines: int) -> SymbolDetail:
        found = self.resolve(symbol)
        source, truncated, digest = "", False, None
        if found.file and found.start_line:
            lines = self._read_lines(found.file)
            body = lines[found.start_line - 1 : found.end_line]
            truncated = len(body) > max_lines
            source = "".join(body[:max_lines])
            digest = content_hash(body) if body else None
        return SymbolDetail(
            **SymbolRef.of(found).model_dump(), source=source, truncated=truncated, bases=self.store().bases(found.id),
            content_hash=digest,
        )  # fmt: skip

    @_locked
    def symbol_hashes(self, symbols: Sequence[str]) -> SymbolHashes:
        """Each symbol id's content hash now, from its lines in the index read from the file: what a memory about
        the symbol keeps, so a later check can tell that the code changed or went away."""
        graph = self._graph()
        files: dict[str, list[str]] = {}
        items = []
        for symbol_id in dict.fromkeys(symbols):
            found = graph.symbols.get(symbol_id)
            if found is None:
                items.append(SymbolHash(symbol=symbol_id, exists=False))
                continue
            digest = None
            if found.file and found.start_line:
                if found.file not in files:
                    files[found.file] = self._read_lines(found.file)
                body = files[found.file][found.start_line - 1 : found.end_line]
                digest = content_hash(body) if body else None
            items.append(SymbolHash(symbol=symbol_id, exists=True, content_hash=digest))
        return SymbolHashes(items=items)

    @_locked
    def calls(self, symbol: str, direction: Literal["callers", "callees"], depth: int, limit: int) -> CallList:
        found = self.resolve(symbol)
        edges, total = self._graph().calls(found.id, callers=direction == "callers", depth=depth, limit=limit)
        return CallList(
            symbol=found.id,
            direction=direction,
            items=[_call_ref(e) for e in edges],
            total=total,
            omitted=max(0, total - len(edges)),
        )

    @_locked
    def references(self, symbol: str, limit: int) -> ReferenceList:
        """Every place whose code uses ``symbol``: calls, callbacks, isinstance checks, types, imports."""
        found = self.resolve(symbol)
        rows, total = self.store().references_to(found.id, limit)
        items = [
            ReferenceRef(symbol=s.id, kind=s.kind, how=how, file=s.file, line=line, candidates=c)
            for s, line, c, how in rows
        ]
        return ReferenceList(symbol=found.id, items=items, total=total, omitted=max(0, total - len(items)))

    @_locked
    def impact(self, symbol: str, depth: int, limit: int) -> Impact:
        """Transitive callers of ``symbol`` grouped by file: what a change to it can break."""
        found = self.resolve(symbol)
        edges, total = self._graph().calls(found.id, callers=True, depth=depth, limit=limit)
        by_file: dict[tuple[bool, str], set[str]] = {}
        for edge in edges:
            by_file.setdefault((edge.caller.tests, edge.caller.file), set()).add(edge.caller.id)
        files = sorted(by_file.items(), key=lambda kv: (kv[0][0], -len(kv[1]), kv[0][1]))
        return Impact(
            symbol=found.id,
            depth=depth,
            files=[ImpactFile(file=f, tests=tests, symbols=sorted(symbols)) for (tests, f), symbols in files],
            callers=len({e.caller.id for e in edges}),
            omitted=max(0, total - len(edges)),
        )

    def query(self, cypher: str, limit: int) -> QueryResult:
        """A read-only Cypher query over the graph, in the query worker (cypher.py): bounded paths, at most
        ``limit`` rows and ``MAX_QUERY_BYTES`` of them, and a time and memory limit. Not locked: a slow
        query never holds up the other tools."""
        scanned = STRINGS_AND_COMMENTS.sub(" ", cypher)
        write = WRITE_KEYWORDS.search(scanned)
        if write:
            raise ReadOnlyQueryError(f"the graph is read-only here: '{write.group(1).upper()}' is not allowed")
        _check_path_lengths(scanned)
        with self._lock:
            self.store()  # the index exists, and what this process queued is written
            location = CodeGraphStore.location(self.store_dir)
        return QueryResult(**self._queries.run(location, cypher, limit))

    @_locked
    def task_context(self, task: str, max_tokens: int) -> TaskContext:
        """The symbols most relevant to a task, with their source, packed into ``max_tokens``."""
        store = self.store()
        scored: dict[str, tuple[float, str, StoredSymbol]] = {}

        def add(symbol: StoredSymbol, score: float, reason: str) -> None:
            if symbol.kind in ("module", "external", "builtin"):
                return
            current = scored.get(symbol.id)
            if current is None or score > current[0]:
                scored[symbol.id] = (score, reason, symbol)

        hits = store.text_search(task, TEXT_HITS)
        for symbol, score in hits:
            add(symbol, score, "matches the task")
        for symbol, score in hits[:EXPANDED_HITS]:
            for edge in store.calls(symbol.id, callers=True, depth=1, limit=50)[0]:
                add(edge.caller, score * CALLER_WEIGHT, f"calls {symbol.id}")
            for edge in store.calls(symbol.id, callers=False, depth=1, limit=50)[0]:
                add(edge.callee, score * CALLEE_WEIGHT, f"called by {symbol.id}")

        items: list[ContextItem] = []
        used = omitted = 0
        files: dict[str, list[str]] = {}  # several picked symbols often share a file: read it once
        for score, reason, symbol in sorted(scored.values(), key=lambda item: (-item[0], item[2].id)):
            if symbol.file and symbol.file not in files:
                files[symbol.file] = self._read_lines(symbol.file)
            lines = files[symbol.file][symbol.start_line - 1 : symbol.end_line] if symbol.file else []
            source = "".join(lines[:SNIPPET_LINES])
            cost = len(source) // CHARS_PER_TOKEN + ITEM_OVERHEAD_TOKENS
            if used + cost > max_tokens:
                omitted += 1
                continue
            used += cost
            items.append(
                ContextItem(
                    **SymbolRef.of(symbol).model_dump(),
                    score=round(score, 4),
                    reason=reason,
                    source=source,
                    truncated=len(lines) > SNIPPET_LINES,
                )
            )
        return TaskContext(task=task, items=items, used_tokens=used, max_tokens=max_tokens, omitted=omitted)

    @_locked
    def routes(self, path: str, method: str | None, limit: int) -> RouteList:
        rows, total = self.store().routes(path, method, limit)
        items = [
            RouteRef(
                method=m, path=p, framework=f, file=file, line=line, handlers=sorted(h for h in handlers or [] if h)
            )
            for m, p, f, file, line, handlers in rows
        ]
        return RouteList(items=items, total=total, omitted=max(0, total - len(items)))

    @_locked
    def outline(self, file: str) -> FileOutline:
        relative = self.relative_path(file)
        store = self.store()
        in_file = store.in_file(relative)
        symbols = [s for s in in_file if s.kind != "module"]
        imports = [
            ImportRef(target=t, line=line) for m in in_file if m.kind == "module" for t, line in store.imports_of(m.id)
        ]
        return FileOutline(
            file=relative, items=[SymbolRef.of(s) for s in symbols], total=len(symbols), omitted=0, imports=imports
        )

    # -- paths --------------------------------------------------------------------------------------

    def relative_path(self, file: str) -> str:
        """``file`` as a path relative to the repository root; anything outside the root is refused."""
        if "\x00" in file:
            raise InvalidRequestError("a path cannot contain a NUL character")
        candidate = (self.root / file).resolve() if not os.path.isabs(file) else Path(file).resolve()
        if not candidate.is_relative_to(self.root):
            raise PathOutsideRepoError(f"{file} is outside the repository root {self.root}")
        return candidate.relative_to(self.root).as_posix()

    def _read_lines(self, relative: str) -> list[str]:
        path = self.root / self.relative_path(relative)
        try:
            return path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        except OSError:
            return []


def _check_path_lengths(cypher: str) -> None:
    for match in VARIABLE_LENGTH.finditer(cypher):
        low, has_range, high = match.group(1), match.group(2), match.group(3)
        upper = high if has_range else low
        if not upper or int(upper) > MAX_PATH_HOPS:
            raise InvalidRequestError(
                f"variable-length path '{match.group(0).strip()}...' needs an upper bound of at most "
                f"{MAX_PATH_HOPS} hops, e.g. [:CALLS*1..3]"
            )


def _call_ref(edge: CallEdge) -> CallRef:
    return CallRef(
        caller=edge.caller.id,
        callee=edge.callee.id,
        callee_kind=edge.callee.kind,
        file=edge.caller.file,
        line=edge.line,
        in_tests=edge.caller.tests,
        depth=edge.depth,
        candidates=edge.candidates,
    )
