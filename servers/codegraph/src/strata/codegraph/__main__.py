"""``strata-codegraph``: the code graph of a repository, from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from strata.codegraph.files import source_files
from strata.codegraph.pycalls import analyze_sources, load_project
from strata.shared.cli import report_errors
from strata.shared.errors import InvalidRequestError

__all__ = ["main"]


@click.group()
def cli() -> None:
    """Strata code graph: symbols, imports and calls of a code base.

    \b
    Example usage:
        strata-codegraph callgraph ./src --format pycg
    """


@cli.command(name="callgraph")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["pycg"]), default="pycg", show_default=True)
@report_errors
def callgraph_cmd(path: Path, fmt: str) -> None:
    """Print the resolved Python call graph as PyCG-style JSON: {"module.func": ["module.callee", ...]}.

    \b
    Example usage:
        strata-codegraph callgraph ./src > callgraph.json
    """
    root = path.resolve()
    files = list(source_files(root, frozenset({".py"})))
    if not files:
        raise InvalidRequestError(f"no Python files under {root}")
    graph = analyze_sources(load_project(root, files)).call_graph()
    json.dump(graph, sys.stdout, indent=2)
    sys.stdout.write("\n")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
