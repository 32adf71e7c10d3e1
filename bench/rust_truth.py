"""Compiler truth for Rust call graphs: the call targets rustc resolves, read from its MIR.

``RUSTC_BOOTSTRAP=1 rustc --test -Zunpretty=mir -Zmir-include-spans=yes`` (the crate with its tests) prints every function's MIR with each call's fully
resolved callee (``Cache::get``, ``<Cache as Store>::put``, ``<S as Store>::put``, ``Vec::<u32>::push``) and the
source span it came from. A MIR call counts when the source has a call expression of that name on that line (so the
calls rustc inserts — ``Deref::deref``, ``Iterator::next`` of a ``for``, ``From::from`` of a ``?``, ``drop`` — do not).
The callee is a project definition when its path names a project type's inherent method, a trait impl's method, a
project trait's method (a call through a generic or ``dyn``) or a project free function; else a library one. Definition
spans (functions, methods, trait method signatures) come from tree-sitter-rust's syntax tree, read here directly.

usage: python bench/rust_truth.py <crate dir> [--cfg 'feature="std"' ...] > truth.json
Output: {"definitions": [[file, name, kind, start, end]], "sites": [[file, line, caller, callee, name]]}, as
bench/ts_truth.cjs writes it (callee "<lib>", or null when the path could not be placed).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import tree_sitter_rust
from tree_sitter import Language, Node, Parser

CALL = re.compile(r"= (?P<callee>.+?)\((?P<args>.*)\) -> .*// scope \d+ at (?P<file>[^:]+):(?P<line>\d+):\d+: ")
Key = list[object]


def main() -> None:
    crate = Path(sys.argv[1]).resolve()
    cfgs = [arg for cfg in sys.argv[2:] for arg in ("--cfg", cfg)]
    env = {**os.environ, "RUSTC_BOOTSTRAP": "1"}
    mir = subprocess.run(
        [
            "rustc",
            "--test",
            "--edition",
            edition(crate),
            *cfgs,
            "-Zunpretty=mir",
            "-Zmir-include-spans=yes",
            "--cap-lints",
            "allow",
            "src/lib.rs",
        ],
        cwd=crate,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    parser = Parser(Language(tree_sitter_rust.language()))
    definitions: list[list[object]] = []
    spans: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    calls_at: dict[tuple[str, int], set[str]] = defaultdict(set)  # source call expressions: (file, line) -> names
    inherent: dict[tuple[str, str], list[Key]] = defaultdict(list)
    trait_impl: dict[tuple[str, str, str], list[Key]] = defaultdict(list)
    trait_decl: dict[tuple[str, str], list[Key]] = defaultdict(list)
    free: dict[str, list[Key]] = defaultdict(list)
    types: set[str] = set()
    for path in sorted(crate.rglob("*.rs")):
        rel = path.relative_to(crate).as_posix()
        root = parser.parse(path.read_bytes()).root_node
        walk(root, rel, None, None, definitions, spans, calls_at, inherent, trait_impl, trait_decl, free, types)
    traits = {trait for trait, _ in trait_decl}
    sites: list[list[object]] = []
    for match in CALL.finditer(mir):
        file, line = match["file"], int(match["line"])
        callee = strip_generics(match["callee"].strip())
        name = callee.rsplit("::", 1)[-1]
        if name not in calls_at.get((file, line), ()):
            continue  # inserted by the compiler: no call of that name in the source there
        target = place(callee, inherent, trait_impl, trait_decl, free, types, traits)
        inside = [(end - start, start, n) for start, end, n in spans[file] if start <= line <= end]
        caller: Key = [file, min(inside)[2], min(inside)[1]] if inside else [file, "<module>", 0]
        sites.append([file, line, caller, target, name])
    json.dump({"definitions": definitions, "sites": sites}, sys.stdout)


def edition(crate: Path) -> str:
    found = re.search(r'^edition\s*=\s*"(\d+)"', (crate / "Cargo.toml").read_text(), re.MULTILINE)
    return found.group(1) if found else "2015"


def strip_generics(path: str) -> str:
    """``core::slice::<impl [u32]>::get::<usize>`` -> ``core::slice::<impl [u32]>::get``: drops ``::<...>`` turbofish."""
    out, depth, i = [], 0, 0
    while i < len(path):
        if path.startswith("::<", i) and depth == 0:
            depth, i = 1, i + 3
            while i < len(path) and depth:
                depth += {"<": 1, ">": -1}.get(path[i], 0)
                i += 1
            continue
        out.append(path[i])
        i += 1
    return "".join(out)


def base_type(text: str) -> str:
    """``&mut Vec<T>`` -> ``Vec``; ``ast::Ast`` -> ``Ast``."""
    text = re.sub(r"^(&|\*const |\*mut |mut |dyn |'\w+ )+", "", text.strip())
    text = text.split("<", 1)[0]
    return text.rsplit("::", 1)[-1].strip()


def place(callee, inherent, trait_impl, trait_decl, free, types, traits):  # type: ignore[no-untyped-def]
    qualified = re.match(r"^<(?P<self>.+) as (?P<trait>[^<>]+(?:<.*>)?)>::(?P<name>\w+)$", callee)
    if qualified:
        self_type, trait, name = base_type(qualified["self"]), base_type(qualified["trait"]), qualified["name"]
        found = trait_impl.get((self_type, trait, name))
        if found:
            return narrowed(found, qualifier_of(qualified["self"]))
        if trait in traits:
            found = trait_decl.get((trait, name))
            return narrowed(found, qualifier_of(qualified["trait"])) if found else None
        return "<lib>"
    segments = callee.split("::")
    name = segments[-1]
    if len(segments) >= 2:
        owner = base_type(segments[-2])
        if owner in types:
            found = inherent.get((owner, name)) or [
                k for (t, _, n), keys in trait_impl.items() if t == owner and n == name for k in keys
            ]
            return narrowed(found, [base_type(x) for x in segments[:-2]]) if found else None
    if segments[0] in ("std", "core", "alloc"):
        return "<lib>"
    found = free.get(name)
    if found:
        return narrowed(found, [base_type(x) for x in segments[:-1]])
    return "<lib>"


def qualifier_of(path: str) -> list[str]:
    """``ast::Error<'_>`` -> ``["ast"]``: the module segments before a type."""
    return [base_type(x) for x in path.split("<", 1)[0].split("::")[:-1]]


def walk(
    node: Node, rel, impl_type, impl_trait, definitions, spans, calls_at, inherent, trait_impl, trait_decl, free, types
) -> None:  # type: ignore[no-untyped-def]
    kind = node.type
    if kind in ("struct_item", "enum_item", "union_item", "type_item"):
        name = node.child_by_field_name("name")
        if name is not None:
            types.add(name.text.decode())
    if kind == "impl_item":
        type_node, trait_node = node.child_by_field_name("type"), node.child_by_field_name("trait")
        impl_type = base_type(type_node.text.decode()) if type_node is not None else None
        impl_trait = base_type(trait_node.text.decode()) if trait_node is not None else None
    if kind == "trait_item":
        trait = node.child_by_field_name("name").text.decode()
        for item in node.child_by_field_name("body").named_children:
            if item.type in ("function_item", "function_signature_item"):
                key = define(item, rel, definitions, spans)
                trait_decl[(trait, key[1])].append(key)
                if item.type == "function_item":
                    walk_calls(item, rel, calls_at)
        return
    if kind == "function_item":
        key = define(node, rel, definitions, spans)
        if impl_type and impl_trait:
            trait_impl[(impl_type, impl_trait, key[1])].append(key)
        elif impl_type:
            inherent[(impl_type, key[1])].append(key)
        else:
            free[key[1]].append(key)
        walk_calls(node, rel, calls_at)
        impl_type = impl_trait = None  # a function nested in a method is a free function
    for child in node.named_children:
        if kind != "function_item" or child.type in ("block", "function_item"):
            walk(
                child,
                rel,
                impl_type,
                impl_trait,
                definitions,
                spans,
                calls_at,
                inherent,
                trait_impl,
                trait_decl,
                free,
                types,
            )


def define(node: Node, rel: str, definitions, spans) -> Key:  # type: ignore[no-untyped-def]
    name = node.child_by_field_name("name").text.decode()
    start, end = node.start_point[0] + 1, node.end_point[0] + 1
    definitions.append([rel, name, "function", start, end])
    spans[rel].append((start, end, name))
    key = [rel, name, start]
    SCOPES[tuple(key)] = module_path(rel) + enclosing_functions(node)
    return key


SCOPES: dict[tuple[object, ...], list[str]] = {}  # a definition -> its module path and enclosing functions


def module_path(rel: str) -> list[str]:
    """``src/ast/parse.rs`` -> ``["ast", "parse"]``; ``src/hir/mod.rs`` -> ``["hir"]``; ``src/lib.rs`` -> ``[]``."""
    parts = rel.removeprefix("src/").removesuffix(".rs").split("/")
    return [p for p in parts if p not in ("mod", "lib", "main")]


def enclosing_functions(node: Node) -> list[str]:
    names: list[str] = []
    parent = node.parent
    while parent is not None:
        if parent.type == "function_item":
            names.insert(0, parent.child_by_field_name("name").text.decode())
        parent = parent.parent
    return names


def narrowed(found: list[Key], qualifier: list[str]) -> Key | None:
    """The one candidate whose module path (and enclosing functions) ends with the callee's qualifier."""
    if len(found) == 1:
        return found[0]
    fitting = [k for k in found if qualifier and SCOPES.get(tuple(k), [])[-len(qualifier) :] == qualifier]
    return fitting[0] if len(fitting) == 1 else None


def walk_calls(node: Node, rel: str, calls_at) -> None:  # type: ignore[no-untyped-def]
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "call_expression":
            function = current.child_by_field_name("function")
            if function is not None and function.type == "generic_function":
                function = function.child_by_field_name("function")
            if function is not None:
                named = function.child_by_field_name("field") or function.child_by_field_name("name") or function
                if named.type in ("identifier", "field_identifier"):
                    calls_at[(rel, current.start_point[0] + 1)].add(named.text.decode())
                    calls_at[(rel, named.start_point[0] + 1)].add(named.text.decode())
        stack.extend(current.named_children)


if __name__ == "__main__":
    main()
