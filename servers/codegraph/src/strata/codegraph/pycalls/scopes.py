"""Scopes: the namespaces of a lowered module (module, class bodies, functions, lambdas) as the solver keeps them, and
the points-to sets it grows for their names.

Values are fully qualified names: definitions (``pkg.mod.Class.method``, ``mod.<lambda1>``), modules, builtins
(``<builtin>.len``, ``<**PyStr**>.join``), external names (``requests.get``) and container ids. A set is keyed the
same way: ``pkg.mod.f.x`` is the local ``x`` of ``f``, ``pkg.mod.f.<RETURN>`` what ``f`` returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

from strata.codegraph.pysyntax import (
    M_SCOPES,
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
    Lowered,
    Node,
)

__all__ = [
    "EMPTY",
    "NONE_YET",
    "RETURN",
    "TYPE",
    "YIELD",
    "CallKey",
    "Position",
    "Scope",
    "SiteKey",
    "Var",
    "scopes_of",
]

# Module constants are Final: mypyc reads a plain module global from the module dict on every use.
EMPTY: Final[frozenset[str]] = frozenset()
NONE_YET: Final[set[str]] = set()  # never added to: see Var
RETURN: Final = "<RETURN>"  # `<fqn>.<RETURN>`: what a function returns
YIELD: Final = "<YIELD>"  # `<fqn>.<YIELD>`: what a generator yields
TYPE: Final = "<TYPE>"  # `<fqn>.<param><TYPE>`: the instances a parameter's annotation names

ScopeKind = Literal["module", "class", "function", "lambda"]
CallKey = tuple[str, int, int, int]  # caller, line, column, end column
Position = int  # line, column and end column of the expression a call site is, packed (pysyntax.position)
SiteKey = tuple[str, Position]  # caller, position: a call site inside the analysis (2-tuples are cheaper to hash)


class Var:
    """One points-to set and what the solver keeps about it, found with a single dict lookup by its key."""

    __slots__ = ("last_reader", "readers", "saturated", "values", "writers")

    def __init__(self) -> None:
        # both start as a shared empty set, replaced by the var's own on the first add (60% of the sets read on
        # Lib/ never get a value: -100 MB)
        self.values: set[str] = NONE_YET
        self.readers: set[str] = NONE_YET  # scopes whose runs read the set: they run again when it changes
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
    bases: int = 0  # classes: how many bases the class statement lists
    is_property: bool = False  # a @property getter: `obj.name` calls it (PyProject._loaded)
    # Where names lead, fixed once the scope is collected: name -> the set it reads (LEGB, see _key_for); name ->
    # the set `from m import *` binds it in (names with no binding here); own name -> the set `fqn.name`.
    name_vars: dict[str, Var] = field(default_factory=dict)
    star_vars: dict[str, Var] = field(default_factory=dict)
    own_vars: dict[str, Var] = field(default_factory=dict)


def scopes_of(lowered: Lowered, module: str) -> list[Scope]:
    """The scopes of a lowered module, in the order they were collected (the module first)."""
    made: list[Scope] = []
    for record in lowered[M_SCOPES]:
        parent: int = record[SC_PARENT]
        made.append(
            Scope(
                fqn=record[SC_FQN],
                kind=record[SC_KIND],
                module=module,
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
                bases=record[SC_BASES],
            )
        )
    return made
