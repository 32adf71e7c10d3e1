"""``strata-router``: serve the router (MCP + OpenAI/Anthropic front doors), compress output, report usage."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import Any

import click

from strata.router.errors import ConfigError
from strata.router.settings import RouterSettings
from strata.shared.cli import report_errors, serve_options
from strata.shared.log import configure_logging, register_secret
from strata.shared.runner import Metrics, serve, serve_options_from

__all__ = ["main"]

DEFAULT_PORT = 8104


def _keys(settings: RouterSettings) -> dict[str, str]:
    keys = {}
    for name, key in settings.keys.items():
        value = os.environ.get(key.key_env)
        if not value:
            raise ConfigError(f"router key '{name}' reads its secret from ${key.key_env}, which is not set")
        register_secret(value)
        keys[name] = value
    return keys


@click.group(invoke_without_command=True)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Strata router: local model first, escalate when the answer fails a check; budgets, caching, compression.

    Without a command it serves MCP over stdio. Over HTTP it also serves OpenAI's /v1/chat/completions and
    Anthropic's /v1/messages, so any OpenAI client or Claude Code can point its base URL at it.

    \b
    Example usage:

        strata-router serve --transport http --port 8104
        pytest 2>&1 | strata-router compress
        strata-router usage --group-by model --group-by day
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(serve_cmd)


@cli.command(name="serve")
@serve_options(default_port=DEFAULT_PORT)
@report_errors
def serve_cmd(
    transport: str = "stdio",
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    token: str | None = None,
    log_level: str = "info",
) -> None:
    """Serve MCP (stdio), or HTTP with /mcp, /v1/chat/completions, /v1/models, /v1/messages, /healthz, /metrics.

    \b
    Example usage:

        strata-router serve --transport http --port 8104
        OPENAI_BASE_URL=http://127.0.0.1:8104/v1 my-openai-app
        ANTHROPIC_BASE_URL=http://127.0.0.1:8104 claude
    """
    from strata.router.core import Router
    from strata.router.http_api import KeyRing
    from strata.router.server import create_server

    configure_logging(log_level)
    settings = RouterSettings()
    keys = _keys(settings)
    options = serve_options_from(transport, host, port, token)  # type: ignore[arg-type]
    if keys:  # /v1 checks the router's own API keys; the bearer token keeps guarding /mcp
        options = dataclasses.replace(options, self_authenticated=("/v1/",))
    options.check()
    metrics = Metrics()
    server = create_server(Router.from_settings(settings), metrics, KeyRing(keys))
    serve(server, options, metrics)


@cli.command(name="compress")
@click.option(
    "--kind",
    type=click.Choice(["auto", "pytest", "git_diff", "git_status", "compiler", "json", "traceback", "log"]),
    default="auto",
    show_default=True,
)
@click.option("--max-lines", type=click.IntRange(20, 5000), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (id, kind, sizes, text)")
@report_errors
def compress_cmd(kind: str, max_lines: int, as_json: bool) -> None:
    """Compress tool output from stdin; the raw text is kept and `strata-router raw ID` prints it back.

    \b
    Example usage:

        git diff | strata-router compress
        pytest 2>&1 | strata-router compress --kind pytest --json
    """
    from strata.router.compress import RawStore, compress
    from strata.router.core import open_database

    configure_logging("warning")
    settings = RouterSettings()
    raw = sys.stdin.read()
    if not raw.strip():
        raise click.ClickException("nothing on stdin to compress")
    packed = compress(raw, kind, max_lines)  # type: ignore[arg-type]
    db = open_database(settings)
    try:
        output_id = RawStore(db, settings.max_raw_bytes, settings.max_raw_outputs).save(raw, packed)
    finally:
        db.close()
    if as_json:
        summary: dict[str, Any] = {
            "id": output_id, "kind": packed.kind, "raw_chars": packed.raw_chars, "compact_chars": len(packed.text),
            "tokens_before": packed.tokens_before, "tokens_after": packed.tokens_after, "text": packed.text,
        }  # fmt: skip
        click.echo(json.dumps(summary))
        return
    click.echo(packed.text)
    click.echo(
        f"[strata: {packed.kind} output {packed.raw_chars} -> {len(packed.text)} chars; the raw text: strata-router raw {output_id}]"
    )


@cli.command(name="raw")
@click.argument("output_id")
@report_errors
def raw_cmd(output_id: str) -> None:
    """Print the raw output behind a compress id.

    \b
    Example usage:

        strata-router raw out_0123456789abcdef
    """
    from strata.router.compress import RawStore
    from strata.router.core import open_database

    configure_logging("warning")
    settings = RouterSettings()
    db = open_database(settings)
    try:
        _, raw = RawStore(db, settings.max_raw_bytes, settings.max_raw_outputs).get(output_id)
    finally:
        db.close()
    sys.stdout.write(raw)


@cli.command(name="usage")
@click.option(
    "--group-by",
    "group_by",
    multiple=True,
    type=click.Choice(["model", "route", "key", "day", "session"]),
    default=["model"],
    show_default=True,
)
@click.option("--since", default=None, help="UTC day YYYY-MM-DD")
@click.option("--until", default=None, help="UTC day YYYY-MM-DD")
@report_errors
def usage_cmd(group_by: tuple[str, ...], since: str | None, until: str | None) -> None:
    """Print usage from the ledger as JSON lines: requests, tokens, cost, cache hits, escalations.

    \b
    Example usage:

        strata-router usage --group-by route --group-by day --since 2026-11-01
    """
    from strata.router.core import open_database
    from strata.router.ledger import Ledger

    configure_logging("warning")
    settings = RouterSettings()
    db = open_database(settings)
    try:
        rows, _ = Ledger(db).usage(list(group_by), since, until, limit=10_000)  # type: ignore[arg-type]
    finally:
        db.close()
    for row in rows:
        click.echo(row.model_dump_json())


@cli.command(name="quality")
@click.option("--route", default=None, help="Only this route")
@click.option("--since", default=None, help="UTC day YYYY-MM-DD")
@report_errors
def quality_cmd(route: str | None, since: str | None) -> None:
    """Print shadow-evaluation agreement as JSON lines: per route, served model and request kind, with a 95% interval.

    \b
    Example usage:

        strata-router quality --route default --since 2026-11-01
    """
    from strata.router.core import open_database
    from strata.router.ledger import Ledger

    configure_logging("warning")
    settings = RouterSettings()
    db = open_database(settings)
    try:
        rows, _ = Ledger(db).quality(route, since, limit=10_000)
    finally:
        db.close()
    for row in rows:
        click.echo(row.model_dump_json())


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
