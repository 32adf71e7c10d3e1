"""PyProject: the analysis of one Python code base, and what the index reads from it once solved: call sites with
their targets, CALLS rows in columns, reference and import edges, and PyCG's call-graph format."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from strata.codegraph.pycalls.scopes import CallKey
from strata.codegraph.pycalls.statements import Statements
from strata.codegraph.pysyntax import POSITION_LINE_SHIFT, Lowered
from strata.codegraph.pysyntax import position as unpack_position

__all__ = ["CallRows", "CallSite", "PyProject"]

K = TypeVar("K")


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


class PyProject(Statements):
    """The analysis of one Python code base."""

    def __init__(self, modules: dict[str, Lowered]) -> None:
        """``modules``: module name -> the module lowered (pysyntax).

        The analysis keeps what each scope's last run contributed to every points-to set, so that
        :meth:`update` retracts what an edited module no longer implies instead of re-solving the whole
        project. That costs about a quarter more time and memory than accumulating, and gives the same
        result whether a graph was built at once or edit by edit.
        """
        super().__init__()
        self._collect(modules)

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
