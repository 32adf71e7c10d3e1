"""Structured logging: JSON lines on stderr, with secrets redacted.

stdout of a stdio MCP server belongs to the protocol, so nothing here ever writes to stdout. The
standard library's loggers (uvicorn, fastmcp, httpx) are routed through the same renderer.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from strata.shared.errors import StrataError

__all__ = ["configure_logging", "get_logger", "redact", "register_secret", "scrub"]

REDACTED = "***"
# Keys whose values are secrets wherever they appear in an event.
SECRET_KEY = re.compile(r"(api[_-]?key|token|secret|password|passwd|authorization|cookie|credential)", re.I)
# Secrets embedded in free text: bearer tokens and OpenAI-style keys.
SECRET_TEXT = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+|\bsk-[A-Za-z0-9_-]{8,}")


# Secrets in "key: value" or "key=value" form inside free text (an upstream echoing its request headers).
SECRET_FIELD = re.compile(
    r"(?i)((?:x-)?api[_-]?key|authorization|token|password|secret)([\"']?\s*[:=]\s*[\"']?)[^\s\"',;}]+"
)
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|\n\s+File \"[^\"]+\", line \d+")
MIN_SECRET_CHARS = 6  # shorter values would blank out ordinary words
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a configured secret (API key, token): logs and relayed upstream text never show it."""
    if value and len(value) >= MIN_SECRET_CHARS:
        _secrets.add(value)


def scrub(text: str, limit: int = 300) -> str:
    """Upstream text made fit to relay or store: configured secrets, bearer tokens, key fields and
    tracebacks removed, one line, at most ``limit`` characters."""
    found = TRACEBACK.search(text)
    if found:
        text = text[: found.start()] + " [upstream traceback withheld]"
    text = _strip_secrets(text)
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _strip_secrets(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    # Bearer tokens first: "Authorization: Bearer <token>" would otherwise lose only the word "Bearer" to the field
    # rule and keep the token.
    text = SECRET_TEXT.sub(lambda m: (m.group(1) or "") + REDACTED, text)
    return SECRET_FIELD.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)


def redact(value: Any, key: str | None = None) -> Any:
    """Return ``value`` with secrets replaced by ``***``, looking into dicts, lists and strings."""
    if key is not None and SECRET_KEY.search(key) and value not in (None, "", False):
        return REDACTED
    if isinstance(value, str):
        return _strip_secrets(value)
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value)
    return value


class _ExpectedToolErrors(logging.Filter):
    """Drops fastmcp's "Error calling tool" records for StrataErrors: those are answers to bad input,
    logged once by the tool edge (``tool_error``, no traceback). Tracebacks stay for real crashes."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (record.name.startswith("fastmcp") and isinstance(error, StrataError))


def _redact_processor(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # uvicorn adds an ANSI-coloured duplicate of each message; JSON logs do not want it.
    return {k: redact(v, k) for k, v in event_dict.items() if k != "color_message"}


def configure_logging(level: str = "info", *, json: bool = True) -> None:
    """Send every log record (structlog and stdlib) to stderr as redacted JSON (or console text)."""
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redact_processor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(_ExpectedToolErrors())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # Libraries that install their own handlers would print twice (or to stdout): route them to root.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "fastmcp", "mcp", "httpx"):
        lib = logging.getLogger(name)
        lib.handlers[:] = []
        lib.propagate = True
    logging.getLogger("uvicorn.access").setLevel(max(numeric, logging.WARNING))


def get_logger(name: str) -> Any:
    """A structlog logger bound to ``name``; stderr even before configure_logging (structlog's own
    default is stdout, which belongs to the protocol of a stdio server)."""
    if not structlog.is_configured():
        structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    return structlog.get_logger(name)
