"""Response caching: exact (normalised request hash) and semantic (local embeddings of the last user turn).

Both are namespaced per route and requested model. A semantic hit also needs everything but the last
user message to be identical (system prompt, earlier turns, tools, sampling settings), because a
similar question in a different conversation is a different question. Requests that offer tools or
sample (``temperature > 0``) bypass the cache unless the config says otherwise. Entries expire after
``ttl_s``; at most ``max_entries`` are kept (least recently used go first), and at most ``memory_mb``
of them in memory. Kept in memory for speed and in the router's database so a restart keeps them.

An entry holds its response as compact JSON text, decoded on a hit: as a dict, 10,000 small
completions held ~45 MB (a soak of unique prompts grew the router from 104 to 157 MB).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from strata.router.db import Database
from strata.router.settings import CacheConfig
from strata.router.types import ChatRequest
from strata.shared.log import get_logger

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from strata.shared.embedding import Embedder

__all__ = ["CacheEntry", "ResponseCache", "request_key"]

log = get_logger("strata.router.cache")

# Fields that change how a response is delivered or billed, not what it says.
RECENT_VECTORS = 64
NOT_CONTENT = frozenset({"stream", "stream_options", "user", "metadata", "store", "service_tier", "safety_identifier"})


# What an entry costs in memory besides its JSON text: the entry, its key, the dict slot.
ENTRY_OVERHEAD_BYTES = 400
PRUNE_EVERY = 512  # evictions between trims of the cache table


@dataclass
class CacheEntry:
    key: str
    namespace: str
    expires: float
    model: str
    cost_usd: float
    body: str  # the response, compact JSON
    vector: Any = None  # float32 row for semantic entries

    @property
    def response(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value

    @property
    def size(self) -> int:
        return len(self.body) + ENTRY_OVERHEAD_BYTES + (self.vector.nbytes if self.vector is not None else 0)


def _normalised(request: ChatRequest, drop_last_user: bool = False) -> dict[str, Any]:
    body = request.model_dump(exclude_none=True)
    for name in NOT_CONTENT:
        body.pop(name, None)
    body.pop("model", None)
    messages = []
    for message in request.messages:
        item = message.model_dump(exclude_none=True)
        text_only = isinstance(message.content, list) and all(p.get("type") == "text" for p in message.content)
        if isinstance(message.content, str) or text_only:
            item["content"] = message.text().strip()
        messages.append(item)
    if drop_last_user and messages and messages[-1].get("role") == "user":
        messages[-1] = {"role": "user", "content": "<semantic>"}
    body["messages"] = messages
    if body.get("max_completion_tokens") and not body.get("max_tokens"):
        body["max_tokens"] = body.pop("max_completion_tokens")
    return body


def request_key(request: ChatRequest, namespace: str, drop_last_user: bool = False) -> str:
    """The hash two requests share exactly when they ask the same thing of the same namespace."""
    canonical = json.dumps([namespace, _normalised(request, drop_last_user)], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class ResponseCache:
    """Exact and (optionally) semantic response cache for one router."""

    def __init__(self, db: Database, config: CacheConfig, embedder: Embedder | None = None) -> None:
        self.db = db
        self.config = config
        self.embedder = embedder
        self._exact: OrderedDict[str, CacheEntry] = OrderedDict()
        self._semantic: dict[str, list[CacheEntry]] = {}
        self._recent: dict[str, npt.NDArray[np.float32]] = {}
        self._bytes = 0  # memory the entries hold (size), against memory_mb
        self._evicted = 0  # entries evicted from memory since the table was last trimmed
        self._load()

    def _load(self) -> None:
        now = time.time()
        self.db.write("DELETE FROM cache WHERE expires < ?", (now,))
        self.db.flush()
        rows = self.db.query(
            "SELECT key, namespace, expires, model, cost_usd, response, embedding FROM cache "
            "WHERE expires >= ? ORDER BY created DESC LIMIT ?",
            (now, self.config.max_entries),
        )
        for key, namespace, expires, model, cost, response, embedding in reversed(rows):
            entry = CacheEntry(key, namespace, expires, model, cost, response)
            if embedding is None:
                self._exact[key] = entry
            elif self.embedder is not None:
                import numpy as np

                entry.vector = np.frombuffer(embedding, dtype=np.float32)
                self._semantic.setdefault(namespace, []).append(entry)
            else:
                continue
            self._bytes += entry.size
        self._evict()

    def eligible(self, request: ChatRequest) -> bool:
        if request.tools and not self.config.cache_tools:
            return False
        sampled = request.temperature is None or request.temperature > 0  # OpenAI's default is 1
        return not (sampled and not self.config.cache_sampled)

    def size(self) -> int:
        return len(self._exact) + sum(len(v) for v in self._semantic.values())

    # --- exact ----------------------------------------------------------------------------------

    def get_exact(self, request: ChatRequest, namespace: str) -> CacheEntry | None:
        if not self.config.exact:
            return None
        key = request_key(request, namespace)
        entry = self._exact.get(key)
        if entry is None:
            return None
        if entry.expires < time.time():
            self._drop(key)
            return None
        self._exact.move_to_end(key)
        return entry

    def put_exact(
        self, request: ChatRequest, namespace: str, model: str, cost: float, response: dict[str, Any]
    ) -> None:
        if not self.config.exact:
            return
        key = request_key(request, namespace)
        entry = CacheEntry(key, namespace, time.time() + self.config.ttl_s, model, cost, _compact(response))
        self._forget_size(self._exact.get(key))
        self._exact[key] = entry
        self._bytes += entry.size
        self._persist(entry, None, None)
        self._evict()

    def _drop(self, key: str) -> None:
        self._forget_size(self._exact.pop(key, None))
        self.db.write("DELETE FROM cache WHERE key = ?", (key,))

    def _forget_size(self, entry: CacheEntry | None) -> None:
        if entry is not None:
            self._bytes -= entry.size

    def _persist(self, entry: CacheEntry, prompt: str | None, vector: bytes | None) -> None:
        self.db.replace(
            "cache",
            (
                entry.key, entry.namespace, time.time(), entry.expires, entry.model, entry.cost_usd,
                entry.body, prompt, vector,
            ),
        )  # fmt: skip

    # --- semantic -------------------------------------------------------------------------------

    @property
    def semantic(self) -> bool:
        return self.config.semantic and self.embedder is not None

    @staticmethod
    def semantic_text(request: ChatRequest) -> str | None:
        last = request.messages[-1]
        return last.text() if last.role == "user" and last.text().strip() else None

    def embed(self, text: str) -> npt.NDArray[np.float32]:
        """The text's vector; a miss looks it up and then stores it, so the last few are memoised."""
        assert self.embedder is not None
        row = self._recent.get(text)
        if row is None:
            row = self.embedder.embed([text])[0]
            self._recent[text] = row
            if len(self._recent) > RECENT_VECTORS:
                self._recent.pop(next(iter(self._recent)))
        return row

    def get_semantic(
        self, request: ChatRequest, namespace: str, vector: npt.NDArray[np.float32]
    ) -> tuple[CacheEntry, float] | None:
        """The most similar cached answer in the same conversation context, if similar enough."""
        import numpy as np

        ns = request_key(request, namespace, drop_last_user=True)
        entries = [e for e in self._semantic.get(ns, []) if e.expires >= time.time()]
        self._semantic[ns] = entries
        if not entries:
            return None
        scores = np.stack([e.vector for e in entries]) @ vector
        best = int(np.argmax(scores))
        if float(scores[best]) < self.config.similarity:
            return None
        return entries[best], float(scores[best])

    def put_semantic(
        self,
        request: ChatRequest,
        namespace: str,
        vector: npt.NDArray[np.float32],
        model: str,
        cost: float,
        response: dict[str, Any],
    ) -> None:
        ns = request_key(request, namespace, drop_last_user=True)
        key = "s:" + request_key(request, namespace)
        entry = CacheEntry(key, ns, time.time() + self.config.ttl_s, model, cost, _compact(response), vector)
        bucket = []
        for old in self._semantic.setdefault(ns, []):
            if old.key == key:
                self._forget_size(old)
            else:
                bucket.append(old)
        bucket.append(entry)
        self._bytes += entry.size
        self._semantic[ns] = bucket
        self._persist(entry, self.semantic_text(request), vector.tobytes())
        self._evict()

    def _evict(self) -> None:
        """Over ``max_entries`` or ``memory_mb``: exact entries go first (least recently used), then the
        oldest semantic ones."""
        budget = self.config.memory_mb * 1024 * 1024
        while self.size() and (self.size() > self.config.max_entries or self._bytes > budget):
            if self._exact:
                _, entry = self._exact.popitem(last=False)
            else:
                largest = max(self._semantic, key=lambda k: len(self._semantic[k]))
                entry = self._semantic[largest].pop(0)
                if not self._semantic[largest]:
                    del self._semantic[largest]
            self._bytes -= entry.size
            self._evicted += 1
        if self._evicted >= PRUNE_EVERY:
            self._prune()

    def _prune(self) -> None:
        """Trim the table to the newest ``max_entries`` rows, in one statement. A DELETE per evicted key
        broke the writer's batching (each statement gives the GIL away): at 1,500 requests/s the write
        queue, and the router's memory, grew by ~1.5 MB per thousand requests."""
        self._evicted = 0
        self.db.write(
            "DELETE FROM cache WHERE key NOT IN (SELECT key FROM cache ORDER BY created DESC LIMIT ?)",
            (self.config.max_entries,),
        )


def _compact(response: dict[str, Any]) -> str:
    return json.dumps(response, separators=(",", ":"), ensure_ascii=False)
