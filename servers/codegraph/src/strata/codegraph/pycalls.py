"""Python call resolution: a flow-insensitive points-to analysis over the whole project, in the style of PyCG.

Pipeline: parse every module (stdlib ``ast``: exact for valid code and fast to walk) → collect scopes
(modules, classes, functions, lambdas) and the names each binds → iterate over every statement,
growing points-to sets for variables, attributes, parameters, returns and container items until
nothing changes → every call site's callee set is its resolved targets.

Values are fully qualified names: definitions (``pkg.mod.Class.method``, ``mod.<lambda1>``), modules,
builtins (``<builtin>.len``, ``<**PyStr**>.join``), external names (``requests.get``) and container
ids. An instance is represented by its class, so ``a = A(); a.m()`` resolves through ``A``'s MRO.

Each call site keeps *all* its candidate targets; nothing is picked by name similarity. A call whose
callee evaluates to nothing is reported as unresolved rather than guessed.
"""

from __future__ import annotations

import ast
import builtins
import gc
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, NamedTuple, TypeVar

__all__ = [
    "CallKey",
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
# Builtins that call the functions passed to them (PyCG records those calls at the call site).
CALLS_ITS_ARGUMENTS: Final = frozenset({"map", "filter", "sorted", "min", "max", "reduce"})
RETURN: Final = "<RETURN>"
YIELD: Final = "<YIELD>"
ITEMS: Final = "<ITEMS>"
BUILTIN_TYPE_OF: Final = {str: "<**PyStr**>", bytes: "<**PyBytes**>", int: "<**PyInt**>", float: "<**PyFloat**>"}

ScopeKind = Literal["module", "class", "function", "lambda"]
CallKey = tuple[str, int, int, int]  # caller, line, column, end column
_MroEntry = tuple[str, str, "Scope | None"]  # a class in an MRO, its kind, its scope (project classes)
K = TypeVar("K")
# isinstance targets built once: `ast.A | ast.B` made a union object on every check (3% of the fixpoint)
_FUNCTION_NODES: Final = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_DEFINITION_NODES: Final = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_YIELD_NODES: Final = (ast.Yield, ast.YieldFrom)
_BINDING_CONTEXTS: Final = (ast.Store, ast.Del)
_IMPORT_NODES: Final = (ast.Import, ast.ImportFrom)
_SINGLE_TARGET_ASSIGNMENTS: Final = (ast.AnnAssign, ast.AugAssign)
_FOR_NODES: Final = (ast.For, ast.AsyncFor)
_CONDITIONAL_BLOCKS: Final = (ast.While, ast.If)
_WITH_NODES: Final = (ast.With, ast.AsyncWith)
_EXPRESSION_STATEMENTS: Final = (ast.Delete, ast.Assert)
_UNPACKABLE_NODES: Final = (ast.Tuple, ast.List)
_DISPLAY_NODES: Final = (ast.List, ast.Tuple, ast.Set)
_COMPREHENSION_NODES: Final = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_PASS_THROUGH_NODES: Final = (ast.Await, ast.Starred)
_COMPREHENSION_OR_KEYWORD: Final = (ast.comprehension, ast.keyword)
# Node classes as module constants: mypyc reads `ast.Name` from the module's dict on every use (two dict lookups
# per isinstance test in eval)
_AST_AST: Final = ast.AST
_AST_ASSIGN: Final = ast.Assign
_AST_ATTRIBUTE: Final = ast.Attribute
_AST_BOOLOP: Final = ast.BoolOp
_AST_CALL: Final = ast.Call
_AST_CLASSDEF: Final = ast.ClassDef
_AST_CONSTANT: Final = ast.Constant
_AST_DICT: Final = ast.Dict
_AST_DICTCOMP: Final = ast.DictComp
_AST_EXCEPTHANDLER: Final = ast.ExceptHandler
_AST_EXPR: Final = ast.Expr
_AST_GLOBAL: Final = ast.Global
_AST_IFEXP: Final = ast.IfExp
_AST_IMPORT: Final = ast.Import
_AST_IMPORTFROM: Final = ast.ImportFrom
_AST_JOINEDSTR: Final = ast.JoinedStr
_AST_LAMBDA: Final = ast.Lambda
_AST_LOAD: Final = ast.Load
_AST_MATCH: Final = ast.Match
_AST_NAME: Final = ast.Name
_AST_NAMEDEXPR: Final = ast.NamedExpr
_AST_NONLOCAL: Final = ast.Nonlocal
_AST_RAISE: Final = ast.Raise
_AST_RETURN: Final = ast.Return
_AST_SLICE: Final = ast.Slice
_AST_STARRED: Final = ast.Starred
_AST_SUBSCRIPT: Final = ast.Subscript
_AST_TRY: Final = ast.Try
_AST_USUB: Final = ast.USub
_AST_UNARYOP: Final = ast.UnaryOp
_AST_YIELDFROM: Final = ast.YieldFrom
_AST_EXPRESSION: Final = ast.expr
_FUNCTION_DEFINITIONS: Final = (ast.FunctionDef, ast.AsyncFunctionDef)
_iter_child_nodes: Final = ast.iter_child_nodes


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
    node: ast.AST
    parent: Scope | None
    locals: set[str] = field(default_factory=set)
    global_names: set[str] = field(default_factory=set)
    nonlocal_names: set[str] = field(default_factory=set)
    params: list[str] = field(default_factory=list)
    class_fqn: str | None = None  # for methods: the class whose body defines them
    method_kind: Literal["function", "method", "staticmethod", "classmethod"] = "function"
    is_generator: bool = False
    lambda_count: int = 0
    lineno: int = 0
    end_lineno: int = 0
    # Straight-line rebinding (module and function bodies): statement index -> name -> the key that
    # statement binds. A name assigned only by plain `name = ...` statements directly in the body gets a
    # key per assignment, and reads in the body see the latest one; the last assignment binds the
    # ordinary key, which other scopes read. `a = f; a = g; a()` calls g only.
    rebind_at: dict[int, dict[str, str]] = field(default_factory=dict)
    nested_nonlocals: set[str] = field(default_factory=set)
    # Straight-line item stores `x[K] = v` (constant K) directly in the body: later reads of that one
    # container's K in the body see v only, until a statement with a call (which may mutate it) or
    # another store to the container. Statement indices of such stores, and of statements with calls.
    slot_stores: frozenset[int] = frozenset()
    calls_at: frozenset[int] = frozenset()
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


def module_name_for(path: Path, root: Path) -> str:
    """``root/pkg/mod.py`` → ``pkg.mod``; ``root/pkg/__init__.py`` → ``pkg``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


class PyProject:
    """The analysis of one Python code base."""

    def __init__(self, modules: dict[str, tuple[ast.Module, bool]]) -> None:
        """``modules``: module name -> (tree, is_package).

        The analysis keeps what each scope's last run contributed to every points-to set, so that
        :meth:`update` retracts what an edited module no longer implies instead of re-solving the whole
        project. That costs about a quarter more time and memory than accumulating, and gives the same
        result whether a graph was built at once or edit by edit.
        """
        self.trees = {name: tree for name, (tree, _) in modules.items()}
        self.packages = {name for name, (_, is_pkg) in modules.items() if is_pkg}
        self.module_names = set(modules)
        self.module_prefixes = _prefixes(self.module_names)
        self._mro_visiting: set[str] = set()
        # class -> (its MRO, the points-to sets computing it read); dropped when one of those sets changes
        # (and each class in it with its kind and, for project classes, scope: what attribute lookups walk)
        self._mro_cache: dict[str, tuple[list[str], frozenset[_Var], list[_MroEntry]]] = {}
        self._mro_readers: defaultdict[_Var, set[str]] = defaultdict(set)  # set -> classes whose MRO read it
        self._read_log: list[set[_Var]] = []  # sets read while computing the MROs being computed
        self._kinds: dict[str, str] = {}
        self.scopes: dict[str, Scope] = {}
        self.scope_of_node: dict[int, Scope] = {}
        self.class_bases: dict[str, int] = {}  # class -> how many bases it lists (their values: _base_keys)
        self.vars: dict[str, _Var] = {}  # points-to key -> its set
        # What each scope's runs found, by the scope that ran: call site -> targets, (owner, line) -> referenced
        # definitions. Kept apart per scope so that re-running one scope replaces exactly its findings.
        self.site_targets: defaultdict[str, dict[CallKey, set[str]]] = defaultdict(dict)
        self.call_module: dict[CallKey, str] = {}
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
        self._definition_names: set[str] = set()  # every name a def or class statement ever bound (only grows)
        self._dirty: set[str] = set()
        self._current: str | None = None
        # in the run in progress: its call sites' targets (site_targets[current], once asked for), and the caller
        # whose site_recorders entry it added last
        self._found: dict[CallKey, set[str]] | None = None
        self._recorded = ""
        # while a scope with straight-line rebinding runs: the keys its names read now, and bind next
        self._flow_scope: Scope | None = None
        self._now: dict[str, str] = {}
        self._pending: dict[str, str] = {}
        self._slots: dict[tuple[str, str], set[str]] = {}  # (container, constant key) -> its value now
        self._direct_targets: set[int] = set()  # ids of the targets of the straight-line store running
        for name, tree in self.trees.items():
            self._collect_module(name, tree)
        self._rank_modules()

    def _collect_module(self, name: str, tree: ast.Module) -> None:
        self._run = {}
        module = self._collect(tree, name, None, name, "module")
        if module.rebind_at:  # a function that declares a name global may rebind it at any time
            declared = {n for fqn in self.module_scopes[name] for n in self.scopes[fqn].global_names}
            if declared:
                module.rebind_at = _without(module.rebind_at, declared)
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

    # -- pass 1: scopes and their bound names ---------------------------------------------------

    def _collect(self, node: ast.AST, fqn: str, parent: Scope | None, module: str, kind: ScopeKind) -> Scope:
        scope = Scope(fqn=fqn, kind=kind, module=module, node=node, parent=parent)
        scope.lineno = getattr(node, "lineno", 1)
        scope.end_lineno = getattr(node, "end_lineno", scope.lineno) or scope.lineno
        self.scopes[fqn] = scope
        # A counter, not len(self._order): a name defined twice (two `def helper` in one function) kept its
        # place in the dict, so the next scope got the same number, and the two ran in set order - the
        # call graph of Lib/ changed with PYTHONHASHSEED.
        self._order[fqn] = self._defined = self._defined + 1
        self.module_scopes[module].append(fqn)
        self.scope_of_node[id(node)] = scope
        if isinstance(node, _FUNCTION_NODES):
            args = node.args
            scope.params = [a.arg for a in [*args.posonlyargs, *args.args]]
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
            every += [a for a in (args.vararg, args.kwarg) if a is not None]
            scope.locals.update(a.arg for a in every)
        body: Iterable[ast.AST] = [node.body] if isinstance(node, _AST_LAMBDA) else getattr(node, "body", [])
        stores: defaultdict[str, int] = defaultdict(int)  # Name stores and deletes, per name
        other_binders: set[str] = set()  # names also bound by def, class, import or except
        imported: list[str] = []  # by module-level code (not by functions and classes in it)
        for child in _walk_scope(body):
            child_type = type(child)
            if child_type is _AST_NAME:  # most nodes: test the common case first
                if type(child.ctx) is not _AST_LOAD:  # type: ignore[attr-defined]
                    scope.locals.add(child.id)  # type: ignore[attr-defined]
                    stores[child.id] += 1  # type: ignore[attr-defined]
                continue
            if child_type not in _BINDING_OR_SCOPE:
                continue
            self._note_binding(scope, child)
            other_binders.update(_bound_by(child))
            if kind == "module" and isinstance(child, _IMPORT_NODES):
                imported.extend(self._imported_names(child, module))
            if isinstance(child, _DEFINITION_NODES):
                child_fqn = f"{fqn}.{child.name}"
                self._definition_names.add(child.name)
                if isinstance(child, _AST_CLASSDEF):
                    self.class_bases[child_fqn] = len(child.bases)
                    self._collect(child, child_fqn, scope, module, "class")
                else:
                    inner = self._collect(child, child_fqn, scope, module, "function")
                    scope.nested_nonlocals |= inner.nonlocal_names | inner.nested_nonlocals
                    if kind == "class":
                        inner.class_fqn = fqn
                        inner.method_kind = _method_kind(child)
                        if inner.params and inner.method_kind in ("method", "classmethod"):
                            self._add(f"{child_fqn}.{inner.params[0]}", (fqn,))
                if not _custom_decorators(child):
                    self._add(child_fqn, (child_fqn,))  # a decorated name gets its value in the fixpoint
            elif isinstance(child, _AST_LAMBDA):
                owner = _function_owner(scope)
                owner.lambda_count += 1
                lam = f"{owner.fqn}.<lambda{owner.lambda_count}>"
                self._collect(child, lam, scope, module, "lambda")
                self._add(lam, (lam,))
            elif isinstance(child, _YIELD_NODES):
                scope.is_generator = True
        if kind == "module":
            self.module_imports[fqn] = imported
        if kind in ("module", "function") and stores:
            fixed = other_binders | set(scope.params) | scope.global_names | scope.nonlocal_names
            scope.rebind_at = _straight_line_rebinds(
                getattr(node, "body", []), stores, fixed | scope.nested_nonlocals, fqn
            )
        if kind in ("module", "function") and not isinstance(node, _AST_LAMBDA):
            statements = getattr(node, "body", [])
            scope.slot_stores = frozenset(i for i, stmt in enumerate(statements) if _is_item_store(stmt))
            if scope.slot_stores:
                scope.calls_at = frozenset(i for i, stmt in enumerate(statements) if _has_call(stmt))
        return scope

    def _imported_names(self, node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
        """The dotted names an import statement in ``module`` may load (modules or names in them)."""
        if isinstance(node, _AST_IMPORT):
            return [alias.name for alias in node.names]
        base = self._resolve_relative(module, node.module, node.level)
        return [base, *(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")]

    @staticmethod
    def _note_binding(scope: Scope, node: ast.AST) -> None:
        if isinstance(node, _AST_GLOBAL):
            scope.global_names.update(node.names)
        elif isinstance(node, _AST_NONLOCAL):
            scope.nonlocal_names.update(node.names)
        elif isinstance(node, _AST_NAME) and isinstance(node.ctx, _BINDING_CONTEXTS):
            scope.locals.add(node.id)
        elif isinstance(node, _DEFINITION_NODES):
            scope.locals.add(node.name)
        elif isinstance(node, _IMPORT_NODES):
            for alias in node.names:
                if alias.name != "*":
                    scope.locals.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, _AST_EXCEPTHANDLER) and node.name:
            scope.locals.add(node.name)

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
        for _ in range(MAX_ITERATIONS * 10):
            if not dirty:
                break
            self._dirty = set()
            for fqn in sorted(dirty, key=self._run_order):  # a fixed order: stable results
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

    def update(self, modules: dict[str, tuple[ast.Module, bool] | None]) -> set[str]:
        """Replace (or, given None, remove) modules and re-solve what depends on them.

        Returns every scope that ran: the scopes whose calls and references may have changed, including
        the removed ones.
        """
        dirty: set[str] = set()
        self._dirty = set()
        imports_before = {name: self.module_imports.get(name) for name in modules}
        for name, entry in modules.items():
            for fqn in self.module_scopes.pop(name, []):
                scope = self.scopes.pop(fqn, None)
                if scope is not None:
                    self.scope_of_node.pop(id(scope.node), None)
                    self.class_bases.pop(fqn, None)
                    dirty.add(fqn)  # runs empty unless the new module defines it again
            self.trees.pop(name, None)
            self.module_imports.pop(name, None)
            self.packages.discard(name)
            self.module_names.discard(name)
            if entry is None:
                self._run = {}
                self._finish_run(f"<collect>{name}")
                continue
            tree, is_package = entry
            self.trees[name] = tree
            self.module_names.add(name)
            if is_package:
                self.packages.add(name)
            self._collect_module(name, tree)
            dirty.update(self.module_scopes[name])
        self.module_prefixes = _prefixes(self.module_names)
        if any(self.module_imports.get(name) != before for name, before in imports_before.items()):
            self._rank_modules()  # 4 ms on Lib/: only when a module came, went or imports something else
        self._kinds.clear()  # a name may now be a class where it was a function, or nothing at all
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

    def _add(self, key: str, values: Iterable[str]) -> None:
        self._add_var(self._var(key), values)

    def _add_var(self, var: _Var, values: Iterable[str]) -> None:
        if var.saturated or not values:
            return
        target = var.values
        if values is target:
            return
        if target is _NONE_YET:
            target = var.values = set()
        before = len(target)
        # Values of builtin types ("<**PyStr**>", "<**PyBytes**>.name") resolve calls only where they
        # appear (" ".join(...)); stored, they flow into every parameter and never lead anywhere.
        kept = [v for v in values if not v.startswith("<**")]
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
        node = scope.node
        if isinstance(node, _AST_LAMBDA):
            self._add_var(self._own_var(scope, RETURN), self.eval(node.body, scope))
            return
        body = node.body if isinstance(node, _DEFINITION_NODES) else getattr(node, "body", [])
        if not scope.rebind_at and not scope.slot_stores:
            for stmt in body:
                self._stmt(stmt, scope)
            return
        self._flow_scope, self._now, self._slots = scope, {}, {}
        try:
            for index, stmt in enumerate(body):
                binds = scope.rebind_at.get(index)
                self._pending = binds or {}
                if index in scope.slot_stores:
                    self._direct_targets = {id(t) for t in stmt.targets}  # type: ignore[attr-defined]
                self._stmt(stmt, scope)
                self._direct_targets = set()
                if binds:
                    self._now.update(binds)
                if index in scope.calls_at:  # a call may have changed any container
                    self._slots = {}
        finally:
            self._flow_scope, self._now, self._pending, self._slots = None, {}, {}, {}

    def _stmt(self, stmt: ast.stmt, scope: Scope) -> None:
        if isinstance(stmt, _AST_ASSIGN):
            values = self.eval(stmt.value, scope)
            for target in stmt.targets:
                self._bind(target, values, scope, stmt.value)
        elif isinstance(stmt, _SINGLE_TARGET_ASSIGNMENTS):
            if stmt.value is not None:
                self._bind(stmt.target, self.eval(stmt.value, scope), scope, stmt.value)
        elif isinstance(stmt, _AST_RETURN):
            if stmt.value is not None:
                self._add_var(self._own_var(scope, RETURN), self.eval(stmt.value, scope))
        elif isinstance(stmt, _AST_EXPR):
            self.eval(stmt.value, scope)
        elif isinstance(stmt, _FOR_NODES):
            self._bind(stmt.target, self._iterate(self.eval(stmt.iter, scope), stmt.iter, scope), scope, None)
            self._stmts(stmt.body + stmt.orelse, scope)
        elif isinstance(stmt, _CONDITIONAL_BLOCKS):
            self.eval(stmt.test, scope)
            self._stmts(stmt.body + stmt.orelse, scope)
        elif isinstance(stmt, _WITH_NODES):
            for item in stmt.items:
                values = self.eval(item.context_expr, scope)
                if item.optional_vars is not None:
                    self._bind(item.optional_vars, values | self._call_method(values, "__enter__", scope), scope, None)
            self._stmts(stmt.body, scope)
        elif isinstance(stmt, _AST_TRY):
            self._stmts(stmt.body + stmt.orelse + stmt.finalbody, scope)
            for handler in stmt.handlers:
                if handler.type is not None:
                    self.eval(handler.type, scope)
                self._stmts(handler.body, scope)
        elif isinstance(stmt, _AST_RAISE):
            if stmt.exc is not None:
                raised = self.eval(stmt.exc, scope)
                if not isinstance(stmt.exc, _AST_CALL):  # `raise A` instantiates A
                    classes = {v for v in raised if self._kind(v) == "class"}
                    self._call_values(classes, [], {}, stmt.exc, scope, bound=False)
        elif isinstance(stmt, _AST_IMPORT):
            self._note_import({alias.name for alias in stmt.names}, stmt, scope)
            for alias in stmt.names:
                if alias.asname:
                    self._bind_name(scope, alias.asname, self._module_value(alias.name))
                else:
                    top = alias.name.split(".")[0]
                    self._bind_name(scope, top, self._module_value(top))
        elif isinstance(stmt, _AST_IMPORTFROM):
            self._import_from(stmt, scope)
        elif isinstance(stmt, _DEFINITION_NODES):
            self._definition(stmt, scope)
        elif isinstance(stmt, _AST_MATCH):
            self.eval(stmt.subject, scope)
            for case in stmt.cases:
                self._stmts(case.body, scope)
        elif isinstance(stmt, _EXPRESSION_STATEMENTS):
            for child in _iter_child_nodes(stmt):
                if isinstance(child, _AST_EXPRESSION):
                    self.eval(child, scope)

    def _stmts(self, stmts: list[ast.stmt], scope: Scope) -> None:
        for stmt in stmts:
            self._stmt(stmt, scope)

    def _definition(self, stmt: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, scope: Scope) -> None:
        fqn = f"{scope.fqn}.{stmt.name}"
        if isinstance(stmt, _AST_CLASSDEF):
            # The bases are evaluated here, in the run of the scope that defines the class, and kept: an MRO
            # reads them. Evaluated again wherever an attribute was first looked up, a call in a base (`class
            # A(namedtuple(...))`) ran as part of that unrelated scope and was recorded there.
            for position, base in enumerate(stmt.bases):
                self._add(_base_key(fqn, position), self.eval(base, scope))
        if not isinstance(stmt, _AST_CLASSDEF):
            self._bind_defaults(fqn, stmt.args, scope)
        value: set[str] = {fqn}
        for decorator in reversed(_custom_decorators(stmt)):
            # @dec def f: ... is f = dec(f): a call of dec with f, whose result is bound to f. A decorator
            # we cannot see into (unknown, external or builtin) is taken to wrap f. The test must not look
            # at the result: it is empty in early rounds, and points-to sets never shrink.
            decorators = self.eval(decorator, scope)
            result = self._call_values(decorators, [value], {}, decorator, scope, bound=False)
            opaque = not decorators or any(self._kind(d) not in ("function", "class") for d in decorators)
            value = result | value if opaque else result
        self._bind_name(scope, stmt.name, value)

    def _bind_defaults(self, fqn: str, args: ast.arguments, scope: Scope) -> None:
        positional = [*args.posonlyargs, *args.args]
        for param, default in zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True):
            self._add(f"{fqn}.{param.arg}", self.eval(default, scope))
        for param, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            if kw_default is not None:
                self._add(f"{fqn}.{param.arg}", self.eval(kw_default, scope))

    def _import_from(self, stmt: ast.ImportFrom, scope: Scope) -> None:
        base = self._resolve_relative(scope.module, stmt.module, stmt.level)
        imported: set[str] = set()
        for alias in stmt.names:
            full = f"{base}.{alias.name}" if base else alias.name
            if alias.name == "*" or base not in self.module_names or full in self.module_names:
                imported.add(base if alias.name == "*" else full)
            else:  # a name defined in (or re-exported by) a project module: what it denotes, else the module
                imported |= {v for v in self._read(full) if v in self.scopes} or {base}
        self._note_import(imported, stmt, scope)
        for alias in stmt.names:
            if alias.name == "*":
                source = self.scopes.get(base)
                if source is not None:
                    for name in source.locals:
                        if not name.startswith("_"):
                            self._bind_name(scope, name, self._read(f"{base}.{name}"))
                continue
            full = f"{base}.{alias.name}" if base else alias.name
            if full in self.module_names:
                values = {full}
            elif base in self.module_names:
                values = set(self._read(full))
            else:
                values = {full}  # an external name: kept by its qualified name
            self._bind_name(scope, alias.asname or alias.name, values)

    def _resolve_relative(self, module: str, name: str | None, level: int) -> str:
        if level == 0:
            return name or ""
        package = module if module in self.packages else module.rpartition(".")[0]
        for _ in range(level - 1):
            package = package.rpartition(".")[0]
        return f"{package}.{name}" if name and package else (name or package)

    def _module_value(self, name: str) -> set[str]:
        return {name}  # internal or external, a module's value is its name

    # -- binding -----------------------------------------------------------------------------------

    def _bind_name(self, scope: Scope, name: str, values: AbstractSet[str]) -> None:
        if scope is self._flow_scope and name in self._pending:
            self._add(self._pending[name], values)
            return
        var = self._name_var(scope, name)
        self._add_var(var if var is not None else self._own_var(scope, name), values)

    def _bind(self, target: ast.expr, values: set[str], scope: Scope, source: ast.expr | None) -> None:
        if isinstance(target, _AST_NAME):
            self._bind_name(scope, target.id, values)
        elif isinstance(target, _AST_ATTRIBUTE):
            for obj in self.eval(target.value, scope):
                if self._kind(obj) in ("class", "module", "function", "container", "external"):
                    self._add(f"{obj}.{target.attr}", values)
        elif isinstance(target, _AST_SUBSCRIPT):
            key = _constant_key(target.slice)
            objects = self.eval(target.value, scope)
            for obj in objects:
                if self._kind(obj) == "container":
                    self._add(f"{obj}.{ITEMS}", values)
                    if key is not None:
                        self._add(f"{obj}[{key}]", values)
            if scope is self._flow_scope:
                if id(target) in self._direct_targets and key is not None and len(objects) == 1:
                    self._slots[(next(iter(objects)), key)] = set(values)
                elif self._slots:  # any other store to these containers: their items are unknown again
                    self._slots = {slot: v for slot, v in self._slots.items() if slot[0] not in objects}
            self.eval(target.slice, scope)
        elif isinstance(target, _UNPACKABLE_NODES):
            if isinstance(source, _UNPACKABLE_NODES) and len(source.elts) == len(target.elts):
                for element, value in zip(target.elts, source.elts, strict=True):
                    self._bind(element, self.eval(value, scope), scope, value)
            else:
                items = self._items(values)
                for element in target.elts:
                    self._bind(element.value if isinstance(element, _AST_STARRED) else element, items, scope, None)
        elif isinstance(target, _AST_STARRED):
            self._bind(target.value, values, scope, None)

    # -- expressions -----------------------------------------------------------------------------------

    def eval(self, node: ast.expr, scope: Scope) -> set[str]:
        if isinstance(node, _AST_NAME):
            values = set(self.lookup(scope, node.id))
            self._note_reference(values, node, scope)
            return values
        if isinstance(node, _AST_ATTRIBUTE):
            return self._attributes(self.eval(node.value, scope), node, scope)
        if isinstance(node, _AST_CALL):
            return self._call(node, scope)
        if isinstance(node, _AST_LAMBDA):
            lam = self.scope_of_node[id(node)].fqn
            self._bind_defaults(lam, node.args, scope)
            return {lam}
        if isinstance(node, _AST_CONSTANT):
            kind = BUILTIN_TYPE_OF.get(type(node.value))
            return {kind} if kind else set()
        if isinstance(node, _AST_JOINEDSTR):
            self._eval_children(node, scope)
            return {"<**PyStr**>"}
        if isinstance(node, _AST_DICT):
            cid = self._container(node, scope, "dict")
            for key, value in zip(node.keys, node.values, strict=True):
                values = self.eval(value, scope)
                self._add(f"{cid}.{ITEMS}", values)
                constant = _constant_key(key) if key is not None else None
                if constant is not None:
                    self._add(f"{cid}[{constant}]", values)
                elif key is None:  # {**other}
                    self._add(f"{cid}.{ITEMS}", self._items(values))
                else:
                    self.eval(key, scope)
            return {cid}
        if isinstance(node, _DISPLAY_NODES):
            cid = self._container(node, scope, type(node).__name__.lower())
            for index, element in enumerate(node.elts):
                if isinstance(element, _AST_STARRED):
                    self._add(f"{cid}.{ITEMS}", self._items(self.eval(element.value, scope)))
                    continue
                values = self.eval(element, scope)
                self._add(f"{cid}.{ITEMS}", values)
                self._add(f"{cid}[{index}]", values)
            return {cid}
        if isinstance(node, _COMPREHENSION_NODES):
            for generator in node.generators:
                iterated = self._iterate(self.eval(generator.iter, scope), generator.iter, scope)
                self._bind(generator.target, iterated, scope, None)
                for condition in generator.ifs:
                    self.eval(condition, scope)
            cid = self._container(node, scope, "list")
            if isinstance(node, _AST_DICTCOMP):
                self.eval(node.key, scope)
                self._add(f"{cid}.{ITEMS}", self.eval(node.value, scope))
            else:
                self._add(f"{cid}.{ITEMS}", self.eval(node.elt, scope))
            return {cid}
        if isinstance(node, _AST_SUBSCRIPT) and isinstance(node.slice, _AST_SLICE):
            return self._slice(node, node.slice, scope)
        if isinstance(node, _AST_SUBSCRIPT):
            subscript = _constant_key(node.slice)
            self.eval(node.slice, scope)
            out = set()
            for obj in self.eval(node.value, scope):
                if subscript is not None and (obj, subscript) in self._slots and scope is self._flow_scope:
                    out |= self._slots[(obj, subscript)]
                    continue
                if self._kind(obj) == "container":
                    specific = (self._read(f"{obj}[{subscript}]") or None) if subscript is not None else None
                    out |= specific if specific else self._read(f"{obj}.{ITEMS}")
                else:
                    out |= self._call_method({obj}, "__getitem__", scope)
            return out
        if isinstance(node, _AST_IFEXP):
            self.eval(node.test, scope)
            return self.eval(node.body, scope) | self.eval(node.orelse, scope)
        if isinstance(node, _AST_BOOLOP):
            out = set()
            for value in node.values:
                out |= self.eval(value, scope)
            return out
        if isinstance(node, _AST_NAMEDEXPR):
            values = self.eval(node.value, scope)
            self._bind(node.target, values, scope, node.value)
            return values
        if isinstance(node, _PASS_THROUGH_NODES):
            return self.eval(node.value, scope)
        if isinstance(node, _YIELD_NODES):
            if node.value is not None:
                values = self.eval(node.value, scope)
                owner = _function_owner(scope)
                self._add_var(
                    self._own_var(owner, YIELD), self._items(values) if isinstance(node, _AST_YIELDFROM) else values
                )
            return set()
        self._eval_children(node, scope)
        return set()

    def _attributes(self, objects: set[str], node: ast.Attribute, scope: Scope) -> set[str]:
        out: set[str] = set()
        for obj in objects:
            out |= self.attribute(obj, node.attr)
        self._note_reference(out, node, scope)
        return out

    def _note_reference(self, values: set[str], node: ast.expr, scope: Scope) -> None:
        """Remember which project definitions this name or attribute names (find_references).

        Only uses spelled with the definition's own name count: `callback` inside a function that was
        passed `on_login` denotes it by data flow, but it is not a place that refers to `on_login`.
        """
        if values:
            name = node.id if isinstance(node, _AST_NAME) else getattr(node, "attr", "")
            if name not in self._definition_names:  # most names: nothing in the project is defined by that name
                return
            suffix = "." + name
            targets = {v for v in values if v.endswith(suffix) and self._kind(v) in ("function", "class")}
            if targets:
                owner = _function_owner(scope).fqn
                if owner is not self._recorded:
                    self.site_recorders[owner].add(self._current or "")
                    self._recorded = owner
                self.scope_references[self._current or ""][(owner, node.lineno)] |= targets

    def _note_import(self, targets: set[str], stmt: ast.stmt, scope: Scope) -> None:
        """Remember what an import statement names (IMPORTS edges; modules outside the project too)."""
        owner = _function_owner(scope).fqn
        if owner is not self._recorded:
            self.site_recorders[owner].add(self._current or "")
            self._recorded = owner
        self.scope_imports[self._current or ""][(owner, stmt.lineno)] |= targets - {""}

    def _eval_children(self, node: ast.AST, scope: Scope) -> None:
        for child in _iter_child_nodes(node):
            if isinstance(child, _AST_EXPRESSION):
                self.eval(child, scope)
            elif isinstance(child, _COMPREHENSION_OR_KEYWORD):
                for grandchild in _iter_child_nodes(child):
                    if isinstance(grandchild, _AST_EXPRESSION):
                        self.eval(grandchild, scope)

    def _iterate(self, values: set[str], node: ast.AST, scope: Scope) -> set[str]:
        """What a for loop over ``values`` binds; iterating an object calls its __iter__ and __next__."""
        items = self._items(values)
        classes = {v for v in values if self._kind(v) == "class"}
        if classes:
            iterators = self._call_values(self._methods(classes, "__iter__"), [], {}, node, scope, bound=True)
            items |= self._call_values(
                self._methods({i for i in iterators if self._kind(i) == "class"}, "__next__"),
                [],
                {},
                node,
                scope,
                bound=True,
            )
        return items

    def _methods(self, classes: set[str], name: str) -> set[str]:
        out: set[str] = set()
        for cls in classes:
            out |= {m for m in self.lookup_attribute(cls, name) if self._kind(m) == "function"}
        return out

    def _slice(self, node: ast.Subscript, part: ast.Slice, scope: Scope) -> set[str]:
        """``x[a:b]``: a new container holding x's items (with positions when a and b are constants);
        a slice of a string, a typed value or an external object keeps that value."""
        for bound in (part.lower, part.upper, part.step):
            if bound is not None:
                self.eval(bound, scope)
        lower = _int_constant(part.lower, 0)
        upper = _int_constant(part.upper, None) if part.upper is not None else None
        exact = part.step is None and lower is not None and lower >= 0 and (part.upper is None or upper is not None)
        out: set[str] = set()
        items: set[str] = set()
        positions: defaultdict[int, set[str]] = defaultdict(set)
        sliced = False
        for obj in self.eval(node.value, scope):
            kind = self._kind(obj)
            if kind == "class":
                out |= self._call_method({obj}, "__getitem__", scope)
                continue
            if kind != "container":
                out.add(obj)
                continue
            items |= self._read(f"{obj}.{ITEMS}")
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
            cid = self._container(node, scope, "list")
            self._add(f"{cid}.{ITEMS}", items)
            for position, item in sorted(positions.items()):
                self._add(f"{cid}[{position}]", item)
            out.add(cid)
        return out

    def _container(self, node: ast.AST, scope: Scope, kind: str) -> str:
        return f"<{kind}:{scope.module}:{getattr(node, 'lineno', 0)}:{getattr(node, 'col_offset', 0)}>"

    def _items(self, values: set[str]) -> set[str]:
        out: set[str] = set()
        for value in values:
            kind = self._kind(value)
            if kind == "container":
                out |= self._read(f"{value}.{ITEMS}")
            elif value.startswith("<gen>"):
                out |= self._read(f"{value[5:]}.{YIELD}")
            elif kind == "class":
                out |= self._call_method({value}, "__iter__", None)
        return out

    # -- attributes and classes -------------------------------------------------------------------------

    def _kind(self, value: str) -> str:
        # Scopes and modules are fixed once collected, so a value's kind never changes: memoize.
        kind = self._kinds.get(value)
        if kind is None:
            kind = self._kinds[value] = self._compute_kind(value)
        return kind

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
        kind = self._kind(klass)
        return (klass, kind, self.scopes[klass] if kind == "class" else None)

    def lookup_attribute(self, cls: str, name: str, start: int = 0) -> set[str]:
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
        kind = self._kind(obj)
        if kind == "module":
            full = f"{obj}.{name}"
            if full in self.module_names or full in self.module_prefixes:
                return {full}
            return set(self._read(full))
        if kind == "class":
            return self.lookup_attribute(obj, name)
        if kind == "super":
            cls = obj.removeprefix("<super>")
            return self.lookup_attribute(cls, name, start=1)
        if kind == "function":
            return set(self._read_var(self._own_var(self.scopes[obj], name)))
        if kind == "container":
            python_type = {
                "dict": "<**PyDict**>",
                "list": "<**PyList**>",
                "tuple": "<**PyTuple**>",
                "set": "<**PySet**>",
            }.get(obj[1:].split(":", 1)[0])
            return {f"{python_type}.{name}"} if python_type else set()
        if kind == "builtin" and obj.startswith("<**") and "." not in obj:
            return {f"{obj}.{name}"}
        if kind == "external" and obj.count(".") + 1 < MAX_EXTERNAL_SEGMENTS:
            return {f"{obj}.{name}"}
        return set()

    # -- calls ---------------------------------------------------------------------------------------------

    def _call(self, node: ast.Call, scope: Scope) -> set[str]:
        func = node.func
        if isinstance(func, _AST_NAME) and func.id == "super" and self._key_for(scope, "super") is None:
            owner = _function_owner(scope)
            cls = owner.class_fqn
            self._call_values({"<builtin>.super"}, [], {}, node, scope, bound=False)
            return {f"<super>{cls}"} if cls else set()
        receivers: set[str] = set()
        if isinstance(func, _AST_ATTRIBUTE):  # `obj.m(...)`: obj is evaluated once, for m and as the receiver
            objects = self.eval(func.value, scope)
            callees = self._attributes(objects, func, scope)
            receivers = {r for r in objects if self._kind(r) == "class"}
        else:
            callees = self.eval(func, scope)
        args = [self.eval(a.value if isinstance(a, _AST_STARRED) else a, scope) for a in node.args]
        kwargs = {k.arg: self.eval(k.value, scope) for k in node.keywords if k.arg is not None}
        for k in node.keywords:
            if k.arg is None:
                self.eval(k.value, scope)
        return self._call_values(
            callees, args, kwargs, node, scope, bound=isinstance(func, _AST_ATTRIBUTE), receivers=receivers
        )

    def _call_values(
        self,
        callees: set[str],
        args: list[set[str]],
        kwargs: dict[str, set[str]],
        node: ast.AST,
        scope: Scope,
        *,
        bound: bool,
        receivers: set[str] | None = None,
    ) -> set[str]:
        caller = _function_owner(scope).fqn
        targets: set[str] = set()
        result: set[str] = set()
        for callee in callees:
            kind = self._kind(callee)
            if kind == "function":
                function = self.scopes[callee]
                targets.add(callee)
                is_method = function.method_kind in ("method", "classmethod")
                # A method reached through an attribute is bound; one passed around as a value is bound
                # too when the call supplies fewer positional arguments than it has parameters.
                skip = 1 if is_method and (bound or len(args) < len(function.params)) else 0
                self._bind_arguments(function, args, kwargs, skip)
                if skip and receivers and function.method_kind == "method" and function.params:
                    self._add_var(self._own_var(function, function.params[0]), receivers)
                if function.is_generator:
                    result.add(f"<gen>{callee}")
                else:
                    result |= self._read_var(self._own_var(function, RETURN))
            elif kind == "class":
                result.add(callee)
                inits = self.lookup_attribute(callee, "__init__")
                for init in inits:
                    targets.add(init)
                    if self._kind(init) == "function":
                        self._bind_arguments(self.scopes[init], args, kwargs, 1)
                if not inits:  # instantiation without an __init__ we can see: the class is the target
                    targets.add(callee)
            elif kind == "builtin":
                targets.add(callee)
                name = callee.removeprefix("<builtin>.")
                if name in CALLS_ITS_ARGUMENTS:
                    result |= self._builtin_calls_arguments(name, args, node, scope)
            elif kind == "external":
                targets.add(callee)
                # Calling an external class gives an instance (kept as the class name, so its methods
                # resolve by name); what an external function returns is unknown.
                if callee.rpartition(".")[2][:1].isupper():
                    result.add(callee)
        # Each run of a scope replaces what its previous run recorded, so the last run holds the final targets.
        # `super().m()` and its inner `super()` start at the same column: the end column tells them apart.
        key = (caller, getattr(node, "lineno", 0), getattr(node, "col_offset", 0), getattr(node, "end_col_offset", 0))
        if caller is not self._recorded:
            self.site_recorders[caller].add(self._current or "")
            self._recorded = caller
        found = self._found
        if found is None:
            found = self.site_targets[self._current or ""]
            if self._current is not None:  # outside a run (routes evaluate views) nothing is kept
                self._found = found
        if key in found:
            found[key] |= targets
        else:
            found[key] = targets
        if key not in self.call_module:
            self.call_module[key] = scope.module
        return result

    def _builtin_calls_arguments(self, name: str, args: list[set[str]], node: ast.AST, scope: Scope) -> set[str]:
        functions = {v for values in args for v in values if self._kind(v) in ("function", "class")}
        iterables = [values for values in args if not values & functions]
        items = self._items(set().union(*iterables)) if iterables else set()
        produced = self._call_values(functions, [items], {}, node, scope, bound=False)
        cid = f"<list:{scope.module}:{getattr(node, 'lineno', 0)}:{getattr(node, 'col_offset', 0)}:{name}>"
        self._add(f"{cid}.{ITEMS}", produced if name == "map" else items)
        return {cid}

    def _call_method(self, objects: set[str], name: str, scope: Scope | None) -> set[str]:
        out: set[str] = set()
        for obj in objects:
            if self._kind(obj) == "class":
                for method in self.lookup_attribute(obj, name):
                    if self._kind(method) == "function":
                        fn = self.scopes[method]
                        if fn.is_generator:
                            out.add(f"<gen>{method}")
                        else:
                            out |= self._read_var(self._own_var(fn, RETURN))
        return out

    def _bind_arguments(self, function: Scope, args: list[set[str]], kwargs: dict[str, set[str]], skip: int) -> None:
        params = function.params[skip:]
        for param, values in zip(params, args, strict=False):
            self._add_var(self._own_var(function, param), values)
        for name, values in kwargs.items():
            if name in function.locals:
                self._add_var(self._own_var(function, name), values)

    # -- results ---------------------------------------------------------------------------------------------

    @property
    def calls(self) -> dict[CallKey, set[str]]:
        """Every call site (caller, line, column, end column) and its targets."""
        return _merged(self.site_targets, self.site_targets)

    def call_sites(self, scopes: Iterable[str] | None = None) -> Iterator[CallSite]:
        """Every call site, or those found by running ``scopes``."""
        calls = _merged(self.site_targets, self.site_targets if scopes is None else scopes)
        for (caller, lineno, col, end), targets in sorted(calls.items()):
            yield CallSite(caller, self.call_module[(caller, lineno, col, end)], lineno, col, frozenset(targets))

    def reference_edges(self, scopes: Iterable[str] | None = None) -> Iterator[tuple[str, str, int]]:
        """(referring scope, referenced definition, line) for every use of a project definition.

        Uses that are the callee of a call on the same line are included: a reference is any use.
        ``scopes`` limits them to what running those scopes found.
        """
        references = _merged(self.scope_references, self.scope_references if scopes is None else scopes)
        for (owner, line), targets in sorted(references.items()):
            for target in sorted(targets):
                if target != owner:
                    yield owner, target, line

    def import_edges(self, scopes: Iterable[str] | None = None) -> Iterator[tuple[str, str, int]]:
        """(importing scope, imported module or definition, line); ``scopes`` as for reference_edges."""
        imports = _merged(self.scope_imports, self.scope_imports if scopes is None else scopes)
        for (owner, line), targets in sorted(imports.items()):
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


def analyze_sources(
    files: dict[str, tuple[str, bool]], collected: Callable[[PyProject], None] | None = None
) -> PyProject:
    """Analyze ``{module name: (source, is_package)}``; modules that fail to parse are skipped.

    ``collected`` is called with the project once every module's scopes are known, before the fixpoint.
    """
    with collector_paused():
        modules = {name: tree for name, tree in parse_sources(files).items() if tree is not None}
        project = PyProject(modules)
        if collected is not None:
            collected(project)
        project.solve()
        return project


def parse_sources(files: dict[str, tuple[str, bool]]) -> dict[str, tuple[ast.Module, bool] | None]:
    """Parse ``{module name: (source, is_package)}``; a module that does not parse maps to None."""
    modules: dict[str, tuple[ast.Module, bool] | None] = {}
    for name, (source, is_package) in files.items():
        try:
            modules[name] = (ast.parse(source), is_package)
        except (SyntaxError, ValueError, RecursionError):
            modules[name] = None
    return modules


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


# Statements and expressions that bind names or open a scope (besides ast.Name); the rest are only walked.
_BINDING_OR_SCOPE: Final = frozenset(
    {
        ast.Global,
        ast.Nonlocal,
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.ClassDef,
        ast.Import,
        ast.ImportFrom,
        ast.ExceptHandler,
        ast.Lambda,
        ast.Yield,
        ast.YieldFrom,
    }
)
# Leaves that never bind a name nor hold a scope: skipping them halves the nodes a collection visits.
_INERT: Final = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop, ast.Constant)
# Fields that never hold a node the collection needs (names, flags, operators; `names` holds strings or import
# aliases); and per node type, its other fields, last first (filled as types are met)
_NODE_FREE_FIELDS: Final = frozenset(
    {"id", "attr", "ctx", "op", "kind", "arg", "module", "level", "type_comment", "conversion", "is_async"}
    | {"simple", "name", "names", "rest", "kwd_attrs"}
)
_CHILD_FIELDS: Final[dict[type, tuple[str, ...]]] = {}


def _bound_by(node: ast.AST) -> list[str]:
    """Names a def, class, import or except clause binds."""
    if isinstance(node, _DEFINITION_NODES):
        return [node.name]
    if isinstance(node, _IMPORT_NODES):
        return [alias.asname or alias.name.split(".")[0] for alias in node.names]
    if isinstance(node, _AST_EXCEPTHANDLER) and node.name:
        return [node.name]
    return []


def _straight_line_rebinds(
    body: list[ast.stmt], stores: Mapping[str, int], fixed: AbstractSet[str], fqn: str
) -> dict[int, dict[str, str]]:
    """Names bound two or more times, and only by plain `name = ...` statements directly in ``body``:
    statement index -> name -> the key it binds (``fqn.name@k``, the last one ``fqn.name``)."""
    where: defaultdict[str, list[int]] = defaultdict(list)
    for index, stmt in enumerate(body):
        if type(stmt) is _AST_ASSIGN:
            for target in stmt.targets:
                if type(target) is _AST_NAME:
                    where[target.id].append(index)
    out: defaultdict[int, dict[str, str]] = defaultdict(dict)
    for name, indices in where.items():
        if len(indices) < 2 or stores[name] != len(indices) or name in fixed or len(set(indices)) != len(indices):
            continue
        for k, index in enumerate(indices):
            out[index][name] = f"{fqn}.{name}" if k == len(indices) - 1 else f"{fqn}.{name}@{k}"
    return dict(out)


def _is_item_store(stmt: ast.stmt) -> bool:
    """``x[K] = v`` with a constant K (x may itself be an item: ``d["a"]["b"] = v``)."""
    return type(stmt) is _AST_ASSIGN and any(
        type(t) is _AST_SUBSCRIPT and _constant_key(t.slice) is not None for t in stmt.targets
    )


def _has_call(stmt: ast.stmt) -> bool:
    return any(type(node) is _AST_CALL for node in ast.walk(stmt))


def _without(rebind_at: dict[int, dict[str, str]], names: AbstractSet[str]) -> dict[int, dict[str, str]]:
    kept = {i: {n: k for n, k in binds.items() if n not in names} for i, binds in rebind_at.items()}
    return {i: binds for i, binds in kept.items() if binds}


def _prefixes(module_names: Iterable[str]) -> set[str]:
    """Every dotted prefix of a module: each is importable as a (namespace) package."""
    return {".".join(m.split(".")[:i]) for m in module_names for i in range(1, m.count(".") + 1)}


def _walk_scope(body: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """Every node in ``body`` that belongs to this scope: nested defs and lambdas are yielded, not entered."""
    stack = list(body)[::-1]
    while stack:
        node = stack.pop()
        yield node
        node_type = type(node)
        if node_type is _AST_NAME:  # a third of all nodes; its fields hold no node
            continue
        if isinstance(node, _FUNCTION_DEFINITIONS):
            defaults = [d for d in node.args.kw_defaults if d is not None]
            stack.extend(reversed([*node.decorator_list, *node.args.defaults, *defaults]))
            continue
        if isinstance(node, _AST_CLASSDEF):
            stack.extend(reversed([*node.decorator_list, *node.bases, *node.keywords]))
            continue
        if isinstance(node, _AST_LAMBDA):
            stack.extend(reversed([*node.args.defaults, *(d for d in node.args.kw_defaults if d)]))
            continue
        # ast.iter_child_nodes, inlined (this loop visits every node of a project), over the fields that may hold
        # nodes, pushed last first so that they come off the stack in order
        fields = _CHILD_FIELDS.get(node_type)
        if fields is None:
            fields = _CHILD_FIELDS[node_type] = tuple(f for f in node._fields if f not in _NODE_FREE_FIELDS)[::-1]
        for name in fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in reversed(value):
                    if isinstance(item, _AST_AST) and not isinstance(item, _INERT):
                        stack.append(item)
            elif isinstance(value, _AST_AST) and not isinstance(value, _INERT):
                stack.append(value)


def _function_owner(scope: Scope) -> Scope:
    """The innermost function, lambda or module: the scope a call in ``scope`` is attributed to."""
    current = scope
    while current.kind == "class" and current.parent is not None:
        current = current.parent
    return current


def _method_kind(node: ast.FunctionDef | ast.AsyncFunctionDef) -> Literal["method", "staticmethod", "classmethod"]:
    names = {d.id for d in node.decorator_list if isinstance(d, _AST_NAME)}
    if "staticmethod" in names:
        return "staticmethod"
    if "classmethod" in names:
        return "classmethod"
    return "method"


TRANSPARENT_DECORATORS: Final = frozenset({"staticmethod", "classmethod", "property", "abstractmethod"})


def _custom_decorators(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> list[ast.expr]:
    """Decorators other than the builtins that leave the name bound to the definition itself."""
    out = []
    for decorator in node.decorator_list:
        name = decorator.id if isinstance(decorator, _AST_NAME) else getattr(decorator, "attr", None)
        if name not in TRANSPARENT_DECORATORS:
            out.append(decorator)
    return out


def _int_constant(node: ast.expr | None, default: int | None) -> int | None:
    """The value of an int literal (``-1`` too); ``default`` for None; None for anything else."""
    if node is None:
        return default
    if isinstance(node, _AST_UNARYOP) and isinstance(node.op, _AST_USUB):
        inner = _int_constant(node.operand, None)
        return -inner if inner is not None else None
    if isinstance(node, _AST_CONSTANT) and type(node.value) is int:
        return node.value
    return None


def _constant_key(node: ast.expr) -> str | None:
    if isinstance(node, _AST_CONSTANT) and isinstance(node.value, str | int):
        return repr(node.value)
    return None


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
