"""Agents' Cypher runs in a worker process that can be killed, never in the server's own.

Kuzu bounds a query's time (``set_query_timeout``) and most of its memory (the buffer pool), but not
all of it: ``RETURN range(1, 200000000)`` or ``UNWIND range(...)`` grew past 20 GB in two minutes and
ignored the timeout, and a query running in the server's thread held the store's lock, so every other
tool waited and SIGTERM could not stop it. Here the query goes to a child process; the parent waits at
most ``timeout_s`` (plus a grace) and kills the child when it overruns or when its resident memory
passes ``memory_bytes``, then answers with ``query_timeout`` or ``query_too_large``. The next query
starts a new child. Rows come back bounded: at most ``limit`` and ``MAX_QUERY_BYTES`` of JSON.

Protocol: one JSON line per request (``{"store", "cypher", "limit", "timeout_ms"}``) on the child's
stdin, one JSON line per answer on its stdout (``{"columns", "rows", "truncated", "note"}`` or
``{"error": {"code", "message"}}``). The child opens the store for each query and closes it after, so
the server's own writes can still update it in place.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from strata.shared.errors import InvalidRequestError
from strata.shared.log import get_logger

__all__ = ["MAX_QUERY_BYTES", "QueryWorker"]

log = get_logger("strata.codegraph.cypher")

MAX_QUERY_BYTES = 512 * 1024
# The worker's own Kuzu handle: every intermediate result comes from the buffer pool (Kuzu's default is
# 80% of RAM), so the pool stops most runaway queries with "buffer pool is full" before the kill does.
WORKER_BUFFER_POOL_BYTES = 1024 * 1024 * 1024
GRACE_S = 2.0  # Kuzu's own timeout usually answers first; the kill is for what it does not stop
POLL_S = 0.05
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class QueryWorker:
    """One child process answering Cypher queries, one at a time; replaced when it is killed."""

    def __init__(self, *, timeout_s: float, memory_bytes: int) -> None:
        self.timeout_s = timeout_s
        self.memory_bytes = memory_bytes
        self._child: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def run(self, store: Path, cypher: str, limit: int) -> dict[str, Any]:
        """The answer to ``cypher`` over the store at ``store``; raises InvalidRequestError on failure."""
        request = {"store": str(store), "cypher": cypher, "limit": limit, "timeout_ms": int(self.timeout_s * 1000)}
        with self._lock:
            child = self._start()
            assert child.stdin is not None and child.stdout is not None
            try:
                child.stdin.write(json.dumps(request).encode() + b"\n")
                child.stdin.flush()
            except OSError:
                self._kill()
                raise InvalidRequestError("the query worker stopped; retry the query", code="query_failed") from None
            reply = self._wait_reply(child, child.stdout)
        if "error" in reply:
            raise InvalidRequestError(reply["error"]["message"], code=reply["error"]["code"])
        return reply

    def close(self) -> None:
        """Stop the worker (and any query it runs) now."""
        self._kill()

    def _start(self) -> subprocess.Popen[bytes]:
        if self._child is None or self._child.poll() is not None:
            self._child = subprocess.Popen(
                [sys.executable, "-m", "strata.codegraph.cypher"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "OMP_NUM_THREADS": "1"},
            )
        return self._child

    def _wait_reply(self, child: subprocess.Popen[bytes], stdout: IO[bytes]) -> dict[str, Any]:
        box: list[bytes] = []
        reader = threading.Thread(target=lambda: box.append(stdout.readline()), daemon=True)
        reader.start()
        deadline = time.monotonic() + self.timeout_s + GRACE_S
        while reader.is_alive():
            reader.join(POLL_S)
            if not reader.is_alive():
                break
            rss = _resident_bytes(child.pid)
            if rss > self.memory_bytes:
                self._kill()
                log.warning("query_killed", reason="memory", rss_mb=rss >> 20)
                raise InvalidRequestError(
                    f"query needed more than the {self.memory_bytes >> 20} MB a query may use; bound its paths, "
                    "lists and ranges, or aggregate less",
                    code="query_too_large",
                )
            if time.monotonic() > deadline:
                self._kill()
                log.warning("query_killed", reason="timeout")
                raise InvalidRequestError(
                    f"query stopped after {self.timeout_s:g} s (the limit); bound its paths or add LIMIT",
                    code="query_timeout",
                )
        line = box[0] if box else b""
        if not line:
            self._kill()
            raise InvalidRequestError("the query worker died on this query", code="query_failed")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _kill(self) -> None:
        child, self._child = self._child, None
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()
        if child is not None:
            for stream in (child.stdin, child.stdout):
                if stream is not None:
                    stream.close()


def _resident_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0


# -- the child ---------------------------------------------------------------------------------------


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """Run one request in this process (the child's loop calls it)."""
    from strata.codegraph.graph import CodeGraphStore

    try:
        store = CodeGraphStore.open_read_only(
            Path(request["store"]), buffer_pool_bytes=WORKER_BUFFER_POOL_BYTES, timeout_ms=int(request["timeout_ms"])
        )
    except RuntimeError as exc:
        return _error("query_failed", f"cannot open the index: {_first_line(exc)}")
    try:
        result = store.read_query(request["cypher"])
        return _rows(result, int(request["limit"]))
    except RuntimeError as exc:  # kuzu reports parse, binder, timeout and memory errors as RuntimeError
        return _kuzu_error(exc, int(request["timeout_ms"]))
    except InvalidRequestError as exc:
        return _error(exc.code, exc.message)
    finally:
        store.close()


def _rows(result: Any, limit: int) -> dict[str, Any]:
    columns = result.get_column_names()
    rows: list[list[Any]] = []
    size = 0
    while result.has_next():
        if len(rows) == limit:
            return {"columns": columns, "rows": rows, "truncated": True, "note": None}
        row = [_jsonable(value) for value in result.get_next()]
        row_bytes = len(json.dumps(row, default=str))
        if size + row_bytes > MAX_QUERY_BYTES:
            if not rows:
                raise InvalidRequestError(
                    f"the first row is {row_bytes:,} bytes of JSON; a reply holds at most {MAX_QUERY_BYTES:,} - "
                    "return fewer or smaller values"
                )
            note = f"rows stop at {MAX_QUERY_BYTES:,} bytes of JSON; add LIMIT/SKIP or return fewer columns"
            return {"columns": columns, "rows": rows, "truncated": True, "note": note}
        size += row_bytes
        rows.append(row)
    return {"columns": columns, "rows": rows, "truncated": False, "note": None}


def _kuzu_error(exc: RuntimeError, timeout_ms: int) -> dict[str, Any]:
    first = _first_line(exc)
    lowered = first.lower()
    if "interrupted" in lowered or "timeout" in lowered:
        return _error(
            "query_timeout", f"query stopped after {timeout_ms / 1000:g} s (the limit); bound its paths or add LIMIT"
        )
    if "buffer pool is full" in lowered:
        return _error(
            "query_too_large", "query needs more memory than a query may use; bound its paths or aggregate less"
        )
    return _error("invalid_request", f"query failed: {first[:300]}")


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _jsonable(value: Any) -> Any:
    """Kuzu returns nodes and relationships as dicts with internal ids; keep what JSON can carry."""
    try:
        json.dumps(value)
        return value
    except TypeError:
        if isinstance(value, dict):
            return {str(k): _jsonable(v) for k, v in value.items() if not str(k).startswith("_")}
        if isinstance(value, list | tuple):
            return [_jsonable(v) for v in value]
        return str(value)


def _serve() -> None:
    for line in sys.stdin.buffer:
        reply = answer(json.loads(line))
        sys.stdout.write(json.dumps(reply, default=str) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve()
