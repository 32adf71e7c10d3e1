"""TypeScript and JavaScript resolved by the TypeScript compiler's checker, run by Node (``typescript/tsgraph.cjs``).

Measured on real projects (docs/benchmarks.md, bench/bench_codegraph_languages.py): name-based resolution over
tree-sitter tags gave call precision 0.35-0.96; a call's target is what the checker's
``getResolvedSignature(call).declaration`` says, so the compiler is the engine whenever ``node`` is on PATH.
The compiler used is the repository's own ``node_modules/typescript`` (major versions 4 to 6, which have the
JavaScript API), else the copy installed inside this package by ``make install`` (pinned in
``typescript/package-lock.json``); never a download at index time. Without Node, or when the compiler run fails,
the files go through the tree-sitter path and ``index_status`` says so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strata.codegraph.tags import TagDefinition, TagFile
from strata.shared.log import get_logger

__all__ = ["TS_SUFFIXES", "CompilerRun", "ResolvedEdges", "compiler_files", "find_compiler"]

log = get_logger("strata.codegraph.tscompiler")

TS_SUFFIXES = frozenset({".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"})
SCRIPT = Path(__file__).with_name("typescript") / "tsgraph.cjs"
BUNDLED = Path(__file__).with_name("typescript") / "node_modules" / "typescript"
NODE_ENV = "STRATA_CODEGRAPH_NODE"  # a node binary to use, or "off" for the tree-sitter path
HEAP_MB = 4096  # Node's heap: a run past it fails and the files fall back to tree-sitter
SECONDS_BASE, SECONDS_PER_FILE = 120.0, 0.2


@dataclass
class ResolvedEdges:
    """One file's edges as the compiler resolved them: (from, to, line or position) triples."""

    calls: list[tuple[str, str, int]] = field(default_factory=list)
    references: list[tuple[str, str, int]] = field(default_factory=list)
    imports: list[tuple[str, str, int]] = field(default_factory=list)
    bases: list[tuple[str, str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class CompilerRun:
    """Which engine indexed the TypeScript/JavaScript files and why: what ``index_status`` reports."""

    engine: str  # "compiler 6.0.3 (bundled)", "compiler 5.4.5 (repository)", "tree-sitter (node not found)"
    files: list[TagFile]
    resolved: dict[str, ResolvedEdges]  # by file path; empty on the tree-sitter path
    parse_errors: int = 0


@dataclass(frozen=True)
class Compiler:
    node: str
    typescript: Path  # lib/typescript.js
    version: str
    origin: str  # "repository" or "bundled"


def find_compiler(root: Path) -> tuple[Compiler | None, str]:
    """Node and a TypeScript with the JavaScript API, or None and why not."""
    node_setting = os.environ.get(NODE_ENV, "")
    if node_setting == "off":
        return None, f"{NODE_ENV}=off"
    node = node_setting or shutil.which("node")
    if not node:
        return None, "node not found"
    for origin, package in (("repository", root / "node_modules" / "typescript"), ("bundled", BUNDLED)):
        version = _api_version(package)
        if version is not None:
            return Compiler(node, package / "lib" / "typescript.js", version, origin), ""
    return None, "no TypeScript compiler: run make install"


def _api_version(package: Path) -> str | None:
    """The version of a TypeScript package whose JavaScript API this uses (4.x to 6.x; 7 is the Go port)."""
    try:
        version = str(json.loads((package / "package.json").read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    major = version.split(".", 1)[0]
    if not major.isdigit() or not 4 <= int(major) <= 6 or not (package / "lib" / "typescript.js").is_file():
        return None
    return version


def _tsconfig(root: Path) -> str:
    for name in ("tsconfig.json", "jsconfig.json"):
        if (root / name).is_file():
            return name
    return ""


def compiler_files(root: Path, paths: list[str]) -> CompilerRun:
    """Definitions and resolved edges of ``paths`` (repository-relative TS/JS files), or None when the compiler
    cannot run here (the reason is logged; the caller indexes with tree-sitter)."""
    compiler, why = find_compiler(root)
    if compiler is None:
        log.info("typescript_tree_sitter", reason=why)
        return CompilerRun(f"tree-sitter ({why})", [], {})
    request = json.dumps(
        {"root": str(root), "files": paths, "typescript": str(compiler.typescript), "tsconfig": _tsconfig(root)}
    )
    timeout = SECONDS_BASE + SECONDS_PER_FILE * len(paths)
    try:
        done = subprocess.run(
            [compiler.node, f"--max-old-space-size={HEAP_MB}", "--stack-size=8000", str(SCRIPT)],
            input=request.encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        reason = f"compiler run failed: {type(error).__name__}"
        log.warning("typescript_compiler_failed", reason=reason)
        return CompilerRun(f"tree-sitter ({reason})", [], {})
    lines = done.stdout.decode("utf-8", errors="replace").splitlines()
    if done.returncode != 0 or not lines or '"done"' not in lines[-1]:
        tail = done.stderr.decode("utf-8", errors="replace").strip().splitlines()[-1:] or [""]
        reason = f"compiler run failed: exit {done.returncode}"
        log.warning("typescript_compiler_failed", reason=reason, stderr=tail[0][:300])
        return CompilerRun(f"tree-sitter ({reason})", [], {})
    header = json.loads(lines[0])
    files: list[TagFile] = []
    resolved: dict[str, ResolvedEdges] = {}
    errors = 0
    for record in _records(lines[1:-1]):
        path = record["file"]
        definitions = [
            TagDefinition(str(i), str(name), str(kind), int(start), int(end), 0, 0)
            for i, name, kind, start, end in record["definitions"]
        ]
        files.append(TagFile(path, record["language"], path, definitions, [], [], [], [], ""))
        resolved[path] = ResolvedEdges(
            [_triple(r) for r in record["calls"]],
            [_triple(r) for r in record["references"]],
            [_triple(r) for r in record["imports"]],
            [_triple(r) for r in record["bases"]],
        )
        errors += int(record.get("errors", 0))
    engine = f"compiler {header['typescript']} ({compiler.origin})"
    log.info("typescript_compiler", engine=engine, files=len(files), tsconfig=header.get("tsconfig", ""))
    return CompilerRun(engine, files, resolved, errors)


def _records(lines: list[str]) -> Iterator[dict[str, Any]]:
    for text in lines:
        record = json.loads(text)
        if "file" in record:
            yield record


def _triple(row: list[Any]) -> tuple[str, str, int]:
    source, target, value = row
    return str(source), str(target), int(value)
