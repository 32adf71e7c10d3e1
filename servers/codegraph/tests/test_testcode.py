"""Test code is indexed and kept apart: its symbols carry the ``tests`` flag, rank after the code in search and in
impact, and a name alone never makes a test the target of the code's call."""

from __future__ import annotations

from pathlib import Path

import pytest

from strata.codegraph.errors import NotIndexedError
from strata.codegraph.files import is_test_file
from strata.codegraph.graph import CodeGraphStore
from strata.codegraph.index import index_repository
from strata.codegraph.service import CodeGraph

from .conftest import callees, write_tree

TREE = {
    "pyproject.toml": '[project]\nname = "shop"\nversion = "1"\n',
    "src/shop/__init__.py": "",
    "src/shop/cart.py": "def total(items):\n    return sum(items)\n\n\ndef checkout(items):\n    return total(items)\n",
    "tests/x.py": "def total():\n    return 0\n",
    "tests/test_cart.py": ("from shop.cart import checkout\n\n\ndef test_checkout():\n    assert checkout([2]) == 2\n"),
    # Rust resolves a call it cannot place by name: an integration test's helper must not be the code's `helper`
    "crate/Cargo.toml": '[package]\nname = "c"\nversion = "0.1.0"\n',
    "crate/src/lib.rs": "pub fn render() -> i32 {\n    helper()\n}\n",
    "crate/tests/common.rs": "pub fn helper() -> i32 {\n    1\n}\n",
    "crate/tests/it.rs": "fn uses() -> i32 {\n    helper()\n}\n",
}


@pytest.mark.parametrize(
    ("path", "tests"),
    [
        ("tests/test_cart.py", True),
        ("pkg/tests/helpers.py", True),
        ("test/util.py", True),
        ("pkg/test_io.py", True),
        ("pkg/io_test.py", True),
        ("conftest.py", True),
        ("cmd/server_test.go", True),
        ("web/app.test.tsx", True),
        ("web/app.spec.js", True),
        ("web/__tests__/app.js", True),
        ("src/test/java/com/acme/CartTest.java", True),
        ("pkg/testing/asserts.py", False),  # a library of test helpers is the library's API
        ("pkg/contest.py", False),
        ("pkg/attestation.py", False),
        ("web/latest.js", False),
        ("src/main/java/com/acme/Test.java.bak", False),
        ("", False),  # an external name has no file
    ],
)
def test_test_files_follow_the_runners_conventions(path: str, tests: bool) -> None:
    assert is_test_file(path) is tests


def test_tests_are_flagged_and_kept_apart(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    index_repository(tmp_path, tmp_path / ".strata")
    graph = CodeGraph(tmp_path, tmp_path / ".strata")
    try:
        flags = {s.id: s.tests for s in graph.search("total", [], 10).items}
        assert list(flags.items()) == [("shop.cart.total", False), ("tests.x.total", True)]  # the shorter id last
        [call] = graph.calls("shop.cart.checkout", "callers", 1, 5).items
        assert (call.caller, call.in_tests) == ("tests.test_cart.test_checkout", True)
        impact = graph.impact("shop.cart.total", depth=3, limit=50)
        assert [(f.file, f.tests) for f in impact.files] == [("src/shop/cart.py", False), ("tests/test_cart.py", True)]
        assert callees(graph, "crate/src/lib.rs:render") == []  # unresolved, not the test's helper
        assert callees(graph, "crate/tests/it.rs:uses") == [("crate/tests/common.rs:helper", 2, 1)]
        rows = graph.query("MATCH (s:Symbol) WHERE s.tests RETURN s.id ORDER BY s.id", 50).rows
        assert [r[0] for r in rows] == [
            "crate/tests/common.rs",
            "crate/tests/common.rs:helper",
            "crate/tests/it.rs",
            "crate/tests/it.rs:uses",
            "tests.test_cart",
            "tests.test_cart.test_checkout",
            "tests.x",
            "tests.x.total",
        ]
    finally:
        graph.close()


def test_an_index_of_an_older_format_is_rebuilt_not_read(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    index_repository(tmp_path, tmp_path / ".strata")
    with CodeGraphStore.updating(tmp_path / ".strata") as store:  # what a strata-codegraph before `tests` wrote
        store._conn.execute("MATCH (m:Meta {key: 'format'}) DELETE m")
    graph = CodeGraph(tmp_path, tmp_path / ".strata")
    try:
        with pytest.raises(NotIndexedError, match="has format 1, written by an older strata-codegraph"):
            graph.search("total", [], 10)
        summary = graph.reindex()
        assert not summary.up_to_date and summary.changed_files == -1  # rebuilt though no file changed
        assert [s.id for s in graph.search("total", [], 10).items] == ["shop.cart.total", "tests.x.total"]
    finally:
        graph.close()
