"""The error model every Strata server shares.

Tool errors reach MCP clients as ``"<code>: <one-line message>"`` text in an ``isError`` result, and
HTTP clients as ``{"error": {"code", "message", "type"}}`` with the status below. Tracebacks go to the
log, never to the client.

    StrataError                      base; code "internal", HTTP 500
    ├── InvalidRequestError          arguments that validate but cannot be served (400)
    ├── NotFoundError                a named thing does not exist (404)
    │   └── ModelNotFoundError       a model name or file that cannot be located (404)
    ├── ConfigError                  configuration that is missing or contradictory (500)
    ├── BusyError                    admission control refused the request (429)
    ├── UnauthorizedError            missing or wrong bearer token (401)
    └── UpstreamError                a configured remote engine failed or answered badly (502)
"""

from __future__ import annotations

__all__ = [
    "BusyError",
    "ConfigError",
    "InvalidRequestError",
    "ModelNotFoundError",
    "NotFoundError",
    "StrataError",
    "UnauthorizedError",
    "UpstreamError",
]


class StrataError(Exception):
    """Base of every error Strata reports to a client; ``code`` is stable, ``message`` is one line."""

    code: str = "internal"
    http_status: int = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        # Clients see one line: a multi-line message would break the "<code>: <message>" contract.
        self.message = " ".join(message.split())
        if code is not None:
            self.code = code
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        """The JSON body an HTTP endpoint returns for this error (OpenAI's error shape)."""
        return {"code": self.code, "message": self.message, "type": type(self).__name__}


class InvalidRequestError(StrataError):
    """The arguments passed validation but the request cannot be served as asked."""

    code = "invalid_request"
    http_status = 400


class NotFoundError(StrataError):
    """A named thing (model, symbol, record) does not exist."""

    code = "not_found"
    http_status = 404


class ModelNotFoundError(NotFoundError):
    """A model name or file cannot be located; the message says what to install or configure."""

    code = "model_not_found"


class ConfigError(StrataError):
    """Configuration is missing or contradictory; the message names the key and how to set it."""

    code = "config_error"
    http_status = 500


class BusyError(StrataError):
    """Admission control refused the request because the queue is full; retry later."""

    code = "busy"
    http_status = 429


class UnauthorizedError(StrataError):
    """A request came without the bearer token the server requires, or with a wrong one."""

    code = "unauthorized"
    http_status = 401


class UpstreamError(StrataError):
    """A configured remote engine failed, timed out or answered in a shape we cannot read."""

    code = "upstream_error"
    http_status = 502
