"""The call analysis compiled by mypyc at install (hatch_build.py) answers exactly as its Python source does."""

import hashlib
import importlib.util
import os
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

import pytest

from strata.codegraph import index, pycalls, pysyntax
from strata.codegraph.index import python_analysis_build

SOURCE = Path(index.__file__).with_name("pycalls.py")
SYNTAX_SOURCE = Path(index.__file__).with_name("pysyntax.py")
# Varied real code: packages, relative imports, classes with deep hierarchies, decorators, closures, generators.
STDLIB_PACKAGES = ["json", "email", "logging", "asyncio", "concurrent", "importlib", "unittest", "xml", "http"]


def load_source(name: str, source: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class body runs
    spec.loader.exec_module(module)
    return module


def interpreted_pycalls(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """pycalls.py and the pysyntax.py it imports, loaded from their sources under other names, beside the
    (compiled) strata.codegraph.pycalls and strata.codegraph.pysyntax."""
    syntax = load_source("strata_codegraph_pysyntax_interpreted", SYNTAX_SOURCE)
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "strata.codegraph.pysyntax", syntax)  # what pycalls.py imports, while it does
        module = load_source("strata_codegraph_pycalls_interpreted", SOURCE)
    assert module.lower_sources is syntax.lower_sources
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
    assert python_analysis_build() == expected, pycalls.__file__
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
    source = tmp_path / "pycalls.py"
    source.write_text("x = 1\n")
    syntax = tmp_path / "pysyntax.py"
    syntax.write_text("y = 1\n")
    (tmp_path / "pycalls.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    digest = tmp_path / "pycalls.sha256"
    digest.write_text(hashlib.sha256(b"x = 1\ny = 1\n").hexdigest() + "\n")  # both sources, in build order
    monkeypatch.setattr(pycalls, "__file__", str(tmp_path / "pycalls.cpython-311-x86_64-linux-gnu.so"))
    assert python_analysis_build() == "compiled"
    syntax.write_text("y = 2\n")  # edited after the build
    assert python_analysis_build() == "stale"
    syntax.write_text("y = 1\n")
    source.write_text("x = 2\n")
    assert python_analysis_build() == "stale"
    monkeypatch.setattr(pycalls, "__file__", str(source))
    assert python_analysis_build() == "interpreted"
