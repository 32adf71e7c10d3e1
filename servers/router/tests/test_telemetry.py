"""The router's spans: a routed request and its upstream calls, in the caller's trace, with GenAI attributes and
without the keys that passed through."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from strata.shared.telemetry import SpanStore

UPSTREAM_KEY = "sk-upstream-0123456789abcdefghij"
CLIENT_KEY = "strata-client-key-9876543210zyxwvu"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


def test_a_routed_request_is_a_route_span_over_genai_chat_spans_in_the_callers_trace(
    router_process: Any, openai_upstream: Any, tmp_path: Path
) -> None:
    config = {
        "providers": {"fake": {"base_url": openai_upstream.url, "api_key_env": "FAKE_UPSTREAM_KEY"}},
        "models": {
            "cheap": {"provider": "fake", "model": "bad-json", "input_price": 1.0, "output_price": 2.0},
            "good": {"provider": "fake", "model": "json-good", "input_price": 3.0, "output_price": 15.0},
        },
        "routes": {"default": {"policy": "cascade", "cascade": ["cheap", "good"]}},
        "keys": {"team": {"key_env": "ROUTER_CLIENT_KEY"}},
    }
    home = tmp_path / "home"
    url = router_process(config, home, FAKE_UPSTREAM_KEY=UPSTREAM_KEY, ROUTER_CLIENT_KEY=CLIENT_KEY)
    response = httpx.post(
        url + "/v1/chat/completions",
        json={"model": "default", "messages": [{"role": "user", "content": "JSON please"}],
              "response_format": {"type": "json_object"}, "max_tokens": 50},
        headers={"Authorization": f"Bearer {CLIENT_KEY}", "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"},
        timeout=30,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.headers["x-strata-model"] == "good"  # the cheap answer failed its JSON check

    store = SpanStore(home / "telemetry" / "spans.db")
    deadline = time.monotonic() + 10  # the batch processor exports every 0.5 s
    while len(spans := store.trace(TRACE_ID)) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    [route] = [s for s in spans if s["name"] == "route default"]
    assert route["parent_id"] == PARENT_ID and route["service"] == "strata-router"  # the caller's trace, continued
    assert route["attributes"]["gen_ai.response.model"] == "good" and route["attributes"]["strata.escalations"] == 1
    assert route["attributes"]["strata.cost_usd"] > 0 and route["attributes"]["strata.cache"] == "miss"
    # What the top tier alone would have cost for this answer (100 in at $3/M + 50 out at $15/M): the dashboard's
    # savings are baseline - cost, here negative (the cheap tier's failed try was paid for too).
    assert route["attributes"]["strata.baseline_usd"] == pytest.approx(0.00105)
    assert route["attributes"]["strata.cost_usd"] == pytest.approx(0.00105 + 0.0002)
    chats = sorted((s for s in spans if s["name"].startswith("chat ")), key=lambda s: s["start_ns"])
    assert [c["name"] for c in chats] == ["chat bad-json", "chat json-good"]
    for chat in chats:
        attributes = chat["attributes"]
        assert chat["parent_id"] == route["span_id"] and chat["kind"] == "CLIENT"
        assert attributes["gen_ai.operation.name"] == "chat" and attributes["gen_ai.provider.name"] == "openai"
        assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (100, 50)
        assert attributes["server.address"] == "127.0.0.1" and "gen_ai.input.messages" not in attributes
    # A streamed answer: its chat span lasts until the last chunk and carries the stream's usage.
    streamed_trace = "5bf92f3577b34da6a3ce929d0e0e4737"
    with httpx.stream(
        "POST", url + "/v1/chat/completions",
        json={"model": "good", "messages": [{"role": "user", "content": "stream"}], "stream": True, "max_tokens": 50},
        headers={"Authorization": f"Bearer {CLIENT_KEY}", "traceparent": f"00-{streamed_trace}-{PARENT_ID}-01"},
        timeout=30,
    ) as streamed:  # fmt: skip
        assert streamed.status_code == 200 and "[DONE]" in streamed.read().decode()
    deadline = time.monotonic() + 10
    while True:
        spans = store.trace(streamed_trace)
        if any(s["name"] == "chat json-good" for s in spans):
            break
        assert time.monotonic() < deadline, spans
        time.sleep(0.2)
    [route] = [s for s in spans if s["name"] == "route good"]
    [chat] = [s for s in spans if s["name"] == "chat json-good"]
    assert chat["parent_id"] == route["span_id"] and chat["attributes"]["strata.stream"] is True
    assert chat["attributes"]["gen_ai.usage.output_tokens"] == 50 and chat["attributes"]["strata.cost_usd"] > 0
    assert chat["end_ns"] > route["end_ns"]  # the route span ends at the first chunk, the call at the last

    stored = (home / "telemetry" / "spans.db").read_bytes().decode("latin-1")
    assert UPSTREAM_KEY not in stored and CLIENT_KEY not in stored
    store.close()


def test_a_shadowed_request_has_a_shadow_span_with_the_verdict_under_its_route_span(
    router_process: Any, openai_upstream: Any, tmp_path: Path
) -> None:
    config = {
        "providers": {"fake": {"base_url": openai_upstream.url, "api_key_env": "FAKE_UPSTREAM_KEY"}},
        "models": {
            "cheap": {"provider": "fake", "model": "echo", "input_price": 1.0, "output_price": 2.0},
            "good": {"provider": "fake", "model": "json-good", "input_price": 3.0, "output_price": 15.0},
        },
        "routes": {"default": {"policy": "fixed", "model": "cheap",
                               "shadow": {"model": "good", "sample": 1.0, "compare": "exact"}}},
    }  # fmt: skip
    home = tmp_path / "home"
    url = router_process(config, home, FAKE_UPSTREAM_KEY=UPSTREAM_KEY)
    response = httpx.post(
        url + "/v1/chat/completions",
        json={"model": "default", "messages": [{"role": "user", "content": "say something"}], "max_tokens": 50},
        headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}, timeout=30,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    store = SpanStore(home / "telemetry" / "spans.db")
    deadline = time.monotonic() + 10
    while True:
        spans = store.trace(TRACE_ID)
        if any(s["name"] == "shadow default" for s in spans):
            break
        assert time.monotonic() < deadline, [s["name"] for s in spans]
        time.sleep(0.2)
    [route] = [s for s in spans if s["name"] == "route default"]
    [shadow] = [s for s in spans if s["name"] == "shadow default"]
    assert shadow["parent_id"] == route["span_id"]
    assert (
        shadow["attributes"]["strata.shadow.model"] == "good"
        and shadow["attributes"]["strata.shadow.outcome"] == "compared"
    )
    assert shadow["attributes"]["strata.shadow.agreed"] is False  # an echo and a JSON object are not the same text
    [call] = [s for s in spans if s["name"] == "chat json-good"]
    assert call["parent_id"] == shadow["span_id"]
    store.close()
