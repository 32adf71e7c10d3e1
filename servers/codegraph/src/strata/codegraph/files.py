"""Which files of a repository get indexed: .gitignore respected, binaries and huge files skipped."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

import pathspec

__all__ = ["MAX_FILE_BYTES", "SKIP_DIRS", "is_test_file", "scan", "source_files"]

MAX_FILE_BYTES = 2 * 1024 * 1024  # larger sources are almost always generated or vendored
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".strata",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "dist",
        "build",
        "target",
    }
)
# Where test code lives, by the conventions of the test runners: a directory of tests (pytest, unittest, Maven and
# Gradle's src/test, Rust's tests/, Jest's __tests__), or a file named as one (pytest's test_*.py, *_test.py and
# conftest.py, Go's *_test.go, Jest and Vitest's *.test.ts and *.spec.ts, JUnit's FooTest.java).
TEST_DIRS = frozenset({"test", "tests", "__tests__"})
TEST_FILE = re.compile(
    r"(?:test_[^/]*\.pyi?|[^/]*_test\.(?:pyi?|go)|conftest\.py"
    r"|[^/]*\.(?:test|spec)\.(?:[cm]?[jt]s|[jt]sx)|[^/]*Tests?\.java)$"
)


@lru_cache(maxsize=65536)
def is_test_file(relative: str) -> bool:
    """Whether a repository-relative path is test code (its symbols are flagged ``tests``)."""
    directory, _, name = relative.rpartition("/")
    return bool(TEST_FILE.fullmatch(name)) or any(part in TEST_DIRS for part in directory.split("/"))


def _ignore_spec(root: Path) -> pathspec.PathSpec:  # type: ignore[type-arg]
    patterns: list[str] = []
    gitignore = root / ".gitignore"
    if gitignore.is_file():
        patterns = gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
    return pathspec.PathSpec.from_lines("gitignore", patterns)


def source_files(root: Path, suffixes: frozenset[str]) -> list[Path]:
    """Files under ``root`` with one of ``suffixes``, in a stable order, skipping ignored and oversized ones."""
    return [root / relative for relative in scan(root, suffixes)]


def scan(root: Path, suffixes: frozenset[str]) -> dict[str, tuple[int, int]]:
    """:func:`source_files` as repository-relative paths, each with its (size, modification time in ns).

    Ordered as the paths sort; one stat per file and no Path objects (Lib/: 13 ms instead of 40).
    """
    spec = _ignore_spec(root)
    ignored = spec.match_file if spec.patterns else None
    found: list[tuple[list[str], str, int, int]] = []
    pending = [("", str(root))]
    while pending:
        relative_dir, directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            relative = relative_dir + entry.name
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in SKIP_DIRS and not (ignored and ignored(relative + "/")):
                    pending.append((relative + "/", entry.path))
                continue
            if os.path.splitext(entry.name)[1] not in suffixes or entry.is_symlink():
                continue
            if ignored and ignored(relative):
                continue
            try:
                stat = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.st_size <= MAX_FILE_BYTES:
                found.append((relative.split("/"), relative, stat.st_size, stat.st_mtime_ns))
    found.sort()
    return {relative: (size, mtime) for _, relative, size, mtime in found}
