"""What extraction finds in a file of a tags language (JavaScript, TypeScript/TSX, Go, Rust, Java): its definitions,
calls, imports and base types, as plain records that extraction (:mod:`strata.codegraph.tags`), name resolution
(:mod:`strata.codegraph.links`) and the compiler engines share."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TagBase", "TagCall", "TagDefinition", "TagFile", "TagImport"]


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
    receiver: str = ""  # `recv.name(...)`: "" for a plain call, the name, or "?" for an expression
    path: bool = False  # the receiver is a path (Rust `Type::f()`, `module::f()`), not a value
    receiver_type: str = ""  # Rust: the receiver value's type where the code around says it (`x: &Parser`)


@dataclass(frozen=True)
class TagImport:
    """One import statement (or one leaf of a Rust use tree)."""

    source: str  # as written: "./auth", "example.com/m/http", "crate::cache", "com.acme.util"
    line: int
    # (local name, imported name): imported "" binds the module itself, "*" brings all of its names
    names: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class TagBase:
    """A class's superclass, an implemented interface or trait, an embedded Go type."""

    owner: str  # the definition's id; "" when it is not in this file (Rust `impl Trait for Type`)
    owner_name: str
    name: str
    receiver: str  # `pkg.Base`, `ns.Base`, `other::Base`: the qualifier, else ""
    line: int
    position: int


@dataclass(frozen=True)
class TagFile:
    path: str
    language: str
    module_id: str
    definitions: list[TagDefinition]
    calls: list[TagCall]
    references: list[TagCall]
    imports: list[TagImport]
    bases: list[TagBase]
    package: str  # Java's package and Go's package name; "" elsewhere
