"""The solver: points-to sets grown to a fixpoint by a worklist, and retracted when an edit takes a value away.

Every scope (module, class body, function, lambda) is a unit of work: running it evaluates its statements
(statements.py), which read sets and add values to sets. A scope runs again when a set it read grows; rounds go
module by module in import order (:func:`import_order`). Each run's additions are kept per scope, so that
:meth:`Solver.update` re-runs only the edited modules and what read what they changed, and a value leaves a set once
no scope's last run added it: the graph is the same whether built at once or edit by edit.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import Final

from strata.codegraph.pycalls.scopes import EMPTY, NONE_YET, Scope, SiteKey, Var, scopes_of
from strata.codegraph.pysyntax import M_FACTS, M_IMPORTED, M_IS_PACKAGE, M_NAME, M_URL_CALLS, Lowered

__all__ = ["Solver", "import_order"]

MAX_ITERATIONS: Final = 30
# A points-to set that reaches this size is frozen ("saturated"): the variable is too polymorphic to
# resolve calls through usefully, and letting it grow made whole-stdlib analysis explode (158M entries).
MAX_POINTS_TO: Final = 64
# Compiled, the fixpoint never runs bytecode, so it never hands the GIL to a thread waiting for it (CPython does
# that from the bytecode loop): index.py's Kuzu loader, whose statements release the GIL, waited 15 s on Lib/ for
# it after each statement. Every this many scope runs the GIL is released for a moment (a no-op when no thread
# waits; Lib/: ~3,000 times).
GIL_HANDOFF_RUNS: Final = 64
_let_other_threads_run: Final = time.sleep


class Solver:
    """The sets, the scopes that read and wrote them, and the worklist. What a scope's run does is the subclasses'
    (:meth:`_run_scope`); what it found (call sites, references, imports) is kept here per running scope."""

    def __init__(self) -> None:
        self.packages: set[str] = set()
        self.module_names: set[str] = set()
        self.module_prefixes: set[str] = set()
        self.scopes: dict[str, Scope] = {}
        self.class_bases: dict[str, int] = {}  # class -> how many bases it lists (their values: Attributes._base_keys)
        self.vars: dict[str, Var] = {}  # points-to key -> its set
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
        # scope (or "<collect>module") -> set -> values its last run added to it (see Var.writers)
        self._contributions: dict[str, dict[Var, set[str]]] = {}
        self._run: dict[Var, set[str]] | None = None  # the contributions of the run in progress
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
        # the sets read while computing derived results (an MRO) in progress: whoever uses such a result later
        # depends on them too (_note_reads)
        self._read_log: list[set[Var]] = []

    def _collect(self, modules: dict[str, Lowered]) -> None:
        """Take in the lowered modules before the first solve."""
        self.packages = {name for name, lowered in modules.items() if lowered[M_IS_PACKAGE]}
        self.module_names = set(modules)
        self.module_prefixes = _prefixes(self.module_names)
        for lowered in modules.values():
            self._collect_module(lowered)
        self._rank_modules()

    def _run_scope(self, scope: Scope) -> None:
        """Evaluate one scope's body (statements.py)."""
        raise NotImplementedError

    def _forget(self) -> None:
        """Drop what was derived from the modules an update replaced (attributes.py: kinds, MROs)."""

    def _collect_module(self, lowered: Lowered) -> None:
        """Take in the scopes of a lowered module, in the order they were collected, and add its initial values."""
        name: str = lowered[M_NAME]
        self._run = {}
        made = scopes_of(lowered, name)
        for scope in made:
            fqn, kind = scope.fqn, scope.kind
            first = self.scopes.get(fqn)
            if first is not None and first.module == name and first.kind == kind:
                first.alternates += (scope,)  # the same name defined again: another body of one symbol
                first.end_lineno = max(first.end_lineno, scope.end_lineno)
                if kind == "class":
                    self.class_bases[fqn] = max(self.class_bases.get(fqn, 0), scope.bases)
                continue
            if kind == "class":
                self.class_bases[fqn] = scope.bases
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

    # -- the sets a name leads to ------------------------------------------------------------------------------

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

    def _name_var(self, scope: Scope, name: str) -> Var | None:
        """The set ``name`` refers to in ``scope``, or None when it is unbound there (memoized per scope)."""
        var = scope.name_vars.get(name)
        if var is None:
            key = self._key_for(scope, name)
            if key is None:
                return None
            var = scope.name_vars[name] = self._var(key)
        return var

    def _own_var(self, scope: Scope, name: str) -> Var:
        """The set ``<scope fqn>.<name>`` (a parameter, the return value)."""
        var = scope.own_vars.get(name)
        if var is None:
            var = scope.own_vars[name] = self._var(f"{scope.fqn}.{name}")
        return var

    # -- the fixpoint --------------------------------------------------------------------------------------------

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

    def _written(self, var: Var, value: str) -> bool:
        """Whether the last run of some writer of ``var`` added ``value`` to it."""
        writers = var.writers
        if writers is None:
            return False
        if isinstance(writers, str):
            return value in self._contributions.get(writers, {}).get(var, EMPTY)
        return any(value in self._contributions.get(w, {}).get(var, EMPTY) for w in writers)

    def _retract(self, var: Var, value: str) -> None:
        if value not in var.values or var.saturated:
            return  # a saturated set stays as it is: nothing is resolved through it anyway
        var.values.discard(value)
        self._changed(var)

    def _changed(self, var: Var) -> None:
        """A points-to set changed: its readers run again."""
        self._dirty |= var.readers

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
        self._forget()
        return self.solve(dirty | self._dirty)

    # -- reading and growing sets --------------------------------------------------------------------------------

    def _var(self, key: str) -> Var:
        var = self.vars.get(key)
        if var is None:
            var = self.vars[key] = Var()
        return var

    def points_to(self, key: str) -> AbstractSet[str]:
        """The values ``key`` may hold (without noting a read)."""
        var = self.vars.get(key)
        return EMPTY if var is None else var.values

    def _read(self, key: str) -> AbstractSet[str]:
        """The points-to set of ``key``, noting that the scope being run depends on it."""
        return self._read_var(self._var(key))  # a set read before anything is added to it records its reader too

    def _read_var(self, var: Var) -> AbstractSet[str]:
        current = self._current
        if current is not None and var.last_reader is not current:
            _add_reader(var, current)
        if self._read_log:
            self._read_log[-1].add(var)
        return var.values

    def _note_reads(self, read: AbstractSet[Var]) -> None:
        current = self._current
        if current is not None:
            for var in read:
                if var.last_reader is not current:
                    _add_reader(var, current)
        if self._read_log:
            self._read_log[-1] |= read

    def _add(self, key: str, values: Collection[str]) -> None:
        self._add_var(self._var(key), values)

    def _add_var(self, var: Var, values: Collection[str]) -> None:  # iterated twice: no generators
        if var.saturated or not values:
            return
        target = var.values
        if values is target:
            return
        if target is NONE_YET:
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


def _add_reader(var: Var, scope: str) -> None:
    readers = var.readers
    if readers is NONE_YET:
        readers = var.readers = set()
    readers.add(scope)
    var.last_reader = scope


def _add_writer(var: Var, owner: str) -> None:
    # one writer (most sets) is kept as a plain string, not a one-element set
    writers = var.writers
    if writers is None:
        var.writers = owner
    elif isinstance(writers, str):
        if writers != owner:
            var.writers = {writers, owner}
    else:
        writers.add(owner)


def _drop_writer(var: Var, owner: str) -> None:
    writers = var.writers
    if isinstance(writers, str):
        if writers == owner:
            var.writers = None
    elif writers is not None:
        writers.discard(owner)
        if len(writers) == 1:
            var.writers = next(iter(writers))


def _prefixes(module_names: Iterable[str]) -> set[str]:
    """Every dotted prefix of a module: each is importable as a (namespace) package."""
    return {".".join(m.split(".")[:i]) for m in module_names for i in range(1, m.count(".") + 1)}
