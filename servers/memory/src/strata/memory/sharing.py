"""``Memory``: one store directory, shared by every process that opens it.

The embedded engines (qdrant-edge, and SQLite written by one process) take one owner per store. The
first process to lock ``owner.lock`` opens the store and answers the others on a loopback socket
(``owner.json`` holds its port and a random token, mode 0600); a later process forwards each call there.
When the owner exits, the lock is free and the next call of a forwarding process takes the store over.
Nobody ever sees "already accessed by another instance".

Calls travel as one JSON line each way: ``{"token", "method", "kwargs"}`` and ``{"ok": result}`` or
``{"error": {"code", "message", "type"}}``; arguments and results are (de)serialised by pydantic from the
store methods' own signatures, so a forwarded call behaves exactly like a local one.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hmac
import inspect
import json
import os
import secrets
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_type_hints

from pydantic import BaseModel, ConfigDict, TypeAdapter, create_model
from pydantic_core import to_jsonable_python

from strata.memory.embedder import create_embedder
from strata.memory.errors import StoreUnavailableError
from strata.memory.settings import MemorySettings
from strata.memory.store import MemoryStore
from strata.memory.vectors import ClientVectors, EdgeVectors, VectorIndex
from strata.shared.errors import StrataError
from strata.shared.log import get_logger

__all__ = ["Memory", "open_store"]

log = get_logger("strata.memory")

# The store's operations: what a forwarding process sends to the owner. The proxy methods of Memory, the owner's
# dispatch and the (de)serialisation of arguments and results are all derived from this list and the signatures
# of MemoryStore's methods; a new operation is a store method and a name here (and its tool).
OPERATIONS = (
    "remember", "recall", "get_memory", "set_fact", "get_facts", "relate", "neighbors", "forget", "timeline", "stats",
    "check_anchors", "anchored_symbols",
)  # fmt: skip
REMOTE_METHODS = frozenset(OPERATIONS)
OWNER_WAIT_S = 30.0  # how long a new process waits for a starting owner to publish its port
CALL_TIMEOUT_S = 120.0
MAX_LINE = 64 * 1024 * 1024


def open_store(settings: MemorySettings) -> MemoryStore:
    """Open the store directory in this process (the caller must own it)."""
    store_dir = settings.resolved_store_dir()
    embedder = create_embedder(settings)
    vectors: VectorIndex
    if settings.qdrant_url:
        vectors = ClientVectors.connect(settings.qdrant_url, settings.qdrant_api_key, settings.collection, embedder.dim)
    else:
        vectors = EdgeVectors(store_dir / "vectors", embedder.dim)
    return MemoryStore(
        store_dir,
        embedder,
        vectors,
        settings.fusion,
        keyword_weight=settings.keyword_weight,
        neighbour_weight=settings.neighbour_weight,
        query_expansion=settings.query_expansion,
        date_boost=settings.date_boost,
        kind_boost=settings.kind_boost,
        index_dates=settings.index_dates,
    )


@cache
def _params_model(method: str) -> type[BaseModel]:
    """A pydantic model of a store method's parameters, to rebuild forwarded arguments."""
    function = getattr(MemoryStore, method)
    hints = get_type_hints(function)
    fields: dict[str, Any] = {}
    for name, parameter in inspect.signature(function).parameters.items():
        if name == "self":
            continue
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[name] = (hints[name], default)
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        f"{method}_params", __config__=ConfigDict(arbitrary_types_allowed=True, extra="forbid"), **fields
    )
    return model


@cache
def _result_adapter(method: str) -> TypeAdapter[Any]:
    return TypeAdapter(get_type_hints(getattr(MemoryStore, method))["return"])


def _error_class(code: str) -> type[StrataError]:
    pending: list[type[StrataError]] = [StrataError]
    while pending:
        cls = pending.pop()
        if cls.code == code:
            return cls
        pending.extend(cls.__subclasses__())
    return StrataError


def _dispatch(store: MemoryStore, token: str, line: bytes) -> dict[str, Any]:
    try:
        request = json.loads(line)
        if not hmac.compare_digest(str(request.get("token", "")), token):
            return {"error": {"code": "unauthorized", "message": "wrong store token", "type": "UnauthorizedError"}}
        method = request.get("method")
        if method not in REMOTE_METHODS:
            return {
                "error": {"code": "invalid_request", "message": f"unknown method {method!r}", "type": "StrataError"}
            }
        params = _params_model(method).model_validate(request.get("kwargs", {}))
        result = getattr(store, method)(**{name: getattr(params, name) for name in type(params).model_fields})
        return {"ok": to_jsonable_python(result)}
    except StrataError as exc:
        return {"error": exc.to_dict()}
    except Exception as exc:
        log.exception("forwarded_call_failed")
        return {
            "error": {"code": "internal", "message": f"{type(exc).__name__} in the store owner", "type": "StrataError"}
        }


class _OwnerServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, store: MemoryStore, token: str) -> None:
        self.store = store
        self.token = token
        super().__init__(("127.0.0.1", 0), _OwnerHandler)


class _OwnerHandler(socketserver.StreamRequestHandler):
    server: _OwnerServer

    def handle(self) -> None:
        while True:
            line = self.rfile.readline(MAX_LINE)
            if not line:
                return
            reply = _dispatch(self.server.store, self.server.token, line)
            self.wfile.write(json.dumps(reply).encode() + b"\n")
            self.wfile.flush()


class _Forwarder:
    """The connection of a non-owner process to the owner."""

    def __init__(self, info_path: Path) -> None:
        self._info_path = info_path
        self._sock: socket.socket | None = None
        self._file: Any = None
        self._token = ""
        self._lock = threading.Lock()
        self.owner_pid: int | None = None

    def connect(self, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                info = json.loads(self._info_path.read_text())
                sock = socket.create_connection(("127.0.0.1", int(info["port"])), timeout=CALL_TIMEOUT_S)
            except (OSError, ValueError, KeyError) as exc:
                if time.monotonic() >= deadline:
                    raise StoreUnavailableError(
                        f"another process owns the memory store ({self._info_path.parent}) but does not answer: {exc}"
                    ) from exc
                time.sleep(0.1)
                continue
            self.close()
            self._sock, self._file, self._token = sock, sock.makefile("rb"), str(info["token"])
            self.owner_pid = int(info.get("pid", 0)) or None
            return

    def call(self, method: str, kwargs: dict[str, Any]) -> Any:
        payload = json.dumps({"token": self._token, "method": method, "kwargs": to_jsonable_python(kwargs)})
        with self._lock:
            if self._sock is None:
                raise ConnectionError("not connected")
            self._sock.sendall(payload.encode() + b"\n")
            line = self._file.readline(MAX_LINE)
        if not line:
            raise ConnectionError("the store owner closed the connection")
        reply = json.loads(line)
        if "error" in reply:
            error = reply["error"]
            raise _error_class(error.get("code", "internal"))(error.get("message", ""), code=error.get("code"))
        return _result_adapter(method).validate_python(reply["ok"])

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._file.close()
                self._sock.close()
            self._sock = None


# For the type checker, Memory has MemoryStore's methods: the ones in OPERATIONS are set on it below.
if TYPE_CHECKING:
    _Operations = MemoryStore
else:
    _Operations = object


class Memory(_Operations):
    """The memory store of ``settings``, owned by this process or forwarded to the process that owns it; each of
    the store's OPERATIONS is a method with the store method's signature."""

    def __init__(self, settings: MemorySettings) -> None:
        self.settings = settings
        self.store_dir = settings.resolved_store_dir()
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self._lock_path = self.store_dir / "owner.lock"
        self._info_path = self.store_dir / "owner.json"
        self._lock_fd: int | None = None
        self._store: MemoryStore | None = None
        self._server: _OwnerServer | None = None
        self._forwarder: _Forwarder | None = None
        self._switch = threading.Lock()
        if not self._try_own():
            self._forwarder = _Forwarder(self._info_path)
            self._forwarder.connect(OWNER_WAIT_S)
            log.info("memory_store_shared", store=str(self.store_dir), owner_pid=self._forwarder.owner_pid)

    @property
    def owner(self) -> bool:
        """Whether this process owns the store (else it forwards calls to the owner)."""
        return self._store is not None

    def _try_own(self) -> bool:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        try:
            store = open_store(self.settings)
        except BaseException:
            os.close(fd)
            raise
        token = secrets.token_urlsafe(24)
        server = _OwnerServer(store, token)
        threading.Thread(target=server.serve_forever, name="memory-owner", daemon=True).start()
        tmp = self._info_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "port": server.server_address[1], "token": token}))
        tmp.chmod(0o600)
        tmp.replace(self._info_path)
        self._lock_fd, self._store, self._server = fd, store, server
        log.info("memory_store_owned", store=str(self.store_dir), port=server.server_address[1])
        return True

    def _call(self, method: str, kwargs: dict[str, Any]) -> Any:
        if self._store is not None:
            return getattr(self._store, method)(**kwargs)
        assert self._forwarder is not None
        try:
            return self._forwarder.call(method, kwargs)
        except (OSError, ConnectionError):
            pass
        # The owner went away: take the store over if its lock is free, else follow the new owner.
        # A forwarded `remember` may have landed before the owner died; retrying it is safe (deduplicated).
        with self._switch:
            if self._store is None and self._try_own():
                self._forwarder.close()
                self._forwarder = None
                log.info("memory_store_taken_over", store=str(self.store_dir))
        if self._store is not None:
            return getattr(self._store, method)(**kwargs)
        assert self._forwarder is not None
        self._forwarder.connect(OWNER_WAIT_S)
        try:
            return self._forwarder.call(method, kwargs)
        except (OSError, ConnectionError) as exc:
            raise StoreUnavailableError(f"the memory store owner at {self.store_dir} stopped answering: {exc}") from exc

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._store is not None:
            self._info_path.unlink(missing_ok=True)
            self._store.close()
            self._store = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        if self._forwarder is not None:
            self._forwarder.close()


def _operation(name: str) -> Callable[..., Any]:
    """The Memory method for one store operation: its arguments bound as the store method's, then called on the
    store (owner) or sent to the owner."""
    method = getattr(MemoryStore, name)
    signature = inspect.signature(method)

    @functools.wraps(method)
    def operation(self: Memory, /, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(None, *args, **kwargs)
        bound.apply_defaults()
        return self._call(name, {key: value for key, value in bound.arguments.items() if key != "self"})

    return operation


for _name in OPERATIONS:
    setattr(Memory, _name, _operation(_name))
