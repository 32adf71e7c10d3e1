"""The MCP surface of strata-router, and the HTTP front doors served beside it in the same process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastmcp import FastMCP
from mcp.types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from strata.router.budgets import BudgetLine
from strata.router.compress import DEFAULT_MAX_LINES, Kind, compress
from strata.router.core import Router
from strata.router.errors import InvalidRequestError
from strata.router.http_api import KeyRing, http_routes
from strata.router.ledger import GroupBy, QualityRow, UsageRow
from strata.router.settings import RouteConfig
from strata.router.types import ChatRequest, CheckResult, RequestContext
from strata.shared.runner import Metrics, create_mcp

__all__ = ["create_server"]

VERSION = "0.1.0"
INSTRUCTIONS = (
    "Cost-aware model routing. complete runs the cheap local model first and escalates only when its answer "
    "fails a check; estimate_cost and budget_status before spending; compress long tool output (raw_output "
    "gets the original back)."
)
READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
SPENDS = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
STORES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)
MCP_KEY = "mcp"
MAX_TEXT = 1_000_000
DAY = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="UTC day, YYYY-MM-DD")]


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=MAX_TEXT)


Messages = Annotated[list[MessageIn], Field(min_length=1, max_length=256)]


class CompleteResult(BaseModel):
    text: str
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    finish_reason: str
    model: str = Field(description="The configured model that answered")
    route: str
    cost_usd: float
    cache: str | None = None
    escalations: list[str] = Field(default_factory=list, description="Why cheaper tiers were not trusted")
    checks: list[dict[str, Any]] = Field(default_factory=list)
    prompt_tokens: int
    completion_tokens: int


class TierEstimate(BaseModel):
    model: str
    estimate_usd: float
    fits_context: bool


class EstimateResult(BaseModel):
    route: str
    tiers: list[TierEstimate] = Field(description="In the order they would be tried")
    first_call_usd: float = Field(description="If the first tier's answer is accepted")
    worst_case_usd: float = Field(description="If every tier is called")
    prompt_tokens_estimate: int
    budgets: list[BudgetLine]


class UsageReport(BaseModel):
    rows: list[UsageRow]
    left_out: int


class RampState(BaseModel):
    route: str
    target: str = Field(description="The split entry whose weight the ramp moves")
    weight: float
    min: float
    max: float
    verdicts_since_last_decision: int
    decide_every: int


class QualityReport(BaseModel):
    rows: list[QualityRow]
    left_out: int
    ramps: list[RampState] = Field(description="Ramped split routes: their target's weight now")


class CompressResult(BaseModel):
    id: str = Field(description="Pass to raw_output to get the original")
    kind: str
    text: str
    raw_chars: int
    compact_chars: int
    tokens_before: int
    tokens_after: int
    error_lines: int = Field(description="Distinct error lines in the raw output; all are in text")


class RawOutput(BaseModel):
    id: str
    kind: str
    text: str
    total_chars: int
    offset: int
    next_offset: int | None = Field(description="Call again with this offset for more; null at the end")


def _checks(results: list[CheckResult]) -> list[dict[str, Any]]:
    return [{"check": r.check, "passed": r.passed, "reason": r.reason} for r in results]


def create_server(router: Router, metrics: Metrics, keys: KeyRing) -> FastMCP:
    """Build the strata-router MCP server (tools + /v1 front doors) over ``router``."""

    @asynccontextmanager
    async def lifespan(_: FastMCP) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {}
        finally:
            await router.close()

    mcp = create_mcp("strata-router", version=VERSION, instructions=INSTRUCTIONS, metrics=metrics, lifespan=lifespan)

    def chat(messages: list[MessageIn], model: str, **extra: Any) -> ChatRequest:
        body = {
            "model": model,
            "messages": [m.model_dump() for m in messages],
            **{k: v for k, v in extra.items() if v is not None},
        }
        return ChatRequest.model_validate(body)

    @mcp.tool(annotations=SPENDS)
    async def complete(
        messages: Messages,
        model: Annotated[str, Field(min_length=1, max_length=256, description="Model alias or route name")] = "default",
        route: Annotated[str | None, Field(max_length=256, description="Force a configured route")] = None,
        policy: Annotated[
            RouteConfig | None, Field(description="A one-off route, e.g. {policy: cascade, cascade: [local, frontier]}")
        ] = None,
        max_cost: Annotated[
            float | None, Field(ge=0, le=1000, description="Refuse calls that would pass this (USD)")
        ] = None,
        max_tokens: Annotated[int | None, Field(ge=1, le=200_000)] = None,
        temperature: Annotated[float | None, Field(ge=0, le=2)] = None,
        json_schema: Annotated[dict[str, Any] | None, Field(description="The answer must be JSON matching it")] = None,
        tags: Annotated[list[Annotated[str, Field(max_length=64)]] | None, Field(max_length=16)] = None,
        session: Annotated[str | None, Field(max_length=200)] = None,
    ) -> CompleteResult:
        """Answer a chat: local model first, escalating only when its answer fails the route's checks."""
        fmt = {"type": "json_schema", "json_schema": {"name": "output", "schema": json_schema}} if json_schema else None
        request = chat(messages, model, max_tokens=max_tokens, temperature=temperature, response_format=fmt)
        ctx = RequestContext(
            key=MCP_KEY,
            session=session,
            tags=tuple(tags or ()),
            route=route,
            route_override=policy,
            max_cost_usd=max_cost,
        )
        routed = await router.complete(request, ctx)
        c = routed.completion
        return CompleteResult(
            text=c.text, tool_calls=c.tool_calls, finish_reason=c.finish_reason, model=routed.model, route=routed.route,
            cost_usd=round(routed.cost_usd, 8), cache=routed.cache, escalations=routed.escalations,
            checks=_checks(routed.checks), prompt_tokens=c.usage.prompt_tokens, completion_tokens=c.usage.completion_tokens,
        )  # fmt: skip

    @mcp.tool(annotations=READ_ONLY)
    async def estimate_cost(
        messages: Messages,
        model: Annotated[str, Field(min_length=1, max_length=256, description="Model alias or route name")] = "default",
        route: Annotated[str | None, Field(max_length=256)] = None,
        max_tokens: Annotated[
            int | None, Field(ge=1, le=200_000, description="Output cap (else each model's assumed output)")
        ] = None,
        session: Annotated[str | None, Field(max_length=200)] = None,
    ) -> EstimateResult:
        """What a request would cost before it is sent: per tier, first call, worst case, and budgets left."""
        request = chat(messages, model, max_tokens=max_tokens)
        plan = router.resolve(request, RequestContext(key=MCP_KEY, session=session, route=route))
        tiers = [
            TierEstimate(
                model=t, estimate_usd=round(router.estimate(t, request), 8), fits_context=router._fits(t, request)
            )
            for t in plan.tiers
        ]
        return EstimateResult(
            route=plan.route, tiers=tiers, first_call_usd=tiers[0].estimate_usd,
            worst_case_usd=round(sum(t.estimate_usd for t in tiers), 8),
            prompt_tokens_estimate=request.prompt_tokens_estimate(),
            budgets=await anyio.to_thread.run_sync(lambda: router.budgets.status(MCP_KEY, session)),
        )  # fmt: skip

    @mcp.tool(annotations=READ_ONLY)
    async def budget_status(
        key: Annotated[str | None, Field(max_length=200, description="API key name (default: this MCP client)")] = None,
        session: Annotated[str | None, Field(max_length=200)] = None,
    ) -> list[BudgetLine]:
        """Every budget cap that applies, with spent, reserved (in flight) and remaining USD."""
        return await anyio.to_thread.run_sync(lambda: router.budgets.status(key or MCP_KEY, session))

    @mcp.tool(annotations=READ_ONLY)
    async def quality_report(
        route: Annotated[str | None, Field(max_length=200, description="Only this route")] = None,
        since: DAY | None = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
    ) -> QualityReport:
        """How often each route's answers agree with its shadow model's (95% interval), per model and kind."""
        rows, left_out = await anyio.to_thread.run_sync(lambda: router.ledger.quality(route, since, limit))
        ramps = [RampState(**state) for state in router.ramp_states() if route is None or state["route"] == route]
        return QualityReport(rows=rows, left_out=left_out, ramps=ramps)

    @mcp.tool(annotations=READ_ONLY)
    async def usage_report(
        group_by: Annotated[
            list[GroupBy], Field(max_length=5, description="Any of model, route, key, day, session")
        ] = ["model"],  # noqa: B006
        since: DAY | None = None,
        until: DAY | None = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
    ) -> UsageReport:
        """Requests, tokens, cost, cache hits, escalations and refusals, grouped; costliest first."""
        rows, left_out = await anyio.to_thread.run_sync(
            lambda: router.ledger.usage(list(dict.fromkeys(group_by)), since, until, limit)
        )
        return UsageReport(rows=rows, left_out=left_out)

    @mcp.tool(name="compress", annotations=STORES)
    async def compress_output(
        text: Annotated[str, Field(min_length=1, max_length=16_000_000, description="The raw tool output")],
        kind: Annotated[Kind | Literal["auto"], Field(description="Output kind; auto detects it")] = "auto",
        max_lines: Annotated[int, Field(ge=20, le=5000)] = DEFAULT_MAX_LINES,
    ) -> CompressResult:
        """Shrink noisy tool output (tests, diffs, compiler errors, JSON, tracebacks) keeping every error line."""
        packed = await anyio.to_thread.run_sync(lambda: compress(text, kind, max_lines))
        output_id = await anyio.to_thread.run_sync(lambda: router.raw.save(text, packed))
        return CompressResult(
            id=output_id, kind=packed.kind, text=packed.text, raw_chars=packed.raw_chars, compact_chars=len(packed.text),
            tokens_before=packed.tokens_before, tokens_after=packed.tokens_after, error_lines=packed.error_lines,
        )  # fmt: skip

    @mcp.tool(annotations=READ_ONLY)
    async def raw_output(
        id: Annotated[str, Field(pattern=r"^out_[0-9a-f]{16}$", description="The id compress returned")],
        offset: Annotated[int, Field(ge=0)] = 0,
        max_chars: Annotated[int, Field(ge=1, le=200_000)] = 50_000,
    ) -> RawOutput:
        """The original output behind a compress id, paged by characters."""
        kind, raw = await anyio.to_thread.run_sync(lambda: router.raw.get(id))
        if offset > len(raw):
            raise InvalidRequestError(f"offset {offset} is past the end ({len(raw)} chars)")
        end = min(offset + max_chars, len(raw))
        return RawOutput(
            id=id,
            kind=kind,
            text=raw[offset:end],
            total_chars=len(raw),
            offset=offset,
            next_offset=end if end < len(raw) else None,
        )

    for path, methods, handler in http_routes(router, keys):
        mcp.custom_route(path, methods=methods)(handler)
    return mcp
