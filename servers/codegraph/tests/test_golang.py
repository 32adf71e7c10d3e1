"""Go resolved by go/types (the machine's Go toolchain runs golang/gograph.go): the exact edges the type checker gives,
in a small real module built here; and the tree-sitter path when Go is off."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from strata.codegraph.index import index_repository
from strata.codegraph.service import CodeGraph

from .conftest import assert_edit_is_incremental, callees, indexed, write_tree

pytestmark = pytest.mark.skipif(shutil.which("go") is None, reason="the go/types path needs Go (.ci/run installs it)")

REPO = {
    "go.mod": "module example.com/shop\n\ngo 1.19\n",
    "store/store.go": (
        "package store\n"
        "\n"
        "type Base struct{}\n"
        "\n"
        "func (b *Base) Save() error { return nil }\n"
        "\n"
        "type Saver interface {\n"
        "\tSave() error\n"
        "}\n"
        "\n"
        "func Open() *Base { return &Base{} }\n"
    ),
    "cart/cart.go": (
        "package cart\n"
        "\n"
        "import (\n"
        '\t"errors"\n'
        '\t"strings"\n'
        "\n"
        '\t"example.com/shop/store"\n'
        ")\n"
        "\n"
        "type Cart struct {\n"  # 10
        "\t*store.Base\n"
        "\titems []string\n"
        "}\n"
        "\n"
        'func (c *Cart) Error() string { return strings.Join(c.items, ",") }\n'  # 15: a project Error()
        "\n"
        "func (c *Cart) Checkout(s store.Saver) error {\n"
        "\tif err := c.Save(); err != nil {\n"  # 18: promoted from the embedded Base
        "\t\treturn errors.New(err.Error())\n"  # 19: error.Error, not Cart.Error
        "\t}\n"
        "\treturn s.Save()\n"  # 21: the interface's method
        "}\n"
        "\n"
        "func Map[T any](xs []T, f func(T) T) []T {\n"  # 24
        "\tfor i := range xs {\n"
        "\t\txs[i] = f(xs[i])\n"  # 26: a func value
        "\t}\n"
        "\treturn xs\n"
        "}\n"
        "\n"
        "func upper(s string) string { return strings.ToUpper(s) }\n"  # 31
        "\n"
        "func Names(c *Cart) []string {\n"
        "\tstore.Open()\n"
        "\tn := len(c.items)\n"
        "\t_ = int64(n)\n"  # 36: a conversion, not a call
        "\treturn Map(c.items, upper)\n"  # 37: a generic call; upper handed over: a reference
        "}\n"
    ),
}


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CodeGraph]:
    yield from indexed(tmp_path_factory.mktemp("go"), REPO)


def test_go_types_ran_and_says_so(graph: CodeGraph) -> None:
    assert graph.status().go_engine.startswith("go/types go1.")


def test_method_calls_follow_the_receiver_type(graph: CodeGraph) -> None:
    assert callees(graph, "cart/cart.go:Cart.Checkout") == [
        ("<lib>:builtin.error.Error", 19, 1),  # err is an error: not the project's Cart.Error
        ("<lib>:errors.New", 19, 1),
        ("store/store.go:Base.Save", 18, 1),  # promoted through the embedded *store.Base
        ("store/store.go:Saver.Save", 21, 1),  # through the interface
    ]
    assert not graph.calls("cart/cart.go:Cart.Error", "callers", 1, 10).items


def test_generics_func_values_builtins_and_conversions(graph: CodeGraph) -> None:
    assert callees(graph, "cart/cart.go:Names") == [
        ("<lib>:builtin.len", 35, 1),
        ("cart/cart.go:Map", 37, 1),
        ("store/store.go:Open", 34, 1),
    ]
    assert callees(graph, "cart/cart.go:Map") == [("<unresolved>:f", 26, 1)]
    assert [(r.symbol, r.line) for r in graph.references("cart/cart.go:upper", 10).items] == [
        ("cart/cart.go:Names", 37)
    ]


def test_embedded_types_and_imports(graph: CodeGraph) -> None:
    assert graph.get_symbol("cart/cart.go:Cart", 1).bases == ["store/store.go:Base"]
    imports = [(i.target, i.line) for i in graph.outline("cart/cart.go").imports]
    assert imports == [("<lib>:errors", 4), ("<lib>:strings", 5), ("store/store.go", 7)]


def test_without_go_the_files_index_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRATA_CODEGRAPH_GO", "off")
    write_tree(tmp_path, REPO)
    index_repository(tmp_path, tmp_path / ".strata")
    service = CodeGraph(tmp_path, tmp_path / ".strata")
    try:
        assert service.status().go_engine == "tree-sitter (STRATA_CODEGRAPH_GO=off)"
        assert "store/store.go:Open" in [c.callee for c in service.calls("cart/cart.go:Names", "callees", 1, 10).items]
    finally:
        service.close()


@pytest.mark.parametrize(
    "edit",
    [
        # a body edit
        {"store/store.go": REPO["store/store.go"].replace("return &Base{}", "b := &Base{}\n\tb.Save()\n\treturn b")},
        # a method renamed under its callers' feet: their calls no longer resolve
        {"store/store.go": REPO["store/store.go"].replace("func (b *Base) Save()", "func (b *Base) Store()")},
        # a new file calling into the module, and a file gone
        {"cart/extra.go": 'package cart\n\nfunc Extra() { upper("x") }\n', "store/store.go": None},
    ],
)
def test_go_edits_update_incrementally_to_what_a_full_index_holds(tmp_path: Path, edit: dict[str, str | None]) -> None:
    assert_edit_is_incremental(tmp_path, REPO, edit)


def test_indexing_fetches_nothing_and_never_rewrites_go_mod(tmp_path: Path) -> None:
    files = {
        **REPO,
        "go.mod": "module example.com/shop\n\ngo 1.19\n\nrequire example.com/missing v1.2.3\n",
        "cart/uses.go": 'package cart\n\nimport "example.com/missing"\n\nfunc Use() { missing.Do() }\n',
    }
    write_tree(tmp_path, files)
    index_repository(tmp_path, tmp_path / ".strata")
    assert (tmp_path / "go.mod").read_text() == files["go.mod"] and not (tmp_path / "go.sum").exists()
    service = CodeGraph(tmp_path, tmp_path / ".strata")
    try:
        assert service.status().go_engine.startswith("go/types")
        assert callees(service, "cart/uses.go:Use") == [("<unresolved>:missing.Do", 5, 1)]
    finally:
        service.close()
