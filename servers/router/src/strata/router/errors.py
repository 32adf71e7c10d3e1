"""Errors of strata-router, on top of the shared error model.

StrataError (strata.shared.errors)
├── InvalidRequestError              a request the router cannot serve as asked (400)
│   └── ContextOverflowError         the prompt does not fit any model of the chain (400)
├── NotFoundError                    an unknown route, model or raw-output id (404)
├── UnauthorizedError                a /v1 request without a known API key (401)
├── ConfigError                      strata.toml describes an impossible routing setup (500)
├── BudgetExceededError              a pre-flight estimate would pass a hard cap (402)
└── UpstreamError                    every model of the chain failed (502)
    └── UpstreamTimeoutError         ... and the last one by timing out (504)
"""

from __future__ import annotations

from strata.shared.errors import (
    ConfigError,
    InvalidRequestError,
    NotFoundError,
    StrataError,
    UnauthorizedError,
    UpstreamError,
)

__all__ = [
    "BudgetExceededError",
    "ConfigError",
    "ContextOverflowError",
    "InvalidRequestError",
    "NotFoundError",
    "StrataError",
    "UnauthorizedError",
    "UpstreamError",
    "UpstreamTimeoutError",
]


class BudgetExceededError(StrataError):
    """The request's pre-flight cost estimate would pass a hard budget cap; nothing was spent.

    402, not 429: OpenAI and Anthropic clients retry a 429 on their own, and a spent budget does not
    come back by retrying.
    """

    code = "budget_exceeded"
    http_status = 402


class ContextOverflowError(InvalidRequestError):
    """The prompt plus the asked output does not fit the context window of any model that could serve it."""

    code = "context_overflow"


class UpstreamTimeoutError(UpstreamError):
    """Every model of the chain failed and the last one timed out."""

    code = "upstream_timeout"
    http_status = 504
