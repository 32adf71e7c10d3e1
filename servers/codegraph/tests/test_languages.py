"""Definitions and calls for every language besides Python, from one fixture file each (plus a few more)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from strata.codegraph.index import index_repository
from strata.codegraph.service import CodeGraph

FIXTURES = Path(__file__).parent / "fixtures" / "languages"


@pytest.fixture(scope="module")
def polyglot(tmp_path_factory: pytest.TempPathFactory) -> CodeGraph:
    root = tmp_path_factory.mktemp("polyglot")
    shutil.copytree(FIXTURES, root, dirs_exist_ok=True)
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
        ("rust/cache.rs", ["Cache", "Cache.get", "compute", "Store"]),  # the tags query skips trait signatures
        ("java/App.java", ["App", "App.main", "App.run", "App.helper"]),
    ],
)
def test_outline_names_definitions_by_their_containers(polyglot: CodeGraph, file: str, expected: list[str]) -> None:
    outline = [s.id.split(":", 1)[1] for s in polyglot.outline(file).items]
    assert outline == expected


@pytest.mark.parametrize(
    ("caller", "callee"),
    [
        ("javascript/ldap.js:Directory.lookup", "javascript/ldap.js:ldapBind"),
        ("typescript/auth.ts:AuthService.login", "javascript/ldap.js:ldapBind"),  # TS calls JS across files
        ("go/server.go:Server.Start", "go/server.go:listen"),
        ("rust/cache.rs:Cache.get", "rust/cache.rs:compute"),
        ("java/App.java:App.run", "java/App.java:App.helper"),  # same-file definition wins over Other.helper
    ],
)
def test_calls_resolve_by_name_within_the_language(polyglot: CodeGraph, caller: str, callee: str) -> None:
    callees = polyglot.calls(caller, "callees", 1, 20).items
    assert [(c.callee, c.candidates) for c in callees] == [(callee, 1)]


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


def test_java_call_with_definitions_in_two_other_classes_lists_both(tmp_path: Path) -> None:
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
    assert (summary["files"], summary["symbols"]) == (2, 7)  # 5 definitions and the 2 files themselves
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
    assert result["columns"] == ["s.id"] and len(result["rows"]) == 2 and not result["truncated"]
    refused = subprocess.run(
        [cli, "query", "MATCH (s:Symbol) DETACH DELETE s", "--repo", str(tmp_path)], capture_output=True, text=True
    )
    assert refused.returncode != 0 and "read-only" in refused.stderr
    again = subprocess.run(
        [cli, "query", "MATCH (s:Symbol) RETURN count(*)", "--repo", str(tmp_path)], capture_output=True, text=True
    )
    assert json.loads(again.stdout)["rows"] == [[7]]  # nothing was deleted
