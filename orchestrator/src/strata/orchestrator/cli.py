"""The ``strata`` command: find the Strata servers and check that each answers over MCP."""

from __future__ import annotations

import json
from importlib.metadata import distributions
from pathlib import Path

import anyio
import click

from strata.orchestrator.discovery import ServerReport
from strata.shared.cli import report_errors
from strata.shared.settings import user_dir

__all__ = ["cli", "installed_servers", "main"]


def installed_servers() -> dict[str, str]:
    """Console scripts named ``strata-<server>`` from installed distributions, with their versions."""
    found: dict[str, str] = {}
    for dist in distributions():
        for entry in dist.entry_points:
            if entry.group == "console_scripts" and entry.name.startswith("strata-"):
                found[entry.name] = dist.version
    return dict(sorted(found.items()))


@click.group()
def cli() -> None:
    """Strata: local-first MCP servers for LLM features.

    \b
    Example usage:
        strata servers
        strata servers --only voice,memory --json
    """


@cli.command(name="servers")
@click.option("--only", default=None, help="Comma-separated server names to check")
@click.option("--timeout", "timeout_s", type=click.FloatRange(1, 600), default=60.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per server")
@click.option(
    "--logs",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where stdio servers' stderr goes [default: <STRATA_HOME>/logs]",
)
@report_errors
def servers_list(only: str | None, timeout_s: float, as_json: bool, logs: Path | None) -> None:
    """Check each configured server: transport, health, tools (as <server>.<tool>) and ping latency.

    Servers come from [servers.<name>] in strata.toml (command/args for stdio, url + token_env for
    HTTP); without any, the five Strata servers installed here run over stdio. A server that is
    missing or broken is reported and the rest are still checked; the exit code is 1 if any failed.

    \b
    Example usage:
        strata servers
        strata servers --only codegraph,memory
    """
    from pydantic import ValidationError

    from strata.orchestrator.discovery import probe_all
    from strata.orchestrator.settings import OrchestratorSettings
    from strata.shared.cli import config_error

    try:
        specs = OrchestratorSettings.load().resolved()
    except ValidationError as exc:
        raise config_error(exc) from exc
    if only:
        wanted = [name.strip() for name in only.split(",") if name.strip()]
        unknown = [name for name in wanted if name not in specs]
        if unknown:
            raise click.BadParameter(
                f"no server named {', '.join(unknown)}; known: {', '.join(specs)}", param_hint="--only"
            )
        specs = {name: specs[name] for name in wanted}
    logs = logs if logs is not None else user_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    reports = anyio.run(lambda: probe_all(specs, timeout_s=timeout_s, log_dir=logs))
    if as_json:
        for report in reports:
            click.echo(json.dumps(report.model_dump()))
    else:
        _print_table(reports)
    if any(report.health != "ok" for report in reports):
        raise SystemExit(1)


def _print_table(reports: list[ServerReport]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for column in ("server", "transport", "health", "ping ms", "tools"):
        table.add_column(column)
    for r in reports:
        tools = r.error or ", ".join(t.split(".", 1)[1] for t in r.tools)
        health = f"[green]{r.health}[/]" if r.health == "ok" else f"[red]{r.health}[/]"
        ping = f"{r.ping_ms:.2f}" if r.ping_ms is not None else "-"
        table.add_row(r.name, f"{r.transport} {r.target}", health, ping, tools)
    Console(width=160).print(table)


@cli.command(name="installed")
def installed_list() -> None:
    """List the Strata server commands installed in this environment, with versions.

    \b
    Example usage:
        strata installed
    """
    servers = installed_servers()
    if not servers:
        raise click.ClickException("no Strata server is installed - `pip install ./servers/llm`, for example")
    for script, version in servers.items():
        click.echo(f"{script}\t{version}")


def main() -> None:
    cli()
