"""The ``strata`` command: lists the Strata servers installed here. Composition comes in a later release."""

from __future__ import annotations

from importlib.metadata import distributions

import click

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
    """


@cli.command(name="servers")
def servers_list() -> None:
    """List the Strata servers installed in this environment.

    \b
    Example usage:
        strata servers
    """
    servers = installed_servers()
    if not servers:
        raise click.ClickException("no Strata server is installed - `pip install ./servers/llm`, for example")
    for script, version in servers.items():
        click.echo(f"{script}\t{version}")


def main() -> None:
    cli()
