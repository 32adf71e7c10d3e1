"""The edit that a sub-agent's decisions drive: switch chosen call sites from one function to another.

The sub-agent (an LLM) only decides *which* lines change (12-Factor #4: its tool is a structured
output); this module does the change, deterministically, with Python's ``ast``: the reference at each
chosen line is rewritten in the style the file already uses (``name``, ``alias``, ``module.name``), the
new function is imported next to the old import, and the old import goes once nothing uses it. The
result must parse, and comes back with a unified diff.
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass, field

from strata.orchestrator.errors import CodemodError

__all__ = ["CodemodError", "Edit", "Target", "module_of", "switch_calls", "use_sites"]


@dataclass(frozen=True)
class Target:
    """A module-level function: ``module`` (dotted) and ``name``."""

    module: str
    name: str

    @property
    def id(self) -> str:
        return f"{self.module}.{self.name}"

    @property
    def parent(self) -> str:
        return self.module.rpartition(".")[0]

    @property
    def last(self) -> str:
        return self.module.rpartition(".")[2]


@dataclass
class Edit:
    path: str
    before: str
    after: str
    rewritten: list[int] = field(default_factory=list)

    @property
    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                f"a/{self.path}",
                f"b/{self.path}",
            )
        )


@dataclass(frozen=True)
class _Site:
    line: int
    col: int  # UTF-8 byte offsets, as ast gives them
    end_col: int
    binding: str  # the local name or dotted module prefix the site goes through
    via_module: bool


def module_of(path: str) -> str:
    """``acme/auth/sso.py`` -> ``acme.auth.sso``; ``pkg/__init__.py`` -> ``pkg``."""
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _absolute(node: ast.ImportFrom, path: str) -> str:
    if not node.level:
        return node.module or ""
    package = module_of(path).split(".")
    if not path.endswith("__init__.py"):
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
    return ".".join([*base, *([node.module] if node.module else [])])


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


class _Bindings:
    """How a file can refer to ``target``: local names (from-imports) and module prefixes (imports)."""

    def __init__(self, tree: ast.Module, path: str, target: Target) -> None:
        self.names: dict[str, ast.ImportFrom] = {}
        self.modules: dict[str, ast.stmt] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = _absolute(node, path)
                for alias in node.names:
                    if module == target.module and alias.name == target.name:
                        self.names[alias.asname or alias.name] = node
                    elif f"{module}.{alias.name}" == target.module:
                        self.modules[alias.asname or alias.name] = node
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == target.module:
                        self.modules[alias.asname or alias.name] = node


def use_sites(source: str, path: str, target: Target) -> list[int]:
    """Lines of ``source`` that use ``target`` (outside import statements)."""
    tree = _parse(source, path)
    return sorted({site.line for site in _sites(tree, _Bindings(tree, path, target), target)})


def _parse(source: str, path: str) -> ast.Module:
    try:
        return ast.parse(source, filename=path)
    except SyntaxError as exc:
        raise CodemodError(f"{path} does not parse: {exc.msg} (line {exc.lineno})") from exc


def _sites(tree: ast.Module, binds: _Bindings, target: Target) -> list[_Site]:
    sites: list[_Site] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in binds.names and isinstance(node.ctx, ast.Load):
            sites.append(_Site(node.lineno, node.col_offset, node.end_col_offset or 0, node.id, False))
        elif isinstance(node, ast.Attribute) and node.attr == target.name:
            prefix = _dotted(node.value)
            if prefix in binds.modules and node.lineno == node.end_lineno:
                sites.append(_Site(node.lineno, node.col_offset, node.end_col_offset or 0, prefix, True))
    return sites


def _bound_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def switch_calls(path: str, source: str, old: Target, new: Target, lines: set[int]) -> Edit:
    """Point the uses of ``old`` on ``lines`` at ``new``; raise CodemodError when that is not safe."""
    tree = _parse(source, path)
    old_binds, new_binds = _Bindings(tree, path, old), _Bindings(tree, path, new)
    sites = _sites(tree, old_binds, old)
    chosen = [s for s in sites if s.line in lines]
    edit = Edit(path, source, source)
    if not chosen:
        return edit
    text = source.splitlines(keepends=True)
    taken = _bound_names(tree)
    imports: list[str] = []
    # `from m import old as alias`, every use chosen: point the import at the new function, keep the alias.
    swapped: set[str] = set()
    for local, node in old_binds.names.items():
        uses = [s for s in sites if s.binding == local]
        if local != old.name and uses and all(s in chosen for s in uses) and len(node.names) == 1:
            _replace_statement(text, node, [f"from {new.module} import {new.name} as {local}"])
            swapped.add(local)
    for site in sorted((s for s in chosen if s.binding not in swapped), key=lambda s: (-s.line, -s.col)):
        replacement = _reference(site, old, new, new_binds, taken, imports)
        line = text[site.line - 1].encode()
        text[site.line - 1] = (line[: site.col] + replacement.encode() + line[site.end_col :]).decode()
    edit.rewritten = sorted({s.line for s in chosen})
    _settle_imports(text, tree, old_binds, sites, chosen, swapped, list(dict.fromkeys(imports)))
    edit.after = "".join(text)
    _parse(edit.after, path)
    return edit


def _reference(site: _Site, old: Target, new: Target, new_binds: _Bindings, taken: set[str], imports: list[str]) -> str:
    """The text that replaces ``site``, mirroring the file's style; records an import it needs."""
    if not site.via_module:
        existing = next(iter(new_binds.names), None)
        if existing:
            return existing
        if new.name in taken:
            raise CodemodError(f"the name {new.name} is already used in this file")
        imports.append(f"from {new.module} import {new.name}")
        return new.name
    existing = next(iter(new_binds.modules), None)
    if existing:
        return f"{existing}.{new.name}"
    if "." not in site.binding and new.parent:  # `from pkg import mod` style
        if new.last in taken:
            raise CodemodError(f"the name {new.last} is already used in this file")
        imports.append(f"from {new.parent} import {new.last}")
        return f"{new.last}.{new.name}"
    imports.append(f"import {new.module}")
    return f"{new.module}.{new.name}"


def _settle_imports(
    text: list[str],
    tree: ast.Module,
    old_binds: _Bindings,
    sites: list[_Site],
    chosen: list[_Site],
    swapped: set[str],
    imports: list[str],
) -> None:
    """Drop old imports nothing uses any more and put the new imports where the old one stood."""
    still_used = {s.binding for s in sites if s not in chosen}
    dropping: dict[int, ast.stmt] = {}
    for local, node in [*old_binds.names.items(), *old_binds.modules.items()]:
        unused = local not in still_used and local not in swapped
        if unused and isinstance(node, (ast.Import, ast.ImportFrom)) and not _other_uses(tree, local, sites):
            dropping.setdefault(id(node), node)
            node.names = [a for a in node.names if (a.asname or a.name) != local]
    anchor = min(
        (n for n in [*old_binds.names.values(), *old_binds.modules.values()] if isinstance(n, ast.stmt)),
        key=lambda n: n.lineno,
        default=None,
    )
    for node in sorted(dropping.values(), key=lambda n: -n.lineno):
        assert isinstance(node, (ast.Import, ast.ImportFrom))
        new_lines = imports if node is anchor else []
        if node.names:
            new_lines = [ast.unparse(node), *new_lines]
        _replace_statement(text, node, new_lines)
        if node is anchor:
            imports = []
    if imports and anchor is not None:  # the old import stays: add the new one right after it
        end = anchor.end_lineno or anchor.lineno
        indent = " " * anchor.col_offset
        text[end:end] = [f"{indent}{line}\n" for line in imports]
    elif imports:
        text[0:0] = [f"{line}\n" for line in imports]


def _other_uses(tree: ast.Module, local: str, sites: list[_Site]) -> bool:
    """Whether ``local`` is used for anything but the old function (e.g. ``ldap_helper.LDAP_SERVER``)."""
    if not any(s.binding == local and s.via_module for s in sites):
        return False
    site_spans = {(s.line, s.col) for s in sites}
    for other in ast.walk(tree):
        if isinstance(other, ast.Attribute) and _dotted(other.value) == local:
            if (other.lineno, other.col_offset) not in site_spans:
                return True
        elif isinstance(other, ast.Name) and other.id == local.split(".")[0] and "." not in local:
            parent_is_site = any(s.line == other.lineno and s.col == other.col_offset for s in sites)
            if not parent_is_site:
                return True
    return False


def _replace_statement(text: list[str], node: ast.stmt, lines: list[str]) -> None:
    start, end = node.lineno - 1, node.end_lineno or node.lineno
    indent = " " * node.col_offset
    text[start:end] = [f"{indent}{line}\n" for line in lines]
