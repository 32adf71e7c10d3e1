"""Facts with valid time (a single-valued predicate's new value ends the old one) and the entity graph they make."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from strata.memory.database import (
    Database,
    _dt,
    _entity_key,
    _parse_id,
    _ts,
)
from strata.memory.errors import CardinalityError, UnknownIdError
from strata.memory.types import (
    Cardinality,
    EntityRef,
    Fact,
    FactList,
    Neighbor,
    Neighborhood,
    SetFactResult,
)
from strata.shared.errors import InvalidRequestError

__all__ = ["Facts"]


class Facts(Database):
    """The fact and entity operations of a store."""

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
