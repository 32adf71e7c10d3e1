"""The router: pick a model for each request, call it, check the answer, escalate, fall back, record.

    resolve route (header/argument > requested model alias > default route)
    -> cache (exact, then semantic)           a hit costs nothing and is recorded as saved spend
    -> plan: policies compose until a list of tiers remains (one tier, or a cascade's tiers)
    -> per tier: fallback chain; each call is estimated, checked against max_cost and every budget,
       reserved while in flight, and priced from the upstream's usage
    -> cascade: the answer of every tier but the last must pass the route's checks, else escalate
    -> ledger + cache

Streaming requests stream the last tier live; earlier cascade tiers are buffered (their answer must
be checked before it can be shown) and replayed as a stream when they pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import anyio.to_thread
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from strata.router.budgets import Budgets, Hold, MemoryBudgets
from strata.router.cache import ResponseCache, request_key
from strata.router.checks import Check, judge_verdict, load_checks
from strata.router.compress import RawStore
from strata.router.db import Database, SQLiteDatabase
from strata.router.errors import (
    BudgetExceededError,
    ConfigError,
    ContextOverflowError,
    InvalidRequestError,
    NotFoundError,
    StrataError,
    UpstreamError,
    UpstreamTimeoutError,
)
from strata.router.ledger import CallRecord, Ledger, RequestRecord, ShadowRecord
from strata.router.providers import Provider, ProviderFailure, load_provider
from strata.router.settings import ModelConfig, RouteConfig, RouterSettings, RuleMatch, ShadowConfig
from strata.router.shadow import agreement_interval, compare, request_kind
from strata.router.stall import StallWatch
from strata.router.types import (
    Attempt,
    ChatRequest,
    CheckResult,
    Completion,
    RequestContext,
    Routed,
    Usage,
    estimate_tokens,
)
from strata.shared import telemetry
from strata.shared.log import get_logger

__all__ = ["Plan", "Router", "StreamHandle", "open_database"]

log = get_logger("strata.router")

MAX_DEPTH = 16
MAX_CHAIN = 8
JUDGE_MAX_TOKENS = 64


@dataclass
class Plan:
    """What a route decided for one request: tiers to try in order, and what a tier's answer must pass."""

    route: str
    tiers: list[str]
    checks: list[str] = field(default_factory=list)
    judge_model: str | None = None
    on_budget: str = "refuse"
    cache: bool = True
    path: list[str] = field(default_factory=list)  # the routes passed through, for the record
    shadow: ShadowConfig | None = None
    stalled: str = ""  # why this request skips the cheapest tier (a stalled agent session), or ""


@dataclass
class _Spend:
    """Everything one request spent and tried, accumulated across tiers and fallbacks."""

    calls: list[CallRecord] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    escalations: list[str] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def cost(self) -> float:
        return sum(c.cost_usd for c in self.calls)


def _price(model: ModelConfig, prompt_tokens: int, completion_tokens: int) -> float:
    return (prompt_tokens * model.input_price + completion_tokens * model.output_price) / 1_000_000


class Router:
    """Routes OpenAI-form chat requests over the configured providers, models and routes."""

    def __init__(
        self,
        settings: RouterSettings,
        providers: dict[str, Provider],
        db: Database,
        cache: ResponseCache,
    ) -> None:
        self.settings = settings
        self.providers = providers
        self.models = settings.models
        self.routes = settings.routes
        self.db = db
        self.ledger = Ledger(db)
        self.budgets = _budgets(db, settings)
        self.cache = cache
        self.raw = RawStore(db, settings.max_raw_bytes, settings.max_raw_outputs)
        self.checks: dict[str, Check] = load_checks()
        self.aliases = {alias: name for name, route in self.routes.items() for alias in route.aliases}
        self._validate()
        self._shadows: set[asyncio.Task[None]] = set()  # shadow calls in flight, per the routes' queue bounds
        self._embedder: Any = None
        self.stalls = StallWatch()
        # Ramped splits: the target's weight now (the last ledger decision, else the configured one), and the
        # verdicts on its answers since that decision.
        self._ramp_weight: dict[str, float] = {}
        self._ramp_verdicts: dict[str, list[bool]] = {}
        for name, route in self.routes.items():
            if route.ramp is not None:
                configured = route.split[route.ramp.target] / sum(route.split.values())
                last = self.ledger.ramp_weight(name, route.ramp.target)
                weight = last if last is not None else configured
                self._ramp_weight[name] = min(max(weight, route.ramp.min), route.ramp.max)
                self._ramp_verdicts[name] = []

    @classmethod
    def from_settings(cls, settings: RouterSettings) -> Router:
        """Build the router, its providers, database and cache; refuses an inconsistent config."""
        db = open_database(settings)
        embedder = None
        if settings.cache.semantic:
            try:
                from strata.shared.embedding import MiniLMEmbedder
            except ImportError as exc:
                raise ConfigError("cache.semantic needs the embedder - install strata-router[semantic-cache]") from exc
            embedder = MiniLMEmbedder(threads=1)
        providers = {name: load_provider(name, config) for name, config in settings.providers.items()}
        return cls(settings, providers, db, ResponseCache(db, settings.cache, embedder))

    async def close(self) -> None:
        for task in list(self._shadows):
            task.cancel()
        for task in list(self._shadows):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for provider in self.providers.values():
            await provider.close()
        self.budgets.close()
        self.db.close()

    def _validate(self) -> None:
        for name, model in self.models.items():
            if model.provider not in self.providers:
                raise ConfigError(f"model '{name}' names provider '{model.provider}', which is not configured")
            for fallback in model.fallbacks:
                if fallback not in self.models:
                    raise ConfigError(f"model '{name}' falls back to '{fallback}', which is not a configured model")
        for name in set(self.models) & set(self.routes):
            raise ConfigError(f"'{name}' is both a model and a route; give them different names")
        for name, route in self.routes.items():
            for target in route.targets():
                if target not in self.models and target not in self.routes:
                    raise ConfigError(f"route '{name}' points at '{target}', which is neither a model nor a route")
            if route.judge_model and route.judge_model not in self.models:
                raise ConfigError(f"route '{name}' judges with '{route.judge_model}', which is not a model")
            if route.shadow is not None:
                named = (("shadows with", route.shadow.model), ("compares with", route.shadow.judge_model))
                for role, model_name in named:
                    if model_name is not None and model_name not in self.models:
                        raise ConfigError(f"route '{name}' {role} '{model_name}', which is not a model")
            self._walk(name, [])
        if self.settings.default_route not in self.routes and self.settings.default_route not in self.models:
            raise ConfigError(f"default_route '{self.settings.default_route}' is not a configured route or model")

    def _walk(self, name: str, stack: list[str]) -> None:
        if name in stack:
            raise ConfigError(f"routes form a cycle: {' -> '.join([*stack, name])}")
        route = self.routes.get(name)
        if route is None:
            return
        for target in route.targets():
            self._walk(target, [*stack, name])

    # --- planning -------------------------------------------------------------------------------

    def resolve(self, request: ChatRequest, ctx: RequestContext) -> Plan:
        """The plan for ``request``: which route, then which tiers."""
        if ctx.route_override is not None:
            override: RouteConfig = ctx.route_override
            for target in override.targets():
                if target not in self.models and target not in self.routes:
                    raise NotFoundError(f"the policy names '{target}', which is neither a model nor a route")
            return self._plan("(request policy)", override, request, ctx, 0, ["(request policy)"])
        name = (
            ctx.route
            or self.aliases.get(request.model)
            or (
                request.model
                if request.model in self.routes or request.model in self.models
                else self.settings.default_route
            )
        )
        if ctx.route and name not in self.routes and name not in self.models:
            raise NotFoundError(f"no route or model named '{name}'; known routes: {', '.join(sorted(self.routes))}")
        plan = self._pick(name, request, ctx, 0, [])
        route = self.routes.get(name)
        if route is not None and route.stall is not None and len(plan.tiers) > 1:
            reason = self.stalls.observe(name, ctx.session, request, route.stall)
            if reason:
                plan.stalled = f"{plan.tiers[0]} skipped: {reason}"
                plan.tiers = plan.tiers[1:]
        return plan

    def _pick(self, target: str, request: ChatRequest, ctx: RequestContext, depth: int, path: list[str]) -> Plan:
        if target in self.models:
            return Plan(route=path[0] if path else target, tiers=[target], path=path or [target])
        return self._plan(target, self.routes[target], request, ctx, depth, [*path, target])

    def _plan(
        self, name: str, route: RouteConfig, request: ChatRequest, ctx: RequestContext, depth: int, path: list[str]
    ) -> Plan:
        if depth > MAX_DEPTH:
            raise ConfigError(f"routes nest deeper than {MAX_DEPTH} at '{name}'")
        if route.policy == "fixed":
            assert route.model is not None
            inner = self._pick(route.model, request, ctx, depth + 1, path)
        elif route.policy == "rules":
            use = next((r.use for r in route.rules if self._matches(r.when, request, ctx)), route.default)
            assert use is not None
            inner = self._pick(use, request, ctx, depth + 1, path)
        elif route.policy == "split":
            inner = self._pick(self._split(self.split_weights(name), request, name), request, ctx, depth + 1, path)
        else:
            tiers: list[str] = []
            for tier in route.cascade:
                tiers.extend(t for t in self._pick(tier, request, ctx, depth + 1, path).tiers if t not in tiers)
            inner = Plan(
                route=path[0], tiers=tiers, checks=list(route.checks), judge_model=route.judge_model, path=path
            )
        inner.route = path[0]
        if depth == 0:  # the route the request entered by decides budgets, caching and shadowing
            inner.on_budget = route.on_budget
            inner.cache = route.cache
            inner.shadow = route.shadow
        return inner

    def split_weights(self, name: str) -> dict[str, float]:
        """A split route's weights now: as configured, or with a ramp's target at its current weight (the other
        entries share the rest in their configured proportions)."""
        route = self.routes[name]
        weight = self._ramp_weight.get(name)
        if route.ramp is None or weight is None:
            return route.split
        others = {k: v for k, v in route.split.items() if k != route.ramp.target}
        rest = sum(others.values())
        scaled = {k: (1 - weight) * v / rest for k, v in others.items()} if rest else {}
        return {**scaled, route.ramp.target: weight}

    def ramp_states(self) -> list[dict[str, Any]]:
        """Each ramped route: its target's weight now, and the verdicts gathered toward the next decision."""
        return [
            {
                "route": name, "target": route.ramp.target, "weight": self._ramp_weight[name],
                "min": route.ramp.min, "max": route.ramp.max, "verdicts_since_last_decision": len(self._ramp_verdicts[name]),
                "decide_every": route.ramp.n,
            }
            for name, route in self.routes.items()
            if route.ramp is not None
        ]  # fmt: skip

    def _ramp(self, route_name: str, served: str, agreed: bool) -> None:
        """Count a verdict on a ramped split's target; every ``n`` of them, move its weight by the evidence."""
        route = self.routes.get(route_name)
        if route is None or route.ramp is None or served != route.ramp.target:
            return
        ramp, verdicts = route.ramp, self._ramp_verdicts[route_name]
        verdicts.append(agreed)
        if len(verdicts) < ramp.n:
            return
        agreed_n = sum(verdicts)
        low, _ = agreement_interval(agreed_n, len(verdicts))
        before = self._ramp_weight[route_name]
        if low >= ramp.agreement:
            after, reason = min(before + ramp.step, ramp.max), f"agreement lower bound {low:.3f} >= {ramp.agreement}"
        else:
            after, reason = max(before - ramp.step, ramp.min), f"agreement lower bound {low:.3f} < {ramp.agreement}"
        after = round(after, 6)
        if after != before:
            self._ramp_weight[route_name] = after
        else:
            reason += f" (held at the {'max' if low >= ramp.agreement else 'min'})"
        self.ledger.record_ramp(route_name, ramp.target, before, after, len(verdicts), agreed_n, low, reason)
        log.info("ramp", route=route_name, target=ramp.target, weight_from=before, weight_to=after, reason=reason)
        verdicts.clear()  # the next decision stands on answers given at the new weight

    @staticmethod
    def _split(weights: dict[str, float], request: ChatRequest, route: str) -> str:
        """A weighted choice that is deterministic per request: the same request goes the same way."""
        digest = hashlib.sha256(request_key(request, route).encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64 * sum(weights.values())
        for target, weight in weights.items():
            point -= weight
            if point < 0:
                return target
        return next(reversed(weights))

    @staticmethod
    def _matches(when: RuleMatch, request: ChatRequest, ctx: RequestContext) -> bool:
        tokens = request.prompt_tokens_estimate()
        tests = [
            when.model is None or request.model in when.model,
            when.min_prompt_tokens is None or tokens >= when.min_prompt_tokens,
            when.max_prompt_tokens is None or tokens <= when.max_prompt_tokens,
            when.has_tools is None or bool(request.tools) == when.has_tools,
            when.has_images is None or any(m.has_image() for m in request.messages) == when.has_images,
            when.wants_json is None or request.wants_json == when.wants_json,
            when.tags_any is None or bool(set(when.tags_any) & set(ctx.tags)),
        ]
        return all(tests)

    # --- estimates --------------------------------------------------------------------------------

    def estimate(self, model: str, request: ChatRequest) -> float:
        """Pre-flight cost of one call: estimated prompt tokens, and the output cap (or the model's assumed output)."""
        config = self.models[model]
        return _price(config, request.prompt_tokens_estimate(), request.output_cap or config.max_output_tokens)

    def baseline(self, plan: Plan, completion: Completion) -> float:
        """What this answer's tokens would have cost on the plan's most expensive model."""
        prices = [
            _price(self.models[t], completion.usage.prompt_tokens, completion.usage.completion_tokens)
            for t in plan.tiers
        ]
        return max(prices, default=0.0)

    # --- one tier: a fallback chain ---------------------------------------------------------------

    def _chain(self, model: str) -> list[str]:
        chain = [model]
        for name in chain:
            for fallback in self.models[name].fallbacks:
                if fallback not in chain and len(chain) < MAX_CHAIN:
                    chain.append(fallback)
        return chain

    def _local_model(self) -> str | None:
        return next((name for name, m in self.models.items() if m.local), None)

    async def _admit(
        self, model: str, request: ChatRequest, ctx: RequestContext, plan: Plan, spend: _Spend
    ) -> tuple[str, float, Hold]:
        """The model to call (maybe the local one instead), its estimate and the budget hold to settle when the
        call ends; or BudgetExceededError."""
        estimate = self.estimate(model, request)
        if ctx.max_cost_usd is not None and spend.cost + estimate > ctx.max_cost_usd:
            admitted: Hold | str = (
                f"max_cost ${ctx.max_cost_usd:.6f} would be passed: ${spend.cost:.6f} spent, next call estimated at "
                f"${estimate:.6f}"
            )
        else:
            admitted = await self.budgets.admit(ctx.key, plan.route, ctx.session, estimate)
        if isinstance(admitted, Hold):
            return model, estimate, admitted
        local = self._local_model()
        if plan.on_budget == "local" and local is not None and local != model:
            spend.attempts.append(Attempt(model, "skipped", f"over budget, sent to local model '{local}': {admitted}"))
            return await self._admit(local, request, ctx, plan, spend)
        raise BudgetExceededError(f"refused before calling '{model}': {admitted}")

    async def _settle(self, hold: Hold, cost: float) -> None:
        """Count a finished call against the caps and let its hold go, even while the request is being cancelled."""
        with anyio.CancelScope(shield=True):
            await self.budgets.settle(hold, cost)

    def _fits(self, model: str, request: ChatRequest) -> bool:
        window = self.models[model].context_window
        return window is None or request.prompt_tokens_estimate() + (request.output_cap or 0) <= window

    async def _call(
        self, model: str, request: ChatRequest, ctx: RequestContext, plan: Plan, spend: _Spend
    ) -> tuple[str, Completion]:
        """Call ``model``, falling back along its chain; returns the model that answered and its answer."""
        failures: list[ProviderFailure] = []
        skipped_for_context = 0
        for candidate in self._chain(model):
            if not self._fits(candidate, request):
                skipped_for_context += 1
                spend.attempts.append(Attempt(candidate, "skipped", "prompt does not fit its context window"))
                continue
            target, _, hold = await self._admit(candidate, request, ctx, plan, spend)
            config = self.models[target]
            started = time.perf_counter()
            cost = 0.0
            try:
                with telemetry.span(
                    f"chat {config.model}",
                    _call_attributes(self.settings, target, request) if telemetry.enabled() else None,
                    SpanKind.CLIENT,
                ) as current:
                    data = await self.providers[config.provider].complete(
                        request.upstream_body(config.model, stream=False)
                    )
                    completion = Completion.from_openai(data)
                    cost = self._priced(target, request, completion, started, spend)
                    if current.is_recording():
                        current.set_attributes(
                            telemetry.safe_attributes(
                                {"gen_ai.usage.input_tokens": completion.usage.prompt_tokens,
                                 "gen_ai.usage.output_tokens": completion.usage.completion_tokens,
                                 "gen_ai.response.finish_reasons": [completion.finish_reason],
                                 "strata.cost_usd": cost, "strata.usage_estimated": completion.usage.estimated}
                            )
                        )  # fmt: skip
            except ProviderFailure as failure:
                self._failed(target, failure, started, spend)
                failures.append(failure)
                if not failure.retryable:
                    raise InvalidRequestError(f"model '{target}' rejected the request: {failure.message}") from failure
                continue
            except (KeyError, IndexError, TypeError) as exc:
                shape = ProviderFailure("bad_response", f"answered in an unexpected shape ({exc!r})")
                self._failed(target, shape, started, spend)
                failures.append(shape)
                continue
            finally:
                await self._settle(hold, cost)
            return target, completion
        raise self._exhausted(model, failures, skipped_for_context)

    def _failed(self, model: str, failure: ProviderFailure, started: float, spend: _Spend) -> None:
        latency = (time.perf_counter() - started) * 1000
        reason = f"{failure.kind}" + (f" {failure.status}" if failure.status else "") + f": {failure.message[:200]}"
        log.info("upstream_failed", model=model, kind=failure.kind, status=failure.status)
        spend.attempts.append(Attempt(model, "failed", reason, latency_ms=latency))
        spend.calls.append(CallRecord(model, "failed", reason, latency_ms=latency))

    def _priced(self, model: str, request: ChatRequest, completion: Completion, started: float, spend: _Spend) -> float:
        if not completion.usage.prompt_tokens and not completion.usage.completion_tokens:
            completion.usage = Usage(
                prompt_tokens=request.prompt_tokens_estimate(),
                completion_tokens=estimate_tokens(len(completion.text) + len(json.dumps(completion.tool_calls))),
                estimated=True,
            )
        cost = _price(self.models[model], completion.usage.prompt_tokens, completion.usage.completion_tokens)
        latency = (time.perf_counter() - started) * 1000
        spend.attempts.append(Attempt(model, "ok", cost_usd=cost, latency_ms=latency))
        spend.calls.append(
            CallRecord(
                model, "ok", "usage estimated" if completion.usage.estimated else "",
                completion.usage.prompt_tokens, completion.usage.completion_tokens, cost, 0.0, latency,
            )
        )  # fmt: skip
        return cost

    def _exhausted(self, model: str, failures: list[ProviderFailure], skipped_for_context: int) -> StrataError:
        if not failures:
            return ContextOverflowError(
                f"the prompt does not fit the context window of '{model}' or any of its fallbacks"
            )
        summary = "; ".join(f"{f.kind}{' ' + str(f.status) if f.status else ''}: {f.message[:120]}" for f in failures)
        if all(f.kind == "context_overflow" for f in failures):
            return ContextOverflowError(f"'{model}' and its fallbacks refused the prompt as too long: {summary}")
        cls = UpstreamTimeoutError if failures[-1].kind == "timeout" else UpstreamError
        return cls(f"'{model}' and its {len(failures) - 1} fallback(s) failed: {summary}")

    # --- checks ------------------------------------------------------------------------------------

    async def _check(
        self, plan: Plan, request: ChatRequest, completion: Completion, ctx: RequestContext, spend: _Spend
    ) -> list[CheckResult]:
        results = []
        for name in plan.checks:
            if name == "judge":
                assert plan.judge_model is not None
                results.append(await judge_verdict(lambda m: self._ask_judge(plan, m, ctx, spend), request, completion))
            elif name in self.checks:
                results.append(self.checks[name](request, completion))
        return results

    async def _ask_judge(self, plan: Plan, messages: list[dict[str, Any]], ctx: RequestContext, spend: _Spend) -> str:
        assert plan.judge_model is not None
        ask = ChatRequest.model_validate(
            {"model": plan.judge_model, "messages": messages, "max_tokens": JUDGE_MAX_TOKENS, "temperature": 0}
        )
        _, verdict = await self._call(plan.judge_model, ask, ctx, plan, spend)
        return verdict.text

    async def _tiers(
        self, plan: Plan, request: ChatRequest, ctx: RequestContext, spend: _Spend, upto: int
    ) -> tuple[str, Completion] | None:
        """Run the tiers before ``upto``; the first answer that passes its checks, or None to go on."""
        for index, tier in enumerate(plan.tiers[:upto]):
            try:
                model, completion = await self._call(tier, request, ctx, plan, spend)
            except (UpstreamError, ContextOverflowError) as exc:
                spend.escalations.append(f"{tier} -> {plan.tiers[index + 1]}: {exc.code}")
                continue
            results = await self._check(plan, request, completion, ctx, spend)
            spend.checks.extend(results)
            failed = [r for r in results if not r.passed]
            if not failed:
                return model, completion
            reasons = ", ".join(f"{r.check} ({r.reason})" for r in failed)
            spend.escalations.append(f"{model} -> {plan.tiers[index + 1]}: {reasons}")
            spend.attempts.append(Attempt(model, "escalated", reasons))
            log.info(
                "escalated", route=plan.route, model=model, to=plan.tiers[index + 1], checks=[r.check for r in failed]
            )
        return None

    # --- whole requests ------------------------------------------------------------------------------

    async def complete(self, request: ChatRequest, ctx: RequestContext) -> Routed:
        """Answer ``request`` (not streamed), in a ``route`` span that says how (model, cost, cache, escalations)."""
        with telemetry.span(f"route {request.model}", _request_attributes(request, ctx)) as current:
            routed = await self._complete(request, ctx)
            if current.is_recording():
                current.set_attributes(_routed_attributes(routed))
            return routed

    async def _complete(self, request: ChatRequest, ctx: RequestContext) -> Routed:
        started = time.perf_counter()
        plan = self.resolve(request, ctx)
        hit = await self._cached(plan, request, ctx, started)
        if hit is not None:
            return hit
        spend = _Spend(escalations=[plan.stalled] if plan.stalled else [])
        try:
            answered = await self._tiers(plan, request, ctx, spend, len(plan.tiers) - 1)
            if answered is None:
                answered = await self._call(plan.tiers[-1], request, ctx, plan, spend)
                if len(plan.tiers) > 1:
                    spend.checks.extend(await self._check(plan, request, answered[1], ctx, spend))
        except BudgetExceededError as exc:
            self._record_failure(plan, ctx, spend, exc, started, "refused")
            raise
        except StrataError as exc:
            self._record_failure(plan, ctx, spend, exc, started, exc.code)
            raise
        model, completion = answered
        routed = Routed(
            completion, plan.route, model, spend.cost, None, spend.attempts, spend.checks, spend.escalations
        )
        self._record(plan, request, ctx, routed, spend, started)
        await self._remember(plan, request, ctx, routed)
        self._maybe_shadow(plan, request, ctx, routed, (time.perf_counter() - started) * 1000)
        return routed

    # --- shadow evaluation ---------------------------------------------------------------------------

    def _maybe_shadow(
        self, plan: Plan, request: ChatRequest, ctx: RequestContext, routed: Routed, latency_ms: float
    ) -> None:
        """Send a sample of the route's answered requests to its shadow model too, off the response path."""
        shadow = plan.shadow
        if shadow is None or routed.model == shadow.model or random.random() >= shadow.sample:  # noqa: S311
            return
        if len(self._shadows) >= shadow.queue:  # never slower for the client: dropped, and counted
            self.ledger.record_shadow(
                ShadowRecord(plan.route, routed.model, shadow.model, request_kind(request), None, "dropped",
                             f"{shadow.queue} shadow calls already in flight", routed.cost_usd, 0.0, latency_ms, 0.0)
            )  # fmt: skip
            return
        task = asyncio.get_running_loop().create_task(self._shadow(plan, shadow, request, ctx, routed, latency_ms))
        self._shadows.add(task)
        task.add_done_callback(self._shadows.discard)

    async def _shadow(
        self, plan: Plan, shadow: ShadowConfig, request: ChatRequest, ctx: RequestContext, routed: Routed,
        latency_ms: float,
    ) -> None:  # fmt: skip
        """The shadow call in a ``shadow <route>`` span that holds its verdict (what the dashboard charts)."""
        attributes = {"strata.route": plan.route, "strata.shadow.served_model": routed.model,
                      "strata.shadow.model": shadow.model, "strata.shadow.compare": shadow.compare}  # fmt: skip
        with telemetry.span(f"shadow {plan.route}", attributes) as current:
            outcome, agreed = await self._shadow_call(plan, shadow, request, routed, ctx, latency_ms)
            if current.is_recording():
                current.set_attributes(
                    telemetry.safe_attributes({"strata.shadow.outcome": outcome, "strata.shadow.agreed": agreed})
                )

    async def _shadow_call(
        self, plan: Plan, shadow: ShadowConfig, request: ChatRequest, routed: Routed, ctx: RequestContext,
        latency_ms: float,
    ) -> tuple[str, bool | None]:  # fmt: skip
        """One shadow call and its comparison, recorded under the shadow's own label: route ``<route>#shadow`` and
        key ``shadow``, so a budget may cap it apart from the traffic it measures, and a global one counts it."""
        label = Plan(route=f"{plan.route}#shadow", tiers=[shadow.model], judge_model=shadow.judge_model)
        label_ctx = RequestContext(key="shadow", tags=ctx.tags, cache="bypass")
        spend = _Spend()
        started = time.perf_counter()
        kind = request_kind(request)
        try:
            model, answer = await self._call(shadow.model, request, label_ctx, label, spend)
            shadow_ms = (time.perf_counter() - started) * 1000
            verdict = await compare(
                shadow.compare, request, routed.completion, answer, embed=self._embed, threshold=shadow.threshold,
                ask_judge=lambda messages: self._ask_judge(label, messages, label_ctx, spend),
            )  # fmt: skip
            outcome: Literal["compared", "failed"] = "compared"
            agreed: bool | None = verdict.agreed
            detail = verdict.detail
        except Exception as exc:
            model, shadow_ms = shadow.model, (time.perf_counter() - started) * 1000
            outcome, agreed = "failed", None
            detail = exc.message if isinstance(exc, StrataError) else f"{type(exc).__name__}: {exc}"
        self.ledger.record(
            RequestRecord(
                key=label_ctx.key, session=None, route=label.route, model=model, tags=ctx.tags, cost_usd=spend.cost,
                baseline_usd=spend.cost, cache=None, escalations=[], outcome="ok" if outcome == "compared" else outcome,
                latency_ms=shadow_ms, calls=spend.calls or [CallRecord(model, outcome, detail[:500])],
            )
        )  # fmt: skip
        self.ledger.record_shadow(
            ShadowRecord(plan.route, routed.model, model, kind, agreed, outcome, detail[:500], routed.cost_usd,
                         spend.cost, latency_ms, shadow_ms)
        )  # fmt: skip
        if agreed is not None:
            self._ramp(plan.route, routed.model, agreed)
        log.info("shadowed", route=plan.route, served=routed.model, shadow=model, outcome=outcome, agreed=agreed)
        return outcome, agreed

    async def shadows_settled(self) -> None:
        """Wait for the shadow calls in flight (tests, and a benchmark's end)."""
        while self._shadows:
            await asyncio.gather(*list(self._shadows), return_exceptions=True)

    async def _embed(self, texts: list[str]) -> list[list[float]]:
        if self._embedder is None:
            try:
                from strata.shared.embedding import MiniLMEmbedder
            except ImportError as exc:
                raise ConfigError("shadow compare = 'embedding' needs strata-router[semantic-cache]") from exc
            self._embedder = MiniLMEmbedder(threads=1)
        vectors = await anyio.to_thread.run_sync(self._embedder.embed, texts)
        return [list(map(float, v)) for v in vectors]

    async def _cached(self, plan: Plan, request: ChatRequest, ctx: RequestContext, started: float) -> Routed | None:
        if not (plan.cache and ctx.cache == "use" and self.cache.eligible(request)):
            return None
        namespace = f"{plan.route}:{request.model}"
        entry = self.cache.get_exact(request, namespace)
        kind: Literal["exact", "semantic"] = "exact"
        if entry is None and self.cache.semantic:
            text = self.cache.semantic_text(request)
            if text is not None:
                vector = await anyio.to_thread.run_sync(self.cache.embed, text)
                found = self.cache.get_semantic(request, namespace, vector)
                if found is None:
                    return None
                entry, kind = found[0], "semantic"
        if entry is None:
            return None
        completion = Completion.from_openai(entry.response)
        routed = Routed(
            completion, plan.route, entry.model, 0.0, kind, [Attempt(entry.model, "ok", f"{kind} cache hit")]
        )
        spend = _Spend(calls=[CallRecord(entry.model, "cache", kind, saved_usd=entry.cost_usd)])
        self._record(plan, request, ctx, routed, spend, started, baseline=entry.cost_usd)
        return routed

    async def _remember(self, plan: Plan, request: ChatRequest, ctx: RequestContext, routed: Routed) -> None:
        if not (plan.cache and ctx.cache == "use" and self.cache.eligible(request)):
            return
        if any(not c.passed for c in routed.checks) or routed.completion.finish_reason == "length":
            return  # never serve a known-bad answer from the cache
        namespace = f"{plan.route}:{request.model}"
        self.cache.put_exact(request, namespace, routed.model, routed.cost_usd, routed.completion.raw)
        if self.cache.semantic:
            text = self.cache.semantic_text(request)
            if text is not None:
                vector = await anyio.to_thread.run_sync(self.cache.embed, text)
                self.cache.put_semantic(
                    request, namespace, vector, routed.model, routed.cost_usd, routed.completion.raw
                )

    def _record(
        self,
        plan: Plan,
        request: ChatRequest,
        ctx: RequestContext,
        routed: Routed,
        spend: _Spend,
        started: float,
        baseline: float | None = None,
    ) -> None:
        routed.baseline_usd = baseline if baseline is not None else self.baseline(plan, routed.completion)
        self.ledger.record(
            RequestRecord(
                key=ctx.key,
                session=ctx.session,
                route=plan.route,
                model=routed.model,
                tags=ctx.tags,
                cost_usd=spend.cost,
                baseline_usd=routed.baseline_usd,
                cache=routed.cache,
                escalations=spend.escalations,
                outcome="ok",
                latency_ms=(time.perf_counter() - started) * 1000,
                calls=spend.calls,
            )
        )

    def _record_failure(
        self, plan: Plan, ctx: RequestContext, spend: _Spend, exc: StrataError, started: float, outcome: str
    ) -> None:
        calls = spend.calls or [CallRecord(plan.tiers[0], outcome, exc.message[:500])]
        if outcome == "refused" and spend.calls:
            calls = [*spend.calls, CallRecord(plan.tiers[-1], "refused", exc.message[:500])]
        self.ledger.record(
            RequestRecord(
                key=ctx.key, session=ctx.session, route=plan.route, model=plan.tiers[-1], tags=ctx.tags,
                cost_usd=spend.cost, baseline_usd=0.0, cache=None, escalations=spend.escalations, outcome=outcome,
                latency_ms=(time.perf_counter() - started) * 1000, calls=calls,
            )
        )  # fmt: skip

    # --- streaming ---------------------------------------------------------------------------------

    async def open_stream(self, request: ChatRequest, ctx: RequestContext) -> StreamHandle:
        """Decide and start a streamed answer; errors found before its first chunk raise here. Its ``route`` span
        covers the decision and the first chunk, not the rest of the stream."""
        with telemetry.span(
            f"route {request.model}", {**_request_attributes(request, ctx), "strata.stream": True}
        ) as current:
            handle = await self._open_stream(request, ctx)
            if current.is_recording():
                current.set_attributes(_routed_attributes(handle.routed))
            return handle

    async def _open_stream(self, request: ChatRequest, ctx: RequestContext) -> StreamHandle:
        started = time.perf_counter()
        plan = self.resolve(request, ctx)
        hit = await self._cached(plan, request, ctx, started)
        if hit is not None:
            return StreamHandle.replay(hit)
        spend = _Spend(escalations=[plan.stalled] if plan.stalled else [])
        try:
            answered = await self._tiers(plan, request, ctx, spend, len(plan.tiers) - 1)
            if answered is not None:
                routed = Routed(
                    answered[1],
                    plan.route,
                    answered[0],
                    spend.cost,
                    None,
                    spend.attempts,
                    spend.checks,
                    spend.escalations,
                )
                self._record(plan, request, ctx, routed, spend, started)
                await self._remember(plan, request, ctx, routed)
                self._maybe_shadow(plan, request, ctx, routed, (time.perf_counter() - started) * 1000)
                return StreamHandle.replay(routed)
            return await self._open_live(plan, request, ctx, spend, started)
        except BudgetExceededError as exc:
            self._record_failure(plan, ctx, spend, exc, started, "refused")
            raise
        except StrataError as exc:
            self._record_failure(plan, ctx, spend, exc, started, exc.code)
            raise

    async def _open_live(
        self, plan: Plan, request: ChatRequest, ctx: RequestContext, spend: _Spend, started: float
    ) -> StreamHandle:
        failures: list[ProviderFailure] = []
        for candidate in self._chain(plan.tiers[-1]):
            if not self._fits(candidate, request):
                spend.attempts.append(Attempt(candidate, "skipped", "prompt does not fit its context window"))
                continue
            target, _, hold = await self._admit(candidate, request, ctx, plan, spend)
            config = self.models[target]
            call_started = time.perf_counter()
            # The call's span lasts until the stream ends (in _live); the upstream request goes out under it.
            call_span = telemetry.start_span(
                f"chat {config.model}",
                {**_call_attributes(self.settings, target, request), "strata.stream": True},
                SpanKind.CLIENT,
            )
            chunks = self.providers[config.provider].stream(request.upstream_body(config.model, stream=True))
            try:
                with trace.use_span(call_span, end_on_exit=False):
                    first = await chunks.__anext__()
            except StopAsyncIteration:
                first = None
            except ProviderFailure as failure:
                telemetry.end_span(call_span, error=failure.kind)
                await self._settle(hold, 0.0)
                self._failed(target, failure, call_started, spend)
                failures.append(failure)
                if not failure.retryable:
                    raise InvalidRequestError(f"model '{target}' rejected the request: {failure.message}") from failure
                continue
            except BaseException as exc:  # cancelled before the first chunk: the hold must not outlive the call
                telemetry.end_span(call_span, error=type(exc).__name__)
                await self._settle(hold, 0.0)
                raise
            routed = Routed(
                Completion("", [], "stop", Usage(), {}),
                plan.route,
                target,
                0.0,
                None,
                spend.attempts,
                spend.checks,
                spend.escalations,
            )
            return StreamHandle(
                routed,
                _live(self, plan, request, ctx, spend, started, call_started, target, first, chunks, hold, call_span),
            )
        raise self._exhausted(plan.tiers[-1], failures, 0)


class StreamHandle:
    """A started stream: routing headers now, OpenAI chunks as they come."""

    def __init__(self, routed: Routed, chunks: AsyncIterator[dict[str, Any]]) -> None:
        self.routed = routed
        self.chunks = chunks

    @classmethod
    def replay(cls, routed: Routed) -> StreamHandle:
        return cls(routed, _replay(routed))


async def _replay(routed: Routed) -> AsyncIterator[dict[str, Any]]:
    """A finished answer as the chunks a live stream would have sent."""
    raw = routed.completion.raw
    base = {
        "id": raw.get("id", "chatcmpl-cached"),
        "object": "chat.completion.chunk",
        "created": raw.get("created", int(time.time())),
        "model": routed.model,
    }
    completion = routed.completion

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    yield chunk({"role": "assistant", "content": ""})
    if completion.text:
        yield chunk({"content": completion.text})
    for index, call in enumerate(completion.tool_calls):
        yield chunk({"tool_calls": [{"index": index, **call}]})
    yield chunk({}, completion.finish_reason)
    usage = completion.usage
    yield {
        **base,
        "choices": [],
        "usage": {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        },
    }


async def _live(
    router: Router,
    plan: Plan,
    request: ChatRequest,
    ctx: RequestContext,
    spend: _Spend,
    started: float,
    call_started: float,
    model: str,
    first: dict[str, Any] | None,
    chunks: AsyncIterator[dict[str, Any]],
    hold: Hold,
    call_span: Span,
) -> AsyncIterator[dict[str, Any]]:
    """Pass the upstream's chunks through, collecting the answer to price, record and cache it."""
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    finish = "stop"
    usage: dict[str, Any] = {}
    outcome = "failed"
    try:
        pending = [first] if first is not None else []
        while True:
            if pending:
                chunk = pending.pop()
            else:
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    break
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    text.append(delta["content"])
                for call in delta.get("tool_calls") or []:
                    slot = calls.setdefault(
                        int(call.get("index", 0)),
                        {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
                    )
                    slot["id"] = call.get("id") or slot["id"]
                    function = call.get("function") or {}
                    slot["function"]["name"] += function.get("name") or ""
                    slot["function"]["arguments"] += function.get("arguments") or ""
                finish = choice.get("finish_reason") or finish
            yield chunk
        outcome = "ok"
    except ProviderFailure as failure:
        router._failed(model, failure, call_started, spend)
        raise UpstreamError(f"'{model}' failed mid-stream: {failure.message[:200]}") from failure
    finally:
        completion = Completion(
            "".join(text), [calls[i] for i in sorted(calls)], finish,
            Usage(prompt_tokens=int(usage.get("prompt_tokens") or 0), completion_tokens=int(usage.get("completion_tokens") or 0)),
            {"id": "chatcmpl-stream", "object": "chat.completion", "created": int(time.time()), "model": model,
             "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(text), **({"tool_calls": [calls[i] for i in sorted(calls)]} if calls else {})}, "finish_reason": finish}],
             "usage": {"prompt_tokens": int(usage.get("prompt_tokens") or 0), "completion_tokens": int(usage.get("completion_tokens") or 0)}},
        )  # fmt: skip
        cost = router._priced(model, request, completion, call_started, spend) if outcome == "ok" else 0.0
        telemetry.end_span(
            call_span,
            {"gen_ai.usage.input_tokens": completion.usage.prompt_tokens,
             "gen_ai.usage.output_tokens": completion.usage.completion_tokens,
             "gen_ai.response.finish_reasons": [completion.finish_reason], "strata.cost_usd": cost},
            error=None if outcome == "ok" else "stream_failed",
        )  # fmt: skip
        await router._settle(hold, cost)
        if outcome == "ok":
            routed = Routed(
                completion, plan.route, model, spend.cost, None, spend.attempts, spend.checks, spend.escalations
            )
            router._record(plan, request, ctx, routed, spend, started)
            with anyio.CancelScope(shield=True):
                await router._remember(plan, request, ctx, routed)
            # The whole answer, as the client got it, against the shadow model's (latency: to the last chunk).
            router._maybe_shadow(plan, request, ctx, routed, (time.perf_counter() - started) * 1000)
        else:
            router._record_failure(plan, ctx, spend, UpstreamError("stream ended early"), started, "stream_failed")


def _budgets(db: Database, settings: RouterSettings) -> Budgets:
    """The caps: in PostgreSQL when the ledger is shared (``ledger_url``), else counted in this process."""
    if settings.ledger_url:
        from strata.router.postgres import PostgresBudgets, PostgresDatabase

        if not isinstance(db, PostgresDatabase):
            raise ConfigError("ledger_url is set but the router was given a SQLite database")
        return PostgresBudgets(db, settings.budgets, settings.ledger_hold_s)
    return MemoryBudgets(db, settings.budgets)


def open_database(settings: RouterSettings) -> Database:
    """The ledger database the settings name (composed here, above db.py and postgres.py, which build on each
    other): PostgreSQL at ``ledger_url``, else ``router.db`` in the data directory."""
    if settings.ledger_url:
        from strata.router.postgres import PostgresDatabase

        return PostgresDatabase(settings.ledger_url)
    return SQLiteDatabase(settings.data_dir / "router.db")


def _request_attributes(request: ChatRequest, ctx: RequestContext) -> dict[str, Any]:
    return {
        "gen_ai.request.model": request.model, "strata.key": ctx.key, "strata.session": ctx.session,
        "strata.tags": list(ctx.tags) or None, "strata.tools": bool(request.tools),
    }  # fmt: skip


def _routed_attributes(routed: Routed) -> dict[str, Any]:
    usage = routed.completion.usage
    return telemetry.safe_attributes(
        {"strata.route": routed.route, "gen_ai.response.model": routed.model, "strata.cost_usd": routed.cost_usd,
         "strata.baseline_usd": routed.baseline_usd,
         "strata.cache": routed.cache or "miss", "strata.escalations": len(routed.escalations),
         "strata.escalation_reasons": list(routed.escalations) or None,
         "gen_ai.usage.input_tokens": usage.prompt_tokens or None, "gen_ai.usage.output_tokens": usage.completion_tokens or None}
    )  # fmt: skip


def _call_attributes(settings: RouterSettings, model: str, request: ChatRequest) -> dict[str, Any]:
    """The GenAI inference span's request attributes for one upstream call (no prompt text unless configured)."""
    config = settings.models[model]
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": settings.providers[config.provider].kind,
        "gen_ai.request.model": config.model, "gen_ai.request.max_tokens": request.output_cap,
        "gen_ai.request.temperature": request.temperature, "strata.model": model,
        "server.address": urlsplit(settings.providers[config.provider].base_url).hostname,
    }  # fmt: skip
    if telemetry.capture_content():
        attributes["gen_ai.input.messages"] = json.dumps([m.model_dump(exclude_none=True) for m in request.messages])
    return attributes
