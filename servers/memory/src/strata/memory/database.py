"""The memory store's database: SQLite as the record of truth, and the vector engine kept in step with it.

SQLite (``memory.db``) holds memories, facts, entities, the audit log and an outbox of vector writes. It is stdlib,
transactional, and a commit in WAL mode with ``synchronous=FULL`` is on disk when ``remember`` returns. Kuzu would
add a second single-writer engine for a graph that is a few self-joins deep; SQLite's recursive queries are enough
for bounded neighbourhoods.

Vectors (dense + BM25) live in Qdrant (``vectors.py``). Every write commits to SQLite first, together with an
outbox row; the vector write follows, and the outbox row is cleared once it is done. A process killed between the
two leaves an outbox row, which the next open replays (writes are idempotent). A store always opens: a record the
vector engine refuses is skipped and listed in ``index_failures`` (``stats.unindexed``) rather than holding back
the writes after it.

One process owns a store (``sharing.py`` lets others share it); within it, a lock serialises calls. The
operations build on ``Database``: ``memories.py`` (remember, recall, anchors), ``facts.py`` (facts and the entity
graph), ``store.py`` (forget, timeline and stats across both, and ``MemoryStore`` itself).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from strata.memory.dates import spoken_date
from strata.memory.embedder import Embedder
from strata.memory.errors import EmbedderMismatchError
from strata.memory.settings import DATE_BOOST, KEYWORD_WEIGHT, KIND_BOOST, NEIGHBOUR_WEIGHT
from strata.memory.types import (
    MemoryRecord,
    as_utc,
)
from strata.memory.vectors import (
    Fusion,
    VectorIndex,
    VectorPoint,
    keyword_terms,
)
from strata.shared.errors import InvalidRequestError
from strata.shared.log import get_logger

__all__ = ["CHARS_PER_TOKEN", "SCHEMA_VERSION", "Database", "disk_usage", "estimate_tokens"]

log = get_logger("strata.memory")

SCHEMA_VERSION = 1
CHARS_PER_TOKEN = 4  # the usual English estimate; no tokenizer call per hit

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS memories(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    text TEXT NOT NULL,
    kind TEXT NOT NULL,
    scope TEXT NOT NULL,
    tags TEXT NOT NULL,
    source TEXT,
    context TEXT,
    occurred_at REAL NOT NULL,
    created_at REAL NOT NULL,
    content_hash TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS memories_dedup ON memories(scope, content_hash);
CREATE INDEX IF NOT EXISTS memories_time ON memories(occurred_at);
CREATE INDEX IF NOT EXISTS memories_scope_order ON memories(scope, id);
CREATE TABLE IF NOT EXISTS memory_about(
    memory_id INTEGER NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
    symbol TEXT NOT NULL,
    PRIMARY KEY(memory_id, symbol)
);
CREATE INDEX IF NOT EXISTS memory_about_symbol ON memory_about(symbol);
CREATE TABLE IF NOT EXISTS anchors(
    memory_id INTEGER NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
    symbol TEXT NOT NULL,
    hash TEXT NOT NULL,
    review TEXT,
    PRIMARY KEY(memory_id, symbol)
);
CREATE INDEX IF NOT EXISTS anchors_symbol ON anchors(symbol);
CREATE TABLE IF NOT EXISTS entities(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    type TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS predicates(name TEXT PRIMARY KEY, cardinality TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS facts(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_id INTEGER NOT NULL REFERENCES entities(id),
    predicate TEXT NOT NULL,
    object TEXT NOT NULL,
    object_id INTEGER REFERENCES entities(id),
    scope TEXT NOT NULL,
    valid_from REAL NOT NULL,
    valid_to REAL,
    recorded_at REAL NOT NULL,
    superseded_by INTEGER,
    source TEXT,
    memory_id INTEGER
);
CREATE INDEX IF NOT EXISTS facts_subject ON facts(subject_id, predicate, valid_from);
CREATE INDEX IF NOT EXISTS facts_object ON facts(object_id);
CREATE INDEX IF NOT EXISTS facts_memory ON facts(memory_id);
CREATE TABLE IF NOT EXISTS audit(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox(seq INTEGER PRIMARY KEY AUTOINCREMENT, memory_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS index_failures(memory_id INTEGER PRIMARY KEY, error TEXT NOT NULL, at REAL NOT NULL);
"""


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 1


def _ts(value: datetime | None) -> float | None:
    if value is None:
        return None
    try:
        return as_utc(value).timestamp()
    except ValueError as exc:  # checked at the edge too; the domain refuses it again for other callers
        raise InvalidRequestError(str(exc)) from exc


def _dt(value: float) -> datetime:
    """A stored time. One past the calendar (a store written before times were range-checked) reads as
    the calendar's end rather than making the row, and every query over it, unreadable."""
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, ValueError, OSError):
        return (datetime.max if value > 0 else datetime.min).replace(tzinfo=UTC)


def _entity_key(name: str) -> str:
    return " ".join(name.casefold().split())


def _content_hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).casefold().encode()).hexdigest()


def _parse_id(value: str, prefixes: Sequence[str]) -> tuple[str, int]:
    prefix, _, number = value.partition("_")
    if prefix not in prefixes or not number.isdigit():
        expected = " or ".join(f"'{p}_<n>'" for p in prefixes)
        raise InvalidRequestError(f"id '{value}' is not a known id form ({expected})")
    return prefix, int(number)


@dataclass
class _Pending:
    """Outbox rows whose vector write is done; cleared in the next transaction (one commit, not two)."""

    seqs: list[int] = field(default_factory=list)


class Database:
    """One store directory's SQLite record and vector index, opened and kept in step; the store's operations are
    methods of its subclasses."""

    def __init__(
        self,
        store_dir: Path,
        embedder: Embedder,
        vectors: VectorIndex,
        fusion: Fusion = "dbsf",
        *,
        keyword_weight: float = KEYWORD_WEIGHT,
        neighbour_weight: float = NEIGHBOUR_WEIGHT,
        query_expansion: bool = True,
        date_boost: float = DATE_BOOST,
        kind_boost: float = KIND_BOOST,
        index_dates: bool = True,
    ) -> None:
        self.store_dir = store_dir
        self.date_boost = date_boost
        self.kind_boost = kind_boost
        self.index_dates = index_dates
        self.query_expansion = query_expansion
        self.fusion: Fusion = fusion
        self.keyword_weight = keyword_weight
        self.neighbour_weight = neighbour_weight
        self.embedder = embedder
        self.vectors = vectors
        self._lock = threading.RLock()
        self._done = _Pending()
        store_dir.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(store_dir / "memory.db", check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=5000"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.executescript(SCHEMA)
        self._check_meta()
        self._replay_outbox()

    def _check_meta(self) -> None:
        wanted = {"schema": str(SCHEMA_VERSION), "embedder": self.embedder.name, "dim": str(self.embedder.dim)}
        stored = {row["key"]: row["value"] for row in self._db.execute("SELECT key, value FROM meta")}
        if not stored:
            with self._tx() as db:
                db.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", wanted.items())
            return
        if stored.get("embedder") != wanted["embedder"] or stored.get("dim") != wanted["dim"]:
            raise EmbedderMismatchError(
                f"the store at {self.store_dir} holds vectors from '{stored.get('embedder')}' "
                f"({stored.get('dim')} dims), not '{self.embedder.name}' ({self.embedder.dim}) - configure that "
                "embedder again, or use another store_dir"
            )

    def _replay_outbox(self) -> None:
        """Finish the vector writes a killed process left behind. A store always opens: a write that
        fails now stays pending (retried by the next write), a record that cannot be indexed is skipped
        and reported (stats: unindexed)."""
        pending = self._db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        if not pending:
            return
        log.info("replaying_vector_writes", count=pending)
        if self._index_committed():
            with self._lock, self._tx() as db:
                self._clear_done(db)
            self.vectors.flush()

    def close(self) -> None:
        with self._lock:
            self.vectors.close()
            if self._done.seqs:
                with self._tx() as db:
                    self._clear_done(db)
            self._db.close()

    class _Transaction:
        def __init__(self, store: Database) -> None:
            self.store = store

        def __enter__(self) -> sqlite3.Connection:
            self.store._db.execute("BEGIN IMMEDIATE")
            return self.store._db

        def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
            self.store._db.execute("COMMIT" if exc_type is None else "ROLLBACK")

    def _tx(self) -> Database._Transaction:
        return Database._Transaction(self)

    def _clear_done(self, db: sqlite3.Connection) -> None:
        if self._done.seqs:
            db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in self._done.seqs])
            self._done.seqs.clear()

    def _audit(self, db: sqlite3.Connection, action: str, **detail: Any) -> None:
        db.execute("INSERT INTO audit(at, action, detail) VALUES (?, ?, ?)", (time.time(), action, json.dumps(detail)))

    def _index_committed(self) -> bool:
        """The vector writes the outbox still holds, after a commit: this call's and any earlier ones
        that failed. On failure they stay in the outbox (retried by the next write and on open), but a
        record that fails alone while others succeed is skipped and reported, so one bad record never
        holds back the ones after it."""
        done = set(self._done.seqs)
        rows = [r for r in self._db.execute("SELECT seq, memory_id FROM outbox ORDER BY seq") if r["seq"] not in done]
        if not rows:
            return True
        ids = sorted({r["memory_id"] for r in rows})
        try:
            self._index_ids(ids)
        except Exception as exc:  # the memory is stored; only its vectors wait (stats: pending_index)
            log.warning("vector_write_failed", pending=len(ids), error=_one_line(exc))
            if len(ids) == 1 or not self._index_one_by_one(ids):
                return False
        self._done.seqs.extend(r["seq"] for r in rows)
        return True

    def _index_ids(self, ids: Sequence[int]) -> None:
        records = self._memories_by_id(ids)
        self._index([records[i] for i in ids if i in records])
        self.vectors.delete([i for i in ids if i not in records])

    def _index_one_by_one(self, ids: Sequence[int]) -> bool:
        """After a failed batch: index each id alone. When some succeed, the failing ones are bad records
        (skipped, reported in ``index_failures``); when none does, the engine is down and all stay pending."""
        failed: dict[int, str] = {}
        for memory_id in ids:
            try:
                self._index_ids([memory_id])
            except Exception as exc:  # judged below: one bad record, or an engine that is down
                failed[memory_id] = _one_line(exc)
        if len(failed) == len(ids):
            return False
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO index_failures(memory_id, error, at) VALUES (?, ?, ?)",
                [(i, error, time.time()) for i, error in failed.items()],
            )
        log.error("memories_not_indexed", ids=[f"mem_{i}" for i in failed], error=next(iter(failed.values()), ""))
        return True

    def _index(self, records: Sequence[MemoryRecord]) -> None:
        if not records:
            return
        ids = [int(r.id.removeprefix("mem_")) for r in records]
        contexts: dict[int, str] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            contexts.update(
                self._db.execute(
                    f"SELECT id, context FROM memories WHERE id IN ({marks}) AND context IS NOT NULL", chunk
                ).fetchall()
            )
        # What the embedder and the keyword index read: the day it happened, the text, and its context. The day
        # lets a question that names a date match by words too (LoCoMo turn R@10 +0.014, bench_memory.py).
        texts = [
            (f"{spoken_date(r.occurred_at)}: " if self.index_dates else "")
            + r.text
            + (f"\n{contexts[i]}" if i in contexts else "")
            for i, r in zip(ids, records, strict=True)
        ]
        dense = self.embedder.embed(texts)
        points = [
            VectorPoint(
                id=int(r.id.removeprefix("mem_")),
                dense=dense[i],
                sparse=keyword_terms(texts[i]),
                payload={
                    "scope": r.scope,
                    "kind": r.kind,
                    "tags": r.tags,
                    "about": r.about,
                    "t": r.occurred_at.timestamp(),
                },
            )
            for i, r in enumerate(records)
        ]
        self.vectors.upsert(points)

    def _memories_by_id(self, ids: Sequence[int]) -> dict[int, MemoryRecord]:
        found: dict[int, MemoryRecord] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            about: dict[int, list[str]] = {}
            for row in self._db.execute(
                f"SELECT memory_id, symbol FROM memory_about WHERE memory_id IN ({marks}) ORDER BY symbol", chunk
            ):
                about.setdefault(row["memory_id"], []).append(row["symbol"])
            review: dict[int, list[str]] = {}
            for row in self._db.execute(
                f"SELECT memory_id, review FROM anchors WHERE review IS NOT NULL AND memory_id IN ({marks}) "
                "ORDER BY symbol",
                chunk,
            ):
                review.setdefault(row["memory_id"], []).append(row["review"])
            for row in self._db.execute(f"SELECT * FROM memories WHERE id IN ({marks})", chunk):
                found[row["id"]] = MemoryRecord(
                    id=f"mem_{row['id']}",
                    text=row["text"],
                    kind=row["kind"],
                    scope=row["scope"],
                    tags=json.loads(row["tags"]),
                    about=about.get(row["id"], []),
                    needs_review=review.get(row["id"], []),
                    source=row["source"],
                    occurred_at=_dt(row["occurred_at"]),
                    created_at=_dt(row["created_at"]),
                )
        return found


def _scope_clause(column: str, scopes: Sequence[str]) -> tuple[str, list[Any]]:
    if not scopes:
        return "1", []
    return f"{column} IN ({','.join('?' * len(scopes))})", list(scopes)


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def disk_usage(path: Path) -> int:
    """Bytes allocated on disk (the engine preallocates sparse files: their apparent size misleads)."""
    return sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file())
