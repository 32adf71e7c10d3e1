"""OpenTelemetry for every Strata process: spans in a local SQLite store, and over OTLP/HTTP when configured.

``setup(service)`` installs the SDK's tracer provider once per process. fastmcp already traces every MCP call with
the API (a SERVER span per request, the W3C ``traceparent`` carried in the request's ``_meta``), so a server that
calls ``setup`` records those spans, parented under its caller's; Strata's own spans (the router's model calls, the
orchestrator's agent and steps) follow the OpenTelemetry GenAI conventions (``gen_ai.*``).

Where spans go:

- the local store (default on): ``<STRATA_HOME>/telemetry/spans.db``, one SQLite file every Strata process on the
  machine appends to, pruned by age (``max_age_days``) and size (``max_mb``); ``strata traces`` reads it.
- OTLP/HTTP, only when the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (with
  ``OTEL_EXPORTER_OTLP_HEADERS``) or ``[telemetry] otlp_endpoint`` is set. Nothing else ever leaves the machine.

Both exporters run behind batch processors, off the response path. ``OTEL_SDK_DISABLED=true`` turns it all off.
Prompt and answer text go into spans only with ``capture_content = true``; every string attribute passes through
the log scrubber (configured keys, bearer tokens) first.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from pydantic import Field

from strata.shared.log import SECRET_KEY, get_logger, redact
from strata.shared.settings import ServerSettings, user_dir

__all__ = [
    "SpanStore",
    "TelemetrySettings",
    "capture_content",
    "enabled",
    "end_span",
    "flush",
    "remote_parent",
    "safe_attributes",
    "setup",
    "shutdown",
    "span",
    "trace_headers",
    "tracer",
]

log = get_logger("strata.telemetry")

PRUNE_EVERY = 2_000  # spans written between two prunes
# Both exporters send what finished within the last half second: a server stopped soon after a request (strata ask
# stops the ones it started) has little left to flush at exit.
EXPORT_EVERY_MS = 500
QUEUE_SPANS = 16_384  # spans a batch processor holds before it drops (and counts) new ones
_MARKERS = ("sk-", "earer", "EARER", "=", ":")  # what the log scrubber's patterns need in a string to match
MAX_ATTRIBUTE_CHARS = 4_000
SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_id TEXT, name TEXT NOT NULL, kind TEXT NOT NULL,
    service TEXT NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, status TEXT NOT NULL,
    status_message TEXT, attributes TEXT NOT NULL, events TEXT NOT NULL, PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX IF NOT EXISTS spans_start ON spans(start_ns);
"""


class TelemetrySettings(ServerSettings):
    """``[telemetry]`` in strata.toml, env ``STRATA_TELEMETRY_*`` (the OTEL_* variables are read as they are)."""

    section = "telemetry"
    model_config = ServerSettings.model_config | {"env_prefix": "STRATA_TELEMETRY_"}

    local: bool = Field(default=True, description="Keep spans in <STRATA_HOME>/telemetry/spans.db")
    otlp_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP base URL (else OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT); unset: no export"
    )
    capture_content: bool = Field(default=False, description="Put prompt and answer text in spans")
    max_age_days: float = Field(default=7.0, gt=0, le=3650)
    max_mb: int = Field(default=64, ge=1, le=65_536)

    @property
    def store_path(self) -> Path:
        return user_dir() / "telemetry" / "spans.db"


class SpanStore:
    """The local span store: one SQLite file (WAL) that several processes append to and readers query."""

    def __init__(self, path: Path, max_age_days: float = 7.0, max_mb: int = 64) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_age_ns = int(max_age_days * 86_400 * 1e9)
        self.max_bytes = max_mb * 1024 * 1024
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._written = 0

    def add(self, rows: Sequence[tuple[Any, ...]]) -> None:
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT OR REPLACE INTO spans VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self._conn.execute("COMMIT")
            self._written += len(rows)
            if self._written >= PRUNE_EVERY:
                self._written = 0
                self._prune()

    def _prune(self) -> None:
        """Drop spans older than the age bound, then the oldest tenth while the file is over its size bound."""
        self._conn.execute("DELETE FROM spans WHERE start_ns < ?", (time.time_ns() - self.max_age_ns,))
        for _ in range(20):
            used = self._conn.execute(
                "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count, pragma_freelist_count, "
                "pragma_page_size"
            ).fetchone()[0]
            if used <= self.max_bytes:
                break  # freed pages are reused: the file stops growing at about its bound
            share = min(1.0, 1 - self.max_bytes / used + 0.05)  # the oldest spans, about the overshoot and a bit
            self._conn.execute(
                "DELETE FROM spans WHERE rowid IN (SELECT rowid FROM spans ORDER BY start_ns LIMIT "
                "(SELECT CAST(COUNT(*) * ? AS INTEGER) + 1 FROM spans))",
                (share,),
            )

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def trace(self, trace_id: str) -> list[dict[str, Any]]:
        """Every span of one trace, oldest first, with its attributes decoded."""
        rows = self.query("SELECT * FROM spans WHERE trace_id = ? ORDER BY start_ns", (trace_id,))
        return [_span_dict(row) for row in rows]

    def recent_traces(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest traces: their root span (or earliest span), span count, services, duration and errors."""
        rows = self.query(
            "SELECT trace_id, MIN(start_ns), MAX(end_ns), COUNT(*), GROUP_CONCAT(DISTINCT service), "
            "SUM(status = 'ERROR') FROM spans GROUP BY trace_id ORDER BY MIN(start_ns) DESC LIMIT ?",
            (limit,),
        )
        out = []
        for trace_id, start, end, count, services, errors in rows:
            root = self.query(
                "SELECT name FROM spans WHERE trace_id = ? ORDER BY (parent_id IS NULL) DESC, start_ns LIMIT 1",
                (trace_id,),
            )
            out.append(
                {"trace_id": trace_id, "root": root[0][0] if root else "", "start_ns": start,
                 "duration_ms": (end - start) / 1e6, "spans": count, "services": sorted(services.split(",")),
                 "errors": errors or 0}
            )  # fmt: skip
        return out

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _span_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    keys = ("trace_id", "span_id", "parent_id", "name", "kind", "service", "start_ns", "end_ns", "status",
            "status_message", "attributes", "events")  # fmt: skip
    out = dict(zip(keys, row, strict=True))
    out["attributes"] = json.loads(out["attributes"])
    out["events"] = json.loads(out["events"])
    out["duration_ms"] = (out["end_ns"] - out["start_ns"]) / 1e6
    return out


class McpToolSpans(SpanProcessor):
    """Names fastmcp's ``tools/call`` spans (client and server) as GenAI tool executions: the MCP conventions ask
    for ``gen_ai.operation.name = execute_tool`` on them, which fastmcp does not set."""

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        attributes = getattr(span, "attributes", None) or {}
        if attributes.get("mcp.method.name") == "tools/call" and "gen_ai.operation.name" not in attributes:
            span.set_attribute("gen_ai.operation.name", "execute_tool")


class SQLiteSpanExporter(SpanExporter):
    """Finished spans into the local store (called by a batch processor, off the response path)."""

    def __init__(self, store: SpanStore) -> None:
        self.store = store

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        rows = []
        for s in spans:
            context = s.get_span_context()
            if context is None:
                continue
            service = str(s.resource.attributes.get("service.name", "unknown"))
            rows.append(
                (
                    format(context.trace_id, "032x"), format(context.span_id, "016x"),
                    format(s.parent.span_id, "016x") if s.parent is not None else None, s.name,
                    s.kind.name, service, s.start_time or 0, s.end_time or s.start_time or 0, s.status.status_code.name,
                    s.status.description, json.dumps(dict(s.attributes or {}), default=str),
                    json.dumps([{"name": e.name, "ts": e.timestamp, "attributes": dict(e.attributes or {})}
                                for e in s.events], default=str),
                )
            )  # fmt: skip
        try:
            self.store.add(rows)
        except sqlite3.Error as exc:
            log.warning("span_store_failed", error=str(exc), spans=len(rows))
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.store.close()


_provider: TracerProvider | None = None
_settings: TelemetrySettings | None = None
_setup_lock = threading.Lock()


def _otlp_endpoint(settings: TelemetrySettings) -> str | None:
    if settings.otlp_endpoint:
        return settings.otlp_endpoint.rstrip("/") + "/v1/traces"
    if os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/") + "/v1/traces"
    return None


def setup(service: str, settings: TelemetrySettings | None = None) -> TracerProvider | None:
    """Install the tracer provider for this process (once; later calls return the first one)."""
    global _provider, _settings
    with _setup_lock:
        if _provider is not None:
            return _provider
        if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            return None
        settings = settings or TelemetrySettings()
        endpoint = _otlp_endpoint(settings)
        if not settings.local and endpoint is None:
            return None
        provider = TracerProvider(
            resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or service})
        )
        provider.add_span_processor(McpToolSpans())
        if settings.local:
            store = SpanStore(settings.store_path, settings.max_age_days, settings.max_mb)
            provider.add_span_processor(
                BatchSpanProcessor(
                    SQLiteSpanExporter(store), max_queue_size=QUEUE_SPANS, schedule_delay_millis=EXPORT_EVERY_MS
                )
            )
        if endpoint is not None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(
                BatchSpanProcessor(
                    OTLPSpanExporter(endpoint=endpoint),
                    max_queue_size=QUEUE_SPANS,
                    schedule_delay_millis=EXPORT_EVERY_MS,
                )
            )
        trace.set_tracer_provider(provider)
        _provider, _settings = provider, settings
        log.debug("telemetry", service=service, local=settings.local, otlp=endpoint)
        return provider


def shutdown() -> None:
    """Flush and stop the exporters (at process exit; the SDK also registers this with atexit)."""
    if _provider is not None:
        _provider.shutdown()


def flush(timeout_ms: int = 5_000) -> bool:
    """Export every finished span now (tests, and a CLI about to exit)."""
    return _provider.force_flush(timeout_ms) if _provider is not None else True


def enabled() -> bool:
    """Whether spans are recorded in this process (callers skip building attributes when not)."""
    return _provider is not None


def capture_content() -> bool:
    return bool(_settings and _settings.capture_content)


_tracers: dict[str, trace.Tracer] = {}


def tracer(name: str) -> trace.Tracer:
    """The named tracer (looked up once: the SDK's lookup costs ~30 µs, more than a span)."""
    found = _tracers.get(name)
    if found is None:
        found = _tracers[name] = trace.get_tracer(name)
    return found


@functools.lru_cache(maxsize=1024)
def _secret_key(key: str) -> bool:
    return SECRET_KEY.search(key) is not None


def safe_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes fit for a span: secrets redacted, long strings cut, None dropped, lists of scalars kept."""
    out: dict[str, Any] = {}
    for key, value in attributes.items():
        if value is None:
            continue
        if isinstance(value, str):
            # Model and route names, ids and the like cannot hold a secret: only text the scrubber could act on
            # (a secret-named key, a bearer/sk- token, a key=value or key: value field) goes through it.
            risky = _secret_key(key) or any(marker in value for marker in _MARKERS)
            out[key] = (redact(value, key) if risky else value)[:MAX_ATTRIBUTE_CHARS]
        elif isinstance(value, bool | int | float):
            out[key] = value
        elif isinstance(value, list | tuple):
            out[key] = [redact(str(v), key)[:MAX_ATTRIBUTE_CHARS] for v in value]
        else:
            out[key] = redact(str(value), key)[:MAX_ATTRIBUTE_CHARS]
    return out


def trace_headers() -> dict[str, str]:
    """W3C trace-context headers for an outgoing HTTP request, so the callee's spans join the current trace."""
    carrier: dict[str, str] = {}
    if _provider is not None:
        propagate.inject(carrier)
    return carrier


def start_span(name: str, attributes: Mapping[str, Any] | None = None, kind: SpanKind = SpanKind.INTERNAL) -> Span:
    """A span under the current one that is not made current: for work that outlives the block that starts it (a
    stream). End it with ``end_span``."""
    if _provider is None:
        return trace.INVALID_SPAN
    started = tracer("strata").start_span(name, kind=kind)
    if attributes and started.is_recording():
        started.set_attributes(safe_attributes(attributes))
    return started


def end_span(ended: Span, attributes: Mapping[str, Any] | None = None, error: str | None = None) -> None:
    """End a span from ``start_span``, with its last attributes, or failed with ``error`` as its ``error.type``."""
    if ended.is_recording():
        if attributes:
            ended.set_attributes(safe_attributes(attributes))
        if error is not None:
            ended.set_attribute("error.type", error)
            ended.set_status(Status(StatusCode.ERROR))
    ended.end()


@contextmanager
def remote_parent(headers: Mapping[str, str]) -> Iterator[None]:
    """Make the caller's trace (W3C ``traceparent`` in HTTP headers) the parent of the spans made in the block."""
    token = otel_context.attach(propagate.extract(dict(headers)))
    try:
        yield
    finally:
        otel_context.detach(token)


@contextmanager
def span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    tracer_name: str = "strata",
) -> Iterator[Span]:
    """A span around the block, current while it runs; an exception marks it failed (``error.type``) and goes on.
    Without a provider (telemetry off) it costs nothing: no attributes are built into a span nobody records."""
    if _provider is None:
        yield trace.INVALID_SPAN
        return
    # start_span + attach is what start_as_current_span does, without its two layers of generator context managers
    current = tracer(tracer_name).start_span(name, kind=kind)
    if attributes and current.is_recording():  # a span the sampler dropped is not worth building attributes for
        current.set_attributes(safe_attributes(attributes))
    token = otel_context.attach(trace.set_span_in_context(current))
    try:
        yield current
    except BaseException as exc:
        current.set_attribute("error.type", type(exc).__name__)
        current.set_status(Status(StatusCode.ERROR, redact(str(exc))[:500]))
        raise
    finally:
        otel_context.detach(token)
        current.end()
