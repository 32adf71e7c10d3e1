"""Calls: what calling a set of values reaches and gives back. A function binds the arguments in every body it has,
a class runs ``__new__`` and ``__init__``, an instance its ``__call__``, a builtin the project functions or dunder
methods it calls (``map``, ``sorted(key=)``, ``len``, ``iter``); each call site keeps all its targets."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Final

from strata.codegraph.pycalls.attributes import Attributes, classes_of
from strata.codegraph.pycalls.scopes import NONE_YET, RETURN, TYPE, YIELD, Position, Scope
from strata.codegraph.pysyntax import INSTANCE, ITEMS, POSITION_COLUMN_MASK
from strata.codegraph.pysyntax import position as unpack_position

__all__ = ["Calls"]

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
_OPAQUE_CALLABLES: Final = frozenset({"builtin", "external"})  # callables whose code is not the project's
# standard library functions that return the argument at this position (or a copy of it: an object of its class).
# typing.cast is left out: on click and pyparsing, what it was passed had grown wider than the type it names.
_GIVES_BACK: Final = {
    "functools.update_wrapper": 0,  # a decorator's `return update_wrapper(wrapper, func)`
    "copy.copy": 0,
    "copy.deepcopy": 0,
    "dataclasses.replace": 0,
}
_GENERATOR: Final = 1  # what calling one body of a function gives (Calls._enter_function)
_RETURNS: Final = 2  # its return value
_PASSED_BACK: Final = 4  # the argument it returns as it came in (Scope.returns_param)
_RETURNS_SELF: Final = 8  # the object a method that returns its self was called on


class Calls(Attributes):
    """Calling values: arguments bound to parameters, the call site's targets recorded, the values it gives."""

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
        caller = scope.fqn
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
                # resolve by name); what an external function returns is unknown, but for the few standard ones
                # that give back (a copy of) what they were passed.
                if callee.rpartition(".")[2][:1].isupper():
                    result.add(callee)
                passed = _GIVES_BACK.get(callee, -1)
                if 0 <= passed < len(args):
                    result |= args[passed]
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
        elif returns & _RETURNS_SELF and receivers:
            result |= receivers
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
        (a generator of it), _PASSED_BACK (an argument), _RETURNS_SELF (the object it was called on: a fluent
        ``return self``, so `Word(nums).set_name("n")` is the Word, not every element that calls set_name) or _RETURNS
        (its return value)."""
        skip = _skipped(function, args, bound)
        self._bind_arguments(function, args, kwargs, skip)
        if skip and receivers:
            self._bind_self(function, receivers)
        if function.is_generator:
            return _GENERATOR
        if function.alternates:
            return _RETURNS
        if function.returns_param >= skip:
            return _PASSED_BACK
        if function.returns_param == 0 and skip and receivers and function.method_kind == "method":
            return _RETURNS_SELF
        return _RETURNS

    def _bind_self(self, function: Scope, receivers: AbstractSet[str]) -> None:
        """``receivers`` are what a method body's ``self`` may be."""
        if function.method_kind == "method" and function.params:
            self._add_var(self._own_var(function, function.params[0]), receivers)

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

    # -- builtins and protocols ----------------------------------------------------------------------------------

    def _builtin_protocol(self, name: str, args: list[set[str]], position: Position, scope: Scope) -> set[str]:
        """What a builtin calls on the project object it is given: ``len(x)`` x.__len__(), ``next(x)``
        x.__next__(), ``list(x)`` x.__iter__() and the iterator's __next__(); ``type(x)`` gives x's class. The calls
        are a site of their own beside the builtin's (an end column no expression has)."""
        classes = classes_of(args[0], self._kind)
        if not classes:
            return set()
        if name == "type":
            return classes if len(args) == 1 else set()
        protocol = position | POSITION_COLUMN_MASK
        if name in _ITERATING_BUILTINS:
            self._iterate(args[0], protocol, scope)
            return set()
        names = ("__bool__", "__len__") if name == "bool" else (_BUILTIN_DUNDERS[name],)
        return self._dunder_called(args[0], names, [], protocol, scope)[0]

    def _builtin_calls_arguments(
        self, name: str, args: list[set[str]], kwargs: dict[str, set[str]], position: Position, scope: Scope
    ) -> set[str]:
        """map, filter and reduce call their first argument, sorted, min and max their ``key=``, each with the
        items of the iterables. A function or class passed in another position is taken as called too (PyCG's
        suite writes ``map([1, 2], func)``) where nothing callable, the builtins' included, goes where the callable
        goes (``map(str, self.choices)`` calls str, whatever classes the choices hold); an instance only where a
        callable goes: an object in an iterable argument is no callable."""
        called = kwargs.get("key", NONE_YET) if name in _CALLS_ITS_KEY else (args[0] if args else NONE_YET)
        kinds = {v: self._kind(v) for v in called}
        functions = {v for v, kind in kinds.items() if kind in _CALLABLE_KINDS}
        if not any(kind in _CALLABLE_KINDS or kind in _OPAQUE_CALLABLES for kind in kinds.values()):
            for values in args:
                functions |= {v for v in values if self._kind(v) in ("function", "class")}
        iterables = [values for values in args if not values & functions]
        items = self._items(set().union(*iterables)) if iterables else set()
        produced = self._call_values(functions, [items], {}, position, scope, bound=False)
        line, column, _ = unpack_position(position)
        cid = f"<list:{scope.module}:{line}:{column}:{name}>"
        self._add(f"{cid}.{ITEMS}", produced if name == "map" else items)
        return {cid}

    def _dunder_called(
        self, objects: AbstractSet[str], names: tuple[str, ...], args: list[set[str]], position: Position, scope: Scope
    ) -> tuple[set[str], bool]:
        """Call on each project instance among ``objects`` the first of ``names`` its class has (an operator's
        method: ``__iadd__``, else ``__add__``), at ``position``; what the calls give, and whether some object has
        none of them (its type is another's, or it lacks the method: a reflected method may run instead). Nothing is
        recorded where no instance has one."""
        receivers: dict[str, set[str]] = {}
        lacking = False
        for obj in objects:
            if self._kind(obj) != "instance":
                lacking = True
                continue
            found: set[str] = set()
            for name in names:
                found = self._methods({obj[: -len(INSTANCE)]}, name)
                if found:
                    break
            if not found:
                lacking = True
            for method in found:
                receivers.setdefault(method, set()).add(obj)
        if not receivers:
            return set(), lacking
        called = set(receivers)
        return self._call_values(called, args, {}, position, scope, bound=True, receivers=receivers), lacking

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

    def _iterate(self, values: set[str], position: Position, scope: Scope) -> set[str]:
        """What a for loop over ``values`` binds; iterating an object calls its __iter__ and __next__."""
        items = self._items(values)
        iterators = self._dunder_called(values, ("__iter__",), [], position, scope)[0]
        if iterators:
            items |= self._dunder_called(iterators, ("__next__",), [], position, scope)[0]
        return items

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


def _skipped(function: Scope, args: list[set[str]], bound: bool) -> int:
    """How many parameters a call binds before its arguments: a method reached through an attribute is bound; one
    passed around as a value is bound too when the call supplies fewer positional arguments than it has parameters."""
    is_method = function.method_kind in ("method", "classmethod")
    return 1 if is_method and (bound or len(args) < len(function.params)) else 0
