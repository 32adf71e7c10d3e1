"""Errors of the codegraph server.

StrataError (strata.shared.errors)
├── InvalidRequestError
│   ├── AmbiguousSymbolError    a name matches several symbols; the message lists them
│   └── PathOutsideRepoError    a path resolves outside the repository root
├── NotFoundError
│   ├── SymbolNotFoundError     no symbol by that id or name
│   └── NotIndexedError         the repository has no index yet
└── BusyError
    └── IndexingError           the index is being built; the message says how far
"""

from __future__ import annotations

from strata.shared.errors import BusyError, InvalidRequestError, NotFoundError

__all__ = [
    "AmbiguousSymbolError",
    "IndexingError",
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


class IndexingError(BusyError):
    """The index is being built (a first index, or a rebuild) and did not finish within the wait; try again."""

    code = "indexing"
