"""Statements: one run of a scope, statement by statement (assignments, definitions with their decorators, imports,
loops, ``with``, ``raise``), keeping the straight-line state of bodies that rebind names (see expressions.py)."""

from __future__ import annotations

from strata.codegraph.pycalls.expressions import Expressions
from strata.codegraph.pycalls.scopes import RETURN, Scope
from strata.codegraph.pysyntax import (
    OP,
    S_ASSIGN,
    S_ASSIGN_TARGETS,
    S_ASSIGN_VALUE,
    S_DEF,
    S_DEF_BASES,
    S_DEF_DECORATORS,
    S_DEF_DEFAULTS,
    S_DEF_FQN,
    S_DEF_NAME,
    S_FOR,
    S_FOR_BODY,
    S_FOR_ITER,
    S_FOR_POSITION,
    S_FOR_TARGET,
    S_FROM,
    S_FROM_ALIASES,
    S_FROM_BASE,
    S_FROM_LINENO,
    S_IF,
    S_IF_BODY,
    S_IF_ORELSE,
    S_IF_TEST,
    S_IMPORT,
    S_IMPORT_BINDS,
    S_IMPORT_LINENO,
    S_IMPORT_NAMES,
    S_RAISE,
    S_RAISE_EXC,
    S_RAISE_POSITION,
    S_RETURN,
    S_RETURN_VALUE,
    S_TRY,
    S_TRY_BODY,
    S_TRY_HANDLERS,
    S_WITH,
    S_WITH_BODY,
    S_WITH_IS_ASYNC,
    S_WITH_ITEMS,
    Node,
)

__all__ = ["Statements"]


class Statements(Expressions):
    """What running a scope does (Solver._run_scope)."""

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
        op: int = stmt[OP]
        if op < S_ASSIGN:  # an expression statement
            self.eval(stmt, scope)
        elif op == S_ASSIGN:
            value: Node = stmt[S_ASSIGN_VALUE]
            values = self.eval(value, scope)
            for target in stmt[S_ASSIGN_TARGETS]:
                self._bind(target, values, scope, value)
        elif op == S_DEF:
            self._definition(stmt, scope)
        elif op == S_IF:
            self.eval(stmt[S_IF_TEST], scope)
            self._stmts(stmt[S_IF_BODY], scope)
            self._stmts(stmt[S_IF_ORELSE], scope)
        elif op == S_RETURN:
            self._add_var(self._own_var(scope, RETURN), self.eval(stmt[S_RETURN_VALUE], scope))
        elif op == S_FOR:
            iterated = self._iterate(self.eval(stmt[S_FOR_ITER], scope), stmt[S_FOR_POSITION], scope)
            self._bind(stmt[S_FOR_TARGET], iterated, scope, None)
            self._stmts(stmt[S_FOR_BODY], scope)
        elif op == S_FROM:
            self._import_from(stmt, scope)
        elif op == S_IMPORT:
            self._note_import(stmt[S_IMPORT_NAMES], stmt[S_IMPORT_LINENO], scope)
            for name, module in stmt[S_IMPORT_BINDS]:
                self._bind_name(scope, name, {module})  # a module's value is its name, in the project or not
        elif op == S_TRY:
            self._stmts(stmt[S_TRY_BODY], scope)
            for type_expr, handler_body in stmt[S_TRY_HANDLERS]:
                if type_expr is not None:
                    self.eval(type_expr, scope)
                self._stmts(handler_body, scope)
        elif op == S_WITH:
            enter, leave = ("__aenter__", "__aexit__") if stmt[S_WITH_IS_ASYNC] else ("__enter__", "__exit__")
            for context, target, position in stmt[S_WITH_ITEMS]:
                values = self.eval(context, scope)
                # `with obj:` calls obj.__enter__() and, leaving, obj.__exit__(...)
                entered = self._dunder_called(values, (enter,), [], position, scope)[0]
                self._dunder_called(values, (leave,), [], position, scope)
                if target is not None:
                    self._bind(target, values | entered, scope, None)
            self._stmts(stmt[S_WITH_BODY], scope)
        elif op == S_RAISE:
            raised = self.eval(stmt[S_RAISE_EXC], scope)
            if stmt[S_RAISE_POSITION] is not None:  # `raise A` instantiates A
                classes = {v for v in raised if self._kind(v) == "class"}
                self._call_values(classes, [], {}, stmt[S_RAISE_POSITION], scope, bound=False)

    def _stmts(self, stmts: tuple[Node, ...], scope: Scope) -> None:
        for stmt in stmts:
            self._stmt(stmt, scope)

    def _definition(self, stmt: Node, scope: Scope) -> None:
        # The bases are evaluated here, in the run of the scope that defines the class, and kept: an MRO
        # reads them. Evaluated again wherever an attribute was first looked up, a call in a base (`class
        # A(namedtuple(...))`) ran as part of that unrelated scope and was recorded there.
        for key, base in stmt[S_DEF_BASES]:
            self._add(key, self.eval(base, scope))
        self._bind_defaults(stmt[S_DEF_DEFAULTS], scope)
        value: set[str] = {stmt[S_DEF_FQN]}
        for decorator, position in stmt[S_DEF_DECORATORS]:  # innermost first
            # @dec def f: ... is f = dec(f): a call of dec with f, whose result is bound to f. A decorator
            # we cannot see into (unknown, external or builtin) is taken to wrap f. The test must not look
            # at the result: it is empty in early rounds, and points-to sets never shrink.
            decorators = self.eval(decorator, scope)
            result = self._call_values(decorators, [value], {}, position, scope, bound=False)
            opaque = not decorators or any(self._kind(d) not in ("function", "class") for d in decorators)
            value = result | value if opaque else result
        self._bind_name(scope, stmt[S_DEF_NAME], value)

    def _import_from(self, stmt: Node, scope: Scope) -> None:
        base: str = stmt[S_FROM_BASE]
        imported: set[str] = set()
        for name, _, full in stmt[S_FROM_ALIASES]:
            if name == "*" or base not in self.module_names or full in self.module_names:
                imported.add(base if name == "*" else full)
            else:  # a name defined in (or re-exported by) a project module: what it denotes, else the module
                imported |= {v for v in self._read(full) if v in self.scopes} or {base}
        self._note_import(imported, stmt[S_FROM_LINENO], scope)
        for name, bound, full in stmt[S_FROM_ALIASES]:
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
