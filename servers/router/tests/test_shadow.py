"""Shadow evaluation against the fake upstreams on loopback: the client's answer is the routed one, at once; the
shadow model's answer is compared off the response path and the verdict, costs and latencies land in the ledger."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import ValidationError

from strata.router.core import Router
from strata.router.errors import ConfigError
from strata.router.settings import RouterSettings
from strata.router.shadow import agreement_interval
from strata.router.types import ChatRequest, RequestContext

MODELS = {
    "local": {"provider": "fake", "model": "echo", "local": True},
    "local-twin": {"provider": "fake", "model": "echo"},
    "local-json": {"provider": "fake", "model": "json-good"},
    "frontier": {"provider": "fake", "model": "json-good", "input_price": 3.0, "output_price": 15.0},
    "slow-frontier": {"provider": "fake", "model": "slow", "input_price": 3.0, "output_price": 15.0},
    "broken": {"provider": "fake", "model": "fail500"},
    "judge-same": {"provider": "fake", "model": "judge-same"},
    "judge-different": {"provider": "fake", "model": "judge-different"},
}


def make(tmp_path: Path, upstream: str, shadow: dict[str, Any], served: str = "local") -> Router:
    shadowed = {"policy": "fixed", "model": served, "shadow": {"sample": 1.0, **shadow}}
    return Router.from_settings(
        RouterSettings(
            data_dir=tmp_path / "data",
            providers={"fake": {"base_url": upstream}},
            models=MODELS,
            routes={"default": shadowed, "echoed": {**shadowed, "model": "local"}},
        )
    )


def chat(text: str, route: str = "default") -> ChatRequest:
    return ChatRequest.model_validate({"model": route, "messages": [{"role": "user", "content": text}]})


def run(
    tmp_path: Path, upstream: str, shadow: dict[str, Any], texts: list[str], served_by: str = "local"
) -> tuple[list[Any], list[Any], Router]:
    async def go() -> tuple[list[Any], list[Any], Router]:
        router = make(tmp_path, upstream, shadow, served_by)
        try:
            served = [await router.complete(chat(t), RequestContext(key="team")) for t in texts]
            await router.shadows_settled()
            rows, _ = router.ledger.quality(None, None, 50)
            return served, rows, router
        finally:
            await router.close()

    return anyio.run(go)


def test_json_compare_agrees_on_equal_values_and_records_both_costs(tmp_path: Path, openai_upstream: Any) -> None:
    async def go() -> tuple[list[Any], list[Any], list[Any]]:
        router = make(tmp_path, openai_upstream.url, {"model": "frontier", "compare": "json"}, "local-json")
        try:
            served = [
                await router.complete(chat("6*7 as JSON"), RequestContext(key="team")),
                await router.complete(chat("6*7 as JSON", "echoed"), RequestContext(key="team")),
            ]
            await router.shadows_settled()
            usage = router.ledger.usage(["route", "key"], None, None, 10)[0]
            return served, router.ledger.quality(None, None, 50)[0], usage
        finally:
            await router.close()

    served, rows, usage = anyio.run(go)
    assert [s.model for s in served] == ["local-json", "local"]  # the client's answer is the routed one
    by_route = {r.route: r for r in rows}
    row = by_route["default"]
    assert (row.served_model, row.shadow_model, row.kind) == ("local-json", "frontier", "text")
    assert (row.compared, row.agreed, row.dropped, row.failed) == (1, 1, 0, 0)
    assert (by_route["echoed"].compared, by_route["echoed"].agreed) == (1, 0)  # "echo: ..." is no JSON
    assert (row.agreement_low, row.agreement_high) == tuple(round(x, 4) for x in agreement_interval(1, 1))
    assert row.served_cost_per_request_usd == 0.0 and row.shadow_cost_per_request_usd > 0
    # the shadow calls are the shadow's spend, under their own label: a budget can cap them apart
    labels = {(u.group["route"], u.group["key"]): u for u in usage}
    assert set(labels) == {("default", "team"), ("echoed", "team"), ("default#shadow", "shadow"),
                           ("echoed#shadow", "shadow")}  # fmt: skip
    assert labels[("default#shadow", "shadow")].cost_usd == pytest.approx(row.shadow_cost_per_request_usd)


@pytest.mark.parametrize(
    ("shadow", "agreed"),
    [
        ({"model": "local-twin", "compare": "exact"}, 1),
        ({"model": "frontier", "compare": "exact"}, 0),
        ({"model": "frontier", "compare": "judge", "judge_model": "judge-same"}, 1),
        ({"model": "frontier", "compare": "judge", "judge_model": "judge-different"}, 0),
    ],
)
def test_exact_and_judge_verdicts(tmp_path: Path, openai_upstream: Any, shadow: dict[str, Any], agreed: int) -> None:
    _, [row], _ = run(tmp_path, openai_upstream.url, shadow, ["What is 6*7?"])
    assert (row.compared, row.agreed) == (1, agreed)


def test_a_full_shadow_queue_drops_and_counts_and_never_slows_the_client(tmp_path: Path, openai_upstream: Any) -> None:
    async def go() -> tuple[list[float], list[Any]]:
        router = make(tmp_path, openai_upstream.url, {"model": "slow-frontier", "compare": "exact", "queue": 1})
        try:
            took = []
            for text in ["one", "two", "three"]:
                started = time.perf_counter()
                await router.complete(chat(text), RequestContext())
                took.append(time.perf_counter() - started)
            await router.shadows_settled()
            return took, router.ledger.quality(None, None, 50)[0]
        finally:
            await router.close()

    took, [row] = anyio.run(go)
    assert max(took) < 1.0  # the shadow model takes 2 s; the client never waits for it
    assert (row.compared, row.dropped) == (1, 2)


def test_a_streamed_answer_is_shadowed_whole_after_its_last_chunk(tmp_path: Path, openai_upstream: Any) -> None:
    async def go() -> tuple[str, list[Any]]:
        router = make(tmp_path, openai_upstream.url, {"model": "local-twin", "compare": "exact"})
        try:
            handle = await router.open_stream(chat("stream me"), RequestContext())
            text = "".join(
                [
                    (choice.get("delta") or {}).get("content") or ""
                    async for chunk in handle.chunks
                    for choice in chunk.get("choices") or []
                ]
            )
            await router.shadows_settled()
            return text, router.ledger.quality(None, None, 50)[0]
        finally:
            await router.close()

    text, [row] = anyio.run(go)
    assert text == "echo: stream me"
    assert (row.compared, row.agreed) == (1, 1)  # the whole streamed text against the shadow's, not a prefix


def test_a_failing_shadow_is_counted_and_the_client_still_gets_its_answer(tmp_path: Path, openai_upstream: Any) -> None:
    served, [row], _ = run(tmp_path, openai_upstream.url, {"model": "broken", "compare": "exact"}, ["hi"])
    assert served[0].completion.text == "echo: hi" and (row.compared, row.failed) == (0, 1)


def test_shadow_configs_that_cannot_work_are_refused(tmp_path: Path, openai_upstream: Any) -> None:
    with pytest.raises(ConfigError, match="shadows with 'ghost', which is not a model"):
        make(tmp_path, openai_upstream.url, {"model": "ghost", "compare": "exact"})
    with pytest.raises(ValidationError, match="shadow compare = 'judge' needs 'judge_model'"):
        make(tmp_path, openai_upstream.url, {"model": "frontier", "compare": "judge"})


def test_the_agreement_interval_is_wilsons() -> None:
    low, high = agreement_interval(95, 100)
    assert (round(low, 3), round(high, 3)) == (0.888, 0.978)
    assert agreement_interval(0, 0) == (0.0, 1.0)


def ramped(tmp_path: Path, upstream: str, shadow_model: str) -> Router:
    route = {
        "policy": "split",
        "split": {"local": 1.0, "local-json": 1.0},
        "shadow": {"model": shadow_model, "compare": "exact", "sample": 1.0},
        "ramp": {"target": "local", "min": 0.3, "max": 0.7, "step": 0.1, "agreement": 0.7, "n": 10},
    }
    return Router.from_settings(
        RouterSettings(
            data_dir=tmp_path / "data", providers={"fake": {"base_url": upstream}}, models=MODELS,
            routes={"default": route},
        )
    )  # fmt: skip


def drive(tmp_path: Path, upstream: str, shadow_model: str, requests: int) -> tuple[dict[str, float], list[Any]]:
    """The weights at the start, then ``requests`` requests each shadowed; the ramp's decisions."""

    async def go() -> tuple[dict[str, float], list[Any]]:
        router = ramped(tmp_path, upstream, shadow_model)
        try:
            start = router.split_weights("default")
            for i in range(requests):
                await router.complete(chat(f"request {i}"), RequestContext())
                await router.shadows_settled()
            return start, router.ledger.ramp_history("default")
        finally:
            await router.close()

    return anyio.run(go)


def test_the_ramp_moves_the_local_weight_up_and_down_by_the_evidence_and_keeps_it(
    tmp_path: Path, openai_upstream: Any
) -> None:
    start, history = drive(tmp_path / "up", openai_upstream.url, "local-twin", 120)  # same answers: agreement holds
    assert start == {"local-json": 0.5, "local": 0.5}
    moves = [(h["weight_from"], h["weight_to"]) for h in history]
    assert moves[:2] == [(0.5, 0.6), (0.6, 0.7)] and all(after == 0.7 for _, after in moves[2:])  # then held at max
    assert all(h["n"] == 10 and h["agreed"] == 10 for h in history) and "held at the max" in str(history[-1]["reason"])
    restarted, _ = drive(tmp_path / "up", openai_upstream.url, "local-twin", 0)  # a restart keeps the ledger's weight
    assert restarted["local"] == 0.7 and restarted["local-json"] == pytest.approx(0.3)

    _, history = drive(tmp_path / "down", openai_upstream.url, "frontier", 60)  # always a different answer
    assert [(h["weight_from"], h["weight_to"]) for h in history][:2] == [(0.5, 0.4), (0.4, 0.3)]
    assert all(h["agreed"] == 0 for h in history) and "< 0.7" in str(history[0]["reason"])


def test_a_ramp_needs_a_split_a_shadow_and_one_of_its_entries(tmp_path: Path, openai_upstream: Any) -> None:
    base = {"policy": "split", "split": {"local": 1.0, "frontier": 1.0}}
    shadow = {"model": "frontier", "compare": "exact"}
    for route, message in [
        ({**base, "ramp": {"target": "local"}}, "a ramp needs policy 'split' and a 'shadow'"),
        ({**base, "shadow": shadow, "ramp": {"target": "ghost"}}, "target 'ghost' is not one of the split's entries"),
        ({**base, "shadow": shadow, "ramp": {"target": "local", "min": 0.8, "max": 0.2}}, "ramp min is above max"),
    ]:
        with pytest.raises(ValidationError, match=message):
            RouterSettings(data_dir=tmp_path, providers={"fake": {"base_url": openai_upstream.url}}, models=MODELS,
                           routes={"default": route})  # fmt: skip


def test_savings_are_against_the_strongest_model_and_go_negative_when_a_cascade_costs_more(
    tmp_path: Path, openai_upstream: Any
) -> None:
    models = {
        **MODELS,
        "cheap-prose": {"provider": "fake", "model": "bad-json", "input_price": 1.0, "output_price": 1.0},
        "cheap-json": {"provider": "fake", "model": "json-good", "input_price": 1.0, "output_price": 1.0},
    }
    routes = {
        "default": {"policy": "fixed", "model": "frontier"},
        "escalates": {"policy": "cascade", "cascade": ["cheap-prose", "frontier"], "checks": ["json"]},
        "holds": {"policy": "cascade", "cascade": ["cheap-json", "frontier"], "checks": ["json"]},
    }
    asked = {"response_format": {"type": "json_object"}}

    async def go() -> dict[str, Any]:
        router = Router.from_settings(
            RouterSettings(data_dir=tmp_path / "data", providers={"fake": {"base_url": openai_upstream.url}},
                           models=models, routes=routes)
        )  # fmt: skip
        try:
            for route in ("escalates", "holds"):
                request = ChatRequest.model_validate(
                    {"model": route, "messages": [{"role": "user", "content": "6*7 as JSON"}], **asked}
                )
                await router.complete(request, RequestContext())
            rows, _ = router.ledger.usage(["route"], None, None, 10)
            return {r.group["route"]: r for r in rows}
        finally:
            await router.close()

    rows = anyio.run(go)
    assert rows["holds"].savings_usd > 0  # the cheap tier's answer passed: frontier's price for it, saved
    escalated = rows["escalates"]
    assert escalated.savings_usd < 0 and escalated.savings_usd == pytest.approx(
        escalated.baseline_usd - escalated.cost_usd
    )  # the failed cheap try plus the frontier cost more than the frontier alone
