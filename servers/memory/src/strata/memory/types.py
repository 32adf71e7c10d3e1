"""The memory server's data shapes: what tools take and return (pydantic, so clients get schemas)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

__all__ = [
    "DATE_RANGE",
    "EARLIEST",
    "LATEST",
    "AnchorCheck",
    "AnchorMark",
    "AnchoredSymbols",
    "Cardinality",
    "EntityRef",
    "Fact",
    "FactList",
    "ForgetResult",
    "MemoryRecord",
    "Neighbor",
    "Neighborhood",
    "RecallHit",
    "RecallResult",
    "RememberResult",
    "SetFactResult",
    "Stats",
    "Timeline",
    "TimelineEvent",
    "as_utc",
]

# `user`, `project`, `session` or `agent`, optionally narrowed by an id: "project:strata", "session:42".
SCOPE_PATTERN = r"^(user|project|session|agent)(:[\w.@/+\-]{1,128})?$"
KIND_PATTERN = r"^[a-z][a-z0-9_\-]{0,31}$"
TAG_PATTERN = r"^[\w.:/@+\-]{1,64}$"
Cardinality = Literal["one", "many"]


# Times are stored as float seconds: near year 1 or 9999 a float cannot hold microseconds, and an offset
# can push a valid date past the calendar ("9999-12-31T23:59:59.999999Z" read back as year 10000 and made
# the store unopenable). Every time taken in must lie in this range.
EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
DATE_RANGE = "from 1000-01-01 to before 9000-01-01 (UTC)"


def as_utc(value: datetime) -> datetime:
    """A naive datetime is taken as UTC; an aware one is converted to UTC; either must be in range."""
    try:
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):
        utc = None  # the offset moves it past year 1 or 9999
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError(f"{value.isoformat()} is out of range: times must be {DATE_RANGE}")
    return utc


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
Scope = Annotated[
    str, Field(pattern=SCOPE_PATTERN, description="user | project | session | agent, e.g. 'project:strata'")
]
Kind = Annotated[str, Field(pattern=KIND_PATTERN, description="note, episode, decision, outcome, preference, ...")]
Tag = Annotated[str, Field(pattern=TAG_PATTERN)]
SymbolId = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^\S+$", description="codegraph symbol id")]


class _MemoryFields(BaseModel):
    id: str
    text: str
    kind: str
    scope: str
    tags: list[str] = Field(default_factory=list)
    about: list[str] = Field(default_factory=list)
    needs_review: list[str] = Field(
        default_factory=list, description="why this may be out of date: code it is anchored to changed or went away"
    )
    source: str | None = None
    occurred_at: datetime


class MemoryRecord(_MemoryFields):
    created_at: datetime


class RememberResult(BaseModel):
    id: str
    deduplicated: bool = Field(description="the same text was already stored in this scope; its id is returned")
    indexed: bool = Field(default=True, description="false: stored, but searchable only once the vector engine is back")


class AnchorMark(BaseModel):
    id: str
    reasons: list[str]


class AnchorCheck(BaseModel):
    symbols: int = Field(description="symbols compared")
    anchors: int = Field(description="memory anchors to those symbols")
    marked: list[AnchorMark] = Field(description="memories marked needs_review, with why")
    cleared: int = Field(description="marks removed: the code is back to what the memory was written against")


class AnchoredSymbols(BaseModel):
    symbols: list[str]
    memories: int = Field(description="anchors in all (a memory anchored to two symbols counts twice)")
    left_out: int


class RecallHit(_MemoryFields):
    score: float = Field(description="fused score of the meaning and keyword channels")
    dense_rank: int | None = Field(default=None, description="rank by meaning (embedding), if found there")
    keyword_rank: int | None = Field(default=None, description="rank by BM25 keywords, if found there")
    near: str | None = Field(
        default=None, description="found by neither channel: stored next to this hit (same scope), which lifted it"
    )


class RecallResult(BaseModel):
    hits: list[RecallHit]
    left_out: int = Field(description="hits dropped to stay within max_tokens")
    tokens: int = Field(description="estimated tokens of the hits returned")


class EntityRef(BaseModel):
    name: str
    type: str | None = None


class Fact(BaseModel):
    id: str
    subject: str
    predicate: str
    object: str
    object_is_entity: bool
    scope: str
    valid_from: datetime
    valid_to: datetime | None = Field(description="None: still valid")
    recorded_at: datetime
    superseded_by: str | None = None
    source: str | None = None
    memory_id: str | None = Field(default=None, description="the memory this fact was derived from")


class SetFactResult(BaseModel):
    fact: Fact
    status: Literal["created", "unchanged", "ended"]
    superseded: list[str] = Field(default_factory=list, description="facts this one ended or replaced")


class FactList(BaseModel):
    facts: list[Fact]
    left_out: int


class Neighbor(BaseModel):
    entity: str
    type: str | None = None
    relation: str
    direction: Literal["out", "in"]
    via: str = Field(description="the entity this one was reached from")
    depth: int
    fact_id: str


class Neighborhood(BaseModel):
    entity: EntityRef
    neighbors: list[Neighbor]
    left_out: int


class ForgetResult(BaseModel):
    dry_run: bool
    memories: int
    facts: int
    entities: int
    ids: list[str] = Field(description="ids removed (or that would be), at most 200")
    needs_all_in_scope: bool = Field(
        default=False, description="the filter matches a whole scope or very many memories: confirm with all_in_scope"
    )


class TimelineEvent(BaseModel):
    at: datetime
    event: Literal["memory", "fact_started", "fact_ended"]
    id: str
    scope: str
    summary: str


class Timeline(BaseModel):
    events: list[TimelineEvent]
    left_out: int


class Stats(BaseModel):
    memories: int
    by_kind: dict[str, int]
    by_scope: dict[str, int]
    facts_current: int
    facts_historic: int
    entities: int
    relations: int
    vector_points: int
    pending_index: int = Field(description="writes stored but not yet in the vector index (retried)")
    unindexed: int = Field(
        default=0, description="memories stored but skipped by the vector index (a bad record; see the log)"
    )
    vector_engine: str
    embedder: str
    store_dir: str
    disk_bytes: int
