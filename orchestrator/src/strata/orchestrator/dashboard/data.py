"""What the dashboard shows, read from the local span store (``strata.shared.telemetry.SpanStore``).

Everything here is a query over spans: the threads of ``strata ask`` (its ``invoke_agent`` spans, one trace per
run, grouped by ``gen_ai.conversation.id``), a trace as a waterfall, and the router's traffic over time (its
``route``, ``chat`` and ``shadow`` spans). The store keeps what its age and size bounds allow, and a sampler
configured in OpenTelemetry thins it: these are the figures of the spans kept, not the router's ledger
(``usage_report`` holds that).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strata.shared.telemetry import SpanStore

__all__ = [
    "Bucket",
    "ServiceHealth",
    "ThreadRow",
    "TraceRun",
    "Traffic",
    "WaterfallRow",
    "bucket_seconds",
    "service_activity",
    "span_tree",
    "threads",
    "traffic",
    "waterfall",
]

MAX_SPANS = 50_000  # route/chat/shadow spans read for one traffic view
BUCKETS = (60, 300, 900, 3_600, 6 * 3_600, 86_400)  # chart bucket widths, the narrowest that gives <= MAX_BUCKETS
MAX_BUCKETS = 48
NS = 1_000_000_000


@dataclass
class TraceRun:
    """One run of a thread (``strata ask``, then each ``strata resume``): one trace."""

    trace_id: str
    start_ns: int
    duration_ms: float
    finished: bool | None
    errors: int
    cost_usd: float
    tokens: int


@dataclass
class ThreadRow:
    thread_id: str
    repo: str
    request: str  # from the thread file in the repo, when it is still there
    runs: list[TraceRun]

    @property
    def start_ns(self) -> int:
        return min(run.start_ns for run in self.runs)


@dataclass
class WaterfallRow:
    span_id: str
    parent_id: str | None
    depth: int
    name: str
    service: str
    kind: str
    status: str
    status_message: str
    offset_ms: float
    duration_ms: float
    attributes: dict[str, Any]
    events: list[dict[str, Any]]

    @property
    def tokens(self) -> tuple[int, int] | None:
        a = self.attributes
        if "gen_ai.usage.input_tokens" not in a and "gen_ai.usage.output_tokens" not in a:
            return None
        return int(a.get("gen_ai.usage.input_tokens") or 0), int(a.get("gen_ai.usage.output_tokens") or 0)

    @property
    def cost_usd(self) -> float | None:
        value = self.attributes.get("strata.cost_usd")
        return float(value) if isinstance(value, int | float) else None


@dataclass
class Bucket:
    start_s: int
    cost_by_model: dict[str, float] = field(default_factory=dict)  # upstream calls (chat spans), by model
    requests: int = 0
    cache_hits: int = 0
    escalated: int = 0
    failed: int = 0
    cost_usd: float = 0.0  # of answered requests (route spans)
    baseline_usd: float = 0.0  # what the same requests would have cost on their route's top tier
    shadow_compared: int = 0
    shadow_agreed: int = 0


@dataclass
class Traffic:
    """The router's traffic in a window, bucketed over time, and totals per route and served model."""

    since_s: int
    until_s: int
    width_s: int
    buckets: list[Bucket]
    by_route_model: dict[tuple[str, str], dict[str, float]]
    models: list[str]
    spans_read: int
    truncated: bool


@dataclass
class ServiceHealth:
    service: str
    last_seen_ns: int
    spans: int
    errors: int


def _attributes(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _thread_request(repo: str, thread_id: str) -> str:
    """The request a thread was asked, from ``<repo>/.strata/threads/<id>.json`` (empty when gone or unreadable)."""
    from strata.orchestrator.agent.thread import thread_dir

    if not thread_id or "/" in thread_id or "\\" in thread_id or thread_id.startswith("."):
        return ""
    try:
        path = thread_dir(Path(repo)) / f"{thread_id}.json"
        if path.stat().st_size > 16 * 1024 * 1024:
            return ""
        return str(json.loads(path.read_text(encoding="utf-8")).get("request", ""))
    except (OSError, ValueError, AttributeError):
        return ""


def threads(store: SpanStore, limit: int = 50) -> list[ThreadRow]:
    """The newest ``strata ask`` threads, each with its runs (traces), newest thread first."""
    agents = store.query(
        "SELECT trace_id, start_ns, end_ns, attributes FROM spans WHERE name LIKE 'invoke_agent %' "
        "ORDER BY start_ns DESC LIMIT ?",
        (limit * 4,),
    )
    rows: dict[str, ThreadRow] = {}
    for trace_id, start, end, raw in agents:
        attributes = _attributes(raw)
        thread_id = str(attributes.get("gen_ai.conversation.id") or trace_id)
        if thread_id not in rows:
            if len(rows) >= limit:
                continue
            repo = str(attributes.get("strata.repo", ""))
            rows[thread_id] = ThreadRow(thread_id, repo, _thread_request(repo, thread_id), [])
        errors, cost, tokens = _trace_totals(store, trace_id)
        finished = attributes.get("strata.finished")
        rows[thread_id].runs.append(
            TraceRun(trace_id, start, (end - start) / 1e6, finished if isinstance(finished, bool) else None,
                     errors, cost, tokens)
        )  # fmt: skip
    for row in rows.values():
        row.runs.sort(key=lambda run: run.start_ns)
    return sorted(rows.values(), key=lambda row: row.start_ns, reverse=True)


def _trace_totals(store: SpanStore, trace_id: str) -> tuple[int, float, int]:
    """Errors, and the cost and tokens of the answered requests (the router's route spans), in one trace."""
    errors = 0
    cost = 0.0
    tokens = 0
    for name, status, raw in store.query("SELECT name, status, attributes FROM spans WHERE trace_id = ?", (trace_id,)):
        errors += status == "ERROR"
        if name.startswith("route "):
            attributes = _attributes(raw)
            cost += _number(attributes.get("strata.cost_usd"))
            tokens += int(_number(attributes.get("gen_ai.usage.input_tokens")))
            tokens += int(_number(attributes.get("gen_ai.usage.output_tokens")))
    return errors, cost, tokens


def waterfall(store: SpanStore, trace_id: str) -> list[WaterfallRow]:
    """One trace's spans depth-first (children by start time), each with its offset from the trace's start."""
    return span_tree(store.trace(trace_id))


def span_tree(spans: list[dict[str, Any]]) -> list[WaterfallRow]:
    """Spans of one trace (``SpanStore.trace``) depth-first; a span whose parent is not among them is a root."""
    if not spans:
        return []
    start = min(s["start_ns"] for s in spans)
    ids = {s["span_id"] for s in spans}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for s in spans:
        parent = s["parent_id"] if s["parent_id"] in ids else None  # a parent in another trace or not kept: a root
        children.setdefault(parent, []).append(s)
    out: list[WaterfallRow] = []
    stack = [(s, 0) for s in reversed(sorted(children.get(None, []), key=lambda s: s["start_ns"]))]
    while stack:
        s, depth = stack.pop()
        out.append(
            WaterfallRow(s["span_id"], s["parent_id"], depth, s["name"], s["service"], s["kind"], s["status"],
                         s["status_message"] or "", (s["start_ns"] - start) / 1e6, s["duration_ms"],
                         s["attributes"], s["events"])
        )  # fmt: skip
        kids = sorted(children.get(s["span_id"], []), key=lambda c: c["start_ns"])
        stack.extend((c, depth + 1) for c in reversed(kids))
    return out


def bucket_seconds(window_s: int) -> int:
    """The narrowest bucket width that splits ``window_s`` into at most ``MAX_BUCKETS`` buckets."""
    for width in BUCKETS:
        if window_s / width <= MAX_BUCKETS:
            return width
    return BUCKETS[-1] * -(-window_s // (BUCKETS[-1] * MAX_BUCKETS))


def traffic(store: SpanStore, hours: float = 24.0, now_s: float | None = None) -> Traffic:
    """The router's spans of the last ``hours``: spend by model, savings, cache hits, escalations, shadow agreement."""
    until = int(now_s if now_s is not None else time.time())
    since = until - int(hours * 3_600)
    rows = store.query(
        "SELECT name, start_ns, status, attributes FROM spans WHERE start_ns >= ? AND "
        "(name LIKE 'route %' OR name LIKE 'shadow %' OR (name LIKE 'chat %' AND kind = 'CLIENT')) "
        "ORDER BY start_ns LIMIT ?",
        (since * NS, MAX_SPANS + 1),
    )
    truncated = len(rows) > MAX_SPANS
    rows = rows[:MAX_SPANS]
    if rows:  # the charts start at the first span in the window, not at an empty stretch before it
        since = max(since, int(rows[0][1] // NS))
    width = bucket_seconds(max(until - since, 60))
    first = since - since % width
    buckets = [Bucket(first + i * width) for i in range((until - first) // width + 1)]
    by_route_model: dict[tuple[str, str], dict[str, float]] = {}
    models: set[str] = set()
    for name, start_ns, status, raw in rows:
        bucket = buckets[min((start_ns // NS - first) // width, len(buckets) - 1)]
        a = _attributes(raw)
        if name.startswith("chat "):
            model = str(a.get("strata.model") or a.get("gen_ai.request.model") or "?")
            models.add(model)
            bucket.cost_by_model[model] = bucket.cost_by_model.get(model, 0.0) + _number(a.get("strata.cost_usd"))
        elif name.startswith("shadow "):
            if a.get("strata.shadow.outcome") == "compared":
                bucket.shadow_compared += 1
                bucket.shadow_agreed += a.get("strata.shadow.agreed") is True
        else:
            route = str(a.get("strata.route") or "?")
            bucket.requests += 1
            if status == "ERROR":
                bucket.failed += 1
                continue
            cost = _number(a.get("strata.cost_usd"))
            baseline = _number(a.get("strata.baseline_usd")) if "strata.baseline_usd" in a else cost
            bucket.cost_usd += cost
            bucket.baseline_usd += baseline
            bucket.cache_hits += a.get("strata.cache") not in (None, "miss")
            bucket.escalated += _number(a.get("strata.escalations")) > 0
            totals = by_route_model.setdefault(
                (route, str(a.get("gen_ai.response.model") or "?")),
                {"requests": 0, "cost_usd": 0.0, "savings_usd": 0.0, "cache_hits": 0, "escalated": 0},
            )
            totals["requests"] += 1
            totals["cost_usd"] += cost
            totals["savings_usd"] += baseline - cost
            totals["cache_hits"] += a.get("strata.cache") not in (None, "miss")
            totals["escalated"] += _number(a.get("strata.escalations")) > 0
    return Traffic(since, until, width, buckets, by_route_model, sorted(models), len(rows), truncated)


def service_activity(store: SpanStore, hours: float = 1.0) -> list[ServiceHealth]:
    """Per service: its newest span ever, and its spans and failed spans in the last ``hours``."""
    since = int((time.time() - hours * 3_600) * NS)
    rows = store.query(
        "SELECT service, MAX(start_ns), SUM(start_ns >= ?), SUM(start_ns >= ? AND status = 'ERROR') FROM spans "
        "GROUP BY service ORDER BY service",
        (since, since),
    )
    return [ServiceHealth(service, last, int(n or 0), int(e or 0)) for service, last, n, e in rows]
