"""Definitions and calls of JavaScript, TypeScript/TSX, Go, Rust and Java, from each grammar's tags query.

Each grammar package ships its own ``tags.scm`` (``TAGS_QUERY``); TypeScript's extends JavaScript's, as
in the tree-sitter CLI. A definition's qualified name comes from the definitions that contain it
(``Class.method``). Calls are resolved by name within the language: a definition in the same file
wins; otherwise every definition of that name is kept as a candidate — never one picked by guess.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["LANGUAGE_OF_SUFFIX", "TagCall", "TagDefinition", "TagFile", "extract", "language_for", "resolve_calls"]

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
class TagDefinition:
    id: str
    name: str
    kind: str
    start_line: int
    end_line: int
    start_byte: int
    end_byte: int


@dataclass(frozen=True)
class TagCall:
    caller: str  # the innermost definition containing the call, or the file's module symbol
    name: str
    line: int


@dataclass(frozen=True)
class TagFile:
    path: str
    language: str
    module_id: str
    definitions: list[TagDefinition]
    calls: list[TagCall]
    references: list[TagCall]


@cache
def _language_and_query(suffix: str) -> tuple[Any, Any]:
    from tree_sitter import Language, Query

    _, module_name, function, query_modules = GRAMMARS[suffix]
    language = Language(getattr(importlib.import_module(module_name), function)())
    source = "\n".join(importlib.import_module(m).TAGS_QUERY for m in query_modules)
    return language, Query(language, source)


def language_for(relative_path: str) -> Any:
    """The tree-sitter Language of a supported file."""
    return _language_and_query(Path(relative_path).suffix)[0]


def extract(relative_path: str, source: bytes) -> TagFile | None:
    """Definitions and calls of one file, or None when its language is not supported."""
    from tree_sitter import Parser, QueryCursor

    suffix = Path(relative_path).suffix
    if suffix not in GRAMMARS:
        return None
    language, query = _language_and_query(suffix)
    tree = Parser(language).parse(source)
    module_id = relative_path
    raw_defs: list[tuple[str, str, Any]] = []  # (kind, name, node)
    raw_calls: list[tuple[str, Any]] = []
    raw_refs: list[tuple[str, Any]] = []  # types, classes, implementations: uses that are not calls
    for _, captures in QueryCursor(query).matches(tree.root_node):
        names = captures.get("name")
        if not names:
            continue
        name_node = names[0]
        for capture, nodes in captures.items():
            kind = capture.partition(".")[2]
            if capture.startswith("definition.") and kind in KINDS:
                raw_defs.append((KINDS[kind], _text(name_node), nodes[0]))
            elif capture == "reference.call":
                raw_calls.append((_text(name_node), nodes[0]))
            elif capture.startswith("reference."):
                raw_refs.append((_text(name_node), nodes[0]))
    definitions = _qualify(module_id, raw_defs)
    calls = [TagCall(_innermost(definitions, n, module_id), name, n.start_point[0] + 1) for name, n in raw_calls]
    refs = [TagCall(_innermost(definitions, n, module_id), name, n.start_point[0] + 1) for name, n in raw_refs]
    return TagFile(relative_path, LANGUAGE_OF_SUFFIX[suffix], module_id, definitions, calls, refs)


def _text(node: Any) -> str:
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
            for child in _descendants(receiver):
                if child.type == "type_identifier":
                    return _text(child)
    parent = node.parent
    while parent is not None:
        if parent.type == "impl_item":  # Rust: impl Cache { fn get(&self) }
            implemented = parent.child_by_field_name("type")
            if implemented is not None:
                return _text(implemented).split("<", 1)[0]
        parent = parent.parent
    return None


def _descendants(node: Any) -> Iterable[Any]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _innermost(definitions: list[TagDefinition], node: Any, module_id: str) -> str:
    enclosing = [
        d
        for d in definitions
        if d.start_byte <= node.start_byte and node.end_byte <= d.end_byte and d.kind not in ("constant", "field")
    ]
    if not enclosing:
        return module_id
    return min(enclosing, key=lambda d: d.end_byte - d.start_byte).id


def resolve_calls(files: Iterable[TagFile], *, references: bool = False) -> list[tuple[TagCall, list[str]]]:
    """Every call with the ids it may reach: same-file definitions of its name, else all of them (maybe none)."""
    files = list(files)
    by_name: dict[tuple[str, str], list[TagDefinition]] = defaultdict(list)
    file_of: dict[str, str] = {}
    for f in files:
        for d in f.definitions:
            if d.kind not in ("constant", "field"):
                by_name[(_family(f.language), d.name)].append(d)
                file_of[d.id] = f.path
    resolved: list[tuple[TagCall, list[str]]] = []
    for f in files:
        for call in f.references if references else f.calls:
            candidates = by_name.get((_family(f.language), call.name), [])
            local = [d for d in candidates if file_of[d.id] == f.path]
            resolved.append((call, [d.id for d in local or candidates]))
    return resolved


def _family(language: str) -> str:
    """JavaScript and TypeScript call each other freely."""
    return "js" if language in ("javascript", "typescript", "tsx") else language
