"""Indexing: repository files → per-language analysis → Arrow tables → a freshly built store.

Python gets deep resolution (points-to analysis, inheritance). JavaScript, TypeScript/TSX, Go, Rust
and Java get definitions from their grammars' tags queries and calls resolved by name, with every
candidate kept when a name is defined more than once.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from strata.codegraph.files import source_files
from strata.codegraph.graph import CodeGraphStore
from strata.codegraph.pycalls import PyProject, analyze_sources, collector_paused, load_project, module_name_for
from strata.codegraph.routes import Route, express_routes, python_routes
from strata.codegraph.tags import LANGUAGE_OF_SUFFIX, TagFile, extract, language_for, resolve_calls

__all__ = ["INDEX_STEPS", "IndexSummary", "file_hashes", "index_repository", "indexed_files"]

PYTHON_SUFFIXES = frozenset({".py"})


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

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def indexed_files(root: Path) -> list[Path]:
    """Every file an index of ``root`` reads, in a stable order."""
    return sorted(source_files(root, PYTHON_SUFFIXES | frozenset(LANGUAGE_OF_SUFFIX)))


def file_hashes(root: Path) -> dict[str, str]:
    """sha256 of every indexed file, by path relative to ``root``: what tells a stale index."""
    hashes: dict[str, str] = {}
    for path in indexed_files(root):
        try:
            hashes[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            continue
    return hashes


INDEX_STEPS = (
    "reading files",
    "resolving Python calls",
    "indexing other languages",
    "finding routes",
    "writing the graph",
)


def index_repository(root: Path, store_dir: Path, on_step: Callable[[str], None] | None = None) -> IndexSummary:
    """Index every supported file under ``root`` into ``store_dir`` (replacing any previous index).

    ``on_step`` is told the name of each of the INDEX_STEPS as it starts (for a progress display).
    """
    with collector_paused():  # see collector_paused: most of an index run's objects live until its end
        return _index_repository(root, store_dir, on_step or (lambda _: None))


def _index_repository(root: Path, store_dir: Path, step: Callable[[str], None]) -> IndexSummary:
    import pyarrow as pa

    started = time.perf_counter()
    root = root.resolve()
    step(INDEX_STEPS[0])
    paths = list(source_files(root, PYTHON_SUFFIXES))
    sources = load_project(root, paths)
    file_of = {module_name_for(path, root): path.relative_to(root).as_posix() for path in paths}
    step(INDEX_STEPS[1])
    project = analyze_sources(sources)

    symbols = _symbol_rows(project, file_of)
    known = {str(symbol_id) for symbol_id in symbols["id"]}
    calls: dict[str, list[object]] = {"from": [], "to": [], "line": [], "candidates": []}
    sites = unresolved = ambiguous = 0
    for site in project.call_sites():
        sites += 1
        if not site.targets:
            unresolved += 1
        elif len(site.targets) > 1:
            ambiguous += 1
        for target in sorted(site.targets):
            if target not in known:
                _add_symbol(symbols, target, _external_kind(target), "", "", 0, 0)
                known.add(target)
            calls["from"].append(site.caller)
            calls["to"].append(target)
            calls["line"].append(site.lineno)
            calls["candidates"].append(len(site.targets))
    inherits = _inherit_rows(project, symbols, known)

    step(INDEX_STEPS[2])
    tag_files = _tag_files(root)
    for tag_file in tag_files:
        _add_symbol(symbols, tag_file.module_id, "module", tag_file.path, tag_file.path, 1, 1, tag_file.language)
        for d in tag_file.definitions:
            _add_symbol(symbols, d.id, d.kind, d.name, tag_file.path, d.start_line, d.end_line, tag_file.language)
    for call, targets in resolve_calls(tag_files):
        sites += 1
        unresolved += not targets  # library calls, mostly: nothing in the repository defines the name
        ambiguous += len(targets) > 1
        for target in targets:
            calls["from"].append(call.caller)
            calls["to"].append(target)
            calls["line"].append(call.line)
            calls["candidates"].append(len(targets))
    languages = sorted({"python"} if sources else set()) + sorted({f.language for f in tag_files})
    step(INDEX_STEPS[3])
    routes = python_routes(project, file_of) + _express_routes(root, tag_files)
    route_rows: dict[str, list[object]] = {k: [] for k in ("id", "method", "path", "framework", "file", "line")}
    handler_rows: dict[str, list[object]] = {"from": [], "to": []}
    all_ids = {str(symbol_id) for symbol_id in symbols["id"]}
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

    meta = {"root": str(root), "indexed_at": str(int(time.time())), "languages": ",".join(languages)}
    references: dict[str, list[object]] = {"from": [], "to": [], "line": [], "candidates": []}
    for owner, target, line in project.reference_edges():
        if owner in known and target in known:
            for key, value in (("from", owner), ("to", target), ("line", line), ("candidates", 1)):
                references[key].append(value)
    for ref, targets in resolve_calls(tag_files, references=True):
        for target in targets:
            for key, value in (("from", ref.caller), ("to", target), ("line", ref.line), ("candidates", len(targets))):
                references[key].append(value)

    step(INDEX_STEPS[4])
    hashes = file_hashes(root)
    with CodeGraphStore.building(store_dir) as store:
        store.load(
            pa.table(symbols),
            pa.table(calls),
            pa.table(inherits),
            meta,
            pa.table(route_rows),
            pa.table(handler_rows),
            pa.table({"path": list(hashes), "sha256": list(hashes.values())}),
            pa.table(references),
        )
    return IndexSummary(
        root=str(root),
        store=str(CodeGraphStore.location(store_dir)),
        files=len(sources) + len(tag_files),
        symbols=sum(1 for kind in symbols["kind"] if kind not in ("external", "builtin")),
        call_edges=len(calls["from"]),
        call_sites=sites,
        unresolved_call_sites=unresolved,
        ambiguous_call_sites=ambiguous,
        seconds=round(time.perf_counter() - started, 3),
    )


def _symbol_rows(project: PyProject, file_of: dict[str, str]) -> dict[str, list[object]]:
    rows: dict[str, list[object]] = {
        k: [] for k in ("id", "name", "kind", "language", "file", "start_line", "end_line")
    }
    for scope in project.scopes.values():
        kind = {"module": "module", "class": "class", "lambda": "lambda"}.get(scope.kind)
        if kind is None:
            kind = "method" if scope.class_fqn else "function"
        name = scope.fqn.rsplit(".", 1)[-1] if scope.kind != "module" else scope.fqn
        _add_symbol(rows, scope.fqn, kind, name, file_of.get(scope.module, ""), scope.lineno, scope.end_lineno)
    return rows


def _add_symbol(
    rows: dict[str, list[object]],
    fqn: str,
    kind: str,
    name: str,
    file: str,
    start: int,
    end: int,
    language: str = "python",
) -> None:
    rows["id"].append(fqn)
    rows["name"].append(name or fqn.rsplit(".", 1)[-1])
    rows["kind"].append(kind)
    rows["language"].append(language)
    rows["file"].append(file)
    rows["start_line"].append(start)
    rows["end_line"].append(end)
    rows.setdefault("words", []).append(identifier_words(f"{fqn} {file}"))


def _express_routes(root: Path, tag_files: list[TagFile]) -> list[Route]:
    """Express routes in JS/TS files, their named handlers resolved to definitions by name."""
    by_name: dict[str, list[str]] = {}
    for tag_file in tag_files:
        for d in tag_file.definitions:
            by_name.setdefault(d.name, []).append(d.id)
    routes: list[Route] = []
    for tag_file in tag_files:
        if tag_file.language not in ("javascript", "typescript", "tsx"):
            continue
        source = (root / tag_file.path).read_bytes()
        for route, handler in express_routes(tag_file.path, source, language_for(tag_file.path)):
            candidates = by_name.get(handler or "", [])
            local = [c for c in candidates if c.startswith(f"{tag_file.path}:")]
            routes.append(
                Route(route.method, route.path, route.framework, route.file, route.line, tuple(local or candidates))
            )
    return routes


def _tag_files(root: Path) -> list[TagFile]:
    out: list[TagFile] = []
    for path in source_files(root, frozenset(LANGUAGE_OF_SUFFIX)):
        try:
            parsed = extract(path.relative_to(root).as_posix(), path.read_bytes())
        except OSError:
            continue
        if parsed is not None:
            out.append(parsed)
    return out


def identifier_words(text: str) -> str:
    """``pkg.LdapClient.bind_user src/auth.py`` -> ``pkg ldap client bind user src auth py`` (for full-text search)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return " ".join(w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w)


def _external_kind(target: str) -> str:
    return "builtin" if target.startswith(("<builtin>", "<**")) else "external"


def _inherit_rows(project: PyProject, symbols: dict[str, list[object]], known: set[str]) -> dict[str, list[object]]:
    rows: dict[str, list[object]] = {"from": [], "to": [], "position": []}
    for cls in project.class_bases:
        mro = project.mro(cls)
        direct = [base for base in mro[1:] if base in _direct_bases(project, cls)]
        for position, base in enumerate(direct):
            if base not in known:
                _add_symbol(symbols, base, _external_kind(base), "", "", 0, 0)
                known.add(base)
            rows["from"].append(cls)
            rows["to"].append(base)
            rows["position"].append(position)
    return rows


def _direct_bases(project: PyProject, cls: str) -> set[str]:
    scope = project.scopes[cls]
    out: set[str] = set()
    for base in project.class_bases.get(cls, []):
        out |= project.eval(base, scope.parent or scope)
    return out
