"""Indexing: repository files → per-language analysis → Arrow tables → a freshly built store.

Python gets deep resolution (points-to analysis, inheritance). JavaScript, TypeScript/TSX, Go, Rust
and Java get definitions from their grammars' tags queries and calls resolved by name, with every
candidate kept when a name is defined more than once.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

from strata.codegraph.compiled import CompilerFailed, CompilerRun, ResolvedEdges, file_and_edges
from strata.codegraph.files import is_test_file, scan
from strata.codegraph.gocompiler import go_files
from strata.codegraph.graph import STORE_FORMAT, CodeGraphStore, GraphDelta
from strata.codegraph.javacompiler import java_files
from strata.codegraph.links import Linker, family, structure
from strata.codegraph.pycalls import (
    CallRows,
    PyProject,
    Scope,
    analyze_sources,
    collector_paused,
    load_project,
    parse_sources,
)
from strata.codegraph.pycalls import solver as pycalls_solver
from strata.codegraph.pylayout import PythonLayout
from strata.codegraph.records import TagDefinition, TagFile
from strata.codegraph.routes import Route, express_routes, python_routes
from strata.codegraph.tags import LANGUAGE_OF_SUFFIX, extract, language_for
from strata.codegraph.tscompiler import TS_SUFFIXES, CompilerSession, compiler_files
from strata.shared.log import get_logger

__all__ = [
    "INDEX_STEPS",
    "IndexSummary",
    "RepositoryAnalysis",
    "analyze_repository",
    "build_index",
    "file_hashes",
    "index_repository",
    "python_analysis_build",
    "update_analysis",
    "write_index",
]

log = get_logger("strata.codegraph.index")

PYTHON_SUFFIXES = frozenset({".py"})
# the call analysis mypyc compiles (hatch_build.MODULES), relative to this package
COMPILED_SOURCES = (
    "pycalls/scopes.py",
    "pycalls/solver.py",
    "pycalls/attributes.py",
    "pycalls/calls.py",
    "pycalls/expressions.py",
    "pycalls/statements.py",
    "pycalls/project.py",
    "pycalls/sources.py",
    "pysyntax.py",
    "pyworkers.py",
)
INDEXED_SUFFIXES = PYTHON_SUFFIXES | frozenset(LANGUAGE_OF_SUFFIX)


@dataclass(frozen=True)
class IndexSummary:
    """What one index run produced."""

    root: str
    store: str
    files: int
    symbols: int
    call_edges: int
    call_sites: int
    unresolved_call_sites: int
    ambiguous_call_sites: int
    seconds: float
    changed_files: int = -1  # -1: everything was indexed from scratch
    up_to_date: bool = False  # True: nothing changed since the last index, nothing was rebuilt
    incremental: bool = False  # True: only the changed modules and what they reach were re-analysed
    rerun_scopes: int = -1  # incremental: how many scopes (modules, classes, functions) ran again

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def python_analysis_build() -> Literal["compiled", "interpreted", "stale"]:
    """How the Python call analysis runs here: compiled by mypyc at install (servers/codegraph/hatch_build.py),
    interpreted (built without a C compiler, or with ``STRATA_CODEGRAPH_PURE=1``), or ``stale``: compiled
    from sources that have changed since (an editable install not rebuilt: the extensions shadow the sources, so
    the edits are not running).
    """
    module = Path(pycalls_solver.__file__ or "")
    if module.suffix == ".py":
        return "interpreted"
    package = module.parent.parent  # strata/codegraph
    try:
        built = (package / "pycalls.sha256").read_text(encoding="ascii").strip()
        digest = hashlib.sha256()
        for source in COMPILED_SOURCES:  # as hatch_build.source_digest hashes them
            digest.update((package / source).read_bytes())
    except OSError:
        return "compiled"  # shipped without its sources or digest: nothing to compare
    return "compiled" if built == digest.hexdigest() else "stale"


def file_hashes(root: Path, cache: dict[str, tuple[tuple[int, int], str]] | None = None) -> dict[str, str]:
    """sha256 of every indexed file, by path relative to ``root``: what tells a stale index.

    ``cache`` (path -> ((size, mtime_ns), sha256)) skips re-reading files whose size and modification
    time are unchanged, and is updated in place: hashing all of Lib/ takes 250 ms, listing it 13 ms.
    """
    hashes: dict[str, str] = {}
    for relative, stamp in scan(root, INDEXED_SUFFIXES).items():
        known = cache.get(relative) if cache is not None else None
        if known is not None and known[0] == stamp:
            hashes[relative] = known[1]
            continue
        try:
            with open(os.path.join(root, relative), "rb") as file:
                digest = hashes[relative] = hashlib.sha256(file.read()).hexdigest()
        except OSError:
            continue
        if cache is not None:
            cache[relative] = (stamp, digest)
    return hashes


SYMBOL_COLUMNS = ("id", "name", "kind", "language", "file", "start_line", "end_line", "words", "tests")
INDEX_STEPS = (
    "reading files",
    "indexing other languages",
    "resolving Python calls",
    "finding routes",
    "writing the graph",
)


@dataclass
class RepositoryAnalysis:
    """One repository analysed in memory: what an incremental update starts from."""

    root: Path
    project: PyProject
    file_of: dict[str, str]  # Python module -> repository-relative path
    hashes: dict[str, str]  # repository-relative path -> sha256 of every indexed file
    tag_files: list[TagFile]
    stamps: dict[str, tuple[tuple[int, int], str]]  # the cache of file_hashes
    typescript: CompilerRun | None = None  # how the TypeScript/JavaScript files were resolved (None: there are none)
    go: CompilerRun | None = None  # how the Go files were resolved (None: there are none)
    java: CompilerRun | None = None  # how the Java files were resolved (None: there are none)
    linked: dict[str, dict[str, FileRows]] = field(default_factory=dict)  # tree-sitter family -> rows by file
    layout: PythonLayout = field(default_factory=lambda: PythonLayout([]))  # where the Python packages start

    def resolved(self) -> dict[str, ResolvedEdges]:
        """The compilers' edges of every file they resolved, by path."""
        return {
            path: edges
            for run in (self.typescript, self.go, self.java)
            if run is not None
            for path, edges in run.resolved.items()
        }

    def current_hashes(self) -> dict[str, str]:
        """The files on disk now (reads only those whose size or modification time changed)."""
        return file_hashes(self.root, self.stamps)

    def close(self) -> None:
        """Stop the TypeScript compiler kept for updates (it also stops when the analysis is collected)."""
        if self.typescript is not None:
            self.typescript.close()


def index_repository(root: Path, store_dir: Path, on_step: Callable[[str], None] | None = None) -> IndexSummary:
    """Index every supported file under ``root`` into ``store_dir`` (replacing any previous index).

    ``on_step`` is told the name of each of the INDEX_STEPS as it starts (for a progress display).
    """
    summary, analysis = build_index(root, store_dir, on_step)
    analysis.close()
    return summary


def build_index(
    root: Path, store_dir: Path, on_step: Callable[[str], None] | None = None
) -> tuple[IndexSummary, RepositoryAnalysis]:
    """:func:`index_repository`, also returning the analysis for later :func:`update_analysis` calls.

    The definitions are known once the Python modules are collected, before the points-to fixpoint: Kuzu
    copies them and builds their full-text index on a worker thread (it releases the GIL) with one thread of
    its own, while the fixpoint has the other core. On Lib/ that work (2.4 s alone, 3.4 s beside the edge
    building it used to share the cores with) no longer delays the end: writing after the edges fell from 2.7
    to 1.6 s.
    """
    import pyarrow as pa

    with collector_paused():  # see collector_paused: most of an index run's objects live until its end
        started = time.perf_counter()
        step = on_step or (lambda _: None)
        # The pool is left (its work done) before the store is closed, also when the analysis or the edges fail.
        with CodeGraphStore.building(store_dir) as store, ThreadPoolExecutor(1, "codegraph-load") as worker:
            loading: list[Future[None]] = []

            def definitions_known(symbols: dict[str, list[object]]) -> None:
                loading.append(worker.submit(store.load_symbols, pa.table(symbols), threads=1))

            analysis = analyze_repository(root, step, definitions_known)
            return _write_edges(analysis, store_dir, store, worker, loading[0], step, started), analysis


def analyze_repository(
    root: Path,
    step: Callable[[str], None] = lambda _: None,
    definitions_known: Callable[[dict[str, list[object]]], None] | None = None,
) -> RepositoryAnalysis:
    """Read and analyse every supported file under ``root`` (no store involved).

    ``definitions_known`` is given the Symbol rows of every definition as soon as they are known: after the
    Python modules are collected, before their calls are resolved.
    """
    with collector_paused():
        root = root.resolve()
        if python_analysis_build() == "stale":
            log.warning(
                "python_analysis_stale",
                hint="the call analysis (pycalls/, pysyntax.py) changed since compiled: reinstall (make install)",
            )
        step(INDEX_STEPS[0])
        stamps: dict[str, tuple[tuple[int, int], str]] = {}
        hashes = file_hashes(root, stamps)
        python_files = [p for p in hashes if Path(p).suffix in PYTHON_SUFFIXES]
        layout = PythonLayout.read(root, python_files)
        file_of = {layout.module_name(root, p): p for p in python_files}
        sources = _load_python(root, file_of)
        step(INDEX_STEPS[1])
        scripts = [p for p in hashes if Path(p).suffix in TS_SUFFIXES and Path(p).suffix in LANGUAGE_OF_SUFFIX]
        go_paths = [p for p in hashes if Path(p).suffix == ".go"]
        java_paths = [p for p in hashes if Path(p).suffix == ".java"]
        with ThreadPoolExecutor(3, "codegraph-compilers") as pool:
            # Node, Go and the JDK run their compilers while the other languages and Python are read here.
            engines: dict[str, tuple[list[str], Future[CompilerRun]]] = {}
            if scripts:
                engines["typescript"] = (scripts, pool.submit(compiler_files, root, scripts, keep=True))
            if go_paths:
                engines["go"] = (go_paths, pool.submit(go_files, root, go_paths))
            if java_paths:
                engines["java"] = (java_paths, pool.submit(java_files, root, java_paths))
            compiled_paths = set(scripts) | set(go_paths) | set(java_paths)
            others = [p for p in hashes if Path(p).suffix in LANGUAGE_OF_SUFFIX and p not in compiled_paths]
            tag_files = _tag_files(root, others)
            step(INDEX_STEPS[2])
            runs: dict[str, CompilerRun] = {}

            def compiled() -> None:
                for language, (language_paths, running) in engines.items():
                    if language not in runs:
                        run = runs[language] = running.result()
                        tag_files.extend(run.files if run.files else _tag_files(root, language_paths))

            def collected(project: PyProject) -> None:
                compiled()
                if definitions_known is not None:
                    definitions_known(_definition_rows(project, file_of, tag_files))

            project = analyze_sources(sources, collected)
            compiled()
        return RepositoryAnalysis(
            root,
            project,
            file_of,
            hashes,
            tag_files,
            stamps,
            runs.get("typescript"),
            runs.get("go"),
            runs.get("java"),
            layout=layout,
        )


def write_index(analysis: RepositoryAnalysis, store_dir: Path) -> IndexSummary:
    """Write a whole store from an analysis (replacing any previous one)."""
    import pyarrow as pa

    with collector_paused():
        started = time.perf_counter()
        with CodeGraphStore.building(store_dir) as store, ThreadPoolExecutor(1, "codegraph-load") as worker:
            symbols = pa.table(_definition_rows(analysis.project, analysis.file_of, analysis.tag_files))
            loading = worker.submit(store.load_symbols, symbols)
            return _write_edges(analysis, store_dir, store, worker, loading, lambda _: None, started)


def _definition_rows(project: PyProject, file_of: dict[str, str], tag_files: list[TagFile]) -> dict[str, list[object]]:
    """Symbol rows for every definition: Python scopes, and what the other languages' tags define."""
    symbols = _symbol_rows(project, file_of)
    for tag_file in tag_files:
        _add_symbol(symbols, tag_file.module_id, "module", tag_file.path, tag_file.path, 1, 1, tag_file.language)
        for d in tag_file.definitions:
            _add_symbol(symbols, d.id, d.kind, d.name, tag_file.path, d.start_line, d.end_line, tag_file.language)
    return symbols


def _write_edges(
    analysis: RepositoryAnalysis,
    store_dir: Path,
    store: CodeGraphStore,
    worker: ThreadPoolExecutor,
    definitions_loaded: Future[None],
    step: Callable[[str], None],
    started: float,
) -> IndexSummary:
    """Build the edge tables while ``definitions_loaded`` (Kuzu, on the ``worker`` thread) puts the definitions
    in ``store``; the worker loads the calls while the other edges are built (Lib/: 0.4 s)."""
    import pyarrow as pa

    root, project, file_of, tag_files = analysis.root, analysis.project, analysis.file_of, analysis.tag_files
    known = set(project.scopes)
    for tag_file in tag_files:
        known.add(tag_file.module_id)
        known.update(d.id for d in tag_file.definitions)
    found: dict[str, list[object]] = {column: [] for column in SYMBOL_COLUMNS}  # external names the edges point to
    rows = project.call_rows(known)
    calls = _call_table(rows, found)
    sites, unresolved, ambiguous = rows.sites, rows.unresolved, rows.ambiguous
    inherits = _inherit_rows(project, found, known, list(project.class_bases))
    linker = Linker(tag_files, root)
    seen: set[tuple[str, int, str]] = set()  # a name reached through several imports is one row
    for call, found_targets in linker.calls():
        targets = list(dict.fromkeys(found_targets))  # candidates counts distinct targets
        sites += 1
        unresolved += not targets  # library calls, mostly: nothing in the repository defines the name
        ambiguous += len(targets) > 1
        for target in targets:
            if (call.caller, call.line, target) not in seen:
                seen.add((call.caller, call.line, target))
                _add_row(calls, call.caller, target, call.line, len(targets))
    for owner, base, position, candidates in linker.base_rows:
        _add_row(inherits, owner, base, position, candidates, third="position")
    resolved = analysis.resolved()
    for path, edges in resolved.items():  # the compiler's: one target per call site, or an external/unresolved mark
        language = _compiled_language(path)
        for caller, target, line in edges.calls:
            sites += 1
            unresolved += target.startswith(UNRESOLVED)
            _add_row(calls, caller, target, line, 1)
            _note_external(linker, known, target, language)
        for owner, base, position in edges.bases:
            _add_row(inherits, owner, base, position, 1, third="position")
            _note_external(linker, known, base, language)
    _add_externals(found, known, linker)
    call_tables = (pa.table(found), pa.table(calls), pa.table(inherits))

    def load_calls() -> None:
        definitions_loaded.result()  # their failure is the one to report
        store.load_calls(*call_tables)

    calls_loaded = worker.submit(load_calls)
    found = {column: [] for column in SYMBOL_COLUMNS}  # the external names found from here on
    imports = _import_rows(project.import_edges(), found, known)
    for module, target, line, candidates in linker.imports():
        _add_row(imports, module, target, line, candidates)
    for path, edges in resolved.items():
        for module, target, line in edges.imports:
            _add_row(imports, module, target, line, 1)
            _note_external(linker, known, target, _compiled_language(path))
    languages = sorted({"python"} if file_of else set()) + sorted({f.language for f in tag_files})
    step(INDEX_STEPS[3])
    references = _reference_rows(project.reference_edges(), known)
    for ref, targets in linker.calls(references=True):
        for target in targets:
            _add_row(references, ref.caller, target, ref.line, len(targets))
    for edges in resolved.values():
        for owner, target, line in edges.references:
            if target in known:
                _add_row(references, owner, target, line, 1)
    _add_externals(found, known, linker)
    routes = python_routes(project, file_of) + _express_routes(root, tag_files, linker, resolved)
    route_rows, handler_rows = _route_rows(routes, known)
    meta = {
        "root": str(root),
        "indexed_at": str(int(time.time())),
        "languages": ",".join(languages),
        "format": STORE_FORMAT,
    }
    if analysis.typescript is not None:
        meta["typescript_engine"] = analysis.typescript.engine
    if analysis.go is not None:
        meta["go_engine"] = analysis.go.engine
    if analysis.java is not None:
        meta["java_engine"] = analysis.java.engine
    step(INDEX_STEPS[4])
    hashes = analysis.hashes
    tables = (  # made while Kuzu still loads
        pa.table(found),
        meta,
        pa.table(route_rows),
        pa.table(handler_rows),
        pa.table({"path": list(hashes), "sha256": list(hashes.values())}),
        pa.table(references),
        pa.table(imports),
    )
    definitions_loaded.result()
    calls_loaded.result()
    store.load(*tables)
    return IndexSummary(
        root=str(root),
        store=str(CodeGraphStore.location(store_dir)),
        files=len(file_of) + len(tag_files),
        symbols=len(project.scopes) + sum(1 + len(f.definitions) for f in tag_files),  # externals: in `found`
        call_edges=len(calls["from"]),
        call_sites=sites,
        unresolved_call_sites=unresolved,
        ambiguous_call_sites=ambiguous,
        seconds=round(time.perf_counter() - started, 3),
    )


def update_analysis(
    analysis: RepositoryAnalysis, hashes: dict[str, str] | None = None
) -> tuple[GraphDelta, IndexSummary] | None:
    """Re-analyse only the changed Python modules and whatever their change reaches, and say what moved.

    Returns the delta that brings a store built from ``analysis`` up to date (symbols, edges and routes
    that moved, new file hashes) with a summary whose ``symbols`` and ``call_edges`` are left at -1 (the
    store knows them), or None when the change needs a full index instead (a non-Python file changed:
    those are resolved by name across the whole repository). ``hashes`` are the files' current hashes
    when the caller has just read them. ``analysis`` is updated in place; after an exception it must not
    be used again.
    """
    with collector_paused():
        current = analysis.current_hashes() if hashes is None else hashes
        return _update_analysis(analysis, current)


def _update_analysis(analysis: RepositoryAnalysis, hashes: dict[str, str]) -> tuple[GraphDelta, IndexSummary] | None:
    started = time.perf_counter()
    root, project = analysis.root, analysis.project
    changed = sorted(p for p in hashes.keys() | analysis.hashes.keys() if hashes.get(p) != analysis.hashes.get(p))
    scripts = [p for p in changed if Path(p).suffix in TS_SUFFIXES]
    compiled = analysis.typescript.session if analysis.typescript is not None else None
    named: dict[str, list[str]] = {}  # tree-sitter family -> edited files: linked again by name, then compared
    if scripts and analysis.typescript is not None and not analysis.typescript.files:
        named["js"], scripts = scripts, []
    if scripts and not (isinstance(compiled, CompilerSession) and compiled.alive):
        return None  # no compiler kept (or none ran: the first TS file): a full index runs it
    rerun: dict[str, list[str]] = {}  # Go, Java: the compiler runs again over all of the language's files
    for path in changed:
        suffix = Path(path).suffix
        if suffix in PYTHON_SUFFIXES or path in scripts or path in named.get("js", ()):
            continue
        language = ONE_SHOT_COMPILERS.get(suffix)
        run = getattr(analysis, language) if language else None
        if language is not None and run is None:
            return None  # the first file of a compiled language: a full index runs its compiler
        if run is not None and run.files:
            rerun.setdefault(suffix, []).append(path)
        elif suffix in LANGUAGE_OF_SUFFIX:
            named.setdefault(family(LANGUAGE_OF_SUFFIX[suffix]), []).append(path)
        else:
            return None
    updates: list[tuple[list[tuple[TagFile, FileRows]], list[str], CompilerRun | None, Linker | None]] = []
    if scripts:
        assert isinstance(compiled, CompilerSession) and analysis.typescript is not None
        try:
            records = compiled.update([p for p in scripts if p in hashes], [p for p in scripts if p not in hashes])
        except CompilerFailed as error:
            log.warning("typescript_update_failed", reason=str(error), stderr=error.stderr)
            return None
        removed = [p for p in scripts if p not in hashes]
        fresh_ts = [(f, FileRows.of(edges)) for f, edges in map(file_and_edges, records)]
        updates.append((fresh_ts, removed, analysis.typescript, None))
    for suffix, edited in rerun.items():
        language = ONE_SHOT_COMPILERS[suffix]
        old_run: CompilerRun = getattr(analysis, language)
        paths = sorted(p for p in hashes if Path(p).suffix == suffix)
        new_run = COMPILER_OF[language](root, paths) if paths else CompilerRun(old_run.engine, [], {})
        if paths and not new_run.files:
            return None  # the compiler failed this time: a full index says how
        # every file whose rows moved (an edit can change what other files' calls resolve to)
        fresh = [
            (f, FileRows.of(new_run.resolved[f.path]))
            for f in new_run.files
            if f.path in edited
            or new_run.resolved[f.path] != old_run.resolved.get(f.path)
            or f.definitions != _definitions_of(analysis, f.path)
        ]
        updates.append((fresh, [p for p in edited if p not in hashes], old_run, None))
    for language_family, edited in named.items():
        fresh, linker = _relinked(analysis, language_family, edited, hashes)
        updates.append((fresh, [p for p in edited if p not in hashes], None, linker))
    compiled_changes = [
        p for p in changed if p in scripts or Path(p).suffix in rerun or any(p in e for e in named.values())
    ]
    changed = [p for p in changed if p not in compiled_changes]
    modules = {analysis.layout.module_name(root, p): p for p in changed}
    present = {m: p for m, p in modules.items() if p in hashes}
    sources = _load_python(root, present)
    parsed: dict[str, tuple[ast.Module, bool] | None] = {m: None for m in modules}
    parsed.update(parse_sources(sources))
    old_symbols = {fqn for m in modules for fqn in project.module_scopes.get(m, [])}
    ran = project.update(parsed)
    for module, path in modules.items():
        if parsed[module] is None:
            analysis.file_of.pop(module, None)
        else:
            analysis.file_of[module] = path

    delta = GraphDelta()
    new_symbols = {fqn for m in modules for fqn in project.module_scopes.get(m, [])}
    delta.removed_symbols = sorted(old_symbols - new_symbols)
    delta.symbols = _symbol_rows(project, analysis.file_of, modules=set(modules))
    known = set(project.scopes)
    # Every scope that ran may have found other calls and references; its owner's edges are replaced.
    owners = set(ran)  # each scope owns its calls, references and imports (a call in a class body is the class's)
    owners = {o for o in owners if o in project.scopes}
    recorders = {r for o in owners for r in project.site_recorders.get(o, ())}
    delta.calls_from = sorted(owners)
    rows = project.call_rows(known, recorders, owners)
    delta.calls = _call_table(rows, delta.symbols)
    delta.references_from = delta.imports_from = delta.calls_from
    delta.references = _reference_rows(
        (edge for edge in project.reference_edges(recorders) if edge[0] in owners), known
    )
    delta.imports = _import_rows(
        (edge for edge in project.import_edges(recorders) if edge[0] in owners), delta.symbols, known
    )
    classes = {fqn for fqn in ran | new_symbols if fqn in project.class_bases}
    delta.inherits_from = sorted(classes)
    delta.inherits = _inherit_rows(project, delta.symbols, known, sorted(classes))
    all_ids = known | {str(i) for i in delta.symbols["id"]}
    touched_modules = set(modules) | {project.scopes[o].module for o in owners}
    delta.route_files = sorted({analysis.file_of.get(m, "") for m in touched_modules} - {""} | set(changed))
    delta.routes, delta.handlers = _route_rows(
        python_routes(project, analysis.file_of, modules=touched_modules), all_ids
    )
    for reached, removed_files, engine_run, named_linker in updates:
        _merge_files(analysis, delta, reached, removed_files, all_ids, engine_run, named_linker)
    changed += compiled_changes
    delta.files = {p: hashes.get(p) for p in changed}
    delta.meta = {"indexed_at": str(int(time.time()))}
    analysis.hashes = hashes
    summary = IndexSummary(
        root=str(root),
        store="",
        files=len(analysis.file_of) + len(analysis.tag_files),
        symbols=-1,
        call_edges=-1,
        call_sites=rows.sites,
        unresolved_call_sites=rows.unresolved,
        ambiguous_call_sites=rows.ambiguous,
        seconds=round(time.perf_counter() - started, 3),
        changed_files=len(changed),
        incremental=True,
        rerun_scopes=len(ran),
    )
    return delta, summary


def _definitions_of(analysis: RepositoryAnalysis, path: str) -> list[TagDefinition] | None:
    return next((f.definitions for f in analysis.tag_files if f.path == path), None)


@dataclass
class FileRows:
    """One file's outgoing edges: (from, to, line or position, candidates) for each kind."""

    calls: list[tuple[str, str, int, int]] = field(default_factory=list)
    references: list[tuple[str, str, int, int]] = field(default_factory=list)
    imports: list[tuple[str, str, int, int]] = field(default_factory=list)
    bases: list[tuple[str, str, int, int]] = field(default_factory=list)

    @classmethod
    def of(cls, edges: ResolvedEdges) -> FileRows:
        """A compiler's edges: one target per call."""
        return cls(
            *(
                [(a, b, n, 1) for a, b, n in rows]
                for rows in (edges.calls, edges.references, edges.imports, edges.bases)
            )
        )


def _linked_rows(files: list[TagFile], root: Path) -> tuple[dict[str, FileRows], Linker]:
    """Each file's edges as the tree-sitter path resolves them by name among ``files`` (one language family), the
    rows a full index writes for them."""
    linker = Linker(files, root)
    rows = {f.path: FileRows() for f in files}
    for f in files:
        seen: set[tuple[str, int, str]] = set()
        for call in f.calls:
            targets = list(
                dict.fromkeys(linker.resolve(f, call.name, call.receiver, call.caller, call.path, call.receiver_type))
            )
            for target in targets:
                if (call.caller, call.line, target) not in seen:
                    seen.add((call.caller, call.line, target))
                    rows[f.path].calls.append((call.caller, target, call.line, len(targets)))
        for ref in f.references:
            targets = linker.resolve(f, ref.name, ref.receiver, ref.caller, ref.path, ref.receiver_type)
            rows[f.path].references += [(ref.caller, target, ref.line, len(targets)) for target in targets]
    for module, target, line, candidates in linker.imports():
        rows[module].imports.append((module, target, line, candidates))
    for owner, base, position, candidates in linker.base_rows:
        rows[linker.file_of[owner]].bases.append((owner, base, position, candidates))
    return rows, linker


def _relinked(
    analysis: RepositoryAnalysis, language_family: str, edited: list[str], hashes: dict[str, str]
) -> tuple[list[tuple[TagFile, FileRows]], Linker]:
    """A tree-sitter family's files after an edit of ``edited``: every file whose definitions or rows moved (a name
    defined or removed anywhere changes what others resolve to), and the linker that resolved them."""
    old_files = [f for f in analysis.tag_files if family(f.language) == language_family]
    old_rows = analysis.linked.get(language_family)
    if old_rows is None:
        old_rows = _linked_rows(old_files, analysis.root)[0]
    by_path = {f.path: f for f in old_files}
    gone = set(edited)
    extracted = {f.path: f for f in _tag_files(analysis.root, [p for p in edited if p in hashes])}
    order = [p for p in hashes if p in by_path or p in extracted]  # the order a full index reads them in
    new_files = [extracted[p] if p in gone else by_path[p] for p in order if p in extracted or p not in gone]
    new_rows, linker = _linked_rows(new_files, analysis.root)
    analysis.linked[language_family] = new_rows
    fresh = [
        (f, new_rows[f.path])
        for f in new_files
        if f.path in gone or new_rows[f.path] != old_rows.get(f.path) or f.definitions != by_path[f.path].definitions
    ]
    return fresh, linker


def _merge_files(
    analysis: RepositoryAnalysis,
    delta: GraphDelta,
    fresh: list[tuple[TagFile, FileRows]],
    removed: list[str],
    known: set[str],
    run: CompilerRun | None,
    linker: Linker | None,
) -> None:
    """Add to ``delta`` the files an edit reached (``fresh``, from a compiler ``run`` or a tree-sitter ``linker``): their
    symbols replace the old ones, every edge from them is replaced, files gone take their symbols along; ``analysis``
    and ``run`` follow."""
    by_path = {f.path: i for i, f in enumerate(analysis.tag_files)}
    old_ids: set[str] = set()
    for path in [*removed, *(f.path for f, _ in fresh)]:
        at = by_path.get(path)
        if at is not None:
            old_ids.add(analysis.tag_files[at].module_id)
            old_ids.update(d.id for d in analysis.tag_files[at].definitions)
    new_ids: set[str] = set()
    for tag_file, rows in fresh:
        if tag_file.path in by_path:
            analysis.tag_files[by_path[tag_file.path]] = tag_file
        else:
            by_path[tag_file.path] = len(analysis.tag_files)
            analysis.tag_files.append(tag_file)
        new_ids.add(tag_file.module_id)
        _add_symbol(delta.symbols, tag_file.module_id, "module", tag_file.path, tag_file.path, 1, 1, tag_file.language)
        for d in tag_file.definitions:
            new_ids.add(d.id)
            _add_symbol(delta.symbols, d.id, d.kind, d.name, tag_file.path, d.start_line, d.end_line, tag_file.language)
        for table, edges, third in (
            (delta.calls, rows.calls, "line"),
            (delta.references, rows.references, "line"),
            (delta.imports, rows.imports, "line"),
            (delta.inherits, rows.bases, "position"),
        ):
            for source, target, value, candidates in edges:
                _add_row(table, source, target, value, candidates, third=third)
    gone = set(removed)
    analysis.tag_files[:] = [f for f in analysis.tag_files if f.path not in gone]
    if run is not None:
        for path in removed:
            run.resolved.pop(path, None)
    owners = old_ids | new_ids
    delta.removed_symbols = sorted(set(delta.removed_symbols) | (old_ids - new_ids))
    # external names: the store updates rather than adds a row it has
    listed = {str(i) for i in delta.symbols.get("id", [])}
    externals: dict[str, str] = dict(linker.externals) if linker is not None else {}
    for tag_file, rows in fresh:
        for _, target, _, _ in [*rows.calls, *rows.references, *rows.imports, *rows.bases]:
            language = externals.get(target)
            if language is None and run is not None and target.startswith(("<lib>:", UNRESOLVED)):
                language = _compiled_language(tag_file.path)
            if language is not None and target not in listed:
                listed.add(target)
                _add_symbol(delta.symbols, target, "external", "", "", 0, 0, language)
    known.update(f.module_id for f in analysis.tag_files)
    known.update(d.id for f in analysis.tag_files for d in f.definitions)
    known.update(listed)
    keep = [i for i, target in enumerate(delta.references.get("to", [])) if str(target) in known]
    delta.references = {column: [values[i] for i in keep] for column, values in delta.references.items()}
    for name in ("calls_from", "references_from", "imports_from", "inherits_from"):
        setattr(delta, name, sorted(set(getattr(delta, name)) | owners))
    delta.route_files = sorted(set(delta.route_files) | {f.path for f, _ in fresh} | gone)
    if run is not None:
        for tag_file, rows in fresh:
            run.resolved[tag_file.path] = ResolvedEdges(
                *(
                    [(a, b, n) for a, b, n, _ in edges]
                    for edges in (rows.calls, rows.references, rows.imports, rows.bases)
                )
            )
        run.files = [f for f in analysis.tag_files if f.path in run.resolved]
    resolved = run.resolved if run is not None else {}
    routes, handlers = _route_rows(_express_routes(analysis.root, [f for f, _ in fresh], linker, resolved), known)
    for key, values in routes.items():
        delta.routes.setdefault(key, []).extend(values)
    for key, values in handlers.items():
        delta.handlers.setdefault(key, []).extend(values)


def _call_table(rows: CallRows, symbols: dict[str, list[object]]) -> dict[str, list[object]]:
    """The CALLS table of ``rows``; the targets they met first are added to ``symbols`` as external names."""
    for target in rows.new:
        _add_symbol(symbols, target, _external_kind(target), "", "", 0, 0)
    # Two calls of one name on one line (`len(a) + len(b)`) are one row: the store keeps the line, not the column.
    unique = list(dict.fromkeys(zip(rows.callers, rows.callees, rows.lines, rows.candidates, strict=True)))
    columns = list(zip(*unique, strict=True)) if unique else [(), (), (), ()]
    return {name: list(values) for name, values in zip(("from", "to", "line", "candidates"), columns, strict=True)}


def _add_row(
    table: dict[str, list[object]], source: str, target: str, value: int, candidates: int, third: str = "line"
) -> None:
    table["from"].append(source)
    table["to"].append(target)
    table[third].append(value)
    table["candidates"].append(candidates)


def _import_rows(
    edges: Iterable[tuple[str, str, int]], symbols: dict[str, list[object]], known: set[str]
) -> dict[str, list[object]]:
    """Python imports: (importing scope, module or definition, line); modules outside the project too."""
    rows: dict[str, list[object]] = {"from": [], "to": [], "line": [], "candidates": []}
    for owner, target, line in edges:
        if owner not in known:
            continue
        if target not in known:
            _add_symbol(symbols, target, "external", "", "", 0, 0)
            known.add(target)
        _add_row(rows, owner, target, line, 1)
    return rows


def _reference_rows(edges: Iterable[tuple[str, str, int]], known: set[str]) -> dict[str, list[object]]:
    references: dict[str, list[object]] = {"from": [], "to": [], "line": [], "candidates": []}
    for owner, target, line in edges:
        if owner in known and target in known:
            _add_row(references, owner, target, line, 1)
    return references


def _route_rows(routes: list[Route], all_ids: set[str]) -> tuple[dict[str, list[object]], dict[str, list[object]]]:
    route_rows: dict[str, list[object]] = {k: [] for k in ("id", "method", "path", "framework", "file", "line")}
    handler_rows: dict[str, list[object]] = {"from": [], "to": []}
    for route in {r.id: r for r in routes}.values():
        for key, value in (
            ("id", route.id),
            ("method", route.method),
            ("path", route.path),
            ("framework", route.framework),
            ("file", route.file),
            ("line", route.line),
        ):
            route_rows[key].append(value)
        for handler in route.handlers:
            if handler in all_ids:
                handler_rows["from"].append(route.id)
                handler_rows["to"].append(handler)
    return route_rows, handler_rows


def _symbol_rows(
    project: PyProject, file_of: dict[str, str], modules: set[str] | None = None
) -> dict[str, list[object]]:
    rows: dict[str, list[object]] = {k: [] for k in SYMBOL_COLUMNS}
    if modules is None:
        scopes: Iterable[Scope] = project.scopes.values()
    else:
        scopes = [project.scopes[fqn] for m in sorted(modules) for fqn in project.module_scopes.get(m, [])]
    fqn_words: dict[str, str] = {}
    file_words: dict[str, str] = {}
    for scope in scopes:
        kind = _SCOPE_SYMBOL_KINDS.get(scope.kind)
        if kind is None:
            kind = "method" if scope.class_fqn else "function"
        name = scope.fqn.rsplit(".", 1)[-1] if scope.kind != "module" else scope.fqn
        file = file_of.get(scope.module, "")
        words = fqn_words[scope.fqn] = _scope_words(scope, fqn_words)
        in_file = file_words.get(file)
        if in_file is None:
            in_file = file_words[file] = identifier_words(file)
        _add_symbol(rows, scope.fqn, kind, name, file, scope.lineno, scope.end_lineno, words=_joined(words, in_file))
    return rows


_SCOPE_SYMBOL_KINDS = {"module": "module", "class": "class", "lambda": "lambda"}


def _scope_words(scope: Scope, fqn_words: dict[str, str]) -> str:
    """identifier_words(scope.fqn), from its parent's when known: the words of ``a.b`` are those of ``a``, then of
    ``b`` (a separator splits tokens). The file's words are made once per file: on Lib/ the symbol rows took 0.45 s,
    now 0.37 s."""
    fqn, parent = scope.fqn, scope.parent
    if parent is not None:
        above = fqn_words.get(parent.fqn)
        start = len(parent.fqn)
        if above is not None and fqn.startswith(parent.fqn) and fqn[start : start + 1] == ".":
            return _joined(above, identifier_words(fqn[start + 1 :]))
    return identifier_words(fqn)


def _joined(first: str, second: str) -> str:
    """The words of two texts, as identifier_words gives them for the texts joined by a separator."""
    return f"{first} {second}" if first and second else first or second


def _add_symbol(
    rows: dict[str, list[object]],
    fqn: str,
    kind: str,
    name: str,
    file: str,
    start: int,
    end: int,
    language: str = "python",
    words: str | None = None,
) -> None:
    rows["id"].append(fqn)
    rows["name"].append(name or fqn.rsplit(".", 1)[-1])
    rows["kind"].append(kind)
    rows["language"].append(language)
    rows["file"].append(file)
    rows["start_line"].append(start)
    rows["end_line"].append(end)
    rows["words"].append(identifier_words(f"{fqn} {file}") if words is None else words)
    rows["tests"].append(is_test_file(file))


def _express_routes(
    root: Path, tag_files: list[TagFile], linker: Linker | None, resolved: dict[str, ResolvedEdges]
) -> list[Route]:
    """Express routes in JS/TS files, their named handlers resolved like any other use of the name: by the compiler
    (the use of the handler's name on the route's line), else by the name resolution of the tags path."""
    routes: list[Route] = []
    for tag_file in tag_files:
        if tag_file.language not in ("javascript", "typescript", "tsx"):
            continue
        source = (root / tag_file.path).read_bytes()
        compiled = resolved.get(tag_file.path)
        for route, handler in express_routes(tag_file.path, source, language_for(tag_file.path)):
            receiver, _, name = (handler or "").rpartition(".")
            if compiled is not None:
                targets = [
                    target
                    for _, target, line in compiled.references
                    if line == route.line and name and target.rsplit(":", 1)[-1].rsplit(".", 1)[-1] == name
                ]
            elif linker is not None:
                targets = linker.resolve(tag_file, name, receiver, tag_file.module_id) if name else []
            else:
                targets = []
            handlers = tuple(dict.fromkeys(t for t in targets if linker is None or t in linker.kind_of))
            routes.append(Route(route.method, route.path, route.framework, route.file, route.line, handlers))
    return routes


def _load_python(root: Path, file_of: dict[str, str]) -> dict[str, tuple[str, bool]]:
    """The sources of ``file_of`` (module name -> repository-relative path) under their module names."""
    sources: dict[str, tuple[str, bool]] = {}
    for module, relative in file_of.items():
        for _, loaded in load_project(root, [root / relative]).items():
            sources[module] = loaded
    return sources


def _tag_files(root: Path, relative_paths: Iterable[str]) -> list[TagFile]:
    out: list[TagFile] = []
    for relative in relative_paths:
        try:
            parsed = extract(relative, (root / relative).read_bytes())
        except OSError:
            continue
        if parsed is not None:
            imports, bases, package = structure(parsed.file.language, parsed.root, parsed.owners)
            out.append(replace(parsed.file, imports=imports, bases=bases, package=package))
    return out


def identifier_words(text: str) -> str:
    """``pkg.LdapClient.bind_user src/auth.py`` -> ``pkg ldap client bind user src auth py`` (for full-text search)."""
    return " ".join(_token_words(token) for token in _SEPARATORS.split(text) if token)


_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")
_LOWER_UPPER = re.compile(r"([a-z0-9])([A-Z])")
_CAPITALS_WORD = re.compile(r"([A-Z]+)([A-Z][a-z])")


@functools.lru_cache(maxsize=1 << 16)
def _token_words(token: str) -> str:
    """``LdapClient`` -> ``ldap client``. Memoized: the parts of names repeat (Lib/: 83k names, 1.6 s uncached)."""
    spaced = _CAPITALS_WORD.sub(r"\1 \2", _LOWER_UPPER.sub(r"\1 \2", token))
    return " ".join(word.lower() for word in spaced.split(" "))


def _add_externals(found: dict[str, list[object]], known: set[str], linker: Linker) -> None:
    """The external names the other languages' edges point to, that are not rows yet."""
    for external, language in sorted(linker.externals.items()):
        if external not in known:
            _add_symbol(found, external, "external", "", "", 0, 0, language)
            known.add(external)


UNRESOLVED = "<unresolved>:"
ONE_SHOT_COMPILERS = {".go": "go", ".java": "java"}  # languages whose compiler runs again for an edit
COMPILER_OF: dict[str, Callable[[Path, list[str]], CompilerRun]] = {"go": go_files, "java": java_files}


def _note_external(linker: Linker, known: set[str], target: str, language: str) -> None:
    """A library declaration or an unresolved callee the compiler named: an external symbol of its own."""
    if target not in known and target.startswith(("<lib>:", UNRESOLVED)):
        linker.externals.setdefault(target, language)


def _compiled_language(path: str) -> str:
    return {".go": "go", ".java": "java"}.get(Path(path).suffix, "typescript")


def _external_kind(target: str) -> str:
    return "builtin" if target.startswith(("<builtin>", "<**")) else "external"


def _inherit_rows(
    project: PyProject, symbols: dict[str, list[object]], known: set[str], classes: Iterable[str]
) -> dict[str, list[object]]:
    rows: dict[str, list[object]] = {"from": [], "to": [], "position": [], "candidates": []}
    for cls in classes:
        bases = project.bases(cls)
        direct = [base for base in project.mro(cls)[1:] if base in bases]
        for position, base in enumerate(direct):
            if base not in known:
                _add_symbol(symbols, base, _external_kind(base), "", "", 0, 0)
                known.add(base)
            _add_row(rows, cls, base, position, 1, third="position")
    return rows
