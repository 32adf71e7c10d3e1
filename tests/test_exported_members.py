"""Each package's public surface is pinned: a name leaves or joins it only on purpose."""

import importlib

import pytest

SURFACES = {
    "strata.shared": {
        "BundledModel",
        "BusyError",
        "ConfigError",
        "InvalidRequestError",
        "Metrics",
        "ModelNotFoundError",
        "NotFoundError",
        "RunnerSettings",
        "ServeOptions",
        "ServerSettings",
        "StrataError",
        "UnauthorizedError",
        "UpstreamError",
        "build_http_app",
        "bundled_models",
        "configure_logging",
        "create_mcp",
        "get_logger",
        "locate_model",
        "redact",
        "serve",
        "user_dir",
    },
    "strata.llm": {
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
    },
    "strata.memory": {
        "CardinalityError",
        "Embedder",
        "EmbedderMismatchError",
        "Memory",
        "MemoryFilter",
        "MemorySettings",
        "MemoryStore",
        "MiniLMEmbedder",
        "NewMemory",
        "OpenAIEmbedder",
        "StoreUnavailableError",
        "UnknownIdError",
        "open_store",
    },
    "strata.router": {
        "AnthropicProvider",
        "BudgetExceededError",
        "ChatRequest",
        "Completion",
        "Compressed",
        "ContextOverflowError",
        "OpenAIProvider",
        "Provider",
        "ProviderFailure",
        "RawStore",
        "RequestContext",
        "ResponseCache",
        "Routed",
        "Router",
        "RouterSettings",
        "UpstreamTimeoutError",
        "compress",
        "detect",
    },
    "strata.codegraph": {
        "AmbiguousSymbolError",
        "CodeGraph",
        "IndexSummary",
        "NotIndexedError",
        "PathOutsideRepoError",
        "PyProject",
        "SymbolNotFoundError",
        "analyze_sources",
        "index_repository",
    },
}


@pytest.mark.parametrize("package", sorted(SURFACES))
def test_exported_members(package: str) -> None:
    module = importlib.import_module(package)
    assert set(module.__all__) == SURFACES[package]
    for name in module.__all__:
        assert getattr(module, name) is not None
