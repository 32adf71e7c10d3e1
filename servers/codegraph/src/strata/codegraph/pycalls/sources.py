"""From files to a solved analysis: reading a project's sources, naming their modules, lowering them (on two cores
for a large project: pyworkers.py) and solving, with Python's cyclic collector paused meanwhile."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from strata.codegraph.pycalls.project import PyProject
from strata.codegraph.pysyntax import Lowered
from strata.codegraph.pyworkers import lower_sources

__all__ = ["analyze_sources", "collector_paused", "load_project", "module_name_for", "parse_sources"]


def module_name_for(path: Path, root: Path) -> str:
    """``root/pkg/mod.py`` → ``pkg.mod``; ``root/pkg/__init__.py`` → ``pkg``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def load_project(root: Path, files: Iterable[Path]) -> dict[str, tuple[str, bool]]:
    """Read ``files`` under ``root`` into the input of :func:`analyze_sources`."""
    out: dict[str, tuple[str, bool]] = {}
    for path in files:
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        out[module_name_for(path, root)] = (source, path.name == "__init__.py")
    return out


def analyze_sources(
    files: dict[str, tuple[str, bool]],
    collected: Callable[[PyProject], None] | None = None,
    parallel: bool | None = None,
) -> PyProject:
    """Analyze ``{module name: (source, is_package)}``; modules that fail to parse are skipped.

    ``collected`` is called with the project once every module's scopes are known, before the fixpoint.
    ``parallel``: see :func:`parse_sources`.
    """
    with collector_paused():
        modules = {name: lowered for name, lowered in parse_sources(files, parallel).items() if lowered is not None}
        project = PyProject(modules)
        if collected is not None:
            collected(project)
        project.solve()
        return project


def parse_sources(files: dict[str, tuple[str, bool]], parallel: bool | None = None) -> dict[str, Lowered | None]:
    """Parse and lower ``{module name: (source, is_package)}``; a module that does not parse maps to None.

    ``parallel``: lower part of the modules in a child process meanwhile (default: for a large project on a
    machine with a second core; see pysyntax.lower_sources).
    """
    with collector_paused():
        return lower_sources(files, parallel)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a project's trees and sets are built.

    Millions of AST nodes and sets stay alive for the whole analysis, and every generation-2 collection
    walks all of them: parsing the standard library took 17.5 s with the collector on, 3.7 s with it off.
    Nothing built here is garbage until the analysis is dropped, and reference counting frees it then.
    On the way out everything allocated meanwhile is moved to the oldest generation (freeze, then
    unfreeze: no object is visited): left in the youngest, it made the first collection after an index of
    Lib/ walk all of it (4.4 s). Where objects were frozen on purpose (an analysis a server keeps), they
    stay frozen and the new ones join them.
    """
    was_enabled = gc.isenabled()
    frozen_before = gc.get_freeze_count()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            if not frozen_before:
                gc.unfreeze()
            gc.enable()
