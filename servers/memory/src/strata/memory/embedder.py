"""The memory server's embedder choice; the embedders themselves live in strata.shared.embedding."""

from __future__ import annotations

from typing import TYPE_CHECKING

from strata.shared.embedding import Embedder, MiniLMEmbedder, OpenAIEmbedder, Vectors

if TYPE_CHECKING:
    from strata.memory.settings import MemorySettings

__all__ = ["Embedder", "MiniLMEmbedder", "OpenAIEmbedder", "Vectors", "create_embedder"]


def create_embedder(settings: MemorySettings) -> Embedder:
    """The embedder the settings name; the OpenAI-compatible one needs ``embed_url``."""
    if settings.embedder == "openai":
        from strata.shared.errors import ConfigError

        if not settings.embed_url:
            raise ConfigError("embedder 'openai' needs embed_url - set STRATA_MEMORY_EMBED_URL (e.g. http://host/v1)")
        return OpenAIEmbedder(settings.embed_url, settings.embed_model, settings.embed_api_key)
    return MiniLMEmbedder(settings.embed_threads)
