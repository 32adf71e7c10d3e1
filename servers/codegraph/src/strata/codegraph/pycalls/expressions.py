"""Expressions: what a lowered expression may evaluate to (names through scopes, attributes, calls, containers,
comprehensions, annotations), binding values to assignment targets, and the references each use of a name records.

Inside a body with straight-line rebinding (see Scope.rebind_at) a name reads the set of its latest assignment, and a
constant item store ``x[K] = v`` is what later reads of ``x[K]`` see; the statement runner (statements.py) moves that
state along as it goes.
"""

from __future__ import annotations

import builtins
import zlib
from collections import defaultdict
from collections.abc import Set as AbstractSet
from typing import Final

from strata.codegraph.pycalls.attributes import classes_of
from strata.codegraph.pycalls.calls import Calls
from strata.codegraph.pycalls.scopes import TYPE, YIELD, Position, Scope
from strata.codegraph.pysyntax import (
    E_ANNOTATION,
    E_ANNOTATION_CLASSES,
    E_ATTR,
    E_ATTR_LINENO,
    E_ATTR_NAME,
    E_ATTR_VALUE,
    E_BOOLOP,
    E_BOOLOP_VALUES,
    E_CALL,
    E_CALL_ARGS,
    E_CALL_FUNC,
    E_CALL_KW_NAMES,
    E_CALL_KW_VALUES,
    E_CALL_POSITION,
    E_CALL_STAR_KWARGS,
    E_CALL_SUPER,
    E_COMP,
    E_COMP_CID,
    E_COMP_GENERATORS,
    E_COMP_ITEMS,
    E_COMP_KEY,
    E_COMP_VALUE,
    E_CONST,
    E_CONST_KIND,
    E_DICT,
    E_DICT_CID,
    E_DICT_ENTRIES,
    E_DICT_ITEMS,
    E_DISPLAY,
    E_DISPLAY_CID,
    E_DISPLAY_ELEMENTS,
    E_DISPLAY_ITEMS,
    E_DISPLAY_UNPACKABLE,
    E_GETATTR,
    E_GETATTR_CALL,
    E_GETATTR_EXACT,
    E_GETATTR_LINENO,
    E_GETATTR_NAME,
    E_GETATTR_OBJECT,
    E_IFEXP,
    E_IFEXP_BODY,
    E_IFEXP_ORELSE,
    E_IFEXP_TEST,
    E_JSTR,
    E_JSTR_PARTS,
    E_LAMBDA,
    E_LAMBDA_DEFAULTS,
    E_LAMBDA_FQN,
    E_NAME,
    E_NAME_ID,
    E_NAME_LINENO,
    E_OPERATOR,
    E_OPERATOR_ARGUMENT,
    E_OPERATOR_KEEPS,
    E_OPERATOR_METHODS,
    E_OPERATOR_OPERAND,
    E_OPERATOR_POSITION,
    E_OPERATOR_REFLECTED,
    E_PASS,
    E_PASS_VALUE,
    E_SEQ,
    E_SEQ_CHILDREN,
    E_SLICE,
    E_SLICE_BOUNDS,
    E_SLICE_CID,
    E_SLICE_EXACT,
    E_SLICE_ITEMS,
    E_SLICE_LOWER,
    E_SLICE_POSITION,
    E_SLICE_UPPER,
    E_SLICE_VALUE,
    E_SUB,
    E_SUB_KEY,
    E_SUB_POSITION,
    E_SUB_SLICE,
    E_SUB_VALUE,
    E_WALRUS,
    E_WALRUS_TARGET,
    E_WALRUS_VALUE,
    E_YIELD,
    E_YIELD_IS_FROM,
    E_YIELD_VALUE,
    INSTANCE,
    K_CONSTANT,
    K_SPREAD,
    OP,
    POSITION_COLUMN_BITS,
    POSITION_COLUMN_MASK,
    POSITION_LINE_SHIFT,
    T_ATTR,
    T_ATTR_NAME,
    T_ATTR_VALUE,
    T_NAME,
    T_NAME_ID,
    T_STAR,
    T_STAR_TARGET,
    T_SUB,
    T_SUB_DIRECT,
    T_SUB_KEY,
    T_SUB_POSITION,
    T_SUB_SLICE,
    T_SUB_VALUE,
    T_UNPACK,
    T_UNPACK_TARGETS,
    Node,
)

__all__ = ["Expressions"]

BUILTIN_NAMES: Final = frozenset(dir(builtins))
_BUILTIN_VALUES: Final = {name: f"<builtin>.{name}" for name in BUILTIN_NAMES}
MAX_SLICE_ITEMS: Final = 32  # positions a constant slice carries over to the new container
_GETATTR: Final = frozenset({"<builtin>.getattr"})
_TYPING: Final = ("typing.", "typing_extensions.", "collections.abc.", "abc.")  # names no instance is of
_NO_KEYWORDS: Final[dict[str, set[str]]] = {}  # never written to
_GETITEM: Final = ("__getitem__",)
# builtin types an annotation may name that no project class is, unless it derives from one
_VALUE_TYPES: Final = frozenset(
    f"<builtin>.{name}"
    for name in (
        "int",
        "str",
        "float",
        "bool",
        "bytes",
        "complex",
        "bytearray",
        "list",
        "dict",
        "tuple",
        "set",
        "frozenset",
    )
)
_SETITEM: Final = ("__setitem__",)


class Expressions(Calls):
    """Evaluating expressions and binding targets within one scope's run."""

    def __init__(self) -> None:
        super().__init__()
        # while a scope with straight-line rebinding runs: the keys its names read now, and bind next
        self._flow_scope: Scope | None = None
        self._now: dict[str, str] = {}
        self._pending: dict[str, str] = {}
        self._slots: dict[tuple[str, str], set[str]] = {}  # (container, constant key) -> its value now
        # tuple and list displays without a starred element -> how many items they make (their cids are their
        # places in the source: an edit that changes one's length runs it again)
        self._lengths: dict[str, int] = {}

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

    def eval(self, node: Node, scope: Scope) -> set[str]:
        op: int = node[OP]
        if op == E_NAME:
            name: str = node[E_NAME_ID]
            values = set(self.lookup(scope, name))
            self._note_reference(values, name, node[E_NAME_LINENO], scope)
            return values
        if op == E_ATTR:
            objects = self.eval(node[E_ATTR_VALUE], scope)
            return self._loaded(objects, node[E_ATTR_NAME], node[E_ATTR_LINENO], scope)
        if op == E_CALL:
            return self._call(node, scope)
        if op == E_CONST:
            kind: str = node[E_CONST_KIND]
            return {kind} if kind else set()
        if op == E_SUB:
            return self._subscript(node, scope)
        if op == E_SEQ:
            for child in node[E_SEQ_CHILDREN]:
                self.eval(child, scope)
            return set()
        if op == E_DISPLAY:
            items = self._var(node[E_DISPLAY_ITEMS])  # found once for all the elements
            elements: tuple[tuple[Node, str | None], ...] = node[E_DISPLAY_ELEMENTS]
            if all(slot is not None for _, slot in elements):
                self._lengths[node[E_DISPLAY_CID]] = len(elements)
            for element, slot in elements:
                if slot is None:  # *starred
                    self._add_var(items, self._items(self.eval(element, scope)))
                    continue
                values = self.eval(element, scope)
                self._add_var(items, values)
                self._add(slot, values)
            return {node[E_DISPLAY_CID]}
        if op == E_DICT:
            items = self._var(node[E_DICT_ITEMS])
            for value, mode, key in node[E_DICT_ENTRIES]:
                values = self.eval(value, scope)
                self._add_var(items, values)
                if mode == K_CONSTANT:
                    self._add(key, values)
                elif mode == K_SPREAD:  # {**other}
                    self._add_var(items, self._items(values))
                else:
                    self.eval(key, scope)
            return {node[E_DICT_CID]}
        if op == E_JSTR:
            for child in node[E_JSTR_PARTS]:
                self.eval(child, scope)
            return {"<**PyStr**>"}
        if op == E_LAMBDA:
            self._bind_defaults(node[E_LAMBDA_DEFAULTS], scope)
            return {node[E_LAMBDA_FQN]}
        if op == E_COMP:
            for iterated_expr, position, target, conditions in node[E_COMP_GENERATORS]:
                iterated = self._iterate(self.eval(iterated_expr, scope), position, scope)
                self._bind(target, iterated, scope, None)
                for condition in conditions:
                    self.eval(condition, scope)
            if node[E_COMP_KEY] is not None:
                self.eval(node[E_COMP_KEY], scope)
            self._add(node[E_COMP_ITEMS], self.eval(node[E_COMP_VALUE], scope))
            return {node[E_COMP_CID]}
        if op == E_SLICE:
            return self._slice(node, scope)
        if op == E_IFEXP:
            self.eval(node[E_IFEXP_TEST], scope)
            return self.eval(node[E_IFEXP_BODY], scope) | self.eval(node[E_IFEXP_ORELSE], scope)
        if op == E_BOOLOP:
            out: set[str] = set()
            for value in node[E_BOOLOP_VALUES]:
                out |= self.eval(value, scope)
            return out
        if op == E_PASS:
            return self.eval(node[E_PASS_VALUE], scope)
        if op == E_WALRUS:
            values = self.eval(node[E_WALRUS_VALUE], scope)
            self._bind(node[E_WALRUS_TARGET], values, scope, node[E_WALRUS_VALUE])
            return values
        if op == E_ANNOTATION:
            return self._annotated(node[E_ANNOTATION_CLASSES], scope)
        if op == E_GETATTR:
            return self._getattr(node, scope)
        if op == E_OPERATOR:
            return self._operator(node, scope)
        if op == E_YIELD:
            values = self.eval(node[E_YIELD_VALUE], scope)
            owner = scope
            self._add_var(self._own_var(owner, YIELD), self._items(values) if node[E_YIELD_IS_FROM] else values)
            return set()
        raise AssertionError(f"unknown lowered expression {op}")

    def _call(self, node: Node, scope: Scope) -> set[str]:
        position: Position = node[E_CALL_POSITION]
        if node[E_CALL_SUPER] and self._key_for(scope, "super") is None:  # super(...), the builtin
            owner = scope
            cls = owner.class_fqn
            self._call_values({"<builtin>.super"}, [], {}, position, scope, bound=False)
            return {f"<super>{cls}"} if cls else set()
        func: Node = node[E_CALL_FUNC]
        receivers: dict[str, set[str]] | None = None
        bound = func[OP] == E_ATTR
        if bound:  # `obj.m(...)`: obj is evaluated once, for m and as the receiver
            callees, receivers = self._methods_and_receivers(
                self.eval(func[E_ATTR_VALUE], scope), func[E_ATTR_NAME], func[E_ATTR_LINENO], scope
            )
        else:
            callees = self.eval(func, scope)
        args = [self.eval(a, scope) for a in node[E_CALL_ARGS]]
        names: tuple[str, ...] = node[E_CALL_KW_NAMES]
        kwargs = _NO_KEYWORDS  # most calls pass none: no dict made (_call_values only reads it)
        if names:
            values: tuple[Node, ...] = node[E_CALL_KW_VALUES]
            kwargs = {name: self.eval(values[i], scope) for i, name in enumerate(names)}
        for value in node[E_CALL_STAR_KWARGS]:
            self.eval(value, scope)
        return self._call_values(callees, args, kwargs, position, scope, bound=bound, receivers=receivers)

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
                owner = scope
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
        site on that line of its own, keyed by the attribute's name) and gives what the getter returns, and reading a
        method of an instance gives it bound: the instance is its ``self`` wherever it is called later (a callback,
        a ``getattr`` dispatch)."""
        out = self._attributes(objects, attr, lineno, scope)
        getters: set[str] | None = None
        bound = False
        for value in out:
            kind, function = self._kinded(value)
            if kind == "function" and function is not None:
                if function.is_property:
                    if getters is None:
                        getters = set()
                    getters.add(value)
                elif function.method_kind == "method":
                    bound = True
        if bound:
            self._bind_receivers(objects, attr)
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

    def _bind_receivers(self, objects: set[str], attr: str) -> None:
        """Each instance among ``objects`` becomes ``self`` of the method its ``attr`` finds."""
        for obj in objects:
            if self._kind(obj) != "instance":
                continue
            for method in self.attribute(obj, attr):
                kind, function = self._kinded(method)
                if kind == "function" and function is not None and not function.is_property:
                    receiver = {obj}
                    self._bind_self(function, receiver)
                    for alternate in function.alternates:
                        self._bind_self(alternate, receiver)

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

    def _operator(self, node: Node, scope: Scope) -> set[str]:
        """An operator: the operand's method (``a + b``: a.__add__(b)), and the argument's reflected one
        (b.__radd__(a)) when the operand is something without the method; what they give."""
        operand = self.eval(node[E_OPERATOR_OPERAND], scope)
        argument_node: Node | None = node[E_OPERATOR_ARGUMENT]
        argument = self.eval(argument_node, scope) if argument_node is not None else set()
        position: Position = node[E_OPERATOR_POSITION]
        args = [argument] if argument_node is not None else []
        out, lacking = self._dunder_called(operand, node[E_OPERATOR_METHODS], args, position, scope)
        reflected: str = node[E_OPERATOR_REFLECTED]
        if reflected and lacking and not out:  # `"lit" + expr`; where the operand may have the method, it answers
            out |= self._dunder_called(argument, (reflected,), [operand], position, scope)[0]
        if node[E_OPERATOR_KEEPS]:
            out |= argument
        return out

    def _getattr(self, node: Node, scope: Scope) -> set[str]:
        """``getattr(obj, "name"[, default])`` is ``obj.name`` (or the default); ``getattr(obj, f"visit_{kind}")``
        every attribute of obj's class whose name starts so (a dispatch by name)."""
        call: Node = node[E_GETATTR_CALL]
        result = self._call(call, scope)  # the call of getattr, recorded as any call (and the default's value)
        if self.lookup(scope, "getattr") != _GETATTR:
            return result  # a getattr of the project's own
        objects = self.eval(node[E_GETATTR_OBJECT], scope)
        name: str = node[E_GETATTR_NAME]
        if len(call[E_CALL_ARGS]) == 3:
            result |= self.eval(call[E_CALL_ARGS][2], scope)
        if node[E_GETATTR_EXACT]:
            return result | self._loaded(objects, name, node[E_GETATTR_LINENO], scope)
        names: set[str] = set()
        for cls in classes_of(objects, self._kind) | {o for o in objects if self._kind(o) == "class"}:
            for _, _kind, klass in self._mro_entries(cls):
                if klass is None:
                    continue
                for defined in klass.locals:
                    if defined.startswith(name):
                        result |= self.lookup_attribute(cls, defined)
                        names.add(defined)
        for defined in sorted(names):
            self._bind_receivers(objects, defined)
        return result

    def _annotated(self, classes: tuple[Node, ...], scope: Scope, builtin_types: set[str] | None = None) -> set[str]:
        """Instances of the classes a type annotation names: project classes, and library classes (a capitalised
        name outside typing), whose methods then keep their library names. Added to what flows in, never instead:
        a parameter annotated ``Node`` that is passed a ``Leaf`` holds both. The builtin value types it names
        (``loc: int``) go to ``builtin_types``: no instance of a project class is one unless its class derives
        from it."""
        out: set[str] = set()
        for expr in classes:
            for value in self.eval(expr, scope):
                kind = self._kind(value)
                if kind == "builtin" and builtin_types is not None and value in _VALUE_TYPES:
                    builtin_types.add(value)
                elif kind == "class":
                    if not any(k.endswith(".Protocol") and self._kind(k) == "external" for k in self.mro(value)):
                        out.add(value + INSTANCE)  # a Protocol says what an object does, not what it is
                elif kind == "external" and value.rpartition(".")[2][:1].isupper() and not value.startswith(_TYPING):
                    out.add(value)
        return out

    def _subscript(self, node: Node, scope: Scope) -> set[str]:
        subscript: str | None = node[E_SUB_KEY]
        key = self.eval(node[E_SUB_SLICE], scope) if node[E_SUB_SLICE] is not None else set()
        out: set[str] = set()
        instances: set[str] | None = None
        for obj in self.eval(node[E_SUB_VALUE], scope):
            if subscript is not None and (obj, subscript) in self._slots and scope is self._flow_scope:
                out |= self._slots[(obj, subscript)]
                continue
            if self._kind(obj) == "container":
                length = self._lengths.get(obj) if subscript is not None and obj.startswith("<tuple:") else None
                if length is not None and subscript is not None and subscript.isdigit():
                    # a tuple display's item by position: that one only (`value[2]` of a pair is none of its items)
                    if int(subscript) < length:
                        out |= self._read(f"{obj}[{subscript}]")
                    continue
                specific = (self._read(f"{obj}[{subscript}]") or None) if subscript is not None else None
                out |= specific if specific else self._read_var(self._items_var(obj))
            elif self._kind(obj) == "instance":
                if instances is None:
                    instances = set()
                instances.add(obj)
        if instances is not None:  # `x[k]`: x.__getitem__(k)
            out |= self._dunder_called(instances, _GETITEM, [key], node[E_SUB_POSITION], scope)[0]
        return out

    def _slice(self, node: Node, scope: Scope) -> set[str]:
        """``x[a:b]``: a new container holding x's items (with positions when a and b are constants);
        a slice of a string, a typed value or an external object keeps that value."""
        for bound in node[E_SLICE_BOUNDS]:
            self.eval(bound, scope)
        exact: bool = node[E_SLICE_EXACT]
        lower: int | None = node[E_SLICE_LOWER]
        upper: int | None = node[E_SLICE_UPPER]
        out: set[str] = set()
        items: set[str] = set()
        positions: defaultdict[int, set[str]] = defaultdict(set)
        sliced = False
        for obj in self.eval(node[E_SLICE_VALUE], scope):
            kind = self._kind(obj)
            if kind == "instance":
                out |= self._dunder_called({obj}, _GETITEM, [], node[E_SLICE_POSITION], scope)[0]
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
            cid: str = node[E_SLICE_CID]
            self._add(node[E_SLICE_ITEMS], items)
            for position, item in sorted(positions.items()):
                self._add(f"{cid}[{position}]", item)
            out.add(cid)
        return out

    # -- binding -------------------------------------------------------------------------------------------------

    def _bind_name(self, scope: Scope, name: str, values: AbstractSet[str]) -> None:
        if scope is self._flow_scope and name in self._pending:
            self._add(self._pending[name], values)
            return
        var = self._name_var(scope, name)
        self._add_var(var if var is not None else self._own_var(scope, name), values)

    def _bind(self, target: Node, values: set[str], scope: Scope, source: Node | None) -> None:
        op: int = target[OP]
        if op == T_NAME:
            self._bind_name(scope, target[T_NAME_ID], values)
        elif op == T_ATTR:
            attr: str = target[T_ATTR_NAME]
            for obj in self.eval(target[T_ATTR_VALUE], scope):
                kind, owner = self._kinded(obj)
                if owner is not None:  # a project module, class or function: `obj.attr` is its own set
                    self._add_var(self._own_var(owner, attr), values)
                elif kind in ("module", "container", "external"):
                    self._add(f"{obj}.{attr}", values)
        elif op == T_SUB:
            key: str | None = target[T_SUB_KEY]
            objects = self.eval(target[T_SUB_VALUE], scope)
            for obj in objects:
                if self._kind(obj) == "container":
                    self._add_var(self._items_var(obj), values)
                    if key is not None:
                        self._add(f"{obj}[{key}]", values)
            if scope is self._flow_scope:
                if target[T_SUB_DIRECT] and key is not None and len(objects) == 1:  # `x[K] = v` directly in the body
                    self._slots[(next(iter(objects)), key)] = set(values)
                elif self._slots:  # any other store to these containers: their items are unknown again
                    self._slots = {slot: v for slot, v in self._slots.items() if slot[0] not in objects}
            key_values = self.eval(target[T_SUB_SLICE], scope) if target[T_SUB_SLICE] is not None else set()
            # `x[k] = v`: x.__setitem__(k, v)
            self._dunder_called(objects, _SETITEM, [key_values, values], target[T_SUB_POSITION], scope)
        elif op == T_UNPACK:
            elements: tuple[Node, ...] = target[T_UNPACK_TARGETS]
            if (
                source is not None
                and source[OP] == E_DISPLAY
                and source[E_DISPLAY_UNPACKABLE]
                and len(source[E_DISPLAY_ELEMENTS]) == len(elements)
            ):
                for element, (value, slot) in zip(elements, source[E_DISPLAY_ELEMENTS], strict=True):
                    # a starred value (`*rest` in the display) is no display to unpack pairwise
                    self._bind(element, self.eval(value, scope), scope, value if slot is not None else None)
            else:
                for element, unpacked in zip(elements, self._unpacked(values, elements), strict=True):
                    self._bind(element, unpacked, scope, None)
        elif op == T_STAR:
            self._bind(target[T_STAR_TARGET], values, scope, None)

    def _unpacked(self, values: set[str], elements: tuple[Node, ...]) -> list[set[str]]:
        """What each of ``elements`` gets from unpacking ``values`` (``loc, tokens = parse(...)``): a tuple or list
        display of as many items gives each target its own item, as a tuple returned by ``return loc, tokens`` does;
        any other value (or a ``*rest`` among the targets) gives every target all its items."""
        count = len(elements)
        out: list[set[str]] = [set() for _ in range(count)]
        rest: set[str] = set()
        positional = not any(element[OP] == T_STAR for element in elements)
        for value in values:
            if positional and self._lengths.get(value) == count:
                for index in range(count):
                    out[index] |= self._read(f"{value}[{index}]")
                continue
            rest.add(value)
        if rest:
            items = self._items(rest)
            for unpacked in out:
                unpacked |= items
        return out

    def _bind_defaults(self, defaults: tuple[Node, ...], scope: Scope) -> None:
        for key, default in defaults:
            if default[OP] == E_ANNOTATION:  # what the annotation names also rules out what it does not (Calls._typed)
                types: set[str] = set()
                values = self._annotated(default[E_ANNOTATION_CLASSES], scope, types)
                self._add(key, values)
                self._add(key + TYPE, values | types)
            else:
                self._add(key, self.eval(default, scope))

    # -- what a run records besides calls --------------------------------------------------------------------------

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
                owner = scope.fqn
                if owner is not self._recorded:
                    self.site_recorders[owner].add(self._current or "")
                    self._recorded = owner
                self.scope_references[self._current or ""][(owner, lineno)] |= targets

    def _note_import(self, targets: AbstractSet[str], lineno: int, scope: Scope) -> None:
        """Remember what an import statement names (IMPORTS edges; modules outside the project too)."""
        owner = scope.fqn
        if owner is not self._recorded:
            self.site_recorders[owner].add(self._current or "")
            self._recorded = owner
        self.scope_imports[self._current or ""][(owner, lineno)] |= targets - {""}
