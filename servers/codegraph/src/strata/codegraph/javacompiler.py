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

import json
import os
import shutil
import subprocess
from pathlib import Path

from strata.codegraph.compiled import CompilerRun, ResolvedEdges, file_and_edges
from strata.codegraph.records import TagFile
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
        done = subprocess.run(
            [java, HEAP, "-Xss16m", str(SCRIPT)],
            input=request.encode(),
            capture_output=True,
            timeout=SECONDS_BASE + SECONDS_PER_FILE * len(paths),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return _failed(f"javac run failed: {type(error).__name__}", "")
    lines = done.stdout.decode("utf-8", errors="replace").splitlines()
    if done.returncode != 0 or not lines or '"done"' not in lines[-1]:
        stderr = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        return _failed(f"javac run failed: exit {done.returncode}", stderr[-1][:300] if stderr else "")
    header = json.loads(lines[0])
    files: list[TagFile] = []
    resolved: dict[str, ResolvedEdges] = {}
    for text in lines[1:-1]:
        tag_file, edges = file_and_edges(json.loads(text))
        files.append(tag_file)
        resolved[tag_file.path] = edges
    engine = f"javac {header.get('java', '?')}"
    log.info("java_compiler", engine=engine, files=len(files), errors=json.loads(lines[-1]).get("errors", 0))
    return CompilerRun(engine, files, resolved)


def _failed(reason: str, stderr: str) -> CompilerRun:
    log.warning("java_compiler_failed", reason=reason, stderr=stderr)
    return CompilerRun(f"tree-sitter ({reason})", [], {})
