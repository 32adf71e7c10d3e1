"""``strata-llm``: serve local and remote models over MCP (stdio or HTTP with /v1), or chat once."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import click

from strata.llm.registry import ModelRegistry, model_name_for_path
from strata.llm.service import LlmService
from strata.llm.settings import LlmSettings, LocalModelConfig
from strata.llm.types import ChatMessage, GenerationParams
from strata.shared.cli import report_errors, serve_options
from strata.shared.log import configure_logging
from strata.shared.models import bundled_models
from strata.shared.runner import Metrics, serve, serve_options_from

__all__ = ["main"]


def _settings(model: str | None, **overrides: Any) -> LlmSettings:
    """Settings from env and strata.toml, then flags on top (flag > env > file > default)."""
    settings = LlmSettings(**{k: v for k, v in overrides.items() if v is not None})
    if model is None:
        return settings
    if model in settings.models or model in settings.remotes:
        settings.default_model = model
    elif Path(model).expanduser().is_file():
        name = model_name_for_path(Path(model))
        settings.models[name] = LocalModelConfig(source=str(Path(model).expanduser()))
        settings.default_model = name
    else:  # a bundled model name, or a clear ModelNotFoundError when the registry is built
        settings.models[model] = LocalModelConfig(source=model)
        settings.default_model = model
    return settings


model_option = click.option("--model", "-m", default=None, help="Model name from config, bundled name, or GGUF path")
threads_option = click.option("--threads", type=click.IntRange(1, 256), default=None, help="Threads per instance")


@click.group(invoke_without_command=True)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Strata local LLM server: GGUF models in-process, OpenAI-compatible engines by URL.

    Without a command it serves MCP over stdio, which is what coding agents start.

    \b
    Example usage:

        strata-llm serve --transport http --port 8101
        strata-llm chat "Write a haiku about graphs"
        strata-llm models
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(serve_cmd)


@cli.command(name="serve")
@serve_options(default_port=8101)
@model_option
@threads_option
@click.option("--instances", type=click.IntRange(1, 64), default=None, help="Parallel instances per model")
@click.option("--max-queue", type=click.IntRange(0, 10_000), default=None, help="Waiting requests before 'busy'")
@click.option("--n-ctx", type=click.IntRange(128, 1_048_576), default=None, help="Context window in tokens")
@report_errors
def serve_cmd(
    transport: str = "stdio",
    host: str = "127.0.0.1",
    port: int = 8101,
    token: str | None = None,
    log_level: str = "info",
    model: str | None = None,
    threads: int | None = None,
    instances: int | None = None,
    max_queue: int | None = None,
    n_ctx: int | None = None,
) -> None:
    """Serve MCP (stdio, or HTTP with /mcp, /v1/*, /healthz, /metrics).

    \b
    Example usage:

        strata-llm serve --transport http --host 127.0.0.1 --port 8101 --instances 2
    """
    from strata.llm.server import create_server

    configure_logging(log_level)
    settings = _settings(model, threads=threads, instances=instances, max_queue=max_queue, n_ctx=n_ctx)
    options = serve_options_from(transport, host, port, token)  # type: ignore[arg-type]
    options.check()
    metrics = Metrics()
    server = create_server(ModelRegistry.from_settings(settings), metrics)
    serve(server, options, metrics)


@cli.command(name="models")
@report_errors
def models_cmd() -> None:
    """List configured models and the bundled models Strata can find in installed packages.

    \b
    Example usage:

        strata-llm models
    """
    settings = LlmSettings()
    for info in LlmService(ModelRegistry.from_settings(settings)).models():
        default = " (default)" if info.name == settings.default_model else ""
        click.echo(f"{info.name}{default}\t{info.engine}\tctx={info.context_window}\t{info.source}")
    for bundled in bundled_models().values():
        where = bundled.path()
        state = str(where) if where else f"not installed: {bundled.install}"
        click.echo(f"bundled {bundled.name}\t{bundled.kind}\t{bundled.license}\t{state}")


@cli.command(name="chat")
@click.argument("prompt")
@model_option
@threads_option
@click.option("--system", default=None, help="System message")
@click.option("--max-tokens", type=click.IntRange(1, 1_048_576), default=256, show_default=True)
@click.option("--temperature", type=click.FloatRange(0, 2), default=0.7, show_default=True)
@click.option("--json-schema", default=None, help="JSON Schema (inline JSON) the answer must satisfy")
@report_errors
def chat_cmd(
    prompt: str,
    model: str | None,
    threads: int | None,
    system: str | None,
    max_tokens: int,
    temperature: float,
    json_schema: str | None,
) -> None:
    """Ask one question and print the answer as it is generated.

    \b
    Example usage:

        strata-llm chat "Name three sorting algorithms" --max-tokens 64
        strata-llm chat "Name a fruit" --json-schema '{"type":"object","properties":{"fruit":{"type":"string"}}}'
    """
    configure_logging("warning")
    try:
        schema = json.loads(json_schema) if json_schema else None
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--json-schema") from exc
    registry = ModelRegistry.from_settings(_settings(model, threads=threads))
    messages = [ChatMessage(role="system", content=system)] if system else []
    messages.append(ChatMessage(role="user", content=prompt))
    params = GenerationParams(max_tokens=max_tokens, temperature=temperature, json_schema=schema)

    async def echo(delta: str) -> None:
        sys.stdout.write(delta)
        sys.stdout.flush()

    async def run() -> None:
        try:
            await LlmService(registry).chat(messages, params, on_delta=echo)
        finally:
            await registry.close()

    anyio.run(run)
    sys.stdout.write("\n")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
