"""The set of models a server offers, built from settings: local GGUF models and remote engines."""

from __future__ import annotations

from pathlib import Path

from strata.llm.engine import Engine
from strata.llm.errors import ModelNotFoundError
from strata.llm.local import LocalEngine
from strata.llm.remote import RemoteEngine
from strata.llm.settings import LlmSettings
from strata.llm.tracing import TracedEngine
from strata.shared.errors import ConfigError
from strata.shared.models import locate_model

__all__ = ["ModelRegistry"]


class ModelRegistry:
    """Engines by name, with one default. Models load lazily except the default, which loads at start."""

    def __init__(self, engines: dict[str, Engine], default: str) -> None:
        if default not in engines:
            raise ConfigError(
                f"default_model '{default}' is not configured; known models: {', '.join(sorted(engines))}"
            )
        # Every call through any door (MCP, /v1, CLI) is a GenAI span; the wrapper passes everything else through.
        self.engines: dict[str, Engine] = {name: TracedEngine(engine) for name, engine in engines.items()}
        self.default = default

    @classmethod
    def from_settings(cls, settings: LlmSettings) -> ModelRegistry:
        """Locate every configured model file now, so a bad path fails at start, not at first use."""
        engines: dict[str, Engine] = {}
        for name, cfg in settings.models.items():
            path = locate_model(cfg.source, models_dir=settings.models_dir)
            engines[name] = LocalEngine(
                name,
                path,
                n_ctx=cfg.n_ctx or settings.n_ctx,
                threads=cfg.threads or settings.threads,
                instances=cfg.instances or settings.instances,
                max_queue=settings.max_queue,
                max_tokens_cap=settings.max_tokens_cap,
                embedding=cfg.embedding,
                chat_template=cfg.chat_template,
            )
        for name, remote in settings.remotes.items():
            if name in engines:
                raise ConfigError(f"model name '{name}' is used by both [llm.models] and [llm.remotes]")
            engines[name] = RemoteEngine(name, remote, max_queue=settings.max_queue)
        return cls(engines, settings.default_model)

    def get(self, name: str | None) -> Engine:
        """The engine called ``name`` (the default when None)."""
        engine = self.engines.get(name or self.default)
        if engine is None:
            raise ModelNotFoundError(f"no model '{name}' on this server; available: {', '.join(sorted(self.engines))}")
        return engine

    async def start(self) -> None:
        await self.engines[self.default].start()

    async def close(self) -> None:
        for engine in self.engines.values():
            await engine.close()


def model_name_for_path(path: Path) -> str:
    """The name a model given as ``--model PATH`` is served under: its file name without .gguf."""
    return path.name.removesuffix(".gguf")
