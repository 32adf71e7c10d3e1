"""Go resolved by go/types, the Go toolchain's own type checker (``golang/gograph.go``, run with ``go run``).

Measured on a real project (docs/benchmarks.md, bench/bench_codegraph_languages.py): name-based resolution over
tree-sitter tags sends a method call on a variable (``err.Error()``) to every project method of that name; go/types
knows the variable's type. So when ``go`` is on PATH it is the engine: a call's target is the function or method
go/types resolves it to, an imported package's function is an external ``<lib>:<import path>.<name>``. Nothing is
fetched (GOPROXY=off): a dependency that is not in the module cache or GOPATH is a package with no names, and calls
into it stay unresolved. Without Go, or when the run fails, the files go through the tree-sitter path and
``index_status`` says so. Go edits rebuild the index (the run takes about a second for 15k lines).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from strata.codegraph.compiled import CompilerFailed, CompilerRun, run_once
from strata.shared.log import get_logger

__all__ = ["go_files"]

log = get_logger("strata.codegraph.gocompiler")

SCRIPT = Path(__file__).with_name("golang") / "gograph.go"
GO_ENV = "STRATA_CODEGRAPH_GO"  # a go binary to use, or "off" for the tree-sitter path
SECONDS_BASE, SECONDS_PER_FILE = 180.0, 0.2


def go_files(root: Path, paths: list[str]) -> CompilerRun:
    """Definitions and resolved edges of ``paths`` (repository-relative .go files); without Go the run says why and
    has no files (the caller indexes them with tree-sitter)."""
    setting = os.environ.get(GO_ENV, "")
    if setting == "off":
        return CompilerRun(f"tree-sitter ({GO_ENV}=off)", [], {})
    go = setting or shutil.which("go")
    if not go:
        return CompilerRun("tree-sitter (go not found)", [], {})
    # nothing fetched, and the repository's go.mod/go.sum never rewritten (a missing requirement stays unresolved)
    environment = {**os.environ, "GOPROXY": "off", "GOFLAGS": "-mod=readonly", "GOWORK": "off", "GOTOOLCHAIN": "local"}
    request = json.dumps({"root": str(root), "files": paths}).encode()
    try:
        header, files, resolved = run_once(
            [go, "run", SCRIPT.name],
            request,
            SECONDS_BASE + SECONDS_PER_FILE * len(paths),
            cwd=SCRIPT.parent,  # outside the repository's module: the script builds on its own
            env=environment,
        )
    except CompilerFailed as error:
        return _failed(f"go run failed: {error}", error.stderr)
    engine = f"go/types {header.get('go', '?')}"
    log.info("go_compiler", engine=engine, files=len(files), module=header.get("module", ""))
    return CompilerRun(engine, files, resolved)


def _failed(reason: str, stderr: str) -> CompilerRun:
    log.warning("go_compiler_failed", reason=reason, stderr=stderr)
    return CompilerRun(f"tree-sitter ({reason})", [], {})
