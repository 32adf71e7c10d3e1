"""The router's database: a write-behind writer thread and a read connection.

Writes are queued and committed in groups by one thread, so recording a request never delays its
response; ``flush()`` waits until everything queued is committed. A crash can lose only what was queued
and not yet committed - in practice the last few milliseconds. Budgets do not depend on the queue (the
budgets module counts spend as each call settles).

The embedded default is one SQLite file (WAL, ``synchronous=FULL``); ``ledger_url = "postgresql://..."``
puts the same tables in PostgreSQL (``strata.router.postgres``) so several routers share them. Statements
are written once, in SQLite's dialect with ``?`` placeholders, kept to what both engines read the same way;
the one difference they cannot share, replacing a row, is ``replace()``.
"""

from __future__ import annotations

import queue
import re
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from strata.shared.log import get_logger

__all__ = ["Database", "SQLiteDatabase"]

log = get_logger("strata.router.db")

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY, ts REAL NOT NULL, day TEXT NOT NULL, key TEXT NOT NULL, session TEXT,
    route TEXT NOT NULL, model TEXT NOT NULL, tags TEXT NOT NULL, cost_usd REAL NOT NULL,
    baseline_usd REAL NOT NULL, cache TEXT, escalations INTEGER NOT NULL, reasons TEXT NOT NULL,
    outcome TEXT NOT NULL, latency_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_day ON requests(day);
CREATE TABLE IF NOT EXISTS calls (
    request_id TEXT NOT NULL, seq INTEGER NOT NULL, model TEXT NOT NULL, outcome TEXT NOT NULL,
    reason TEXT NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL, saved_usd REAL NOT NULL, latency_ms REAL NOT NULL,
    PRIMARY KEY (request_id, seq)
);
CREATE TABLE IF NOT EXISTS cache (
    key TEXT PRIMARY KEY, namespace TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL,
    model TEXT NOT NULL, cost_usd REAL NOT NULL, response TEXT NOT NULL, prompt TEXT, embedding BLOB
);
CREATE INDEX IF NOT EXISTS cache_expires ON cache(expires);
CREATE TABLE IF NOT EXISTS shadow (
    ts REAL NOT NULL, day TEXT NOT NULL, route TEXT NOT NULL, served_model TEXT NOT NULL, shadow_model TEXT NOT NULL,
    kind TEXT NOT NULL, agreed INTEGER, outcome TEXT NOT NULL, detail TEXT NOT NULL, served_cost_usd REAL NOT NULL,
    shadow_cost_usd REAL NOT NULL, served_ms REAL NOT NULL, shadow_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS shadow_route ON shadow(route, ts);
CREATE TABLE IF NOT EXISTS ramp (
    ts REAL NOT NULL, route TEXT NOT NULL, target TEXT NOT NULL, weight_from REAL NOT NULL, weight_to REAL NOT NULL,
    n INTEGER NOT NULL, agreed INTEGER NOT NULL, agreement_low REAL NOT NULL, reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, created REAL NOT NULL, messages TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS raw_outputs (
    id TEXT PRIMARY KEY, created REAL NOT NULL, kind TEXT NOT NULL, raw TEXT NOT NULL, compact TEXT NOT NULL
);
"""
MAX_BATCH = 512
# SQLite's default limit on bound parameters per statement is 32,766.
MAX_PARAMETERS = 32_000
SINGLE_ROW_INSERT = re.compile(r"^(INSERT (?:OR \w+ )?INTO (\w+)(?: \([\w, ]+\))? VALUES )(\(\?(?:, \?)*\))$")
_STOP = object()


class Database(ABC):
    """The tables of the ledger, cache, raw outputs and stored responses; writes go through one writer thread."""

    name: str  # what errors and logs call it: a path, or a URL without its password

    def _start(self) -> None:
        self._read_lock = threading.Lock()
        self._queue: queue.Queue[Any] = queue.Queue()
        self._writer = threading.Thread(target=self._write_loop, name="strata-router-db", daemon=True)
        self._writer.start()

    def write(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Queue one statement; it commits with its group."""
        self._queue.put((sql, params))

    def replace(self, table: str, values: Sequence[Any]) -> None:
        """Queue a row that replaces the row with the same key (the table's first column)."""
        self.write(f"INSERT OR REPLACE INTO {table} VALUES ({', '.join('?' * len(values))})", values)

    def flush(self) -> None:
        """Wait until every queued statement is committed (after close: an error, not a wait forever)."""
        if not self._writer.is_alive():
            raise RuntimeError(f"{self.name} is closed")
        done = threading.Event()
        self._queue.put(done)
        while not done.wait(1.0):
            if not self._writer.is_alive():
                raise RuntimeError(f"{self.name} was closed before its writes were committed")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._read_lock:
            return self._query(sql, params)

    def close(self) -> None:
        self._queue.put(_STOP)
        self._writer.join(timeout=30)
        with self._read_lock:
            self._close_read()

    def _write_loop(self) -> None:
        conn = self._connect_writer()
        try:
            while True:
                items = [self._queue.get()]
                while len(items) < MAX_BATCH:
                    try:
                        items.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                statements = [i for i in items if isinstance(i, tuple)]
                if statements:
                    self._commit(conn, statements)
                for item in items:
                    if isinstance(item, threading.Event):
                        item.set()
                if any(item is _STOP for item in items):
                    return
        finally:
            conn.close()

    @abstractmethod
    def _connect_writer(self) -> Any: ...

    @abstractmethod
    def _commit(self, conn: Any, statements: list[tuple[str, Sequence[Any]]]) -> None:
        """Commit a group in one transaction; when it fails, retry the statements one by one so one bad
        statement cannot take the group with it."""

    @abstractmethod
    def _query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def _close_read(self) -> None: ...


class SQLiteDatabase(Database):
    """``router.db`` in the data directory."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.name = str(path)
        self._read = self._connect()
        self._read.executescript(SCHEMA)
        self._start()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def _connect_writer(self) -> sqlite3.Connection:
        return self._connect()

    def _query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self._read.execute(sql, params).fetchall()

    def _close_read(self) -> None:
        self._read.close()

    def _commit(self, conn: sqlite3.Connection, statements: list[tuple[str, Sequence[Any]]]) -> None:
        try:
            conn.execute("BEGIN")
            for sql, params in _coalesce(statements):
                conn.execute(sql, params)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            log.error("ledger_batch_failed", error=str(exc), statements=len(statements))
            for sql, params in statements:
                try:
                    conn.execute(sql, params)
                except sqlite3.Error as one:
                    log.error("ledger_write_failed", error=str(one), sql=sql.split("(")[0][:60])


def _coalesce(statements: list[tuple[str, Sequence[Any]]]) -> list[tuple[str, Sequence[Any]]]:
    """Fold the one-row INSERTs of a batch into one multi-row INSERT per statement text.

    Why: the event loop holds the GIL almost all the time under load, and every ``execute`` gives the
    GIL up around ``sqlite3_step`` and then waits up to the switch interval (5 ms) to get it back. One
    row per statement drained a few hundred rows/s behind a busy loop, so at 2,000 requests/s the queue
    (and the process's memory) grew without bound; a few statements per batch keep up.

    Order is kept where it can matter: any other statement is a barrier, rows of one statement stay in
    order, and two different INSERTs into the same table are never reordered against each other.
    """
    out: list[tuple[str, Sequence[Any]]] = []
    groups: dict[str, tuple[str, str, list[Any], int]] = {}
    table_sql: dict[str, str] = {}

    def emit(sql: str) -> None:
        head, row, params, rows = groups.pop(sql)
        out.append((head + ", ".join([row] * rows), params))

    def flush() -> None:
        for sql in list(groups):
            emit(sql)
        table_sql.clear()

    for sql, values in statements:
        match = SINGLE_ROW_INSERT.match(sql)
        if match is None:
            flush()
            out.append((sql, values))
            continue
        table = match.group(2)
        if table_sql.get(table, sql) != sql:
            flush()
        table_sql[table] = sql
        if sql in groups and len(groups[sql][2]) + len(values) > MAX_PARAMETERS:
            emit(sql)
        head, row, params, rows = groups.get(sql, (match.group(1), match.group(3), [], 0))
        params.extend(values)
        groups[sql] = (head, row, params, rows + 1)
    flush()
    return out
