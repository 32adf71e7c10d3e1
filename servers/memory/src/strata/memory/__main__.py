"""``strata-memory``: serve persistent agent memory over MCP, or use the store from the shell."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from strata.memory.settings import MemorySettings
from strata.memory.store import MemoryFilter, NewMemory
from strata.memory.transcripts import CLIENTS
from strata.memory.types import Kind, Scope, SymbolId, Tag, UtcDatetime, as_utc
from strata.shared.cli import report_errors, serve_options
from strata.shared.errors import InvalidRequestError
from strata.shared.log import configure_logging
from strata.shared.runner import Metrics, serve, serve_options_from

if TYPE_CHECKING:
    from strata.memory.sharing import Memory

__all__ = ["main"]

IMPORT_BATCH = 256

store_option = click.option(
    "--store", type=click.Path(file_okay=False, path_type=Path), default=None, help="Store directory"
)


def _memory(store: Path | None) -> Memory:
    from strata.memory.sharing import Memory

    settings = MemorySettings() if store is None else MemorySettings(store_dir=store)
    return Memory(settings)


def _print(model: BaseModel) -> None:
    click.echo(model.model_dump_json(indent=2))


@click.group(invoke_without_command=True)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Strata memory: semantic recall, facts with time and an entity graph that persist across sessions.

    Without a command it serves MCP over stdio, which is what coding agents start.

    \b
    Example usage:
        strata-memory serve --transport http --port 8103
        strata-memory remember "We chose SQLite for facts" --kind decision --scope project:strata
        strata-memory recall "which database for facts?"
        strata-memory import conversation.jsonl
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(serve_cmd)


@cli.command(name="serve")
@serve_options(default_port=8103)
@store_option
@report_errors
def serve_cmd(
    transport: str = "stdio",
    host: str = "127.0.0.1",
    port: int = 8103,
    token: str | None = None,
    log_level: str = "info",
    store: Path | None = None,
) -> None:
    """Serve the memory store over MCP (stdio, or HTTP at /mcp).

    \b
    Example usage:
        strata-memory serve --transport http --port 8103
    """
    from strata.memory.server import create_server

    configure_logging(log_level)
    options = serve_options_from(transport, host, port, token)  # type: ignore[arg-type]
    options.check()
    metrics = Metrics()
    settings = MemorySettings() if store is None else MemorySettings(store_dir=store)
    serve(create_server(lambda: _memory(store), metrics, settings), options, metrics)


@cli.command(name="remember")
@click.argument("text")
@click.option("--kind", default="note", show_default=True)
@click.option("--scope", default=None, help="user | project[:id] | session[:id] | agent[:id]")
@click.option("--tag", "tags", multiple=True)
@store_option
@report_errors
def remember_cmd(text: str, kind: str, scope: str | None, tags: tuple[str, ...], store: Path | None) -> None:
    """Store one memory and print its id.

    \b
    Example usage:
        strata-memory remember "Deploys happen on Tuesdays" --kind decision --tag deploy
    """
    configure_logging("warning")
    memory = _memory(store)
    try:
        item = _new_memory({"text": text, "kind": kind, "scope": scope or memory.settings.default_scope, "tags": tags})
        _print(memory.remember([item], max_chars=memory.settings.max_text_chars)[0])
    finally:
        memory.close()


@cli.command(name="recall")
@click.argument("query")
@click.option("-k", "k", type=click.IntRange(1, 50), default=8, show_default=True)
@click.option("--scope", "scopes", multiple=True)
@click.option("--max-tokens", type=click.IntRange(50, 32000), default=2000, show_default=True)
@store_option
@report_errors
def recall_cmd(query: str, k: int, scopes: tuple[str, ...], max_tokens: int, store: Path | None) -> None:
    """Print the memories that best match QUERY as JSON.

    \b
    Example usage:
        strata-memory recall "how do we deploy?" -k 5
    """
    configure_logging("warning")
    memory = _memory(store)
    try:
        _print(memory.recall(query, k, MemoryFilter(scopes=scopes), max_tokens))
    finally:
        memory.close()


@cli.command(name="import")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--from", "client", type=click.Choice(CLIENTS), default=None, help="A coding agent's own sessions")
@click.option("--project", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="--from: the sessions run in this folder (scope project:<its name>)")  # fmt: skip
@click.option("--since", type=click.DateTime(), default=None, help="--from: only messages from this time on (UTC)")
@store_option
@report_errors
def import_cmd(
    path: Path | None, client: str | None, project: Path, since: datetime | None, store: Path | None
) -> None:
    """Import memories from a JSON Lines file, one {"text", "kind", "scope", "tags", "occurred_at", ...} per line,
    or from a coding agent's sessions (--from): the requests, and the conclusions and decisions, secrets redacted.
    Importing again stores nothing twice.

    \b
    Example usage:
        strata-memory import notes.jsonl
        strata-memory import --from claude-code --project ~/src/shop --since 2026-11-01
        strata-memory import --from codex --project .
    """
    configure_logging("warning")
    if (path is None) == (client is None):
        raise InvalidRequestError("give a JSON Lines file or --from <client>, not both or neither")
    if client is not None:
        _import_sessions(client, project, since, store)
        return
    assert path is not None
    memory = _memory(store)
    stored = duplicates = 0
    try:
        batch: list[NewMemory] = []
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    fields = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InvalidRequestError(f"{path}:{number}: not JSON ({exc.msg})") from exc
                fields.setdefault("scope", memory.settings.default_scope)
                batch.append(_new_memory(fields, where=f"{path}:{number}"))
                if len(batch) >= IMPORT_BATCH:
                    results = memory.remember(batch, max_chars=memory.settings.max_text_chars)
                    stored, duplicates = stored + len(results), duplicates + sum(r.deduplicated for r in results)
                    batch.clear()
        if batch:
            results = memory.remember(batch, max_chars=memory.settings.max_text_chars)
            stored, duplicates = stored + len(results), duplicates + sum(r.deduplicated for r in results)
    finally:
        memory.close()
    click.echo(json.dumps({"read": stored, "new": stored - duplicates, "duplicates": duplicates}))


def _import_sessions(client: str, project: Path, since: datetime | None, store: Path | None) -> None:
    from strata.memory.transcripts import import_sessions

    memory = _memory(store)
    try:
        _print(import_sessions(memory, client, project, as_utc(since) if since else None))
    finally:
        memory.close()


@cli.command(name="stats")
@store_option
@report_errors
def stats_cmd(store: Path | None) -> None:
    """Print the store's counts, engines and disk use as JSON.

    \b
    Example usage:
        strata-memory stats
    """
    configure_logging("warning")
    memory = _memory(store)
    try:
        _print(memory.stats())
    finally:
        memory.close()


class _ImportedMemory(BaseModel):
    """One line of an import file (and the CLI's remember), validated as the MCP tool validates."""

    model_config = ConfigDict(extra="forbid")

    text: str
    kind: Kind = "note"
    scope: Scope
    tags: list[Tag] = Field(default_factory=list, max_length=32)
    about: list[SymbolId] = Field(default_factory=list, max_length=32)
    source: str | None = None
    occurred_at: UtcDatetime | None = None
    context: str | None = None


def _new_memory(fields: dict[str, Any], where: str = "arguments") -> NewMemory:
    try:
        item = _ImportedMemory.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidRequestError(f"{where}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from exc
    return NewMemory(
        item.text,
        item.kind,
        item.scope,
        tuple(item.tags),
        tuple(item.about),
        item.source,
        item.occurred_at,
        item.context,
    )


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
