"""TypeScript and JavaScript resolved by the TypeScript compiler: each case of issue 26 in a small real repository,
asserting the exact edges the compiler's checker gives (the bundled compiler, run by the machine's Node)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from strata.codegraph.index import index_repository
from strata.codegraph.service import CodeGraph
from strata.codegraph.tscompiler import find_compiler

from .conftest import assert_edit_is_incremental, callees, indexed, write_tree

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="the compiler path needs node (make install)")

REPO = {
    "tsconfig.json": '{"compilerOptions": {"baseUrl": ".", "paths": {"@lib/*": ["src/lib/*"]}, "strict": true}}',
    "src/lib/text.ts": (
        "export function stringify(value: unknown): string {\n"  # 1: a project stringify beside JSON.stringify
        "  return JSON.stringify(value);\n"
        "}\n"
        "export function isFunction(x: unknown): boolean {\n"
        "  return typeof x === 'function';\n"
        "}\n"
    ),
    "src/lib/index.ts": "export * from './text';\n",
    "src/lib/more.ts": "export * from './index';\n",
    "src/model.ts": (
        "import { isFunction, stringify } from '@lib/more';\n"  # 1: tsconfig paths, through two `export *`
        "import * as util2 from './util';\n"
        "export abstract class Base {\n"
        "  constructor(readonly name: string) {\n"
        "    isFunction(name);\n"
        "  }\n"
        "  abstract _parse(input: string): string;\n"
        "}\n"
        "export class Str extends Base {\n"  # 9
        "  static create = (name: string) => new Str(name);\n"
        "  constructor(name: string) {\n"
        "    super(name);\n"
        "  }\n"
        "  _parse(input: string): string {\n"
        "    return this.#trim(input);\n"
        "  }\n"
        "  #trim(input: string): string {\n"
        "    return util2.util.clean(input);\n"
        "  }\n"
        "}\n"
        "export class Num extends Base {\n"  # 21
        "  _parse(input: string): string {\n"
        "    return stringify(isFunction(input));\n"
        "  }\n"
        "}\n"
        "export class Wrapper {\n"  # 26
        "  constructor(private inner: Base) {}\n"
        "  run(input: string): string {\n"
        "    return this.inner._parse(input);\n"  # only Base._parse: the declared type, not Str's or Num's
        "  }\n"
        "  format(x: number): string;\n"
        "  format(x: string): string;\n"
        "  format(x: number | string): string {\n"
        "    return stringify(x);\n"
        "  }\n"
        "}\n"
    ),
    "src/util.ts": (
        "export namespace util {\n  export function clean(s: string): string {\n    return s.trim();\n  }\n}\n"
    ),
    "src/steps.ts": (
        "import { Str } from './model';\n"
        "export function first(): number {\n"
        "  function step(): number { return 1; }\n"
        "  return step();\n"
        "}\n"
        "export function second(): number {\n"
        "  function step(): number { return 2; }\n"  # the same name nested in another function: its own symbol
        "  const seen = new Set<string>();\n"
        "  seen.add('x');\n"
        "  Str.create('a');\n"
        "  return step();\n"
        "}\n"
        "export class ObservableSet {\n"
        "  add(value: string): void {}\n"
        "}\n"
    ),
    "src/factory.ts": "import { Num, Str } from './model';\nexport function make() {\n  return new Str('x');\n}\n",
    "src/use.ts": "import { make } from './factory';\nexport function go(): string {\n  return make()._parse('a');\n}\n",
    "web/app.js": (
        "const { first } = require('../src/steps');\n"
        "function handler() { return first(); }\n"
        "module.exports = { handler };\n"
    ),
}


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CodeGraph]:
    yield from indexed(tmp_path_factory.mktemp("ts"), REPO)


def test_the_compiler_ran_and_says_so(graph: CodeGraph) -> None:
    compiler, _ = find_compiler(Path("/nonexistent"))
    assert compiler is not None
    assert graph.status().typescript_engine == f"compiler {compiler.version} (bundled)"


def test_library_calls_stay_library_calls(graph: CodeGraph) -> None:
    # JSON.stringify is not the project's stringify; a native Set.add is not ObservableSet.add
    assert callees(graph, "src/lib/text.ts:stringify") == [("<lib>:JSON.stringify", 2, 1)]
    second = callees(graph, "src/steps.ts:second")
    assert ("<lib>:Set.add", 9, 1) in second and ("<lib>:Set.constructor", 8, 1) in second
    assert not [c for c in graph.calls("src/steps.ts:ObservableSet.add", "callers", 1, 50).items]


def test_constructors_super_private_names_and_class_field_arrows(graph: CodeGraph) -> None:
    assert callees(graph, "src/model.ts:Str.create") == [("src/model.ts:Str.constructor", 10, 1)]
    assert callees(graph, "src/model.ts:Str.constructor") == [("src/model.ts:Base.constructor", 12, 1)]
    assert callees(graph, "src/model.ts:Str._parse") == [("src/model.ts:Str.#trim", 15, 1)]
    # a namespace member reached through a namespace import
    assert callees(graph, "src/model.ts:Str.#trim") == [("src/util.ts:util.clean", 18, 1)]
    assert callees(graph, "src/util.ts:util.clean") == [("<lib>:String.trim", 3, 1)]


def test_re_exports_give_one_row_per_call(graph: CodeGraph) -> None:
    # isFunction reaches model.ts through a tsconfig path and two `export *`: one row, one candidate
    assert callees(graph, "src/model.ts:Base.constructor") == [("src/lib/text.ts:isFunction", 5, 1)]
    assert callees(graph, "src/model.ts:Num._parse") == [
        ("src/lib/text.ts:isFunction", 23, 1),
        ("src/lib/text.ts:stringify", 23, 1),
    ]


def test_a_call_goes_to_the_declared_type_not_every_method_of_the_name(graph: CodeGraph) -> None:
    assert callees(graph, "src/model.ts:Wrapper.run") == [("src/model.ts:Base._parse", 29, 1)]


def test_overloads_are_one_symbol_whose_body_is_its_code(graph: CodeGraph) -> None:
    detail = graph.get_symbol("src/model.ts:Wrapper.format", 1)
    assert (detail.kind, detail.start_line, detail.end_line) == ("method", 31, 35)
    assert callees(graph, "src/model.ts:Wrapper.format") == [("src/lib/text.ts:stringify", 34, 1)]


def test_nested_functions_of_one_name_are_two_symbols(graph: CodeGraph) -> None:
    assert callees(graph, "src/steps.ts:first") == [("src/steps.ts:first.step", 4, 1)]
    assert callees(graph, "src/steps.ts:second")[-1] == ("src/steps.ts:second.step", 11, 1)
    assert callees(graph, "src/steps.ts:second")[-2] == ("src/model.ts:Str.create", 10, 1)


def test_a_call_on_a_returned_value_follows_the_inferred_type(graph: CodeGraph) -> None:
    assert callees(graph, "src/use.ts:go") == [("src/factory.ts:make", 3, 1), ("src/model.ts:Str._parse", 3, 1)]


def test_javascript_require_resolves_too(graph: CodeGraph) -> None:
    assert callees(graph, "web/app.js:handler") == [("src/steps.ts:first", 2, 1)]
    assert [c.caller for c in graph.calls("src/steps.ts:first", "callers", 1, 10).items] == ["web/app.js:handler"]


def test_without_node_the_files_still_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRATA_CODEGRAPH_NODE", "off")
    write_tree(tmp_path, REPO)
    summary = index_repository(tmp_path, tmp_path / ".strata")
    assert summary.files == 9
    service = CodeGraph(tmp_path, tmp_path / ".strata")
    try:
        assert service.status().typescript_engine == "tree-sitter (STRATA_CODEGRAPH_NODE=off)"
        assert "src/model.ts:Wrapper.run" in {s.id for s in service.outline("src/model.ts").items}
        # the tree-sitter path: one row per call and distinct candidates, even through two `export *`
        assert callees(service, "src/model.ts:Num._parse") == [
            ("src/lib/text.ts:isFunction", 23, 1),  # through tsconfig paths and two `export *`, once
            ("src/lib/text.ts:stringify", 23, 1),
        ]
        assert callees(service, "src/lib/text.ts:stringify") == [("<lib>:JSON.stringify", 2, 1)]
        # seen.add() on a value of unknown type: Set has add(), so no guess of the project's ObservableSet.add
        assert not service.calls("src/steps.ts:ObservableSet.add", "callers", 1, 10).items
    finally:
        service.close()


def test_a_node_that_fails_falls_back_to_tree_sitter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "node"
    broken.write_text("#!/bin/sh\necho boom >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setenv("STRATA_CODEGRAPH_NODE", str(broken))
    write_tree(tmp_path / "repo", REPO)
    index_repository(tmp_path / "repo", tmp_path / ".strata")
    service = CodeGraph(tmp_path / "repo", tmp_path / ".strata")
    try:
        assert service.status().typescript_engine == "tree-sitter (compiler run failed: exit 3)"
        assert service.outline("src/util.ts").items
    finally:
        service.close()


@pytest.mark.parametrize(
    "edit",
    [
        # a body edit: only the edited file is resolved again
        {"src/util.ts": REPO["src/util.ts"].replace("s.trim()", "s.trim().toLowerCase()")},
        # a rename: what other files call changes with it
        {
            "src/lib/text.ts": REPO["src/lib/text.ts"].replace("isFunction", "isCallable"),
            "src/model.ts": REPO["src/model.ts"].replace("isFunction", "isCallable"),
        },
        # a definition renamed under its callers' feet: the files that called it are resolved again
        {"src/lib/text.ts": REPO["src/lib/text.ts"].replace("function stringify", "function toText")},
        # a body edit that changes an inferred return type: what use.ts calls on it moves from Str to Num
        {"src/factory.ts": REPO["src/factory.ts"].replace("new Str", "new Num")},
        # a member dropped from a base class another method's call went to
        {"src/model.ts": REPO["src/model.ts"].replace("  abstract _parse(input: string): string;\n", "")},
        # a new file, and a file gone
        {"src/extra.ts": "import { first } from './steps';\nexport const go = () => first();\n", "web/app.js": None},
    ],
)
def test_typescript_edits_update_incrementally_to_what_a_full_index_holds(
    tmp_path: Path, edit: dict[str, str | None]
) -> None:
    assert_edit_is_incremental(tmp_path, REPO, edit)


@pytest.mark.parametrize(
    "edit",
    [
        {"src/util.ts": REPO["src/util.ts"].replace("s.trim()", "s.trim().toLowerCase()")},
        {"src/lib/text.ts": REPO["src/lib/text.ts"].replace("function stringify", "function toText")},
        {"src/extra.ts": "import { first } from './steps';\nexport const go = () => first();\n", "web/app.js": None},
    ],
)
def test_without_node_edits_are_linked_again_incrementally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: dict[str, str | None]
) -> None:
    monkeypatch.setenv("STRATA_CODEGRAPH_NODE", "off")
    assert_edit_is_incremental(tmp_path, REPO, edit)


def test_the_repository_typescript_runs_unless_bundled_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from strata.codegraph.tscompiler import BUNDLED

    write_tree(tmp_path, {"src/a.ts": "export function f(): number { return g(); }\nfunction g() { return 1; }\n"})
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "typescript").symlink_to(BUNDLED, target_is_directory=True)
    compiler, _ = find_compiler(tmp_path)
    assert compiler is not None and compiler.origin == "repository"
    monkeypatch.setenv("STRATA_CODEGRAPH_TYPESCRIPT", "bundled")  # not the repository's code
    compiler, _ = find_compiler(tmp_path)
    assert compiler is not None and compiler.origin == "bundled"


def test_a_deeply_nested_file_neither_overflows_nor_holds_back_the_others(tmp_path: Path) -> None:
    deep = (
        "export const x = "
        + " + ".join(["1"] * 60_000)
        + ";\nexport function f() { return g(); }\nfunction g() { return 1; }\n"
    )
    write_tree(
        tmp_path,
        {"src/deep.ts": deep, "src/ok.ts": "import { f } from './deep';\nexport function h() { return f(); }\n"},
    )
    index_repository(tmp_path, tmp_path / ".strata")
    service = CodeGraph(tmp_path, tmp_path / ".strata")
    try:
        assert service.status().typescript_engine.startswith("compiler ")
        assert callees(service, "src/ok.ts:h") == [("src/deep.ts:f", 2, 1)]
        assert callees(service, "src/deep.ts:f") == [("src/deep.ts:g", 2, 1)]
    finally:
        service.close()
