"""The spend ledger: what every request cost and tried, shadow verdicts and ramp decisions, and reports.

Every request leaves one ``requests`` row and one ``calls`` row per upstream call (or cache hit, or
refusal). The caps themselves are ``strata.router.budgets``: in this process over the embedded SQLite
ledger, in PostgreSQL when several routers share a ``ledger_url``.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

from strata.router.budgets import utc_day
from strata.router.db import Database
from strata.router.errors import InvalidRequestError

__all__ = ["CallRecord", "Ledger", "QualityRow", "RequestRecord", "ShadowRecord", "UsageRow"]

GroupBy = Literal["model", "route", "key", "day", "session"]
GROUP_COLUMNS: dict[str, str] = {
    "model": "c.model",
    "route": "r.route",
    "key": "r.key",
    "day": "r.day",
    "session": "COALESCE(r.session, '')",
}


@dataclass
class CallRecord:
    model: str
    outcome: str
    reason: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    saved_usd: float = 0.0
    latency_ms: float = 0.0


@dataclass
class RequestRecord:
    key: str
    session: str | None
    route: str
    model: str
    tags: tuple[str, ...]
    cost_usd: float
    baseline_usd: float
    cache: str | None
    escalations: list[str]
    outcome: str
    latency_ms: float
    calls: list[CallRecord] = field(default_factory=list)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    ts: float = field(default_factory=time.time)


class UsageRow(BaseModel):
    group: dict[str, str]
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    cache_hits: int
    escalations: int
    refused: int
    saved_by_cache_usd: float
    baseline_usd: float = Field(
        description="What the answered requests would have cost on their route's strongest model"
    )
    savings_usd: float = Field(
        description="baseline_usd - cost_usd, never floored: a cascade whose failed cheap try plus the escalation cost "
        "more than the strongest model alone, or a refused request that spent, saves a negative amount"
    )


@dataclass
class ShadowRecord:
    """One shadowed request: the answer served and the shadow model's, compared (or why not)."""

    route: str
    served_model: str
    shadow_model: str
    kind: str  # tools, json or text
    agreed: bool | None  # None: not compared (dropped or failed)
    outcome: Literal["compared", "dropped", "failed"]
    detail: str
    served_cost_usd: float
    shadow_cost_usd: float
    served_ms: float
    shadow_ms: float
    ts: float = field(default_factory=time.time)


class QualityRow(BaseModel):
    route: str
    served_model: str
    shadow_model: str
    kind: str = Field(description="What the requests asked for: tools, json or text")
    compared: int = Field(description="Shadowed requests whose two answers were compared")
    agreed: int
    agreement: float = Field(description="agreed / compared")
    agreement_low: float = Field(description="Lower bound of the 95% (Wilson) interval of the agreement")
    agreement_high: float
    dropped: int = Field(description="Sampled but not shadowed: the shadow queue was full")
    failed: int = Field(description="Shadow calls that failed (no verdict)")
    served_cost_per_request_usd: float
    shadow_cost_per_request_usd: float
    served_ms_p50: float
    shadow_ms_p50: float


class Ledger:
    """Spend records and usage reports over the router's database (the caps are ``strata.router.budgets``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- recording ------------------------------------------------------------------------------

    def record(self, rec: RequestRecord) -> None:
        """Persist the request with the next group commit (its calls counted against the caps as they settled)."""
        self.db.write(
            "INSERT INTO requests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                rec.id, rec.ts, utc_day(rec.ts), rec.key, rec.session, rec.route, rec.model, ",".join(rec.tags),
                rec.cost_usd, rec.baseline_usd, rec.cache, len(rec.escalations), "; ".join(rec.escalations),
                rec.outcome, rec.latency_ms,
            ),
        )  # fmt: skip
        for seq, call in enumerate(rec.calls):
            self.db.write(
                "INSERT INTO calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rec.id, seq, call.model, call.outcome, call.reason[:500], call.prompt_tokens,
                    call.completion_tokens, call.cost_usd, call.saved_usd, call.latency_ms,
                ),
            )  # fmt: skip

    # --- reports --------------------------------------------------------------------------------

    def usage(
        self, group_by: list[GroupBy], since: str | None = None, until: str | None = None, limit: int = 100
    ) -> tuple[list[UsageRow], int]:
        """Usage grouped by the given columns (UTC days ``since``..``until`` inclusive); rows and how many were left out."""
        unknown = [g for g in group_by if g not in GROUP_COLUMNS]
        if unknown:
            raise InvalidRequestError(f"cannot group by {unknown}; choose from {sorted(GROUP_COLUMNS)}")
        self.db.flush()
        columns = [GROUP_COLUMNS[g] for g in group_by]
        where, params = _filters(("r.day >= ?", since), ("r.day <= ?", until))
        select = ", ".join([*columns, ""]) if columns else ""
        # Per-request figures (baseline) are summed over a per-request subquery so calls do not repeat them.
        sql = (
            f"SELECT {select} COUNT(DISTINCT r.id), SUM(c.prompt_tokens), SUM(c.completion_tokens), SUM(c.cost_usd), "
            "COUNT(DISTINCT CASE WHEN r.cache IS NOT NULL THEN r.id END), "
            "COUNT(DISTINCT CASE WHEN r.escalations > 0 THEN r.id END), "
            "COUNT(DISTINCT CASE WHEN r.outcome != 'ok' THEN r.id END), SUM(c.saved_usd), "
            "SUM(CASE WHEN c.seq = 0 THEN r.baseline_usd ELSE 0 END) "
            "FROM requests r JOIN calls c ON c.request_id = r.id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + (
                " GROUP BY " + ", ".join(columns) + " ORDER BY SUM(c.cost_usd) DESC, COUNT(DISTINCT r.id) DESC"
                if columns
                else ""
            )
        )
        rows = self.db.query(sql, params)
        out = []
        for row in rows:
            group: dict[str, str] = {str(g): str(v) for g, v in zip(group_by, row[: len(columns)], strict=True)}
            n = row[len(columns) :]
            if not n[0]:
                continue
            out.append(
                UsageRow(
                    group=group,
                    requests=n[0],
                    prompt_tokens=n[1] or 0,
                    completion_tokens=n[2] or 0,
                    cost_usd=round(n[3] or 0.0, 8),
                    cache_hits=n[4],
                    escalations=n[5],
                    refused=n[6],
                    saved_by_cache_usd=round(n[7] or 0.0, 8),
                    baseline_usd=round(n[8] or 0.0, 8),
                    savings_usd=round((n[8] or 0.0) - (n[3] or 0.0), 8),
                )
            )
        return out[:limit], max(len(out) - limit, 0)

    # --- shadow evaluation ----------------------------------------------------------------------

    def record_ramp(
        self, route: str, target: str, before: float, after: float, n: int, agreed: int, low: float, reason: str
    ) -> None:
        """A ramp decision, with its evidence (moved or held)."""
        self.db.write(
            "INSERT INTO ramp VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (time.time(), route, target, before, after, n, agreed, low, reason),
        )

    def ramp_weight(self, route: str, target: str) -> float | None:
        """The weight the last ramp decision left ``target`` of ``route`` at, if any."""
        rows = self.db.query(
            "SELECT weight_to FROM ramp WHERE route = ? AND target = ? ORDER BY ts DESC LIMIT 1", (route, target)
        )
        return float(rows[0][0]) if rows else None

    def ramp_history(self, route: str) -> list[dict[str, object]]:
        self.db.flush()
        rows = self.db.query(
            "SELECT ts, target, weight_from, weight_to, n, agreed, agreement_low, reason FROM ramp WHERE route = ? "
            "ORDER BY ts",
            (route,),
        )
        keys = ("ts", "target", "weight_from", "weight_to", "n", "agreed", "agreement_low", "reason")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def record_shadow(self, rec: ShadowRecord) -> None:
        self.db.write(
            "INSERT INTO shadow VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                rec.ts, utc_day(rec.ts), rec.route, rec.served_model, rec.shadow_model, rec.kind,
                None if rec.agreed is None else int(rec.agreed), rec.outcome, rec.detail, rec.served_cost_usd,
                rec.shadow_cost_usd, rec.served_ms, rec.shadow_ms,
            ),
        )  # fmt: skip

    def quality(self, route: str | None, since: str | None, limit: int) -> tuple[list[QualityRow], int]:
        """Agreement of each route's served answers with its shadow model's, per served model and request kind."""
        from strata.router.shadow import agreement_interval

        self.db.flush()
        where, params = _filters(("route = ?", route), ("day >= ?", since))
        rows = self.db.query(
            "SELECT route, served_model, shadow_model, kind, agreed, outcome, served_cost_usd, shadow_cost_usd, "
            "served_ms, shadow_ms FROM shadow" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY ts",
            params,
        )
        groups: dict[tuple[str, str, str, str], list[tuple[object, ...]]] = {}
        for row in rows:
            groups.setdefault((str(row[0]), str(row[1]), str(row[2]), str(row[3])), []).append(tuple(row[4:]))
        out = []
        for (route_name, served, shadow, kind), items in sorted(groups.items()):
            compared = [i for i in items if i[1] == "compared"]
            agreed = sum(1 for i in compared if i[0])
            low, high = agreement_interval(agreed, len(compared))
            out.append(
                QualityRow(
                    route=route_name, served_model=served, shadow_model=shadow, kind=kind, compared=len(compared),
                    agreed=agreed, agreement=round(agreed / len(compared), 4) if compared else 0.0,
                    agreement_low=round(low, 4), agreement_high=round(high, 4),
                    dropped=sum(1 for i in items if i[1] == "dropped"),
                    failed=sum(1 for i in items if i[1] == "failed"),
                    served_cost_per_request_usd=round(_mean([float(i[2]) for i in compared]), 8),  # type: ignore[arg-type]
                    shadow_cost_per_request_usd=round(_mean([float(i[3]) for i in compared]), 8),  # type: ignore[arg-type]
                    served_ms_p50=round(_median([float(i[4]) for i in compared]), 1),  # type: ignore[arg-type]
                    shadow_ms_p50=round(_median([float(i[5]) for i in compared]), 1),  # type: ignore[arg-type]
                )
            )  # fmt: skip
        return out[:limit], max(len(out) - limit, 0)


def _filters(*conditions: tuple[str, str | None]) -> tuple[list[str], list[str]]:
    """The SQL conditions whose value is given, and their values, in order."""
    given = [(clause, value) for clause, value in conditions if value]
    return [clause for clause, _ in given], [value for _, value in given if value]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _median(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
