"""Errors of the codegraph server.

StrataError (strata.shared.errors)
├── InvalidRequestError
│   ├── AmbiguousSymbolError    a name matches several symbols; the message lists them
│   └── PathOutsideRepoError    a path resolves outside the repository root
└── NotFoundError
    ├── SymbolNotFoundError     no symbol by that id or name
    └── NotIndexedError         the repository has no index yet
"""

from __future__ import annotations

from strata.shared.errors import InvalidRequestError, NotFoundError

__all__ = [
    "AmbiguousSymbolError",
    "NotIndexedError",
    "PathOutsideRepoError",
    "ReadOnlyQueryError",
    "SymbolNotFoundError",
]


class AmbiguousSymbolError(InvalidRequestError):
    """A symbol name matches several symbols; the caller must pick one id from the candidates listed."""

    code = "ambiguous"


class PathOutsideRepoError(InvalidRequestError):
    """A path resolves outside the repository root (path traversal)."""

    code = "path_outside_repo"


class ReadOnlyQueryError(InvalidRequestError):
    """A Cypher query that would modify the graph (or run a procedure); only reads are served."""

    code = "read_only"


class SymbolNotFoundError(NotFoundError):
    """No symbol has that id or name."""

    code = "symbol_not_found"


class NotIndexedError(NotFoundError):
    """The repository has not been indexed yet."""

    code = "not_indexed"
