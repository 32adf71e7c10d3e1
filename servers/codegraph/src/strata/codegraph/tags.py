"""Definitions, calls, imports and bases of JavaScript, TypeScript/TSX, Go, Rust and Java.

Definitions and calls come from each grammar package's own ``tags.scm`` (``TAGS_QUERY``; TypeScript's
extends JavaScript's, as in the tree-sitter CLI), plus a few patterns it leaves out (Rust trait method
signatures and path calls). A definition's qualified name comes from the definitions that contain it
(``Class.method``). Imports and base types come from the syntax tree (:mod:`strata.codegraph.links`),
which also resolves names to definitions.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from strata.codegraph.records import TagCall, TagDefinition, TagFile

__all__ = ["LANGUAGE_OF_SUFFIX", "Extracted", "extract", "language_for", "node_text", "walk_named"]

# suffix -> (language name, grammar module, language function, tags query modules in order)
GRAMMARS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    ".js": ("javascript", "tree_sitter_javascript", "language", ("tree_sitter_javascript",)),
    ".mjs": ("javascript", "tree_sitter_javascript", "language", ("tree_sitter_javascript",)),
    ".cjs": ("javascript", "tree_sitter_javascript", "language", ("tree_sitter_javascript",)),
    ".jsx": ("javascript", "tree_sitter_javascript", "language", ("tree_sitter_javascript",)),
    ".ts": (
        "typescript",
        "tree_sitter_typescript",
        "language_typescript",
        ("tree_sitter_javascript", "tree_sitter_typescript"),
    ),
    ".tsx": ("tsx", "tree_sitter_typescript", "language_tsx", ("tree_sitter_javascript", "tree_sitter_typescript")),
    ".go": ("go", "tree_sitter_go", "language", ("tree_sitter_go",)),
    ".rs": ("rust", "tree_sitter_rust", "language", ("tree_sitter_rust",)),
    ".java": ("java", "tree_sitter_java", "language", ("tree_sitter_java",)),
}
LANGUAGE_OF_SUFFIX = {suffix: spec[0] for suffix, spec in GRAMMARS.items()}
# What a grammar's tags query misses and an agent asks for: data/<grammar module>.scm, beside the grammars' tags.scm.
DATA = Path(__file__).with_name("data")
# Node types whose text is a plain name, when they are the object of a call (`ns.f()`, `self.g()`).
SIMPLE_RECEIVERS = frozenset(
    {"identifier", "this", "self", "super", "crate", "package_identifier", "type_identifier", "field_identifier"}
)
# Tag kinds -> our symbol kinds.
KINDS = {
    "class": "class",
    "interface": "interface",
    "struct": "class",
    "trait": "interface",
    "enum": "class",
    "type": "class",
    "module": "module",
    "function": "function",
    "method": "method",
    "macro": "function",
    "constant": "constant",
    "field": "field",
}
CONTAINERS = frozenset({"class", "interface", "module"})


@dataclass(frozen=True)
class Extracted:
    """One file's tags; its imports, base types and package come from :func:`strata.codegraph.links.structure` over
    ``root`` (the index joins them), so that name resolution and extraction do not import each other."""

    file: TagFile  # imports, bases and package empty
    root: Any  # the syntax tree's root node
    owners: dict[tuple[int, int], str]  # a definition name's byte span -> the definition's id


@cache
def _language_and_query(suffix: str) -> tuple[Any, Any]:
    from tree_sitter import Language, Query

    _, module_name, function, query_modules = GRAMMARS[suffix]
    language = Language(getattr(importlib.import_module(module_name), function)())
    source = "\n".join(importlib.import_module(m).TAGS_QUERY + _extra_query(m) for m in query_modules)
    return language, Query(language, source)


def _extra_query(module: str) -> str:
    path = DATA / f"{module}.scm"
    return "\n" + path.read_text(encoding="utf-8") if path.is_file() else ""


def language_for(relative_path: str) -> Any:
    """The tree-sitter Language of a supported file."""
    return _language_and_query(Path(relative_path).suffix)[0]


def extract(relative_path: str, source: bytes) -> Extracted | None:
    """Definitions and calls of one file, or None when its language is not supported."""
    from tree_sitter import Parser, QueryCursor

    suffix = Path(relative_path).suffix
    if suffix not in GRAMMARS:
        return None
    language, query = _language_and_query(suffix)
    tree = Parser(language).parse(source)
    module_id = relative_path
    raw_defs: list[tuple[str, str, Any]] = []  # (kind, name, node)
    raw_calls: list[tuple[str, Any, Any]] = []  # (name, node, name node)
    raw_refs: list[tuple[str, Any]] = []  # types, classes, implementations: uses that are not calls
    name_starts: dict[int, tuple[int, int]] = {}  # a definition node's start byte -> its name's span
    for _, captures in QueryCursor(query).matches(tree.root_node):
        names = captures.get("name")
        if not names:
            continue
        name_node = names[0]
        for capture, nodes in captures.items():
            kind = capture.partition(".")[2]
            if capture.startswith("definition.") and kind in KINDS:
                raw_defs.append((KINDS[kind], node_text(name_node), nodes[0]))
                name_starts[nodes[0].start_byte] = (name_node.start_byte, name_node.end_byte)
            elif capture == "reference.call" and nodes[0].type != "macro_invocation":
                raw_calls.append((node_text(name_node), nodes[0], name_node))
            elif capture.startswith("reference."):  # types, implementations, and macros: expanded, not called
                raw_refs.append((node_text(name_node), nodes[0]))
    definitions = _qualify(module_id, raw_defs)
    typed = RustTypes(tree.root_node) if suffix == ".rs" else None
    calls = [
        TagCall(
            _innermost(definitions, n, module_id),
            name,
            n.start_point[0] + 1,
            _receiver(name_node),
            name_node.parent is not None and name_node.parent.type == "scoped_identifier",
            typed.receiver_type(name_node) if typed is not None else "",
        )
        for name, n, name_node in raw_calls
    ]
    refs = [TagCall(_innermost(definitions, n, module_id), name, n.start_point[0] + 1) for name, n in raw_refs]
    by_name_span = {name_starts[d.start_byte]: d.id for d in definitions if d.start_byte in name_starts}
    language_name = LANGUAGE_OF_SUFFIX[suffix]
    tag_file = TagFile(relative_path, language_name, module_id, definitions, calls, refs, [], [], "")
    return Extracted(tag_file, tree.root_node, by_name_span)


class RustTypes:
    """The type of a method call's receiver where the code around it says it, without a compiler: a parameter or a
    `let` with a type (`p: &mut Parser<'_>` -> `Parser`), a `let` bound to a struct literal or to a constructor by
    Rust's naming convention (`Type::new(..)`, `Type::default()`, `Type::with_*`, `Type::from*`), and `self.field`
    through the field's declared type in this file's struct. Anything else stays unknown ("")."""

    CONSTRUCTORS = ("new", "default")
    CONSTRUCTOR_PREFIXES = ("with_", "from")

    def __init__(self, root: Any) -> None:
        self.fields: dict[tuple[str, str], str] = {}  # (struct, field) -> type name
        for node in walk_named(root):
            if node.type == "struct_item":
                name = node.child_by_field_name("name")
                body = node.child_by_field_name("body")
                if name is None or body is None:
                    continue
                for field in body.named_children:
                    field_name, field_type = field.child_by_field_name("name"), field.child_by_field_name("type")
                    if field.type == "field_declaration" and field_name is not None and field_type is not None:
                        self.fields[(node_text(name), node_text(field_name))] = _type_name(field_type)

    def receiver_type(self, name_node: Any) -> str:
        access = name_node.parent
        if access is None or access.type != "field_expression":
            return ""
        value = access.child_by_field_name("value")
        if value is None:
            return ""
        if value.type == "identifier":
            return self._variable(value, node_text(value))
        if value.type == "field_expression":  # self.field.method()
            owner, field = value.child_by_field_name("value"), value.child_by_field_name("field")
            if owner is not None and owner.type == "self" and field is not None:
                return self.fields.get((_impl_type(value), node_text(field)), "")
        return ""

    def _variable(self, use: Any, name: str) -> str:
        """The type of ``name`` where it is used: the nearest `let` before the use in an enclosing block, then the
        function's parameters."""
        node = use
        while node is not None and node.type != "function_item":
            if node.type == "block":
                found = ""
                for statement in node.named_children:
                    if statement.start_byte >= use.start_byte:
                        break
                    if statement.type == "let_declaration":
                        pattern = statement.child_by_field_name("pattern")
                        if pattern is not None and _binds(pattern, name):
                            found = self._let_type(statement)
                if found:
                    return found
            node = node.parent
        if node is None:
            return ""
        parameters = node.child_by_field_name("parameters")
        for parameter in parameters.named_children if parameters is not None else []:
            pattern, kind = parameter.child_by_field_name("pattern"), parameter.child_by_field_name("type")
            if parameter.type == "parameter" and pattern is not None and kind is not None and _binds(pattern, name):
                return _type_name(kind)
        return ""

    def _let_type(self, statement: Any) -> str:
        declared = statement.child_by_field_name("type")
        if declared is not None:
            return _type_name(declared)
        value = statement.child_by_field_name("value")
        if value is None:
            return ""
        if value.type == "struct_expression":
            name = value.child_by_field_name("name")
            return _type_name(name) if name is not None else ""
        if value.type == "call_expression":
            function = value.child_by_field_name("function")
            if function is not None and function.type == "scoped_identifier":
                path, called = function.child_by_field_name("path"), function.child_by_field_name("name")
                constructor = called is not None and (
                    node_text(called) in self.CONSTRUCTORS or node_text(called).startswith(self.CONSTRUCTOR_PREFIXES)
                )
                if path is not None and constructor:
                    return _type_name(path)
        return ""


def _binds(pattern: Any, name: str) -> bool:
    """``x``, ``mut x``, ``ref x`` bind ``name``."""
    if pattern.type == "identifier":
        return node_text(pattern) == name
    if pattern.type in ("mut_pattern", "ref_pattern"):
        return any(_binds(child, name) for child in pattern.named_children)
    return False


def _type_name(node: Any) -> str:
    """``&mut Parser<'s>`` -> ``Parser``; ``ast::Span`` -> ``Span``; ``Self`` stays ``Self``."""
    text = node_text(node)
    for prefix in ("&", "mut ", "dyn ", "impl "):
        text = text.replace(prefix, " ")
    text = text.split("<", 1)[0].strip()
    text = text.split()[-1] if text.split() else ""
    if text.startswith("'"):
        return ""
    return text.rsplit("::", 1)[-1]


def _impl_type(node: Any) -> str:
    parent = node.parent
    while parent is not None:
        if parent.type == "impl_item":
            implemented = parent.child_by_field_name("type")
            return _type_name(implemented) if implemented is not None else ""
        parent = parent.parent
    return ""


def _receiver(name_node: Any) -> str:
    """What a call's name is looked up in: `ns.f()` -> "ns", `f()` -> "", `a().f()` -> "?"."""
    parent = name_node.parent
    if parent is None or parent.type in ("call_expression", "new_expression", "macro_invocation"):
        return ""
    if parent.type == "method_invocation" and parent.child_by_field_name("object") is None:
        return ""  # Java: helper()
    previous = name_node.prev_named_sibling
    if previous is None:
        return ""
    if previous.type in SIMPLE_RECEIVERS:
        return node_text(previous)
    if previous.type == "scoped_identifier":  # Rust a::b::f(): the module path's last segment
        last = previous.child_by_field_name("name")
        return node_text(last) if last is not None else "?"
    return "?"


def node_text(node: Any) -> str:
    return node.text.decode("utf-8", errors="replace") if node.text is not None else ""


def _qualify(module_id: str, raw: list[tuple[str, str, Any]]) -> list[TagDefinition]:
    """Name each definition by the container definitions around it: ``file.ts:Class.method``."""
    raw = sorted(
        {(n.start_byte, n.end_byte, kind, name): (kind, name, n) for kind, name, n in raw}.values(),
        key=lambda item: (item[2].start_byte, -item[2].end_byte),
    )
    out: list[TagDefinition] = []
    stack: list[TagDefinition] = []
    seen: set[str] = set()
    for kind, name, node in raw:
        while stack and node.start_byte >= stack[-1].end_byte:
            stack.pop()
        parents = [d.name for d in stack if d.kind in CONTAINERS]
        owner = _receiver_type(node)
        if owner and not parents:
            parents = [owner]
        qualified = ".".join([*parents, name])
        symbol_id = f"{module_id}:{qualified}"
        if symbol_id in seen:  # overloads and repeated names in one file share a symbol
            continue
        seen.add(symbol_id)
        definition = TagDefinition(
            symbol_id,
            name,
            kind if not (kind == "function" and parents) else "method",
            node.start_point[0] + 1,
            node.end_point[0] + 1,
            node.start_byte,
            node.end_byte,
        )
        out.append(definition)
        stack.append(definition)
    return out


def _receiver_type(node: Any) -> str | None:
    """The type a Go method or a Rust impl method belongs to (tags queries leave it out)."""
    if node.type == "method_declaration":  # Go: func (s *Server) Start()
        receiver = node.child_by_field_name("receiver")
        if receiver is not None:
            for child in walk_named(receiver):
                if child.type == "type_identifier":
                    return node_text(child)
    parent = node.parent
    while parent is not None:
        if parent.type == "impl_item":  # Rust: impl Cache { fn get(&self) }
            implemented = parent.child_by_field_name("type")
            if implemented is not None:
                return node_text(implemented).split("<", 1)[0]
        parent = parent.parent
    return None


def walk_named(node: Any) -> Iterator[Any]:
    """``node`` and its named descendants, depth first in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.named_children))


def _innermost(definitions: list[TagDefinition], node: Any, module_id: str) -> str:
    enclosing = [
        d
        for d in definitions
        if d.start_byte <= node.start_byte and node.end_byte <= d.end_byte and d.kind not in ("constant", "field")
    ]
    if not enclosing:
        return module_id
    return min(enclosing, key=lambda d: d.end_byte - d.start_byte).id
