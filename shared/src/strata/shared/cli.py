"""Command-line pieces every server's ``__main__`` uses: the serve flags and the error edge."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from strata.shared.errors import ConfigError, StrataError

__all__ = ["config_error", "report_errors", "serve_options"]

F = TypeVar("F", bound=Callable[..., Any])


def serve_options(default_port: int) -> Callable[[F], F]:
    """Add ``--transport``, ``--host``, ``--port``, ``--token`` and ``--log-level`` to a click command."""

    def decorate(fn: F) -> F:
        options = [
            click.option(
                "--transport",
                type=click.Choice(["stdio", "http"]),
                default="stdio",
                show_default=True,
                help="stdio for one client that starts the server; http to serve many",
            ),
            click.option(
                "--host",
                default="127.0.0.1",
                show_default=True,
                help="HTTP bind address; anything but loopback needs --token",
            ),
            click.option("--port", type=click.IntRange(0, 65535), default=default_port, show_default=True),
            click.option(
                "--token",
                envvar="STRATA_TOKEN",
                default=None,
                help="Bearer token HTTP clients must send (env STRATA_TOKEN)",
            ),
            click.option(
                "--log-level",
                default="info",
                show_default=True,
                type=click.Choice(["debug", "info", "warning", "error"]),
            ),
        ]
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def report_errors(fn: F) -> F:
    """Turn StrataError (and invalid settings) into a one-line CLI error.

    ``STRATA_RAISE_ERRORS=1`` keeps the traceback.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            try:
                return fn(*args, **kwargs)
            except ValidationError as exc:  # pydantic-settings found a bad value in config or env
                raise config_error(exc) from exc
        except StrataError as exc:
            if os.environ.get("STRATA_RAISE_ERRORS") == "1":
                raise
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def config_error(exc: ValidationError) -> ConfigError:
    """A one-line ConfigError naming the first invalid setting and where settings come from."""
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or exc.title
    return ConfigError(
        f"invalid setting '{key}' in {exc.title}: {first['msg']} (got {first.get('input')!r}); "
        "check strata.toml and STRATA_* environment variables"
    )
