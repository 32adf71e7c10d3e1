"""The router's tables in PostgreSQL (``ledger_url``), and budgets several router processes hold together.

Needs ``strata-router[postgres]`` (psycopg 3). The tables are the SQLite ledger's (``db.SCHEMA``, with
PostgreSQL's types), plus two for the caps:

- ``budget_spend``: what was spent per cap and period, one row per counter, updated as calls settle;
  a counter's row starts from the ledger's requests the first time any router consults it.
- ``budget_holds``: the estimates of calls in flight, one row per call and counter, with an expiry so
  the holds of a router that died mid-call stop counting (``ledger_hold_s``).

Admitting a call is one transaction: lock the counters' rows (always in the same order, so two routers
never deadlock), read spent + held, and insert the holds only if every cap still fits. Settling is one
transaction too: add the cost to the counters and delete the holds. So two routers on one ledger cannot
both take the last dollar of a cap, and a call's cost is never counted neither held nor spent.
"""

from __future__ import annotations

import functools
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio

from strata.router.budgets import Budgets, Counter, Hold, refusal, spent_query
from strata.router.db import SCHEMA, Database
from strata.router.errors import ConfigError
from strata.router.settings import BudgetConfig
from strata.shared.log import get_logger

try:
    import psycopg
except ImportError:  # pragma: no cover - the extra is part of the workspace
    psycopg = None  # type: ignore[assignment]

__all__ = ["PostgresBudgets", "PostgresDatabase", "redact"]

log = get_logger("strata.router.postgres")

BUDGET_SCHEMA = """
CREATE TABLE IF NOT EXISTS budget_spend (
    scope TEXT NOT NULL, name TEXT NOT NULL, period TEXT NOT NULL, spent DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (scope, name, period)
);
CREATE TABLE IF NOT EXISTS budget_holds (
    id TEXT NOT NULL, scope TEXT NOT NULL, name TEXT NOT NULL, period TEXT NOT NULL,
    amount DOUBLE PRECISION NOT NULL, expires DOUBLE PRECISION NOT NULL, PRIMARY KEY (id, scope, name, period)
);
CREATE INDEX IF NOT EXISTS budget_holds_counter ON budget_holds(scope, name, period);
"""
# Two routers starting at once would race on CREATE TABLE IF NOT EXISTS; the first takes this lock.
SCHEMA_LOCK = 0x5_7A7A_0001
POOL_SIZE = 8


def redact(url: str) -> str:
    """The URL without its password, for errors and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@functools.lru_cache(maxsize=256)
def dialect(sql: str) -> str:
    """A statement in the SQLite dialect the router writes, as psycopg takes it."""
    sql = sql.replace("%", "%%").replace("?", "%s")
    if sql.startswith("INSERT OR REPLACE INTO "):
        raise ValueError("INSERT OR REPLACE has no PostgreSQL form here: use Database.replace()")
    return sql


def _plain(value: Any) -> Any:
    """SUM over integers is NUMERIC in PostgreSQL; the reports expect Python numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, memoryview):
        return value.tobytes()
    return value


def _connect(url: str, autocommit: bool) -> Any:
    if psycopg is None:
        raise ConfigError("ledger_url needs PostgreSQL support: install strata-router[postgres]")
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.Error as exc:
        raise ConfigError(f"cannot open the ledger at {redact(url)}: {str(exc).strip()}") from exc


class PostgresDatabase(Database):
    """The router's tables in a PostgreSQL database several routers share."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = redact(url)
        self._read = _connect(url, autocommit=True)
        with self._read.transaction():
            self._read.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            self._read.execute(SCHEMA.replace(" REAL", " DOUBLE PRECISION").replace(" BLOB", " BYTEA") + BUDGET_SCHEMA)
        self._start()

    def replace(self, table: str, values: Sequence[Any]) -> None:
        key = {"cache": "key", "responses": "id"}[table]
        self.write(f"DELETE FROM {table} WHERE {key} = ?", (values[0],))
        self.write(f"INSERT INTO {table} VALUES ({', '.join('?' * len(values))})", values)

    def _connect_writer(self) -> Any:
        return _connect(self.url, autocommit=True)

    def _query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        rows = self._read.execute(dialect(sql), params).fetchall()
        return [tuple(_plain(v) for v in row) for row in rows]

    def _close_read(self) -> None:
        self._read.close()

    def _commit(self, conn: Any, statements: list[tuple[str, Sequence[Any]]]) -> None:
        try:
            with conn.transaction(), conn.cursor() as cur:
                for sql, rows in _runs(statements):
                    cur.executemany(dialect(sql), rows)
        except psycopg.Error as exc:
            log.error("ledger_batch_failed", error=str(exc).strip(), statements=len(statements))
            for sql, params in statements:
                try:
                    conn.execute(dialect(sql), params)
                except psycopg.Error as one:
                    log.error("ledger_write_failed", error=str(one).strip(), sql=sql.split("(")[0][:60])


def _runs(statements: list[tuple[str, Sequence[Any]]]) -> list[tuple[str, list[Sequence[Any]]]]:
    """Consecutive statements with the same text, grouped for one executemany each (order kept)."""
    out: list[tuple[str, list[Sequence[Any]]]] = []
    for sql, params in statements:
        if out and out[-1][0] == sql:
            out[-1][1].append(params)
        else:
            out.append((sql, [params]))
    return out


class _Pool:
    """A few autocommit connections for the budget transactions, each used by one thread at a time."""

    def __init__(self, url: str, size: int) -> None:
        self.url = url
        self._free: queue.LifoQueue[Any] = queue.LifoQueue()
        self._slots = threading.Semaphore(size)
        self._all: list[Any] = []
        self._lock = threading.Lock()

    @contextmanager
    def connection(self) -> Iterator[Any]:
        self._slots.acquire()
        try:
            try:
                conn = self._free.get_nowait()
            except queue.Empty:
                conn = _connect(self.url, autocommit=True)
                with self._lock:
                    self._all.append(conn)
            try:
                yield conn
            finally:
                if conn.closed or conn.broken:
                    with self._lock:
                        self._all.remove(conn)
                else:
                    self._free.put(conn)
        finally:
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


def _in(counters: Sequence[Counter]) -> tuple[str, list[str]]:
    return "(scope, name, period) IN (" + ", ".join(["(%s, %s, %s)"] * len(counters)) + ")", [
        part for counter in counters for part in counter
    ]


class PostgresBudgets(Budgets):
    """Caps held in PostgreSQL: every router on the ledger sees every other's spend and holds."""

    def __init__(self, db: PostgresDatabase, budgets: list[BudgetConfig], hold_s: float) -> None:
        super().__init__(db, budgets)
        self.hold_s = hold_s
        self._pool = _Pool(db.url, POOL_SIZE)
        self._known: set[Counter] = set()  # counters whose budget_spend row exists

    def close(self) -> None:
        self._pool.close()

    def _seed(self, conn: Any, counters: Sequence[Counter]) -> None:
        """Create the rows of counters no router has used yet, from what the ledger's requests spent.

        Outside the transaction that locks them: each insert commits at once (autocommit), so no transaction
        ever waits on another's uncommitted seed while holding a counter's lock."""
        missing = [c for c in counters if c not in self._known]
        if not missing:
            return
        self.db.flush()  # this router's own requests, before they are summed
        for counter in missing:
            sql, params = spent_query(counter)
            insert = sql.replace("SELECT", "INSERT INTO budget_spend SELECT ?, ?, ?,", 1)
            conn.execute(dialect(insert) + " ON CONFLICT DO NOTHING", [*counter, *params])
        self._known.update(missing)

    def _lock(self, conn: Any, counters: Sequence[Counter]) -> dict[Counter, float]:
        """Lock the counters' rows (seeded), in order; what each has spent."""
        where, params = _in(counters)
        rows = conn.execute(
            f"SELECT scope, name, period, spent FROM budget_spend WHERE {where} ORDER BY scope, name, period FOR UPDATE",
            params,
        ).fetchall()
        spent = {(r[0], r[1], r[2]): float(r[3]) for r in rows}
        if len(spent) < len(counters):
            gone = sorted(set(counters) - set(spent))
            self._known.difference_update(gone)
            raise RuntimeError(f"budget counters {gone} vanished from budget_spend (deleted by hand?)")
        return spent

    def _held(self, conn: Any, counters: Sequence[Counter], now: float) -> dict[Counter, float]:
        where, params = _in(counters)
        rows = conn.execute(
            f"SELECT scope, name, period, SUM(amount) FROM budget_holds WHERE expires > %s AND {where} "
            "GROUP BY scope, name, period",
            [now, *params],
        ).fetchall()
        return {(r[0], r[1], r[2]): float(r[3]) for r in rows}

    def _admit_now(self, hold: Hold) -> Hold | str:
        counters = [c for _, c in hold.counters]
        now = time.time()
        with self._pool.connection() as conn:
            self._seed(conn, counters)
            with conn.transaction():
                spent = self._lock(conn, counters)
                where, params = _in(counters)
                conn.execute(f"DELETE FROM budget_holds WHERE expires <= %s AND {where}", [now, *params])
                held = self._held(conn, counters, now)
                for budget, counter in hold.counters:
                    used = spent[counter] + held.get(counter, 0.0)
                    if used + hold.amount > budget.limit_usd:
                        return refusal(budget, counter, used, hold.amount)
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO budget_holds VALUES (%s, %s, %s, %s, %s, %s)",
                        [(hold.id, *c, hold.amount, now + self.hold_s) for c in counters],
                    )
        return hold

    def _settle_now(self, hold: Hold, cost: float) -> None:
        counters = [c for _, c in hold.counters]
        with self._pool.connection() as conn:
            if cost > 0:
                self._seed(conn, counters)
            with conn.transaction():
                if cost > 0:
                    self._lock(conn, counters)
                    where, params = _in(counters)
                    conn.execute(f"UPDATE budget_spend SET spent = spent + %s WHERE {where}", [cost, *params])
                if hold.amount > 0:
                    conn.execute("DELETE FROM budget_holds WHERE id = %s", (hold.id,))

    async def _admit(self, hold: Hold) -> Hold | str:
        return await anyio.to_thread.run_sync(self._admit_now, hold)

    async def _settle(self, hold: Hold, cost: float) -> None:
        await anyio.to_thread.run_sync(self._settle_now, hold, cost)

    def _standing(self, counters: Sequence[Counter]) -> dict[Counter, tuple[float, float]]:
        if not counters:
            return {}
        with self._pool.connection() as conn:
            self._seed(conn, counters)
            where, params = _in(counters)
            rows = conn.execute(f"SELECT scope, name, period, spent FROM budget_spend WHERE {where}", params).fetchall()
            spent = {(r[0], r[1], r[2]): float(r[3]) for r in rows}
            held = self._held(conn, counters, time.time())
        return {c: (spent.get(c, 0.0), held.get(c, 0.0)) for c in counters}
