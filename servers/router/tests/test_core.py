"""The router core directly: config validation, the ledger across restarts, the semantic cache, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import ValidationError

from strata.router.core import Router
from strata.router.errors import BudgetExceededError, ConfigError
from strata.router.settings import RouterSettings
from strata.router.types import ChatRequest, RequestContext

STRATA_ROUTER = str(Path(sys.executable).parent / "strata-router")


def make(tmp_path: Path, upstream: str, **extra: Any) -> Router:
    config: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "providers": {"fake": {"base_url": upstream}},
        "models": {
            "local": {"provider": "fake", "model": "echo", "local": True},
            "frontier": {"provider": "fake", "model": "json-good", "input_price": 3.0, "output_price": 15.0},
        },
        "routes": {"default": {"policy": "fixed", "model": "frontier"}},
    }
    config.update(extra)
    return Router.from_settings(RouterSettings(**config))


def chat(text: str, **extra: Any) -> ChatRequest:
    return ChatRequest.model_validate({"model": "default", "messages": [{"role": "user", "content": text}], **extra})


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ({"default": {"policy": "fixed", "model": "ghost"}}, "points at 'ghost', which is neither a model nor a route"),
        (
            {"default": {"policy": "fixed", "model": "a"}, "a": {"policy": "fixed", "model": "default"}},
            "routes form a cycle: default -> a -> default",
        ),
        (
            {"local": {"policy": "fixed", "model": "frontier"}, "default": {"policy": "fixed", "model": "local"}},
            "both a model and a route",
        ),
    ],
)
def test_impossible_routing_is_refused_at_start(tmp_path: Path, routes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make(tmp_path, "http://127.0.0.1:9/v1", routes=routes)


def test_incomplete_policies_and_missing_api_keys_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="policy 'split' needs 'split'"):
        RouterSettings(routes={"default": {"policy": "split"}})
    with pytest.raises(ValidationError, match="'judge' check needs 'judge_model'"):
        RouterSettings(routes={"default": {"policy": "cascade", "cascade": ["a", "b"], "checks": ["judge"]}})
    monkeypatch.delenv("NOPE_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"reads its API key from \$NOPE_KEY, which is not set"):
        make(
            tmp_path,
            "http://127.0.0.1:9/v1",
            providers={"fake": {"base_url": "http://127.0.0.1:9/v1", "api_key_env": "NOPE_KEY"}},
        )
    with pytest.raises(ConfigError, match="kind 'bedrock', which no installed package provides"):
        make(tmp_path, "http://127.0.0.1:9/v1", providers={"fake": {"kind": "bedrock", "base_url": "http://x"}})


def test_spend_and_budgets_survive_a_restart(tmp_path: Path, openai_upstream: Any) -> None:
    budgets = [{"scope": "global", "limit_usd": 0.0025, "period": "total"}]

    async def spend() -> None:
        router = make(tmp_path, openai_upstream.url, budgets=budgets)
        try:
            for i in range(2):
                await router.complete(chat(f"q{i}", max_tokens=50), RequestContext())
        finally:
            await router.close()
        again = make(tmp_path, openai_upstream.url, budgets=budgets)  # a new process would see the same
        try:
            [line] = again.budgets.status()
            assert line.spent_usd == pytest.approx(2 * (100 * 3.0 + 50 * 15.0) / 1e6)
            with pytest.raises(BudgetExceededError):
                await again.complete(chat("q3", max_tokens=50), RequestContext())
            rows, _ = again.ledger.usage(["route"])
            assert rows[0].requests == 3 and rows[0].refused == 1
        finally:
            await again.close()

    anyio.run(spend)


def test_judge_check_asks_another_model(tmp_path: Path, openai_upstream: Any) -> None:
    models = {
        "local": {"provider": "fake", "model": "echo", "local": True},
        "frontier": {"provider": "fake", "model": "json-good", "input_price": 3.0, "output_price": 15.0},
        "strict-judge": {"provider": "fake", "model": "bad-json"},  # answers prose, never "PASS"
    }
    route = {
        "policy": "cascade",
        "cascade": ["local", "frontier"],
        "checks": ["non_empty", "judge"],
        "judge_model": "strict-judge",
    }

    async def go() -> None:
        router = make(tmp_path, openai_upstream.url, models=models, routes={"default": route})
        try:
            routed = await router.complete(chat("Is this right?"), RequestContext())
        finally:
            await router.close()
        assert routed.model == "frontier"
        assert "judge (judge: The answer is forty-two.)" in routed.escalations[0]

    anyio.run(go)


def test_semantic_cache_serves_a_paraphrase_in_the_same_conversation(tmp_path: Path, openai_upstream: Any) -> None:
    cache = {"semantic": True, "similarity": 0.8}

    async def go() -> None:
        router = make(tmp_path, openai_upstream.url, cache=cache)
        try:
            openai_upstream.calls.clear()
            first = await router.complete(chat("How do I reset my password?", temperature=0), RequestContext())
            hit = await router.complete(chat("how can I reset my password", temperature=0), RequestContext())
            other = await router.complete(chat("What is the capital of France?", temperature=0), RequestContext())
            system = ChatRequest.model_validate(
                {
                    "model": "default",
                    "temperature": 0,
                    "messages": [
                        {"role": "system", "content": "You are a pirate."},
                        {"role": "user", "content": "How do I reset my password?"},
                    ],
                }
            )
            different_context = await router.complete(system, RequestContext())
        finally:
            await router.close()
        assert first.cache is None and hit.cache == "semantic" and hit.cost_usd == 0
        assert other.cache is None and different_context.cache is None
        assert len(openai_upstream.calls) == 3

    anyio.run(go)


def test_cli_compress_raw_and_usage(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")} | {"STRATA_HOME": str(tmp_path)}
    log = "\n".join(["starting"] + [f"tick {i}" for i in range(500)] + ["ERROR: connection refused"]) + "\n"
    done = subprocess.run(
        [STRATA_ROUTER, "compress", "--json"], input=log, capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    packed = json.loads(done.stdout)
    assert "ERROR: connection refused" in packed["text"] and packed["compact_chars"] < packed["raw_chars"] / 10
    raw = subprocess.run([STRATA_ROUTER, "raw", packed["id"]], capture_output=True, text=True, env=env, timeout=60)
    assert raw.stdout == log
    missing = subprocess.run(
        [STRATA_ROUTER, "raw", "out_ffffffffffffffff"], capture_output=True, text=True, env=env, timeout=60
    )
    assert missing.returncode == 1 and "not_found: no raw output" in missing.stderr
    empty = subprocess.run([STRATA_ROUTER, "usage"], capture_output=True, text=True, env=env, timeout=60)
    assert empty.returncode == 0 and empty.stdout == ""
