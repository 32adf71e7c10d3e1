"""Hard caps in USD, held while calls are in flight and counted as each call settles.

A call is admitted only if its estimate fits every cap that applies (global, its key, route and session):
``admit`` checks and holds the estimate in one step, and ``settle`` counts what the call really cost and
lets the estimate go, again in one step, so concurrent requests cannot all slip under the same cap and
a finished call is never counted neither as held nor as spent.

Two implementations: ``MemoryBudgets`` (the embedded default) keeps the counters in this process, seeded
from the ledger's requests the first time a cap is consulted, so a cap holds exactly within one router;
``strata.router.postgres.PostgresBudgets`` keeps them in PostgreSQL so several routers hold one cap.
"""

from __future__ import annotations

import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from strata.router.db import Database
from strata.router.settings import BudgetConfig

__all__ = ["BudgetLine", "Budgets", "Counter", "Hold", "MemoryBudgets", "spent_query", "utc_day"]

Counter = tuple[str, str, str]  # (scope, name, period key: a UTC day or "total")
SCOPE_COLUMNS = {"key": "key", "route": "route", "session": "session"}


def utc_day(ts: float | None = None) -> str:
    return datetime.fromtimestamp(ts if ts is not None else time.time(), UTC).strftime("%Y-%m-%d")


def spent_query(counter: Counter) -> tuple[str, list[str]]:
    """SQL (``?`` placeholders) for what the ledger's requests spent on ``counter``, and its parameters."""
    scope, name, period = counter
    where, params = [], []
    if scope != "global":
        where.append(SCOPE_COLUMNS[scope] + " = ?")
        params.append(name)
    if period != "total":
        where.append("day = ?")
        params.append(period)
    return "SELECT COALESCE(SUM(cost_usd), 0) FROM requests" + (
        " WHERE " + " AND ".join(where) if where else ""
    ), params


class BudgetLine(BaseModel):
    scope: str
    name: str
    period: str
    limit_usd: float
    spent_usd: float
    reserved_usd: float = Field(description="Estimates of calls in flight")
    remaining_usd: float
    resets_at: str | None = Field(description="UTC time the period ends; null for 'total'")


@dataclass
class Hold:
    """A call's estimate held against the caps that apply to it, until the call settles."""

    counters: list[tuple[BudgetConfig, Counter]]
    amount: float
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    settled: bool = False


class Budgets(ABC):
    """The caps, and what was spent and is held against each."""

    def __init__(self, db: Database, budgets: list[BudgetConfig]) -> None:
        self.db = db
        self.budgets = budgets

    def counters(self, key: str, route: str, session: str | None, now: float) -> list[tuple[BudgetConfig, Counter]]:
        """The caps a call of ``key`` on ``route`` in ``session`` counts against, in one fixed order."""
        names: dict[str, str | None] = {"global": "*", "key": key, "route": route, "session": session}
        out: list[tuple[BudgetConfig, Counter]] = []
        for budget in self.budgets:
            name = names[budget.scope]
            if name is None or (budget.name != "*" and budget.name != name):
                continue
            out.append((budget, (budget.scope, name, utc_day(now) if budget.period == "day" else "total")))
        return sorted(out, key=lambda item: item[1])

    async def admit(self, key: str, route: str, session: str | None, estimate: float) -> Hold | str:
        """Hold ``estimate`` against every applicable cap, or say which cap it would pass (and hold nothing)."""
        counters = self.counters(key, route, session, time.time())
        if estimate <= 0 or not counters:
            return Hold(counters, 0.0)
        return await self._admit(Hold(counters, estimate))

    async def settle(self, hold: Hold, cost: float) -> None:
        """Count what the call cost against the caps it was admitted under and let its estimate go (once)."""
        if hold.settled:
            return
        hold.settled = True
        if hold.counters and (cost > 0 or hold.amount > 0):
            await self._settle(hold, max(cost, 0.0))

    def close(self) -> None:  # noqa: B027 - a no-op unless an implementation holds connections
        """Let go of what the budgets hold open (connections); the database closes apart."""

    @abstractmethod
    async def _admit(self, hold: Hold) -> Hold | str: ...

    @abstractmethod
    async def _settle(self, hold: Hold, cost: float) -> None: ...

    @abstractmethod
    def _standing(self, counters: Sequence[Counter]) -> dict[Counter, tuple[float, float]]:
        """(spent, held) for each counter."""

    def status(self, key: str | None = None, session: str | None = None) -> list[BudgetLine]:
        """Every cap that applies to ``key`` / ``session`` (all routes), with what is left."""
        now = time.time()
        wanted: list[tuple[BudgetConfig, Counter]] = []
        for budget in self.budgets:
            if budget.scope == "key" and key is None and budget.name == "*":
                continue
            if budget.scope == "session" and session is None and budget.name == "*":
                continue
            names = {
                "global": "*",
                "key": key if budget.name == "*" else budget.name,
                "session": session if budget.name == "*" else budget.name,
                "route": budget.name,
            }
            name = names[budget.scope] or budget.name
            if budget.scope == "route" and name == "*":
                continue  # per-route caps without a route named are reported per route by usage_report
            wanted.append((budget, (budget.scope, name, utc_day(now) if budget.period == "day" else "total")))
        standing = self._standing(sorted({c for _, c in wanted}))
        lines = []
        for budget, counter in wanted:
            spent, held = standing[counter]
            resets = None
            if budget.period == "day":
                midnight = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
                resets = (midnight + timedelta(days=1)).isoformat()
            lines.append(
                BudgetLine(
                    scope=budget.scope, name=counter[1], period=budget.period, limit_usd=budget.limit_usd,
                    spent_usd=round(spent, 8), reserved_usd=round(held, 8),
                    remaining_usd=round(max(budget.limit_usd - spent - held, 0.0), 8), resets_at=resets,
                )
            )  # fmt: skip
        return lines


def refusal(budget: BudgetConfig, counter: Counter, used: float, estimate: float) -> str:
    """Why a call estimated at ``estimate`` does not fit ``budget`` with ``used`` already spent or held."""
    period = "today" if budget.period == "day" else "in total"
    who = "all requests" if budget.scope == "global" else f"{budget.scope} '{counter[1]}'"
    return (
        f"the {budget.scope} budget of ${budget.limit_usd:.4f} {period} for {who} has "
        f"${max(budget.limit_usd - used, 0):.6f} left and this call is estimated at ${estimate:.6f}"
    )


class MemoryBudgets(Budgets):
    """Counters in this process: exact for one router, blind to any other router on the same ledger."""

    def __init__(self, db: Database, budgets: list[BudgetConfig]) -> None:
        super().__init__(db, budgets)
        self._spent: dict[Counter, float] = {}
        self._held: dict[Counter, float] = {}
        self._lock = threading.Lock()

    def _spent_on(self, counter: Counter) -> float:
        if counter not in self._spent:
            self.db.flush()
            sql, params = spent_query(counter)
            self._spent[counter] = float(self.db.query(sql, params)[0][0])
        return self._spent[counter]

    async def _admit(self, hold: Hold) -> Hold | str:
        with self._lock:
            for budget, counter in hold.counters:
                used = self._spent_on(counter) + self._held.get(counter, 0.0)
                if used + hold.amount > budget.limit_usd:
                    return refusal(budget, counter, used, hold.amount)
            for _, counter in hold.counters:
                self._held[counter] = self._held.get(counter, 0.0) + hold.amount
        return hold

    async def _settle(self, hold: Hold, cost: float) -> None:
        with self._lock:
            for _, counter in hold.counters:
                self._spent[counter] = self._spent_on(counter) + cost
                left = self._held.get(counter, 0.0) - hold.amount
                if left > 1e-12:
                    self._held[counter] = left
                else:
                    self._held.pop(counter, None)

    def _standing(self, counters: Sequence[Counter]) -> dict[Counter, tuple[float, float]]:
        with self._lock:
            return {c: (self._spent_on(c), self._held.get(c, 0.0)) for c in counters}
