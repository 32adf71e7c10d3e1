"""strata-memory: persistent agent memory (hybrid recall, facts with valid time, an entity graph) over MCP."""

from strata.memory.embedder import Embedder, MiniLMEmbedder, OpenAIEmbedder
from strata.memory.errors import CardinalityError, EmbedderMismatchError, StoreUnavailableError, UnknownIdError
from strata.memory.settings import MemorySettings
from strata.memory.sharing import Memory, open_store
from strata.memory.store import MemoryFilter, MemoryStore, NewMemory

__all__ = [
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
]
