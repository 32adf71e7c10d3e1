"""The front doors, driven by the official openai and anthropic clients against real loopback upstreams."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import anthropic
import httpx
import openai
import pytest

JSON_ASK = {"type": "json_object"}
CASCADE = {"policy": "cascade", "cascade": ["bad-json", "frontier"]}


def client(router: Any, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=router.v1, api_key="unused", max_retries=0, default_headers=headers or None)


def ask(router: Any, text: str = "hello", **extra: Any) -> Any:
    headers = extra.pop("headers", {})
    return client(router, **headers).chat.completions.with_raw_response.create(
        model=extra.pop("model", "default"), messages=[{"role": "user", "content": text}], **extra
    )


def usage(router: Any, *group_by: str) -> list[Any]:
    rows, _ = router.router.ledger.usage(list(group_by) or ["model"])
    return rows


def test_cascade_escalates_when_the_local_answer_fails_its_json_check(make_router: Any, upstreams: Any) -> None:
    router = make_router(routes={"default": CASCADE})
    raw = ask(router, "What is six times seven? Answer in JSON.", response_format=JSON_ASK, temperature=0)
    answer = raw.parse()
    assert json.loads(answer.choices[0].message.content) == {"answer": 42}
    assert raw.headers["x-strata-model"] == "frontier"
    assert "bad-json -> frontier: json (the answer is not valid JSON" in raw.headers["x-strata-escalations"]
    assert upstreams[0].models_called() == ["bad-json", "json-good"]
    by_model = {r.group["model"]: r for r in usage(router)}
    assert by_model["frontier"].escalations == 1 and by_model["bad-json"].requests == 1
    # Both calls are paid: 100 prompt + 50 completion tokens at each model's prices.
    expected = (100 * 1.0 + 50 * 2.0) / 1e6 + (100 * 3.0 + 50 * 15.0) / 1e6
    assert float(raw.headers["x-strata-cost-usd"]) == pytest.approx(expected)


def test_cascade_keeps_a_passing_local_answer_and_never_calls_the_frontier(make_router: Any, upstreams: Any) -> None:
    router = make_router(routes={"default": {"policy": "cascade", "cascade": ["json-good", "frontier"]}})
    raw = ask(router, "JSON please", response_format=JSON_ASK)
    assert raw.headers["x-strata-model"] == "json-good"
    assert "x-strata-escalations" not in raw.headers
    assert upstreams[0].models_called() == ["json-good"]
    [row] = usage(router)
    assert row.baseline_usd > row.cost_usd  # the frontier's price for the same tokens: the saving


@pytest.mark.parametrize(
    ("cheap", "check"),
    [("truncated", "not_truncated"), ("empty", "non_empty"), ("bad-tool", "tool_call")],
)
def test_each_failed_check_escalates_and_says_why(make_router: Any, upstreams: Any, cheap: str, check: str) -> None:
    router = make_router(routes={"default": {"policy": "cascade", "cascade": [cheap, "tool"]}})
    tools = [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        }
    ]
    raw = ask(router, "weather in Paris?", tools=tools)
    assert raw.headers["x-strata-model"] == "tool"
    assert f"{cheap} -> tool: {check}" in raw.headers["x-strata-escalations"]
    call = raw.parse().choices[0].message.tool_calls[0]
    assert call.function.name == "weather" and json.loads(call.function.arguments) == {"city": "Paris"}


def test_tool_arguments_are_checked_against_the_tool_schema(make_router: Any) -> None:
    router = make_router(routes={"default": {"policy": "cascade", "cascade": ["tool", "frontier"]}})
    tools = [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "integer"}}},
            },
        }
    ]
    raw = ask(router, "weather?", tools=tools)
    assert (
        "tool_call (the arguments of 'weather' does not match the schema at city" in raw.headers["x-strata-escalations"]
    )


@pytest.mark.parametrize("failing", ["fail500", "ratelimit", "slow", "overflow"])
def test_fallback_chain_moves_on_from_5xx_429_timeouts_and_context_overflow(
    make_router: Any, upstreams: Any, failing: str
) -> None:
    models = {failing: {"provider": "fake", "model": failing, "fallbacks": ["echo"]}}
    router = make_router(models=models, routes={"default": {"policy": "fixed", "model": failing}})
    raw = ask(router, "still there?")
    assert raw.parse().choices[0].message.content == "echo: still there?"
    assert raw.headers["x-strata-model"] == "echo"
    assert upstreams[0].models_called() == [failing, "echo"]
    outcomes = [(r.group["model"], r.requests) for r in usage(router)]
    assert (failing, 1) in outcomes and ("echo", 1) in outcomes


def test_a_client_error_is_not_retried_on_the_fallback(make_router: Any, upstreams: Any) -> None:
    models = {"reject": {"provider": "fake", "model": "reject", "fallbacks": ["echo"]}}
    router = make_router(models=models, routes={"default": {"policy": "fixed", "model": "reject"}})
    with pytest.raises(openai.BadRequestError, match=r"rejected the request: tools\[0\]"):
        ask(router)
    assert upstreams[0].models_called() == ["reject"]


def test_when_every_model_fails_the_error_lists_each_failure(make_router: Any) -> None:
    models = {"fail500": {"provider": "fake", "model": "fail500", "fallbacks": ["ratelimit"]}}
    router = make_router(models=models, routes={"default": {"policy": "fixed", "model": "fail500"}})
    with pytest.raises(openai.APIStatusError) as caught:
        ask(router)
    assert caught.value.status_code == 502
    assert "server 500: upstream exploded" in str(caught.value) and "rate_limited 429" in str(caught.value)


def test_a_prompt_too_long_for_a_context_window_skips_to_a_model_it_fits(make_router: Any, upstreams: Any) -> None:
    models = {"small": {"provider": "fake", "model": "bad-json", "context_window": 16, "fallbacks": ["echo"]}}
    router = make_router(models=models, routes={"default": {"policy": "fixed", "model": "small"}})
    raw = ask(router, "word " * 200)
    assert raw.headers["x-strata-model"] == "echo"
    assert upstreams[0].models_called() == ["echo"]  # skipped before any call


def test_budget_refuses_a_request_whose_estimate_passes_the_cap(make_router: Any, upstreams: Any) -> None:
    budgets = [{"scope": "global", "limit_usd": 0.002}]
    router = make_router(budgets=budgets, routes={"default": {"policy": "fixed", "model": "frontier"}})
    ask(router, "small", max_tokens=10)  # ~0.0003 USD estimated, fits
    with pytest.raises(openai.APIStatusError) as caught:
        ask(router, "big " * 400, max_tokens=4000)  # 4000 output tokens at $15/M = $0.06
    assert caught.value.status_code == 402
    assert caught.value.body["code"] == "budget_exceeded"  # type: ignore[index]
    assert "global budget of $0.0020 today for all requests has $0.000950 left" in str(caught.value)
    assert upstreams[0].models_called() == ["json-good"]
    [line] = router.router.budgets.status()
    assert line.spent_usd == pytest.approx((100 * 3.0 + 50 * 15.0) / 1e6)
    refused = sum(r.refused for r in usage(router))
    assert refused == 1


def test_over_budget_goes_local_when_the_route_says_so(make_router: Any, upstreams: Any) -> None:
    budgets = [{"scope": "key", "limit_usd": 0.0001}]
    route = {"policy": "fixed", "model": "frontier", "on_budget": "local"}
    router = make_router(budgets=budgets, routes={"default": route})
    raw = ask(router, "big " * 400, max_tokens=4000)
    assert raw.headers["x-strata-model"] == "local"
    assert raw.parse().choices[0].message.content.startswith("echo: big")
    assert float(raw.headers["x-strata-cost-usd"]) == 0.0


def test_per_session_budget_from_the_header(make_router: Any) -> None:
    budgets = [{"scope": "session", "limit_usd": 0.0012}]
    router = make_router(budgets=budgets, routes={"default": {"policy": "fixed", "model": "frontier"}})
    ask(router, "one", max_tokens=50, headers={"X-Strata-Session": "s1"})
    with pytest.raises(openai.APIStatusError, match="session 's1'"):
        ask(router, "two", max_tokens=50, headers={"X-Strata-Session": "s1"})
    ask(router, "three", max_tokens=50, headers={"X-Strata-Session": "s2"})  # another session has its own cap


def test_exact_cache_hit_costs_nothing_and_skips_the_upstream(make_router: Any, upstreams: Any) -> None:
    router = make_router(routes={"default": {"policy": "fixed", "model": "frontier"}})
    first = ask(router, "cache me", temperature=0)
    second = ask(router, "  cache me ", temperature=0)  # whitespace normalised
    assert first.parse().choices[0].message.content == second.parse().choices[0].message.content
    assert second.headers["x-strata-cache"] == "exact" and float(second.headers["x-strata-cost-usd"]) == 0
    assert upstreams[0].models_called() == ["json-good"]
    ask(router, "cache me", temperature=0, headers={"Cache-Control": "no-cache"})
    ask(router, "cache me", temperature=0.7)  # sampled requests bypass the cache by default
    assert len(upstreams[0].calls) == 3
    [row] = usage(router)
    assert row.cache_hits == 1 and row.saved_by_cache_usd == pytest.approx((100 * 3.0 + 50 * 15.0) / 1e6)


def test_streaming_passes_chunks_through_and_records_usage(make_router: Any) -> None:
    router = make_router()
    stream = client(router).chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": "stream this please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: stream this please"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 2  # really streamed
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 50
    [row] = usage(router)
    assert row.requests == 1 and row.completion_tokens == 50


def test_streaming_cascade_replays_a_checked_local_answer(make_router: Any, upstreams: Any) -> None:
    router = make_router(routes={"default": CASCADE})
    with client(router).chat.completions.with_streaming_response.create(
        model="default", messages=[{"role": "user", "content": "json"}], response_format=JSON_ASK, stream=True
    ) as response:
        assert response.headers["x-strata-model"] == "frontier"
        text = "".join(c.choices[0].delta.content or "" for c in response.parse() if c.choices)
    assert json.loads(text) == {"answer": 42}


def test_a_stream_failing_before_its_first_chunk_falls_back(make_router: Any, upstreams: Any) -> None:
    models = {"fail500": {"provider": "fake", "model": "fail500", "fallbacks": ["echo"]}}
    router = make_router(models=models, routes={"default": {"policy": "fixed", "model": "fail500"}})
    chunks = list(
        client(router).chat.completions.create(
            model="default", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: hi"


def test_a_stream_failing_midway_reports_the_error_in_band(make_router: Any) -> None:
    router = make_router(routes={"default": {"policy": "fixed", "model": "midfail"}})
    with httpx.stream(
        "POST",
        router.v1 + "/chat/completions",
        json={"model": "x", "stream": True, "messages": [{"role": "user", "content": "hello there"}]},
    ) as response:
        body = response.read().decode()
    assert response.status_code == 200
    assert "failed mid-stream: worker died" in body and body.rstrip().endswith("data: [DONE]")


def test_anthropic_front_door_for_claude_code(make_router: Any) -> None:
    router = make_router()
    claude = anthropic.Anthropic(base_url=router.url, api_key="unused", max_retries=0)
    message = claude.messages.create(
        model="default", max_tokens=100, system="Be brief.", messages=[{"role": "user", "content": "hi claude"}]
    )
    assert message.content[0].type == "text" and message.content[0].text == "echo: hi claude"
    assert message.stop_reason == "end_turn" and message.usage.output_tokens == 50
    with claude.messages.stream(
        model="x", max_tokens=100, messages=[{"role": "user", "content": "stream it"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "echo: stream it" and final.stop_reason == "end_turn"
    count = claude.messages.count_tokens(model="x", messages=[{"role": "user", "content": "count these words"}])
    assert count.input_tokens > 0


def test_anthropic_front_door_tool_use_round_trip(make_router: Any, upstreams: Any) -> None:
    router = make_router(routes={"default": {"policy": "fixed", "model": "tool"}})
    claude = anthropic.Anthropic(base_url=router.url, api_key="unused", max_retries=0)
    tools = [
        {
            "name": "weather",
            "description": "Weather by city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    first = claude.messages.create(
        model="x", max_tokens=100, tools=tools, messages=[{"role": "user", "content": "weather?"}]
    )
    use = next(b for b in first.content if b.type == "tool_use")
    assert use.name == "weather" and use.input == {"city": "Paris"} and first.stop_reason == "tool_use"
    claude.messages.create(
        model="x", max_tokens=100, tools=tools,
        messages=[
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": use.id, "name": "weather", "input": use.input}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]},
        ],
    )  # fmt: skip
    sent = upstreams[0].calls[-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[1]["tool_calls"][0]["function"]["name"] == "weather" and sent[2] == {
        "role": "tool",
        "tool_call_id": use.id,
        "content": "sunny",
    }


def test_anthropic_upstream_behind_the_openai_front_door(make_router: Any, upstreams: Any) -> None:
    router = make_router(routes={"default": {"policy": "fixed", "model": "claude"}})
    raw = ask(router, "via anthropic", headers={})
    answer = raw.parse()
    assert answer.choices[0].message.content == "echo: via anthropic"
    assert answer.usage.prompt_tokens == 80 and answer.usage.completion_tokens == 20
    sent = upstreams[1].calls[-1]
    assert (
        sent["model"] == "echo"
        and sent["max_tokens"] == 4096
        and sent["messages"][0]["content"][0]["text"] == "via anthropic"
    )
    chunks = list(
        client(router).chat.completions.create(
            model="d", messages=[{"role": "user", "content": "streamed"}], stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: streamed"


def test_weighted_split_is_deterministic_per_request_and_follows_the_weights(make_router: Any) -> None:
    router = make_router(routes={"default": {"policy": "split", "split": {"local": 0.7, "frontier": 0.3}}})
    from strata.router.types import ChatRequest, RequestContext

    picks = [
        router.router.resolve(
            ChatRequest(model="m", messages=[{"role": "user", "content": f"question {i}"}]), RequestContext()
        ).tiers[0]
        for i in range(1000)
    ]
    assert 0.65 < picks.count("local") / len(picks) < 0.75
    again = router.router.resolve(
        ChatRequest(model="m", messages=[{"role": "user", "content": "question 7"}]), RequestContext()
    )
    assert again.tiers[0] == picks[7]


def test_rules_route_by_tools_and_tags(make_router: Any) -> None:
    route = {
        "policy": "rules",
        "rules": [{"when": {"has_tools": True}, "use": "tool"}, {"when": {"tags_any": ["hard"]}, "use": "frontier"}],
        "default": "local",
    }
    router = make_router(routes={"default": route})
    assert ask(router, "plain").headers["x-strata-model"] == "local"
    assert ask(router, "tagged", headers={"X-Strata-Tags": "hard"}).headers["x-strata-model"] == "frontier"
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    assert ask(router, "tools", tools=tools).headers["x-strata-model"] == "tool"


def test_model_aliases_and_the_route_header_pick_routes(make_router: Any) -> None:
    routes = {
        "default": {"policy": "fixed", "model": "echo"},
        "smart": {"policy": "fixed", "model": "frontier", "aliases": ["gpt-5"]},
    }
    router = make_router(routes=routes)
    assert ask(router, model="gpt-5").headers["x-strata-route"] == "smart"
    assert ask(router, headers={"X-Strata-Route": "smart"}).headers["x-strata-model"] == "frontier"
    ids = {m.id for m in client(router).models.list()}
    assert {"default", "smart", "gpt-5", "frontier"} <= ids


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "x"}, "messages: Field required"),
        ({"model": "x", "messages": []}, "messages: List should have at least 1 item"),
        ({"model": "x", "n": 2, "messages": [{"role": "user", "content": "hi"}]}, "only n=1"),
        ({"model": "x", "messages": [{"role": "wizard", "content": "hi"}]}, "messages.0.role"),
        ({"model": "x", "temperature": 9, "messages": [{"role": "user", "content": "hi"}]}, "temperature"),
    ],
)
def test_bad_requests_get_a_clear_400(make_router: Any, upstreams: Any, body: dict[str, Any], message: str) -> None:
    router = make_router()
    response = httpx.post(router.v1 + "/chat/completions", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert upstreams[0].calls == []


def test_malformed_json_unknown_route_and_anthropic_errors(make_router: Any) -> None:
    router = make_router()
    bad = httpx.post(
        router.v1 + "/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]["message"]
    unknown = httpx.post(
        router.v1 + "/chat/completions",
        headers={"X-Strata-Route": "nope"},
        json={"model": "x", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert unknown.status_code == 404 and "no route or model named 'nope'" in unknown.json()["error"]["message"]
    claude = anthropic.Anthropic(base_url=router.url, api_key="unused", max_retries=0)
    with pytest.raises(anthropic.BadRequestError, match="max_tokens"):
        claude.messages.create(model="x", max_tokens=0, messages=[{"role": "user", "content": "hi"}])


def test_api_keys_guard_v1_and_name_the_spender(make_router: Any) -> None:
    router = make_router(
        keys={"alice": "sk-alice", "bob": "sk-bob"},
        budgets=[{"scope": "key", "name": "bob", "limit_usd": 0.00001}],
        routes={"default": {"policy": "fixed", "model": "frontier"}},
    )
    with pytest.raises(openai.AuthenticationError):
        ask(router)
    ok = openai.OpenAI(base_url=router.v1, api_key="sk-alice", max_retries=0).chat.completions.create(
        model="x", messages=[{"role": "user", "content": "hi"}]
    )
    assert ok.choices[0].message.content
    with pytest.raises(openai.APIStatusError, match="key 'bob'"):
        openai.OpenAI(base_url=router.v1, api_key="sk-bob", max_retries=0).chat.completions.create(
            model="x", messages=[{"role": "user", "content": "hi"}]
        )
    anthropic.Anthropic(base_url=router.url, api_key="sk-alice", max_retries=0).messages.create(
        model="x", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )
    keys = {r.group["key"] for r in usage(router, "key")}
    assert keys == {"alice", "bob"}


LEAKED_KEY = "plain-upstream-secret-4711"  # not sk- shaped: only knowing the configured key finds it


@pytest.mark.parametrize("behaviour", ["leak401", "leak500"])
def test_an_upstream_that_echoes_the_key_never_shows_it_to_clients_or_the_ledger(
    make_router: Any, upstreams: Any, monkeypatch: pytest.MonkeyPatch, behaviour: str
) -> None:
    """Issue 25: an upstream echoing Authorization put the key in tool errors, /v1 errors and router.db."""
    monkeypatch.setenv("LEAKY_KEY", LEAKED_KEY)
    router = make_router(
        providers={"leaky": {"base_url": upstreams[0].url, "api_key_env": "LEAKY_KEY"}},
        models={"leaky": {"provider": "leaky", "model": behaviour}},
        routes={"default": {"policy": "fixed", "model": "leaky"}},
    )
    with pytest.raises(openai.APIStatusError) as caught:
        ask(router)
    relayed = json.dumps(caught.value.body)
    assert "***" in relayed  # the echo arrived, redacted
    assert LEAKED_KEY not in relayed and "Traceback" not in relayed and "/srv/app.py" not in relayed
    router.router.ledger.db.flush()
    dump = "\n".join(sqlite3.connect(router.router.ledger.db.path).iterdump())
    assert "leaky" in dump and LEAKED_KEY not in dump
