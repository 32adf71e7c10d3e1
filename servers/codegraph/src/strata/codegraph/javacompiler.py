"""Java resolved by javac, the JDK's own compiler, through its public tree API (``java/JavaGraph.java``, run with the
JDK's source launcher).

Measured on a real project (docs/benchmarks.md, bench/bench_codegraph_languages.py): name-based resolution over
tree-sitter tags cannot tell which class a method call's receiver is, nor an overload. javac attributes every call,
so when a JDK (``javac`` beside ``java``) is on PATH it is the engine: a call's target is the method javac resolves,
a JDK or library method is an external ``<lib>:<class>.<method>``. Classes that are not on this machine (the
repository's dependencies: Strata reads no build file and fetches nothing) leave their calls unresolved. Without a
JDK, or when the run fails, the files go through the tree-sitter path and ``index_status`` says so. Java edits
rebuild the index.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from strata.codegraph.compiled import CompilerFailed, CompilerRun, run_once
from strata.shared.log import get_logger

__all__ = ["java_files"]

log = get_logger("strata.codegraph.javacompiler")

SCRIPT = Path(__file__).with_name("java") / "JavaGraph.java"
JAVA_ENV = "STRATA_CODEGRAPH_JAVA"  # a java binary (of a JDK) to use, or "off" for the tree-sitter path
HEAP = "-Xmx4g"
SECONDS_BASE, SECONDS_PER_FILE = 180.0, 0.2


def java_files(root: Path, paths: list[str]) -> CompilerRun:
    """Definitions and resolved edges of ``paths`` (repository-relative .java files); without a JDK the run says
    why and has no files (the caller indexes them with tree-sitter)."""
    setting = os.environ.get(JAVA_ENV, "")
    if setting == "off":
        return CompilerRun(f"tree-sitter ({JAVA_ENV}=off)", [], {})
    java = setting or (shutil.which("java") if shutil.which("javac") else None)
    if not java:
        return CompilerRun("tree-sitter (no JDK: javac not found)", [], {})
    request = "\n".join([str(root), *paths]) + "\n"
    try:
        header, files, resolved = run_once(
            [java, HEAP, "-Xss16m", str(SCRIPT)], request.encode(), SECONDS_BASE + SECONDS_PER_FILE * len(paths)
        )
    except CompilerFailed as error:
        return _failed(f"javac run failed: {error}", error.stderr)
    engine = f"javac {header.get('java', '?')}"
    log.info("java_compiler", engine=engine, files=len(files))
    return CompilerRun(engine, files, resolved)


def _failed(reason: str, stderr: str) -> CompilerRun:
    log.warning("java_compiler_failed", reason=reason, stderr=stderr)
    return CompilerRun(f"tree-sitter ({reason})", [], {})
