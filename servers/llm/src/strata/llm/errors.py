"""Errors of the llm server.

StrataError (strata.shared.errors)
├── InvalidRequestError
│   ├── ContextOverflowError    the prompt (plus max_tokens) does not fit the model's context window
│   ├── UnsupportedError        the model cannot do what was asked (embed on a chat-only model, ...)
│   └── InvalidSchemaError      a json_schema that cannot be turned into a grammar
├── ModelNotFoundError          no model of that name is configured or installed
├── BusyError                   every instance is busy and the queue is full
└── UpstreamError               a remote OpenAI-compatible engine failed
"""

from __future__ import annotations

from strata.shared.errors import (
    BusyError,
    InvalidRequestError,
    ModelNotFoundError,
    StrataError,
    UpstreamError,
)

__all__ = [
    "BusyError",
    "ContextOverflowError",
    "InvalidRequestError",
    "InvalidSchemaError",
    "ModelNotFoundError",
    "StrataError",
    "UnsupportedError",
    "UpstreamError",
]


class ContextOverflowError(InvalidRequestError):
    """The prompt, or the prompt plus the requested max_tokens, exceeds the context window; never truncated."""

    code = "context_length_exceeded"

    def __init__(self, *, model: str, prompt_tokens: int, max_tokens: int | None, n_ctx: int) -> None:
        self.prompt_tokens, self.max_tokens, self.n_ctx = prompt_tokens, max_tokens, n_ctx
        if max_tokens is None:
            message = (
                f"prompt is {prompt_tokens} tokens but model '{model}' has a context window of {n_ctx} tokens; "
                "shorten the prompt or configure a larger n_ctx"
            )
        else:
            message = (
                f"prompt is {prompt_tokens} tokens and max_tokens is {max_tokens}, {prompt_tokens + max_tokens} "
                f"in all, but model '{model}' has a context window of {n_ctx} tokens; "
                "shorten the prompt or lower max_tokens"
            )
        super().__init__(message)


class UnsupportedError(InvalidRequestError):
    """The chosen model or engine cannot perform this operation."""

    code = "unsupported"


class InvalidSchemaError(InvalidRequestError):
    """A json_schema could not be compiled into a grammar."""

    code = "invalid_schema"
