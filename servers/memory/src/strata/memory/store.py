"""``MemoryStore``: memories, facts and entities of one store directory, with what spans both - forget, the
timeline and stats. The storage is ``database.py``; the operations on memories and on facts are in ``memories.py``
and ``facts.py``."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from strata.memory.database import (
    _dt,
    _entity_key,
    _parse_id,
    _scope_clause,
    disk_usage,
    estimate_tokens,
)
from strata.memory.errors import UnknownIdError
from strata.memory.facts import Facts
from strata.memory.memories import Memories, MemoryFilter, NewMemory
from strata.memory.types import (
    ForgetResult,
    Stats,
    Timeline,
    TimelineEvent,
)
from strata.shared.errors import InvalidRequestError

__all__ = ["MemoryFilter", "MemoryStore", "NewMemory", "estimate_tokens"]

MAX_FORGET_IDS = 200
# A forget by filter alone that matches more memories than this needs all_in_scope (as one that matches all).
MAX_FORGET_BY_FILTER = 100
MAX_TIMELINE_FACTS = 10_000  # facts read to place their start/end events in a timeline


class MemoryStore(Memories, Facts):
    """Memories, facts and entities of one store directory; every method is safe to call from threads."""

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


def _summary(text: str, width: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _within(at: datetime, flt: MemoryFilter) -> bool:
    return (flt.since is None or at >= flt.since) and (flt.until is None or at < flt.until)
