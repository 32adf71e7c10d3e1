"""Python call resolution: a flow-insensitive points-to analysis over the whole project, in the style of PyCG.

Pipeline: lower every module (pysyntax: parse, collect its scopes - modules, classes, functions, lambdas - and the
names each binds, and turn their bodies into compact tuples) → iterate over every statement, growing points-to sets
for variables, attributes, parameters, returns and container items until nothing changes → every call site's
callee set is its resolved targets.

An instance of a project class is ``pkg.mod.Class()``: ``a = A(); a.m()`` resolves through ``A``'s MRO, and
``a()`` calls ``A.__call__`` where ``A()`` calls ``A.__init__``. An instance of a library class keeps the class's
name (``requests.Session``), so its methods keep their library names. Each call site keeps *all* its candidate
targets; nothing is picked by name similarity. A call whose callee evaluates to nothing is reported as unresolved
rather than guessed.

The modules, one phase each, in the order they build on one another (each class extends the one before):

- ``scopes``: the namespaces of a lowered module and the points-to sets (Var) of their names;
- ``solver``: the worklist that runs scopes until no set grows, and retracts what an edit took away (Solver);
- ``attributes``: kinds of values, MROs and attribute lookup (Attributes);
- ``calls``: where a call goes and what it gives back: the targets of every call site are computed here (Calls);
- ``expressions``: what an expression evaluates to, and binding targets (Expressions);
- ``statements``: one run of a scope, statement by statement (Statements);
- ``project``: PyProject, and the rows the index reads from it;
- ``sources``: from files to a solved PyProject.

All but this file are compiled together by mypyc at install (servers/codegraph/hatch_build.py).
"""

from strata.codegraph.pycalls.project import CallRows, CallSite, PyProject
from strata.codegraph.pycalls.scopes import CallKey, Scope
from strata.codegraph.pycalls.solver import import_order
from strata.codegraph.pycalls.sources import (
    analyze_sources,
    collector_paused,
    load_project,
    module_name_for,
    parse_sources,
)

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
