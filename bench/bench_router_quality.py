"""strata-router on a verifiable task set: how much the local tier can serve, and what its checks catch.

The task set (320 requests by default, generated here with a fixed seed, so a claim on it names this suite) has
answers a program checks: extraction into a JSON schema with known field values, arithmetic word problems with a
number, labelled headline classification, and tool-call argument extraction (a forced `get_weather` call).

Tiers: "local" is strata-llm serving the bundled SmolLM2-135M-Instruct (a subprocess, 1 thread per instance);
"frontier" is a stand-in on loopback that speaks OpenAI's chat-completions wire format and answers every task from
its key (so it is always right), priced at $3 / $15 per million input / output tokens (Claude Sonnet 4.5's list
price), its usage counted as characters / 4. As the `judge` check's model it grades from the key too: an upper bound
on what a judge can catch (a real frontier judge errs). A recording proxy between the router and strata-llm keeps
every local answer, so each one is verified whether it was served or escalated.

Runs, each a fresh router in this process, the same requests in the same order, one at a time:
1. all-frontier (the counterfactual); 2. cascade local -> frontier with the default checks (non_empty,
not_truncated, json, tool_call); 3. the same plus the `judge` check; 4. run 2's traffic with shadow evaluation on
at 10% (frontier as the shadow; `json` compare for extraction, `exact` for the rest), and what a ramp
(`agreement = 0.95`, `n = 200`) would decide from those verdicts.
Then the shadow overhead on the response path: a fast loopback tier, shadow off / 10% / 100%, interleaved blocks,
p50 of the client's latency (`Router.complete`).

    python bench/bench_router_quality.py [--n 80] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiohttp import ClientSession, ClientTimeout, web

from strata.router.checks import JUDGE_PROMPT
from strata.router.core import Router
from strata.router.settings import RouterSettings
from strata.router.shadow import agreement_interval
from strata.router.types import ChatRequest, RequestContext
from strata.shared.log import configure_logging
from strata.shared.testing import free_port

BIN = Path(sys.executable).parent
PRICE_IN, PRICE_OUT = 3.0, 15.0  # USD per million tokens (Claude Sonnet 4.5 list price)
KINDS = ("extract", "math", "label", "tool")
CHECKS = ["non_empty", "not_truncated", "json", "tool_call"]
RAMP = {"agreement": 0.95, "n": 200, "step": 0.1}
SHADOW_SAMPLE = 0.1
SEED = 20261206

NAMES = ["Maria Lopez", "Tom Becker", "Aiko Tanaka", "Samuel Okafor", "Lena Svensson", "Ravi Patel", "Chloe Martin",
         "Diego Alvarez", "Nora Fischer", "Omar Haddad", "Grace Kim", "Pavel Novak", "Elena Rossi", "Jonas Weber"]  # fmt: skip
CITIES = ["Lyon", "Osaka", "Lagos", "Porto", "Denver", "Krakow", "Auckland", "Bergen", "Valencia", "Montreal",
          "Nairobi", "Seoul", "Hamburg", "Cusco"]  # fmt: skip
HEADLINES = {
    "sports": ["{team} win the cup final after extra time", "Star striker signs five-year deal with {team}",
               "{team} coach sacked after ten straight defeats", "Marathon record falls in {city}"],
    "finance": ["Central bank raises interest rates by half a point", "{company} shares fall 12% after profit warning",
                "Inflation in {city} hits a two-year high", "{company} agrees to buy rival for $4 billion"],
    "weather": ["Heavy snow closes roads around {city}", "Heatwave warning issued for {city} this weekend",
                "Storm brings flooding to coastal {city}", "Record rainfall expected in {city} tonight"],
    "technology": ["{company} unveils a faster laptop chip", "New smartphone from {company} folds in three",
                   "{company} patches a security flaw in its browser", "Startup in {city} launches open-source database"],
}  # fmt: skip
TEAMS = ["Rovers", "United", "the Eagles", "City", "the Tigers"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay"]
EXTRACT_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "city": {"type": "string"}},
    "required": ["name", "age", "city"],
    "additionalProperties": False,
}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city", "unit"],
        },
    },
}


@dataclass
class Task:
    kind: str
    prompt: str
    key: Any
    body: dict[str, Any] = field(default_factory=dict)


def tasks(per_kind: int) -> list[Task]:
    """The suite: ``per_kind`` tasks of each kind, interleaved, from a fixed seed."""
    rng = random.Random(SEED)
    made: dict[str, list[Task]] = {kind: [] for kind in KINDS}
    seen: set[str] = set()

    def add(task: Task) -> None:
        if task.prompt not in seen:  # prompts identify tasks (the stand-in answers by them)
            seen.add(task.prompt)
            made[task.kind].append(task)

    while any(len(made[kind]) < per_kind for kind in KINDS):
        name, city, age = rng.choice(NAMES), rng.choice(CITIES), rng.randint(19, 84)
        text = rng.choice(
            [f"{name}, {age}, lives in {city}.", f"Our new customer {name} ({age} years old) just moved to {city}.",
             f"{city} is home to {name}, who turned {age} this year.", f"Passenger {name}, aged {age}, flew in from {city}."]
        )  # fmt: skip
        if len(made["extract"]) < per_kind:
            add(Task("extract", f"Extract the person's name, age and city from this text.\nText: {text}",
                     {"name": name, "age": age, "city": city},
                     {"response_format": {"type": "json_schema", "json_schema": {"name": "person", "schema": EXTRACT_SCHEMA}}}))  # fmt: skip
        a, b, c = rng.randint(3, 40), rng.randint(2, 12), rng.randint(1, 20)
        problem, answer = rng.choice(
            [(f"A box holds {a} apples. {name.split()[0]} buys {b} boxes and eats {c} apples. How many apples are left?", a * b - c),
             (f"A train travels {a} km every hour for {b} hours. How many km does it travel in total?", a * b),
             (f"{name.split()[0]} has {a + b + c} dollars, spends {b} on lunch and {c} on a book. How many dollars are left?", a),
             (f"A class has {a} students and each needs {b} pencils. Pencils come in packs of one. How many pencils are needed?", a * b)]
        )  # fmt: skip
        if len(made["math"]) < per_kind:
            add(Task("math", f"{problem}\nReply with only the number.", answer, {"max_tokens": 48}))
        label = rng.choice(list(HEADLINES))
        headline = rng.choice(HEADLINES[label]).format(team=rng.choice(TEAMS), city=city, company=rng.choice(COMPANIES))
        if len(made["label"]) < per_kind:
            add(Task("label", f"Classify this headline as sports, finance, weather or technology.\nHeadline: {headline}\n"
                     "Reply with one word.", label, {"max_tokens": 12}))  # fmt: skip
        unit = rng.choice(["celsius", "fahrenheit"])
        ask = rng.choice([f"What's the weather like in {city} right now? Give it to me in {unit}.",
                          f"I'm flying to {city} tomorrow: current conditions there, in {unit} please.",
                          f"Check the current weather for {city} ({unit})."])  # fmt: skip
        if len(made["tool"]) < per_kind:
            add(Task("tool", ask, {"city": city, "unit": unit},
                     {"tools": [WEATHER_TOOL], "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}))  # fmt: skip
    return [made[kind][i] for i in range(per_kind) for kind in KINDS]


def correct(task: Task, text: str, tool_calls: list[dict[str, Any]]) -> bool:
    """Whether an answer (text and tool calls) is right, by the task's key."""
    if task.kind == "extract":
        try:
            value = json.loads(text)
        except ValueError:
            return False
        return (
            isinstance(value, dict)
            and str(value.get("name", "")).strip().lower() == task.key["name"].lower()
            and value.get("age") == task.key["age"]
            and str(value.get("city", "")).strip().lower() == task.key["city"].lower()
        )
    if task.kind == "math":
        numbers = re.findall(r"-?\d+", text.replace(",", ""))  # the last one: "23 * 10 = 230" answers 230
        return bool(numbers) and int(numbers[-1]) == task.key
    if task.kind == "label":
        words = re.findall(r"[a-z]+", text.lower())
        return bool(words) and words[0] == task.key
    for call in tool_calls[:1]:
        function = call.get("function") or {}
        try:
            args = json.loads(function.get("arguments") or "{}")
        except ValueError:
            return False
        return (
            function.get("name") == "get_weather"
            and str(args.get("city", "")).strip().lower() == task.key["city"].lower()
            and args.get("unit") == task.key["unit"]
        )
    return False


# ----------------------------------------------------------------------------- the stand-in and the recording proxy


class StandIn:
    """One loopback server: ``/frontier/v1`` answers from the key; ``/local/v1`` forwards to strata-llm and records."""

    def __init__(self, suite: list[Task], llm_url: str) -> None:
        self.by_prompt = {task.prompt: task for task in suite}
        self.llm_url = llm_url
        self.local_answers: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        self.session: ClientSession | None = None
        self.base = ""  # the server's URL, once started

    async def frontier(self, request: web.Request) -> web.Response:
        body = await request.json()
        messages = body["messages"]
        text, calls = self._answer(messages)
        prompt_chars = sum(len(json.dumps(m.get("content"))) for m in messages) + len(json.dumps(body.get("tools", "")))
        usage = {
            "prompt_tokens": math.ceil(prompt_chars / 4),
            "completion_tokens": math.ceil(len(text + json.dumps(calls)) / 4),
        }
        message: dict[str, Any] = {"role": "assistant", "content": text or None}
        if calls:
            message["tool_calls"] = calls
        return web.json_response(
            {"id": "chatcmpl-standin", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
             "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
             "usage": {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]}}
        )  # fmt: skip

    def _answer(self, messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
        if messages[0].get("content") == JUDGE_PROMPT:  # the judge check: grade the shown answer by the key
            graded = messages[-1]["content"]
            question, shown = graded[len("Request:\n") :].split("\n\nAnswer:\n", 1)
            task = self.by_prompt[question]
            calls = []
            if task.kind == "tool":
                try:
                    calls = json.loads(shown)
                except ValueError:
                    calls = []
            return ("PASS" if correct(task, shown, calls if isinstance(calls, list) else []) else "FAIL: wrong"), []
        if messages[-1].get("content") == "fast":
            return "ok", []
        task = self.by_prompt[messages[-1]["content"]]
        if task.kind == "extract":
            return json.dumps(task.key), []
        if task.kind == "tool":
            arguments = json.dumps(task.key)
            return "", [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}
            ]
        return str(task.key), []

    async def local(self, request: web.Request) -> web.Response:
        body = await request.json()
        assert self.session is not None
        async with self.session.post(self.llm_url + "/v1/chat/completions", json=body) as upstream:
            data = await upstream.json()
            if upstream.status == 200:
                message = data["choices"][0]["message"]
                self.local_answers[body["messages"][-1]["content"]] = (
                    message.get("content") or "",
                    message.get("tool_calls") or [],
                )
            return web.json_response(data, status=upstream.status)

    async def start(self) -> str:
        self.session = ClientSession(timeout=ClientTimeout(total=300))
        app = web.Application()
        app.router.add_post("/frontier/v1/chat/completions", self.frontier)
        app.router.add_post("/local/v1/chat/completions", self.local)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.base = f"http://127.0.0.1:{port}"
        return self.base

    async def stop(self) -> None:
        assert self.session is not None
        await self.session.close()
        await self.runner.cleanup()


def start_llm(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    config = workdir / "strata.toml"
    config.write_text("[llm]\nthreads = 2\nn_ctx = 2048\ninstances = 1\nmax_queue = 64\n")
    port = free_port()
    env = {**os.environ, "STRATA_CONFIG": str(config), "STRATA_HOME": str(workdir), "OMP_WAIT_POLICY": "PASSIVE"}
    process = subprocess.Popen(
        [str(BIN / "strata-llm"), "serve", "--transport", "http", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=(workdir / "llm.log").open("wb"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("strata-llm did not start: " + (workdir / "llm.log").read_text()[-2000:])


# ----------------------------------------------------------------------------- runs


def router_for(base: str, data_dir: Path, routes: dict[str, Any]) -> Router:
    return Router.from_settings(
        RouterSettings(
            data_dir=data_dir,
            providers={"local": {"base_url": base + "/local/v1", "timeout_s": 300},
                       "frontier": {"base_url": base + "/frontier/v1", "timeout_s": 30}},
            models={"local": {"provider": "local", "model": "smollm2-135m-instruct", "local": True},
                    "frontier": {"provider": "frontier", "model": "frontier-standin", "input_price": PRICE_IN,
                                 "output_price": PRICE_OUT},
                    "fast": {"provider": "frontier", "model": "fast"}, "fast-twin": {"provider": "frontier", "model": "fast"}},
            routes=routes, default_route=next(iter(routes)), cache={"exact": False},
        )
    )  # fmt: skip


def request_for(task: Task, route: str) -> ChatRequest:
    body = {"model": route, "messages": [{"role": "user", "content": task.prompt}], "temperature": 0, **task.body}
    body.setdefault("max_tokens", 96)
    return ChatRequest.model_validate(body)


async def run(name: str, stand_in: StandIn, suite: list[Task], routes: dict[str, Any], tmp: Path) -> dict[str, Any]:
    router = router_for(stand_in.base, tmp / name, routes)
    rows = []
    try:
        for task in suite:
            started = time.perf_counter()
            routed = await router.complete(request_for(task, task.kind), RequestContext(key="bench"))
            took = (time.perf_counter() - started) * 1000
            completion = routed.completion
            local = stand_in.local_answers.get(task.prompt) if name != "all-frontier" else None
            checked = routed.checks[: len(routes[task.kind].get("checks", CHECKS))]  # the local answer's
            rows.append(
                {"kind": task.kind, "model": routed.model, "cost": routed.cost_usd, "ms": took,
                 "right": correct(task, completion.text, completion.tool_calls),
                 "local_right": None if local is None else correct(task, *local),
                 "failed_checks": [c.check for c in checked if not c.passed] if routed.model != "local" else []}
            )  # fmt: skip
        await router.shadows_settled()
        quality = [row.model_dump() for row in router.ledger.quality(None, None, 50)[0]]
        shadow_cost = sum(
            u.cost_usd for u in router.ledger.usage(["route"], None, None, 50)[0] if "#shadow" in u.group["route"]
        )
    finally:
        await router.close()
    return {"name": name, "rows": rows, "quality": quality, "shadow_cost": shadow_cost}


async def shadow_overhead(stand_in: StandIn, tmp: Path, blocks: int, per_block: int) -> dict[str, float]:
    """p50 of the client's latency through a fast tier with shadow off, at 10% and at 100%, interleaved."""
    fast = {"policy": "fixed", "model": "fast"}
    routes = {
        "off": fast,
        "ten": {**fast, "shadow": {"model": "fast-twin", "sample": 0.1, "compare": "exact", "queue": 64}},
        "all": {**fast, "shadow": {"model": "fast-twin", "sample": 1.0, "compare": "exact", "queue": 64}},
    }
    router = router_for(stand_in.base, tmp / "overhead", routes)
    took: dict[str, list[float]] = {name: [] for name in routes}
    try:
        for _ in range(blocks):
            for name in routes:
                request = ChatRequest.model_validate({"model": name, "messages": [{"role": "user", "content": "fast"}]})
                for _ in range(per_block):
                    started = time.perf_counter()
                    await router.complete(request, RequestContext(key="bench"))
                    took[name].append((time.perf_counter() - started) * 1000)
                await router.shadows_settled()  # a block's shadows never leak into the next block's timings
    finally:
        await router.close()
    return {name: statistics.median(values) for name, values in took.items()}


# ----------------------------------------------------------------------------- report


def summarise(result: dict[str, Any], frontier_cost: float) -> dict[str, Any]:
    rows = result["rows"]
    cost = sum(r["cost"] for r in rows) + result["shadow_cost"]
    wrong_local = [r for r in rows if r["local_right"] is False]
    caught = {check: sum(1 for r in wrong_local if check in r["failed_checks"]) for check in [*CHECKS, "judge"]}
    return {
        "local_share": sum(1 for r in rows if r["model"] == "local") / len(rows),
        "accuracy": sum(1 for r in rows if r["right"]) / len(rows),
        "cost": cost,
        "savings": frontier_cost - cost,
        "p50_ms": statistics.median(r["ms"] for r in rows),
        "local_accuracy": {k: _share([r["local_right"] for r in rows if r["kind"] == k]) for k in KINDS},
        "wrong_local": len(wrong_local),
        "caught": caught,
        "let_through": sum(1 for r in wrong_local if r["model"] == "local"),
        "false_alarms": sum(1 for r in rows if r["local_right"] and r["model"] != "local"),
    }


def _share(values: list[Any]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(1 for v in known if v) / len(known) if known else None


def ramp_decision(quality: list[dict[str, Any]]) -> str:
    compared = sum(q["compared"] for q in quality)
    agreed = sum(q["agreed"] for q in quality)
    if not compared:
        return "no verdicts: nothing served locally was shadowed"
    low, high = agreement_interval(agreed, compared)
    move = "up" if low >= RAMP["agreement"] else "down"
    wait = (
        f"a ramp with n = {RAMP['n']} would not decide yet ({compared} verdicts); on these its rule says {move}"
        if compared < RAMP["n"]
        else f"the ramp moves the local weight {move} by {RAMP['step']}"
    )
    return f"{agreed}/{compared} agreed ({agreed / compared:.1%}, 95% interval {low:.3f}–{high:.3f} against {RAMP['agreement']}): {wait}"


def report(results: list[dict[str, Any]], overhead: dict[str, float], n: int, machine: str) -> str:
    frontier_cost = sum(r["cost"] for r in results[0]["rows"])
    lines = [
        "## router: quality of a local -> frontier cascade on a verifiable task set",
        "",
        f"`python bench/bench_router_quality.py` — {n} requests ({n // 4} each: JSON extraction with known fields, "
        "arithmetic word problems, headline classification into 4 labels, forced `get_weather` tool-call arguments), "
        f"generated by the benchmark from a fixed seed (its own suite, not tuned on). Local: strata-llm with the bundled "
        f"SmolLM2-135M-Instruct (Q4_1, 2 threads). Frontier: a loopback stand-in that answers from the key (always right), "
        f"priced ${PRICE_IN:.0f} / ${PRICE_OUT:.0f} per million tokens in / out (Claude Sonnet 4.5's list price), usage "
        "counted as chars / 4; as the judge model it grades from the key, an upper bound for a judge check. "
        f"Machine: {machine}.",
        "",
        "| run | served locally | final accuracy | cost (USD) | vs all-frontier | p50 latency |",
        "|---|---|---|---|---|---|",
    ]
    summaries = [summarise(r, frontier_cost) for r in results]
    for result, s in zip(results, summaries, strict=True):
        lines.append(
            f"| {result['name']} | {s['local_share']:.1%} | {s['accuracy']:.1%} | {s['cost']:.5f} | "
            f"{s['savings']:+.5f} ({-s['savings'] / frontier_cost:+.0%}) | {s['p50_ms']:.0f} ms |"
        )
    cascade = summaries[1]
    lines += [
        "",
        "Local answers (every one verified, served or not): right "
        + ", ".join(f"{k} {v:.0%}" for k, v in cascade["local_accuracy"].items() if v is not None)
        + ".",
        "",
        "| run | wrong local answers | caught by non_empty / not_truncated / json / tool_call / judge | served wrong (let through) | right but escalated |",
        "|---|---|---|---|---|",
    ]
    for result, s in zip(results[1:], summaries[1:], strict=True):
        caught = " / ".join(str(s["caught"][c]) for c in [*CHECKS, "judge"])
        lines.append(f"| {result['name']} | {s['wrong_local']} | {caught} | {s['let_through']} | {s['false_alarms']} |")
    shadow = results[-1]
    lines += [
        "",
        f"Shadow evaluation at {SHADOW_SAMPLE:.0%} on the cascade's traffic (frontier as the shadow, off the response path; cost above includes the shadow calls):",
        "",
    ]
    lines += ["| route | compared | agreed | agreement (95% interval) |", "|---|---|---|---|"]
    for q in shadow["quality"]:
        lines.append(f"| {q['route']} ({q['served_model']} vs {q['shadow_model']}) | {q['compared']} | {q['agreed']} | "
                     f"{q['agreement']:.2f} ({q['agreement_low']:.2f}–{q['agreement_high']:.2f}) |")  # fmt: skip
    lines += [
        "",
        f"Ramp: {ramp_decision(shadow['quality'])}.",
        "",
        f"Shadow overhead on the client's latency (a loopback tier that answers at once, `Router.complete` in process, "
        f"interleaved blocks): p50 {overhead['off']:.2f} ms without shadow, {overhead['ten']:.2f} ms at 10% "
        f"({overhead['ten'] - overhead['off']:+.2f} ms), {overhead['all']:.2f} ms at 100% ({overhead['all'] - overhead['off']:+.2f} ms).",
        "",
    ]
    return "\n".join(lines)


async def main_async(per_kind: int) -> tuple[list[dict[str, Any]], dict[str, float]]:
    suite = tasks(per_kind)
    with tempfile.TemporaryDirectory(prefix="strata-bench-quality-") as name:
        tmp = Path(name)
        llm, llm_url = start_llm(tmp)
        stand_in = StandIn(suite, llm_url)
        await stand_in.start()
        try:
            cascade = {"policy": "cascade", "cascade": ["local", "frontier"], "checks": CHECKS}
            judged = {**cascade, "checks": [*CHECKS, "judge"], "judge_model": "frontier"}
            compare = {"extract": "json", "math": "exact", "label": "exact", "tool": "exact"}
            runs = {
                "all-frontier": {k: {"policy": "fixed", "model": "frontier"} for k in KINDS},
                "cascade (format checks)": {k: cascade for k in KINDS},
                "cascade + judge check": {k: judged for k in KINDS},
                "cascade, shadow 10%": {
                    k: {**cascade, "shadow": {"model": "frontier", "sample": SHADOW_SAMPLE, "compare": compare[k]}}
                    for k in KINDS
                },
            }
            overhead = await shadow_overhead(stand_in, tmp, blocks=10, per_block=100)
            results = []
            for run_name, routes in runs.items():
                started = time.perf_counter()
                results.append(await run(run_name, stand_in, suite, routes, tmp))
                print(f"{run_name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
        finally:
            await stand_in.stop()
            llm.terminate()
            llm.wait(timeout=30)
    return results, overhead


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=320, help="Requests (a multiple of 4; at least 300 for a claim)")
    parser.add_argument("--write", type=Path, default=None, help="Results file to update (docs/benchmarks.md)")
    args = parser.parse_args()
    configure_logging("warning")
    results, overhead = asyncio.run(main_async(max(args.n // 4, 1)))
    from bench_router import machine

    text = report(results, overhead, len(results[0]["rows"]), machine())
    print(text)
    if args.write:
        from bench_llm import write_section

        write_section(args.write, text)


if __name__ == "__main__":
    main()
