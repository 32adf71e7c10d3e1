"""strata-llm: local GGUF models and OpenAI-compatible engines behind MCP tools and a /v1 API."""

from strata.llm.engine import Engine
from strata.llm.errors import ContextOverflowError, InvalidSchemaError, UnsupportedError
from strata.llm.local import LocalEngine
from strata.llm.registry import ModelRegistry
from strata.llm.remote import RemoteEngine
from strata.llm.service import LlmService
from strata.llm.settings import LlmSettings, LocalModelConfig, RemoteConfig
from strata.llm.types import ChatMessage, EmbedResult, GenerationParams, GenerationResult

__all__ = [
    "ChatMessage",
    "ContextOverflowError",
    "EmbedResult",
    "Engine",
    "GenerationParams",
    "GenerationResult",
    "InvalidSchemaError",
    "LlmService",
    "LlmSettings",
    "LocalEngine",
    "LocalModelConfig",
    "ModelRegistry",
    "RemoteConfig",
    "RemoteEngine",
    "UnsupportedError",
]
