"""Telemetry: the local span store, what may go into a span, and OTLP/HTTP export to a receiver on loopback.

The tracer provider is process-global, so whatever installs one runs in a subprocess of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from strata.shared.telemetry import SpanStore, safe_attributes
from strata.shared.testing import ThreadServer

SECRET = "sk-live-0123456789abcdefghijklmnop"


def row(trace: str, span: str, start_ns: int, parent: str | None = None) -> tuple[Any, ...]:
    return (trace, span, parent, f"op {span}", "INTERNAL", "test", start_ns, start_ns + 1_000_000, "UNSET", None,
            json.dumps({"k": "v" * 200}), "[]")  # fmt: skip


def test_the_store_answers_by_trace_and_stays_within_its_age_and_size(tmp_path: Path, monkeypatch: Any) -> None:
    store = SpanStore(tmp_path / "spans.db", max_age_days=1, max_mb=1)
    now = time.time_ns()
    store.add([row("t-old", "a", now - 3 * 86_400 * 10**9)])
    store.add([row("t1", "root", now), row("t1", "child", now + 1, parent="root")])
    [one] = [t for t in store.recent_traces() if t["trace_id"] == "t1"]
    assert (one["root"], one["spans"]) == ("op root", 2)
    assert [s["name"] for s in store.trace("t1")] == ["op root", "op child"]

    monkeypatch.setattr("strata.shared.telemetry.PRUNE_EVERY", 1)
    store.add([row(f"t{i}", f"s{i}", now + i) for i in range(2, 12_000)])  # ~3 MB of rows against a 1 MB bound
    assert store.trace("t-old") == []  # older than max_age_days
    used = store.query(
        "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count, pragma_freelist_count, pragma_page_size"
    )[0][0]
    assert used <= 1024 * 1024
    kept = store.query("SELECT MIN(start_ns) FROM spans")[0][0]
    assert kept > now + 2  # the oldest went first
    store.close()


def test_secrets_are_redacted_before_they_reach_a_span() -> None:
    attributes = safe_attributes(
        {"http.request.header.authorization": f"Bearer {SECRET}", "api_key": SECRET, "note": f"called with {SECRET}",
         "prompt": "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345", "tokens": 12, "skip": None}
    )  # fmt: skip
    assert SECRET not in json.dumps(attributes) and "abcdefghijklmnopqrstuvwxyz012345" not in json.dumps(attributes)
    assert attributes["tokens"] == 12 and "skip" not in attributes


def _run(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], env={**os.environ, **env}, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


SCRIPT = """
    from opentelemetry.trace import SpanKind
    from strata.shared import telemetry
    provider = telemetry.setup("strata-test")
    print(sorted(type(p.span_exporter).__name__ for p in provider._active_span_processor._span_processors
                 if hasattr(p, "span_exporter")))  # the exporters (McpToolSpans only names spans)
    with telemetry.span("invoke_agent test", {"gen_ai.operation.name": "invoke_agent"}):
        with telemetry.span("chat m", {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 7}, SpanKind.CLIENT):
            pass
        try:
            with telemetry.span("fails", {"api_key": "SECRET"}):
                raise ValueError("upstream said Bearer SECRET")
        except ValueError:
            pass
    telemetry.flush()
""".replace("SECRET", SECRET)


def test_otlp_http_export_sends_genai_spans_to_the_configured_receiver(tmp_path: Path) -> None:
    received: list[ExportTraceServiceRequest] = []

    async def traces(request: Request) -> Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.body())
        received.append(message)
        return Response(b"", media_type="application/x-protobuf")

    with ThreadServer(Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])])) as url:
        done = _run(SCRIPT, {"STRATA_HOME": str(tmp_path), "OTEL_EXPORTER_OTLP_ENDPOINT": url})
    assert done.returncode == 0, done.stderr
    assert "['OTLPSpanExporter', 'SQLiteSpanExporter']" in done.stdout
    spans = [s for r in received for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans]
    by_name = {s.name: s for s in spans}
    assert set(by_name) == {"invoke_agent test", "chat m", "fails"}
    chat = by_name["chat m"]
    assert chat.parent_span_id == by_name["invoke_agent test"].span_id and chat.kind == chat.SPAN_KIND_CLIENT
    assert {a.key: a.value.int_value for a in chat.attributes if a.key == "gen_ai.usage.input_tokens"} == {
        "gen_ai.usage.input_tokens": 7
    }
    service = {a.key: a.value.string_value for r in received for a in r.resource_spans[0].resource.attributes}
    assert service["service.name"] == "strata-test"
    assert SECRET not in str(received)  # neither the attribute nor the exception message carries the key
    store = SpanStore(tmp_path / "telemetry" / "spans.db")
    assert {s["name"] for s in store.trace(by_name["fails"].trace_id.hex())} == set(by_name)
    [failed] = [s for s in store.trace(by_name["fails"].trace_id.hex()) if s["name"] == "fails"]
    assert failed["status"] == "ERROR" and failed["attributes"]["error.type"] == "ValueError"
    assert SECRET not in (tmp_path / "telemetry" / "spans.db").read_bytes().decode("latin-1")


def test_without_an_endpoint_spans_stay_on_the_machine_and_can_be_turned_off(tmp_path: Path) -> None:
    env = {"STRATA_HOME": str(tmp_path), "OTEL_EXPORTER_OTLP_ENDPOINT": "", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ""}
    local = _run(SCRIPT, env)
    assert local.returncode == 0, local.stderr
    assert "['SQLiteSpanExporter']" in local.stdout  # no exporter that could reach the network exists
    off = _run("from strata.shared import telemetry\nprint(telemetry.setup('x'))", {**env, "OTEL_SDK_DISABLED": "true"})
    assert off.stdout.strip() == "None"
