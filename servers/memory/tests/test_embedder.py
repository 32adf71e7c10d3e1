"""Embedders: the bundled ONNX model, and an OpenAI-compatible endpoint (a real HTTP server on loopback)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from strata.memory.embedder import MiniLMEmbedder, OpenAIEmbedder, create_embedder
from strata.memory.settings import MemorySettings
from strata.memory.store import MemoryFilter, MemoryStore, NewMemory
from strata.memory.vectors import EdgeVectors
from strata.shared.errors import ConfigError, UpstreamError


def test_minilm_places_related_sentences_together(embedder: MiniLMEmbedder) -> None:
    auth, login, weather = embedder.embed(["how do we authenticate users", "login flow for accounts", "sunny weather"])
    assert np.isclose(np.linalg.norm(auth), 1.0, atol=1e-5)
    assert float(auth @ login) > float(auth @ weather) + 0.3


def _endpoint(embedder: MiniLMEmbedder, fail: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if fail or self.path != "/v1/embeddings":
                self.send_response(500)
                self.end_headers()
                return
            assert self.headers["Authorization"] == "Bearer sk-test"
            rows = embedder.embed(body["input"])
            # OpenAI's wire format; indices reversed to check the client orders by index.
            data = [{"object": "embedding", "index": i, "embedding": rows[i].tolist()} for i in range(len(rows))][::-1]
            payload = json.dumps({"object": "list", "data": data, "model": body["model"]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def endpoint(embedder: MiniLMEmbedder) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _endpoint(embedder, fail=False))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_an_openai_compatible_endpoint_embeds_for_the_store(
    endpoint: str, embedder: MiniLMEmbedder, tmp_path: Path
) -> None:
    remote = create_embedder(
        MemorySettings(embedder="openai", embed_url=endpoint, embed_model="minilm", embed_api_key="sk-test")
    )
    assert isinstance(remote, OpenAIEmbedder) and remote.dim == 384 and remote.name == "openai:minilm"
    texts = ["first", "second sentence", "third"]
    assert np.allclose(remote.embed(texts), embedder.embed(texts), atol=1e-5)
    store = MemoryStore(tmp_path, remote, EdgeVectors(tmp_path / "vectors", remote.dim))
    try:
        store.remember([NewMemory("Backups run nightly at 02:00"), NewMemory("The logo is blue")], max_chars=1000)
        assert store.recall("when are backups taken?", 1, MemoryFilter(), 500).hits[0].id == "mem_1"
    finally:
        store.close()


def test_a_failing_endpoint_is_an_upstream_error(embedder: MiniLMEmbedder) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _endpoint(embedder, fail=True))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(UpstreamError, match=r"embeddings endpoint http://127\.0\.0\.1:\d+/v1/embeddings failed"):
            OpenAIEmbedder(f"http://127.0.0.1:{server.server_address[1]}/v1", "minilm")
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(ConfigError, match="STRATA_MEMORY_EMBED_URL"):
        create_embedder(MemorySettings(embedder="openai"))
