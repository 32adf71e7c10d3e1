"""Settings of the memory server: ``[memory]`` in strata.toml and ``STRATA_MEMORY_*`` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from strata.shared.settings import ServerSettings, user_dir

__all__ = ["DATE_BOOST", "KEYWORD_WEIGHT", "KIND_BOOST", "NEIGHBOUR_WEIGHT", "MemorySettings"]


# The keyword channel's weight in the fusion, and the share of a hit's score lent to the memories stored
# just before and after it in the same scope (the turns around a matching turn, the steps around a
# matching step). Measured on LoCoMo (bench/bench_memory.py, evidence-turn R@10): 1.0 / 0 gave 0.680,
# 1.5 / 0 0.697, 1.5 / 0.5 0.714; each is a setting.
KEYWORD_WEIGHT = 1.5
NEIGHBOUR_WEIGHT = 0.5
# How much more a memory from a date the question names scores (x(1 + DATE_BOOST)); 0 turns it off. Chosen on
# LoCoMo (bench_memory.py; 217 of its 1536 questions name a date), turn R@10 / session R@10: 0 -> 0.713 / 0.921,
# 0.5 -> 0.721 / 0.932, 1 -> 0.725 / 0.934, 2 -> 0.727 / 0.933, 4 -> 0.729 / 0.932.
DATE_BOOST = 1.0
# How much more a memory of the kind a question asks for scores ("what did we decide" -> decision; kinds.py).
# LoCoMo cannot measure it (all its memories are one kind); chosen so that a cue lifts a memory of that kind past
# a slightly closer one of another kind, not past a clearly better match (tests/test_store.py; 0.5 did).
KIND_BOOST = 0.3


class MemorySettings(ServerSettings):
    """Where memories live, which vector engine and which embedder; flags override."""

    section = "memory"
    model_config = ServerSettings.model_config | {"env_prefix": "STRATA_MEMORY_"}

    store_dir: Path | None = Field(default=None, description="default: <STRATA_HOME>/memory")
    qdrant_url: str | None = Field(default=None, description="a Qdrant server; unset: the embedded engine")
    qdrant_api_key: str | None = None
    collection: str = Field(default="strata_memories", pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    embedder: Literal["minilm", "openai"] = "minilm"
    embed_url: str | None = Field(default=None, description="base URL of an OpenAI-compatible /v1/embeddings")
    embed_model: str = "text-embedding-3-small"
    embed_api_key: str | None = None
    embed_threads: int = Field(default=1, ge=1, le=64)
    fusion: Literal["dbsf", "rrf"] = Field(default="dbsf", description="how recall fuses meaning and keywords")
    keyword_weight: float = Field(
        default=KEYWORD_WEIGHT, ge=0, le=10, description="keyword channel's weight in the fusion"
    )
    neighbour_weight: float = Field(
        default=NEIGHBOUR_WEIGHT,
        ge=0,
        le=2,
        description="share of a hit's score lent to the memories stored next to it",
    )
    date_boost: float = Field(
        default=DATE_BOOST, ge=0, le=10, description="score multiplier - 1 for memories from a date the question names"
    )
    kind_boost: float = Field(
        default=KIND_BOOST, ge=0, le=10, description="score multiplier - 1 for memories of the kind a question asks for"
    )
    index_dates: bool = Field(
        default=True,
        description="index each memory with the day it happened (applies to memories indexed after a change)",
    )
    query_expansion: bool = Field(
        default=True, description="add synonyms of software-work words (data/synonyms.toml) to recall's keyword query"
    )
    max_text_chars: int = Field(default=8000, ge=100, le=100_000)
    default_scope: str = "user"

    def resolved_store_dir(self) -> Path:
        return self.store_dir if self.store_dir is not None else user_dir() / "memory"
