"""Real parts for the memory tests: the bundled MiniLM ONNX embedder and real Qdrant engines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from strata.memory.embedder import MiniLMEmbedder
from strata.memory.store import MemoryStore, NewMemory
from strata.memory.vectors import ClientVectors, EdgeVectors, VectorIndex

NOTES = [
    NewMemory(
        "We decided to migrate authentication from the legacy LDAP server to the new SSO module",
        kind="decision",
        scope="project:strata",
        tags=("auth",),
        about=("app.auth.ldap.ldap_authenticate",),
    ),
    NewMemory("The deploy pipeline runs every Tuesday after the release review", scope="project:strata"),
    NewMemory("Alice prefers tabs over spaces in Go code", kind="preference", scope="user:alice"),
    NewMemory("The invoice service times out when the PDF renderer is cold", kind="outcome", scope="project:billing"),
]


@pytest.fixture
def notes() -> list[NewMemory]:
    return list(NOTES)


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def vectors_for(engine: str, path: Path, dim: int) -> VectorIndex:
    if engine == "edge":
        return EdgeVectors(path / "vectors", dim)
    from qdrant_client import QdrantClient

    # qdrant-client's local mode runs the same client code a Qdrant server URL does.
    return ClientVectors(QdrantClient(location=":memory:"), "memories", dim, describe="qdrant-client local mode")


@pytest.fixture(params=["edge", "client"])
def store(request: pytest.FixtureRequest, tmp_path: Path, embedder: MiniLMEmbedder) -> Iterator[MemoryStore]:
    opened = MemoryStore(tmp_path / "store", embedder, vectors_for(request.param, tmp_path, embedder.dim))
    yield opened
    opened.close()


@pytest.fixture
def edge_store(tmp_path: Path, embedder: MiniLMEmbedder) -> Iterator[MemoryStore]:
    opened = MemoryStore(tmp_path / "store", embedder, EdgeVectors(tmp_path / "store" / "vectors", embedder.dim))
    yield opened
    opened.close()
