import shutil
from pathlib import Path
from typing import Any

import pytest

from strata.codegraph.errors import (
    AmbiguousSymbolError,
    NotIndexedError,
    PathOutsideRepoError,
    ReadOnlyQueryError,
    SymbolNotFoundError,
)
from strata.codegraph.graph import CodeGraphStore, HotGraph
from strata.codegraph.index import index_repository
from strata.codegraph.service import CodeGraph
from strata.shared.errors import InvalidRequestError

from .conftest import assert_edit_is_incremental, dump_store, write_tree


def test_index_status_counts_what_was_indexed(graph: CodeGraph, repo: Path) -> None:
    status = graph.status()
    assert status.root == str(repo.resolve())
    assert status.files == 5  # generated/ is gitignored
    assert status.languages == ["python"]
    assert status.calls >= 5


def test_search_ranks_exact_names_first_and_reports_omitted(graph: CodeGraph) -> None:
    found = graph.search("login", [], 2)
    assert found.total == 4 and found.omitted == 2
    assert [s.name for s in found.items] == ["login", "login"]
    methods = graph.search("login", ["function"], 10)
    assert [s.id for s in methods.items] == ["app.views.login_view"]


def test_get_symbol_returns_bounded_source_and_bases(graph: CodeGraph) -> None:
    admin = graph.get_symbol("app.views.Admin", max_lines=2)
    assert admin.kind == "class" and admin.file == "app/views.py"
    assert admin.source.startswith("class Admin(Base):") and admin.truncated
    assert admin.bases == ["app.views.Base"]


def test_callers_follow_imports_and_reexports(graph: CodeGraph) -> None:
    callers = graph.calls("ldap_authenticate", "callers", depth=2, limit=10)
    assert callers.symbol == "app.auth.ldap.ldap_authenticate"
    assert [(c.caller, c.depth) for c in callers.items] == [("app.views.login_view", 1), ("app.views.admin_view", 2)]
    assert all(c.candidates == 1 for c in callers.items)


def test_callees_include_methods_constructors_and_externals(graph: CodeGraph) -> None:
    callees = graph.calls("app.auth.ldap.ldap_authenticate", "callees", depth=1, limit=10)
    # Connection has no __init__: the instantiation itself is the edge
    assert {c.callee for c in callees.items} == {"app.auth.ldap.Connection", "app.auth.ldap.Connection.bind"}
    view = graph.calls("login_view", "callees", depth=1, limit=10)
    assert {(c.callee, c.callee_kind) for c in view.items} == {
        ("app.auth.ldap.ldap_authenticate", "function"),
        ("logging.info", "external"),
    }


def test_super_resolves_to_the_base_method(graph: CodeGraph) -> None:
    callees = graph.calls("app.views.Admin.login", "callees", depth=1, limit=10)
    assert {c.callee for c in callees.items} == {"<builtin>.super", "app.views.Base.login"}


def test_an_ambiguous_name_lists_the_candidates_instead_of_guessing(graph: CodeGraph) -> None:
    with pytest.raises(AmbiguousSymbolError) as err:
        graph.calls("login", "callers", 1, 10)
    message = str(err.value)
    assert message.startswith("ambiguous: 'login' names 3 symbols")
    assert "app.auth.sso.SsoClient.login" in message and "app.views.Admin.login" in message


def test_an_unknown_symbol_suggests_near_names(graph: CodeGraph) -> None:
    with pytest.raises(SymbolNotFoundError, match=r"did you mean app\.auth\.ldap\.ldap_authenticate"):
        graph.get_symbol("ldap_auth", 10)


def test_path_traversal_is_refused(graph: CodeGraph) -> None:
    with pytest.raises(PathOutsideRepoError):
        graph.outline("../../etc/passwd")
    with pytest.raises(PathOutsideRepoError):
        graph.outline("/etc/passwd")
    assert [s.id for s in graph.outline("app/auth/ldap.py").items] == [
        "app.auth.ldap.Connection",
        "app.auth.ldap.Connection.bind",
        "app.auth.ldap.ldap_authenticate",
    ]


def test_no_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NotIndexedError, match="has no index yet"):
        CodeGraph(tmp_path, tmp_path / ".strata").status()


def test_a_new_index_is_picked_up_by_an_open_graph(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("def a():\n    pass\n")
    index_repository(tmp_path, tmp_path / ".strata")
    graph = CodeGraph(tmp_path, tmp_path / ".strata")
    assert graph.search("b", ["function"], 5).total == 0
    (tmp_path / "m.py").write_text("def a():\n    b()\n\ndef b():\n    pass\n")
    index_repository(tmp_path, tmp_path / ".strata")  # while graph still has the old store open
    assert [c.callee for c in graph.calls("m.a", "callees", 1, 5).items] == ["m.b"]
    graph.close()


def test_impact_groups_transitive_callers_by_file(graph: CodeGraph) -> None:
    impact = graph.impact("app.auth.ldap.Connection.bind", depth=3, limit=50)
    assert [(f.file, f.symbols) for f in impact.files] == [
        ("app/views.py", ["app.views.admin_view", "app.views.login_view"]),
        ("app/auth/ldap.py", ["app.auth.ldap.ldap_authenticate"]),
    ]
    assert impact.callers == 3 and impact.omitted == 0


def test_cypher_reads_and_is_bounded(graph: CodeGraph) -> None:
    result = graph.query("MATCH (a:Symbol)-[:CALLS]->(b:Symbol {name: 'ldap_authenticate'}) RETURN a.id", 10)
    assert result.columns == ["a.id"] and result.rows == [["app.views.login_view"]] and not result.truncated
    bounded = graph.query("MATCH (s:Symbol) RETURN s.id", 3)
    assert len(bounded.rows) == 3 and bounded.truncated
    quoted = graph.query("MATCH (s:Symbol) WHERE s.name = 'create' RETURN count(*)", 1)  # a keyword in a string
    assert quoted.rows == [[0]]


@pytest.mark.parametrize(
    "query",
    [
        "CREATE (s:Symbol {id: 'x'})",
        "MATCH (s:Symbol) SET s.name = 'x'",
        "MATCH (s:Symbol) DETACH DELETE s",
        "match (s:Symbol) merge (t:Symbol {id: 'y'})",
        "DROP TABLE Symbol",
        "COPY Symbol FROM 'x.csv'",
        "CALL show_tables() RETURN *",
        "MATCH (s) /* harmless */ DELETE s",
    ],
)
def test_cypher_refuses_writes(graph: CodeGraph, query: str) -> None:
    with pytest.raises(ReadOnlyQueryError, match=r"^read_only: the graph is read-only here"):
        graph.query(query, 10)


def test_cypher_syntax_error_is_one_line(graph: CodeGraph) -> None:
    with pytest.raises(InvalidRequestError, match=r"^invalid_request: query failed: ") as err:
        graph.query("MATCH (s:Symbol RETURN s", 10)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "query",
    [
        "MATCH (a:Symbol)-[*1..12]-(b:Symbol) RETURN count(*)",  # issue 25: 3 minutes, 11 GB, SIGTERM ignored
        "MATCH (a:Symbol)-[*]-(b:Symbol) RETURN count(*)",
        "MATCH p = (a:Symbol)-[:CALLS* SHORTEST 1..40]->(b:Symbol) RETURN p",
        "MATCH (a)-[:CALLS*3..]->(b) RETURN a",
    ],
)
def test_variable_length_paths_need_a_small_upper_bound(graph: CodeGraph, query: str) -> None:
    with pytest.raises(InvalidRequestError, match=r"needs an upper bound of at most 6 hops"):
        graph.query(query, 10)
    assert graph.query("MATCH (a:Symbol)-[:CALLS*1..3]->(b:Symbol) RETURN count(*)", 1).rows[0][0] > 0


def test_a_query_that_grows_past_the_memory_limit_is_killed_and_the_graph_goes_on(graph: CodeGraph) -> None:
    """Kuzu's own limits do not stop range(): it grew past 20 GB and ignored the timeout."""
    with pytest.raises(InvalidRequestError, match=r"^query_too_large: query needed more than the 2048 MB"):
        graph.query("UNWIND range(1, 300000000) AS x RETURN count(x)", 1)
    assert graph.search("login", [], 1).items  # the other tools never waited on it
    assert graph.query("MATCH (s:Symbol) RETURN count(*)", 1).rows[0][0] > 0  # a new worker answers


def test_a_query_past_the_time_limit_is_stopped(graph: CodeGraph, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph._queries, "timeout_s", 0.2)
    with pytest.raises(InvalidRequestError, match=r"^query_timeout: query stopped after 0.2 s"):
        graph.query(
            "UNWIND range(1, 20000) AS x UNWIND range(1, 20000) AS y WITH x + y AS z WHERE z % 7 = 3 RETURN sum(z)", 1
        )
    monkeypatch.setattr(graph._queries, "timeout_s", 10.0)
    assert graph.query("RETURN 1", 1).rows == [[1]]


def test_cypher_replies_are_bounded_in_bytes(graph: CodeGraph) -> None:
    with pytest.raises(InvalidRequestError, match=r"the first row is [\d,]+ bytes of JSON; a reply holds at most"):
        graph.query("RETURN range(1, 2000000)", 1)
    many = graph.query("UNWIND range(1, 1000) AS x RETURN x, lpad('', 2000, 'x')", 1000)
    assert many.truncated and many.note and 0 < len(many.rows) < 1000


def test_a_path_with_a_nul_is_a_coded_error(graph: CodeGraph) -> None:
    with pytest.raises(InvalidRequestError, match="cannot contain a NUL"):
        graph.outline("app/\x00views.py")


def test_task_context_finds_the_code_a_task_is_about_and_its_neighbours(graph: CodeGraph) -> None:
    context = graph.task_context("find where we authenticate against the legacy LDAP server", max_tokens=4000)
    ids = [item.id for item in context.items]
    assert ids[0] == "app.auth.ldap.ldap_authenticate"
    assert context.items[0].reason == "matches the task"
    assert context.items[0].source.startswith("def ldap_authenticate(user, password):")
    reasons = {item.id: item.reason for item in context.items}
    assert reasons["app.views.login_view"] == "calls app.auth.ldap.ldap_authenticate"
    assert "app.auth.ldap.Connection.bind" in reasons  # in ldap.py, so it matches the task directly too
    assert 0 < context.used_tokens <= 4000 and context.omitted == 0


def test_task_context_stays_within_the_token_budget(graph: CodeGraph) -> None:
    roomy = graph.task_context("ldap authenticate login", max_tokens=4000)
    tight = graph.task_context("ldap authenticate login", max_tokens=200)
    assert tight.used_tokens <= 200
    assert len(tight.items) < len(roomy.items)
    assert tight.omitted == len(roomy.items) - len(tight.items)


def test_killing_index_midway_leaves_the_previous_store_usable(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    (tmp_path / "first.py").write_text("def original():\n    pass\n")
    index_repository(tmp_path, tmp_path / ".strata")
    for i in range(400):  # enough work that the kill lands mid-run
        body = "".join(f"def f{i}_{j}():\n    f{i}_{j + 1}()\n" for j in range(60)) + f"def f{i}_60():\n    pass\n"
        (tmp_path / f"mod{i}.py").write_text(body)
    cli = Path(sys.executable).parent / "strata-codegraph"
    process = subprocess.Popen([str(cli), "index", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    assert process.poll() is None, "indexing finished before it could be interrupted"
    process.send_signal(signal.SIGKILL)
    process.wait()
    # a kill during the database phase leaves a half-built store named after the dead process
    (tmp_path / ".strata" / f".codegraph.kuzu.building-{process.pid}").write_bytes(b"half-written")
    (tmp_path / ".strata" / f".codegraph.kuzu.building-{process.pid}.shadow").write_bytes(b"")  # Kuzu's, too
    graph = CodeGraph(tmp_path, tmp_path / ".strata")
    assert [s.id for s in graph.search("original", [], 5).items] == ["first.original"]  # the old index
    index_repository(tmp_path, tmp_path / ".strata")  # and a new run completes over the leftovers
    assert graph.status().files == 401
    graph.close()
    assert not list((tmp_path / ".strata").glob(".codegraph.kuzu.building-*"))


def test_a_failure_while_the_definitions_load_keeps_the_previous_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The calls are resolved and the edges built while a worker thread loads the definitions into the new
    store: an error in either leaves the previous store as it was, and no half-built one behind."""
    from strata.codegraph import index

    (tmp_path / "first.py").write_text("def original():\n    pass\n")
    index_repository(tmp_path, tmp_path / ".strata")
    (tmp_path / "second.py").write_text("from first import original\n\ndef added():\n    original()\n")

    def broken_edges(*args: object) -> None:
        raise RuntimeError("edge rows failed")

    def broken_load(*args: object, **kwargs: object) -> None:
        raise RuntimeError("definitions failed to load")

    resolve_calls = index.analyze_sources  # type: ignore[attr-defined]  # the name index.py calls, patched below

    def broken_fixpoint(sources: Any, collected: Any = None) -> Any:
        def then_fail(project: Any) -> None:  # the definitions are on their way into the store by now
            collected(project)
            raise RuntimeError("fixpoint failed")

        return resolve_calls(sources, then_fail)

    for target, replacement, message in (
        (index, ("analyze_sources", broken_fixpoint), "fixpoint failed"),
        (index, ("_reference_rows", broken_edges), "edge rows failed"),
        (CodeGraphStore, ("load_symbols", broken_load), "definitions failed to load"),
    ):
        with monkeypatch.context() as patch:
            patch.setattr(target, *replacement)
            with pytest.raises(RuntimeError, match=message):
                index_repository(tmp_path, tmp_path / ".strata")
        assert not list((tmp_path / ".strata").glob(".codegraph.kuzu.building-*"))
        graph = CodeGraph(tmp_path, tmp_path / ".strata")
        assert graph.status().files == 1  # the index from before second.py
        assert graph.search("added", [], 5).items == []
        graph.close()
    index_repository(tmp_path, tmp_path / ".strata")
    graph = CodeGraph(tmp_path, tmp_path / ".strata")
    assert [c.caller for c in graph.calls("first.original", "callers", depth=1, limit=5).items] == ["second.added"]
    graph.close()


def test_reindex_does_nothing_when_no_file_changed_and_counts_changes(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def a():\n    pass\n")
    (tmp_path / "b.go").write_text("package b\nfunc B() {}\n")
    graph = CodeGraph(tmp_path, tmp_path / ".strata")
    first = graph.reindex()
    assert first.changed_files == -1 and not first.up_to_date  # nothing to compare with: full index
    again = graph.reindex()
    assert again.up_to_date and again.changed_files == 0 and again.symbols == first.symbols
    (tmp_path / "a.py").write_text("def a():\n    c()\n\ndef c():\n    pass\n")
    (tmp_path / "b.go").unlink()
    changed = graph.reindex()
    assert changed.changed_files == 2 and not changed.up_to_date
    assert [c.callee for c in graph.calls("a.a", "callees", 1, 5).items] == ["a.c"]
    assert not graph.reindex(force=True).up_to_date
    graph.close()


def test_index_reports_each_step_in_order(tmp_path: Path) -> None:
    from strata.codegraph.index import INDEX_STEPS

    (tmp_path / "m.py").write_text("def f():\n    pass\n")
    steps: list[str] = []
    index_repository(tmp_path, tmp_path / ".strata", steps.append)
    assert steps == list(INDEX_STEPS)


def test_find_references_includes_uses_that_are_not_calls(tmp_path: Path) -> None:
    (tmp_path / "hooks.py").write_text(
        "class Token:\n    pass\n\n"
        "def on_login(user):\n    return user\n\n"
        "def register(callback):\n    return callback\n\n"
        "def setup():\n    register(on_login)\n\n"
        "def check(value):\n    return isinstance(value, Token)\n\n"
        "def direct():\n    return on_login('me')\n"
    )
    (tmp_path / "types.ts").write_text(
        "interface Session { id: string }\nfunction open(): Session { return { id: 'x' }; }\n"
    )
    index_repository(tmp_path, tmp_path / ".strata")
    graph = CodeGraph(tmp_path, tmp_path / ".strata")
    refs = graph.references("hooks.on_login", 10)
    assert [(r.symbol, r.line) for r in refs.items] == [("hooks.setup", 11), ("hooks.direct", 17)]
    assert [(r.symbol, r.line) for r in graph.references("hooks.Token", 10).items] == [("hooks.check", 14)]
    # only the call counts as a call
    assert [c.caller for c in graph.calls("hooks.on_login", "callers", 1, 10).items] == ["hooks.direct"]
    assert [r.symbol for r in graph.references("types.ts:Session", 10).items] == ["types.ts:open"]
    graph.close()


def test_in_memory_search_and_walks_agree_with_the_database(graph: CodeGraph) -> None:
    store = graph.store()
    for text, kinds in [
        ("login", []),
        ("LOGIN", []),
        ("ldap", []),
        ("auth.ldap", []),  # spans segments of the id
        ("view", ["function"]),
        ("a", ["class", "method"]),
        ("zz", []),
    ]:
        assert store.search(text, kinds, 5) == store.search_in_database(text, kinds, 5)
    for name in ["login", "bind", "Connection", "connection", "nothing"]:
        assert store.hot().by_name(name, 5) == store.by_name_in_database(name, 5)
    for symbol in ["app.auth.ldap.Connection.bind", "app.views.login_view", "app.views.Admin.login"]:
        for callers in (True, False):
            for depth in (1, 3):
                assert store.calls(symbol, callers=callers, depth=depth, limit=50) == store.calls_in_database(
                    symbol, callers=callers, depth=depth, limit=50
                )


def _hot_view(hot: HotGraph) -> tuple[object, ...]:
    """An in-memory graph's contents, less external names that no call touches (Kuzu drops those)."""
    touched = {k for k, v in hot.callers.items() if v} | {k for k, v in hot.callees.items() if v}
    symbols = {k: v for k, v in hot.symbols.items() if v.kind not in ("external", "builtin") or k in touched}
    return symbols, {k: v for k, v in hot.callers.items() if v}, {k: v for k, v in hot.callees.items() if v}


def test_python_edits_update_the_store_incrementally_to_what_a_full_index_holds(tmp_path: Path) -> None:
    from .conftest import write_tree

    repo = tmp_path / "repo"
    write_tree(
        repo,
        {
            "shop/__init__.py": "from .pay import charge\n",
            "shop/pay.py": "class Card:\n    def debit(self, amount):\n        return audit(amount)\n\n"
            "def audit(x):\n    return x\n\ndef charge(card, amount):\n    return card.debit(amount)\n",
            "shop/web.py": "from flask import Flask\nfrom . import charge\nfrom .pay import Card\n\n"
            "app = Flask(__name__)\n\n@app.post('/pay')\ndef pay():\n    return charge(Card(), 3)\n",
            "static/app.js": "function boot() { return 1; }\n",
        },
    )
    graph = CodeGraph(repo, repo / ".strata")
    assert graph.reindex().incremental is False  # the first index of a process is a full one
    edits: list[dict[str, str | None]] = [
        # a body edit that moves lines and swaps a call; a new subclass; a new route
        {
            "shop/pay.py": "import logging\n\nclass Card:\n    def debit(self, amount):\n        return refund(amount)\n\n"
            "class Gift(Card):\n    pass\n\ndef audit(x):\n    return x\n\ndef refund(x):\n    logging.info(x)\n"
            "    return audit(x)\n\ndef charge(card, amount):\n    return card.debit(amount)\n"
        },
        {
            "shop/web.py": "from flask import Flask\nfrom . import charge\nfrom .pay import Gift\n\n"
            "app = Flask(__name__)\n\n@app.get('/gift')\ndef gift():\n    return charge(Gift(), 5)\n"
        },
        # a module appears, another disappears
        {"shop/report.py": "from .pay import audit\n\ndef daily():\n    return audit(1)\n", "shop/web.py": None},
    ]
    for number, edit in enumerate(edits):
        graph.search("charge", [], 5)  # the in-memory graph is loaded: the update patches it
        loaded = graph.store().loaded()
        for relative, text in edit.items():
            if text is None:
                (repo / relative).unlink()
            else:
                (repo / relative).write_text(text)
        summary = graph.reindex()
        assert summary.incremental and summary.changed_files == len(edit)
        graph.flush()  # the store is written behind the in-memory graph
        status = graph.status()
        assert (summary.symbols, summary.call_edges) == (status.symbols, status.calls)
        full = tmp_path / f"full-{number}"
        index_repository(repo, full)
        incremental_rows, full_rows = dump_store(repo / ".strata"), dump_store(full)
        assert set(incremental_rows["symbols"]) ^ set(full_rows["symbols"]) == set()
        assert incremental_rows == full_rows
        # The patched in-memory graph is adopted (not read back) and equals one built from the store.
        assert loaded is not None and graph.store().loaded() is loaded
        rebuilt = CodeGraphStore.open_read_only(CodeGraphStore.location(full))
        try:
            assert _hot_view(loaded) == _hot_view(rebuilt.hot())
            for text in ("charge", "audit", "gift", "shop.pay", "zz"):
                assert loaded.search(text, [], 10) == rebuilt.hot().search(text, [], 10)
        finally:
            rebuilt.close()
    assert [c.callee for c in graph.calls("shop.pay.refund", "callees", 1, 10).items] == [
        "logging.info",
        "shop.pay.audit",
    ]
    assert graph.routes("", None, 10).total == 0  # web.py and its routes are gone
    assert [(i.target, i.line) for i in graph.outline("shop/report.py").imports] == [("shop.pay.audit", 1)]
    assert [(r.symbol, r.how) for r in graph.references("shop.pay.charge", 5).items] == [("shop", "import")]
    # a JavaScript edit goes through the TypeScript compiler kept alive, to what a full index holds
    (repo / "static/app.js").write_text("function boot() { return 2; }\nfunction other() { boot(); }\n")
    summary = graph.reindex()
    assert summary.incremental is (shutil.which("node") is not None)
    graph.flush()
    index_repository(repo, tmp_path / "full-js")
    assert dump_store(repo / ".strata") == dump_store(tmp_path / "full-js")
    assert [c.caller for c in graph.calls("static/app.js:boot", "callers", 1, 10).items] == ["static/app.js:other"]
    # a Rust file is linked again by name with the other Rust files, incrementally too
    (repo / "lib.rs").write_text("fn main() { helper(); }\nfn helper() {}\n")
    assert graph.reindex().incremental
    graph.flush()
    index_repository(repo, tmp_path / "full-rs")
    assert dump_store(repo / ".strata") == dump_store(tmp_path / "full-rs")
    # the first file of a language with a compiler engine rebuilds everything: a full index runs that compiler
    (repo / "main.go").write_text("package main\nfunc main() {}\n")
    assert graph.reindex().incremental is False
    graph.close()


def test_a_patched_search_index_answers_as_a_rebuilt_one() -> None:
    """HotGraph.apply hides replaced entries and scans the new ones instead of rebuilding its index."""
    from strata.codegraph.files import is_test_file
    from strata.codegraph.graph import GraphDelta, StoredSymbol

    def symbol(sid: str, kind: str = "function", line: int = 1) -> StoredSymbol:
        file = sid.split(".")[0] + ".py"
        return StoredSymbol(sid, sid.rsplit(".", 1)[-1], kind, "python", file, line, line + 2, is_test_file(file))

    names = ["get", "Get", "get_item", "getter", "target", "parse", "parse_header", "Parser", "run", "rerun"]
    kind = {"a": "function", "bb": "function", "pkg.sub": "method", "test_a": "function"}
    before = {f"{m}.{n}": symbol(f"{m}.{n}", "class" if n[0].isupper() else kind[m]) for m in kind for n in names}
    before["ext.get"] = symbol("ext.get", "external")
    edges = [("a.get", "bb.parse", 3, 1), ("bb.parse", "ext.get", 4, 1)]
    hot = HotGraph(dict(before), edges)
    delta = GraphDelta(
        removed_symbols=["a.getter", "bb.Parser"],
        symbols={
            key: [getattr(s, key) for s in rows]
            for rows in [
                [
                    symbol("a.get", line=9),
                    symbol("bb.run", "method"),
                    symbol("c.get"),
                    symbol("c.GET"),
                    symbol("test_c.get"),
                ]
            ]
            for key in ("id", "name", "kind", "language", "file", "start_line", "end_line", "tests")
        },
        calls_from=["a.get"],
        calls={"from": ["a.get"], "to": ["c.get"], "line": [5], "candidates": [1]},
    )
    hot.apply(delta)
    after = {k: v for k, v in before.items() if k not in delta.removed_symbols}
    after |= {s: symbol(s, line=9) for s in ["a.get"]} | {"bb.run": symbol("bb.run", "method")}
    after |= {s: symbol(s) for s in ["c.get", "c.GET", "test_c.get"]}
    assert hot.symbols == after
    rebuilt = HotGraph(after, [("a.get", "c.get", 5, 1), ("bb.parse", "ext.get", 4, 1)])
    assert hot._extra and hot._dead  # the index was patched, not rebuilt
    texts = ["get", "GET", "Get", "ge", "et", "parse", "pars", "run", "r", "a.get", "c.", "sub.get", "zz", "t"]
    for text in texts:
        for kinds in ([], ["function"], ["method"], ["function", "method"]):
            for limit in (1, 2, 3, 7, 100):
                assert hot.search(text, kinds, limit) == rebuilt.search(text, kinds, limit), (text, kinds, limit)
    found, _ = rebuilt.search("get", [], 100)
    exact = ["a.get", "c.get", "bb.get", "pkg.sub.get", "test_a.get", "test_c.get"]  # the tests last, in each tier
    assert [s.id for s in found if s.name == "get"] == exact
    for name in ["get", "GET", "getter", "run", "Parser"]:
        assert hot.by_name(name, 10) == rebuilt.by_name(name, 10)
    assert hot.counts() == rebuilt.counts() == (len(after) - 1, 2)


def test_updates_are_written_behind_and_a_failed_write_leads_to_a_full_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .conftest import write_tree

    repo = tmp_path / "repo"
    write_tree(repo, {"app.py": "def main():\n    return 1\n"})
    graph = CodeGraph(repo, repo / ".strata")
    graph.prepare()
    (repo / "app.py").write_text("def main():\n    return helper()\n\ndef helper():\n    return 2\n")
    summary = graph.reindex()
    assert summary.incremental and summary.symbols == 3  # the module, main and helper
    # answered from the patched graph, and by the tools that read the store (they wait for the write)
    assert [c.callee for c in graph.calls("app.main", "callees", 1, 5).items] == ["app.helper"]
    assert [s.id for s in graph.outline("app.py").items] == ["app.main", "app.helper"]
    other = CodeGraph(repo, repo / ".strata")  # another server on the same store sees the written update
    assert [s.id for s in other.search("helper", [], 5).items] == ["app.helper"]
    other.close()

    def broken(self: CodeGraphStore, delta: object) -> None:
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(CodeGraphStore, "apply", broken)
        (repo / "app.py").write_text("def main():\n    return 3\n")
        assert graph.reindex().incremental  # the write fails behind it
        graph.flush()  # logged; the analysis it was built on is dropped
    assert graph.reindex().incremental is False  # so the next reindex rebuilds the store from the files
    assert [s.id for s in graph.outline("app.py").items] == ["app.main"]
    assert graph.calls("app.main", "callees", 1, 5).total == 0
    graph.close()


def test_two_calls_of_one_name_on_one_line_are_one_row(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("def size(a, b):\n    return len(a) + len(b)\n")
    index_repository(tmp_path, tmp_path / ".strata")
    graph = CodeGraph(tmp_path, tmp_path / ".strata")
    try:
        assert [(c.callee, c.line) for c in graph.calls("m.size", "callees", 1, 10).items] == [("<builtin>.len", 2)]
    finally:
        graph.close()


CLASS_BODY = {
    "m.py": (
        "def render(v):\n    return v\n\n"
        "class Page:\n"
        "    label = render('x')\n"  # 5: the class's call, not the module's
        "    def url(self):\n        return render('u')\n"
    ),
}


def test_a_call_in_a_class_body_is_the_class_s(tmp_path: Path) -> None:
    write_tree(tmp_path, CLASS_BODY)
    index_repository(tmp_path, tmp_path / ".strata")
    graph = CodeGraph(tmp_path, tmp_path / ".strata")
    try:
        assert sorted((c.caller, c.line) for c in graph.calls("m.render", "callers", 1, 10).items) == [
            ("m.Page", 5),
            ("m.Page.url", 7),
        ]
    finally:
        graph.close()


def test_a_class_body_edit_updates_to_what_a_full_index_holds(tmp_path: Path) -> None:
    edit = {"m.py": CLASS_BODY["m.py"].replace("label = render('x')", "label = render('y')\n    other = render('z')")}
    assert_edit_is_incremental(tmp_path, CLASS_BODY, edit)


PROPERTY = {
    "m.py": (
        "def render(v):\n    return v\n\n"
        "def store(v):\n    return v\n\n"
        "class Page:\n"
        "    @property\n"
        "    def url(self):\n"  # 9
        "        return render('u')\n"
        "    @url.setter\n"
        "    def url(self, value):\n"
        "        store(value)\n"  # 13
    ),
}


def test_a_property_is_one_symbol_with_the_calls_of_each_accessor(tmp_path: Path) -> None:
    write_tree(tmp_path, PROPERTY)
    index_repository(tmp_path, tmp_path / ".strata")
    graph = CodeGraph(tmp_path, tmp_path / ".strata")
    try:
        symbols = [row for row in dump_store(tmp_path / ".strata")["symbols"] if row[0] == "m.Page.url"]
        assert [(row[0], row[2], row[5], row[6]) for row in symbols] == [("m.Page.url", "method", 9, 13)]
        assert [(c.callee, c.line) for c in graph.calls("m.Page.url", "callees", 1, 10).items] == [
            ("m.render", 10),
            ("m.store", 13),
        ]
    finally:
        graph.close()


def test_editing_one_accessor_updates_to_what_a_full_index_holds(tmp_path: Path) -> None:
    edit = {"m.py": PROPERTY["m.py"].replace("store(value)", "render(value)")}
    assert_edit_is_incremental(tmp_path, PROPERTY, edit)


def test_while_a_whole_index_is_built_status_says_how_far_and_tools_say_they_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from strata.codegraph import service
    from strata.codegraph.errors import IndexingError

    from .conftest import REPO, write_tree

    monkeypatch.setattr(service, "BUILD_WAIT_S", 0.5)
    write_tree(tmp_path, REPO)
    graph = CodeGraph(tmp_path, tmp_path / ".strata")
    reached, release = threading.Event(), threading.Event()

    def on_step(name: str) -> None:
        if name == "resolving Python calls":
            reached.set()
            release.wait(30)  # hold the build here, as a large repository would

    builder = threading.Thread(target=lambda: graph.reindex(on_step=on_step))
    builder.start()
    try:
        assert reached.wait(30)
        status = graph.status()
        assert status.state == "indexing" and status.progress.startswith("step 3 of 5: resolving Python calls")
        with pytest.raises(IndexingError, match=r"is being built \(step 3 of 5: resolving Python calls"):
            graph.search("ldap", [], 5)
    finally:
        release.set()
        builder.join(60)
    assert graph.search("ldap_authenticate", [], 5).total == 1
    assert graph.status().state == "ready"
    graph.close()


def test_symbol_hashes_change_with_a_symbols_text_not_with_its_place_and_say_when_it_is_gone(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/auth.py": "def check(user):\n    return user.ok\n\n\ndef other():\n    return 1\n",
    }
    write_tree(tmp_path, files)
    graph = CodeGraph(tmp_path, tmp_path / ".strata")
    try:
        graph.reindex()
        first = {h.symbol: h for h in graph.symbol_hashes(["pkg.auth.check", "pkg.auth.other", "pkg.nope"]).items}
        assert first["pkg.auth.check"].exists and first["pkg.auth.check"].content_hash
        assert first["pkg.auth.check"].content_hash != first["pkg.auth.other"].content_hash
        assert not first["pkg.nope"].exists and first["pkg.nope"].content_hash is None
        detail = graph.get_symbol("pkg.auth.check", max_lines=1)  # the hash is of the whole source, not the cut
        assert detail.truncated and detail.content_hash == first["pkg.auth.check"].content_hash

        # Lines added above it move it: same hash. Its body edited: another hash. Removed: exists=false.
        (tmp_path / "pkg/auth.py").write_text("import os\n\n\n" + files["pkg/auth.py"].replace("return 1", "return 2"))
        graph.reindex()
        moved = {h.symbol: h for h in graph.symbol_hashes(["pkg.auth.check", "pkg.auth.other"]).items}
        assert moved["pkg.auth.check"].content_hash == first["pkg.auth.check"].content_hash
        assert moved["pkg.auth.other"].content_hash != first["pkg.auth.other"].content_hash
        (tmp_path / "pkg/auth.py").write_text("def other():\n    return 2\n")
        graph.reindex()
        [gone] = graph.symbol_hashes(["pkg.auth.check"]).items
        assert not gone.exists
    finally:
        graph.close()
