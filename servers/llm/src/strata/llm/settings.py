"""Settings of the llm server: ``[llm]`` in strata.toml and ``STRATA_LLM_*`` environment variables.

Example ``strata.toml``::

    [llm]
    default_model = "smollm2-135m-instruct"
    threads = 1
    max_queue = 16

    [llm.models.qwen]
    source = "~/models/qwen2.5-1.5b-instruct-q4_k_m.gguf"
    n_ctx = 8192

    [llm.remotes.vllm]
    base_url = "http://gpu-box:8000/v1"
    api_key = "..."
    model = "Qwen/Qwen2.5-72B-Instruct"
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from strata.shared.settings import ServerSettings

__all__ = ["DEFAULT_MODEL", "LlmSettings", "LocalModelConfig", "RemoteConfig"]

DEFAULT_MODEL = "smollm2-135m-instruct"


class LocalModelConfig(BaseModel):
    """A GGUF model run in-process by llama-cpp-python."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(description="GGUF path, file in models_dir, or bundled model name")
    n_ctx: int | None = Field(default=None, ge=128, le=1_048_576, description="Context window (tokens)")
    threads: int | None = Field(default=None, ge=1, le=256)
    instances: int | None = Field(default=None, ge=1, le=64, description="Parallel model instances")
    embedding: bool = Field(default=False, description="Load for embeddings (mean pooled) instead of chat")
    chat_template: str | None = Field(default=None, description="Jinja chat template overriding the GGUF's")


class RemoteConfig(BaseModel):
    """An OpenAI-compatible engine (vLLM, Ollama, llama-server, a cloud API) reached over HTTP."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(description="Base URL including /v1, e.g. http://127.0.0.1:11434/v1")
    model: str = Field(description="Model id the upstream expects")
    api_key: str | None = None
    timeout_s: float = Field(default=120.0, gt=0, le=3600)
    embedding: bool = Field(default=False, description="Upstream serves /embeddings for this model")
    max_concurrency: int = Field(default=8, ge=1, le=1024)


class LlmSettings(ServerSettings):
    """Everything the llm server reads from config; flags override it in ``main()``."""

    section = "llm"
    model_config = ServerSettings.model_config | {"env_prefix": "STRATA_LLM_"}

    default_model: str = DEFAULT_MODEL
    models: dict[str, LocalModelConfig] = Field(
        default_factory=lambda: {DEFAULT_MODEL: LocalModelConfig(source=DEFAULT_MODEL)}
    )
    remotes: dict[str, RemoteConfig] = Field(default_factory=dict)
    models_dir: Path | None = None
    n_ctx: int = Field(default=2048, ge=128, le=1_048_576)
    threads: int = Field(default=1, ge=1, le=256, description="Threads per model instance")
    instances: int = Field(default=1, ge=1, le=64)
    max_queue: int = Field(default=16, ge=0, le=10_000, description="Requests waiting per model before 'busy'")
    max_tokens_cap: int = Field(default=4096, ge=1, le=1_048_576, description="Largest max_tokens accepted")
    port: int = Field(default=8101, ge=0, le=65535)
