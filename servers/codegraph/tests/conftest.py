"""A small real repository (an LDAP → SSO migration in miniature), indexed into a real Kuzu store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from strata.codegraph.index import index_repository
from strata.codegraph.service import CodeGraph

REPO = {
    "app/__init__.py": "",
    "app/auth/__init__.py": "from .ldap import ldap_authenticate\n",
    "app/auth/ldap.py": (
        "class Connection:\n"
        "    def bind(self, user):\n        return user\n\n"
        "def ldap_authenticate(user, password):\n"
        "    conn = Connection()\n"
        "    return conn.bind(user)\n"
    ),
    "app/auth/sso.py": "class SsoClient:\n    def login(self, token):\n        return token\n",
    "app/views.py": (
        "from app.auth import ldap_authenticate\n"
        "import logging\n\n"
        "def login_view(request):\n"
        "    logging.info('login')\n"
        "    return ldap_authenticate(request.user, request.password)\n\n"
        "def admin_view(request):\n"
        "    return login_view(request)\n\n"
        "class Base:\n    def login(self):\n        pass\n"
        "class Admin(Base):\n    def login(self):\n        return super().login()\n"
    ),
    ".gitignore": "generated/\n",
    "generated/huge.py": "def ignored():\n    pass\n",
}


def write_tree(root: Path, files: dict[str, str]) -> list[Path]:
    """Write ``{relative path: text}`` under ``root``; returns the paths written."""
    paths = []
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    write_tree(root, REPO)
    index_repository(root, root / ".strata")
    return root


@pytest.fixture
def graph(repo: Path) -> Iterator[CodeGraph]:
    g = CodeGraph(repo, repo / ".strata")
    yield g
    g.close()


def dump_store(store_dir: Path) -> dict[str, list[tuple[object, ...]]]:
    """Everything a store holds, except when it was indexed, as sorted rows."""
    from strata.codegraph.graph import CodeGraphStore

    store = CodeGraphStore(CodeGraphStore.location(store_dir))
    try:
        queries = {
            "symbols": "MATCH (s:Symbol) RETURN s.id, s.name, s.kind, s.language, s.file, s.start_line, "
            "s.end_line, s.words",
            "calls": "MATCH (a:Symbol)-[e:CALLS]->(b:Symbol) RETURN a.id, b.id, e.line, e.candidates",
            "references": "MATCH (a:Symbol)-[e:REFERENCES]->(b:Symbol) RETURN a.id, b.id, e.line, e.candidates",
            "inherits": "MATCH (a:Symbol)-[e:INHERITS]->(b:Symbol) RETURN a.id, b.id, e.position, e.candidates",
            "imports": "MATCH (a:Symbol)-[e:IMPORTS]->(b:Symbol) RETURN a.id, b.id, e.line, e.candidates",
            "routes": "MATCH (r:Route) RETURN r.id, r.method, r.path, r.framework, r.file, r.line",
            "handlers": "MATCH (r:Route)-[:HANDLED_BY]->(s:Symbol) RETURN r.id, s.id",
            "files": "MATCH (f:File) RETURN f.path, f.sha256",
        }
        return {name: sorted(tuple(row) for row in store._rows(query)) for name, query in queries.items()}
    finally:
        store.close()


def assert_edit_is_incremental(tmp_path: Path, files: dict[str, str], edit: dict[str, str | None]) -> None:
    """Index ``files`` in a service, apply ``edit`` (None deletes a file) and reindex: the update must be incremental
    and leave the store exactly as a full index of the edited files builds it."""
    repo = tmp_path / "repo"
    write_tree(repo, files)
    service = CodeGraph(repo, repo / ".strata")
    try:
        service.reindex()
        for relative, text in edit.items():
            if text is None:
                (repo / relative).unlink()
            else:
                (repo / relative).write_text(text)
        summary = service.reindex()
        assert summary.incremental and summary.changed_files == len(edit)
        service.flush()
        index_repository(repo, tmp_path / "full")
        assert dump_store(repo / ".strata") == dump_store(tmp_path / "full")
    finally:
        service.close()


def indexed(root: Path, files: dict[str, str]) -> Iterator[CodeGraph]:
    """A service over ``files`` written under ``root`` and indexed (for a module-scoped fixture)."""
    write_tree(root, files)
    index_repository(root, root / ".strata")
    service = CodeGraph(root, root / ".strata")
    yield service
    service.close()


def callees(graph: CodeGraph, symbol: str) -> list[tuple[str, int, int]]:
    """(callee, line, candidates) of every call ``symbol`` makes, sorted."""
    return sorted((c.callee, c.line, c.candidates) for c in graph.calls(symbol, "callees", 1, 50).items)
