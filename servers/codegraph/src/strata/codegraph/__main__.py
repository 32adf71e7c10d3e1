"""``strata-codegraph``: index a repository and serve its code graph over MCP."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from strata.codegraph.files import source_files
from strata.codegraph.index import INDEX_STEPS, IndexSummary, RepositoryAnalysis, build_index
from strata.codegraph.pycalls import analyze_sources, load_project
from strata.codegraph.settings import CodegraphSettings
from strata.shared.cli import report_errors, serve_options
from strata.shared.errors import InvalidRequestError
from strata.shared.log import configure_logging, get_logger

__all__ = ["main"]

log = get_logger("strata.codegraph.cli")
# serve --watch keeps the analysis in memory (about 0.8 MB per source file: 1.4 GB for CPython's 1,789-file Lib/);
# below this many files that is cheap, and watching is the default
WATCH_AUTO_MAX_FILES = 1000

repo_argument = click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))


def _store_dir(repo: Path, db: Path | None) -> Path:
    return db if db is not None else CodegraphSettings().store_dir_for(repo)


@click.group()
def cli() -> None:
    """Strata code graph: symbols, resolved calls and routes of a repository, over MCP.

    \b
    Example usage:
        strata-codegraph index .
        strata-codegraph serve --repo .
        strata-codegraph callgraph ./src --format pycg
        strata-codegraph query "MATCH (s:Symbol) RETURN count(*)"
    """


@cli.command(name="index")
@repo_argument
@click.option(
    "--db",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Store directory (default: PATH/.strata)",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON")
@report_errors
def index_cmd(path: Path, db: Path | None, as_json: bool) -> None:
    """Index a repository (replacing its previous index atomically).

    \b
    Example usage:
        strata-codegraph index ~/src/myproject --json
    """
    configure_logging("warning")
    store_dir = _store_dir(path.resolve(), db)
    if as_json or not sys.stderr.isatty():
        built = build_index(path, store_dir)
    else:
        built = _index_with_progress(path, store_dir)
    summary = built[0]  # built[1], the analysis, stays referenced until os._exit below
    if as_json:
        click.echo(json.dumps(summary.as_dict()))
    else:
        click.echo(
            f"indexed {summary.files} files: {summary.symbols} symbols, {summary.call_edges} call edges "
            f"({summary.unresolved_call_sites} of {summary.call_sites} call sites unresolved, "
            f"{summary.ambiguous_call_sites} with several candidates) in {summary.seconds:.2f} s -> {summary.store}"
        )
    # The store is written and closed. The analysis (millions of small objects) dies with the process:
    # freeing them one by one, then the interpreter's last collection, took ~1.5 s after indexing Lib/.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _index_with_progress(path: Path, store_dir: Path) -> tuple[IndexSummary, RepositoryAnalysis]:
    """A rich progress bar on stderr, one step per indexing phase."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("indexing", total=len(INDEX_STEPS))
        seen: list[str] = []

        def on_step(name: str) -> None:
            if seen:
                progress.advance(task)
            seen.append(name)
            progress.update(task, description=name)

        built = build_index(path, store_dir, on_step)
        progress.advance(task)
    return built


@cli.command(name="serve")
@serve_options(default_port=8102)
@click.option(
    "--repo", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("."), show_default=True
)
@click.option("--db", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option(
    "--watch/--no-watch",
    default=None,
    help=f"Reindex as files change, keeping the analysis in memory so that an edit costs milliseconds (about 0.8 MB "
    f"per source file). Default: on for up to {WATCH_AUTO_MAX_FILES} source files, else off (call reindex)",
)
@click.option("--debounce-ms", type=click.IntRange(50, 60_000), default=500, show_default=True)
@report_errors
def serve_cmd(
    transport: str,
    host: str,
    port: int,
    token: str | None,
    log_level: str,
    repo: Path,
    db: Path | None,
    watch: bool | None,
    debounce_ms: int,
) -> None:
    """Serve the code graph of --repo over MCP (stdio, or HTTP at /mcp), indexing it in the background from the
    start (index_status shows how far) and keeping it fresh as files change.

    \b
    Example usage:
        strata-codegraph serve --repo . --watch --transport http --port 8102
    """
    from strata.codegraph.server import create_server
    from strata.codegraph.service import CodeGraph
    from strata.shared.runner import Metrics, serve, serve_options_from  # the MCP stack: 0.6 s that `index` skips

    configure_logging(log_level)
    options = serve_options_from(transport, host, port, token)  # type: ignore[arg-type]
    options.check()
    metrics = Metrics()
    root = repo.resolve()
    graph = CodeGraph(root, _store_dir(root, db))
    if watch is None:
        from strata.codegraph.files import scan
        from strata.codegraph.watch import WATCHED_SUFFIXES

        files = len(scan(root, WATCHED_SUFFIXES))
        watch = files <= WATCH_AUTO_MAX_FILES
        log.info("watch", on=watch, source_files=files, limit=WATCH_AUTO_MAX_FILES)
    serve(create_server(graph, metrics, watch=watch, debounce_ms=debounce_ms), options, metrics)


@cli.command(name="callgraph")
@repo_argument
@click.option("--format", "fmt", type=click.Choice(["pycg"]), default="pycg", show_default=True)
@report_errors
def callgraph_cmd(path: Path, fmt: str) -> None:
    """Print the resolved Python call graph as PyCG-style JSON: {"module.func": ["module.callee", ...]}.

    \b
    Example usage:
        strata-codegraph callgraph ./src > callgraph.json
    """
    root = path.resolve()
    files = source_files(root, frozenset({".py"}))
    if not files:
        raise InvalidRequestError(f"no Python files under {root}")
    graph = analyze_sources(load_project(root, files)).call_graph()
    json.dump(graph, sys.stdout, indent=2)
    sys.stdout.write("\n")


@cli.command(name="query")
@click.argument("cypher")
@click.option(
    "--repo", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("."), show_default=True
)
@click.option("--db", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@report_errors
def query_cmd(cypher: str, repo: Path, db: Path | None, limit: int) -> None:
    """Run a read-only Cypher query on the index and print the rows as JSON.

    \b
    Example usage:
        strata-codegraph query "MATCH (s:Symbol) WHERE s.name = 'main' RETURN s.id, s.file"
    """
    from strata.codegraph.service import CodeGraph

    configure_logging("warning")
    root = repo.resolve()
    graph = CodeGraph(root, _store_dir(root, db))
    try:
        result = graph.query(cypher, limit)
    finally:
        graph.close()
    json.dump(result.model_dump(), sys.stdout, indent=2)
    sys.stdout.write("\n")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
