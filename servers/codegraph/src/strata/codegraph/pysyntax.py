"""Python modules lowered for the call analysis (pycalls): parsed once, scopes collected, bodies made compact.

A module is parsed (stdlib ``ast``), its scopes (module, classes, functions, lambdas) are collected with the names
each binds, and the statements and expressions the points-to fixpoint evaluates are turned into nested tuples: an
opcode, then the operands it needs. Every string the fixpoint would otherwise build on each run (fully qualified
names, parameter keys, container ids, constant keys) is made here once, and what it never looks at (docstrings,
``not`` and ``is``, annotations other than the classes they name, ``pass``) is left out. Operators a class may define
(``a + b``, ``a == b``, ``x in c``, ``x[k]``, f-string fields) become the method calls they are.

The tuples hold only str, int, bool, None, tuples and frozensets, so a lowered module crosses a process boundary
with marshal: pyworkers.lower_sources lowers a large project on two cores (a child process takes part of it). The
syntax tree is dropped once its module is lowered; on Lib/ the trees took 1.1 GB, the lowered modules 377 MB.

Layouts (every position has a named constant below):
- a lowered module: (name, is_package, scopes, imported, facts, url_calls): ``M_*``
- a scope: (fqn, kind, parent, body, lineno, end_lineno, params, locals, global_names, nonlocal_names, class_fqn,
  method_kind, is_generator, rebind_at, slot_stores, calls_at, bases, route_decorators, returns_param, is_abstract,
  annotated, is_property): ``SC_*``
- a statement, expression or assignment target: its opcode at ``OP`` (``S_*``, ``E_*``, ``T_*``), then its operands at
  the positions named after the opcode (``E_CALL_ARGS``: where an ``E_CALL`` keeps its arguments)
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from typing import Any, Final

__all__ = ["Lowered", "Node", "lower_module", "lower_source", "position"]

Node = tuple[Any, ...]  # one lowered statement, expression or assignment target: (opcode, operands...)
Lowered = tuple[Any, ...]  # one lowered module (layout in the module docstring)

ITEMS: Final = "<ITEMS>"
INSTANCE: Final = "()"  # `pkg.A()`: an instance of the project class pkg.A (the bare name is the class itself)
BUILTIN_TYPE_OF: Final = {str: "<**PyStr**>", bytes: "<**PyBytes**>", int: "<**PyInt**>", float: "<**PyFloat**>"}
# decorators that leave the name bound to the definition (`@url.setter`: the property's other accessors)
TRANSPARENT_DECORATORS: Final = frozenset(
    {"staticmethod", "classmethod", "property", "abstractmethod", "setter", "getter", "deleter"}
)

# A call site's position (line, column, end column) packed in one int, which orders like the triple
POSITION_COLUMN_BITS: Final = 20
POSITION_COLUMN_MASK: Final = (1 << POSITION_COLUMN_BITS) - 1
POSITION_LINE_SHIFT: Final = 2 * POSITION_COLUMN_BITS

# -- opcodes and layouts ------------------------------------------------------------------------------------------
# A lowered node is a tuple: its opcode at OP, then its operands at the positions named after it (E_CALL_ARGS is
# where an E_CALL node keeps its arguments).
OP: Final = 0
# expressions
E_NAME: Final = 1
E_NAME_ID: Final = 1
E_NAME_LINENO: Final = 2
E_ATTR: Final = 2
E_ATTR_VALUE: Final = 1
E_ATTR_NAME: Final = 2
E_ATTR_LINENO: Final = 3
E_CALL: Final = 3
E_CALL_FUNC: Final = 1
E_CALL_ARGS: Final = 2
E_CALL_KW_NAMES: Final = 3
E_CALL_KW_VALUES: Final = 4
E_CALL_STAR_KWARGS: Final = 5  # `**mapping` expressions
E_CALL_POSITION: Final = 6  # see _position
E_CALL_SUPER: Final = 7  # a call of the name `super`
E_CONST: Final = 4
E_CONST_KIND: Final = 1  # "<**PyStr**>" and the like, "" for a value of no builtin type
E_LAMBDA: Final = 5
E_LAMBDA_FQN: Final = 1
E_LAMBDA_DEFAULTS: Final = 2  # ((parameter key, expr), ...)
E_JSTR: Final = 6
E_JSTR_PARTS: Final = 1
E_DICT: Final = 7
E_DICT_CID: Final = 1
E_DICT_ITEMS: Final = 2  # the key of the container's items set
E_DICT_ENTRIES: Final = 3  # (value, K_*, key string or key expr or None)
E_DISPLAY: Final = 8
E_DISPLAY_CID: Final = 1
E_DISPLAY_ITEMS: Final = 2
E_DISPLAY_ELEMENTS: Final = 3  # (expr, slot key, or None when starred)
E_DISPLAY_UNPACKABLE: Final = 4  # a tuple or list display an assignment may unpack pairwise
E_COMP: Final = 9
E_COMP_CID: Final = 1
E_COMP_ITEMS: Final = 2
E_COMP_GENERATORS: Final = 3  # (iter, pos, target, ifs)
E_COMP_KEY: Final = 4  # a dict comprehension's key expr, else None
E_COMP_VALUE: Final = 5
E_SLICE: Final = 10
E_SLICE_VALUE: Final = 1
E_SLICE_BOUNDS: Final = 2
E_SLICE_EXACT: Final = 3  # constant bounds and no step
E_SLICE_LOWER: Final = 4
E_SLICE_UPPER: Final = 5
E_SLICE_CID: Final = 6
E_SLICE_ITEMS: Final = 7
E_SLICE_POSITION: Final = 8  # the call site of __getitem__
E_SUB: Final = 11
E_SUB_VALUE: Final = 1
E_SUB_SLICE: Final = 2  # the subscript expression, None when it is a constant
E_SUB_KEY: Final = 3  # the constant subscript, else None
E_SUB_POSITION: Final = 4  # the call site of __getitem__
E_IFEXP: Final = 12
E_IFEXP_TEST: Final = 1
E_IFEXP_BODY: Final = 2
E_IFEXP_ORELSE: Final = 3
E_BOOLOP: Final = 13
E_BOOLOP_VALUES: Final = 1
E_WALRUS: Final = 14
E_WALRUS_TARGET: Final = 1
E_WALRUS_VALUE: Final = 2
E_PASS: Final = 15  # await, a starred value
E_PASS_VALUE: Final = 1
E_YIELD: Final = 16
E_YIELD_VALUE: Final = 1
E_YIELD_IS_FROM: Final = 2
E_SEQ: Final = 17  # evaluated in order for what they record; the value is empty
E_SEQ_CHILDREN: Final = 1
E_ANNOTATION: Final = 18  # instances of the classes a type annotation names (see _annotated)
E_ANNOTATION_CLASSES: Final = 1
E_GETATTR: Final = 19  # getattr(obj, "name") or getattr(obj, f"name{...}")
E_GETATTR_CALL: Final = 1  # the call of getattr itself (an E_CALL node)
E_GETATTR_OBJECT: Final = 2
E_GETATTR_NAME: Final = 3  # the name, or the constant start of an f-string
E_GETATTR_EXACT: Final = 4
E_GETATTR_LINENO: Final = 5
E_OPERATOR: Final = 20  # what a project class may define an operator with: `a + b`, `a < b`, `x in c`, `-a`, f"{a}"
E_OPERATOR_OPERAND: Final = 1  # whose method runs
E_OPERATOR_ARGUMENT: Final = 2  # what the method is passed, or None
E_OPERATOR_METHODS: Final = 3  # names: the first one the operand's class has is called (`__iadd__`, else `__add__`)
E_OPERATOR_REFLECTED: Final = 4  # the argument's method when the operand has none (`__radd__`), or ""
E_OPERATOR_POSITION: Final = 5
E_OPERATOR_KEEPS: Final = 6  # the value holds the argument's too (`x += [a]` binds x to the list, as `x = [a]`)
# statements
S_ASSIGN: Final = 30
S_ASSIGN_TARGETS: Final = 1
S_ASSIGN_VALUE: Final = 2
S_RETURN: Final = 31
S_RETURN_VALUE: Final = 1
S_FOR: Final = 33
S_FOR_ITER: Final = 1
S_FOR_POSITION: Final = 2  # the call site of __iter__ and __next__
S_FOR_TARGET: Final = 3
S_FOR_BODY: Final = 4
S_IF: Final = 34  # if, while and match (subject, every case's body)
S_IF_TEST: Final = 1
S_IF_BODY: Final = 2
S_IF_ORELSE: Final = 3
S_WITH: Final = 35
S_WITH_ITEMS: Final = 1  # (context expr, target or None, protocol position)
S_WITH_BODY: Final = 2
S_WITH_IS_ASYNC: Final = 3
S_TRY: Final = 36
S_TRY_BODY: Final = 1
S_TRY_HANDLERS: Final = 2  # (type expr or None, body)
S_RAISE: Final = 37
S_RAISE_EXC: Final = 1
S_RAISE_POSITION: Final = 2  # when exc is not a call (`raise A` instantiates A), else None
S_IMPORT: Final = 38
S_IMPORT_NAMES: Final = 1
S_IMPORT_LINENO: Final = 2
S_IMPORT_BINDS: Final = 3  # (name, module value)
S_FROM: Final = 39
S_FROM_BASE: Final = 1
S_FROM_ALIASES: Final = 2  # (name, bound name, full name)
S_FROM_LINENO: Final = 3
S_DEF: Final = 40
S_DEF_NAME: Final = 1
S_DEF_FQN: Final = 2
S_DEF_IS_CLASS: Final = 3
S_DEF_BASES: Final = 4  # (key, expr)
S_DEF_DEFAULTS: Final = 5  # (parameter key, expr)
S_DEF_DECORATORS: Final = 6  # (expr, pos), innermost first
# assignment targets
T_NAME: Final = 50
T_NAME_ID: Final = 1
T_ATTR: Final = 51
T_ATTR_VALUE: Final = 1
T_ATTR_NAME: Final = 2
T_SUB: Final = 52
T_SUB_VALUE: Final = 1
T_SUB_SLICE: Final = 2
T_SUB_KEY: Final = 3
T_SUB_DIRECT: Final = 4  # a store directly in a straight-line body
T_SUB_POSITION: Final = 5  # the call site of __setitem__
T_UNPACK: Final = 53
T_UNPACK_TARGETS: Final = 1
T_STAR: Final = 54  # `*rest`, bound without the value's syntax (no pairwise unpacking below it)
T_STAR_TARGET: Final = 1
# dict entries
K_CONSTANT: Final = 0  # {"k": v}: the slot key
K_SPREAD: Final = 1  # {**other}
K_EXPR: Final = 2  # {f(): v}: the key expression

# -- layouts ----------------------------------------------------------------------------------------------------
M_NAME: Final = 0
M_IS_PACKAGE: Final = 1
M_SCOPES: Final = 2
M_IMPORTED: Final = 3  # the dotted names its module-level code imports
M_FACTS: Final = 4  # (key, value): a value the set `key` holds from the start (definitions, `self`)
M_URL_CALLS: Final = 5  # in a module named `urls`: (function name, path, view expr, lineno) of calls `f("path", view)`

SC_FQN: Final = 0
SC_KIND: Final = 1
SC_PARENT: Final = 2  # index of the enclosing scope in the module's scopes, -1 for the module
SC_BODY: Final = 3  # statements; a lambda's: its body expression
SC_LINENO: Final = 4
SC_END_LINENO: Final = 5
SC_PARAMS: Final = 6
SC_LOCALS: Final = 7
SC_GLOBALS: Final = 8
SC_NONLOCALS: Final = 9
SC_CLASS_FQN: Final = 10
SC_METHOD_KIND: Final = 11
SC_IS_GENERATOR: Final = 12
SC_REBIND_AT: Final = 13
SC_SLOT_STORES: Final = 14
SC_CALLS_AT: Final = 15
SC_BASES: Final = 16  # classes: how many bases the class statement lists
SC_ROUTE_DECORATORS: Final = 17  # (attr, object expr, path, `methods=[...]` strings, lineno) of `@obj.attr("path")`
SC_RETURNS_PARAM: Final = 18  # functions that return one of their parameters as it came in: its position, else -1
SC_IS_ABSTRACT: Final = 19  # a method that declares without implementing (see _declares_only)
SC_ANNOTATED: Final = 20  # the parameters whose annotation names a class: what they are passed is filtered by it
SC_IS_PROPERTY: Final = 21  # a @property (or cached_property) getter: reading the attribute calls it

# Shared nodes and operands (one object each, also after marshal): a third of all constants and most scopes' sets
_EMPTY_SEQ: Final[Node] = (E_SEQ, ())
_NO_VALUE: Final[Node] = (E_CONST, "")
_CONSTANTS: Final[dict[type, Node]] = {t: (E_CONST, kind) for t, kind in BUILTIN_TYPE_OF.items()}
_NO_NAMES: Final[frozenset[str]] = frozenset()
_NO_INDICES: Final[frozenset[int]] = frozenset()
_NO_REBINDS: Final[dict[int, dict[str, str]]] = {}

# isinstance targets built once: `ast.A | ast.B` made a union object on every check
_FUNCTION_NODES: Final = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_FUNCTION_DEFINITIONS: Final = (ast.FunctionDef, ast.AsyncFunctionDef)
_DEFINITION_NODES: Final = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_YIELD_NODES: Final = (ast.Yield, ast.YieldFrom)
_BINDING_CONTEXTS: Final = (ast.Store, ast.Del)
_IMPORT_NODES: Final = (ast.Import, ast.ImportFrom)
_FOR_NODES: Final = (ast.For, ast.AsyncFor)
_CONDITIONAL_BLOCKS: Final = (ast.While, ast.If)
_WITH_NODES: Final = (ast.With, ast.AsyncWith)
_EXPRESSION_STATEMENTS: Final = (ast.Delete, ast.Assert)
_UNPACKABLE_NODES: Final = (ast.Tuple, ast.List)
_DISPLAY_NODES: Final = (ast.List, ast.Tuple, ast.Set)
_COMPREHENSION_NODES: Final = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_COMPREHENSION_KINDS: Final[dict[type, str]] = {
    ast.ListComp: "list",
    ast.SetComp: "set",
    ast.DictComp: "dict",
    ast.GeneratorExp: "genexpr",
}
_PASS_THROUGH_NODES: Final = (ast.Await, ast.Starred)
_COMPREHENSION_OR_KEYWORD: Final = (ast.comprehension, ast.keyword)
_AST_ANNASSIGN: Final = ast.AnnAssign
_AST_AUGASSIGN: Final = ast.AugAssign
_UNION_ANNOTATIONS: Final = frozenset({"Optional", "Union"})
_WRAPPING_ANNOTATIONS: Final = frozenset({"Annotated", "ClassVar", "Final", "Required", "NotRequired", "Type", "type"})
_MAX_ANNOTATION_DEPTH: Final = 8
# Node classes as module constants: mypyc reads `ast.Name` from the module's dict on every use
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
_AST_PASS: Final = ast.Pass
_ABSTRACT_DECORATORS: Final = frozenset({"abstractmethod", "abstractproperty"})
_PROPERTY_DECORATORS: Final = frozenset({"property", "cached_property", "abstractproperty"})
_AST_RETURN: Final = ast.Return
_AST_SLICE: Final = ast.Slice
_AST_STARRED: Final = ast.Starred
_AST_SUBSCRIPT: Final = ast.Subscript
_AST_TRY: Final = ast.Try
_AST_USUB: Final = ast.USub
_AST_BINOP: Final = ast.BinOp
_AST_COMPARE: Final = ast.Compare
_AST_FORMATTEDVALUE: Final = ast.FormattedValue
_OPERATOR_NODES: Final = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.FormattedValue)
# operator -> the left operand's method, and the right one's when the left has none (or returns NotImplemented)
_BINARY_METHODS: Final[dict[type, tuple[str, str]]] = {
    ast.Add: ("__add__", "__radd__"),
    ast.Sub: ("__sub__", "__rsub__"),
    ast.Mult: ("__mul__", "__rmul__"),
    ast.MatMult: ("__matmul__", "__rmatmul__"),
    ast.Div: ("__truediv__", "__rtruediv__"),
    ast.FloorDiv: ("__floordiv__", "__rfloordiv__"),
    ast.Mod: ("__mod__", "__rmod__"),
    ast.Pow: ("__pow__", "__rpow__"),
    ast.LShift: ("__lshift__", "__rlshift__"),
    ast.RShift: ("__rshift__", "__rrshift__"),
    ast.BitOr: ("__or__", "__ror__"),
    ast.BitXor: ("__xor__", "__rxor__"),
    ast.BitAnd: ("__and__", "__rand__"),
}
_COMPARE_METHODS: Final[dict[type, tuple[str, str]]] = {
    ast.Eq: ("__eq__", "__eq__"),
    ast.NotEq: ("__ne__", "__ne__"),
    ast.Lt: ("__lt__", "__gt__"),
    ast.LtE: ("__le__", "__ge__"),
    ast.Gt: ("__gt__", "__lt__"),
    ast.GtE: ("__ge__", "__le__"),
}
_UNARY_METHODS: Final[dict[type, str]] = {ast.USub: "__neg__", ast.UAdd: "__pos__", ast.Invert: "__invert__"}
# f"{x}", f"{x!s}", f"{x!r}", f"{x!a}": object.__format__ calls str(), and object.__str__ calls __repr__
_FORMAT_METHODS: Final[dict[int, tuple[str, ...]]] = {
    -1: ("__format__", "__str__", "__repr__"),
    115: ("__str__", "__repr__"),
    114: ("__repr__",),
    97: ("__repr__",),
}
_AST_UNARYOP: Final = ast.UnaryOp
_AST_YIELDFROM: Final = ast.YieldFrom
_AST_EXPRESSION: Final = ast.expr
_iter_child_nodes: Final = ast.iter_child_nodes

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


class _Scope:
    """A scope being collected (its record is made once the whole module is collected)."""

    def __init__(self, fqn: str, kind: str, parent: _Scope | None, index: int, node: ast.AST) -> None:
        self.fqn = fqn
        self.kind = kind
        self.parent = parent
        self.index = index
        self.node = node
        self.body: object = ()
        self.locals: set[str] = set()
        self.global_names: set[str] = set()
        self.nonlocal_names: set[str] = set()
        self.nested_nonlocals: set[str] = set()
        self.params: list[str] = []
        self.class_fqn: str | None = None
        self.method_kind = "function"
        self.is_generator = False
        self.lambda_count = 0
        self.lineno: int = getattr(node, "lineno", 1)
        self.end_lineno: int = getattr(node, "end_lineno", self.lineno) or self.lineno
        self.rebind_at: dict[int, dict[str, str]] = {}
        self.slot_stores: frozenset[int] = frozenset()
        self.calls_at: frozenset[int] = frozenset()
        self.bases = 0
        self.route_decorators: tuple[Node, ...] = ()
        self.returns_param = -1
        self.is_abstract = False
        self.annotated: frozenset[str] = frozenset()
        self.is_property = False

    def record(self) -> Node:
        return (
            self.fqn,
            self.kind,
            self.parent.index if self.parent is not None else -1,
            self.body,
            self.lineno,
            self.end_lineno,
            tuple(self.params),
            frozenset(self.locals) if self.locals else _NO_NAMES,
            frozenset(self.global_names) if self.global_names else _NO_NAMES,
            frozenset(self.nonlocal_names) if self.nonlocal_names else _NO_NAMES,
            self.class_fqn,
            self.method_kind,
            self.is_generator,
            self.rebind_at or _NO_REBINDS,
            self.slot_stores or _NO_INDICES,
            self.calls_at or _NO_INDICES,
            self.bases,
            self.route_decorators,
            self.returns_param,
            self.is_abstract,
            self.annotated or _NO_NAMES,
            self.is_property,
        )


class _Lowering:
    """Collects one module's scopes and lowers their bodies (the state of one :func:`lower_module` call)."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.is_package = is_package
        self.scopes: list[_Scope] = []
        self.facts: list[tuple[str, str]] = []
        self.imported: list[str] = []  # the dotted names module-level code imports, in walk order
        self.lambda_fqn: dict[int, str] = {}  # id of a lambda node -> its scope's fqn (the nodes live meanwhile)
        self.current_fqn = ""  # the scope whose body is being lowered (definitions name their children from it)
        self.names: dict[tuple[str, int], Node] = {}  # one node per name and line (`self` is read many times a line)

    # -- scopes and their bound names (collection) -------------------------------------------------------------

    def collect(self, node: ast.AST, fqn: str, parent: _Scope | None, kind: str) -> _Scope:
        scope = _Scope(fqn, kind, parent, len(self.scopes), node)
        self.scopes.append(scope)
        if isinstance(node, _FUNCTION_NODES):
            args = node.args
            scope.params = [a.arg for a in [*args.posonlyargs, *args.args]]
            scope.annotated = frozenset(
                a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs] if a.annotation is not None
            )
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
            every += [a for a in (args.vararg, args.kwarg) if a is not None]
            scope.locals.update(a.arg for a in every)
        body: list[ast.AST] = [node.body] if isinstance(node, _AST_LAMBDA) else getattr(node, "body", [])
        stores: defaultdict[str, int] = defaultdict(int)  # Name stores and deletes, per name
        other_binders: set[str] = set()  # names also bound by def, class, import or except
        functions: list[tuple[_Scope, ast.FunctionDef | ast.AsyncFunctionDef]] = []
        returned: list[ast.expr | None] = [node.body] if isinstance(node, _AST_LAMBDA) else []
        for child in _walk_scope(body):
            child_type = type(child)
            if child_type is _AST_NAME:  # most nodes: test the common case first
                if type(child.ctx) is not _AST_LOAD:  # type: ignore[attr-defined]
                    scope.locals.add(child.id)  # type: ignore[attr-defined]
                    stores[child.id] += 1  # type: ignore[attr-defined]
                continue
            if child_type is _AST_RETURN:
                returned.append(child.value)  # type: ignore[attr-defined]
                continue
            if child_type not in _BINDING_OR_SCOPE:
                continue
            _note_binding(scope, child)
            other_binders.update(_bound_by(child))
            if kind == "module" and isinstance(child, _IMPORT_NODES):
                self.imported.extend(self.imported_names(child))
            if isinstance(child, _DEFINITION_NODES):
                child_fqn = f"{fqn}.{child.name}"
                if isinstance(child, _AST_CLASSDEF):
                    inner = self.collect(child, child_fqn, scope, "class")
                    inner.bases = len(child.bases)
                else:
                    inner = self.collect(child, child_fqn, scope, "function")
                    scope.nested_nonlocals |= inner.nonlocal_names | inner.nested_nonlocals
                    if kind == "class":
                        inner.class_fqn = fqn
                        inner.method_kind = _method_kind(child)
                        inner.is_abstract = _declares_only(child, node)
                        inner.is_property = any(
                            (d.id if isinstance(d, _AST_NAME) else getattr(d, "attr", "")) in _PROPERTY_DECORATORS
                            for d in child.decorator_list
                        )
                        if inner.params and inner.method_kind == "method":  # self: an instance of the class
                            self.facts.append((f"{child_fqn}.{inner.params[0]}", fqn + INSTANCE))
                        elif inner.params and inner.method_kind == "classmethod":  # cls: the class
                            self.facts.append((f"{child_fqn}.{inner.params[0]}", fqn))
                    functions.append((inner, child))
                if not _custom_decorators(child):
                    self.facts.append((child_fqn, child_fqn))  # a decorated name gets its value in the fixpoint
            elif isinstance(child, _AST_LAMBDA):
                owner = _function_owner(scope)
                owner.lambda_count += 1
                lam = f"{owner.fqn}.<lambda{owner.lambda_count}>"
                self.lambda_fqn[id(child)] = lam
                self.collect(child, lam, scope, "lambda")
                self.facts.append((lam, lam))
            elif isinstance(child, _YIELD_NODES):
                scope.is_generator = True
        if returned and not scope.is_generator:
            scope.returns_param = _returned_param(returned, scope.params, stores, other_binders)
        # lowered after the walk: lambdas met in it (in decorators and defaults too) have their names now
        self.current_fqn = fqn
        for inner, definition in functions:
            inner.route_decorators = self.route_decorators(definition)
        if isinstance(node, _AST_LAMBDA):
            scope.body = self.expr(node.body)
            return scope
        statements: list[ast.stmt] = getattr(node, "body", [])
        if kind == "class":
            scope.body = self.block(statements)
            return scope
        # module and function bodies: straight-line rebinding and item stores, by index among the lowered statements
        kept: list[ast.stmt] = []
        lowered: list[Node] = []
        for stmt in statements:
            item_store = _is_item_store(stmt)
            low = self.stmt(stmt, item_store)
            if low is not None:
                kept.append(stmt)
                lowered.append(low)
        scope.body = tuple(lowered)
        if stores:
            fixed = other_binders | set(scope.params) | scope.global_names | scope.nonlocal_names
            scope.rebind_at = _straight_line_rebinds(kept, stores, fixed | scope.nested_nonlocals, fqn)
        scope.slot_stores = frozenset(i for i, stmt in enumerate(kept) if _is_item_store(stmt))
        if scope.slot_stores:
            scope.calls_at = frozenset(i for i, stmt in enumerate(kept) if _has_call(stmt))
        return scope

    def imported_names(self, node: ast.Import | ast.ImportFrom) -> list[str]:
        """The dotted names an import statement may load (modules or names in them)."""
        if isinstance(node, _AST_IMPORT):
            return [alias.name for alias in node.names]
        base = self.resolve_relative(node.module, node.level)
        return [base, *(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")]

    def resolve_relative(self, name: str | None, level: int) -> str:
        if level == 0:
            return name or ""
        package = self.module if self.is_package else self.module.rpartition(".")[0]
        for _ in range(level - 1):
            package = package.rpartition(".")[0]
        return f"{package}.{name}" if name and package else (name or package)

    def route_decorators(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[Node, ...]:
        """``@obj.attr("path", methods=[...])`` decorators, for routes (routes.py decides which are routes)."""
        out: list[Node] = []
        for decorator in node.decorator_list:
            if not (isinstance(decorator, _AST_CALL) and isinstance(decorator.func, _AST_ATTRIBUTE)):
                continue
            if not decorator.args or not _is_str(decorator.args[0]):
                continue
            listed = next((k.value for k in decorator.keywords if k.arg == "methods"), None)
            methods = tuple(e.value for e in getattr(listed, "elts", []) if _is_str(e))  # type: ignore[attr-defined]
            path: str = decorator.args[0].value  # type: ignore[attr-defined]
            out.append((decorator.func.attr, self.expr(decorator.func.value), path, methods, decorator.lineno))
        return tuple(out)

    def url_calls(self, tree: ast.Module) -> tuple[Node, ...]:
        """Calls ``f("path", view, ...)`` anywhere in the module, in ``ast.walk`` order (Django's urls.py)."""
        out: list[Node] = []
        for node in ast.walk(tree):
            if not (isinstance(node, _AST_CALL) and len(node.args) >= 2 and _is_str(node.args[0])):
                continue
            name = node.func.id if isinstance(node.func, _AST_NAME) else getattr(node.func, "attr", None)
            if not isinstance(name, str):
                continue
            view = node.args[1]
            if isinstance(view, _AST_CALL) and isinstance(view.func, _AST_ATTRIBUTE) and view.func.attr == "as_view":
                view = view.func.value  # Class.as_view(): the class handles it
            out.append((name, node.args[0].value, self.expr(view), node.lineno))  # type: ignore[attr-defined]
        return tuple(out)

    # -- statements --------------------------------------------------------------------------------------------

    def block(self, statements: Iterable[ast.stmt]) -> tuple[Node, ...]:
        out: list[Node] = []
        for stmt in statements:
            low = self.stmt(stmt, False)
            if low is not None:
                out.append(low)
        return tuple(out)

    def stmt(self, stmt: ast.stmt, item_store: bool) -> Node | None:
        """One statement lowered, or None for one the fixpoint does nothing with (pass, docstrings, global)."""
        if isinstance(stmt, _AST_ASSIGN):
            targets = tuple(self.target(t, item_store) for t in stmt.targets)
            return (S_ASSIGN, targets, self.expr(stmt.value))
        if isinstance(stmt, _AST_ANNASSIGN):  # `x: T = v` binds v and a T; `x: T` (a field) a T
            annotated = self.annotation(stmt.annotation)
            value = None if stmt.value is None else self.expr(stmt.value)
            if annotated is not None and value is not None:
                value = (E_BOOLOP, (value, annotated))
            value = annotated if value is None else value
            return None if value is None else (S_ASSIGN, (self.target(stmt.target, False),), value)
        if isinstance(stmt, _AST_AUGASSIGN):  # `x += v`: x.__iadd__(v), else x.__add__(v), else v.__radd__(x)
            forward, reflected = _BINARY_METHODS.get(type(stmt.op), ("", ""))
            methods = ("__i" + forward[2:], forward) if forward else ()
            operator = (
                E_OPERATOR,
                self.expr(stmt.target),
                self.expr(stmt.value),
                methods,
                reflected,
                _position(stmt),
                True,
            )
            return (S_ASSIGN, (self.target(stmt.target, False),), operator)
        if isinstance(stmt, _AST_RETURN):
            return (S_RETURN, self.expr(stmt.value)) if stmt.value is not None else None
        if isinstance(stmt, _AST_EXPR):
            if isinstance(stmt.value, _AST_CONSTANT):
                return None  # a docstring or `...`: evaluating a constant records nothing
            return self.expr(stmt.value)  # an expression statement is its expression (opcodes below S_ASSIGN)
        if isinstance(stmt, _FOR_NODES):
            return (
                S_FOR,
                self.expr(stmt.iter),
                _position(stmt.iter),
                self.target(stmt.target, False),
                self.block(stmt.body + stmt.orelse),
            )
        if isinstance(stmt, _CONDITIONAL_BLOCKS):
            return (S_IF, self.expr(stmt.test), self.block(stmt.body), self.block(stmt.orelse))
        if isinstance(stmt, _WITH_NODES):
            items = tuple(
                (
                    self.expr(item.context_expr),
                    None if item.optional_vars is None else self.target(item.optional_vars, False),
                    _protocol_position(item.context_expr),
                )
                for item in stmt.items
            )
            return (S_WITH, items, self.block(stmt.body), isinstance(stmt, ast.AsyncWith))
        if isinstance(stmt, _AST_TRY):
            handlers = tuple((None if h.type is None else self.expr(h.type), self.block(h.body)) for h in stmt.handlers)
            return (S_TRY, self.block(stmt.body + stmt.orelse + stmt.finalbody), handlers)
        if isinstance(stmt, _AST_RAISE):
            if stmt.exc is None:
                return None
            return (S_RAISE, self.expr(stmt.exc), None if isinstance(stmt.exc, _AST_CALL) else _position(stmt.exc))
        if isinstance(stmt, _AST_IMPORT):
            binds = tuple(
                (alias.asname, alias.name) if alias.asname else (alias.name.split(".")[0], alias.name.split(".")[0])
                for alias in stmt.names
            )
            return (S_IMPORT, frozenset(alias.name for alias in stmt.names) - {""}, stmt.lineno, binds)
        if isinstance(stmt, _AST_IMPORTFROM):
            base = self.resolve_relative(stmt.module, stmt.level)
            aliases = tuple(
                (alias.name, alias.asname or alias.name, f"{base}.{alias.name}" if base else alias.name)
                for alias in stmt.names
            )
            return (S_FROM, base, aliases, stmt.lineno)
        if isinstance(stmt, _DEFINITION_NODES):
            return self.definition(stmt)
        if isinstance(stmt, _AST_MATCH):
            return (S_IF, self.expr(stmt.subject), self.block([s for case in stmt.cases for s in case.body]), ())
        if isinstance(stmt, _EXPRESSION_STATEMENTS):
            children = [self.deleted(c) for c in _iter_child_nodes(stmt) if isinstance(c, _AST_EXPRESSION)]
            return (E_SEQ, tuple(c for c in children if c[OP] != E_CONST))
        return None

    def definition(self, stmt: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> Node:
        fqn = f"{self.current_fqn}.{stmt.name}"
        is_class = isinstance(stmt, _AST_CLASSDEF)
        bases: tuple[Node, ...] = ()
        defaults: tuple[Node, ...] = ()
        if isinstance(stmt, _AST_CLASSDEF):
            bases = tuple((f"{fqn}.<BASE{i}>", self.expr(base)) for i, base in enumerate(stmt.bases))
        else:
            defaults = self.defaults(fqn, stmt.args, stmt.returns)
        decorators = tuple((self.expr(d), _position(d)) for d in reversed(_custom_decorators(stmt)))
        return (S_DEF, stmt.name, fqn, is_class, bases, defaults, decorators)

    def defaults(self, fqn: str, args: ast.arguments, returns: ast.expr | None = None) -> tuple[Node, ...]:
        """(parameter key, expression) for what a def statement binds to its function's parameters and return
        value: default values, and instances of the classes annotations name."""
        positional = [*args.posonlyargs, *args.args]
        out: list[Node] = []
        for param, default in zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True):
            out.append((f"{fqn}.{param.arg}", self.expr(default)))
        for param, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            if kw_default is not None:
                out.append((f"{fqn}.{param.arg}", self.expr(kw_default)))
        for param in (*positional, *args.kwonlyargs):
            annotated = self.annotation(param.annotation)
            if annotated is not None:
                out.append((f"{fqn}.{param.arg}", annotated))
        annotated = self.annotation(returns)
        if annotated is not None:
            out.append((f"{fqn}.<RETURN>", annotated))
        return tuple(out)

    def annotation(self, node: ast.expr | None) -> Node | None:
        """A type annotation lowered to the class expressions it names, None when it names none."""
        classes = _annotated(node, 0) if node is not None else []
        return (E_ANNOTATION, tuple(self.expr(c) for c in classes)) if classes else None

    # -- assignment targets --------------------------------------------------------------------------------------

    def target(self, target: ast.expr, direct: bool) -> Node:
        if isinstance(target, _AST_NAME):
            return (T_NAME, target.id)
        if isinstance(target, _AST_ATTRIBUTE):
            return (T_ATTR, self.expr(target.value), target.attr)
        if isinstance(target, _AST_SUBSCRIPT):
            value, key = self.expr(target.value), _constant_key(target.slice)
            return (T_SUB, value, self.effect(target.slice), key, direct, _position(target))
        if isinstance(target, _UNPACKABLE_NODES):
            return (T_UNPACK, tuple(self.target(e, False) for e in target.elts))
        if isinstance(target, _AST_STARRED):
            return (T_STAR, self.target(target.value, False))
        return (T_UNPACK, ())  # nothing is bound

    # -- expressions -------------------------------------------------------------------------------------------

    def deleted(self, node: ast.expr) -> Node:
        """An expression of an assert or del statement: ``del x[k]`` calls x.__delitem__(k)."""
        if isinstance(node, _AST_SUBSCRIPT) and isinstance(node.ctx, ast.Del):
            key = self.expr(node.slice)
            return (E_OPERATOR, self.expr(node.value), key, ("__delitem__",), "", _position(node), False)
        return self.expr(node)

    def operator(self, node: ast.expr) -> Node | None:
        """An operator expression lowered to the methods it calls, None for one no class defines (``not``, ``is``)
        or one of constants only (``-1``, ``2 * 3``)."""
        position = _position(node)
        if isinstance(node, _AST_BINOP):
            if isinstance(node.left, _AST_CONSTANT) and isinstance(node.right, _AST_CONSTANT):
                return None
            forward, reflected = _BINARY_METHODS[type(node.op)]
            return (E_OPERATOR, self.expr(node.left), self.expr(node.right), (forward,), reflected, position, False)
        if isinstance(node, _AST_UNARYOP):
            method = _UNARY_METHODS.get(type(node.op))
            if method is None or isinstance(node.operand, _AST_CONSTANT):
                return None
            return (E_OPERATOR, self.expr(node.operand), None, (method,), "", position, False)
        if isinstance(node, _AST_COMPARE):
            pairs: list[Node] = []
            left = node.left
            for op, right in zip(node.ops, node.comparators, strict=True):
                kind = type(op)
                if kind in _COMPARE_METHODS:
                    forward, reflected = _COMPARE_METHODS[kind]
                    pairs.append(
                        (E_OPERATOR, self.expr(left), self.expr(right), (forward,), reflected, position, False)
                    )
                elif kind is ast.In or kind is ast.NotIn:  # `x in c`: c.__contains__(x)
                    pairs.append(
                        (E_OPERATOR, self.expr(right), self.expr(left), ("__contains__",), "", position, False)
                    )
                else:  # `is`: no method
                    pairs.append((E_SEQ, (self.expr(left), self.expr(right))))
                left = right
            return pairs[0] if len(pairs) == 1 else (E_BOOLOP, tuple(pairs))
        if isinstance(node, _AST_FORMATTEDVALUE):  # f"{x}": format(x, spec), which calls __str__ unless x formats
            methods = _FORMAT_METHODS.get(node.conversion, _FORMAT_METHODS[-1])
            spec = None if node.format_spec is None else self.expr(node.format_spec)
            return (E_OPERATOR, self.expr(node.value), spec, methods, "", position, False)
        return None

    def effect(self, node: ast.expr) -> Node | None:
        """``node`` lowered where only what evaluating it records matters, None when that is nothing."""
        low = self.expr(node)
        return None if low[OP] == E_CONST else low

    def expr(self, node: ast.expr) -> Node:
        if isinstance(node, _AST_NAME):
            spot = (node.id, node.lineno)
            found = self.names.get(spot)
            if found is None:
                found = self.names[spot] = (E_NAME, node.id, node.lineno)
            return found
        if isinstance(node, _AST_ATTRIBUTE):
            return (E_ATTR, self.expr(node.value), node.attr, node.lineno)
        if isinstance(node, _AST_CALL):
            func = node.func
            if isinstance(func, _AST_NAME) and func.id == "getattr" and 2 <= len(node.args) <= 3 and not node.keywords:
                pattern = _attribute_pattern(node.args[1])
                if pattern is not None:
                    call = self.call(node, func, False)
                    return (E_GETATTR, call, self.expr(node.args[0]), pattern[0], pattern[1], node.lineno)
            return self.call(node, func, isinstance(func, _AST_NAME) and func.id == "super")
        if isinstance(node, _AST_CONSTANT):
            return _CONSTANTS.get(type(node.value), _NO_VALUE)
        if isinstance(node, _AST_LAMBDA):
            fqn = self.lambda_fqn.get(id(node))
            if fqn is None:  # in an annotation (never collected, never evaluated): seen by url_calls only
                return _NO_VALUE
            return (E_LAMBDA, fqn, self.defaults(fqn, node.args))
        if isinstance(node, _AST_JOINEDSTR):
            return (E_JSTR, self.children(node))
        if isinstance(node, _AST_DICT):
            cid = self.container(node, "dict")
            entries: list[Node] = []
            for key, value in zip(node.keys, node.values, strict=True):
                constant = _constant_key(key) if key is not None else None
                if constant is not None:
                    entries.append((self.expr(value), K_CONSTANT, f"{cid}[{constant}]"))
                elif key is None:
                    entries.append((self.expr(value), K_SPREAD, None))
                else:
                    entries.append((self.expr(value), K_EXPR, self.expr(key)))
            return (E_DICT, cid, f"{cid}.{ITEMS}", tuple(entries))
        if isinstance(node, _DISPLAY_NODES):
            cid = self.container(node, type(node).__name__.lower())
            elements = tuple(
                (self.expr(e.value), None) if isinstance(e, _AST_STARRED) else (self.expr(e), f"{cid}[{index}]")
                for index, e in enumerate(node.elts)
            )
            return (E_DISPLAY, cid, f"{cid}.{ITEMS}", elements, isinstance(node, _UNPACKABLE_NODES))
        if isinstance(node, _COMPREHENSION_NODES):
            generators = tuple(
                (self.expr(g.iter), _position(g.iter), self.target(g.target, False), tuple(self.expr(c) for c in g.ifs))
                for g in node.generators
            )
            cid = self.container(
                node, _COMPREHENSION_KINDS[type(node)]
            )  # the type it makes: its methods are that type's
            if isinstance(node, _AST_DICTCOMP):
                return (E_COMP, cid, f"{cid}.{ITEMS}", generators, self.expr(node.key), self.expr(node.value))
            return (E_COMP, cid, f"{cid}.{ITEMS}", generators, None, self.expr(node.elt))
        if isinstance(node, _AST_SUBSCRIPT) and isinstance(node.slice, _AST_SLICE):
            part = node.slice
            evaluated = [self.effect(b) for b in (part.lower, part.upper, part.step) if b is not None]
            bounds = tuple(b for b in evaluated if b is not None)
            lower = _int_constant(part.lower, 0)
            upper = _int_constant(part.upper, None) if part.upper is not None else None
            exact = part.step is None and lower is not None and lower >= 0 and (part.upper is None or upper is not None)
            cid = self.container(node, "list")
            items = f"{cid}.{ITEMS}"
            return (E_SLICE, self.expr(node.value), bounds, exact, lower, upper, cid, items, _position(node))
        if isinstance(node, _AST_SUBSCRIPT):
            return (E_SUB, self.expr(node.value), self.effect(node.slice), _constant_key(node.slice), _position(node))
        if isinstance(node, _AST_IFEXP):
            return (E_IFEXP, self.expr(node.test), self.expr(node.body), self.expr(node.orelse))
        if isinstance(node, _AST_BOOLOP):
            return (E_BOOLOP, tuple(self.expr(v) for v in node.values))
        if isinstance(node, _AST_NAMEDEXPR):
            return (E_WALRUS, self.target(node.target, False), self.expr(node.value))
        if isinstance(node, _PASS_THROUGH_NODES):
            return (E_PASS, self.expr(node.value))
        if isinstance(node, _OPERATOR_NODES):
            operator = self.operator(node)
            if operator is not None:
                return operator
        if isinstance(node, _YIELD_NODES):
            if node.value is None:
                return _NO_VALUE  # records nothing; the scope is a generator all the same (collection)
            return (E_YIELD, self.expr(node.value), isinstance(node, _AST_YIELDFROM))
        children = self.children(node)
        return (E_SEQ, children) if children else _EMPTY_SEQ

    def call(self, node: ast.Call, func: ast.expr, super_form: bool) -> Node:
        args = tuple(self.expr(a.value if isinstance(a, _AST_STARRED) else a) for a in node.args)
        named = [k for k in node.keywords if k.arg is not None]
        return (
            E_CALL,
            self.expr(func),
            args,
            tuple(k.arg for k in named),
            tuple(self.expr(k.value) for k in named),
            tuple(self.expr(k.value) for k in node.keywords if k.arg is None),
            _position(node),
            super_form,
        )

    def children(self, node: ast.AST) -> tuple[Node, ...]:
        """The expressions directly inside ``node`` (in a comprehension or keyword: one level further), in order,
        leaving out constants: what evaluating a node of no particular meaning to the analysis evaluates."""
        out: list[Node] = []
        for child in _iter_child_nodes(node):
            if isinstance(child, _AST_EXPRESSION):
                low = self.expr(child)
                if low[OP] != E_CONST:
                    out.append(low)
            elif isinstance(child, _COMPREHENSION_OR_KEYWORD):
                for grandchild in _iter_child_nodes(child):
                    if isinstance(grandchild, _AST_EXPRESSION):
                        low = self.expr(grandchild)
                        if low[OP] != E_CONST:
                            out.append(low)
        return tuple(out)

    def container(self, node: ast.AST, kind: str) -> str:
        return f"<{kind}:{self.module}:{getattr(node, 'lineno', 0)}:{getattr(node, 'col_offset', 0)}>"


def lower_module(name: str, tree: ast.Module, is_package: bool) -> Lowered:
    """One parsed module, collected and lowered (see the module docstring for the layout)."""
    lowering = _Lowering(name, is_package)
    lowering.collect(tree, name, None, "module")
    module_scope = lowering.scopes[0]
    if module_scope.rebind_at:  # a function that declares a name global may rebind it at any time
        latest = {scope.fqn: scope for scope in lowering.scopes}  # a name defined twice: its last definition
        declared = {n for scope in latest.values() for n in scope.global_names}
        if declared:
            module_scope.rebind_at = _without(module_scope.rebind_at, declared)
    url_calls = lowering.url_calls(tree) if name.rsplit(".", 1)[-1] == "urls" else ()
    return (
        name,
        is_package,
        tuple(scope.record() for scope in lowering.scopes),
        tuple(lowering.imported),
        tuple(lowering.facts),
        url_calls,
    )


def lower_source(name: str, source: str, is_package: bool) -> Lowered | None:
    """A module's source parsed and lowered; None when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None
    try:
        return lower_module(name, tree, is_package)
    except RecursionError:  # nesting too deep to walk
        return None


# -- helpers --------------------------------------------------------------------------------------------------------


def _position(node: ast.AST) -> int:
    """Where a call site is: line, column, end column (`super().m()` and its inner `super()` start together), in
    one int (:func:`position`; columns past 2**20 - 1 are cut there)."""
    return (
        getattr(node, "lineno", 0) << POSITION_LINE_SHIFT
        | min(getattr(node, "col_offset", 0), POSITION_COLUMN_MASK) << POSITION_COLUMN_BITS
        | min(getattr(node, "end_col_offset", 0) or 0, POSITION_COLUMN_MASK)
    )


def _protocol_position(node: ast.AST) -> int:
    """The call site of the methods a statement calls on a value (``with``: __enter__ and __exit__): the value's
    line and column, and an end column no expression has, so that a call the value is (``with Lock():``) stays a
    site of its own."""
    return _position(node) | POSITION_COLUMN_MASK


def position(packed: int) -> tuple[int, int, int]:
    """The line, column and end column packed by :func:`_position`."""
    return (
        packed >> POSITION_LINE_SHIFT,
        packed >> POSITION_COLUMN_BITS & POSITION_COLUMN_MASK,
        packed & POSITION_COLUMN_MASK,
    )


def _note_binding(scope: _Scope, node: ast.AST) -> None:
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


def _bound_by(node: ast.AST) -> list[str]:
    """Names a def, class, import or except clause binds."""
    if isinstance(node, _DEFINITION_NODES):
        return [node.name]
    if isinstance(node, _IMPORT_NODES):
        return [alias.asname or alias.name.split(".")[0] for alias in node.names]
    if isinstance(node, _AST_EXCEPTHANDLER) and node.name:
        return [node.name]
    return []


def _function_owner(scope: _Scope) -> _Scope:
    """The innermost function, lambda or module: the scope a call in ``scope`` is attributed to."""
    current = scope
    while current.kind == "class" and current.parent is not None:
        current = current.parent
    return current


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


def _method_kind(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    names = {d.id for d in node.decorator_list if isinstance(d, _AST_NAME)}
    if "staticmethod" in names:
        return "staticmethod"
    if "classmethod" in names:
        return "classmethod"
    return "method"


def _custom_decorators(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> list[ast.expr]:
    """Decorators other than the builtins that leave the name bound to the definition itself."""
    out = []
    for decorator in node.decorator_list:
        name = decorator.id if isinstance(decorator, _AST_NAME) else getattr(decorator, "attr", None)
        if name not in TRANSPARENT_DECORATORS:
            out.append(decorator)
    return out


def _declares_only(node: ast.FunctionDef | ast.AsyncFunctionDef, cls: ast.AST) -> bool:
    """A method that declares without implementing: ``@abstractmethod``, a body that only raises
    NotImplementedError, or a stub (``...``) in a ``typing.Protocol`` class. Such a method runs only where nothing
    overrides it."""
    decorators = {d.id if isinstance(d, _AST_NAME) else getattr(d, "attr", "") for d in node.decorator_list}
    if decorators & _ABSTRACT_DECORATORS:
        return True
    body = node.body[1:] if node.body and _is_docstring(node.body[0]) else node.body
    if len(body) != 1:
        return not body and _is_protocol(cls)
    only = body[0]
    if isinstance(only, _AST_RAISE) and only.exc is not None:
        raised = only.exc.func if isinstance(only.exc, _AST_CALL) else only.exc
        return isinstance(raised, _AST_NAME) and raised.id == "NotImplementedError"
    stub = isinstance(only, _AST_PASS) or (isinstance(only, _AST_EXPR) and isinstance(only.value, _AST_CONSTANT))
    return stub and _is_protocol(cls)


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, _AST_EXPR) and isinstance(stmt.value, _AST_CONSTANT) and isinstance(stmt.value.value, str)


def _is_protocol(cls: ast.AST) -> bool:
    """A class that lists ``Protocol`` (or ``typing.Protocol``, ``Protocol[T]``) among its bases."""
    for base in getattr(cls, "bases", ()):
        named = base.value if isinstance(base, _AST_SUBSCRIPT) else base
        if (named.id if isinstance(named, _AST_NAME) else getattr(named, "attr", "")) == "Protocol":
            return True
    return False


def _returned_param(
    returned: list[ast.expr | None], params: list[str], stores: Mapping[str, int], other_binders: AbstractSet[str]
) -> int:
    """The position of the parameter every return statement returns as it came in (``def register(f): ...;
    return f``: an identity-like decorator), else -1. A call of such a function gives what that call passed, not
    every value any call passed: otherwise every function a registering decorator decorates became a target of each
    call of any of them."""
    first = returned[0]
    if not isinstance(first, _AST_NAME):
        return -1
    name = first.id
    if name not in params or stores.get(name, 0) or name in other_binders:
        return -1
    if any(not isinstance(value, _AST_NAME) or value.id != name for value in returned):
        return -1
    return params.index(name)


def _attribute_pattern(node: ast.expr) -> tuple[str, bool] | None:
    """The attribute name getattr is given, exact (``"run"``) or as the constant start of one built at run time
    (``f"visit_{kind}"``, ``"parse_" + name``): (name or prefix, exact). None when nothing of it is constant."""
    if isinstance(node, _AST_CONSTANT) and isinstance(node.value, str):
        return node.value, True
    first: ast.expr | None = None
    if isinstance(node, _AST_JOINEDSTR) and node.values:
        first = node.values[0]
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        first = node.left
    if isinstance(first, _AST_CONSTANT) and isinstance(first.value, str) and first.value:
        return first.value, False
    return None


def _annotated(node: ast.expr, depth: int) -> list[ast.expr]:
    """The class expressions an annotation says a value is an instance of: ``A``, ``m.A``, ``"A"``, ``A | None``,
    ``Optional[A]``, ``Union[A, B]``, ``Annotated[A, ...]``, ``ClassVar[A]``, ``Final[A]``, ``type[A]``. Other
    generics (``list[A]``, ``Callable[...]``) say nothing about the value's own methods: nothing."""
    if depth > _MAX_ANNOTATION_DEPTH:
        return []
    if isinstance(node, _AST_NAME | _AST_ATTRIBUTE):
        return [node]
    if isinstance(node, _AST_CONSTANT) and isinstance(node.value, str):
        try:
            parsed = ast.parse(node.value.strip(), mode="eval").body
        except (SyntaxError, ValueError):
            return []
        for inner in ast.walk(parsed):  # the names are where the string is, for references
            inner.lineno = getattr(node, "lineno", 1)  # type: ignore[attr-defined]
        return _annotated(parsed, depth + 1)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _annotated(node.left, depth + 1) + _annotated(node.right, depth + 1)
    if isinstance(node, _AST_SUBSCRIPT):
        base = node.value.id if isinstance(node.value, _AST_NAME) else getattr(node.value, "attr", "")
        arguments = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if base in _UNION_ANNOTATIONS:
            return [c for argument in arguments for c in _annotated(argument, depth + 1)]
        if base in _WRAPPING_ANNOTATIONS and arguments:
            return _annotated(arguments[0], depth + 1)
    return []


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


def _is_str(node: ast.expr) -> bool:
    return isinstance(node, _AST_CONSTANT) and isinstance(node.value, str)
