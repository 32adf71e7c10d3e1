"""Definitions and calls for every language besides Python, from one fixture file each (plus a few more)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from strata.codegraph.index import index_repository
from strata.codegraph.service import CodeGraph

from .conftest import assert_edit_is_incremental

FIXTURES = Path(__file__).parent / "fixtures" / "languages"


@pytest.fixture(scope="module")
def polyglot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CodeGraph]:
    """The fixtures indexed by name over tree-sitter tags where a compiler would resolve them otherwise: the go/types
    and javac engines are off here (test_golang.py, test_java.py); TypeScript's compiler runs (Node is always there)."""
    root = tmp_path_factory.mktemp("polyglot")
    shutil.copytree(FIXTURES, root, dirs_exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STRATA_CODEGRAPH_GO", "off")
        patch.setenv("STRATA_CODEGRAPH_JAVA", "off")
        index_repository(root, root / ".strata")
    graph = CodeGraph(root, root / ".strata")
    yield graph
    graph.close()


def test_every_language_is_indexed(polyglot: CodeGraph) -> None:
    assert polyglot.status().languages == ["go", "java", "javascript", "rust", "tsx", "typescript"]


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("javascript/ldap.js", ["ldapBind", "check", "Directory", "Directory.lookup"]),
        (
            "typescript/auth.ts",
            ["Authenticator", "Authenticator.login", "AuthService", "AuthService.login", "authenticate"],
        ),
        ("tsx/Login.tsx", ["LoginButton"]),
        ("go/server.go", ["Server", "Server.Start", "listen", "Run"]),
        ("rust/src/cache.rs", ["Cache", "Cache.get", "compute", "Cache.put"]),
        ("rust/src/store/mod.rs", ["Store", "Store.put"]),  # a trait's method signatures too
        ("java/App.java", ["App", "App.main", "App.run", "App.helper"]),
    ],
)
def test_outline_names_definitions_by_their_containers(polyglot: CodeGraph, file: str, expected: list[str]) -> None:
    outline = [s.id.split(":", 1)[1] for s in polyglot.outline(file).items]
    assert outline == expected


@pytest.mark.parametrize(
    ("caller", "callee"),
    [
        ("javascript/ldap.js:ldapBind", "javascript/ldap.js:check"),  # the same-file check(), not check.ts's
        ("typescript/auth.ts:AuthService.login", "javascript/ldap.js:ldapBind"),  # TS calls JS across files
        ("go/server.go:Server.Start", "go/server.go:listen"),
        ("rust/src/cache.rs:Cache.get", "rust/src/cache.rs:compute"),
        ("java/App.java:App.run", "java/App.java:App.helper"),  # same-file definition wins over Other.helper
    ],
)
def test_calls_resolve_by_name_within_the_language(polyglot: CodeGraph, caller: str, callee: str) -> None:
    callees = polyglot.calls(caller, "callees", 1, 20).items
    assert [(c.callee, c.candidates) for c in callees] == [(callee, 1)]


@pytest.mark.parametrize(
    ("caller", "callees"),
    [
        # this.save() reaches the base class's method through `import { Base as Model }` + `extends Model`
        ("javascript/ldap.js:Directory.lookup", ["javascript/base.js:Base.save", "javascript/ldap.js:ldapBind"]),
        # an aliased named import, a namespace import and an external package; not the JS check() of ldap.js
        (
            "typescript/verify.ts:verify",
            ["javascript/ldap.js:ldapBind", "<lib>:react:useState", "typescript/check.ts:check"],
        ),
        # a package of this module (go.mod) and one outside it
        ("go/server.go:Run", ["fmt:Println", "go/server.go:Server.Start", "go/store/store.go:Open"]),
        # `use crate::store::{util::hash as digest}` and self.get() in a trait impl
        ("rust/src/cache.rs:Cache.put", ["rust/src/cache.rs:Cache.get", "rust/src/store/util.rs:hash"]),
        # a static import, a class import and a method inherited from a class of the same package
        (
            "java/com/acme/app/Main.java:Main.run",
            [
                "java/com/acme/app/Base.java:Base.save",
                "java/com/acme/util/Helper.java:Helper.help",
                "java/com/acme/util/Helper.java:Helper.run",
            ],
        ),
    ],
)
def test_imports_and_bases_resolve_calls(polyglot: CodeGraph, caller: str, callees: list[str]) -> None:
    found = polyglot.calls(caller, "callees", 1, 20).items
    assert sorted((c.callee, c.candidates) for c in found) == sorted((c, 1) for c in callees)


@pytest.mark.parametrize(
    ("symbol", "bases"),
    [
        ("javascript/ldap.js:Directory", ["javascript/base.js:Base"]),
        ("typescript/auth.ts:AuthService", ["typescript/auth.ts:Authenticator"]),
        ("go/server.go:Server", ["go/store/store.go:Base"]),  # an embedded struct
        ("rust/src/cache.rs:Cache", ["rust/src/store/mod.rs:Store"]),  # impl Store for Cache
        ("java/com/acme/app/Main.java:Main", ["java/com/acme/app/Base.java:Base"]),  # Runnable is not in the repo
    ],
)
def test_inheritance_and_implementation(polyglot: CodeGraph, symbol: str, bases: list[str]) -> None:
    assert polyglot.get_symbol(symbol, 5).bases == bases


@pytest.mark.parametrize(
    ("file", "imports"),
    [
        (
            "typescript/verify.ts",
            [("<lib>:react:useState", 1), ("typescript/check.ts:check", 2), ("javascript/ldap.js", 3)],
        ),
        ("go/server.go", [("fmt", 4), ("go/store/store.go", 6)]),
        ("rust/src/cache.rs", [("rust/src/store/mod.rs:Store", 1), ("rust/src/store/util.rs:hash", 1)]),
        (
            "java/com/acme/app/Main.java",
            [("java/com/acme/util/Helper.java:Helper", 3), ("java/com/acme/util/Helper.java:Helper.help", 4)],
        ),
    ],
)
def test_file_outline_lists_resolved_imports(polyglot: CodeGraph, file: str, imports: list[tuple[str, int]]) -> None:
    assert [(i.target, i.line) for i in polyglot.outline(file).imports] == imports


def test_references_include_importers(polyglot: CodeGraph) -> None:
    refs = polyglot.references("javascript/ldap.js", 10).items
    assert [(r.symbol, r.how, r.line) for r in refs] == [("typescript/verify.ts", "import", 3)]


def test_a_name_defined_in_several_files_keeps_every_candidate(polyglot: CodeGraph) -> None:
    # javascript/ldap.js and typescript/check.ts both define check(); the JS call has a same-file match
    assert [c.callee for c in polyglot.calls("javascript/ldap.js:ldapBind", "callees", 1, 5).items] == [
        "javascript/ldap.js:check"
    ]
    # go/check.go's check() has no Go definition at all: unresolved, not bound to the JS or TS one
    assert polyglot.calls("go/check.go:Verify", "callees", 1, 5).items == []
    # the TSX arrow function calls authenticate(), defined once in the JS/TS family
    callers = polyglot.calls("typescript/auth.ts:authenticate", "callers", 1, 5).items
    assert [(c.caller, c.candidates) for c in callers] == [("tsx/Login.tsx:LoginButton", 1)]


def test_java_call_with_definitions_in_two_other_classes_lists_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRATA_CODEGRAPH_JAVA", "off")  # by name: javac would call it an error (test_java.py)
    (tmp_path / "A.java").write_text("class A { void save() {} }\n")
    (tmp_path / "B.java").write_text("class B { void save() {} }\n")
    (tmp_path / "C.java").write_text("class C { void go() { save(); } }\n")
    index_repository(tmp_path, tmp_path / ".strata")
    graph = CodeGraph(tmp_path, tmp_path / ".strata")
    callees = graph.calls("C.java:C.go", "callees", 1, 5).items
    graph.close()
    assert [(c.callee, c.candidates) for c in callees] == [("A.java:A.save", 2), ("B.java:B.save", 2)]


def test_index_cli_prints_a_json_summary(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    shutil.copytree(FIXTURES / "go", tmp_path / "go")
    cli = Path(sys.executable).parent / "strata-codegraph"
    done = subprocess.run([str(cli), "index", str(tmp_path), "--json"], capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout)
    assert (summary["files"], summary["symbols"]) == (3, 11)  # 8 definitions and the 3 files themselves
    assert done.stderr == ""  # --json is silent: no progress bar, no logs


def test_query_cli_prints_rows_and_refuses_writes(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    shutil.copytree(FIXTURES / "go", tmp_path / "go")
    cli = str(Path(sys.executable).parent / "strata-codegraph")
    subprocess.run([cli, "index", str(tmp_path)], capture_output=True, check=True)
    done = subprocess.run(
        [cli, "query", "MATCH (s:Symbol) WHERE s.kind = 'module' RETURN s.id ORDER BY s.id", "--repo", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["columns"] == ["s.id"] and len(result["rows"]) == 3 and not result["truncated"]
    refused = subprocess.run(
        [cli, "query", "MATCH (s:Symbol) DETACH DELETE s", "--repo", str(tmp_path)], capture_output=True, text=True
    )
    assert refused.returncode != 0 and "read-only" in refused.stderr
    again = subprocess.run(
        [cli, "query", "MATCH (s:Symbol) WHERE s.kind <> 'external' RETURN count(*)", "--repo", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert json.loads(again.stdout)["rows"] == [[11]]  # nothing was deleted (8 definitions and the 3 files)


def test_rust_calls_without_types_guess_no_library_call(tmp_path: Path) -> None:
    """Rust has no compiler engine here: a path the repository does not define is a library call, a method call on a
    value of unknown type gets no project target when the standard library has a method of that name, macros are
    uses, not calls, and an `impl Trait for u8` (a type outside the repository) is no obstacle."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src/lib.rs").write_text(
        "pub struct Stack { items: Vec<u32> }\n"
        "pub trait Sized2 { fn size(&self) -> usize; }\n"
        "impl Sized2 for u8 { fn size(&self) -> usize { 1 } }\n"
        "impl Stack {\n"
        "    pub fn new() -> Stack { Stack { items: Vec::new() } }\n"  # 5: Vec::new is std's, not Stack::new
        "    pub fn push(&mut self, x: u32) { self.items.push(x); }\n"  # 6: Vec::push, not Stack::push
        "    pub fn depth(&self) -> usize { self.items.len() }\n"
        "}\n"
        "impl std::str::FromStr for Stack {\n"
        "    type Err = String;\n"
        "    fn from_str(s: &str) -> Result<Stack, String> {\n"
        "        let mut stack = Stack::new();\n"  # 12
        "        stack.push(1);\n"  # 13: a name std has too: no guess
        "        let d = stack.depth();\n"  # 14: only the project has depth(): its candidate
        "        assert_eq!(d, 1);\n"  # 15: a macro
        "        if s.is_empty() { return Err(s.to_string()); }\n"  # 16: Err is Result's, not the associated type
        "        Ok(stack)\n"
        "    }\n"
        "}\n"
        "macro_rules! assert_eq { ($a:expr, $b:expr) => {}; }\n"
        "fn guess(x: std::rc::Rc<Stack>) -> usize {\n"  # 21
        "    let y = x.clone();\n"
        "    y.depth() + y.len()\n"  # 23: y's type is not said
        "}\n"
    )
    index_repository(tmp_path, tmp_path / ".strata")
    graph = CodeGraph(tmp_path, tmp_path / ".strata")
    try:
        assert sorted((c.callee, c.line) for c in graph.calls("src/lib.rs:Stack.new", "callees", 1, 10).items) == [
            ("<lib>:Vec::new", 5)
        ]
        # self.items is a Vec (the struct says so): Vec's push, not Stack's
        assert [(c.callee, c.line) for c in graph.calls("src/lib.rs:Stack.push", "callees", 1, 10).items] == [
            ("<lib>:Vec::push", 6)
        ]
        found = sorted((c.callee, c.line) for c in graph.calls("src/lib.rs:Stack.from_str", "callees", 1, 20).items)
        assert found == [
            ("<lib>:str::is_empty", 16),  # s: &str
            ("<lib>:str::to_string", 16),
            ("src/lib.rs:Stack.depth", 14),
            ("src/lib.rs:Stack.new", 12),
            ("src/lib.rs:Stack.push", 13),  # stack = Stack::new(): a Stack
        ]
        # a value whose type nothing here says: a name std has too gets no guess, a project-only name its candidates
        assert sorted((c.callee, c.line) for c in graph.calls("src/lib.rs:guess", "callees", 1, 10).items) == [
            ("<lib>:Rc::clone", 22),  # x: Rc<Stack>
            ("src/lib.rs:Stack.depth", 23),
        ]
        uses = [(r.symbol, r.line) for r in graph.references("src/lib.rs:assert_eq", 10).items]
        assert uses == [("src/lib.rs:Stack.from_str", 15)]
    finally:
        graph.close()


RUST = {
    "Cargo.toml": '[package]\nname = "shop"\nversion = "0.1.0"\n',
    "src/lib.rs": "pub mod store;\nuse store::Store;\npub fn run() -> usize { let s = Store::new(); s.size() }\n",
    "src/store.rs": (
        "pub struct Store { items: Vec<u32> }\n"
        "impl Store {\n"
        "    pub fn new() -> Store { Store { items: Vec::new() } }\n"
        "    pub fn size(&self) -> usize { self.items.len() }\n"
        "}\n"
    ),
}


@pytest.mark.parametrize(
    "edit",
    [
        {"src/store.rs": RUST["src/store.rs"].replace("self.items.len()", "self.items.len() + 1")},
        {"src/store.rs": RUST["src/store.rs"].replace("fn size", "fn count")},  # run() loses its target
        {"src/extra.rs": "use crate::store::Store;\npub fn more() { Store::new(); }\n", "src/lib.rs": None},
    ],
)
def test_rust_edits_are_linked_again_incrementally(tmp_path: Path, edit: dict[str, str | None]) -> None:
    assert_edit_is_incremental(tmp_path, RUST, edit)
