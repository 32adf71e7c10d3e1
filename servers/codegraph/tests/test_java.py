"""Java resolved by javac (the machine's JDK runs java/JavaGraph.java): the exact edges the compiler gives, in a small
real multi-package repository built here; and the tree-sitter path when the JDK is off."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from strata.codegraph.index import index_repository
from strata.codegraph.service import CodeGraph

from .conftest import assert_edit_is_incremental, callees, indexed, write_tree

pytestmark = pytest.mark.skipif(shutil.which("javac") is None, reason="the javac path needs a JDK")

REPO = {
    "src/com/acme/store/Base.java": (
        "package com.acme.store;\n"
        "\n"
        "public abstract class Base implements Saver {\n"
        "    public void save() {}\n"
        "    public abstract String name();\n"
        "}\n"
    ),
    "src/com/acme/store/Saver.java": "package com.acme.store;\n\npublic interface Saver {\n    void save();\n}\n",
    "src/com/acme/app/Cart.java": (
        "package com.acme.app;\n"
        "\n"
        "import com.acme.store.Base;\n"
        "import com.acme.store.Saver;\n"
        "import java.util.ArrayList;\n"
        "import java.util.List;\n"
        "\n"
        "public class Cart extends Base {\n"  # 8
        "    private final List<String> items = new ArrayList<>();\n"
        "\n"
        "    public Cart() {\n"  # 11
        "        super();\n"
        "    }\n"
        "\n"
        '    public String name() { return "cart"; }\n'  # 15
        "\n"
        "    void add(String item) { items.add(item); }\n"  # 17: List.add, never Cart.add
        "    void add(int count) { add(String.valueOf(count)); }\n"  # 18: the String overload
        "\n"
        "    void checkout(Saver saver) {\n"  # 20
        "        save();\n"  # 21: inherited from Base
        "        saver.save();\n"  # 22: the interface's
        "        new Line(name()).print();\n"  # 23: a nested class with no constructor declared
        "        items.forEach(this::add);\n"  # 24: a method reference
        "        Missing.call();\n"  # 25: a class nothing defines
        "    }\n"
        "\n"
        "    static class Line {\n"  # 28
        "        final String text;\n"
        "        Line(String text) { this.text = text; }\n"
        "        void print() { System.out.println(text); }\n"
        "    }\n"
        "}\n"
    ),
}


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CodeGraph]:
    yield from indexed(tmp_path_factory.mktemp("java"), REPO)


CART = "src/com/acme/app/Cart.java"


def test_javac_ran_and_says_so(graph: CodeGraph) -> None:
    assert graph.status().java_engine.startswith("javac ")


def test_calls_follow_types_inheritance_and_overloads(graph: CodeGraph) -> None:
    assert callees(graph, f"{CART}:Cart.checkout") == sorted(
        [
            ("src/com/acme/store/Base.java:Base.save", 21, 1),  # inherited
            ("src/com/acme/store/Saver.java:Saver.save", 22, 1),  # through the interface
            (f"{CART}:Cart.name", 23, 1),
            (f"{CART}:Cart.Line.constructor", 23, 1),
            (f"{CART}:Cart.Line.print", 23, 1),
            ("<lib>:java.lang.Iterable.forEach", 24, 1),
            ("<unresolved>:Missing.call", 25, 1),
        ]
    )
    assert callees(graph, f"{CART}:Cart.add") == [("<lib>:java.util.List.add", 17, 1)]
    assert callees(graph, f"{CART}:Cart.add@18") == [
        ("<lib>:java.lang.String.valueOf", 18, 1),
        (f"{CART}:Cart.add", 18, 1),
    ]
    assert callees(graph, f"{CART}:Cart.constructor") == [("src/com/acme/store/Base.java:Base", 12, 1)]
    assert [(r.symbol, r.line) for r in graph.references(f"{CART}:Cart.add", 10).items] == [
        (f"{CART}:Cart.checkout", 24)
    ]


def test_bases_and_imports(graph: CodeGraph) -> None:
    assert graph.get_symbol(f"{CART}:Cart", 1).bases == ["src/com/acme/store/Base.java:Base"]
    assert graph.get_symbol("src/com/acme/store/Base.java:Base", 1).bases == ["src/com/acme/store/Saver.java:Saver"]
    assert [(i.target, i.line) for i in graph.outline(CART).imports] == [
        ("src/com/acme/store/Base.java", 3),
        ("src/com/acme/store/Saver.java", 4),
        ("<lib>:java.util.ArrayList", 5),
        ("<lib>:java.util.List", 6),
    ]


def test_without_a_jdk_the_files_index_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRATA_CODEGRAPH_JAVA", "off")
    write_tree(tmp_path, REPO)
    index_repository(tmp_path, tmp_path / ".strata")
    service = CodeGraph(tmp_path, tmp_path / ".strata")
    try:
        assert service.status().java_engine == "tree-sitter (STRATA_CODEGRAPH_JAVA=off)"
        assert f"{CART}:Cart.checkout" in {s.id for s in service.outline(CART).items}
    finally:
        service.close()


@pytest.mark.parametrize(
    "edit",
    [
        # a body edit
        {CART: REPO[CART].replace("        save();\n", "        save();\n        save();\n")},
        # a method dropped from the base class another file calls
        {
            "src/com/acme/store/Base.java": REPO["src/com/acme/store/Base.java"].replace(
                "    public void save() {}\n", ""
            )
        },
        # a new class, and one gone
        {
            "src/com/acme/app/Extra.java": "package com.acme.app;\n\nclass Extra { void go() { new Cart().name(); } }\n",
            "src/com/acme/store/Saver.java": None,
        },
    ],
)
def test_java_edits_update_incrementally_to_what_a_full_index_holds(
    tmp_path: Path, edit: dict[str, str | None]
) -> None:
    assert_edit_is_incremental(tmp_path, REPO, edit)
