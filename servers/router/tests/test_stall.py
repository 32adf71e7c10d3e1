"""Stall escalation: an agent session whose tool results keep failing skips the cheap tier for a while."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio

from strata.router.core import Router
from strata.router.settings import RouterSettings
from strata.router.stall import failing_tool_turn
from strata.router.types import ChatRequest, RequestContext

CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Pariss"}'}}


def turn(result: str, call: dict[str, Any] = CALL) -> ChatRequest:
    return ChatRequest.model_validate(
        {
            "model": "default",
            "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": call["id"], "content": result},
            ],
        }
    )


def test_failing_tool_results_are_told_from_good_ones() -> None:
    assert failing_tool_turn(turn("Error: unknown city 'Pariss'")) == 'get_weather({"city": "Pariss"})'
    assert failing_tool_turn(turn("[tool error] timeout")) == 'get_weather({"city": "Pariss"})'
    assert failing_tool_turn(turn("Traceback (most recent call last):\n ...")) is not None
    assert failing_tool_turn(turn('{"temperature": 11}')) is None
    assert (
        failing_tool_turn(
            ChatRequest.model_validate({"model": "m", "messages": [{"role": "user", "content": "Error"}]})
        )
        is None
    )


def test_a_stalled_session_moves_up_a_tier_and_stays_there(tmp_path: Path, openai_upstream: Any) -> None:
    settings = RouterSettings(
        data_dir=tmp_path / "data",
        providers={"fake": {"base_url": openai_upstream.url}},
        models={
            "local": {"provider": "fake", "model": "echo", "local": True},
            "frontier": {"provider": "fake", "model": "json-good", "input_price": 3.0, "output_price": 15.0},
        },
        routes={
            "default": {
                "policy": "cascade", "cascade": ["local", "frontier"], "checks": ["non_empty"],
                "stall": {"repeats": 3, "window_s": 60, "latch_s": 60},
            }
        },
    )  # fmt: skip

    async def go() -> list[tuple[str, list[str]]]:
        router = Router.from_settings(settings)
        agent, other = RequestContext(session="agent-1"), RequestContext(session="agent-2")
        try:
            served = []
            for request, ctx in [
                (turn("Error: unknown city 'Pariss'"), agent),
                (turn('{"temperature": 11}'), agent),  # a good result does not count
                (turn("Error: unknown city 'Pariss'"), agent),
                (turn("Error: unknown city 'Pariss'"), other),  # another session has its own count
                (turn("Error: unknown city 'Pariss'"), agent),  # the third failure: stalled
                (turn('{"temperature": 11}'), agent),  # latched: still a tier up
                (turn('{"temperature": 11}'), other),
            ]:
                routed = await router.complete(request, ctx)
                served.append((routed.model, routed.escalations))
            return served
        finally:
            await router.close()

    served = anyio.run(go)
    assert [model for model, _ in served] == ["local", "local", "local", "local", "frontier", "frontier", "local"]
    reason = served[4][1][0]
    assert reason.startswith("local skipped: stalled session: 3 times get_weather(") and "for 60 s" in reason
    assert served[5][1] == [reason]
