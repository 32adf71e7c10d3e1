"""Router configuration: ``[router]`` in strata.toml plus ``STRATA_ROUTER_*`` environment variables.

A minimal strata.toml that runs the local model first and escalates to a hosted one::

    [router.providers.local]
    base_url = "http://127.0.0.1:8101/v1"          # strata-llm, vLLM, Ollama, llama-server ...

    [router.providers.anthropic]
    kind = "anthropic"
    base_url = "https://api.anthropic.com"
    api_key_env = "ANTHROPIC_API_KEY"               # keys come from the environment only

    [router.models.local]
    provider = "local"
    model = "smollm2-135m-instruct"
    local = true

    [router.models.sonnet]
    provider = "anthropic"
    model = "claude-sonnet-4-5"
    input_price = 3.0                               # USD per million tokens
    output_price = 15.0

    [router.routes.default]
    policy = "cascade"
    cascade = ["local", "sonnet"]

Route targets (``model``, ``rules[].use``, ``split`` keys, ``cascade`` tiers, ``default``) name a
model or another route, so policies compose; cycles are refused when the router starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from strata.shared.settings import ServerSettings, user_dir

__all__ = [
    "BudgetConfig",
    "CacheConfig",
    "CheckName",
    "KeyConfig",
    "ModelConfig",
    "ProviderConfig",
    "RouteConfig",
    "RouterSettings",
    "Rule",
    "RuleMatch",
]

Name = str
CheckName = Literal["non_empty", "not_truncated", "json", "tool_call", "judge"]
DEFAULT_CHECKS: list[CheckName] = ["non_empty", "not_truncated", "json", "tool_call"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProviderConfig(_Strict):
    """An upstream endpoint: OpenAI-compatible by default, ``kind = "anthropic"`` for Anthropic's API."""

    kind: str = Field(default="openai", description="openai, anthropic, or a plugin's entry-point name")
    base_url: str = Field(description="e.g. http://127.0.0.1:8101/v1 or https://api.anthropic.com")
    api_key_env: str | None = Field(default=None, description="Environment variable holding the API key")
    timeout_s: float = Field(default=120.0, gt=0, le=3600, description="Read timeout per request")
    connect_timeout_s: float = Field(default=5.0, gt=0, le=120)
    max_connections: int = Field(default=64, ge=1, le=4096)


class ModelConfig(_Strict):
    """A model the router may call: where it lives, what it costs, how big its window is, what follows it."""

    provider: Name
    model: str = Field(description="The model id the upstream expects")
    input_price: float = Field(default=0.0, ge=0, description="USD per million prompt tokens")
    output_price: float = Field(default=0.0, ge=0, description="USD per million completion tokens")
    context_window: int | None = Field(default=None, ge=16, description="Tokens; requests that cannot fit skip it")
    max_output_tokens: int = Field(default=1024, ge=1, description="Assumed output when a request sets no max")
    fallbacks: list[Name] = Field(default_factory=list, description="Models tried, in order, when this one fails")
    local: bool = Field(default=False, description="Where on_budget='local' sends a request over budget")


class RuleMatch(_Strict):
    """All given conditions must hold (an empty match always holds)."""

    model: list[str] | None = Field(default=None, description="Requested model names (aliases)")
    min_prompt_tokens: int | None = Field(default=None, ge=0)
    max_prompt_tokens: int | None = Field(default=None, ge=0)
    has_tools: bool | None = None
    has_images: bool | None = None
    wants_json: bool | None = None
    tags_any: list[str] | None = Field(default=None, description="Request tags (X-Strata-Tags header)")


class Rule(_Strict):
    when: RuleMatch = Field(default_factory=RuleMatch)
    use: Name


class ShadowConfig(_Strict):
    """Shadow evaluation of a route: a sample of its answered requests also goes to ``model``, after the client has
    its answer, and the two answers are compared (see :mod:`strata.router.shadow`)."""

    model: Name = Field(description="The model whose answers the route's are compared with")
    sample: float = Field(default=0.05, gt=0, le=1, description="Share of the route's answered requests shadowed")
    compare: Literal["exact", "json", "embedding", "judge"] = "judge"
    judge_model: Name | None = Field(default=None, description="compare = 'judge': the model that compares")
    threshold: float = Field(default=0.9, ge=-1, le=1, description="compare = 'embedding': the least cosine")
    queue: int = Field(default=32, ge=1, le=1024, description="Shadow calls in flight at most; more are dropped")

    @model_validator(mode="after")
    def _complete(self) -> ShadowConfig:
        if self.compare == "judge" and self.judge_model is None:
            raise ValueError("shadow compare = 'judge' needs 'judge_model'")
        return self


class StallConfig(_Strict):
    """A session whose tool results keep failing skips the cheapest tier for a while (see strata.router.stall)."""

    repeats: int = Field(default=3, ge=2, le=100, description="Failing tool results that stall a session")
    window_s: float = Field(default=600.0, gt=0, le=86_400, description="... within this many seconds")
    latch_s: float = Field(default=900.0, gt=0, le=86_400, description="How long the session stays a tier up")


class RampConfig(_Strict):
    """Move a split route's weight on ``target`` (its local tier) by the evidence of its shadow evaluation: up a
    ``step`` when the lower bound of the 95% interval of agreement over the last ``n`` compared answers of
    ``target`` reaches ``agreement``, down a step when it does not; within ``min`` and ``max``."""

    target: Name = Field(description="The split entry whose weight moves (the local tier)")
    min: float = Field(default=0.3, ge=0, le=1)
    max: float = Field(default=0.7, ge=0, le=1)
    step: float = Field(default=0.1, gt=0, le=1)
    agreement: float = Field(default=0.95, gt=0, le=1, description="Least lower bound of agreement to move up")
    n: int = Field(default=200, ge=10, le=100_000, description="Compared answers each decision is made on")

    @model_validator(mode="after")
    def _bounds(self) -> RampConfig:
        if self.min > self.max:
            raise ValueError("ramp min is above max")
        return self


class RouteConfig(_Strict):
    """How one route picks its model: fixed, rules, a weighted split, or a cascade with answer checks."""

    policy: Literal["fixed", "rules", "split", "cascade"]
    model: Name | None = Field(default=None, description="fixed: the target")
    rules: list[Rule] = Field(default_factory=list, description="rules: first match wins")
    default: Name | None = Field(default=None, description="rules: the target when no rule matches")
    split: dict[Name, float] = Field(default_factory=dict, description="split: target -> weight")
    cascade: list[Name] = Field(default_factory=list, description="cascade: cheapest first")
    checks: list[CheckName] = Field(default_factory=lambda: list(DEFAULT_CHECKS))
    judge_model: Name | None = Field(default=None, description="The model the 'judge' check asks")
    aliases: list[str] = Field(default_factory=list, description="Requested model names that select this route")
    on_budget: Literal["refuse", "local"] = Field(default="refuse", description="Over a cap: refuse, or go local")
    cache: bool = True
    shadow: ShadowConfig | None = Field(default=None, description="Compare a sample of answers with another model's")
    ramp: RampConfig | None = Field(default=None, description="split: move a weight by the shadow evaluation")
    stall: StallConfig | None = Field(default=None, description="cascade: a stalled agent session skips a tier")

    @model_validator(mode="after")
    def _complete(self) -> RouteConfig:
        needs = {
            "fixed": self.model is not None,
            "rules": bool(self.rules) and self.default is not None,
            "split": bool(self.split) and sum(self.split.values()) > 0 and min(self.split.values()) >= 0,
            "cascade": len(self.cascade) >= 2,
        }
        if not needs[self.policy]:
            what = {
                "fixed": "'model'",
                "rules": "'rules' and a 'default'",
                "split": "'split' with non-negative weights that sum above 0",
                "cascade": "'cascade' with at least two tiers",
            }[self.policy]
            raise ValueError(f"policy '{self.policy}' needs {what}")
        if "judge" in self.checks and self.judge_model is None:
            raise ValueError("the 'judge' check needs 'judge_model'")
        if self.ramp is not None:
            if self.policy != "split" or self.shadow is None:
                raise ValueError("a ramp needs policy 'split' and a 'shadow' to measure by")
            if self.ramp.target not in self.split:
                raise ValueError(f"the ramp's target '{self.ramp.target}' is not one of the split's entries")
        return self

    def targets(self) -> list[Name]:
        """Every name this route may hand a request to."""
        named = [self.model, self.default, self.judge_model, *[r.use for r in self.rules]]
        return [t for t in named if t] + list(self.split) + list(self.cascade)


class BudgetConfig(_Strict):
    """A hard cap in USD over a period, for one scope (``name = "*"`` caps each key/route/session alone)."""

    scope: Literal["global", "key", "route", "session"]
    name: str = "*"
    limit_usd: float = Field(gt=0)
    period: Literal["day", "total"] = "day"


class KeyConfig(_Strict):
    """A client API key the /v1 endpoints accept; the key itself comes from the environment."""

    key_env: str


class CacheConfig(_Strict):
    exact: bool = True
    semantic: bool = Field(default=False, description="Needs strata-router[semantic-cache]")
    similarity: float = Field(default=0.95, gt=0, le=1, description="Cosine similarity a semantic hit needs")
    ttl_s: int = Field(default=24 * 3600, ge=1)
    max_entries: int = Field(default=10_000, ge=1, le=1_000_000)
    memory_mb: int = Field(default=16, ge=1, le=16_384, description="Most memory the cached answers may hold")
    cache_tools: bool = Field(default=False, description="Also cache requests that offer tools")
    cache_sampled: bool = Field(default=False, description="Also cache requests with temperature > 0")


class RouterSettings(ServerSettings):
    """Settings of strata-router (strata.toml ``[router]``, env ``STRATA_ROUTER_*``)."""

    section = "router"
    model_config = ServerSettings.model_config | {"env_prefix": "STRATA_ROUTER_"}

    data_dir: Path = Field(default_factory=lambda: user_dir() / "router", description="Ledger, cache, raw outputs")
    ledger_url: str | None = Field(
        default=None,
        pattern=r"^postgres(ql)?://",
        description="PostgreSQL for the ledger, budgets, shadow verdicts, cache, raw outputs and stored responses, so "
        "several routers share them and hold one cap (needs strata-router[postgres]); unset: SQLite in data_dir. "
        "Leave the password out and let libpq find it (PGPASSWORD, ~/.pgpass)",
    )
    ledger_hold_s: float = Field(
        default=900.0,
        gt=0,
        le=86_400,
        description="With ledger_url: how long a call's in-flight budget hold counts if its router dies before the "
        "call settles",
    )
    providers: dict[Name, ProviderConfig] = Field(
        default_factory=lambda: {"local": ProviderConfig(base_url="http://127.0.0.1:8101/v1")}
    )
    models: dict[Name, ModelConfig] = Field(
        default_factory=lambda: {"local": ModelConfig(provider="local", model="smollm2-135m-instruct", local=True)}
    )
    routes: dict[Name, RouteConfig] = Field(
        default_factory=lambda: {"default": RouteConfig(policy="fixed", model="local")}
    )
    default_route: Name = "default"
    budgets: list[BudgetConfig] = Field(default_factory=list)
    keys: dict[Name, KeyConfig] = Field(default_factory=dict, description="If set, /v1 requires one of them")
    cache: CacheConfig = Field(default_factory=CacheConfig)
    max_raw_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, description="Largest output compress accepts")
    max_raw_outputs: int = Field(default=5_000, ge=1, description="Raw outputs kept (oldest pruned first)")
