"""The response cache holds bounded memory and a bounded table, however many unique requests come."""

from __future__ import annotations

from pathlib import Path

from strata.router.cache import ResponseCache
from strata.router.db import SQLiteDatabase
from strata.router.settings import CacheConfig
from strata.router.types import ChatRequest

ANSWER = {"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": "y" * 2000}}]}


def request(i: int) -> ChatRequest:
    return ChatRequest(model="m", temperature=0, messages=[{"role": "user", "content": f"question {i}"}])


def test_unique_requests_keep_the_cache_within_memory_mb_and_the_table_within_max_entries(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "router.db")
    cache = ResponseCache(db, CacheConfig(max_entries=1500, memory_mb=1))
    for i in range(3000):
        cache.put_exact(request(i), "ns", "m", 0.0, ANSWER)
    assert cache._bytes <= 1024 * 1024
    assert 0 < cache.size() < 1500  # the memory budget, not the count, bounds it here
    assert cache.get_exact(request(2999), "ns") is not None and cache.get_exact(request(0), "ns") is None
    assert cache.get_exact(request(2999), "ns").response == ANSWER  # type: ignore[union-attr]
    db.flush()
    rows = db.query("SELECT count(*) FROM cache")[0][0]
    assert rows <= 1500 + 512  # trimmed to max_entries every 512 evictions
    db.close()
    again = ResponseCache(SQLiteDatabase(tmp_path / "router.db"), CacheConfig(max_entries=1500, memory_mb=1))
    assert again._bytes <= 1024 * 1024 and again.get_exact(request(2999), "ns") is not None
