"""strata-codegraph: a code knowledge graph (symbols, resolved calls, inheritance) served over MCP."""

from strata.codegraph.errors import AmbiguousSymbolError, NotIndexedError, PathOutsideRepoError, SymbolNotFoundError
from strata.codegraph.index import IndexSummary, index_repository
from strata.codegraph.pycalls import PyProject, analyze_sources
from strata.codegraph.service import CodeGraph

__all__ = [
    "AmbiguousSymbolError",
    "CodeGraph",
    "IndexSummary",
    "NotIndexedError",
    "PathOutsideRepoError",
    "PyProject",
    "SymbolNotFoundError",
    "analyze_sources",
    "index_repository",
]
