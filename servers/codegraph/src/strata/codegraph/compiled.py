"""What a compiler-backed engine (TypeScript's checker, go/types) hands the index: each file's definitions and the edges
the compiler resolved, and which engine ran."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from strata.codegraph.records import TagDefinition, TagFile

__all__ = ["CompilerFailed", "CompilerRun", "ResolvedEdges", "file_and_edges", "run_once"]


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


class CompilerFailed(Exception):
    """A compiler run that gave no complete answer; ``stderr`` is its last line of error output."""

    def __init__(self, reason: str, stderr: str = "") -> None:
        super().__init__(reason)
        self.stderr = stderr


def run_once(
    command: list[str], request: bytes, timeout: float, *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[dict[str, Any], list[TagFile], dict[str, ResolvedEdges]]:
    """Run a one-shot engine (JSON lines: a header, one record per file, then ``{"done": ...}``) and read its answer:
    the header, the files' definitions and their resolved edges. Raises CompilerFailed."""
    try:
        done = subprocess.run(
            command, input=request, capture_output=True, cwd=cwd, env=env, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CompilerFailed(type(error).__name__) from error
    lines = done.stdout.decode("utf-8", errors="replace").splitlines()
    if done.returncode != 0 or not lines or '"done"' not in lines[-1]:
        stderr = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise CompilerFailed(f"exit {done.returncode}", stderr[-1][:300] if stderr else "")
    files: list[TagFile] = []
    resolved: dict[str, ResolvedEdges] = {}
    for text in lines[1:-1]:
        tag_file, edges = file_and_edges(json.loads(text))
        files.append(tag_file)
        resolved[tag_file.path] = edges
    return json.loads(lines[0]), files, resolved
