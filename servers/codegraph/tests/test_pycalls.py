"""The Python resolver on small real packages written to disk."""

from pathlib import Path

from strata.codegraph.pycalls import analyze_sources, import_order, load_project, module_name_for, parse_sources

from .conftest import write_tree


def graph(root: Path, files: dict[str, str]) -> dict[str, list[str]]:
    return analyze_sources(load_project(root, write_tree(root, files))).call_graph()


def test_module_names_follow_packages(tmp_path: Path) -> None:
    assert module_name_for(tmp_path / "pkg" / "__init__.py", tmp_path) == "pkg"
    assert module_name_for(tmp_path / "pkg" / "sub" / "mod.py", tmp_path) == "pkg.sub.mod"


def test_relative_imports_aliases_and_init_reexports(tmp_path: Path) -> None:
    g = graph(
        tmp_path,
        {
            "app/__init__.py": "from .auth.ldap import ldap_authenticate as authenticate\n",
            "app/auth/__init__.py": "",
            "app/auth/ldap.py": "def ldap_authenticate(user):\n    return bind(user)\n\ndef bind(u):\n    return u\n",
            "app/views.py": "from . import authenticate\nfrom .auth import ldap as L\n\n"
            "def login(u):\n    authenticate(u)\n    L.bind(u)\n",
        },
    )
    assert g["app.views.login"] == ["app.auth.ldap.bind", "app.auth.ldap.ldap_authenticate"]
    assert g["app.auth.ldap.ldap_authenticate"] == ["app.auth.ldap.bind"]


def test_self_calls_constructors_inheritance_and_super(tmp_path: Path) -> None:
    g = graph(
        tmp_path,
        {
            "shapes.py": (
                "class Base:\n"
                "    def __init__(self):\n        self.setup()\n"
                "    def setup(self):\n        pass\n"
                "    def area(self):\n        return self.compute()\n"
                "class Square(Base):\n"
                "    def __init__(self):\n        super().__init__()\n"
                "    def compute(self):\n        return 4\n"
                "def main():\n    s = Square()\n    s.area()\n"
            ),
        },
    )
    assert g["shapes.main"] == ["shapes.Base.area", "shapes.Square.__init__"]
    assert g["shapes.Square.__init__"] == ["<builtin>.super", "shapes.Base.__init__"]
    assert g["shapes.Base.__init__"] == ["shapes.Base.setup"]
    # self in Base.area is also a Square (it was called on one), so the override is found
    assert g["shapes.Base.area"] == ["shapes.Square.compute"]


def test_callables_flow_through_assignments_returns_parameters_and_containers(tmp_path: Path) -> None:
    g = graph(
        tmp_path,
        {
            "flow.py": (
                "def a():\n    pass\n"
                "def b():\n    pass\n"
                "def pick():\n    return a\n"
                "def run(fn):\n    fn()\n"
                "handlers = {'x': b}\n"
                "def main():\n    f = pick()\n    f()\n    run(b)\n    handlers['x']()\n    (lambda: a())()\n"
            ),
        },
    )
    # f() -> a (returned by pick), handlers['x']() -> b, the lambda is main's first
    assert g["flow.main"] == ["flow.a", "flow.b", "flow.main.<lambda1>", "flow.pick", "flow.run"]
    assert g["flow.main.<lambda1>"] == ["flow.a"]
    assert g["flow.run"] == ["flow.b"]


def test_several_possible_targets_are_all_kept(tmp_path: Path) -> None:
    g = graph(
        tmp_path,
        {
            "poly.py": (
                "class Ldap:\n    def auth(self):\n        pass\n"
                "class Sso:\n    def auth(self):\n        pass\n"
                "def get(flag):\n    return Ldap() if flag else Sso()\n"
                "def login(flag):\n    get(flag).auth()\n"
            ),
        },
    )
    assert g["poly.login"] == ["poly.Ldap.auth", "poly.Sso.auth", "poly.get"]


def test_external_calls_keep_their_qualified_names(tmp_path: Path) -> None:
    g = graph(
        tmp_path,
        {"ext.py": "import requests\nfrom os import path\n\ndef f():\n    requests.get('u')\n    path.join('a')\n"},
    )
    assert g["ext.f"] == ["os.path.join", "requests.get"]


def test_a_file_with_a_syntax_error_is_skipped_not_fatal(tmp_path: Path) -> None:
    g = graph(tmp_path, {"bad.py": "def (:\n", "good.py": "def f():\n    g()\ndef g():\n    pass\n"})
    assert g["good.f"] == ["good.g"]
    assert not any(k.startswith("bad") for k in g)


def test_updating_modules_gives_what_a_fresh_analysis_gives(tmp_path: Path) -> None:
    """Edit by edit, update() must land exactly where analysing the edited project from scratch lands."""
    files = {
        "shop/__init__.py": "from .pay import charge\n",
        "shop/pay.py": (
            "class Card:\n    def debit(self, amount):\n        return audit(amount)\n\n"
            "def audit(x):\n    return x\n\n"
            "def charge(card, amount):\n    return card.debit(amount)\n"
        ),
        "shop/cart.py": (
            "from . import charge\nfrom .pay import Card\n\n"
            "def checkout(total):\n    card = Card()\n    handler = charge\n    return handler(card, total)\n"
        ),
    }
    edits: list[dict[str, str | None]] = [
        # a method body now calls something else: the old edge must go, not only the new one arrive
        {
            "shop/pay.py": files["shop/pay.py"].replace("return audit(amount)", "return refund(amount)")
            + "\ndef refund(x):\n    return x\n"
        },
        # the re-exported function disappears: callers elsewhere lose their edge
        {"shop/__init__.py": "from .pay import audit as charge\n"},
        # a new module calls into the others; then an old one is deleted
        {"shop/report.py": "from .cart import checkout\n\ndef daily():\n    checkout(3)\n"},
        {"shop/cart.py": None},
    ]
    write_tree(tmp_path, files)
    project = analyze_sources(load_project(tmp_path, sorted(tmp_path.rglob("*.py"))))
    before = project.call_graph()
    assert before["shop.cart.checkout"] == ["shop.pay.charge"]
    assert before["shop.pay.charge"] == ["shop.pay.Card.debit"]
    for edit in edits:
        changed: dict[str, tuple[str, bool] | None] = {}
        for relative, text in edit.items():
            path = tmp_path / relative
            if text is None:
                path.unlink()
            else:
                path.write_text(text)
            changed[module_name_for(path, tmp_path)] = None if text is None else (text, path.name == "__init__.py")
        ran = project.update(
            parse_sources({k: v for k, v in changed.items() if v is not None})
            | {k: None for k, v in changed.items() if v is None}
        )
        assert ran, "an edit must re-run at least the edited module"
        fresh = analyze_sources(load_project(tmp_path, sorted(tmp_path.rglob("*.py")))).call_graph()
        assert project.call_graph() == fresh
    final = project.call_graph()
    assert final["shop.pay.Card.debit"] == ["shop.pay.refund"]
    assert "shop.cart.checkout" not in project.scopes
    assert final["shop.report.daily"] == ["shop.cart.checkout"]  # now an unknown external name, as fresh


def test_straight_line_rebinding_and_item_stores_see_the_latest_value(tmp_path: Path) -> None:
    code = (
        "def f1(): pass\n"
        "def f2(): pass\n"
        "def f3(): pass\n"
        "a = f1\n"
        "a()\n"  # f1 here: the second binding comes later
        "a = f2\n"
        "a()\n"
        "d = {'k': f1}\n"
        "d['k'] = f2\n"
        "d['k']()\n"
        "ls = [f1, f2, f3]\n"
        "ls[1:3][0]()\n"  # a slice shifts positions
        "def later():\n"
        "    a()\n"  # other scopes see the last binding
    )
    result = graph(tmp_path, {"m.py": code})
    assert sorted(result["m"]) == ["m.f1", "m.f2"]
    assert result["m.later"] == ["m.f2"]
    assert graph(tmp_path / "slice", {"m.py": code.replace("ls[1:3][0]()", "ls[2:][0]()")})["m"].count("m.f3") == 1


def test_rebinding_that_may_not_run_in_order_keeps_every_value(tmp_path: Path) -> None:
    branch = "def f1(): pass\ndef f2(): pass\na = f1\nif input():\n    a = f2\na()\n"
    assert sorted(graph(tmp_path / "if", {"m.py": branch})["m"]) == ["<builtin>.input", "m.f1", "m.f2"]
    declared = "def f1(): pass\ndef f2(): pass\na = f1\na = f2\ndef reset():\n    global a\n    a = f1\nreset()\na()\n"
    assert sorted(graph(tmp_path / "global", {"m.py": declared})["m"]) == ["m.f1", "m.f2", "m.reset"]
    mutated = "def f1(): pass\ndef f2(): pass\ndef put(x): x['k'] = f2\nd = {}\nd['k'] = f1\nput(d)\nd['k']()\n"
    assert sorted(graph(tmp_path / "call", {"m.py": mutated})["m"]) == ["m.f1", "m.f2", "m.put"]
    aliased = "def f1(): pass\ndef f2(): pass\nd = {'k': f1}\ne = d\ne['k'] = f2\nd['k']()\n"
    assert graph(tmp_path / "alias", {"m.py": aliased})["m"] == ["m.f2"]


def test_the_call_graph_does_not_change_with_string_hashing(tmp_path: Path) -> None:
    """Eight lists of ten functions flow into one slice: 80 candidates, past the 64 at which a set stops
    growing. Added one list at a time (set order, which PYTHONHASHSEED decides), the last lists' functions
    were left out - a different ten on each run of the same code."""
    import json
    import os
    import subprocess
    import sys

    functions = "".join(f"def f{i}():\n    pass\n" for i in range(80))
    lists = "".join(f"a{j} = [{', '.join(f'f{10 * j + k}' for k in range(10))}]\n" for j in range(8))
    calls = "".join(f"pick(a{j})\n" for j in range(8))
    twice = "def outer():\n    def helper():\n        pass\n    def helper():\n        pass\n    helper()\n"
    source = f"{functions}{lists}def pick(x):\n    return x[:]\n{calls}{twice}def run():\n    for g in pick(a0):\n        g()\n"
    write_tree(tmp_path, {"mod.py": source})
    cli = Path(sys.executable).parent / "strata-codegraph"
    graphs = [
        subprocess.run(
            [str(cli), "callgraph", str(tmp_path), "--format", "pycg"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        ).stdout
        for seed in (0, 1, 2, 3)
    ]
    assert graphs[1:] == graphs[:1] * 3
    assert json.loads(graphs[0])["mod.run"] == sorted(["mod.pick", *(f"mod.f{i}" for i in range(80))])


def test_modules_are_analysed_after_what_they_import() -> None:
    """The fixpoint runs module by module in this order, so that imported names are bound before their readers
    run (a fifth less time on Lib/). Cycles are cut, names inside modules count as their module, and the walk
    starts from names in sorted order, so the order is the same on every run."""
    modules = {"app", "app.views", "app.models", "app.db", "a_first", "cyc_a", "cyc_b", "solo"}
    imports = {
        "a_first": ["app.views.index", "os.path"],  # a function in app.views; a module outside the project
        "app": ["app.views"],  # a package that re-exports from its submodule: the submodule goes first
        "app.views": ["app.models.User", "app.db"],
        "app.models": ["app.db"],
        "cyc_a": ["cyc_b"],
        "cyc_b": ["cyc_a"],
    }
    rank = import_order(modules, imports)
    assert sorted(rank.values()) == list(range(1, len(modules) + 1))
    for module, names in imports.items():
        for name in names:
            if name.split(".")[0] in modules and not name.startswith("cyc_a"):
                imported = max((m for m in modules if name == m or name.startswith(m + ".")), key=len)
                assert rank[imported] < rank[module], (imported, module)
    assert rank["cyc_b"] < rank["cyc_a"]  # the walk reached cyc_a first (name order): what it imports goes first
    assert import_order(modules, imports) == rank


def test_a_value_two_modules_add_stays_until_neither_adds_it(tmp_path: Path) -> None:
    """update() retracts a value from a points-to set only when no scope's last run still adds it."""
    files = {
        "reg.py": "def f():\n    pass\n\ndef g():\n    pass\n\nhook = None\n\ndef fire():\n    hook()\n",
        "a.py": "import reg\nreg.hook = reg.f\n",
        "b.py": "import reg\nreg.hook = reg.f\n",
    }
    write_tree(tmp_path, files)
    project = analyze_sources(load_project(tmp_path, sorted(tmp_path.rglob("*.py"))))
    assert project.call_graph()["reg.fire"] == ["reg.f"]
    expected = [["reg.f", "reg.g"], ["reg.g"]]  # b still adds f; then nothing does
    for (relative, text), fire in zip(
        [("a.py", "import reg\nreg.hook = reg.g\n"), ("b.py", "")], expected, strict=True
    ):
        (tmp_path / relative).write_text(text)
        project.update(parse_sources({relative.removesuffix(".py"): (text, False)}))
        assert project.call_graph()["reg.fire"] == fire
        assert (
            project.call_graph() == analyze_sources(load_project(tmp_path, sorted(tmp_path.rglob("*.py")))).call_graph()
        )


def test_call_rows_are_the_call_sites_flattened_with_new_targets_noted(tmp_path: Path) -> None:
    project = analyze_sources(
        load_project(
            tmp_path,
            write_tree(
                tmp_path,
                {
                    "a.py": "import os\n\ndef f():\n    return g()\n\ndef g():\n    os.getcwd()\n    unknown()\n",
                    "b.py": "from a import f, g\n\ndef h(x):\n    (f if x else g)()\n\nh(1)\n",
                },
            ),
        )
    )
    sites = list(project.call_sites())
    known = set(project.scopes)
    rows = project.call_rows(known)
    expected = [(s.caller, t, s.lineno, len(s.targets)) for s in sites for t in sorted(s.targets)]
    assert list(zip(rows.callers, rows.callees, rows.lines, rows.candidates, strict=True)) == expected
    assert ("b.h", "a.f", 4, 2) in expected and ("b.h", "a.g", 4, 2) in expected
    assert (rows.sites, rows.unresolved, rows.ambiguous) == (len(sites), 1, 1)  # unknown(); (f if x else g)()
    assert rows.new == ["os.getcwd"] and "os.getcwd" in known
    only_h = project.call_rows(set(project.scopes), callers={"b.h"})
    assert set(only_h.callers) == {"b.h"} and only_h.sites == 1


def test_every_definition_of_one_name_keeps_its_own_calls(tmp_path: Path) -> None:
    """A property's getter, setter and deleter, overload stubs and conditional redefinitions are one symbol whose
    bodies all keep their calls (before, only the last definition's calls were kept)."""
    g = graph(
        tmp_path,
        {
            "web.py": (
                "import sys\n"
                "from typing import overload\n"
                "def render(v):\n    return v\n"
                "def store(v):\n    return v\n"
                "def wipe():\n    pass\n"
                "def new_api():\n    pass\n"
                "def old_api():\n    pass\n"
                "class Page:\n"
                "    @property\n    def url(self):\n        return render(1)\n"
                "    @url.setter\n    def url(self, value):\n        store(value)\n"
                "    @url.deleter\n    def url(self):\n        wipe()\n"
                "if sys.version_info >= (3,):\n    def compat(a):\n        new_api()\n"
                "else:\n    def compat(b):\n        b()\n        old_api()\n"
                "@overload\ndef size(x: int) -> int: ...\n"
                "@overload\ndef size(x: str) -> int: ...\n"
                "def size(x):\n    return len(x)\n"
                "def main():\n    compat(wipe)\n    size('a')\n"
            ),
        },
    )
    assert g["web.Page.url"] == ["web.render", "web.store", "web.wipe"]
    # both bodies bind their own parameters: `b()` in the second calls what main passed
    assert g["web.compat"] == ["web.new_api", "web.old_api", "web.wipe"]
    assert g["web.size"] == ["<builtin>.len"]
    assert g["web.main"] == ["web.compat", "web.size"]
    assert "web.Page" not in g  # `@url.setter` is no call of the class body


def test_a_with_statement_calls_enter_and_exit(tmp_path: Path) -> None:
    g = graph(
        tmp_path,
        {
            "res.py": (
                "class Lock:\n"
                "    def __enter__(self):\n        return Handle()\n"
                "    def __exit__(self, *exc):\n        return False\n"
                "class Handle:\n    def read(self):\n        pass\n"
                "class Session:\n"
                "    async def __aenter__(self):\n        return self\n"
                "    async def __aexit__(self, *exc):\n        pass\n"
                "    def fetch(self):\n        pass\n"
                "def main():\n    with Lock() as h:\n        h.read()\n"
                "async def run():\n    async with Session() as s:\n        s.fetch()\n"
                "def plain():\n    with open('f') as f:\n        f.read()\n"
            ),
        },
    )
    assert g["res.main"] == ["res.Handle.read", "res.Lock.__enter__", "res.Lock.__exit__"]
    assert g["res.run"] == ["res.Session.__aenter__", "res.Session.__aexit__", "res.Session.fetch"]
    assert g["res.plain"] == ["<builtin>.open"]  # a library's context manager stays a library call


def test_annotations_give_parameters_fields_and_returns_their_classes(tmp_path: Path) -> None:
    """A parameter that no call in the project passes a value to (a method found by name at run time) still has the
    class its annotation names; so do `x: T` fields and `-> T` results. A library class keeps its library name."""
    g = graph(
        tmp_path,
        {
            "md/__init__.py": "",
            "md/state.py": (
                "class State:\n"
                "    def append(self, token):\n        pass\n"
                "    def child(self) -> 'State':\n        return make()\n"
                "def make():\n    pass\n"
            ),
            "md/parser.py": (
                "from __future__ import annotations\n"
                "import re\n"
                "from typing import Optional\n"
                "from .state import State\n"
                "class Parser:\n"
                "    state: State\n"
                "    def parse_break(self, m: re.Match, state: Optional[State]) -> int:\n"
                "        state.append(m.end())\n"
                "        return 1\n"
                "    def nested(self, state: State | None):\n"
                "        state.child().append(1)\n"
                "    def field(self):\n        self.state.append(2)\n"
                "    def untyped(self, state, items: list[State]):\n        state.append(3)\n"
            ),
        },
    )
    assert g["md.parser.Parser.parse_break"] == ["md.state.State.append", "re.Match.end"]
    assert g["md.parser.Parser.nested"] == ["md.state.State.append", "md.state.State.child"]
    assert g["md.parser.Parser.field"] == ["md.state.State.append"]
    assert g["md.parser.Parser.untyped"] == []  # list[State] says nothing about the list's own methods


def test_an_identity_decorator_gives_back_what_each_call_passed(tmp_path: Path) -> None:
    """`@internalcode` returns its argument: each decorated name is that function alone, not every function the
    decorator was ever given; a lambda returning its parameter likewise."""
    g = graph(
        tmp_path,
        {
            "reg.py": (
                "registry = set()\n"
                "def internalcode(f):\n    registry.add(f)\n    return f\n"
                "def named(name):\n    def deco(f):\n        return f\n    return deco\n"
                "@internalcode\ndef load():\n    pass\n"
                "@internalcode\ndef render():\n    pass\n"
                "@named('x')\ndef parse():\n    pass\n"
                "@named('y')\ndef compile():\n    pass\n"
                "same = lambda v: v\n"
                "def main():\n    load()\n    parse()\n"
                "def other():\n    same(render)()\n"
            ),
        },
    )
    assert g["reg.main"] == ["reg.load", "reg.parse"]
    assert g["reg.other"] == ["reg.<lambda1>", "reg.render"]


def test_instances_are_told_from_their_classes(tmp_path: Path) -> None:
    """`Greeter()` constructs (__new__, __init__); calling the instance runs __call__; builtins call the dunder
    methods of what they are given; `type(obj)` is the class again."""
    g = graph(
        tmp_path,
        {
            "obj.py": (
                "class Greeter:\n"
                "    def __new__(cls, *args):\n        return super().__new__(cls)\n"
                "    def __init__(self, name):\n        self.name = name\n"
                "    def __call__(self, text):\n        return Reply()\n"
                "    def __len__(self):\n        return 1\n"
                "    def __iter__(self):\n        return self\n"
                "    def __next__(self):\n        raise StopIteration\n"
                "    def __str__(self):\n        return 'g'\n"
                "    def again(self):\n        return type(self)('x')\n"
                "class Reply:\n    def send(self):\n        pass\n"
                "def main():\n"
                "    g = Greeter('x')\n"
                "    g('hi').send()\n"
                "    len(g)\n    str(g)\n    list(g)\n"
                "def labels(choices):\n    return list(map(repr, choices))\n"
                "def use():\n    labels(Greeter('y'))\n"
                "import enum\n"
                "class Color(enum.Enum):\n    RED = 1\n    def __init__(self, value):\n        self.code = value\n"
                "def kinds():\n    return sorted(map(str, Color))\n"
            ),
        },
    )
    assert g["obj.main"] == [
        "<builtin>.len",
        "<builtin>.list",
        "<builtin>.str",
        "obj.Greeter.__call__",
        "obj.Greeter.__init__",
        "obj.Greeter.__iter__",
        "obj.Greeter.__len__",
        "obj.Greeter.__new__",
        "obj.Greeter.__next__",
        "obj.Greeter.__str__",
        "obj.Reply.send",
    ]
    assert g["obj.Greeter.again"] == ["<builtin>.type", "obj.Greeter.__init__", "obj.Greeter.__new__"]
    # the object map iterates is not called (before, an instance was its class, "called": Greeter.__init__)
    assert g["obj.labels"] == ["<builtin>.list", "<builtin>.map"]
    # map calls str, a callable: the Enum class it iterates is not called (PyCG's suite has map([1, 2], f) call f)
    assert g["obj.kinds"] == ["<builtin>.map", "<builtin>.sorted"]


def test_self_holds_only_the_objects_whose_lookup_found_the_method(tmp_path: Path) -> None:
    """`p.run()` over three processors binds each `run`'s self to its own processor only, so a recursive
    `self.run()` in one stays in it; `super().m()` passes the method's own self on."""
    g = graph(
        tmp_path,
        {
            "proc.py": (
                "class Base:\n"
                "    def run(self, text):\n        return self.finish(text)\n"
                "    def finish(self, text):\n        return text\n"
                "class Raw(Base):\n"
                "    def run(self, text):\n        return self.run(text[1:])\n"
                "class Html(Base):\n"
                "    def run(self, text):\n        return super().run(text)\n"
                "    def finish(self, text):\n        return text\n"
                "class Plain(Base):\n    pass\n"
                "def render(text):\n"
                "    for p in [Raw(), Html(), Plain()]:\n        p.run(text)\n"
            ),
        },
    )
    assert g["proc.Raw.run"] == ["proc.Raw.run"]  # not Html.run or Base.run: self is a Raw here
    assert g["proc.Html.run"] == ["<builtin>.super", "proc.Base.run"]
    # Base.run runs for a Plain (found it) and for an Html (through super()): both finish methods
    assert g["proc.Base.run"] == ["proc.Base.finish", "proc.Html.finish"]


def test_a_method_that_only_declares_is_no_target_beside_an_implementation(tmp_path: Path) -> None:
    """`self.tell()` in an abstract base finds the base's @abstractmethod and the subclasses' overrides: only the
    overrides can run. A Protocol names what an object does, not its class: an annotation naming one adds no
    instance. A declaration that is all there is stays the target."""
    g = graph(
        tmp_path,
        {
            "io2.py": (
                "from abc import ABC, abstractmethod\n"
                "from typing import Protocol\n"
                "class Base(ABC):\n"
                "    @abstractmethod\n    def tell(self):\n        pass\n"
                "    def size(self):\n        return self.tell()\n"
                "    def name(self):\n        raise NotImplementedError\n"
                "    def label(self):\n        return self.name()\n"
                "class Bytes(Base):\n"
                "    def tell(self):\n        return 1\n"
                "class Text(Base):\n"
                "    def tell(self):\n        return 2\n"
                "class Client(Protocol):\n    def get(self, key): ...\n"
                "def load(client: Client, store: Base):\n    client.get('k')\n    store.size()\n"
                "def main():\n    Bytes().size()\n    Text().size()\n"
            ),
        },
    )
    assert g["io2.Base.size"] == ["io2.Bytes.tell", "io2.Text.tell"]
    assert g["io2.Base.label"] == ["io2.Base.name"]  # nothing overrides it: the declaration is the target
    assert g["io2.load"] == ["io2.Base.size"]  # client.get: a Client is whatever object has get()


def test_getattr_with_a_constant_name_or_a_constant_prefix(tmp_path: Path) -> None:
    """getattr(obj, "run") is obj.run; getattr(self, f"visit_{kind}") a dispatch by name: every visit_* method of
    the object's class (and only those); the default is a value too."""
    g = graph(
        tmp_path,
        {
            "vis.py": (
                "class Visitor:\n"
                "    def visit(self, node):\n"
                "        f = getattr(self, f'visit_{type(node).__name__}', None) or self.generic\n"
                "        return f(node)\n"
                "    def generic(self, node):\n        pass\n"
                "    def visit_If(self, node):\n        pass\n"
                "    def visit_For(self, node):\n        pass\n"
                "    def helper(self):\n        pass\n"
                "class Parser:\n"
                "    def parse(self, name):\n        return getattr(self, 'parse_' + name)()\n"
                "    def parse_block(self):\n        pass\n"
                "    def run(self):\n        getattr(self, 'parse')('block')\n"
            ),
        },
    )
    assert g["vis.Visitor.visit"] == [
        "<builtin>.getattr",
        "<builtin>.type",
        "vis.Visitor.generic",
        "vis.Visitor.visit_For",
        "vis.Visitor.visit_If",
    ]
    assert g["vis.Parser.parse"] == ["<builtin>.getattr", "vis.Parser.parse_block"]
    assert g["vis.Parser.run"] == ["<builtin>.getattr", "vis.Parser.parse"]


def test_an_annotated_parameter_is_not_given_instances_its_annotation_rules_out(tmp_path: Path) -> None:
    """A base method shared by a block and an inline parser passes both kinds of state along; a block rule annotated
    `state: BlockState` only ever gets a BlockState (or a subclass), so its state.append is BlockState's alone."""
    g = graph(
        tmp_path,
        {
            "md.py": (
                "from typing import Optional\n"
                "class BlockState:\n    def append(self, t):\n        pass\n"
                "class ChildState(BlockState):\n    def append(self, t):\n        pass\n"
                "class InlineState:\n    def append(self, t):\n        pass\n"
                "class Parser:\n"
                "    def __init__(self):\n        self.rules = {}\n"
                "    def run(self, name, state):\n        return self.rules[name](state)\n"
                "def block_rule(state: Optional[BlockState]):\n    state.append(1)\n"
                "def inline_rule(state: 'InlineState'):\n    state.append(2)\n"
                "def untyped_rule(state):\n    state.append(3)\n"
                "def main():\n"
                "    p = Parser()\n"
                "    p.rules['b'] = block_rule\n    p.rules['i'] = inline_rule\n    p.rules['u'] = untyped_rule\n"
                "    p.run('b', BlockState())\n    p.run('c', ChildState())\n    p.run('i', InlineState())\n"
            ),
        },
    )
    assert g["md.block_rule"] == ["md.BlockState.append", "md.ChildState.append"]
    assert g["md.inline_rule"] == ["md.InlineState.append"]
    assert g["md.untyped_rule"] == ["md.BlockState.append", "md.ChildState.append", "md.InlineState.append"]


def test_reading_a_property_of_an_instance_calls_its_getter(tmp_path: Path) -> None:
    """`page.url` runs the getter and is what it returns; `Page.url` (the class's) is the property object, no call."""
    g = graph(
        tmp_path,
        {
            "site.py": (
                "from functools import cached_property\n"
                "class Link:\n    def render(self):\n        pass\n"
                "class Page:\n"
                "    @property\n    def url(self):\n        return Link()\n"
                "    @cached_property\n    def size(self):\n        return 1\n"
                "def main():\n    page = Page()\n    page.url.render()\n    page.size\n"
                "def doc():\n    return Page.url.__doc__\n"
            ),
        },
    )
    assert g["site.main"] == ["site.Link.render", "site.Page.size", "site.Page.url"]
    assert g["site.doc"] == []


def test_operators_call_the_methods_a_class_defines(tmp_path: Path) -> None:
    """`a + b`, `a == b`, `x in c`, `-a`, `x[k]`, `x[k] = v`, `del x[k]`, `a += b` and f-string fields are calls of
    the operand's dunder methods, giving what they return; the reflected method runs when the left operand has none
    (`"s" + expr` is expr.__radd__) and only then, and builtin operands call nothing."""
    g = graph(
        tmp_path,
        {
            "pp.py": (
                "class Result:\n    def names(self):\n        pass\n"
                "class Expr:\n"
                "    def __add__(self, other):\n        return Expr()\n"
                "    def __radd__(self, other):\n        return Expr()\n"
                "    def __eq__(self, other):\n        return True\n"
                "    def __neg__(self):\n        return Expr()\n"
                "    def __contains__(self, item):\n        return False\n"
                "    def __getitem__(self, key):\n        return Result()\n"
                "    def __setitem__(self, key, value):\n        pass\n"
                "    def __delitem__(self, key):\n        pass\n"
                "    def __iadd__(self, other):\n        return self\n"
                "    def __str__(self):\n        return 'e'\n"
                "    def __repr__(self):\n        return 'E'\n"
                "def binary():\n    e = Expr()\n    return e + e\n"
                "class Other:\n    def __radd__(self, other):\n        return Other()\n"
                "def reflected():\n    return 'lit' + Expr()\n"
                "def answered():\n    return Expr() + Other()\n"
                "def compare():\n    return Expr() == 1\n"
                "def unary():\n    return -Expr()\n"
                "def member():\n    return 1 in Expr()\n"
                "def item():\n    Expr()[0].names()\n"
                "def store():\n    e = Expr()\n    e['k'] = 1\n    del e['k']\n"
                "def augmented():\n    e = Expr()\n    e += 1\n"
                "def formatted():\n    e = Expr()\n    return f'{e} {e!r}'\n"
                "def builtins():\n    x = 1\n    return x + 2, 'a' == 'b', -x, [1][0]\n"
            ),
        },
    )
    assert g["pp.binary"] == ["pp.Expr.__add__"]
    assert g["pp.reflected"] == ["pp.Expr.__radd__"]
    assert g["pp.answered"] == ["pp.Expr.__add__"]  # the left operand has __add__: Other.__radd__ never runs
    assert g["pp.compare"] == ["pp.Expr.__eq__"]
    assert g["pp.unary"] == ["pp.Expr.__neg__"]
    assert g["pp.member"] == ["pp.Expr.__contains__"]
    assert g["pp.item"] == ["pp.Expr.__getitem__", "pp.Result.names"]  # the item is what __getitem__ returns
    assert g["pp.store"] == ["pp.Expr.__delitem__", "pp.Expr.__setitem__"]
    assert g["pp.augmented"] == ["pp.Expr.__iadd__"]  # __iadd__ first: __add__ only where a class has no __iadd__
    assert g["pp.formatted"] == ["pp.Expr.__repr__", "pp.Expr.__str__"]
    assert g["pp.builtins"] == []


def test_a_method_read_from_an_instance_is_bound_to_it(tmp_path: Path) -> None:
    """`self.visit_If` handed on (a dispatch table, a callback) and called later still runs with that instance as
    `self`: a subclass instance's methods are what its calls inside reach."""
    g = graph(
        tmp_path,
        {
            "gen.py": (
                "class CodeGenerator:\n"
                "    def write(self, x):\n        pass\n"
                "    def visit_If(self, node):\n        self.write(node)\n"
                "    def visit(self, node):\n"
                "        f = getattr(self, 'visit_' + node)\n"
                "        return f(node)\n"
                "    def later(self):\n        callback = self.visit_If\n        return callback\n"
                "class Tracking(CodeGenerator):\n    def write(self, x):\n        pass\n"
                "def main():\n    Tracking().visit('If')\n"
                "def run():\n    c = Tracking()\n    c.later()(1)\n"
            ),
        },
    )
    # a method's self holds its own class's instance from the start; the Tracking made in main is bound by the getattr
    assert g["gen.CodeGenerator.visit_If"] == ["gen.CodeGenerator.write", "gen.Tracking.write"]
    assert g["gen.run"] == ["gen.CodeGenerator.later", "gen.CodeGenerator.visit_If"]


def test_unpacking_a_tuple_gives_each_target_its_own_item(tmp_path: Path) -> None:
    """`loc, tokens = parse()` binds loc to what `return loc, tokens` put first, not to every item; `pair[1]` of a
    tuple display is its second item, and `pair[2]` of a pair is nothing. A `*rest` among the targets (or a value whose
    items have no positions) still gives every target all its items."""
    g = graph(
        tmp_path,
        {
            "parse.py": (
                "class Loc:\n    def step(self):\n        pass\n"
                "class Tokens:\n    def step(self):\n        pass\n"
                "def parse():\n    return Loc(), Tokens()\n"
                "def main():\n    loc, tokens = parse()\n    loc.step()\n"
                "def indexed():\n    pair = parse()\n    pair[1].step()\n    pair[2].step()\n"
                "def loop():\n    for loc, tokens in ((Loc(), Tokens()), (Loc(), Tokens())):\n        tokens.step()\n"
                "def starred():\n    first, *rest = parse()\n    first.step()\n"
            ),
        },
    )
    assert g["parse.main"] == ["parse.Loc.step", "parse.parse"]
    assert g["parse.indexed"] == ["parse.Tokens.step", "parse.parse"]
    assert g["parse.loop"] == ["parse.Tokens.step"]
    assert g["parse.starred"] == ["parse.Loc.step", "parse.Tokens.step", "parse.parse"]


def test_a_parameter_annotated_with_a_builtin_type_is_given_no_project_instance(tmp_path: Path) -> None:
    """`loc: int` rules out the project-class instances that a shared caller passes by mistake of the analysis (a
    class deriving from int stays), so `loc + 1` calls no project __add__."""
    g = graph(
        tmp_path,
        {
            "num.py": (
                "class Element:\n    def __add__(self, other):\n        return Element()\n"
                "class Offset(int):\n    def __add__(self, other):\n        return Offset()\n"
                "def skip(loc: int):\n    return loc + 1\n"
                "def untyped(loc):\n    return loc + 1\n"
                "def main(values):\n"
                "    for v in [Element(), Offset(), 3]:\n        skip(v)\n        untyped(v)\n"
            ),
        },
    )
    assert g["num.skip"] == ["num.Offset.__add__"]
    assert g["num.untyped"] == ["num.Element.__add__", "num.Offset.__add__"]


def test_a_decorator_returning_update_wrapper_gives_its_wrapper(tmp_path: Path) -> None:
    """`return update_wrapper(new_func, f)` is new_func: the decorated methods are that wrapper, which calls f."""
    g = graph(
        tmp_path,
        {
            "comp.py": (
                "from functools import update_wrapper\n"
                "def optimize(f):\n"
                "    def new_func(self, node):\n        return f(self, node)\n"
                "    return update_wrapper(new_func, f)\n"
                "class Gen:\n"
                "    @optimize\n    def visit_Name(self, node):\n        pass\n"
                "def main():\n    Gen().visit_Name(1)\n"
            ),
        },
    )
    assert g["comp.main"] == ["comp.optimize.new_func"]
    assert g["comp.optimize.new_func"] == ["comp.Gen.visit_Name"]


def test_a_method_that_returns_self_gives_back_the_object_it_was_called_on(tmp_path: Path) -> None:
    """`Word().set_name("w")` is the Word: not every element any call of set_name was made on (the set of what
    `return self` returns holds them all)."""
    g = graph(
        tmp_path,
        {
            "fluent.py": (
                "class Element:\n"
                "    def set_name(self, name):\n        self.name = name\n        return self\n"
                "    def parse(self):\n        pass\n"
                "class Word(Element):\n    def parse(self):\n        pass\n"
                "class Literal(Element):\n    def parse(self):\n        pass\n"
                "def main():\n    Word().set_name('w').parse()\n"
                "def other():\n    Literal().set_name('l')\n"
            ),
        },
    )
    assert g["fluent.main"] == ["fluent.Element.set_name", "fluent.Word.parse"]


def test_a_builtin_type_receiver_has_only_the_methods_that_type_defines(tmp_path: Path) -> None:
    """A name that holds a list or a string sends `.upper()` to str only and `.append()` to list only; a dict
    comprehension is a dict (its `.items()`), and a name no builtin type has is no target at all."""
    g = graph(
        tmp_path,
        {
            "mixed.py": (
                "def main(flag):\n"
                "    ([1] if flag else 'text').upper()\n"
                "    ([1] if flag else 'text').append(2)\n"
                "    ([1] if flag else 'text').group_tokens()\n"
                "    {k: 1 for k in 'ab'}.items()\n"
            ),
        },
    )
    assert g["mixed.main"] == ["<**PyDict**>.items", "<**PyList**>.append", "<**PyStr**>.upper"]
