"""The Responses API front door (`POST /v1/responses`), driven by the official openai client: plain and streamed
answers, function tools and their outputs, JSON formats, previous_response_id, and any upstream behind it."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest


def client(router: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=router.v1, api_key="unused", max_retries=0)


WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def test_a_plain_response_and_a_follow_up_that_continues_it(make_router: Any, upstreams: Any) -> None:
    api = client(make_router())
    first = api.responses.create(model="default", input="hello there", instructions="Be brief.")
    assert first.output_text == "echo: hello there" and first.status == "completed" and first.id.startswith("resp_")
    assert first.usage is not None and first.usage.input_tokens > 0
    second = api.responses.create(model="default", input="and again", previous_response_id=first.id)
    assert second.output_text == "echo: and again"
    sent = upstreams[0].calls[-1]["messages"]  # the upstream saw the whole conversation
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[0]["content"] == "Be brief." and sent[2]["content"] == "echo: hello there"
    with pytest.raises(openai.NotFoundError, match="no stored response 'resp_nope'"):
        api.responses.create(model="default", input="x", previous_response_id="resp_nope")


def test_streamed_events_build_the_same_answer(make_router: Any) -> None:
    api = client(make_router())
    events = list(api.responses.create(model="default", input="stream me", stream=True))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "echo: stream me" and events[-1].response.output_text == text
    assert [e.sequence_number for e in events] == list(range(len(events)))
    follow = api.responses.create(model="default", input="next", previous_response_id=events[-1].response.id)
    assert follow.output_text == "echo: next"  # a streamed response is stored too


def test_function_tools_round_trip(make_router: Any, upstreams: Any) -> None:
    api = client(make_router(routes={"default": {"policy": "fixed", "model": "tool"}}))
    asked = api.responses.create(model="default", input="Weather in Paris?", tools=[WEATHER])
    [call] = [item for item in asked.output if item.type == "function_call"]
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    upstream_tools = upstreams[0].calls[-1]["tools"]
    assert upstream_tools == [{"type": "function", "function": {k: v for k, v in WEATHER.items() if k != "type"}}]
    answered = api.responses.create(
        model="default",
        previous_response_id=asked.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": '{"temperature": 11}'}],
        tools=[WEATHER],
    )
    sent = upstreams[0].calls[-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[1]["tool_calls"][0]["id"] == call.call_id and sent[2]["content"] == '{"temperature": 11}'
    assert answered.status == "completed"
    streamed = list(api.responses.create(model="default", input="Weather in Paris?", tools=[WEATHER], stream=True))
    done = [e.item for e in streamed if e.type == "response.output_item.done"]
    assert [(i.type, i.name) for i in done] == [("function_call", "get_weather")]


def test_json_formats_become_response_format_and_reach_any_upstream(make_router: Any, upstreams: Any) -> None:
    router = make_router(routes={"default": {"policy": "fixed", "model": "claude"}})  # the Anthropic upstream
    api = client(router)
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    answer = api.responses.create(
        model="default", input="6*7?", text={"format": {"type": "json_schema", "name": "a", "schema": schema}}
    )
    assert answer.output_text == "echo: 6*7?" and upstreams[1].calls[-1]["model"] == "echo"
    with pytest.raises(openai.BadRequestError, match="tool type 'web_search_preview' is not supported here"):
        api.responses.create(model="default", input="x", tools=[{"type": "web_search_preview"}])
