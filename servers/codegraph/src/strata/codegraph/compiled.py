"""What a compiler-backed engine (TypeScript's checker, go/types) hands the index: each file's definitions and the edges
the compiler resolved, and which engine ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from strata.codegraph.records import TagDefinition, TagFile

__all__ = ["CompilerRun", "ResolvedEdges", "file_and_edges"]


class Closeable(Protocol):
    def close(self) -> None: ...


@dataclass
class ResolvedEdges:
    """One file's edges as the compiler resolved them: (from, to, line or position) triples."""

    calls: list[tuple[str, str, int]] = field(default_factory=list)
    references: list[tuple[str, str, int]] = field(default_factory=list)
    imports: list[tuple[str, str, int]] = field(default_factory=list)
    bases: list[tuple[str, str, int]] = field(default_factory=list)


@dataclass
class CompilerRun:
    """Which engine indexed a language's files and why (what ``index_status`` reports), and the live compiler that
    applies later edits (None on the tree-sitter path, for a one-shot engine, or once closed)."""

    engine: str  # "compiler 6.0.3 (bundled)", "compiler 5.4.5 (repository)", "tree-sitter (node not found)"
    files: list[TagFile]
    resolved: dict[str, ResolvedEdges]  # by file path; empty on the tree-sitter path
    parse_errors: int = 0
    session: Closeable | None = None  # a live compiler that applies edits (tscompiler.CompilerSession)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


def file_and_edges(record: dict[str, Any]) -> tuple[TagFile, ResolvedEdges]:
    path = str(record["file"])
    definitions = [
        TagDefinition(str(i), str(name), str(kind), int(start), int(end), 0, 0)
        for i, name, kind, start, end in record.get("definitions") or []
    ]
    edges = ResolvedEdges(
        [_triple(r) for r in record.get("calls") or []],
        [_triple(r) for r in record.get("references") or []],
        [_triple(r) for r in record.get("imports") or []],
        [_triple(r) for r in record.get("bases") or []],
    )
    return TagFile(path, str(record["language"]), path, definitions, [], [], [], [], ""), edges


def _triple(row: list[Any]) -> tuple[str, str, int]:
    source, target, value = row
    return str(source), str(target), int(value)
