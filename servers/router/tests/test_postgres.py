"""The shared ledger: the router's tables in a real PostgreSQL server, and two routers holding one cap."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import psycopg
import pytest

from strata.router.budgets import Hold
from strata.router.compress import compress
from strata.router.core import Router
from strata.router.errors import ConfigError
from strata.router.postgres import PostgresBudgets, PostgresDatabase
from strata.router.settings import BudgetConfig, RouterSettings
from strata.router.types import ChatRequest

# The fake upstream reports 100 prompt and 50 completion tokens for every answer: at $1/M in, $2/M out
# ("echo" in the base config) each call costs exactly this.
CALL_USD = (100 * 1.0 + 50 * 2.0) / 1e6
PROMPT = "Summarise the quarterly figures for the board, region by region. " * 8  # its estimate covers the call


def sql(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def ask(router: Any, text: str, **extra: Any) -> Any:
    with openai.OpenAI(base_url=router.v1, api_key="unused", max_retries=0) as client:
        return client.chat.completions.with_raw_response.create(
            model="default", messages=[{"role": "user", "content": text}], **extra
        )


def test_every_table_lives_in_postgres_and_outlives_the_router(make_router: Any, ledger_url: str) -> None:
    routes = {
        "default": {
            "policy": "fixed",
            "model": "echo",
            "shadow": {"model": "json-good", "sample": 1.0, "compare": "exact"},
        },
    }
    budgets = [{"scope": "global", "limit_usd": 1.0, "period": "total"}]
    running = make_router(ledger_url=ledger_url, routes=routes, budgets=budgets)
    ask(running, "cache me", temperature=0, max_tokens=50)
    second = ask(running, "cache me", temperature=0, max_tokens=50)
    assert second.headers["x-strata-cache"] == "exact"
    with openai.OpenAI(base_url=running.v1, api_key="unused") as client:
        answer = client.responses.create(model="default", input="remember 7")
        follow = client.responses.create(model="default", input="and now?", previous_response_id=answer.id)
    assert follow.output_text.startswith("echo: and now?")
    output_id = running.router.raw.save("line\n" * 500, compress("line\n" * 500, "auto", 200))

    # In PostgreSQL, read by PostgreSQL (not by the router that wrote it). Every answered request was shadowed
    # (the cache hit excepted), off the response path, on the server's loop.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        running.router.db.flush()
        if sql(ledger_url, "SELECT count(*) FROM shadow")[0][0] == 3:
            break
        time.sleep(0.05)
    models = sorted(row[0] for row in sql(ledger_url, "SELECT model FROM requests"))
    assert models == ["echo"] * 4 + ["json-good"] * 3  # 2 chats (1 a cache hit), 2 responses, 3 shadows
    assert sql(ledger_url, "SELECT count(*) FROM cache")[0][0] == 1
    assert sql(ledger_url, "SELECT count(*) FROM responses")[0][0] == 2
    assert sql(ledger_url, "SELECT kind FROM raw_outputs")[0][0] == "log"
    verdicts = sql(ledger_url, "SELECT agreed, outcome FROM shadow")
    assert verdicts == [(0, "compared")] * 3  # echo's text against json-good's {"answer": 42}
    spent = sql(ledger_url, "SELECT spent FROM budget_spend WHERE scope = 'global'")[0][0]
    assert spent == pytest.approx(CALL_USD * 6)  # the cache hit is free; shadow calls count against a global cap
    assert sql(ledger_url, "SELECT count(*) FROM budget_holds")[0][0] == 0

    [row] = running.router.ledger.usage(["route"])[0][:1]
    assert row.requests == 4 and row.prompt_tokens == 300 and row.cache_hits == 1
    [quality] = running.router.ledger.quality("default", None, 10)[0]
    assert quality.compared == 3 and quality.agreed == 0

    # Another router on the same URL (another replica, or this one restarted) sees all of it.
    again = Router.from_settings(RouterSettings(**{**_settings(running), "ledger_url": ledger_url}))
    try:
        assert again.cache.get_exact(
            ChatRequest.model_validate(
                {"model": "default", "messages": [{"role": "user", "content": "cache me"}], "temperature": 0,
                 "max_tokens": 50}
            ),
            "default:default",
        ) is not None  # fmt: skip
        assert again.raw.get(output_id)[1] == "line\n" * 500
        [line] = again.budgets.status()
        assert line.spent_usd == pytest.approx(CALL_USD * 6) and line.reserved_usd == 0
    finally:
        asyncio.run(again.close())


def _settings(running: Any) -> dict[str, Any]:
    return running.router.settings.model_dump(exclude={"ledger_url"})


def test_a_hold_of_a_router_that_died_stops_counting_when_it_expires(ledger_url: str) -> None:
    db = PostgresDatabase(ledger_url)
    cap = [BudgetConfig(scope="global", limit_usd=1.0)]
    dead, alive = PostgresBudgets(db, cap, hold_s=0.5), PostgresBudgets(db, cap, hold_s=0.5)

    async def run() -> None:
        held = await dead.admit("k", "default", None, 0.8)  # never settled: its router died mid-call
        assert isinstance(held, Hold)
        refused = await alive.admit("k", "default", None, 0.5)
        assert isinstance(refused, str) and "has $0.200000 left" in refused
        await asyncio.sleep(0.6)
        admitted = await alive.admit("k", "default", None, 0.5)
        assert isinstance(admitted, Hold)
        await alive.settle(admitted, 0.3)
        [line] = alive.status()
        assert (line.spent_usd, line.reserved_usd) == (pytest.approx(0.3), 0.0)

    try:
        asyncio.run(run())
    finally:
        dead.close()
        alive.close()
        db.close()


def test_a_ledger_that_cannot_be_reached_is_a_clear_error_without_the_password() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    url = f"postgresql://strata:hunter2@127.0.0.1:{port}/ledger"
    with pytest.raises(ConfigError) as caught:
        PostgresDatabase(url)
    assert f"postgresql://strata:***@127.0.0.1:{port}/ledger" in caught.value.message
    assert "hunter2" not in caught.value.message
    with pytest.raises(ValueError, match="ledger_url"):
        RouterSettings(ledger_url="mysql://strata@127.0.0.1/ledger")


# --- two routers, one cap, concurrent load ----------------------------------------------------------------------


async def _load(urls: list[str], per_router: int, workers: int) -> tuple[int, int, dict[str, int]]:
    """Send ``per_router`` requests to each router, ``workers`` at a time each; (answered, refused, by router)."""
    answered = refused = 0
    by_router = dict.fromkeys(urls, 0)

    async def worker(client: httpx.AsyncClient, url: str, todo: list[int]) -> None:
        nonlocal answered, refused
        while todo:
            todo.pop()
            response = await client.post(
                url + "/v1/chat/completions",
                json={"model": "default", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 50},
            )
            if response.status_code == 200:
                answered += 1
                by_router[url] += 1
            else:
                assert response.status_code == 402, response.text
                refused += 1

    async with httpx.AsyncClient(timeout=30) as client:
        queues = {url: list(range(per_router)) for url in urls}
        await asyncio.gather(*(worker(client, url, queues[url]) for url in urls for _ in range(workers)))
    return answered, refused, by_router


def _two_routers_under_load(
    make_router: Any, router_process: Any, upstream: Any, tmp_path: Path, shared: str | None
) -> tuple[int, int, dict[str, int], float]:
    """Router A in this process, router B in its own, the same config (and ledger, when ``shared``); the upstream
    answers after 2 s, so the first wave's 32 admissions all race for a cap that holds 12 estimates."""
    request = ChatRequest.model_validate(
        {"model": "default", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 50}
    )
    overrides: dict[str, Any] = {
        "providers": {"fake": {"base_url": upstream.url, "timeout_s": 10}},
        "routes": {"default": {"policy": "fixed", "model": "slow"}},
        "cache": {"exact": False},
    }
    if shared:
        overrides["ledger_url"] = shared
    probe = make_router(**overrides)
    estimate = probe.router.estimate("slow", request)
    assert estimate >= CALL_USD  # holds cover what each call really costs
    cap = 14 * estimate  # 12 estimates, after one warm-up call on each router
    a = make_router(**overrides, budgets=[{"scope": "global", "limit_usd": cap, "period": "total"}])
    config = a.router.settings.model_dump(mode="json", exclude_none=True)
    config["data_dir"] = str(tmp_path / "router-b")
    b_url = router_process(config, tmp_path / "home-b")
    for url in (a.url, b_url):  # both start the race warm (connections, pools), so neither takes the whole first wave
        warm = {"model": "default", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 50}
        assert httpx.post(url + "/v1/chat/completions", json=warm, timeout=30).status_code == 200
    answered, refused, by_router = asyncio.run(_load([a.url, b_url], per_router=24, workers=16))
    return answered + 2, refused, by_router, cap


def test_two_router_processes_on_one_postgres_ledger_hold_one_cap_under_load(
    make_router: Any, router_process: Any, upstreams: Any, tmp_path: Path, ledger_url: str
) -> None:
    answered, refused, by_router, cap = _two_routers_under_load(
        make_router, router_process, upstreams[0], tmp_path, ledger_url
    )
    spent = sql(ledger_url, "SELECT COALESCE(SUM(cost_usd), 0) FROM requests")[0][0]
    assert spent <= cap + 1e-12  # never past the cap, whichever router answered
    assert answered == round(spent / CALL_USD) and answered + refused == 48 + 2
    assert answered >= 12 and refused >= 30  # the cap, not the load, stopped them
    assert all(n > 0 for n in by_router.values())  # both routers answered part of it
    assert sql(ledger_url, "SELECT count(*) FROM budget_holds")[0][0] == 0


def test_the_same_load_on_two_routers_with_their_own_ledgers_overspends_the_cap(
    make_router: Any, router_process: Any, upstreams: Any, tmp_path: Path
) -> None:
    """The control for the test above: without a shared ledger each router holds only its own half."""
    answered, _, by_router, cap = _two_routers_under_load(make_router, router_process, upstreams[0], tmp_path, None)
    assert answered * CALL_USD > cap * 1.5
    assert all(n * CALL_USD <= cap + 1e-12 for n in by_router.values())
