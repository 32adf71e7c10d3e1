"""strata-router: cost-aware model routing over MCP and OpenAI/Anthropic-compatible HTTP."""

from strata.router.cache import ResponseCache
from strata.router.compress import Compressed, RawStore, compress, detect
from strata.router.core import Router
from strata.router.errors import BudgetExceededError, ContextOverflowError, UpstreamTimeoutError
from strata.router.providers import AnthropicProvider, OpenAIProvider, Provider, ProviderFailure
from strata.router.settings import RouterSettings
from strata.router.types import ChatRequest, Completion, RequestContext, Routed

__all__ = [
    "AnthropicProvider",
    "BudgetExceededError",
    "ChatRequest",
    "Completion",
    "Compressed",
    "ContextOverflowError",
    "OpenAIProvider",
    "Provider",
    "ProviderFailure",
    "RawStore",
    "RequestContext",
    "ResponseCache",
    "Routed",
    "Router",
    "RouterSettings",
    "UpstreamTimeoutError",
    "compress",
    "detect",
]
