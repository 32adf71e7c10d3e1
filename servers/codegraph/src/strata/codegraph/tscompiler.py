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

import collections
import contextlib
import json
import os
import queue
import shutil
import subprocess
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from strata.codegraph.compiled import CompilerFailed, CompilerRun, ResolvedEdges, file_and_edges
from strata.codegraph.records import TagFile
from strata.shared.log import get_logger

__all__ = ["TS_SUFFIXES", "CompilerFailed", "CompilerSession", "compiler_files", "find_compiler"]

log = get_logger("strata.codegraph.tscompiler")

TS_SUFFIXES = frozenset({".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"})
SCRIPT = Path(__file__).with_name("typescript") / "tsgraph.cjs"
BUNDLED = Path(__file__).with_name("typescript") / "node_modules" / "typescript"
NODE_ENV = "STRATA_CODEGRAPH_NODE"  # a node binary to use, or "off" for the tree-sitter path
TYPESCRIPT_ENV = "STRATA_CODEGRAPH_TYPESCRIPT"  # "bundled": never the repository's node_modules/typescript
HEAP_MB = 4096  # Node's heap: a run past it fails and the files fall back to tree-sitter
SECONDS_BASE, SECONDS_PER_FILE = 120.0, 0.2


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
    candidates = [("bundled", BUNDLED)]
    if os.environ.get(TYPESCRIPT_ENV, "") != "bundled":  # the repository's own compiler runs its code, as tsc does
        candidates.insert(0, ("repository", root / "node_modules" / "typescript"))
    for origin, package in candidates:
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


def compiler_files(root: Path, paths: list[str], *, keep: bool = False) -> CompilerRun:
    """Definitions and resolved edges of ``paths`` (repository-relative TS/JS files). When the compiler cannot run
    here the run says why and has no files (the caller indexes them with tree-sitter). ``keep`` keeps the compiler
    running for :meth:`CompilerSession.update` (close the run when done)."""
    compiler, why = find_compiler(root)
    if compiler is None:
        log.info("typescript_tree_sitter", reason=why)
        return CompilerRun(f"tree-sitter ({why})", [], {})
    request = {"root": str(root), "files": paths, "typescript": str(compiler.typescript), "tsconfig": _tsconfig(root)}
    try:
        session = CompilerSession(compiler)
        header, records = session.request(request, SECONDS_BASE + SECONDS_PER_FILE * len(paths))
    except CompilerFailed as error:
        log.warning("typescript_compiler_failed", reason=str(error), stderr=error.stderr)
        return CompilerRun(f"tree-sitter (compiler run failed: {error})", [], {})
    if not keep:
        session.close()
    files: list[TagFile] = []
    resolved: dict[str, ResolvedEdges] = {}
    for record in records:
        tag_file, edges = file_and_edges(record)
        files.append(tag_file)
        resolved[tag_file.path] = edges
    engine = f"compiler {header['typescript']} ({compiler.origin})"
    log.info("typescript_compiler", engine=engine, files=len(files), tsconfig=header.get("tsconfig", ""))
    return CompilerRun(engine, files, resolved, session if keep else None)


class CompilerSession:
    """The compiler in a Node process of its own, asked over JSON lines (see typescript/tsgraph.cjs).

    It holds the program between edits: an edit re-parses the edited files only and the checker answers for them
    (mobx, zod: 15-70 ms per edited file in Node). The process ends with :meth:`close`, or when this object goes.
    """

    def __init__(self, compiler: Compiler) -> None:
        try:
            self._process = subprocess.Popen(
                [compiler.node, f"--max-old-space-size={HEAP_MB}", "--stack-size=4000", str(SCRIPT)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as error:
            raise CompilerFailed(type(error).__name__) from error
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=5)
        threading.Thread(target=self._read, args=(self._process.stdout,), daemon=True).start()
        threading.Thread(target=self._drain, args=(self._process.stderr,), daemon=True).start()
        self._finalizer = weakref.finalize(self, _stop, self._process)
        self._lock = threading.Lock()

    def _read(self, stream: IO[bytes]) -> None:
        try:
            for line in stream:
                self._lines.put(line)
        except (OSError, ValueError):  # close() closed the pipe under the loop: the process is gone either way
            pass
        self._lines.put(None)

    def _drain(self, stream: IO[bytes]) -> None:
        try:
            for line in stream:
                self._stderr.append(line.decode("utf-8", errors="replace").strip()[:300])
        except (OSError, ValueError):  # as in _read
            pass

    def request(self, message: dict[str, Any], timeout: float) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Send one message; the first answer line and the file records up to ``done`` (which is dropped)."""
        with self._lock:
            stdin = self._process.stdin
            try:
                assert stdin is not None
                stdin.write(json.dumps(message).encode() + b"\n")
                stdin.flush()
            except (OSError, ValueError) as error:  # it ended before reading: say how it ended
                try:
                    reason = f"exit {self._process.wait(timeout=5)}"
                except subprocess.TimeoutExpired:
                    reason = f"the compiler is gone ({type(error).__name__})"
                self.close()
                raise CompilerFailed(reason, self._last_error()) from error
            deadline = time.monotonic() + timeout
            header: dict[str, Any] | None = None
            records: list[dict[str, Any]] = []
            while True:
                try:
                    line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    self.close()
                    raise CompilerFailed(f"no answer in {timeout:.0f} s", self._last_error()) from None
                if line is None:
                    code = self._process.wait()
                    self.close()
                    raise CompilerFailed(f"exit {code}", self._last_error())
                answer = json.loads(line)
                if "file" in answer:
                    records.append(answer)
                elif header is None and not answer.get("done"):
                    header = answer
                if answer.get("done"):
                    return header or answer, records

    def update(self, changed: list[str], removed: list[str]) -> list[dict[str, Any]]:
        """Records of every file an edit reaches (see typescript/tsgraph.cjs)."""
        return self.request({"changed": changed, "removed": removed}, SECONDS_BASE)[1]

    def _last_error(self) -> str:
        return self._stderr[-1] if self._stderr else ""

    @property
    def alive(self) -> bool:
        return self._finalizer.alive and self._process.poll() is None

    def close(self) -> None:
        self._finalizer()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
