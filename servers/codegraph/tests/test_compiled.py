"""The call analysis compiled by mypyc at install (hatch_build.py) answers exactly as its Python source does."""

import hashlib
import importlib
import importlib.util
import os
import sys
import sysconfig
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

import pytest

import strata.codegraph
from strata.codegraph import index, pycalls, pysyntax
from strata.codegraph.index import COMPILED_SOURCES, python_analysis_build
from strata.codegraph.pycalls import solver

PACKAGE = Path(index.__file__).parent
# the compiled modules by name: strata.codegraph.pycalls.solver, ..., strata.codegraph.pysyntax
COMPILED = {
    "strata.codegraph." + source.removesuffix(".py").replace("/", "."): PACKAGE / source for source in COMPILED_SOURCES
}
# Varied real code: packages, relative imports, classes with deep hierarchies, decorators, closures, generators.
STDLIB_PACKAGES = ["json", "email", "logging", "asyncio", "concurrent", "importlib", "unittest", "xml", "http"]


class SourcesFirst:
    """A meta path finder that loads the compiled modules from their .py sources (Python prefers an extension)."""

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None) -> ModuleSpec | None:
        source = COMPILED.get(name)
        return None if source is None else importlib.util.spec_from_file_location(name, source)


def interpreted_pycalls(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The pycalls package imported afresh with every compiled module run from its source, beside the compiled one
    (whose modules are back in sys.modules once the test ends)."""
    for name in [*COMPILED, "strata.codegraph.pycalls"]:
        monkeypatch.delitem(sys.modules, name, raising=False)
    for name in ("pycalls", "pysyntax", "pyworkers"):  # the import binds them on the parent package again
        monkeypatch.setattr(strata.codegraph, name, sys.modules.get(f"strata.codegraph.{name}"), raising=False)
    monkeypatch.setattr(sys, "meta_path", [SourcesFirst(), *sys.meta_path])
    module = importlib.import_module("strata.codegraph.pycalls")
    loaded = [sys.modules[name] for name in COMPILED]
    assert all(Path(m.__file__ or "").suffix == ".py" for m in loaded), [m.__file__ for m in loaded]
    assert module is not pycalls
    return module


def stdlib_sample() -> tuple[Path, list[Path]]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return root, sorted(p for package in STDLIB_PACKAGES for p in (root / package).rglob("*.py"))


def results(module: ModuleType, root: Path, paths: list[Path], edit: Path) -> list[object]:
    """Everything the index reads from an analysis, after a full solve and after a one-module update."""
    # in this process: a child process would lower with the installed (compiled) pysyntax
    project = module.analyze_sources(module.load_project(root, paths), parallel=False)
    seen: list[object] = []
    for _ in ("full", "update"):
        seen.append(project.call_graph())
        seen.append(sorted((s.caller, s.lineno, s.col, sorted(s.targets)) for s in project.call_sites()))
        seen.append(sorted(project.reference_edges()))
        seen.append(sorted(project.import_edges()))
        edited = edit.read_text() + "\n\ndef added(x):\n    return dumps(x).upper()\n"
        name = module.module_name_for(edit, root)
        project.update(module.parse_sources({name: (edited, False)}, parallel=False))
    return seen


def test_this_install_runs_the_compiled_analysis_built_from_the_current_source() -> None:
    # make install builds it (a C compiler is needed; CI has one): a silent fallback would be caught here
    expected = "interpreted" if os.environ.get("STRATA_CODEGRAPH_PURE") else "compiled"
    assert python_analysis_build() == expected, solver.__file__
    assert Path(pysyntax.__file__ or "").suffix == (".py" if expected == "interpreted" else ".so"), pysyntax.__file__


def test_compiled_and_interpreted_analyses_agree_on_real_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    # the installed analysis (compiled: the test above) against its source run by the interpreter
    root, paths = stdlib_sample()
    assert len(paths) > 100
    edit = root / "json" / "__init__.py"
    compiled = results(pycalls, root, paths, edit)
    interpreted = results(interpreted_pycalls(monkeypatch), root, paths, edit)
    assert len(compiled[0]) > 2000  # type: ignore[arg-type]
    assert compiled[4] != compiled[0]  # the update changed the call graph
    assert compiled == interpreted


def test_a_compiled_module_older_than_its_source_is_reported_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pycalls").mkdir()
    for number, source in enumerate(COMPILED_SOURCES):
        (tmp_path / source).write_text(f"x = {number}\n")
    compiled = tmp_path / "pycalls" / "solver.cpython-311-x86_64-linux-gnu.so"
    compiled.write_bytes(b"")
    built = "".join(f"x = {number}\n" for number in range(len(COMPILED_SOURCES)))  # every source, in build order
    (tmp_path / "pycalls.sha256").write_text(hashlib.sha256(built.encode()).hexdigest() + "\n")
    monkeypatch.setattr(solver, "__file__", str(compiled))
    assert python_analysis_build() == "compiled"
    (tmp_path / "pysyntax.py").write_text("y = 2\n")  # edited after the build
    assert python_analysis_build() == "stale"
    (tmp_path / "pysyntax.py").write_text(f"x = {COMPILED_SOURCES.index('pysyntax.py')}\n")
    assert python_analysis_build() == "compiled"
    (tmp_path / "pycalls" / "calls.py").write_text("x = 99\n")
    assert python_analysis_build() == "stale"
    monkeypatch.setattr(solver, "__file__", str(tmp_path / "pycalls" / "solver.py"))
    assert python_analysis_build() == "interpreted"


def test_the_index_checks_the_sources_that_the_build_compiles() -> None:
    spec = importlib.util.spec_from_file_location("hatch_build", PACKAGE.parents[2] / "hatch_build.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert tuple(f"{module}.py" for module in build.MODULES) == COMPILED_SOURCES
    assert all((PACKAGE / source).is_file() for source in COMPILED_SOURCES)
