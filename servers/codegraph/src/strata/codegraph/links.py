"""Imports and base types of the tags languages, and the name resolution built on them.

A name used in a JavaScript, TypeScript, Go, Rust or Java file resolves, in order, to:

1. a member of the enclosing class (``this.f()``, ``self.f()``, Java's bare ``f()``), then of its
   resolved base classes;
2. for ``ns.f()``: ``f`` in whatever ``ns`` is bound to: an imported module, a Go package, a class;
3. a definition at the top of the same file;
4. what an import binds the name to (ES modules and ``require``, Go import paths under the repository's
   ``go.mod``, Rust ``use`` paths from ``crate``/``self``/``super``, Java imports, static and wildcard
   ones too), an external package's name when the import leaves the repository (``react:useState``);
5. the same Go package (directory) or Java package, then wildcard imports;
6. otherwise every definition of that name in the language family is kept as a candidate (Go stops
   at 5: an unqualified Go name is package-level or a builtin) — never one picked by guess.

Known gaps: TypeScript path aliases (``tsconfig.json`` ``paths``), Node package ``exports`` maps and
workspace packages are external; a JavaScript default import is taken to be the module's definition
of the local name.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strata.codegraph.files import is_test_file
from strata.codegraph.records import TagBase, TagCall, TagFile, TagImport
from strata.codegraph.tags import node_text, walk_named

__all__ = ["Linker", "family", "structure"]

RECEIVER_SELF = frozenset({"this", "self", "Self"})
TYPE_KINDS = frozenset({"class", "interface"})
JS_EXTENSIONS = ("", ".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".d.ts")
JS_INDEXES = ("/index.ts", "/index.tsx", "/index.js", "/index.jsx", "/index.mjs")
MAX_BASE_DEPTH = 10
MAX_REEXPORT_DEPTH = 5
GO_MODULE = re.compile(r"^\s*module\s+(\S+)", re.MULTILINE)


def _names(data_file: str) -> frozenset[str]:
    """A data file's names: one a line, ``#`` lines are comments."""
    lines = (Path(__file__).parent / "data" / data_file).read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


JS_BUILTIN_METHODS = _names("javascript_builtin_methods.txt")
RUST_STD_METHODS = _names("rust_std_methods.txt")
JS_GLOBALS = _names("javascript_globals.txt")


def family(language: str) -> str:
    """JavaScript and TypeScript call each other freely."""
    return "js" if language in ("javascript", "typescript", "tsx") else language


# -- extraction ------------------------------------------------------------------------------------------


def structure(
    language: str, root: Any, owners: dict[tuple[int, int], str]
) -> tuple[list[TagImport], list[TagBase], str]:
    """Imports, base types and package name of one parsed file.

    ``owners`` maps the byte span of a definition's name to its id (the tags definitions), so that a
    base type is attached to the class that names it.
    """
    imports: list[TagImport] = []
    bases: list[TagBase] = []
    package = ""
    lang = family(language)
    for node in walk_named(root):
        kind = node.type
        if lang == "js":
            if kind == "import_statement":
                imports.append(_js_import(node))
            elif kind == "export_statement" and node.child_by_field_name("source") is not None:
                imports.append(_js_reexport(node))
            elif kind == "call_expression":
                required = _js_require(node)
                if required is not None:
                    imports.append(required)
            elif kind in ("class_declaration", "class", "abstract_class_declaration", "interface_declaration"):
                bases.extend(_bases(node, owners, _js_base_nodes(node)))
        elif lang == "go":
            if kind == "package_clause":
                package = node_text(node.named_children[0]) if node.named_children else ""
            elif kind == "import_spec":
                imports.append(_go_import(node))
            elif kind == "type_spec":
                bases.extend(_bases(node, owners, _go_embedded(node)))
        elif lang == "rust":
            if kind == "use_declaration":
                argument = node.child_by_field_name("argument")
                if argument is not None:
                    imports.extend(_rust_uses(argument, [], node.start_point[0] + 1))
            elif kind == "impl_item":
                trait, implementor = node.child_by_field_name("trait"), node.child_by_field_name("type")
                if trait is not None and implementor is not None:
                    owner = _type_name(implementor)
                    base = _type_name(trait)
                    if owner is not None and base is not None:
                        bases.append(TagBase("", owner[1], base[1], base[0], node.start_point[0] + 1, 0))
            elif kind == "trait_item":
                bounds = node.child_by_field_name("bounds")
                bases.extend(_bases(node, owners, bounds.named_children if bounds is not None else []))
        elif lang == "java":
            if kind == "package_declaration":
                package = next((node_text(c) for c in node.named_children if c.type != "annotation"), "")
            elif kind == "import_declaration":
                imports.append(_java_import(node))
            elif kind in ("class_declaration", "interface_declaration", "enum_declaration", "record_declaration"):
                bases.extend(_bases(node, owners, _java_base_nodes(node)))
    return imports, bases, package


def _string(node: Any) -> str:
    return node_text(node).strip("\"'`")


def _line(node: Any) -> int:
    return int(node.start_point[0]) + 1


def _type_name(node: Any) -> tuple[str, str] | None:
    """(qualifier, name) of a type expression: `Base` -> ("", "Base"), `pkg.T<X>` -> ("pkg", "T")."""
    kind = node.type
    if kind in ("identifier", "type_identifier"):
        return "", node_text(node)
    if kind in ("generic_type", "pointer_type", "parenthesized_type"):
        inner = node.child_by_field_name("type") or node.child_by_field_name("name")
        inner = inner if inner is not None else (node.named_children[0] if node.named_children else None)
        return _type_name(inner) if inner is not None else None
    if kind in ("member_expression", "nested_type_identifier", "scoped_type_identifier", "qualified_type"):
        children = node.named_children
        if len(children) < 2:
            return None
        qualifier = children[0]
        if qualifier.type in ("member_expression", "nested_type_identifier", "scoped_type_identifier"):
            qualifier = qualifier.named_children[-1]
        simple = qualifier.type in ("identifier", "type_identifier", "package_identifier")
        return (node_text(qualifier) if simple else "?"), node_text(children[-1])
    return None


def _bases(node: Any, owners: dict[tuple[int, int], str], base_nodes: Iterable[Any]) -> list[TagBase]:
    name = node.child_by_field_name("name")
    if name is None:
        return []
    owner = owners.get((name.start_byte, name.end_byte), "")
    out: list[TagBase] = []
    for base_node in base_nodes:
        base = _type_name(base_node)
        if base is not None and base[1]:
            out.append(TagBase(owner, node_text(name), base[1], base[0], _line(base_node), len(out)))
    return out


def _js_import(node: Any) -> TagImport:
    source = node.child_by_field_name("source")
    names: list[tuple[str, str]] = []
    for clause in node.named_children:
        if clause.type != "import_clause":
            continue
        for part in clause.named_children:
            if part.type == "identifier":
                names.append((node_text(part), "default"))
            elif part.type == "namespace_import":
                names.extend((node_text(c), "") for c in part.named_children if c.type == "identifier")
            elif part.type == "named_imports":
                for spec in part.named_children:
                    if spec.type == "import_specifier":
                        imported, alias = spec.child_by_field_name("name"), spec.child_by_field_name("alias")
                        if imported is not None:
                            names.append((node_text(alias if alias is not None else imported), _string(imported)))
    return TagImport(_string(source) if source is not None else "", _line(node), tuple(names))


def _js_reexport(node: Any) -> TagImport:
    """`export { a as b } from "./x"` binds b here; `export * from "./x"` brings all of x's names."""
    source = node.child_by_field_name("source")
    names: list[tuple[str, str]] = []
    clause = next((c for c in node.named_children if c.type == "export_clause"), None)
    if clause is not None:
        for spec in clause.named_children:
            imported, alias = spec.child_by_field_name("name"), spec.child_by_field_name("alias")
            if imported is not None:
                names.append((node_text(alias if alias is not None else imported), _string(imported)))
    else:
        namespace = next((c for c in node.named_children if c.type == "namespace_export"), None)
        names.append(
            (node_text(namespace.named_children[0]), "") if namespace and namespace.named_children else ("*", "*")
        )
    return TagImport(_string(source) if source is not None else "", _line(node), tuple(names))


def _js_require(node: Any) -> TagImport | None:
    """`const x = require("./x")`, `const { a, b: c } = require("./x")`."""
    function, arguments = node.child_by_field_name("function"), node.child_by_field_name("arguments")
    if function is None or node_text(function) != "require" or arguments is None:
        return None
    strings = [a for a in arguments.named_children if a.type == "string"]
    if not strings:
        return None
    names: list[tuple[str, str]] = []
    declarator = node.parent
    target = declarator.child_by_field_name("name") if declarator is not None else None
    if declarator is not None and declarator.type == "variable_declarator" and target is not None:
        if target.type == "identifier":
            names.append((node_text(target), ""))
        elif target.type == "object_pattern":
            for part in target.named_children:
                if part.type == "shorthand_property_identifier_pattern":
                    names.append((node_text(part), node_text(part)))
                elif part.type == "pair_pattern":
                    key, value = part.child_by_field_name("key"), part.child_by_field_name("value")
                    if key is not None and value is not None and value.type == "identifier":
                        names.append((node_text(value), _string(key)))
    return TagImport(_string(strings[0]), _line(node), tuple(names))


def _js_base_nodes(node: Any) -> list[Any]:
    out: list[Any] = []
    for child in node.named_children:
        if child.type == "class_heritage":
            for part in child.named_children:
                if part.type in ("extends_clause", "implements_clause"):
                    out.extend(c for c in part.named_children if c.type != "type_arguments")
                else:  # JavaScript: `extends` takes any expression
                    out.append(part)
        elif child.type == "extends_type_clause":
            out.extend(child.named_children)
    return out


def _go_import(node: Any) -> TagImport:
    path = node.child_by_field_name("path")
    alias = node.child_by_field_name("name")
    source = _string(path) if path is not None else ""
    if alias is None:
        names: tuple[tuple[str, str], ...] = (("", ""),)  # bound to the package's own name, known later
    elif alias.type == "dot":
        names = (("*", "*"),)
    elif alias.type == "blank_identifier":
        names = ()
    else:
        names = ((node_text(alias), ""),)
    return TagImport(source, _line(node), names)


def _go_embedded(node: Any) -> list[Any]:
    """Embedded fields of a struct and embedded interfaces: Go's inheritance."""
    body = node.child_by_field_name("type")
    out: list[Any] = []
    if body is None:
        return out
    if body.type == "struct_type":
        for fields in body.named_children:
            for field_node in fields.named_children:
                if field_node.type == "field_declaration" and field_node.child_by_field_name("name") is None:
                    embedded = field_node.child_by_field_name("type")
                    if embedded is not None:
                        out.append(embedded)
    elif body.type == "interface_type":
        for element in body.named_children:
            if element.type == "type_elem" and len(element.named_children) == 1:
                out.append(element.named_children[0])
    return out


def _rust_uses(node: Any, prefix: list[str], line: int) -> list[TagImport]:
    """Flatten a use tree: `use crate::a::{b, c as d, e::*}` -> one TagImport per leaf."""
    kind = node.type
    if kind == "use_list":
        return [i for child in node.named_children for i in _rust_uses(child, prefix, line)]
    if kind == "scoped_use_list":
        path, listed = node.child_by_field_name("path"), node.child_by_field_name("list")
        inner = [*prefix, *_segments(path)] if path is not None else prefix
        return _rust_uses(listed, inner, line) if listed is not None else []
    if kind == "use_wildcard":
        inner = [*prefix, *(_segments(node.named_children[0]) if node.named_children else [])]
        return [TagImport("::".join(inner), line, (("*", "*"),))]
    alias = ""
    if kind == "use_as_clause":
        path, alias_node = node.child_by_field_name("path"), node.child_by_field_name("alias")
        segments = [*prefix, *(_segments(path) if path is not None else [])]
        alias = node_text(alias_node) if alias_node is not None else ""
    else:
        segments = [*prefix, *_segments(node)]
    if segments and segments[-1] == "self":  # `use a::{self}` imports a
        segments = segments[:-1]
    if not segments:
        return []
    return [TagImport("::".join(segments[:-1]), line, ((alias or segments[-1], segments[-1]),))]


def _segments(node: Any) -> list[str]:
    return [s.strip() for s in node_text(node).split("::") if s.strip()]


def _java_import(node: Any) -> TagImport:
    """`import a.b.C;` -> (a.b, C); `import static a.b.C.m;` -> (a.b.C, m); `import a.b.*;` -> (a.b, *)."""
    path = next((c for c in node.named_children if c.type in ("scoped_identifier", "identifier")), None)
    dotted = node_text(path) if path is not None else ""
    if any(c.type == "asterisk" for c in node.named_children):
        return TagImport(dotted, _line(node), (("*", "*"),))
    source, _, name = dotted.rpartition(".")
    return TagImport(source, _line(node), ((name, name),))


def _java_base_nodes(node: Any) -> list[Any]:
    out: list[Any] = []
    for child in node.named_children:
        if child.type == "superclass":
            out.extend(child.named_children)
        elif child.type in ("super_interfaces", "extends_interfaces"):
            for type_list in child.named_children:
                out.extend(type_list.named_children)
    return out


# -- resolution ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """What an import denotes: files whose top-level names it offers (a module, a Go or Java package),
    optionally narrowed to a class's members; or a module outside the repository."""

    files: tuple[str, ...] = ()
    container: str = ""  # qualified name of a class inside those files
    external: str = ""  # e.g. "react", "fmt", "std::collections", "java.util"


@dataclass(frozen=True)
class TsPaths:
    """``compilerOptions.paths`` and ``baseUrl`` of the repository's tsconfig.json (or jsconfig.json)."""

    base: str = ""  # baseUrl, repository-relative; "" when not set
    paths: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def read(cls, root: Path) -> TsPaths:
        for name in ("tsconfig.json", "jsconfig.json"):
            try:
                text = (root / name).read_text(encoding="utf-8")
            except OSError:
                continue
            try:  # tsconfig allows comments and trailing commas; a config json cannot read is ignored
                options = json.loads(_JSON_COMMENTS.sub(lambda m: m.group(1) or "", text)).get("compilerOptions", {})
            except (ValueError, AttributeError):
                return cls()
            base_url = options.get("baseUrl")
            base = posixpath.normpath(base_url) if isinstance(base_url, str) else ""
            paths = options.get("paths") if isinstance(options.get("paths"), dict) else {}
            pairs = tuple(
                (str(k), tuple(str(t) for t in v if isinstance(t, str)))
                for k, v in paths.items()
                if isinstance(v, list)
            )
            return cls("" if base == "." else base, pairs)
        return cls()

    def resolve(self, source: str) -> list[str]:
        """Repository-relative stems an import may denote through paths, then baseUrl."""
        out: list[str] = []
        for pattern, targets in self.paths:
            prefix, star, suffix = pattern.partition("*")
            if star and source.startswith(prefix) and source.endswith(suffix) and len(source) >= len(prefix + suffix):
                middle = source[len(prefix) : len(source) - len(suffix)]
                out += [posixpath.normpath(posixpath.join(self.base, t.replace("*", middle, 1))) for t in targets]
            elif not star and source == pattern:
                out += [posixpath.normpath(posixpath.join(self.base, t)) for t in targets]
        if self.base:
            out.append(posixpath.normpath(posixpath.join(self.base, source)))
        return out


_JSON_COMMENTS = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', re.DOTALL)


class Linker:
    """Resolves the names used in a set of tags files (one language family each) to definitions."""

    def __init__(self, files: Iterable[TagFile], root: Path) -> None:
        self.root = root
        self.files = {f.path: f for f in files}
        self.qualified: dict[str, dict[str, list[str]]] = defaultdict(dict)  # file -> qualified name -> ids
        self.kind_of: dict[str, str] = {}
        self.file_of: dict[str, str] = {}
        self.by_name: dict[tuple[str, str], list[str]] = defaultdict(list)
        packages: dict[tuple[str, str], list[str]] = defaultdict(list)
        for f in self.files.values():
            for d in f.definitions:
                qualified = _qualified(d.id)
                self.qualified[f.path].setdefault(qualified, []).append(d.id)
                self.kind_of[d.id] = d.kind
                self.file_of[d.id] = f.path
                if d.kind not in ("constant", "field"):
                    self.by_name[(family(f.language), d.name)].append(d.id)
            if f.language == "go":
                packages[("go", posixpath.dirname(f.path))].append(f.path)
            elif f.language == "java":
                packages[("java", f.package)].append(f.path)
        self.packages = {key: tuple(sorted(paths)) for key, paths in packages.items()}
        self.externals: dict[str, str] = {}  # external id -> language
        self._go_modules: dict[str, tuple[str, str] | None] = {}  # directory -> (go.mod dir, module path)
        self._ts_paths = TsPaths.read(root)
        self.bindings: dict[str, dict[str, list[tuple[_Target, str]]]] = {}
        self.stars: dict[str, list[_Target]] = {}
        for f in self.files.values():
            self._bind(f)
        self.bases: dict[str, list[str]] = defaultdict(list)
        self.base_rows: list[tuple[str, str, int, int]] = []  # (class, base, position, candidates)
        for f in self.files.values():
            for base in f.bases:
                owners = [base.owner] if base.owner else self.resolve_type(f, base.owner_name, "", f.module_id)
                targets = self.resolve_type(f, base.name, base.receiver, f.module_id)
                for owner in owners:
                    if owner in self.kind_of:
                        for target in targets:
                            if target != owner:
                                self.bases[owner].append(target)
                                self.base_rows.append((owner, target, base.position, len(targets)))

    # -- bindings ------------------------------------------------------------------------------------

    def _bind(self, f: TagFile) -> None:
        bindings: dict[str, list[tuple[_Target, str]]] = defaultdict(list)
        stars: list[_Target] = []
        for imp in f.imports:
            for local, imported, target in self._imported(f, imp):
                if imported == "*":
                    stars.append(target)
                elif local:
                    bindings[local].append((target, imported))
        self.bindings[f.path] = dict(bindings)
        self.stars[f.path] = stars

    def _imported(self, f: TagFile, imp: TagImport) -> Iterator[tuple[str, str, _Target]]:
        """(local name, imported name, target) for each name an import binds."""
        lang = family(f.language)
        if lang == "rust":
            for local, imported in imp.names:
                name, target = self._rust_target(f, imp.source, imported)
                yield local, name, target
            return
        if lang == "java":
            target = self._java_target(imp.source)
            for local, imported in imp.names:
                yield local, imported, target
            return
        target = self._go_target(f, imp.source) if lang == "go" else self._js_target(f, imp.source)
        for local, imported in imp.names:
            if lang == "go" and not local:  # bound to the imported package's declared name
                declared = {self.files[p].package for p in target.files} - {""}
                local = min(declared) if declared else _go_default_name(imp.source)
            if imported == "default":  # see the module docstring
                imported = "" if target.external else local
            yield local, imported, target

    def _js_target(self, f: TagFile, source: str) -> _Target:
        if source.startswith((".", "/")):
            candidates = [posixpath.normpath(posixpath.join(posixpath.dirname(f.path), source))]
        else:  # tsconfig.json paths ("@lib/*": ["src/lib/*"]) and baseUrl
            candidates = self._ts_paths.resolve(source)
        for base in candidates:
            found = self._js_file(base)
            if found:
                return _Target(files=(found,))
        return _Target(external=source)

    def _js_file(self, base: str) -> str:
        """The indexed file an import of ``base`` (extension-less, or with a .js for a .ts) denotes, or ""."""
        stems = [base]
        if base.endswith((".js", ".jsx", ".mjs")):  # TypeScript's ESM convention: import "./x.js" for x.ts
            stems.append(base.rsplit(".", 1)[0])
        for stem in stems:
            for suffix in (*JS_EXTENSIONS, *JS_INDEXES):
                if stem + suffix in self.files:
                    return stem + suffix
        return ""

    def _go_target(self, f: TagFile, path: str) -> _Target:
        module = self._go_module(posixpath.dirname(f.path))
        if module is not None:
            mod_dir, mod_path = module
            if path == mod_path or path.startswith(mod_path + "/"):
                directory = posixpath.normpath(posixpath.join(mod_dir, path[len(mod_path) + 1 :]))
                files = self.packages.get(("go", "" if directory == "." else directory))
                if files:
                    return _Target(files=files)
        return _Target(external=path)

    def _go_module(self, directory: str) -> tuple[str, str] | None:
        """The go.mod governing a directory: (its directory, its module path)."""
        if directory in self._go_modules:
            return self._go_modules[directory]
        found: tuple[str, str] | None = None
        try:
            text = (self.root / directory / "go.mod").read_text(encoding="utf-8", errors="replace")
            match = GO_MODULE.search(text)
            found = (directory, match.group(1)) if match else None
        except OSError:
            found = None
        if found is None and directory not in ("", "."):
            found = self._go_module(posixpath.dirname(directory))
        self._go_modules[directory] = found
        return found

    def _java_target(self, source: str) -> _Target:
        if ("java", source) in self.packages:
            return _Target(files=self.packages[("java", source)])
        package, _, cls = source.rpartition(".")  # a static import: members of a class
        if ("java", package) in self.packages:
            files = tuple(p for p in self.packages[("java", package)] if cls in self.qualified[p])
            if files:
                return _Target(files=files, container=cls)
        return _Target(external=source)

    def _rust_target(self, f: TagFile, source: str, imported: str) -> tuple[str, _Target]:
        """(imported name, target) of `use source::imported`; a module path becomes a namespace."""
        segments = [s for s in source.split("::") if s] + [imported]
        located = self._rust_module(f, segments)
        if located is None:
            return imported, _Target(external="::".join(segments[:-1]) or imported)
        file, rest = located
        if not rest:
            return "", _Target(files=(file,))
        return rest[-1], _Target(files=(file,), container=".".join(rest[:-1]))

    def _rust_module(self, f: TagFile, segments: list[str]) -> tuple[str, list[str]] | None:
        """The file of the longest module prefix of a use path, and the item names after it."""
        own_dir = _rust_module_dir(f.path)
        head, rest = segments[0], segments[1:]
        anchored = head in ("crate", "self", "super")
        if head == "crate":
            directory = self._rust_crate_dir(f.path)
            file = self._rust_module_file(directory, crate_root=True)
        elif head == "self":
            directory, file = own_dir, f.path
        elif head == "super":
            directory = posixpath.dirname(own_dir)
            while rest and rest[0] == "super":
                directory, rest = posixpath.dirname(directory), rest[1:]
            file = self._rust_module_file(directory)
        else:  # a module declared next to this one (`mod util;` + `use util::x`), or another crate
            directory, file, rest = own_dir, f.path, segments
        if not file:
            return None
        consumed = 0
        for segment in rest:
            candidates = (_join(directory, f"{segment}.rs"), _join(directory, f"{segment}/mod.rs"))
            found = next((c for c in candidates if c in self.files), None)
            if found is None:
                break
            file, directory, consumed = found, _join(directory, segment), consumed + 1
        if not anchored and consumed == 0:
            return None
        return file, rest[consumed:]

    def _rust_crate_dir(self, path: str) -> str:
        directory = posixpath.dirname(path)
        while True:
            if (self.root / directory / "Cargo.toml").exists():
                return posixpath.join(directory, "src") if directory else "src"
            if directory in ("", "."):
                return posixpath.dirname(path)
            directory = posixpath.dirname(directory)

    def _rust_module_file(self, directory: str, *, crate_root: bool = False) -> str:
        """The file holding the items of the module whose submodules live in ``directory``."""
        names = ("lib.rs", "main.rs") if crate_root else ("mod.rs", "lib.rs", "main.rs")
        for candidate in (*(_join(directory, n) for n in names), f"{directory}.rs"):
            if candidate in self.files:
                return candidate
        return ""

    # -- lookups -------------------------------------------------------------------------------------

    def lookup(self, target: _Target, name: str, language: str, depth: int = 0) -> list[str]:
        """Definitions ``target`` offers under ``name`` (for an external target: the external's id)."""
        if target.external:
            return [
                self._external(
                    f"{target.external}:{target.container + '.' if target.container else ''}{name}", language
                )
            ]
        qualified = f"{target.container}.{name}" if target.container else name
        found = [i for p in target.files for i in self.qualified[p].get(qualified, [])]
        if found or target.container or depth >= MAX_REEXPORT_DEPTH or len(target.files) != 1:
            return found
        # a JavaScript module re-exports what it imports or `export *`s
        (path,) = target.files
        denoted = self._denoted(path, name, language, depth + 1)
        if denoted:
            return denoted
        return [i for star in self.stars.get(path, []) for i in self.lookup(star, name, language, depth + 1)]

    def _external(self, external_id: str, language: str) -> str:
        self.externals.setdefault(external_id, language)
        return external_id

    def _denoted(self, path: str, name: str, language: str, depth: int = 0) -> list[str] | None:
        """What an imported ``name`` denotes in a file; None when no import binds it."""
        bound = self.bindings.get(path, {}).get(name)
        if bound is None:
            return None
        out: list[str] = []
        for target, imported in bound:
            out.extend(
                self._module_ids(target, language) if not imported else self.lookup(target, imported, language, depth)
            )
        return out

    def _module_ids(self, target: _Target, language: str) -> list[str]:
        if target.external:
            return [self._external(target.external, language)]
        if target.container:
            return [i for p in target.files for i in self.qualified[p].get(target.container, [])]
        return [self.files[p].module_id for p in target.files]

    def _namespaces(self, f: TagFile, name: str) -> list[_Target] | None:
        """What `name.x` looks x up in: a bound module or package, or a class; None when unbound."""
        bound = self.bindings.get(f.path, {}).get(name)
        if bound is not None:
            out: list[_Target] = []
            for target, imported in bound:
                if not imported:
                    out.append(target)
                elif target.external:
                    out.append(
                        _Target(
                            external=target.external,
                            container=f"{target.container + '.' if target.container else ''}{imported}",
                        )
                    )
                else:
                    out.extend(self._class_targets(self.lookup(target, imported, f.language)))
            return out
        classes = self._local_or_package(f, name, TYPE_KINDS)
        return self._class_targets(classes) if classes else None

    def _class_targets(self, ids: Iterable[str]) -> list[_Target]:
        return [
            _Target(files=(self.file_of[i],), container=_qualified(i)) for i in ids if self.kind_of.get(i) in TYPE_KINDS
        ]

    def _local_or_package(self, f: TagFile, name: str, kinds: frozenset[str] | None = None) -> list[str]:
        """Top-level definitions of ``name`` in this file, else in its Go or Java package."""

        def keep(ids: list[str]) -> list[str]:
            return [i for i in ids if kinds is None or self.kind_of[i] in kinds]

        local = keep(self.qualified[f.path].get(name, []))
        if local or f.language not in ("go", "java"):
            return local
        key = ("go", posixpath.dirname(f.path)) if f.language == "go" else ("java", f.package)
        return keep([i for p in self.packages.get(key, ()) if p != f.path for i in self.qualified[p].get(name, [])])

    def _members(self, class_id: str, name: str) -> list[str]:
        """``name`` defined in a class or, breadth first, in its resolved bases."""
        seen = {class_id}
        level = [class_id] if class_id in self.file_of else []  # a type outside the repository (`impl T for u8`)
        for _ in range(MAX_BASE_DEPTH):
            if not level:
                return []
            found = [i for c in level for i in self.qualified[self.file_of[c]].get(f"{_qualified(c)}.{name}", [])]
            if found:
                return found
            level = [b for c in level for b in self.bases.get(c, []) if b not in seen and b in self.file_of]
            seen.update(level)
        return []

    def _enclosing_classes(self, f: TagFile, context: str) -> list[str]:
        """The class (or Rust impl type) whose code ``context`` is."""
        qualified = _qualified(context) if ":" in context else ""
        parts = qualified.split(".")
        for cut in range(len(parts), 0, -1):
            prefix = ".".join(parts[:cut])
            classes = [i for i in self.qualified[f.path].get(prefix, []) if self.kind_of[i] in TYPE_KINDS]
            if classes:
                return classes
        if len(parts) > 1:  # a Rust impl in another file than its type
            return self._local_or_package(f, parts[0], TYPE_KINDS) or self.resolve_type(f, parts[0], "", f.module_id)
        return []

    # -- resolution ----------------------------------------------------------------------------------

    def resolve(
        self, f: TagFile, name: str, receiver: str, context: str, path: bool = False, receiver_type: str = ""
    ) -> list[str]:
        """The definitions (or external ids) a call or use of ``name`` may reach; [] when none is known."""
        lang = family(f.language)
        if lang == "rust":
            found = self._resolve_rust(f, name, receiver, context, path, receiver_type)
            return [t for t in found if self.kind_of.get(t) != "class"]
        return self._resolve_named(f, name, receiver, context)

    def _resolve_named(self, f: TagFile, name: str, receiver: str, context: str) -> list[str]:
        lang = family(f.language)
        if receiver in RECEIVER_SELF or (lang == "java" and not receiver):
            found = [m for c in self._enclosing_classes(f, context) for m in self._members(c, name)]
            if found or receiver:
                return found or self._fallback(f, name)
        if receiver and receiver != "?":
            namespaces = self._namespaces(f, receiver)
            if namespaces is None and lang == "js" and receiver in JS_GLOBALS and not self._plain(f, receiver):
                return [self._external(f"<lib>:{receiver}.{name}", f.language)]  # JSON.stringify is not ours
            found = [i for ns in namespaces or [] for i in self._members_of(ns, name, f.language)]
            if found or (namespaces is not None and not any(ns.container for ns in namespaces)):
                return found  # a module's names are known; a class's may come from bases outside the repo
            return self._value_fallback(f, name, unknown_value=namespaces is None)
        if receiver == "?":
            return self._value_fallback(f, name, unknown_value=True)
        return self._plain(f, name) or ([] if lang == "go" else self._fallback(f, name))

    def _resolve_rust(
        self, f: TagFile, name: str, receiver: str, context: str, path: bool, receiver_type: str = ""
    ) -> list[str]:
        """Rust: ``Type::f()`` and ``module::f()`` through what the path names, and a path the repository does not
        define is a library one (``Vec::new``); ``self.f()`` through the impl; ``value.f()`` through the value's type
        when the code around says it (tags.RustTypes: a project type's methods and its traits', else a library
        method ``<lib>:Vec::push``); on a value whose type is not known here: every project method of the name as a candidate, unless the standard library has a method of
        that name (``push``, ``len``, ``iter``: data/rust_std_methods.txt), where a guess would mostly be wrong. Calls
        of types (associated types, tuple structs) are not calls of a definition."""
        if path and receiver and receiver not in RECEIVER_SELF:
            namespaces = self._namespaces(f, receiver)
            found = [i for ns in namespaces or [] for i in self._members_of(ns, name, f.language)]
            if found or namespaces is not None:
                return found
            types = self._rust_types(f, receiver)  # `hir::ClassBytes::new`: a type reached through a module path
            if types:
                return [m for t in types for m in self._members(t, name)]
            if receiver[:1].islower() and self._plain(f, name):
                return self._plain(f, name)  # `module::f()` of a module this file declares
            return [self._external(f"<lib>:{receiver}::{name}", f.language)]
        if receiver and receiver not in RECEIVER_SELF and receiver_type:
            if receiver_type == "Self":
                return self._resolve_named(f, name, "self", context)
            types = self._rust_types(f, receiver_type)
            if types:
                return [m for t in types for m in self._members(t, name)]
            return [self._external(f"<lib>:{receiver_type}::{name}", f.language)]  # a type the repository lacks
        if receiver and receiver not in RECEIVER_SELF:
            return [] if name in RUST_STD_METHODS else self._fallback(f, name)
        return self._resolve_named(f, name, receiver, context)

    def _rust_types(self, f: TagFile, name: str) -> list[str]:
        """The project types ``name`` may denote: the one in scope, else every project type of that name."""
        return self._plain(f, name, TYPE_KINDS) or [i for i in self._named(f, name) if self.kind_of[i] in TYPE_KINDS]

    def _members_of(self, target: _Target, name: str, language: str) -> list[str]:
        if target.container and not target.external:
            return [m for c in self._module_ids(target, language) for m in self._members(c, name)]
        return self.lookup(target, name, language)

    def _plain(self, f: TagFile, name: str, kinds: frozenset[str] | None = None) -> list[str]:
        local = [i for i in self.qualified[f.path].get(name, []) if kinds is None or self.kind_of[i] in kinds]
        if local:
            return local
        denoted = self._denoted(f.path, name, f.language)
        if denoted is not None:
            return [i for i in denoted if kinds is None or self.kind_of.get(i, "class") in kinds]
        found = self._local_or_package(f, name, kinds)
        if found:
            return found
        for star in self.stars.get(f.path, []):
            found = [
                i for i in self.lookup(star, name, f.language) if kinds is None or self.kind_of.get(i, "class") in kinds
            ]
            if found and not star.external:
                return found
        return []

    def resolve_type(self, f: TagFile, name: str, receiver: str, context: str) -> list[str]:
        """A base type's definitions; unresolved: every class or interface of that name in the family."""
        if receiver and receiver != "?":
            namespaces = self._namespaces(f, receiver)
            if namespaces is not None:
                return [i for ns in namespaces for i in self.lookup(ns, name, f.language)]
        found = self._plain(f, name, TYPE_KINDS) if not receiver else []
        if found or f.language == "go":
            return found
        return [i for i in self._named(f, name) if self.kind_of[i] in TYPE_KINDS]

    def _value_fallback(self, f: TagFile, name: str, *, unknown_value: bool) -> list[str]:
        """``value.name()`` on a value whose type is not known here: every definition of the name as a candidate, but
        in JavaScript/TypeScript none when the built-in objects have a method of that name (``push``, ``get``,
        ``then``: data/javascript_builtin_methods.txt, from TypeScript's lib.es*.d.ts) - most such calls are theirs."""
        if unknown_value and family(f.language) == "js" and name in JS_BUILTIN_METHODS:
            return []
        return self._fallback(f, name)

    def _fallback(self, f: TagFile, name: str) -> list[str]:
        """Every definition of the name in the family (see :meth:`_named`); a definition in the same file wins."""
        candidates = self._named(f, name)
        local = [c for c in candidates if self.file_of[c] == f.path]
        return local or candidates

    def _named(self, f: TagFile, name: str) -> list[str]:
        """The definitions of ``name`` in ``f``'s language family that a name alone may reach from ``f``: from code
        outside the tests, none in the tests (a test's ``setup`` is never the target of the code's ``setup()``)."""
        candidates = self.by_name.get((family(f.language), name), [])
        if is_test_file(f.path):
            return list(candidates)
        return [c for c in candidates if not is_test_file(self.file_of.get(c, ""))]

    # -- rows ----------------------------------------------------------------------------------------

    def calls(self, *, references: bool = False) -> Iterator[tuple[TagCall, list[str]]]:
        """Every call (or use) with the ids it may reach."""
        for f in self.files.values():
            for call in f.references if references else f.calls:
                yield call, self.resolve(f, call.name, call.receiver, call.caller, call.path, call.receiver_type)

    def imports(self) -> Iterator[tuple[str, str, int, int]]:
        """(importing module, imported module or definition, line, candidates) for every import."""
        for f in self.files.values():
            seen: set[tuple[str, int]] = set()
            for imp in f.imports:
                bound = self._imported(f, imp) if imp.names else iter([("", "", self._bare(f, imp))])
                for _, imported, target in bound:
                    ids = [] if imported in ("", "*") else self.lookup(target, imported, f.language)
                    ids = ids or self._module_ids(target, f.language)
                    for target_id in ids:
                        if (target_id, imp.line) not in seen and target_id != f.module_id:
                            seen.add((target_id, imp.line))
                            yield f.module_id, target_id, imp.line, len(ids)

    def _bare(self, f: TagFile, imp: TagImport) -> _Target:
        """The target of an import that binds no name (`import "./styles"`, `_ "pkg"`)."""
        lang = family(f.language)
        if lang == "go":
            return self._go_target(f, imp.source)
        if lang == "java":
            return self._java_target(imp.source)
        if lang == "rust":
            return _Target(external=imp.source)
        return self._js_target(f, imp.source)


def _qualified(symbol_id: str) -> str:
    return symbol_id.split(":", 1)[1]


def _join(directory: str, name: str) -> str:
    return posixpath.join(directory, name) if directory not in ("", ".") else name


def _rust_module_dir(path: str) -> str:
    """Where a Rust file's submodules live: `src/a.rs` -> `src/a`; `src/a/mod.rs`, `src/lib.rs` -> their dir."""
    directory, name = posixpath.split(path)
    if name in ("mod.rs", "lib.rs", "main.rs"):
        return directory
    return posixpath.join(directory, name[: -len(".rs")])


def _go_default_name(path: str) -> str:
    """A Go import's package name when the package is not in the repository: its last element."""
    parts = [p for p in path.split("/") if p]
    if len(parts) > 1 and re.fullmatch(r"v\d+", parts[-1]):
        return parts[-2]
    return parts[-1] if parts else path
