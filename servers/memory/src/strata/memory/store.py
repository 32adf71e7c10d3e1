"""The memory store: memories with hybrid recall, facts with valid time, an entity graph, an audit log.

SQLite (``memory.db``) is the record of truth: memories, facts, entities, the audit log and an outbox of
vector writes. It is stdlib, transactional, and a commit in WAL mode with ``synchronous=FULL`` is on
disk when ``remember`` returns. Kuzu would add a second single-writer engine for a graph that is a few
self-joins deep; SQLite's recursive queries are enough for bounded neighbourhoods.

Vectors (dense + BM25) live in Qdrant (``vectors.py``). Every write commits to SQLite first, together
with an outbox row; the vector write follows, and the outbox row is cleared once it is done. A process
killed between the two leaves an outbox row, which the next open replays (writes are idempotent). A
store always opens: a record the vector engine refuses is skipped and listed in ``index_failures``
(``stats.unindexed``) rather than holding back the writes after it.

One process owns a store (``owner.py`` lets others share it); within it, a lock serialises calls.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from strata.memory.dates import date_windows
from strata.memory.embedder import Embedder
from strata.memory.errors import CardinalityError, EmbedderMismatchError, UnknownIdError
from strata.memory.expand import EXPANSION_WEIGHT, expansions
from strata.memory.settings import DATE_BOOST, KEYWORD_WEIGHT, NEIGHBOUR_WEIGHT
from strata.memory.types import (
    AnchorCheck,
    AnchoredSymbols,
    AnchorMark,
    Cardinality,
    EntityRef,
    Fact,
    FactList,
    ForgetResult,
    MemoryRecord,
    Neighbor,
    Neighborhood,
    RecallHit,
    RecallResult,
    RememberResult,
    SetFactResult,
    Stats,
    Timeline,
    TimelineEvent,
    as_utc,
)
from strata.memory.vectors import (
    Fusion,
    SearchHit,
    SparseTerms,
    VectorFilter,
    VectorIndex,
    VectorPoint,
    keyword_terms,
)
from strata.shared.errors import InvalidRequestError
from strata.shared.log import get_logger

__all__ = ["MemoryFilter", "MemoryStore", "NewMemory", "estimate_tokens"]

log = get_logger("strata.memory")

SCHEMA_VERSION = 1
# Candidates each channel contributes before fusion: deeper than k so fusion can promote a hit that one
# channel ranks low and the other high.
CANDIDATES_PER_K = 4
MIN_CANDIDATES = 40
NEIGHBOUR_WINDOW_S = 3600.0  # memories further apart in time than this are not neighbours
MAX_FORGET_IDS = 200
MAX_ANCHOR_CHECK = 2_000  # symbols one check_anchors call compares
# A forget by filter alone that matches more memories than this needs all_in_scope (as one that matches all).
MAX_FORGET_BY_FILTER = 100
MAX_TIMELINE_FACTS = 10_000  # facts read to place their start/end events in a timeline
CHARS_PER_TOKEN = 4  # the usual English estimate; no tokenizer call per hit
HIT_OVERHEAD_TOKENS = 24  # id, scope, kind, time and scores around each hit's text

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


@dataclass(frozen=True)
class NewMemory:
    """One memory to store; validated by the caller (the MCP layer or the import command)."""

    text: str
    kind: str = "note"
    scope: str = "user"
    tags: tuple[str, ...] = ()
    about: tuple[str, ...] = ()
    source: str | None = None
    occurred_at: datetime | None = None
    # Text that helps find this memory but is not part of it (the message it answers, the file it is
    # about): indexed with it, never returned. Measured on LoCoMo: turn recall@10 0.58 -> 0.66 with the
    # previous turn as context.
    context: str | None = None
    # (symbol, content hash when written) for symbols of ``about`` whose code the memory describes: check_anchors
    # marks the memory for review when that code changes or goes (the hashes come from codegraph's symbol_hashes).
    anchors: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class MemoryFilter:
    """Which memories a recall, timeline or forget looks at; empty fields do not filter."""

    scopes: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    about: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None

    def check(self) -> None:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise InvalidRequestError(f"invalid time range: since {self.since} is not before until {self.until}")

    def is_empty(self) -> bool:
        return not (self.scopes or self.kinds or self.tags or self.about or self.since or self.until)

    def vector_filter(self) -> VectorFilter:
        return VectorFilter(self.scopes, self.kinds, self.tags, self.about, _ts(self.since), _ts(self.until))

    def sql(self) -> tuple[str, list[Any]]:
        """A WHERE clause over ``memories m`` and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, values in (("m.scope", self.scopes), ("m.kind", self.kinds)):
            if values:
                clauses.append(f"{column} IN ({','.join('?' * len(values))})")
                params.extend(values)
        if self.tags:
            clauses.append(
                f"EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value IN ({','.join('?' * len(self.tags))}))"
            )
            params.extend(self.tags)
        if self.about:
            marks = ",".join("?" * len(self.about))
            clauses.append(f"m.id IN (SELECT memory_id FROM memory_about WHERE symbol IN ({marks}))")
            params.extend(self.about)
        if self.since is not None:
            clauses.append("m.occurred_at >= ?")
            params.append(self.since.timestamp())
        if self.until is not None:
            clauses.append("m.occurred_at < ?")
            params.append(self.until.timestamp())
        return (" AND ".join(clauses) or "1"), params


@dataclass
class _Pending:
    """Outbox rows whose vector write is done; cleared in the next transaction (one commit, not two)."""

    seqs: list[int] = field(default_factory=list)


class MemoryStore:
    """Memories, facts and entities of one store directory; every method is safe to call from threads."""

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
    ) -> None:
        self.store_dir = store_dir
        self.date_boost = date_boost
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

    # ----------------------------------------------------------------- lifecycle

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
        def __init__(self, store: MemoryStore) -> None:
            self.store = store

        def __enter__(self) -> sqlite3.Connection:
            self.store._db.execute("BEGIN IMMEDIATE")
            return self.store._db

        def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
            self.store._db.execute("COMMIT" if exc_type is None else "ROLLBACK")

    def _tx(self) -> MemoryStore._Transaction:
        return MemoryStore._Transaction(self)

    def _clear_done(self, db: sqlite3.Connection) -> None:
        if self._done.seqs:
            db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in self._done.seqs])
            self._done.seqs.clear()

    def _audit(self, db: sqlite3.Connection, action: str, **detail: Any) -> None:
        db.execute("INSERT INTO audit(at, action, detail) VALUES (?, ?, ?)", (time.time(), action, json.dumps(detail)))

    # ----------------------------------------------------------------- memories

    def remember(self, items: Sequence[NewMemory], *, max_chars: int) -> list[RememberResult]:
        """Store memories (one transaction); the same text in the same scope is stored once (its anchors, if
        given again, are renewed and its review mark cleared: it was just stated again)."""
        for item in items:
            if not item.text.strip():
                raise InvalidRequestError("memory text is empty")
            loose = sorted({symbol for symbol, _ in item.anchors} - set(item.about))
            if loose:
                raise InvalidRequestError(f"anchors name symbols the memory is not about: {loose}; add them to about")
            for name, value in (("text", item.text), ("context", item.context or "")):
                if len(value) > max_chars:
                    raise InvalidRequestError(
                        f"memory {name} has {len(value)} characters; the limit is {max_chars} (max_text_chars)"
                    )
        with self._lock:
            results: list[RememberResult] = []
            fresh: list[int] = []
            now = time.time()
            with self._tx() as db:
                self._clear_done(db)
                for item in items:
                    digest = _content_hash(item.text)
                    row = db.execute(
                        "SELECT id FROM memories WHERE scope = ? AND content_hash = ?", (item.scope, digest)
                    ).fetchone()
                    if row is not None:
                        self._anchor(db, row["id"], item.anchors)
                        results.append(RememberResult(id=f"mem_{row['id']}", deduplicated=True))
                        continue
                    occurred = _ts(item.occurred_at) or now
                    cursor = db.execute(
                        "INSERT INTO memories(text, kind, scope, tags, source, context, occurred_at, created_at,"
                        " content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            item.text,
                            item.kind,
                            item.scope,
                            json.dumps(sorted(set(item.tags))),
                            item.source,
                            item.context,
                            occurred,
                            now,
                            digest,
                        ),
                    )
                    memory_id = int(cursor.lastrowid or 0)
                    db.executemany(
                        "INSERT OR IGNORE INTO memory_about(memory_id, symbol) VALUES (?, ?)",
                        [(memory_id, symbol) for symbol in item.about],
                    )
                    self._anchor(db, memory_id, item.anchors)
                    db.execute("INSERT INTO outbox(memory_id) VALUES (?)", (memory_id,))
                    fresh.append(memory_id)
                    results.append(RememberResult(id=f"mem_{memory_id}", deduplicated=False))
                if fresh:
                    self._audit(db, "remember", ids=[f"mem_{i}" for i in fresh])
            indexed = self._index_committed()
            return [r.model_copy(update={"indexed": indexed}) for r in results]

    @staticmethod
    def _anchor(db: sqlite3.Connection, memory_id: int, anchors: Sequence[tuple[str, str]]) -> None:
        db.executemany(
            "INSERT INTO anchors(memory_id, symbol, hash, review) VALUES (?, ?, ?, NULL) "
            "ON CONFLICT(memory_id, symbol) DO UPDATE SET hash = excluded.hash, review = NULL",
            [(memory_id, symbol, digest) for symbol, digest in anchors],
        )

    def check_anchors(self, symbols: dict[str, str | None]) -> AnchorCheck:
        """Compare each symbol's content hash now (None: it no longer exists) with the hash every memory anchored
        to it kept: a difference marks the memory for review, with the reason; a match clears an earlier mark."""
        if len(symbols) > MAX_ANCHOR_CHECK:
            raise InvalidRequestError(f"{len(symbols)} symbols; check at most {MAX_ANCHOR_CHECK} at a time")
        marked: dict[int, list[str]] = {}
        cleared = checked = 0
        with self._lock, self._tx() as db:
            for symbol, now in symbols.items():
                for row in db.execute("SELECT memory_id, hash, review FROM anchors WHERE symbol = ?", (symbol,)):
                    checked += 1
                    if now is None:
                        review: str | None = f"{symbol} is no longer in the code"
                    elif now != row["hash"]:
                        review = f"the code of {symbol} changed since this was written"
                    else:
                        review = None
                    if review is None and row["review"] is not None:
                        cleared += 1
                    if review is not None:
                        marked.setdefault(row["memory_id"], []).append(review)
                    if review != row["review"]:
                        db.execute(
                            "UPDATE anchors SET review = ? WHERE memory_id = ? AND symbol = ?",
                            (review, row["memory_id"], symbol),
                        )
            if marked or cleared:
                self._audit(db, "check_anchors", marked=[f"mem_{i}" for i in marked], cleared=cleared)
        return AnchorCheck(
            symbols=len(symbols), anchors=checked, cleared=cleared,
            marked=[AnchorMark(id=f"mem_{i}", reasons=reasons) for i, reasons in sorted(marked.items())],
        )  # fmt: skip

    def anchored_symbols(self, scopes: Sequence[str], limit: int) -> AnchoredSymbols:
        """The symbols memories are anchored to (in these scopes, or all): what to ask codegraph about."""
        where, params = "", list(scopes)
        if scopes:
            where = f" WHERE m.scope IN ({','.join('?' * len(scopes))})"
        rows = self._db.execute(
            "SELECT a.symbol, COUNT(*) FROM anchors a JOIN memories m ON m.id = a.memory_id"
            f"{where} GROUP BY a.symbol ORDER BY a.symbol",
            params,
        ).fetchall()
        return AnchoredSymbols(symbols=[r[0] for r in rows[:limit]], memories=sum(r[1] for r in rows),
                               left_out=max(len(rows) - limit, 0))  # fmt: skip

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
        texts = [f"{r.text}\n{contexts[i]}" if i in contexts else r.text for i, r in zip(ids, records, strict=True)]
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

    def get_memory(self, memory_id: str) -> MemoryRecord:
        _, number = _parse_id(memory_id, ("mem",))
        with self._lock:
            found = self._memories_by_id([number])
        if number not in found:
            raise UnknownIdError(f"no memory '{memory_id}'")
        return found[number]

    def recall(self, query: str, k: int, flt: MemoryFilter, max_tokens: int) -> RecallResult:
        """The k memories that best match ``query`` by meaning and by keywords, within ``max_tokens``."""
        if not query.strip():
            raise InvalidRequestError("recall query is empty")
        flt.check()
        dense = self.embedder.embed([query])[0]
        terms = keyword_terms(query, query=True)
        added = expansions(query) if self.query_expansion else []
        if added:  # synonyms of its words, at a lower weight than its own (expand.py)
            extra = keyword_terms(" ".join(added), query=True)
            weights = dict(zip(terms.indices, terms.values, strict=True))
            for index, value in zip(extra.indices, extra.values, strict=True):
                weights.setdefault(index, value * EXPANSION_WEIGHT)
            terms = SparseTerms(list(weights), list(weights.values()))
        with self._lock:
            found = self.vectors.search(
                dense,
                terms,
                flt.vector_filter(),
                max(k * CANDIDATES_PER_K, MIN_CANDIDATES),
                self.fusion,
                self.keyword_weight,
            )
            if self.neighbour_weight > 0:
                found = self._lift_neighbours(found, flt)
            records = self._memories_by_id([h.id for h in found])
        windows = date_windows(query) if self.date_boost > 0 else []
        if windows:  # a question that names a date is about what happened then (dates.py)
            for hit in found:
                record = records.get(hit.id)
                if record is not None and any(w.holds(record.occurred_at) for w in windows):
                    hit.score *= 1 + self.date_boost
            found.sort(key=lambda h: -h.score)
        hits: list[RecallHit] = []
        tokens = 0
        left_out = 0
        for hit in found:
            record = records.get(hit.id)
            if record is None:  # a vector whose memory was just forgotten
                continue
            if len(hits) + left_out >= k:
                break
            cost = estimate_tokens(record.text) + HIT_OVERHEAD_TOKENS
            if tokens + cost > max_tokens:
                left_out += 1
                continue
            tokens += cost
            hits.append(
                RecallHit(
                    **record.model_dump(exclude={"created_at"}),
                    score=round(hit.score, 6),
                    dense_rank=hit.dense_rank,
                    keyword_rank=hit.keyword_rank,
                    near=None if hit.near is None else f"mem_{hit.near}",
                )
            )
        return RecallResult(hits=hits, left_out=left_out, tokens=tokens)

    def _lift_neighbours(self, found: list[SearchHit], flt: MemoryFilter) -> list[SearchHit]:
        """Add to each hit ``neighbour_weight`` times the best score of the memories stored right before
        and after it (same scope, within ``NEIGHBOUR_WINDOW_S``); a neighbour that neither channel found
        joins the hits (if it passes the filter), marked ``near`` the hit that lifted it."""
        by_id = {h.id: h for h in found}
        lift: dict[int, tuple[float, int]] = {}
        marks = ",".join("?" * len(by_id))
        where_is = {
            r["id"]: r
            for r in self._db.execute(f"SELECT id, scope, occurred_at FROM memories WHERE id IN ({marks})", list(by_id))
        }
        for hit in found:
            row = where_is.get(hit.id)
            if row is None:  # a vector whose memory was just forgotten
                continue
            for op, order in (("<", "DESC"), (">", "ASC")):
                other = self._db.execute(
                    f"SELECT id, occurred_at FROM memories WHERE scope = ? AND id {op} ? ORDER BY id {order} LIMIT 1",
                    (row["scope"], hit.id),
                ).fetchone()
                if other is None or abs(other["occurred_at"] - row["occurred_at"]) > NEIGHBOUR_WINDOW_S:
                    continue
                if other["id"] not in lift or lift[other["id"]][0] < hit.score:
                    lift[other["id"]] = (hit.score, hit.id)
        new = [i for i in lift if i not in by_id]
        if new:
            where, params = flt.sql()
            marks = ",".join("?" * len(new))
            allowed = {
                r[0]
                for r in self._db.execute(
                    f"SELECT m.id FROM memories m WHERE m.id IN ({marks}) AND {where}", [*new, *params]
                )
            }
            for point_id in new:
                if point_id in allowed:
                    by_id[point_id] = SearchHit(point_id, 0.0, near=lift[point_id][1])
        lifted = [
            replace(h, score=h.score + self.neighbour_weight * lift[h.id][0]) if h.id in lift else h
            for h in by_id.values()
        ]
        return sorted(lifted, key=lambda h: (-h.score, h.id))

    # ----------------------------------------------------------------- entities and facts

    def _entity(self, db: sqlite3.Connection, name: str, type_: str | None = None, *, create: bool) -> int:
        key = _entity_key(name)
        if not key:
            raise InvalidRequestError("entity name is empty")
        row = db.execute("SELECT id, type FROM entities WHERE key = ?", (key,)).fetchone()
        if row is not None:
            if type_ and row["type"] is None:
                db.execute("UPDATE entities SET type = ? WHERE id = ?", (type_, row["id"]))
            return int(row["id"])
        if not create:
            raise UnknownIdError(f"no entity named '{name}'")
        cursor = db.execute(
            "INSERT INTO entities(key, name, type, created_at) VALUES (?, ?, ?, ?)",
            (key, " ".join(name.split()), type_, time.time()),
        )
        return int(cursor.lastrowid or 0)

    def _cardinality(self, db: sqlite3.Connection, predicate: str, wanted: Cardinality | None) -> Cardinality:
        row = db.execute("SELECT cardinality FROM predicates WHERE name = ?", (predicate,)).fetchone()
        if row is None:
            chosen: Cardinality = wanted or "one"
            db.execute("INSERT INTO predicates(name, cardinality) VALUES (?, ?)", (predicate, chosen))
            return chosen
        stored: Cardinality = row["cardinality"]
        if wanted is not None and wanted != stored:
            raise CardinalityError(
                f"predicate '{predicate}' is {'single' if stored == 'one' else 'multi'}-valued "
                f"(cardinality '{stored}'); it cannot be set as '{wanted}'"
            )
        return stored

    def set_fact(
        self,
        subject: str,
        predicate: str,
        obj: str,
        *,
        scope: str,
        object_is_entity: bool = False,
        cardinality: Cardinality | None = None,
        valid_from: datetime | None = None,
        valid_to: datetime | None = None,
        source: str | None = None,
        memory_id: str | None = None,
        subject_type: str | None = None,
        object_type: str | None = None,
    ) -> SetFactResult:
        """Record (subject, predicate, object) valid from ``valid_from``; a single-valued predicate's
        earlier value is ended there (kept, with ``superseded_by``), never deleted."""
        now = time.time()
        end = _ts(valid_to)
        # valid_to alone ends the value that holds (it must hold just before valid_to).
        only_end = valid_from is None and end is not None
        start = min(now, end - 1e-3) if only_end and end is not None else (_ts(valid_from) or now)
        if end is not None and end <= start:
            raise InvalidRequestError(f"invalid time range: valid_to {valid_to} is not after valid_from {_dt(start)}")
        source_memory = _parse_id(memory_id, ("mem",))[1] if memory_id else None
        with self._lock, self._tx() as db:
            if (
                source_memory is not None
                and db.execute("SELECT 1 FROM memories WHERE id = ?", (source_memory,)).fetchone() is None
            ):
                raise UnknownIdError(f"no memory '{memory_id}'")
            subject_id = self._entity(db, subject, subject_type, create=True)
            object_id = self._entity(db, obj, object_type, create=True) if object_is_entity else None
            mode = self._cardinality(db, predicate, cardinality)
            rows = db.execute(
                "SELECT * FROM facts WHERE subject_id = ? AND predicate = ? AND scope = ? AND "
                "(valid_to IS NULL OR valid_to > valid_from) ORDER BY valid_from",
                (subject_id, predicate, scope),
            ).fetchall()
            object_key = _entity_key(obj) if object_is_entity else obj
            for row in rows:  # the same value already holds at `start`: unchanged, or ended at valid_to
                same = (_entity_key(row["object"]) if row["object_id"] else row["object"]) == object_key
                holds = row["valid_from"] <= start and (row["valid_to"] is None or row["valid_to"] > start)
                if same and holds:
                    if end is None or row["valid_to"] == end:
                        return SetFactResult(fact=self._fact(db, row["id"]), status="unchanged")
                    db.execute("UPDATE facts SET valid_to = ? WHERE id = ?", (end, row["id"]))
                    self._audit(db, "end_fact", id=f"fact_{row['id']}", valid_to=end)
                    return SetFactResult(fact=self._fact(db, row["id"]), status="ended")
            if only_end:
                raise InvalidRequestError(
                    f"'{subject} {predicate} {obj}' does not hold before {valid_to}, so there is nothing to end - "
                    "give valid_from as well to record a closed period"
                )
            superseded: list[int] = []
            if mode == "one":
                for row in rows:
                    if row["valid_from"] > start:  # a later value is known: this one lasts until it
                        end = row["valid_from"] if end is None else min(end, row["valid_from"])
                        break
                    if row["valid_to"] is None or row["valid_to"] > start:
                        superseded.append(row["id"])
            cursor = db.execute(
                "INSERT INTO facts(subject_id, predicate, object, object_id, scope, valid_from, valid_to,"
                " recorded_at, source, memory_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (subject_id, predicate, obj, object_id, scope, start, end, now, source, source_memory),
            )
            new_id = int(cursor.lastrowid or 0)
            # Ending at `start` keeps the old value queryable as of any earlier time; a value that began
            # at the same instant becomes an empty interval (a correction), kept for the record.
            db.executemany(
                "UPDATE facts SET valid_to = ?, superseded_by = ? WHERE id = ?",
                [(start, new_id, old) for old in superseded],
            )
            self._audit(db, "set_fact", id=f"fact_{new_id}", superseded=[f"fact_{i}" for i in superseded])
            return SetFactResult(
                fact=self._fact(db, new_id), status="created", superseded=[f"fact_{i}" for i in superseded]
            )

    def _fact(self, db: sqlite3.Connection, fact_id: int) -> Fact:
        return self._facts(db, "f.id = ?", [fact_id], 1)[0][0]

    def _facts(self, db: sqlite3.Connection, where: str, params: list[Any], limit: int) -> tuple[list[Fact], int]:
        total = db.execute(
            f"SELECT count(*) FROM facts f JOIN entities s ON s.id = f.subject_id WHERE {where}", params
        ).fetchone()[0]
        rows = db.execute(
            "SELECT f.*, s.name AS subject_name, o.name AS object_name FROM facts f "
            "JOIN entities s ON s.id = f.subject_id LEFT JOIN entities o ON o.id = f.object_id "
            f"WHERE {where} ORDER BY s.key, f.predicate, f.valid_from, f.id LIMIT ?",
            [*params, limit],
        ).fetchall()
        facts = [
            Fact(
                id=f"fact_{r['id']}",
                subject=r["subject_name"],
                predicate=r["predicate"],
                object=r["object_name"] if r["object_id"] is not None else r["object"],
                object_is_entity=r["object_id"] is not None,
                scope=r["scope"],
                valid_from=_dt(r["valid_from"]),
                valid_to=None if r["valid_to"] is None else _dt(r["valid_to"]),
                recorded_at=_dt(r["recorded_at"]),
                superseded_by=None if r["superseded_by"] is None else f"fact_{r['superseded_by']}",
                source=r["source"],
                memory_id=None if r["memory_id"] is None else f"mem_{r['memory_id']}",
            )
            for r in rows
        ]
        return facts, total - len(facts)

    def get_facts(
        self,
        subject: str | None,
        predicate: str | None,
        *,
        as_of: datetime | None,
        history: bool,
        scopes: Sequence[str],
        limit: int,
    ) -> FactList:
        """Facts valid at ``as_of`` (default now), or every version with ``history``."""
        clauses: list[str] = []
        params: list[Any] = []
        with self._lock:
            if subject is not None:
                key = _entity_key(subject)
                if self._db.execute("SELECT 1 FROM entities WHERE key = ?", (key,)).fetchone() is None:
                    raise UnknownIdError(f"no entity named '{subject}'")
                clauses.append("s.key = ?")
                params.append(key)
            if predicate is not None:
                clauses.append("f.predicate = ?")
                params.append(predicate)
            if scopes:
                clauses.append(f"f.scope IN ({','.join('?' * len(scopes))})")
                params.extend(scopes)
            if not history:
                at = _ts(as_of) or time.time()
                clauses.append("f.valid_from <= ? AND (f.valid_to IS NULL OR f.valid_to > ?)")
                params.extend([at, at])
            facts, left_out = self._facts(self._db, " AND ".join(clauses) or "1", params, limit)
        return FactList(facts=facts, left_out=left_out)

    def relate(
        self,
        source: str,
        relation: str,
        target: str,
        *,
        scope: str,
        source_type: str | None = None,
        target_type: str | None = None,
        valid_from: datetime | None = None,
    ) -> SetFactResult:
        """An edge between two entities: a multi-valued fact whose object is an entity."""
        return self.set_fact(
            source,
            relation,
            target,
            scope=scope,
            object_is_entity=True,
            cardinality="many",
            valid_from=valid_from,
            subject_type=source_type,
            object_type=target_type,
        )

    def neighbors(
        self, entity: str, *, depth: int, relations: Sequence[str], as_of: datetime | None, limit: int
    ) -> Neighborhood:
        """Entities linked to ``entity`` within ``depth`` hops by facts valid at ``as_of`` (breadth first)."""
        at = _ts(as_of) or time.time()
        with self._lock:
            key = _entity_key(entity)
            start = self._db.execute("SELECT id, name, type FROM entities WHERE key = ?", (key,)).fetchone()
            if start is None:
                raise UnknownIdError(f"no entity named '{entity}'")
            names = {start["id"]: (start["name"], start["type"])}
            seen = {start["id"]}
            frontier = [start["id"]]
            found: list[Neighbor] = []
            left_out = 0
            relation_sql = f" AND f.predicate IN ({','.join('?' * len(relations))})" if relations else ""
            for level in range(1, depth + 1):
                if not frontier:
                    break
                marks = ",".join("?" * len(frontier))
                rows = self._db.execute(
                    "SELECT f.id, f.predicate, f.subject_id, f.object_id, 'out' AS direction FROM facts f "
                    f"WHERE f.subject_id IN ({marks}) AND f.object_id IS NOT NULL{relation_sql} "
                    "AND f.valid_from <= ? AND (f.valid_to IS NULL OR f.valid_to > ?) "
                    "UNION ALL SELECT f.id, f.predicate, f.object_id, f.subject_id, 'in' FROM facts f "
                    f"WHERE f.object_id IN ({marks}){relation_sql} "
                    "AND f.valid_from <= ? AND (f.valid_to IS NULL OR f.valid_to > ?) ORDER BY 1",
                    [*frontier, *relations, at, at, *frontier, *relations, at, at],
                ).fetchall()
                next_frontier: list[int] = []
                for row in rows:
                    other = row[3]
                    if other in seen:
                        continue
                    seen.add(other)
                    next_frontier.append(other)  # walked even past the limit, so left_out is exact
                    if len(found) >= limit:
                        left_out += 1
                        continue
                    found.append(
                        Neighbor(
                            entity=str(other),
                            relation=row["predicate"],
                            direction=row["direction"],
                            via=str(row[2]),
                            depth=level,
                            fact_id=f"fact_{row['id']}",
                        )
                    )
                frontier = next_frontier
            ids = {int(n.entity) for n in found} | {int(n.via) for n in found}
            marks = ",".join("?" * len(ids))
            for row in self._db.execute(f"SELECT id, name, type FROM entities WHERE id IN ({marks})", list(ids)):
                names[row["id"]] = (row["name"], row["type"])
        for n in found:
            n.entity, n.type = names[int(n.entity)]
            n.via = names[int(n.via)][0]
        return Neighborhood(
            entity=EntityRef(name=start["name"], type=start["type"]), neighbors=found, left_out=left_out
        )

    # ----------------------------------------------------------------- forget, timeline, stats

    def forget(
        self,
        ids: Sequence[str],
        entity: str | None,
        flt: MemoryFilter,
        *,
        dry_run: bool,
        reason: str | None,
        all_in_scope: bool = False,
    ) -> ForgetResult:
        """Delete memories, facts or an entity; derived data goes too (vectors, code links, facts taken from
        a forgotten memory, facts naming a forgotten entity). The audit log keeps ids and counts, not text.

        Selectors intersect: ``ids`` with a filter forgets only the listed memories the filter matches (and
        the listed facts in its scopes); ``entity`` combines with ``scopes`` only. A filter alone that
        matches every memory of the scopes it covers, or more than ``MAX_FORGET_BY_FILTER``, is refused
        unless ``all_in_scope`` is set and scopes are named; ``dry_run`` always shows the count."""
        if not ids and entity is None and flt.is_empty():
            raise InvalidRequestError(
                "forget needs ids, an entity or at least one filter (it never forgets everything)"
            )
        if all_in_scope and not flt.scopes:
            raise InvalidRequestError("all_in_scope needs scopes: name the scopes whose memories may all be forgotten")
        if entity is not None and (ids or flt.kinds or flt.tags or flt.about or flt.since or flt.until):
            raise InvalidRequestError(
                "entity combines only with scopes: forget an entity (its facts in those scopes), or memories "
                "and facts by ids and filters, in separate calls"
            )
        flt.check()
        memory_ids: set[int] = set()
        fact_ids: set[int] = set()
        entity_ids: set[int] = set()
        for value in ids:
            prefix, number = _parse_id(value, ("mem", "fact"))
            (memory_ids if prefix == "mem" else fact_ids).add(number)
        needs_confirmation = ""
        with self._lock, self._tx() as db:
            self._clear_done(db)
            for number in sorted(memory_ids):
                if db.execute("SELECT 1 FROM memories WHERE id = ?", (number,)).fetchone() is None:
                    raise UnknownIdError(f"no memory 'mem_{number}'")
            for number in sorted(fact_ids):
                if db.execute("SELECT 1 FROM facts WHERE id = ?", (number,)).fetchone() is None:
                    raise UnknownIdError(f"no fact 'fact_{number}'")
            in_scopes, scope_params = _scope_clause("scope", flt.scopes)
            if entity is not None:
                key = self._entity(db, entity, create=False)
                naming = self._ids_in(
                    db, "SELECT id FROM facts WHERE (subject_id IN ({0}) OR object_id IN ({0}))", [key]
                )
                fact_ids = self._ids_in(
                    db, f"SELECT id FROM facts WHERE id IN ({{}}) AND {in_scopes}", naming, scope_params
                )
                if fact_ids == naming:  # nothing of it stays in other scopes: the entity goes too
                    entity_ids.add(key)
            elif not flt.is_empty():
                where, params = flt.sql()
                matching = {r[0] for r in db.execute(f"SELECT m.id FROM memories m WHERE {where}", params)}
                if ids:
                    memory_ids &= matching
                    fact_ids = self._ids_in(
                        db, f"SELECT id FROM facts WHERE id IN ({{}}) AND {in_scopes}", fact_ids, scope_params
                    )
                else:
                    memory_ids = matching
                    needs_confirmation = self._forget_needs_confirmation(db, len(matching), flt, all_in_scope)
            fact_ids.update(self._ids_in(db, "SELECT id FROM facts WHERE memory_id IN ({})", memory_ids))
            removed = [f"mem_{i}" for i in sorted(memory_ids)] + [f"fact_{i}" for i in sorted(fact_ids)]
            result = ForgetResult(
                dry_run=dry_run,
                memories=len(memory_ids),
                facts=len(fact_ids),
                entities=len(entity_ids),
                ids=removed[:MAX_FORGET_IDS],
                needs_all_in_scope=bool(needs_confirmation),
            )
            if dry_run:
                return result
            if needs_confirmation:
                raise InvalidRequestError(needs_confirmation)
            self._delete_in(db, "DELETE FROM facts WHERE id IN ({})", fact_ids)
            self._delete_in(db, "UPDATE facts SET superseded_by = NULL WHERE superseded_by IN ({})", fact_ids)
            self._delete_in(db, "DELETE FROM entities WHERE id IN ({})", entity_ids)
            self._delete_in(db, "DELETE FROM memories WHERE id IN ({})", memory_ids)
            db.executemany("INSERT INTO outbox(memory_id) VALUES (?)", [(i,) for i in memory_ids])
            self._audit(
                db,
                "forget",
                reason=reason,
                memories=len(memory_ids),
                facts=len(fact_ids),
                entities=len(entity_ids),
                ids=removed,
            )
        with self._lock:
            self._index_committed()
        return result

    @staticmethod
    def _forget_needs_confirmation(db: sqlite3.Connection, matched: int, flt: MemoryFilter, all_in_scope: bool) -> str:
        """Why a forget by filter alone needs ``all_in_scope`` (empty when it does not)."""
        if all_in_scope or not matched:
            return ""
        in_scopes, params = _scope_clause("scope", flt.scopes)
        total = db.execute(f"SELECT count(*) FROM memories WHERE {in_scopes}", params).fetchone()[0]
        where = f"scope(s) {', '.join(flt.scopes)}" if flt.scopes else "every scope"
        if matched >= total:
            why = f"this filter matches all {matched} memories in {where}"
        elif matched > MAX_FORGET_BY_FILTER:
            why = f"this filter matches {matched} memories in {where}, more than {MAX_FORGET_BY_FILTER}"
        else:
            return ""
        return f"{why}; to forget them pass all_in_scope=true with the scopes named (dry_run=true shows the count)"

    @staticmethod
    def _ids_in(db: sqlite3.Connection, sql: str, ids: Iterable[int], extra: Sequence[Any] = ()) -> set[int]:
        """Run ``sql`` with each ``{}`` (or ``{0}``) filled by a chunk of ``ids``; ``extra`` parameters follow."""
        values = list(ids)
        found: set[int] = set()
        for start in range(0, len(values), 400):
            chunk = values[start : start + 400]
            params = [*(chunk * sql.count("{")), *extra]
            found.update(r[0] for r in db.execute(sql.format(",".join("?" * len(chunk))), params))
        return found

    @staticmethod
    def _delete_in(db: sqlite3.Connection, sql: str, ids: Iterable[int]) -> None:
        values = list(ids)
        for start in range(0, len(values), 400):
            chunk = values[start : start + 400]
            db.execute(sql.format(",".join("?" * len(chunk))), chunk)

    def timeline(self, flt: MemoryFilter, entity: str | None, *, newest_first: bool, limit: int) -> Timeline:
        """Memories and fact changes in time order (memories by when they happened, facts by valid time)."""
        flt.check()
        events: list[TimelineEvent] = []
        total = 0
        with self._lock:
            if entity is None:
                where, params = flt.sql()
                order = "DESC" if newest_first else "ASC"
                rows = self._db.execute(
                    f"SELECT m.id, m.scope, m.text, m.occurred_at FROM memories m WHERE {where} "
                    f"ORDER BY m.occurred_at {order}, m.id {order} LIMIT ?",
                    [*params, limit],
                ).fetchall()
                events.extend(
                    TimelineEvent(
                        at=_dt(r["occurred_at"]),
                        event="memory",
                        id=f"mem_{r['id']}",
                        scope=r["scope"],
                        summary=_summary(r["text"]),
                    )
                    for r in rows
                )
                total += self._db.execute(f"SELECT count(*) FROM memories m WHERE {where}", params).fetchone()[0]
            if not (flt.kinds or flt.tags or flt.about):  # facts have no kind, tags or code links
                fact_events = [e for e in self._fact_events(flt, entity) if _within(e.at, flt)]
                events.extend(fact_events)
                total += len(fact_events)
        events.sort(key=lambda e: (e.at, e.id), reverse=newest_first)
        return Timeline(events=events[:limit], left_out=max(total - limit, 0))

    def _fact_events(self, flt: MemoryFilter, entity: str | None) -> list[TimelineEvent]:
        clauses = ["(f.valid_to IS NULL OR f.valid_to > f.valid_from)"]
        params: list[Any] = []
        if entity is not None:
            key = _entity_key(entity)
            row = self._db.execute("SELECT id FROM entities WHERE key = ?", (key,)).fetchone()
            if row is None:
                raise UnknownIdError(f"no entity named '{entity}'")
            clauses.append("(f.subject_id = ? OR f.object_id = ?)")
            params.extend([row["id"], row["id"]])
        if flt.scopes:
            clauses.append(f"f.scope IN ({','.join('?' * len(flt.scopes))})")
            params.extend(flt.scopes)
        facts, _ = self._facts(self._db, " AND ".join(clauses), params, MAX_TIMELINE_FACTS)
        events: list[TimelineEvent] = []
        for fact in facts:
            text = f"{fact.subject} {fact.predicate} {fact.object}"
            events.append(
                TimelineEvent(at=fact.valid_from, event="fact_started", id=fact.id, scope=fact.scope, summary=text)
            )
            if fact.valid_to is not None:
                events.append(
                    TimelineEvent(at=fact.valid_to, event="fact_ended", id=fact.id, scope=fact.scope, summary=text)
                )
        return events

    def stats(self) -> Stats:
        with self._lock:
            db = self._db
            by_kind = dict(db.execute("SELECT kind, count(*) FROM memories GROUP BY kind").fetchall())
            by_scope = dict(db.execute("SELECT scope, count(*) FROM memories GROUP BY scope").fetchall())
            now = time.time()
            current = db.execute(
                "SELECT count(*) FROM facts WHERE valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)", (now, now)
            ).fetchone()[0]
            total_facts = db.execute("SELECT count(*) FROM facts").fetchone()[0]
            relations = db.execute(
                "SELECT count(*) FROM facts WHERE object_id IS NOT NULL AND valid_from <= ? "
                "AND (valid_to IS NULL OR valid_to > ?)",
                (now, now),
            ).fetchone()[0]
            return Stats(
                memories=sum(by_kind.values()),
                by_kind=by_kind,
                by_scope=by_scope,
                facts_current=current,
                facts_historic=total_facts - current,
                entities=db.execute("SELECT count(*) FROM entities").fetchone()[0],
                relations=relations,
                vector_points=self.vectors.count(),
                pending_index=db.execute("SELECT count(*) FROM outbox").fetchone()[0] - len(self._done.seqs),
                unindexed=db.execute(
                    "SELECT count(*) FROM index_failures f JOIN memories m ON m.id = f.memory_id"
                ).fetchone()[0],
                vector_engine=self.vectors.engine,
                embedder=self.embedder.name,
                store_dir=str(self.store_dir),
                disk_bytes=disk_usage(self.store_dir),
            )


def _scope_clause(column: str, scopes: Sequence[str]) -> tuple[str, list[Any]]:
    if not scopes:
        return "1", []
    return f"{column} IN ({','.join('?' * len(scopes))})", list(scopes)


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def disk_usage(path: Path) -> int:
    """Bytes allocated on disk (the engine preallocates sparse files: their apparent size misleads)."""
    return sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file())


def _summary(text: str, width: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _within(at: datetime, flt: MemoryFilter) -> bool:
    return (flt.since is None or at >= flt.since) and (flt.until is None or at < flt.until)
