"""Python modules are named as they are imported: the `src/` layout and source roots a pyproject.toml declares."""

from __future__ import annotations

from pathlib import Path

import pytest

from strata.codegraph.index import index_repository
from strata.codegraph.service import CodeGraph

from .conftest import assert_edit_is_incremental, callees, write_tree

SRC_LAYOUT = {
    "pyproject.toml": '[project]\nname = "shop"\nversion = "1"\n',
    "src/shop/__init__.py": "",
    "src/shop/m.py": "def main():\n    return helper()\n\ndef helper():\n    return 1\n",
    "tests/test_m.py": "from shop.m import main\n\ndef test_main():\n    assert main() == 1\n",
}


def test_a_src_layout_package_is_named_as_imported(tmp_path: Path) -> None:
    write_tree(tmp_path, SRC_LAYOUT)
    index_repository(tmp_path, tmp_path / ".strata")
    graph = CodeGraph(tmp_path, tmp_path / ".strata")
    try:
        assert [s.id for s in graph.outline("src/shop/m.py").items] == ["shop.m.main", "shop.m.helper"]
        assert callees(graph, "tests.test_m.test_main") == [("shop.m.main", 4, 1)]  # the test reaches the package
        assert [c.caller for c in graph.calls("shop.m.main", "callers", 1, 5).items] == ["tests.test_m.test_main"]
    finally:
        graph.close()


@pytest.mark.parametrize(
    "pyproject",
    [
        '[tool.setuptools.packages.find]\nwhere = ["lib"]\n',
        '[tool.setuptools]\npackage-dir = {"" = "lib"}\n',
        '[tool.hatch.build.targets.wheel]\npackages = ["lib/shop"]\n',
        '[tool.poetry]\npackages = [{ include = "shop", from = "lib" }]\n',
        '[tool.uv.build-backend]\nmodule-root = "lib"\n',
    ],
)
def test_a_source_root_the_pyproject_declares(tmp_path: Path, pyproject: str) -> None:
    files = {f"lib/{k[4:]}" if k.startswith("src/") else k: v for k, v in SRC_LAYOUT.items()}
    write_tree(tmp_path, {**files, "pyproject.toml": pyproject})
    index_repository(tmp_path, tmp_path / ".strata")
    graph = CodeGraph(tmp_path, tmp_path / ".strata")
    try:
        assert callees(graph, "tests.test_m.test_main") == [("shop.m.main", 4, 1)]
    finally:
        graph.close()


def test_a_directory_that_is_itself_a_package_is_no_source_root(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/src/__init__.py": "",
            "app/src/core/__init__.py": "",
            "app/src/core/x.py": "def f():\n    pass\n",
        },
    )
    index_repository(tmp_path, tmp_path / ".strata")
    graph = CodeGraph(tmp_path, tmp_path / ".strata")
    try:
        assert [s.id for s in graph.outline("app/src/core/x.py").items] == ["app.src.core.x.f"]
    finally:
        graph.close()


def test_edits_in_a_src_layout_keep_the_names(tmp_path: Path) -> None:
    edit = {
        "src/shop/m.py": SRC_LAYOUT["src/shop/m.py"].replace("return 1", "return 2") + "\ndef extra():\n    main()\n"
    }
    assert_edit_is_incremental(tmp_path, SRC_LAYOUT, edit)
