"""Python call resolution: a flow-insensitive points-to analysis over the whole project, in the style of PyCG.

Pipeline: lower every module (pysyntax: parse, collect its scopes - modules, classes, functions, lambdas - and the
names each binds, and turn their bodies into compact tuples) → iterate over every statement, growing points-to sets
for variables, attributes, parameters, returns and container items until nothing changes → every call site's
callee set is its resolved targets.

Values are fully qualified names: definitions (``pkg.mod.Class.method``, ``mod.<lambda1>``), modules,
builtins (``<builtin>.len``, ``<**PyStr**>.join``), external names (``requests.get``) and container
ids. An instance of a project class is ``pkg.mod.Class()``: ``a = A(); a.m()`` resolves through ``A``'s MRO, and
``a()`` calls ``A.__call__`` where ``A()`` calls ``A.__init__``. An instance of a library class keeps the class's
name (``requests.Session``), so its methods keep their library names.

Each call site keeps *all* its candidate targets; nothing is picked by name similarity. A call whose
callee evaluates to nothing is reported as unresolved rather than guessed.
"""

from __future__ import annotations

import builtins
import gc
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple, TypeVar

from strata.codegraph.pysyntax import (
    E_ANNOTATION,
    E_ATTR,
    E_BOOLOP,
    E_CALL,
    E_COMP,
    E_CONST,
    E_DICT,
    E_DISPLAY,
    E_GETATTR,
    E_IFEXP,
    E_JSTR,
    E_LAMBDA,
    E_NAME,
    E_PASS,
    E_SEQ,
    E_SLICE,
    E_SUB,
    E_WALRUS,
    E_YIELD,
    INSTANCE,
    ITEMS,
    K_CONSTANT,
    K_SPREAD,
    M_FACTS,
    M_IMPORTED,
    M_IS_PACKAGE,
    M_NAME,
    M_SCOPES,
    M_URL_CALLS,
    POSITION_COLUMN_BITS,
    POSITION_COLUMN_MASK,
    POSITION_LINE_SHIFT,
    S_ASSIGN,
    S_DEF,
    S_FOR,
    S_FROM,
    S_IF,
    S_IMPORT,
    S_RAISE,
    S_RETURN,
    S_TRY,
    S_WITH,
    SC_ANNOTATED,
    SC_BASES,
    SC_BODY,
    SC_CALLS_AT,
    SC_CLASS_FQN,
    SC_END_LINENO,
    SC_FQN,
    SC_GLOBALS,
    SC_IS_ABSTRACT,
    SC_IS_GENERATOR,
    SC_IS_PROPERTY,
    SC_KIND,
    SC_LINENO,
    SC_LOCALS,
    SC_METHOD_KIND,
    SC_NONLOCALS,
    SC_PARAMS,
    SC_PARENT,
    SC_REBIND_AT,
    SC_RETURNS_PARAM,
    SC_ROUTE_DECORATORS,
    SC_SLOT_STORES,
    T_ATTR,
    T_NAME,
    T_STAR,
    T_SUB,
    T_UNPACK,
    Lowered,
    Node,
    lower_sources,
)
from strata.codegraph.pysyntax import position as unpack_position

__all__ = [
    "CallKey",
    "CallRows",
    "CallSite",
    "PyProject",
    "Scope",
    "analyze_sources",
    "collector_paused",
    "import_order",
    "load_project",
    "module_name_for",
    "parse_sources",
]

# Module constants are Final: mypyc reads a plain module global from the module dict on every use.
BUILTIN_NAMES: Final = frozenset(dir(builtins))
_BUILTIN_VALUES: Final = {name: f"<builtin>.{name}" for name in BUILTIN_NAMES}
_EMPTY: Final[frozenset[str]] = frozenset()
MAX_ITERATIONS: Final = 30
# External names grow by one segment per attribute; `node = node.parent` in a loop would grow them
# forever. Past this many segments an external value is dropped (unknown).
MAX_EXTERNAL_SEGMENTS: Final = 6
# A points-to set that reaches this size is frozen ("saturated"): the variable is too polymorphic to
# resolve calls through usefully, and letting it grow made whole-stdlib analysis explode (158M entries).
MAX_POINTS_TO: Final = 64
MAX_SLICE_ITEMS: Final = 32  # positions a constant slice carries over to the new container
# Compiled, the fixpoint never runs bytecode, so it never hands the GIL to a thread waiting for it (CPython does
# that from the bytecode loop): index.py's Kuzu loader, whose statements release the GIL, waited 15 s on Lib/ for
# it after each statement. Every this many scope runs the GIL is released for a moment (a no-op when no thread
# waits; Lib/: ~3,000 times).
GIL_HANDOFF_RUNS: Final = 64
_let_other_threads_run: Final = time.sleep
# Builtins that call the functions passed to them (PyCG records those calls at the call site).
CALLS_ITS_ARGUMENTS: Final = frozenset({"map", "filter", "sorted", "min", "max", "reduce"})
_CALLS_ITS_KEY: Final = frozenset({"sorted", "min", "max"})
# builtins that call a method of the object they are given (type(x) gives its class: see _builtin_protocol)
_BUILTIN_DUNDERS: Final = {
    "len": "__len__",
    "iter": "__iter__",
    "next": "__next__",
    "str": "__str__",
    "repr": "__repr__",
    "hash": "__hash__",
    "bool": "__bool__",
    "abs": "__abs__",
    "reversed": "__reversed__",
    "format": "__format__",
    "int": "__int__",
    "float": "__float__",
    "round": "__round__",
    "dir": "__dir__",
    "type": "",
}
_ITERATING_BUILTINS: Final = frozenset(
    {"list", "tuple", "set", "frozenset", "sorted", "enumerate", "sum", "any", "all"}
)
_CALLABLE_KINDS: Final = frozenset({"function", "class", "instance"})
RETURN: Final = "<RETURN>"
_SCOPE_KINDS: Final = frozenset({"module", "class", "function", "instance"})
_NO_KEYWORDS: Final[dict[str, set[str]]] = {}  # never written to
_CONTAINER_TYPES: Final = {
    "dict": "<**PyDict**>",
    "list": "<**PyList**>",
    "tuple": "<**PyTuple**>",
    "set": "<**PySet**>",
}
YIELD: Final = "<YIELD>"
_GETATTR: Final = frozenset({"<builtin>.getattr"})
TYPE: Final = "<TYPE>"  # `<fqn>.<param><TYPE>`: the instances a parameter's annotation names
_TYPING: Final = ("typing.", "typing_extensions.", "collections.abc.", "abc.")  # names no instance is of
_GENERATOR: Final = 1  # what calling one body of a function gives (PyProject._enter_function)
_RETURNS: Final = 2  # its return value
_PASSED_BACK: Final = 4  # the argument it returns as it came in (Scope.returns_param)

ScopeKind = Literal["module", "class", "function", "lambda"]
CallKey = tuple[str, int, int, int]  # caller, line, column, end column
Position = int  # line, column and end column of the expression a call site is, packed (pysyntax.position)
SiteKey = tuple[str, Position]  # caller, position: a call site inside the analysis (2-tuples are cheaper to hash)
_MroEntry = tuple[str, str, "Scope | None"]  # a class in an MRO, its kind, its scope (project classes)
_Kinded = tuple[str, "Scope | None"]  # a value's kind, and its scope when it is a project module, class or function
K = TypeVar("K")


_NONE_YET: Final[set[str]] = set()  # never added to: see _Var


class _Var:
    """One points-to set and what the solver keeps about it, found with a single dict lookup by its key."""

    __slots__ = ("last_reader", "readers", "saturated", "values", "writers")

    def __init__(self) -> None:
        # both start as a shared empty set, replaced by the var's own on the first add (60% of the sets read on
        # Lib/ never get a value: -100 MB)
        self.values: set[str] = _NONE_YET
        self.readers: set[str] = _NONE_YET  # scopes whose runs read the set: they run again when it changes
        self.last_reader = ""  # the scope that read it last, already in readers (most reads repeat it)
        # the scope (one, or a set of them) whose last run added values: a value leaves the set only when
        # no writer adds it any more
        self.writers: str | set[str] | None = None
        self.saturated = False


@dataclass
class Scope:
    """A namespace: module, class body, function or lambda."""

    fqn: str
    kind: ScopeKind
    module: str
    body: Any  # lowered statements (pysyntax); a lambda's: its body expression
    parent: Scope | None
    locals: frozenset[str] = frozenset()
    global_names: frozenset[str] = frozenset()
    nonlocal_names: frozenset[str] = frozenset()
    params: tuple[str, ...] = ()
    class_fqn: str | None = None  # for methods: the class whose body defines them
    method_kind: Literal["function", "method", "staticmethod", "classmethod"] = "function"
    is_generator: bool = False
    lineno: int = 0
    end_lineno: int = 0
    # Straight-line rebinding (module and function bodies): statement index -> name -> the key that
    # statement binds. A name assigned only by plain `name = ...` statements directly in the body gets a
    # key per assignment, and reads in the body see the latest one; the last assignment binds the
    # ordinary key, which other scopes read. `a = f; a = g; a()` calls g only.
    rebind_at: dict[int, dict[str, str]] = field(default_factory=dict)
    # Straight-line item stores `x[K] = v` (constant K) directly in the body: later reads of that one
    # container's K in the body see v only, until a statement with a call (which may mutate it) or
    # another store to the container. Statement indices of such stores, and of statements with calls.
    slot_stores: frozenset[int] = frozenset()
    calls_at: frozenset[int] = frozenset()
    # functions: `@obj.attr("path", methods=[...])` decorators; modules named `urls`: `f("path", view)` calls
    # (routes.py; layouts in pysyntax)
    route_decorators: tuple[Node, ...] = ()
    url_calls: tuple[Node, ...] = ()
    # Later definitions of the same name in the same scope (a property's setter and deleter, `typing.overload`
    # stubs, `if ...: def f` / `else: def f`): one symbol with several bodies. Each body runs and binds its own
    # parameters; names, parameters and the return value are the symbol's (keys start with the shared fqn).
    alternates: tuple[Scope, ...] = ()
    # the position of the parameter the function returns as it came in (an identity-like decorator), else -1: a
    # call gives what it passed there (pysyntax._returned_param)
    returns_param: int = -1
    # a method that declares without implementing (@abstractmethod, `raise NotImplementedError`, a Protocol stub):
    # left out of a call site's targets that holds an implementation (pysyntax._declares_only)
    is_abstract: bool = False
    # parameters with an annotation: a project-class instance passed to one must be of a class the annotation names
    # (or a subclass); the annotated instances are in `<fqn>.<param><TYPE>` (see PyProject._typed)
    annotated: frozenset[str] = frozenset()
    is_property: bool = False  # a @property getter: `obj.name` calls it (PyProject._loaded)
    # Where names lead, fixed once the scope is collected: name -> the set it reads (LEGB, see _key_for); name ->
    # the set `from m import *` binds it in (names with no binding here); own name -> the set `fqn.name`.
    name_vars: dict[str, _Var] = field(default_factory=dict)
    star_vars: dict[str, _Var] = field(default_factory=dict)
    own_vars: dict[str, _Var] = field(default_factory=dict)


class CallSite(NamedTuple):
    """One call expression and everything it may call (a named tuple: a frozen dataclass took 0.65 s to make
    the 329k of Lib/)."""

    caller: str
    module: str
    lineno: int
    col: int
    targets: frozenset[str]


@dataclass
class CallRows:
    """The CALLS rows of a set of call sites (:meth:`PyProject.call_rows`), as columns, and what they counted."""

    callers: list[str]
    callees: list[str]
    lines: list[int]
    candidates: list[int]  # how many targets the row's call site has
    new: list[str]  # targets that were not known, in the order first met
    sites: int
    unresolved: int  # sites with no target
    ambiguous: int  # sites with several


def module_name_for(path: Path, root: Path) -> str:
    """``root/pkg/mod.py`` → ``pkg.mod``; ``root/pkg/__init__.py`` → ``pkg``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


class PyProject:
    """The analysis of one Python code base."""

    def __init__(self, modules: dict[str, Lowered]) -> None:
        """``modules``: module name -> the module lowered (pysyntax).

        The analysis keeps what each scope's last run contributed to every points-to set, so that
        :meth:`update` retracts what an edited module no longer implies instead of re-solving the whole
        project. That costs about a quarter more time and memory than accumulating, and gives the same
        result whether a graph was built at once or edit by edit.
        """
        self.packages = {name for name, lowered in modules.items() if lowered[M_IS_PACKAGE]}
        self.module_names = set(modules)
        self.module_prefixes = _prefixes(self.module_names)
        self._mro_visiting: set[str] = set()
        # class -> (its MRO, the points-to sets computing it read); dropped when one of those sets changes
        # (and each class in it with its kind and, for project classes, scope: what attribute lookups walk)
        self._mro_cache: dict[str, tuple[list[str], frozenset[_Var], list[_MroEntry]]] = {}
        self._mro_readers: defaultdict[_Var, set[str]] = defaultdict(set)  # set -> classes whose MRO read it
        self._read_log: list[set[_Var]] = []  # sets read while computing the MROs being computed
        self._kinds: dict[str, _Kinded] = {}
        self._items_vars: dict[str, _Var] = {}  # container -> the set `container.<ITEMS>` (no key made per read)
        # (module, name) -> the submodule `module.name`, or the set of that name in the module (until update())
        self._module_attributes: dict[tuple[str, str], str | _Var] = {}
        self.scopes: dict[str, Scope] = {}
        self.class_bases: dict[str, int] = {}  # class -> how many bases it lists (their values: _base_keys)
        self.vars: dict[str, _Var] = {}  # points-to key -> its set
        # What each scope's runs found, by the scope that ran: call site -> targets, (owner, line) -> referenced
        # definitions. Kept apart per scope so that re-running one scope replaces exactly its findings.
        self.site_targets: defaultdict[str, dict[SiteKey, set[str]]] = defaultdict(dict)
        # caller -> the scopes whose runs recorded its call sites or references (its own body, class bodies
        # inside it, base-class expressions evaluated elsewhere)
        self.site_recorders: defaultdict[str, set[str]] = defaultdict(set)
        self.scope_references: defaultdict[str, defaultdict[tuple[str, int], set[str]]] = defaultdict(
            lambda: defaultdict(set)
        )
        # (owner, line) -> the modules or definitions an import statement there names, as for references
        self.scope_imports: defaultdict[str, defaultdict[tuple[str, int], set[str]]] = defaultdict(
            lambda: defaultdict(set)
        )
        # scope (or "<collect>module") -> set -> values its last run added to it (see _Var.writers)
        self._contributions: dict[str, dict[_Var, set[str]]] = {}
        self._run: dict[_Var, set[str]] | None = None  # the contributions of the run in progress
        self._order: dict[str, int] = {}  # scope -> definition order, for stable, repeatable rounds
        self._defined = 0
        # module -> the dotted names its module-level code imports; and each module's place in an order where
        # a module comes after those it imports (see import_order)
        self.module_imports: dict[str, list[str]] = {}
        self._module_rank: dict[str, int] = {}
        self.module_scopes: defaultdict[str, list[str]] = defaultdict(list)
        # every name a def or class statement ever bound (only grows) -> "." + name, the end of its definitions' fqns
        self._definition_suffixes: dict[str, str] = {}
        self._dirty: set[str] = set()
        self._current: str | None = None
        # in the run in progress: its call sites' targets (site_targets[current], once asked for), and the caller
        # whose site_recorders entry it added last
        self._found: dict[SiteKey, set[str]] | None = None
        self._recorded = ""
        # while a scope with straight-line rebinding runs: the keys its names read now, and bind next
        self._flow_scope: Scope | None = None
        self._now: dict[str, str] = {}
        self._pending: dict[str, str] = {}
        self._slots: dict[tuple[str, str], set[str]] = {}  # (container, constant key) -> its value now
        for lowered in modules.values():
            self._collect_module(lowered)
        self._rank_modules()

    def _collect_module(self, lowered: Lowered) -> None:
        """Make the scopes of a lowered module, in the order they were collected, and add its initial values."""
        name: str = lowered[M_NAME]
        self._run = {}
        made: list[Scope] = []
        for record in lowered[M_SCOPES]:
            parent: int = record[SC_PARENT]
            kind: ScopeKind = record[SC_KIND]
            fqn: str = record[SC_FQN]
            scope = Scope(
                fqn=fqn,
                kind=kind,
                module=name,
                body=record[SC_BODY],
                parent=made[parent] if parent >= 0 else None,
                locals=record[SC_LOCALS],
                global_names=record[SC_GLOBALS],
                nonlocal_names=record[SC_NONLOCALS],
                params=record[SC_PARAMS],
                class_fqn=record[SC_CLASS_FQN],
                method_kind=record[SC_METHOD_KIND],
                is_generator=record[SC_IS_GENERATOR],
                lineno=record[SC_LINENO],
                end_lineno=record[SC_END_LINENO],
                rebind_at=record[SC_REBIND_AT],
                slot_stores=record[SC_SLOT_STORES],
                calls_at=record[SC_CALLS_AT],
                route_decorators=record[SC_ROUTE_DECORATORS],
                returns_param=record[SC_RETURNS_PARAM],
                is_abstract=record[SC_IS_ABSTRACT],
                annotated=record[SC_ANNOTATED],
                is_property=record[SC_IS_PROPERTY],
            )
            made.append(scope)
            first = self.scopes.get(fqn)
            if first is not None and first.module == name and first.kind == kind:
                first.alternates += (scope,)  # the same name defined again: another body of one symbol
                first.end_lineno = max(first.end_lineno, scope.end_lineno)
                if kind == "class":
                    self.class_bases[fqn] = max(self.class_bases.get(fqn, 0), record[SC_BASES])
                continue
            if kind == "class":
                self.class_bases[fqn] = record[SC_BASES]
            if kind == "class" or kind == "function":
                defined = fqn.rpartition(".")[2]
                if defined not in self._definition_suffixes:
                    self._definition_suffixes[defined] = "." + defined
            self.scopes[fqn] = scope
            # A counter, not len(self._order): a name defined twice (two `def helper` in one function) kept its
            # place in the dict, so the next scope got the same number, and the two ran in set order - the
            # call graph of Lib/ changed with PYTHONHASHSEED.
            self._order[fqn] = self._defined = self._defined + 1
            self.module_scopes[name].append(fqn)
        made[0].url_calls = lowered[M_URL_CALLS]
        for key, value in lowered[M_FACTS]:
            self._add(key, (value,))  # definitions name themselves; `self` and `cls` hold their class
        self.module_imports[name] = list(lowered[M_IMPORTED])
        self._finish_run(f"<collect>{name}")

    def _rank_modules(self) -> None:
        """Rounds run scopes module by module in import order (see import_order)."""
        self._module_rank = import_order(self.module_names, self.module_imports)

    def _run_order(self, fqn: str) -> tuple[int, int]:
        """Where a scope runs in a round: by its module's rank, then in definition order (removed scopes first)."""
        scope = self.scopes.get(fqn)
        if scope is None:
            return (-1, -1)
        return (self._module_rank.get(scope.module, -1), self._order.get(fqn, -1))

    # -- name lookup -----------------------------------------------------------------------------

    def _key_for(self, scope: Scope, name: str) -> str | None:
        """The points-to key ``name`` refers to in ``scope`` (LEGB), or None when it is unbound."""
        current: Scope | None = scope
        first = True
        while current is not None:
            if name in current.global_names:
                return f"{current.module}.{name}"
            if (first or current.kind != "class") and name in current.locals and name not in current.nonlocal_names:
                return f"{current.fqn}.{name}"
            first = False
            current = current.parent
        return None

    def _name_var(self, scope: Scope, name: str) -> _Var | None:
        """The set ``name`` refers to in ``scope``, or None when it is unbound there (memoized per scope)."""
        var = scope.name_vars.get(name)
        if var is None:
            key = self._key_for(scope, name)
            if key is None:
                return None
            var = scope.name_vars[name] = self._var(key)
        return var

    def _own_var(self, scope: Scope, name: str) -> _Var:
        """The set ``<scope fqn>.<name>`` (a parameter, the return value)."""
        var = scope.own_vars.get(name)
        if var is None:
            var = scope.own_vars[name] = self._var(f"{scope.fqn}.{name}")
        return var

    def lookup(self, scope: Scope, name: str) -> AbstractSet[str]:
        if scope is self._flow_scope and name in self._now:
            return self._read(self._now[name])
        var = self._name_var(scope, name)
        if var is not None:
            return self._read_var(var)
        star = scope.star_vars.get(name)
        if star is None:
            star = scope.star_vars[name] = self._var(f"{scope.module}.{name}")
        found = self._read_var(star)  # bound by `from m import *`
        if found:
            return found
        if name in BUILTIN_NAMES:
            return {_BUILTIN_VALUES[name]}
        return set()

    # -- pass 2: fixpoint ------------------------------------------------------------------------

    def solve(self, dirty: set[str] | None = None) -> set[str]:
        """Propagate to a fixpoint, re-running only the scopes whose inputs changed (a worklist).

        Starts from ``dirty`` (default: every scope); returns every scope that ran.
        """
        dirty = set(self.scopes) if dirty is None else dirty
        ran: set[str] = set()
        runs = 0
        for _ in range(MAX_ITERATIONS * 10):
            if not dirty:
                break
            self._dirty = set()
            for fqn in sorted(dirty, key=self._run_order):  # a fixed order: stable results
                runs += 1
                if not runs % GIL_HANDOFF_RUNS:
                    _let_other_threads_run(0)
                # dirtied earlier in this round, it reads the new values now; only a change after this run
                # needs it again (Lib/: 7% fewer runs)
                self._dirty.discard(fqn)
                ran.add(fqn)
                self._current = fqn
                self._found, self._recorded = None, ""
                scope = self.scopes.get(fqn)
                self._run = {}
                self.site_targets.pop(fqn, None)
                self.scope_references.pop(fqn, None)
                self.scope_imports.pop(fqn, None)
                if scope is not None:  # a scope removed by update() runs empty: it retracts what it added
                    self._run_scope(scope)
                self._finish_run(fqn)
            dirty = self._dirty
        self._current, self._found, self._recorded = None, None, ""
        return ran

    def _finish_run(self, owner: str) -> None:
        """What ``owner`` added before but not in this run leaves the sets that no other writer adds it to."""
        run, self._run = self._run, None
        if run is None:
            return
        before = self._contributions.pop(owner, {})
        if run:
            self._contributions[owner] = run
        for var in run:
            if var not in before:
                _add_writer(var, owner)
        for var, values in before.items():
            now = run.get(var)
            if now is None:
                _drop_writer(var, owner)
                gone = values
            elif values <= now:  # most runs add again what they added before: no empty difference made
                continue
            else:
                gone = values - now
            for value in gone:
                if not self._written(var, value):
                    self._retract(var, value)

    def _written(self, var: _Var, value: str) -> bool:
        """Whether the last run of some writer of ``var`` added ``value`` to it."""
        writers = var.writers
        if writers is None:
            return False
        if isinstance(writers, str):
            return value in self._contributions.get(writers, {}).get(var, _EMPTY)
        return any(value in self._contributions.get(w, {}).get(var, _EMPTY) for w in writers)

    def _retract(self, var: _Var, value: str) -> None:
        if value not in var.values or var.saturated:
            return  # a saturated set stays as it is: nothing is resolved through it anyway
        var.values.discard(value)
        self._changed(var)

    def _changed(self, var: _Var) -> None:
        """A points-to set changed: its readers run again, and MROs computed from it are stale."""
        self._dirty |= var.readers
        if self._mro_readers:
            for cls in self._mro_readers.pop(var, ()):
                self._mro_cache.pop(cls, None)

    def update(self, modules: dict[str, Lowered | None]) -> set[str]:
        """Replace (or, given None, remove) modules and re-solve what depends on them.

        ``modules``: module name -> the module lowered anew (:func:`parse_sources`), or None when it is gone.
        Returns every scope that ran: the scopes whose calls and references may have changed, including
        the removed ones.
        """
        dirty: set[str] = set()
        self._dirty = set()
        imports_before = {name: self.module_imports.get(name) for name in modules}
        for name, lowered in modules.items():
            for fqn in self.module_scopes.pop(name, []):
                scope = self.scopes.pop(fqn, None)
                if scope is not None:
                    self.class_bases.pop(fqn, None)
                    dirty.add(fqn)  # runs empty unless the new module defines it again
            self.module_imports.pop(name, None)
            self.packages.discard(name)
            self.module_names.discard(name)
            if lowered is None:
                self._run = {}
                self._finish_run(f"<collect>{name}")
                continue
            self.module_names.add(name)
            if lowered[M_IS_PACKAGE]:
                self.packages.add(name)
            self._collect_module(lowered)
            dirty.update(self.module_scopes[name])
        self.module_prefixes = _prefixes(self.module_names)
        if any(self.module_imports.get(name) != before for name, before in imports_before.items()):
            self._rank_modules()  # 4 ms on Lib/: only when a module came, went or imports something else
        self._kinds.clear()  # a name may now be a class where it was a function, or nothing at all
        self._module_attributes.clear()  # `m.name` may now be a submodule, or no longer one
        self._mro_cache.clear()
        self._mro_readers.clear()
        return self.solve(dirty | self._dirty)

    def _var(self, key: str) -> _Var:
        var = self.vars.get(key)
        if var is None:
            var = self.vars[key] = _Var()
        return var

    def points_to(self, key: str) -> AbstractSet[str]:
        """The values ``key`` may hold (without noting a read)."""
        var = self.vars.get(key)
        return _EMPTY if var is None else var.values

    def _read(self, key: str) -> AbstractSet[str]:
        """The points-to set of ``key``, noting that the scope being run depends on it."""
        return self._read_var(self._var(key))  # a set read before anything is added to it records its reader too

    def _read_var(self, var: _Var) -> AbstractSet[str]:
        current = self._current
        if current is not None and var.last_reader is not current:
            _add_reader(var, current)
        if self._read_log:
            self._read_log[-1].add(var)
        return var.values

    def _add(self, key: str, values: Collection[str]) -> None:
        self._add_var(self._var(key), values)

    def _add_var(self, var: _Var, values: Collection[str]) -> None:  # iterated twice: no generators
        if var.saturated or not values:
            return
        target = var.values
        if values is target:
            return
        if target is _NONE_YET:
            target = var.values = set()
        before = len(target)
        # Values of builtin types ("<**PyStr**>", "<**PyBytes**>.name") resolve calls only where they
        # appear (" ".join(...)); stored, they flow into every parameter and never lead anywhere. Most additions
        # hold none: they are added as they are, with no list made.
        kept: Collection[str] = values
        for value in values:
            if value.startswith("<**"):
                kept = [v for v in values if not v.startswith("<**")]
                break
        target.update(kept)
        if self._run is not None and kept:
            contributed = self._run.get(var)
            if contributed is None:
                contributed = self._run[var] = set()
            contributed.update(kept)
        if len(target) >= MAX_POINTS_TO:
            var.saturated = True
        if len(target) != before:
            self._changed(var)

    def _run_scope(self, scope: Scope) -> None:
        self._run_body(scope)
        for alternate in scope.alternates:
            self._run_body(alternate)

    def _run_body(self, scope: Scope) -> None:
        body = scope.body
        if scope.kind == "lambda":
            self._add_var(self._own_var(scope, RETURN), self.eval(body, scope))
            return
        if not scope.rebind_at and not scope.slot_stores:
            for stmt in body:
                self._stmt(stmt, scope)
            return
        self._flow_scope, self._now, self._slots = scope, {}, {}
        try:
            for index, stmt in enumerate(body):
                binds = scope.rebind_at.get(index)
                self._pending = binds or {}
                self._stmt(stmt, scope)
                if binds:
                    self._now.update(binds)
                if index in scope.calls_at:  # a call may have changed any container
                    self._slots = {}
        finally:
            self._flow_scope, self._now, self._pending, self._slots = None, {}, {}, {}

    def _stmt(self, stmt: Node, scope: Scope) -> None:
        op: int = stmt[0]
        if op < S_ASSIGN:  # an expression statement
            self.eval(stmt, scope)
        elif op == S_ASSIGN:
            value: Node = stmt[2]
            values = self.eval(value, scope)
            for target in stmt[1]:
                self._bind(target, values, scope, value)
        elif op == S_DEF:
            self._definition(stmt, scope)
        elif op == S_IF:
            self.eval(stmt[1], scope)
            self._stmts(stmt[2], scope)
        elif op == S_RETURN:
            self._add_var(self._own_var(scope, RETURN), self.eval(stmt[1], scope))
        elif op == S_FOR:
            self._bind(stmt[3], self._iterate(self.eval(stmt[1], scope), stmt[2], scope), scope, None)
            self._stmts(stmt[4], scope)
        elif op == S_FROM:
            self._import_from(stmt, scope)
        elif op == S_IMPORT:
            self._note_import(stmt[1], stmt[2], scope)
            for name, module in stmt[3]:
                self._bind_name(scope, name, {module})  # a module's value is its name, in the project or not
        elif op == S_TRY:
            self._stmts(stmt[1], scope)
            for type_expr, handler_body in stmt[2]:
                if type_expr is not None:
                    self.eval(type_expr, scope)
                self._stmts(handler_body, scope)
        elif op == S_WITH:
            enter, leave = ("__aenter__", "__aexit__") if stmt[3] else ("__enter__", "__exit__")
            for context, target, position in stmt[1]:
                values = self.eval(context, scope)
                entered: set[str] = set()
                classes = _classes_of(values, self._kind)
                if classes:  # `with obj:` calls obj.__enter__() and, leaving, obj.__exit__(...)
                    entered = self._call_values(self._methods(classes, enter), [], {}, position, scope, bound=True)
                    self._call_values(self._methods(classes, leave), [], {}, position, scope, bound=True)
                if target is not None:
                    self._bind(target, values | entered, scope, None)
            self._stmts(stmt[2], scope)
        elif op == S_RAISE:
            raised = self.eval(stmt[1], scope)
            if stmt[2] is not None:  # `raise A` instantiates A
                classes = {v for v in raised if self._kind(v) == "class"}
                self._call_values(classes, [], {}, stmt[2], scope, bound=False)

    def _stmts(self, stmts: tuple[Node, ...], scope: Scope) -> None:
        for stmt in stmts:
            self._stmt(stmt, scope)

    def _definition(self, stmt: Node, scope: Scope) -> None:
        # The bases are evaluated here, in the run of the scope that defines the class, and kept: an MRO
        # reads them. Evaluated again wherever an attribute was first looked up, a call in a base (`class
        # A(namedtuple(...))`) ran as part of that unrelated scope and was recorded there.
        for key, base in stmt[4]:
            self._add(key, self.eval(base, scope))
        self._bind_defaults(stmt[5], scope)
        value: set[str] = {stmt[2]}
        for decorator, position in stmt[6]:  # innermost first
            # @dec def f: ... is f = dec(f): a call of dec with f, whose result is bound to f. A decorator
            # we cannot see into (unknown, external or builtin) is taken to wrap f. The test must not look
            # at the result: it is empty in early rounds, and points-to sets never shrink.
            decorators = self.eval(decorator, scope)
            result = self._call_values(decorators, [value], {}, position, scope, bound=False)
            opaque = not decorators or any(self._kind(d) not in ("function", "class") for d in decorators)
            value = result | value if opaque else result
        self._bind_name(scope, stmt[1], value)

    def _bind_defaults(self, defaults: tuple[Node, ...], scope: Scope) -> None:
        for key, default in defaults:
            values = self.eval(default, scope)
            self._add(key, values)
            if default[0] == E_ANNOTATION:
                self._add(key + TYPE, values)

    def _import_from(self, stmt: Node, scope: Scope) -> None:
        base: str = stmt[1]
        imported: set[str] = set()
        for name, _, full in stmt[2]:
            if name == "*" or base not in self.module_names or full in self.module_names:
                imported.add(base if name == "*" else full)
            else:  # a name defined in (or re-exported by) a project module: what it denotes, else the module
                imported |= {v for v in self._read(full) if v in self.scopes} or {base}
        self._note_import(imported, stmt[3], scope)
        for name, bound, full in stmt[2]:
            if name == "*":
                source = self.scopes.get(base)
                if source is not None:
                    for local in source.locals:
                        if not local.startswith("_"):
                            self._bind_name(scope, local, self._read(f"{base}.{local}"))
                continue
            if full in self.module_names:
                values = {full}
            elif base in self.module_names:
                values = set(self._read(full))
            else:
                values = {full}  # an external name: kept by its qualified name
            self._bind_name(scope, bound, values)

    # -- binding -----------------------------------------------------------------------------------

    def _bind_name(self, scope: Scope, name: str, values: AbstractSet[str]) -> None:
        if scope is self._flow_scope and name in self._pending:
            self._add(self._pending[name], values)
            return
        var = self._name_var(scope, name)
        self._add_var(var if var is not None else self._own_var(scope, name), values)

    def _bind(self, target: Node, values: set[str], scope: Scope, source: Node | None) -> None:
        op: int = target[0]
        if op == T_NAME:
            self._bind_name(scope, target[1], values)
        elif op == T_ATTR:
            attr: str = target[2]
            for obj in self.eval(target[1], scope):
                kind, owner = self._kinded(obj)
                if owner is not None:  # a project module, class or function: `obj.attr` is its own set
                    self._add_var(self._own_var(owner, attr), values)
                elif kind in ("module", "container", "external"):
                    self._add(f"{obj}.{attr}", values)
        elif op == T_SUB:
            key: str | None = target[3]
            objects = self.eval(target[1], scope)
            for obj in objects:
                if self._kind(obj) == "container":
                    self._add_var(self._items_var(obj), values)
                    if key is not None:
                        self._add(f"{obj}[{key}]", values)
            if scope is self._flow_scope:
                if target[4] and key is not None and len(objects) == 1:  # `x[K] = v` directly in the body
                    self._slots[(next(iter(objects)), key)] = set(values)
                elif self._slots:  # any other store to these containers: their items are unknown again
                    self._slots = {slot: v for slot, v in self._slots.items() if slot[0] not in objects}
            if target[2] is not None:
                self.eval(target[2], scope)
        elif op == T_UNPACK:
            elements: tuple[Node, ...] = target[1]
            if source is not None and source[0] == E_DISPLAY and source[4] and len(source[3]) == len(elements):
                for element, (value, slot) in zip(elements, source[3], strict=True):
                    # a starred value (`*rest` in the display) is no display to unpack pairwise
                    self._bind(element, self.eval(value, scope), scope, value if slot is not None else None)
            else:
                items = self._items(values)
                for element in elements:
                    self._bind(element, items, scope, None)
        elif op == T_STAR:
            self._bind(target[1], values, scope, None)

    # -- expressions -----------------------------------------------------------------------------------

    def eval(self, node: Node, scope: Scope) -> set[str]:
        op: int = node[0]
        if op == E_NAME:
            name: str = node[1]
            values = set(self.lookup(scope, name))
            self._note_reference(values, name, node[2], scope)
            return values
        if op == E_ATTR:
            return self._loaded(self.eval(node[1], scope), node[2], node[3], scope)
        if op == E_CALL:
            return self._call(node, scope)
        if op == E_CONST:
            kind: str = node[1]
            return {kind} if kind else set()
        if op == E_SUB:
            return self._subscript(node, scope)
        if op == E_SEQ:
            for child in node[1]:
                self.eval(child, scope)
            return set()
        if op == E_DISPLAY:
            items = self._var(node[2])  # found once for all the elements
            for element, slot in node[3]:
                if slot is None:  # *starred
                    self._add_var(items, self._items(self.eval(element, scope)))
                    continue
                values = self.eval(element, scope)
                self._add_var(items, values)
                self._add(slot, values)
            return {node[1]}
        if op == E_DICT:
            items = self._var(node[2])
            for value, mode, key in node[3]:
                values = self.eval(value, scope)
                self._add_var(items, values)
                if mode == K_CONSTANT:
                    self._add(key, values)
                elif mode == K_SPREAD:  # {**other}
                    self._add_var(items, self._items(values))
                else:
                    self.eval(key, scope)
            return {node[1]}
        if op == E_JSTR:
            for child in node[1]:
                self.eval(child, scope)
            return {"<**PyStr**>"}
        if op == E_LAMBDA:
            self._bind_defaults(node[2], scope)
            return {node[1]}
        if op == E_COMP:
            for iterated_expr, position, target, conditions in node[3]:
                iterated = self._iterate(self.eval(iterated_expr, scope), position, scope)
                self._bind(target, iterated, scope, None)
                for condition in conditions:
                    self.eval(condition, scope)
            if node[4] is not None:
                self.eval(node[4], scope)
            self._add(node[2], self.eval(node[5], scope))
            return {node[1]}
        if op == E_SLICE:
            return self._slice(node, scope)
        if op == E_IFEXP:
            self.eval(node[1], scope)
            return self.eval(node[2], scope) | self.eval(node[3], scope)
        if op == E_BOOLOP:
            out: set[str] = set()
            for value in node[1]:
                out |= self.eval(value, scope)
            return out
        if op == E_PASS:
            return self.eval(node[1], scope)
        if op == E_WALRUS:
            values = self.eval(node[2], scope)
            self._bind(node[1], values, scope, node[2])
            return values
        if op == E_ANNOTATION:
            return self._annotated(node[1], scope)
        if op == E_GETATTR:
            return self._getattr(node, scope)
        if op == E_YIELD:
            values = self.eval(node[1], scope)
            owner = _function_owner(scope)
            self._add_var(self._own_var(owner, YIELD), self._items(values) if node[2] else values)
            return set()
        raise AssertionError(f"unknown lowered expression {op}")

    def _getattr(self, node: Node, scope: Scope) -> set[str]:
        """``getattr(obj, "name"[, default])`` is ``obj.name`` (or the default); ``getattr(obj, f"visit_{kind}")``
        every attribute of obj's class whose name starts so (a dispatch by name)."""
        call: Node = node[1]
        result = self._call(call, scope)  # the call of getattr, recorded as any call (and the default's value)
        if self.lookup(scope, "getattr") != _GETATTR:
            return result  # a getattr of the project's own
        objects = self.eval(node[2], scope)
        name: str = node[3]
        if len(call[2]) == 3:
            result |= self.eval(call[2][2], scope)
        if node[4]:
            return result | self._attributes(objects, name, node[5], scope)
        for cls in _classes_of(objects, self._kind) | {o for o in objects if self._kind(o) == "class"}:
            for _, _kind, klass in self._mro_entries(cls):
                if klass is None:
                    continue
                for defined in klass.locals:
                    if defined.startswith(name):
                        result |= self.lookup_attribute(cls, defined)
        return result

    def _mro_entries(self, cls: str) -> list[_MroEntry]:
        self.mro(cls)
        cached = self._mro_cache.get(cls)
        return cached[2] if cached is not None else []

    def _annotated(self, classes: tuple[Node, ...], scope: Scope) -> set[str]:
        """Instances of the classes a type annotation names: project classes, and library classes (a capitalised
        name outside typing), whose methods then keep their library names. Added to what flows in, never instead:
        a parameter annotated ``Node`` that is passed a ``Leaf`` holds both."""
        out: set[str] = set()
        for expr in classes:
            for value in self.eval(expr, scope):
                kind = self._kind(value)
                if kind == "class":
                    if not any(k.endswith(".Protocol") and self._kind(k) == "external" for k in self.mro(value)):
                        out.add(value + INSTANCE)  # a Protocol says what an object does, not what it is
                elif kind == "external" and value.rpartition(".")[2][:1].isupper() and not value.startswith(_TYPING):
                    out.add(value)
        return out

    def _subscript(self, node: Node, scope: Scope) -> set[str]:
        subscript: str | None = node[3]
        if node[2] is not None:
            self.eval(node[2], scope)
        out: set[str] = set()
        for obj in self.eval(node[1], scope):
            if subscript is not None and (obj, subscript) in self._slots and scope is self._flow_scope:
                out |= self._slots[(obj, subscript)]
                continue
            if self._kind(obj) == "container":
                specific = (self._read(f"{obj}[{subscript}]") or None) if subscript is not None else None
                out |= specific if specific else self._read_var(self._items_var(obj))
            else:
                out |= self._call_method({obj}, "__getitem__", scope)
        return out

    def _methods_and_receivers(
        self, objects: set[str], attr: str, lineno: int, scope: Scope
    ) -> tuple[set[str], dict[str, set[str]]]:
        """``obj.attr`` for a call: what it denotes, and per method found the instances whose lookup found it (its
        ``self``: a processor's ``self.run()`` is not every processor's ``run`` called on every processor)."""
        out: set[str] = set()
        receivers: dict[str, set[str]] = {}
        for obj in objects:
            found = self.attribute(obj, attr)
            if not found:
                continue
            out |= found
            kind = self._kind(obj)
            if kind == "instance" or kind == "class":  # `A.m(a)` as `a.m()`
                instances: AbstractSet[str] = {obj if kind == "instance" else obj + INSTANCE}
            elif kind == "super":  # `super().m()`: the method's own self
                owner = _function_owner(scope)
                if owner.method_kind != "method" or not owner.params:
                    continue
                instances = self._read_var(self._own_var(owner, owner.params[0]))
            else:
                continue
            for method in found:
                of = receivers.get(method)
                if of is None:
                    receivers[method] = set(instances)
                else:
                    of |= instances
        self._note_reference(out, attr, lineno, scope)
        return out, receivers

    def _loaded(self, objects: set[str], attr: str, lineno: int, scope: Scope) -> set[str]:
        """``obj.attr`` read: its values, where reading a property of an instance is a call of its getter (a call
        site on that line of its own, keyed by the attribute's name) and gives what the getter returns."""
        out = self._attributes(objects, attr, lineno, scope)
        getters: set[str] | None = None
        for value in out:
            kind, function = self._kinded(value)
            if kind == "function" and function is not None and function.is_property:
                if getters is None:
                    getters = set()
                getters.add(value)
        if getters is None:
            return out
        receivers: dict[str, set[str]] = {}
        for obj in objects:
            if self._kind(obj) == "instance":  # `Class.name` is the property object itself: no call
                for getter in self.attribute(obj, attr) & getters:
                    receivers.setdefault(getter, set()).add(obj)
        if not receivers:
            return out
        site = lineno << POSITION_LINE_SHIFT | POSITION_COLUMN_MASK << POSITION_COLUMN_BITS
        site |= zlib.crc32(attr.encode()) & POSITION_COLUMN_MASK
        called = set(receivers)
        return (out - called) | self._call_values(called, [], {}, site, scope, bound=True, receivers=receivers)

    def _attributes(self, objects: set[str], attr: str, lineno: int, scope: Scope) -> set[str]:
        out: set[str] = set()
        if len(objects) == 1:  # most: attribute() returns a set of its own, kept as it is
            for obj in objects:
                out = self.attribute(obj, attr)
        else:
            for obj in objects:
                out |= self.attribute(obj, attr)
        self._note_reference(out, attr, lineno, scope)
        return out

    def _note_reference(self, values: set[str], name: str, lineno: int, scope: Scope) -> None:
        """Remember which project definitions this name or attribute names (find_references).

        Only uses spelled with the definition's own name count: `callback` inside a function that was
        passed `on_login` denotes it by data flow, but it is not a place that refers to `on_login`.
        """
        if values:
            suffix = self._definition_suffixes.get(name)
            if suffix is None:  # most names: nothing in the project is defined by that name
                return
            targets: set[str] | None = None  # made only when one is found (Lib/: 1.1M of these checks)
            for value in values:
                if value.endswith(suffix) and self._kind(value) in ("function", "class"):
                    if targets is None:
                        targets = set()
                    targets.add(value)
            if targets is not None:
                owner = _function_owner(scope).fqn
                if owner is not self._recorded:
                    self.site_recorders[owner].add(self._current or "")
                    self._recorded = owner
                self.scope_references[self._current or ""][(owner, lineno)] |= targets

    def _note_import(self, targets: AbstractSet[str], lineno: int, scope: Scope) -> None:
        """Remember what an import statement names (IMPORTS edges; modules outside the project too)."""
        owner = _function_owner(scope).fqn
        if owner is not self._recorded:
            self.site_recorders[owner].add(self._current or "")
            self._recorded = owner
        self.scope_imports[self._current or ""][(owner, lineno)] |= targets - {""}

    def _iterate(self, values: set[str], position: Position, scope: Scope) -> set[str]:
        """What a for loop over ``values`` binds; iterating an object calls its __iter__ and __next__."""
        items = self._items(values)
        classes = _classes_of(values, self._kind)
        if classes:
            iterators = self._call_values(self._methods(classes, "__iter__"), [], {}, position, scope, bound=True)
            items |= self._call_values(
                self._methods(_classes_of(iterators, self._kind), "__next__"),
                [],
                {},
                position,
                scope,
                bound=True,
            )
        return items

    def _methods(self, classes: set[str], name: str) -> set[str]:
        out: set[str] = set()
        for cls in classes:
            out |= {m for m in self.lookup_attribute(cls, name) if self._kind(m) == "function"}
        return out

    def _slice(self, node: Node, scope: Scope) -> set[str]:
        """``x[a:b]``: a new container holding x's items (with positions when a and b are constants);
        a slice of a string, a typed value or an external object keeps that value."""
        for bound in node[2]:
            self.eval(bound, scope)
        exact: bool = node[3]
        lower: int | None = node[4]
        upper: int | None = node[5]
        out: set[str] = set()
        items: set[str] = set()
        positions: defaultdict[int, set[str]] = defaultdict(set)
        sliced = False
        for obj in self.eval(node[1], scope):
            kind = self._kind(obj)
            if kind == "instance":
                out |= self._call_method({obj}, "__getitem__", scope)
                continue
            if kind != "container":
                out.add(obj)
                continue
            items |= self._read_var(self._items_var(obj))
            if exact and lower is not None:
                stop = lower + MAX_SLICE_ITEMS if upper is None else min(upper, lower + MAX_SLICE_ITEMS)
                for index in range(lower, stop):
                    item = self._read(f"{obj}[{index}]")
                    if not item:
                        break
                    positions[index - lower] |= item
            sliced = True
        if sliced:
            # Every container sliced here feeds the one new container, in a single addition per key: added
            # one container at a time (set order), a set that saturated midway kept whichever came first.
            cid: str = node[6]
            self._add(node[7], items)
            for position, item in sorted(positions.items()):
                self._add(f"{cid}[{position}]", item)
            out.add(cid)
        return out

    def _items(self, values: set[str]) -> set[str]:
        out: set[str] = set()
        for value in values:
            kind = self._kind(value)
            if kind == "container":
                out |= self._read_var(self._items_var(value))
            elif value.startswith("<gen>"):
                out |= self._read(f"{value[5:]}.{YIELD}")
            elif kind == "instance":
                out |= self._call_method({value}, "__iter__", None)
        return out

    # -- attributes and classes -------------------------------------------------------------------------

    def _kind(self, value: str) -> str:
        return self._kinded(value)[0]

    def _kinded(self, value: str) -> _Kinded:
        """A value's kind, and its scope when it is a project module, class or function. Scopes and modules are
        fixed once collected, so this never changes (until update()): memoized, both found with one lookup."""
        kinded = self._kinds.get(value)
        if kinded is None:
            kind = self._compute_kind(value)
            scope = None
            if kind in _SCOPE_KINDS:  # an instance's scope is its class's
                scope = self.scopes.get(value[: -len(INSTANCE)] if kind == "instance" else value)
            kinded = self._kinds[value] = (kind, scope)
        return kinded

    def _items_var(self, container: str) -> _Var:
        """The set of a container's items, ``<container>.<ITEMS>``."""
        var = self._items_vars.get(container)
        if var is None:
            var = self._items_vars[container] = self._var(f"{container}.{ITEMS}")
        return var

    def _compute_kind(self, value: str) -> str:
        if value in self.module_names:
            return "module"
        if value.startswith("<super>"):
            return "super"
        if value.startswith("<gen>"):
            return "generator"
        if value.startswith("<") and not value.startswith(("<builtin>", "<**")):
            return "container"
        if value.startswith(("<builtin>", "<**")):
            return "builtin"
        if value.endswith(INSTANCE):
            of = self.scopes.get(value[: -len(INSTANCE)])
            return "instance" if of is not None and of.kind == "class" else "external"
        scope = self.scopes.get(value)
        if scope is not None:
            return "class" if scope.kind == "class" else "function"
        if value in self.module_prefixes:
            return "module"  # a namespace package
        return "external"

    def mro(self, cls: str) -> list[str]:
        """C3 linearization (Python's MRO); falls back to depth-first order when C3 has no solution."""
        cached = self._mro_cache.get(cls)
        if cached is not None:
            self._note_reads(cached[1])  # whoever uses a cached MRO depends on what computing it read
            return cached[0]
        if cls in self._mro_visiting:  # a cyclic hierarchy (`class A(B)`, `class B(A)`): cut it here
            return [cls]
        self._mro_visiting.add(cls)
        self._read_log.append(set())
        try:
            result = self._mro(cls)
        finally:
            self._mro_visiting.discard(cls)
            read = self._read_log.pop()
        self._mro_cache[cls] = (result, frozenset(read), [self._mro_entry(klass) for klass in result])
        for var in read:
            self._mro_readers[var].add(cls)
        if self._read_log:
            self._read_log[-1] |= read
        return result

    def _note_reads(self, read: AbstractSet[_Var]) -> None:
        current = self._current
        if current is not None:
            for var in read:
                if var.last_reader is not current:
                    _add_reader(var, current)
        if self._read_log:
            self._read_log[-1] |= read

    def _mro(self, cls: str) -> list[str]:
        if self._kind(cls) != "class":
            return [cls]
        bases: list[str] = []
        for key in self._base_keys(cls):
            bases.extend(sorted(self._read(key)))
        # Bases' linearizations come from the cache: a diamond-rich hierarchy (unittest mixins) made the
        # uncached recursion take 27 s for one method of test_argparse.
        sequences = [self.mro(b) for b in bases] + [list(bases)]
        result = [cls]
        while any(sequences):
            for seq in sequences:
                head = seq[0] if seq else None
                if head is not None and not any(head in other[1:] for other in sequences):
                    break
            else:  # inconsistent hierarchy: keep going depth-first rather than fail
                head = next(seq[0] for seq in sequences if seq)
            result.append(head)
            sequences = [[x for x in seq if x != head] for seq in sequences]
        return result

    def bases(self, cls: str) -> set[str]:
        """What the base expressions of class ``cls`` denote (classes, external names, builtins)."""
        out: set[str] = set()
        for key in self._base_keys(cls):
            out |= self.points_to(key)
        return out

    def _base_keys(self, cls: str) -> list[str]:
        return [_base_key(cls, position) for position in range(self.class_bases.get(cls, 0))]

    def _mro_entry(self, klass: str) -> _MroEntry:
        kind, scope = self._kinded(klass)
        return (klass, kind, scope if kind == "class" else None)

    def lookup_attribute(self, cls: str, name: str, start: int = 0) -> set[str]:
        cached = self._mro_cache.get(cls)
        if cached is not None:  # as mro() does with a cached MRO, without looking it up twice
            self._note_reads(cached[1])
            entries = cached[2]
        else:
            classes = self.mro(cls)
            cached = self._mro_cache.get(cls)
            entries = cached[2] if cached is not None else [self._mro_entry(klass) for klass in classes]
        for position in range(start, len(entries)):
            klass, kind, scope = entries[position]
            if scope is not None:
                found = self._read_var(self._own_var(scope, name))
                if found:
                    return set(found)
            elif kind == "external":
                return {f"{klass}.{name}"} if klass.count(".") + 1 < MAX_EXTERNAL_SEGMENTS else set()
            elif kind == "builtin" and klass.startswith("<builtin>."):
                return set()
        return set()

    def attribute(self, obj: str, name: str) -> set[str]:
        kind, function = self._kinded(obj)
        if kind == "module":
            found = self._module_attributes.get((obj, name))
            if found is None:
                full = f"{obj}.{name}"
                submodule = full in self.module_names or full in self.module_prefixes
                found = full if submodule else self._var(full)
                self._module_attributes[(obj, name)] = found
            return {found} if isinstance(found, str) else set(self._read_var(found))
        if kind == "instance":
            cls = obj[: -len(INSTANCE)]
            return {cls} if name == "__class__" else self.lookup_attribute(cls, name)
        if kind == "class":
            return self.lookup_attribute(obj, name)
        if kind == "super":
            cls = obj.removeprefix("<super>")
            return self.lookup_attribute(cls, name, start=1)
        if kind == "function" and function is not None:
            return set(self._read_var(self._own_var(function, name)))
        if kind == "container":
            python_type = _CONTAINER_TYPES.get(obj[1:].split(":", 1)[0])
            return {f"{python_type}.{name}"} if python_type else set()
        if kind == "builtin" and obj.startswith("<**") and "." not in obj:
            return {f"{obj}.{name}"}
        if kind == "external" and obj.count(".") + 1 < MAX_EXTERNAL_SEGMENTS:
            return {f"{obj}.{name}"}
        return set()

    # -- calls ---------------------------------------------------------------------------------------------

    def _call(self, node: Node, scope: Scope) -> set[str]:
        position: Position = node[6]
        if node[7] and self._key_for(scope, "super") is None:  # super(...), the builtin
            owner = _function_owner(scope)
            cls = owner.class_fqn
            self._call_values({"<builtin>.super"}, [], {}, position, scope, bound=False)
            return {f"<super>{cls}"} if cls else set()
        func: Node = node[1]
        receivers: dict[str, set[str]] | None = None
        bound = func[0] == E_ATTR
        if bound:  # `obj.m(...)`: obj is evaluated once, for m and as the receiver
            callees, receivers = self._methods_and_receivers(self.eval(func[1], scope), func[2], func[3], scope)
        else:
            callees = self.eval(func, scope)
        args = [self.eval(a, scope) for a in node[2]]
        names: tuple[str, ...] = node[3]
        kwargs = _NO_KEYWORDS  # most calls pass none: no dict made (_call_values only reads it)
        if names:
            values: tuple[Node, ...] = node[4]
            kwargs = {name: self.eval(values[i], scope) for i, name in enumerate(names)}
        for value in node[5]:  # **mapping
            self.eval(value, scope)
        return self._call_values(callees, args, kwargs, position, scope, bound=bound, receivers=receivers)

    def _call_values(
        self,
        callees: set[str],
        args: list[set[str]],
        kwargs: dict[str, set[str]],
        position: Position,
        scope: Scope,
        *,
        bound: bool,
        receivers: dict[str, set[str]] | None = None,
    ) -> set[str]:
        caller = _function_owner(scope).fqn
        targets: set[str] = set()
        result: set[str] = set()
        for callee in callees:
            kind, function = self._kinded(callee)
            if kind == "function" and function is not None:
                targets.add(callee)
                its = receivers.get(callee) if receivers else None  # the objects whose `m` this is
                result |= self._function_called(callee, function, args, kwargs, bound, its)
            elif kind == "instance":  # `obj(...)`: its class's __call__
                for method in self.lookup_attribute(callee[: -len(INSTANCE)], "__call__"):
                    method_kind, method_scope = self._kinded(method)
                    if method_kind == "function" and method_scope is not None:
                        targets.add(method)
                        result |= self._function_called(method, method_scope, args, kwargs, True, {callee})
                    elif method_kind == "external":
                        targets.add(method)
            elif kind == "class":
                result.add(callee + INSTANCE)
                for new in self.lookup_attribute(callee, "__new__"):  # A() runs A.__new__(A, ...) first
                    new_kind, new_scope = self._kinded(new)
                    if new_kind == "function" and new_scope is not None:
                        targets.add(new)
                        self._bind_arguments(new_scope, [{callee}, *args], kwargs, 0)
                inits = self.lookup_attribute(callee, "__init__")
                for init in inits:
                    targets.add(init)
                    init_kind, init_scope = self._kinded(init)
                    if init_kind == "function" and init_scope is not None:
                        self._bind_arguments(init_scope, args, kwargs, 1)
                        for alternate in init_scope.alternates:
                            self._bind_arguments(alternate, args, kwargs, 1)
                if not inits:  # instantiation without an __init__ we can see: the class is the target
                    targets.add(callee)
            elif kind == "builtin":
                targets.add(callee)
                name = callee.removeprefix("<builtin>.")
                if name in CALLS_ITS_ARGUMENTS:
                    result |= self._builtin_calls_arguments(name, args, kwargs, position, scope)
                if args and (name in _BUILTIN_DUNDERS or name in _ITERATING_BUILTINS):
                    result |= self._builtin_protocol(name, args, position, scope)
            elif kind == "external":
                targets.add(callee)
                # Calling an external class gives an instance (kept as the class name, so its methods
                # resolve by name); what an external function returns is unknown.
                if callee.rpartition(".")[2][:1].isupper():
                    result.add(callee)
        if len(targets) > 1:
            targets = self._implemented(targets)
        # Each run of a scope replaces what its previous run recorded, so the last run holds the final targets.
        # `super().m()` and its inner `super()` start at the same column: the end column tells them apart.
        key = (caller, position)
        if caller is not self._recorded:
            self.site_recorders[caller].add(self._current or "")
            self._recorded = caller
        found = self._found
        if found is None:
            found = self.site_targets[self._current or ""]
            if self._current is not None:  # outside a run (routes evaluate views) nothing is kept
                self._found = found
        before = found.get(key)
        if before is None:
            found[key] = targets
        else:
            before |= targets
        return result

    def _implemented(self, targets: set[str]) -> set[str]:
        """``targets`` without the methods that only declare, unless nothing else is left (``self.tell()`` where the
        abstract base's tell and the subclasses' are found: an abstract method runs only where none overrides it)."""
        declared = [t for t in targets if (scope := self._kinded(t)[1]) is not None and scope.is_abstract]
        if not declared or len(declared) == len(targets):
            return targets
        return targets.difference(declared)

    def _builtin_protocol(self, name: str, args: list[set[str]], position: Position, scope: Scope) -> set[str]:
        """What a builtin calls on the project object it is given: ``len(x)`` x.__len__(), ``next(x)``
        x.__next__(), ``list(x)`` x.__iter__() and the iterator's __next__(); ``type(x)`` gives x's class. The calls
        are a site of their own beside the builtin's (an end column no expression has)."""
        classes = _classes_of(args[0], self._kind)
        if not classes:
            return set()
        if name == "type":
            return classes if len(args) == 1 else set()
        protocol = position | POSITION_COLUMN_MASK
        if name in _ITERATING_BUILTINS:
            self._iterate(args[0], protocol, scope)
            return set()
        methods = self._methods(classes, _BUILTIN_DUNDERS[name])
        if name == "bool" and not methods:
            methods = self._methods(classes, "__len__")
        return self._call_values(methods, [], {}, protocol, scope, bound=True)

    def _function_called(
        self,
        callee: str,
        function: Scope,
        args: list[set[str]],
        kwargs: dict[str, set[str]],
        bound: bool,
        receivers: set[str] | None,
    ) -> set[str]:
        """Bind a call's arguments in every body of ``function``; what the call gives."""
        returns = self._enter_function(function, args, kwargs, bound, receivers)
        for alternate in function.alternates:
            returns |= self._enter_function(alternate, args, kwargs, bound, receivers)
        result: set[str] = set()
        if returns & _GENERATOR:
            result.add(f"<gen>{callee}")
        if returns & _RETURNS:
            result |= self._read_var(self._own_var(function, RETURN))
        elif returns & _PASSED_BACK:
            result |= self._passed_back(function, args, kwargs, bound)
        return result

    def _enter_function(
        self,
        function: Scope,
        args: list[set[str]],
        kwargs: dict[str, set[str]],
        bound: bool,
        receivers: set[str] | None,
    ) -> int:
        """Bind a call's arguments to the parameters of one body of a function; what the call gives: _GENERATOR
        (a generator of it) or _RETURNS (its return value)."""
        skip = _skipped(function, args, bound)
        self._bind_arguments(function, args, kwargs, skip)
        if skip and receivers and function.method_kind == "method" and function.params:
            self._add_var(self._own_var(function, function.params[0]), receivers)
        if function.is_generator:
            return _GENERATOR
        return _PASSED_BACK if function.returns_param >= skip and not function.alternates else _RETURNS

    def _passed_back(self, function: Scope, args: list[set[str]], kwargs: dict[str, set[str]], bound: bool) -> set[str]:
        """What a call of an identity-like function gives: the value it passed to the parameter returned (its
        default when it passed none)."""
        skip = _skipped(function, args, bound)
        position = function.returns_param - skip
        name = function.params[function.returns_param]
        if position < len(args):
            return set(args[position])
        passed = kwargs.get(name)
        if passed is not None:
            return set(passed)
        return set(self._read_var(self._own_var(function, name)))  # the default (and whatever else it was passed)

    def _builtin_calls_arguments(
        self, name: str, args: list[set[str]], kwargs: dict[str, set[str]], position: Position, scope: Scope
    ) -> set[str]:
        """map, filter and reduce call their first argument, sorted, min and max their ``key=``, each with the
        items of the iterables. A function or class passed in another position is taken as called too (PyCG's
        suite writes ``map([1, 2], func)``), an instance only where a callable goes: an object in an iterable
        argument is no callable."""
        called = kwargs.get("key", _NONE_YET) if name in _CALLS_ITS_KEY else (args[0] if args else _NONE_YET)
        functions = {v for v in called if self._kind(v) in _CALLABLE_KINDS}
        for values in args:
            functions |= {v for v in values if self._kind(v) in ("function", "class")}
        iterables = [values for values in args if not values & functions]
        items = self._items(set().union(*iterables)) if iterables else set()
        produced = self._call_values(functions, [items], {}, position, scope, bound=False)
        line, column, _ = unpack_position(position)
        cid = f"<list:{scope.module}:{line}:{column}:{name}>"
        self._add(f"{cid}.{ITEMS}", produced if name == "map" else items)
        return {cid}

    def _call_method(self, objects: set[str], name: str, scope: Scope | None) -> set[str]:
        out: set[str] = set()
        for obj in objects:
            if self._kind(obj) == "instance":
                for method in self.lookup_attribute(obj[: -len(INSTANCE)], name):
                    kind, fn = self._kinded(method)
                    if kind == "function" and fn is not None:
                        if fn.is_generator or any(a.is_generator for a in fn.alternates):
                            out.add(f"<gen>{method}")
                        if not fn.is_generator or not all(a.is_generator for a in fn.alternates):
                            out |= self._read_var(self._own_var(fn, RETURN))
        return out

    def _bind_arguments(self, function: Scope, args: list[set[str]], kwargs: dict[str, set[str]], skip: int) -> None:
        params = function.params
        annotated = function.annotated
        for index in range(min(len(params) - skip, len(args))):  # no slice or zip made: 865k calls on Lib/
            name = params[index + skip]
            values = args[index] if not annotated or name not in annotated else self._typed(function, name, args[index])
            self._add_var(self._own_var(function, name), values)
        for name, values in kwargs.items():
            if name in function.locals:
                if annotated and name in annotated:
                    values = self._typed(function, name, values)
                self._add_var(self._own_var(function, name), values)

    def _typed(self, function: Scope, name: str, values: set[str]) -> set[str]:
        """``values`` passed to an annotated parameter without the project-class instances the annotation rules out:
        a block parser's ``state: BlockState`` is not given the InlineState that a shared base method passes its
        sibling. Nothing is ruled out while the annotation names no class (or names a Protocol)."""
        allowed = self._read_var(self._own_var(function, name + TYPE))
        if not allowed:
            return values
        out: set[str] | None = None
        for value in values:
            if self._kind(value) == "instance":
                mro = self.mro(value[: -len(INSTANCE)])
                if not any(a[: -len(INSTANCE)] in mro if a.endswith(INSTANCE) else a in mro for a in allowed):
                    if out is None:
                        out = set(values)
                    out.discard(value)
        return values if out is None else out

    # -- results ---------------------------------------------------------------------------------------------

    @property
    def calls(self) -> dict[CallKey, set[str]]:
        """Every call site (caller, line, column, end column) and its targets."""
        merged = _merged(self.site_targets, self.site_targets)
        return {(caller, *unpack_position(position)): targets for (caller, position), targets in merged.items()}

    def call_sites(self, scopes: Iterable[str] | None = None) -> Iterator[CallSite]:
        """Every call site, or those found by running ``scopes``, by caller and position."""
        for caller, sites in _grouped(self.site_targets, self.site_targets if scopes is None else scopes):
            scope = self.scopes.get(caller)
            module = scope.module if scope is not None else caller
            for position, targets in sites:  # a packed position orders as (line, column, end column)
                line, column, _ = unpack_position(position)
                yield CallSite(caller, module, line, column, frozenset(targets))

    def call_rows(
        self, known: set[str], scopes: Iterable[str] | None = None, callers: AbstractSet[str] | None = None
    ) -> CallRows:
        """The CALLS rows of every call site (of those found by running ``scopes``, made in ``callers``), in
        call_sites order, each site's targets sorted; targets not in ``known`` are added to it and listed in
        ``new``. What index.py stores, without a CallSite per site."""
        rows = CallRows([], [], [], [], [], 0, 0, 0)
        for caller, sites in _grouped(self.site_targets, self.site_targets if scopes is None else scopes, callers):
            for position, targets in sites:
                count = len(targets)
                rows.sites += 1
                if count == 0:
                    rows.unresolved += 1
                    continue
                if count > 1:
                    rows.ambiguous += 1
                line = position >> POSITION_LINE_SHIFT
                for target in sorted(targets) if count > 1 else targets:
                    if target not in known:
                        known.add(target)
                        rows.new.append(target)
                    rows.callers.append(caller)
                    rows.callees.append(target)
                    rows.lines.append(line)
                    rows.candidates.append(count)
        return rows

    def reference_edges(self, scopes: Iterable[str] | None = None) -> Iterator[tuple[str, str, int]]:
        """(referring scope, referenced definition, line) for every use of a project definition.

        Uses that are the callee of a call on the same line are included: a reference is any use.
        ``scopes`` limits them to what running those scopes found.
        """
        for owner, uses in _grouped(self.scope_references, self.scope_references if scopes is None else scopes):
            for line, targets in uses:
                for target in sorted(targets):
                    if target != owner:
                        yield owner, target, line

    def import_edges(self, scopes: Iterable[str] | None = None) -> Iterator[tuple[str, str, int]]:
        """(importing scope, imported module or definition, line); ``scopes`` as for reference_edges."""
        for owner, statements in _grouped(self.scope_imports, self.scope_imports if scopes is None else scopes):
            for line, targets in statements:
                for target in sorted(targets):
                    if target != owner:
                        yield owner, target, line

    def call_graph(self) -> dict[str, list[str]]:
        """PyCG's format: every function, lambda and module → the sorted names it may call."""
        graph: dict[str, set[str]] = {
            s.fqn: set() for s in self.scopes.values() if s.kind in ("module", "function", "lambda")
        }
        for (caller, _, _, _), all_targets in self.calls.items():
            # PyCG's format records a constructor call as its __init__ only, never the class itself.
            targets = {t for t in all_targets if self._kind(t) != "class"}
            graph.setdefault(caller, set()).update(targets)
            for target in targets:
                graph.setdefault(target, set())
        return {caller: sorted(callees) for caller, callees in sorted(graph.items())}


def import_order(modules: AbstractSet[str], imports: Mapping[str, Iterable[str]]) -> dict[str, int]:
    """Number ``modules`` so that each comes after the modules it imports; an import that closes a cycle is cut
    where a depth-first walk (from the modules in name order) meets it.

    ``imports``: module -> the dotted names its module-level code imports; a name that is not a module counts
    as its longest prefix that is (``from pkg.mod import func``). Running the analysis module by module in this
    order lets an importing module find the names it imports already bound: on Lib/ the fixpoint takes a fifth
    less time than in the order the files were read (and the order no longer depends on how files are named).
    """
    dependencies: dict[str, list[str]] = {}
    for module in modules:
        found: list[str] = []
        for dotted in imports.get(module, ()):
            while dotted and dotted not in modules:
                dotted = dotted.rpartition(".")[0]
            if dotted and dotted != module:
                found.append(dotted)
        dependencies[module] = found
    rank: dict[str, int] = {}
    finished = 0
    for start in sorted(modules):
        if start in rank:
            continue
        rank[start] = -1  # on the walk: an import that leads back here closes a cycle, and is cut
        stack = [(start, iter(dependencies[start]))]
        while stack:
            module, pending = stack[-1]
            for dependency in pending:
                if dependency not in rank:
                    rank[dependency] = -1
                    stack.append((dependency, iter(dependencies[dependency])))
                    break
            else:
                stack.pop()
                rank[module] = finished = finished + 1
    return rank


def _skipped(function: Scope, args: list[set[str]], bound: bool) -> int:
    """How many parameters a call binds before its arguments: a method reached through an attribute is bound; one
    passed around as a value is bound too when the call supplies fewer positional arguments than it has parameters."""
    is_method = function.method_kind in ("method", "classmethod")
    return 1 if is_method and (bound or len(args) < len(function.params)) else 0


def _classes_of(values: Iterable[str], kind: Callable[[str], str]) -> set[str]:
    """The classes of the project-class instances among ``values``."""
    return {v[: -len(INSTANCE)] for v in values if kind(v) == "instance"}


def _add_reader(var: _Var, scope: str) -> None:
    readers = var.readers
    if readers is _NONE_YET:
        readers = var.readers = set()
    readers.add(scope)
    var.last_reader = scope


def _add_writer(var: _Var, owner: str) -> None:
    # one writer (most sets) is kept as a plain string, not a one-element set
    writers = var.writers
    if writers is None:
        var.writers = owner
    elif isinstance(writers, str):
        if writers != owner:
            var.writers = {writers, owner}
    else:
        writers.add(owner)


def _drop_writer(var: _Var, owner: str) -> None:
    writers = var.writers
    if isinstance(writers, str):
        if writers == owner:
            var.writers = None
    elif writers is not None:
        writers.discard(owner)
        if len(writers) == 1:
            var.writers = next(iter(writers))


def _base_key(cls: str, position: int) -> str:
    return f"{cls}.<BASE{position}>"


def _merged(per_scope: Mapping[str, Mapping[K, set[str]]], scopes: Iterable[str]) -> dict[K, set[str]]:
    """The union of what ``scopes`` found (a site can be recorded by more than one scope's runs)."""
    merged: dict[K, set[str]] = {}
    for scope in scopes:
        for key, targets in per_scope.get(scope, {}).items():
            merged[key] = merged[key] | targets if key in merged else targets
    return merged


def _grouped(
    per_scope: Mapping[str, Mapping[tuple[str, int], set[str]]],
    scopes: Iterable[str],
    owners: AbstractSet[str] | None = None,
) -> list[tuple[str, list[tuple[int, set[str]]]]]:
    """What ``scopes`` found (as :func:`_merged`), by owner in sorted order, each owner's entries sorted: the order of
    the sorted (owner, int) keys. Sorting the owners and the ints apart took a quarter of the time of sorting the
    329k pairs of Lib/. ``owners`` keeps only theirs."""
    by_owner: dict[str, dict[int, set[str]]] = {}
    for scope in scopes:
        for (owner, number), targets in per_scope.get(scope, {}).items():
            if owners is not None and owner not in owners:
                continue
            entries = by_owner.get(owner)
            if entries is None:
                entries = by_owner[owner] = {}
            before = entries.get(number)
            entries[number] = targets if before is None else before | targets
    return [(owner, sorted(by_owner[owner].items())) for owner in sorted(by_owner)]


def analyze_sources(
    files: dict[str, tuple[str, bool]],
    collected: Callable[[PyProject], None] | None = None,
    parallel: bool | None = None,
) -> PyProject:
    """Analyze ``{module name: (source, is_package)}``; modules that fail to parse are skipped.

    ``collected`` is called with the project once every module's scopes are known, before the fixpoint.
    ``parallel``: see :func:`parse_sources`.
    """
    with collector_paused():
        modules = {name: lowered for name, lowered in parse_sources(files, parallel).items() if lowered is not None}
        project = PyProject(modules)
        if collected is not None:
            collected(project)
        project.solve()
        return project


def parse_sources(files: dict[str, tuple[str, bool]], parallel: bool | None = None) -> dict[str, Lowered | None]:
    """Parse and lower ``{module name: (source, is_package)}``; a module that does not parse maps to None.

    ``parallel``: lower part of the modules in a child process meanwhile (default: for a large project on a
    machine with a second core; see pysyntax.lower_sources).
    """
    with collector_paused():
        return lower_sources(files, parallel)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a project's trees and sets are built.

    Millions of AST nodes and sets stay alive for the whole analysis, and every generation-2 collection
    walks all of them: parsing the standard library took 17.5 s with the collector on, 3.7 s with it off.
    Nothing built here is garbage until the analysis is dropped, and reference counting frees it then.
    On the way out everything allocated meanwhile is moved to the oldest generation (freeze, then
    unfreeze: no object is visited): left in the youngest, it made the first collection after an index of
    Lib/ walk all of it (4.4 s). Where objects were frozen on purpose (an analysis a server keeps), they
    stay frozen and the new ones join them.
    """
    was_enabled = gc.isenabled()
    frozen_before = gc.get_freeze_count()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            if not frozen_before:
                gc.unfreeze()
            gc.enable()


def _prefixes(module_names: Iterable[str]) -> set[str]:
    """Every dotted prefix of a module: each is importable as a (namespace) package."""
    return {".".join(m.split(".")[:i]) for m in module_names for i in range(1, m.count(".") + 1)}


def _function_owner(scope: Scope) -> Scope:
    """The scope a call, reference or import in ``scope`` is attributed to: the innermost function, lambda, class or
    module (a call in a class body is the class's, not the module's)."""
    return scope


def load_project(root: Path, files: Iterable[Path]) -> dict[str, tuple[str, bool]]:
    """Read ``files`` under ``root`` into the input of :func:`analyze_sources`."""
    out: dict[str, tuple[str, bool]] = {}
    for path in files:
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        out[module_name_for(path, root)] = (source, path.name == "__init__.py")
    return out
