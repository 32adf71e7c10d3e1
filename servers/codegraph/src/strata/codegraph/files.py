"""Which files of a repository get indexed: .gitignore respected, binaries and huge files skipped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pathspec

__all__ = ["MAX_FILE_BYTES", "SKIP_DIRS", "source_files"]

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


def _ignore_spec(root: Path) -> pathspec.PathSpec:  # type: ignore[type-arg]
    patterns: list[str] = []
    gitignore = root / ".gitignore"
    if gitignore.is_file():
        patterns = gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
    return pathspec.PathSpec.from_lines("gitignore", patterns)


def source_files(root: Path, suffixes: frozenset[str]) -> Iterator[Path]:
    """Files under ``root`` with one of ``suffixes``, in a stable order, skipping ignored and oversized ones."""
    spec = _ignore_spec(root)
    for directory, dirnames, filenames in os.walk(root):
        here = Path(directory)
        relative_dir = here.relative_to(root).as_posix()
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIP_DIRS and not spec.match_file(f"{relative_dir}/{d}/".lstrip("./"))
        )
        for name in sorted(filenames):
            path = here / name
            if path.suffix not in suffixes:
                continue
            relative = path.relative_to(root).as_posix()
            if spec.match_file(relative) or path.is_symlink():
                continue
            try:
                if path.stat().st_size > MAX_FILE_BYTES:
                    continue
            except OSError:
                continue
            yield path
