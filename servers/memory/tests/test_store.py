"""The memory store on real engines: recall by meaning, scopes, filters, time, facts, graph, forget."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from strata.memory.embedder import MiniLMEmbedder
from strata.memory.errors import CardinalityError, EmbedderMismatchError, UnknownIdError
from strata.memory.settings import KIND_BOOST
from strata.memory.store import MemoryFilter, MemoryStore, NewMemory
from strata.memory.vectors import EdgeVectors, VectorPoint
from strata.shared.errors import InvalidRequestError

T0 = datetime(2024, 1, 1, tzinfo=UTC)
MAX = 8000


def ids(store: MemoryStore, query: str, **filters: object) -> list[str]:
    return [h.id for h in store.recall(query, 5, MemoryFilter(**filters), 4000).hits]  # type: ignore[arg-type]


def test_recall_finds_a_paraphrase_by_meaning(notes: list[NewMemory], store: MemoryStore) -> None:
    store.remember(notes, max_chars=MAX)
    hits = store.recall("how do users sign in?", 3, MemoryFilter(), 4000).hits
    assert hits[0].id == "mem_1"
    # No word of the query is in the memory: the embedding finds it, and the keywords through the synonyms of
    # "sign in" ("authentication"; without them, keyword_rank is None: the next test).
    assert hits[0].dense_rank == 1 and hits[0].keyword_rank == 1
    assert hits[0].about == ["app.auth.ldap.ldap_authenticate"] and hits[0].kind == "decision"


def test_synonyms_of_software_work_words_find_what_the_embedding_misses(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    """The paraphrase that issue 31 names: MiniLM ranks the password note nearer to "sign-in" than the decision
    about logins; the keyword channel with the question's synonyms (login, decided, ...) finds the decision."""
    memories = [
        NewMemory("We decided to retire the LDAP bind helper and move every login to the new SSO module."),
        NewMemory("The staging database password rotates every Monday."),
    ]
    # The lever alone (no day in the indexed text, which moves the embedding too), then the defaults.
    for expansion, dated, expected in ((False, False, "mem_2"), (True, False, "mem_1"), (True, True, "mem_1")):
        path = tmp_path / f"expansion-{expansion}-{dated}"
        vectors = EdgeVectors(path / "vectors", embedder.dim)
        store = MemoryStore(path, embedder, vectors, query_expansion=expansion, index_dates=dated)
        try:
            store.remember(memories, max_chars=MAX)
            for question in ("what did we choose for user sign-in?", "how do users log in?"):
                [hit] = store.recall(question, 1, MemoryFilter(), 4000).hits
                assert hit.id == expected, (expansion, dated, question)
                assert (hit.keyword_rank == 1) is expansion
        finally:
            store.close()


def test_recall_uses_keywords_too(notes: list[NewMemory], store: MemoryStore) -> None:
    store.remember(notes, max_chars=MAX)
    hit = store.recall("PDF renderer", 1, MemoryFilter(), 4000).hits[0]
    assert hit.id == "mem_4" and hit.keyword_rank == 1 and hit.dense_rank == 1


def test_scopes_isolate(notes: list[NewMemory], store: MemoryStore) -> None:
    store.remember(notes, max_chars=MAX)
    store.remember(
        [NewMemory("The deploy pipeline runs every Tuesday after the release review", scope="project:billing")],
        max_chars=MAX,
    )
    assert set(ids(store, "when do we deploy?", scopes=("project:billing",))) == {"mem_4", "mem_5"}
    assert "mem_2" not in ids(store, "when do we deploy?", scopes=("project:billing",))
    assert set(ids(store, "tabs or spaces", scopes=("user:alice",))) == {"mem_3"}
    assert ids(store, "when do we deploy?", scopes=("project:strata",))[0] == "mem_2"


def test_the_same_text_is_stored_once_per_scope(notes: list[NewMemory], store: MemoryStore) -> None:
    first = store.remember(notes[:1], max_chars=MAX)[0]
    again = store.remember(
        [
            NewMemory(
                "we decided to migrate authentication from the legacy LDAP server  to the new SSO module",
                scope="project:strata",
            )
        ],
        max_chars=MAX,
    )[0]
    elsewhere = store.remember([NewMemory(notes[0].text, scope="project:other")], max_chars=MAX)[0]
    assert again.id == first.id and again.deduplicated
    assert elsewhere.id != first.id and not elsewhere.deduplicated
    assert store.stats().memories == 2


def test_filters_on_kind_tags_about_and_time(notes: list[NewMemory], store: MemoryStore) -> None:
    store.remember(notes, max_chars=MAX)
    store.remember([NewMemory("Old note on authentication", occurred_at=T0)], max_chars=MAX)
    assert ids(store, "authentication", kinds=("decision",)) == ["mem_1"]
    assert ids(store, "authentication", tags=("auth",)) == ["mem_1"]
    assert ids(store, "anything", about=("app.auth.ldap.ldap_authenticate",)) == ["mem_1"]
    assert ids(store, "authentication", until=T0 + timedelta(days=1)) == ["mem_5"]
    assert "mem_5" not in ids(store, "authentication", since=T0 + timedelta(days=1))


def test_recall_stays_within_max_tokens(store: MemoryStore) -> None:
    store.remember([NewMemory(f"deployment note {i}: " + "details " * 60) for i in range(6)], max_chars=MAX)
    result = store.recall("deployment note", 6, MemoryFilter(), 300)
    assert 1 <= len(result.hits) < 6 and result.left_out == 6 - len(result.hits)
    assert result.tokens <= 300


def test_bad_input_is_refused_and_stores_nothing(notes: list[NewMemory], store: MemoryStore) -> None:
    store.remember(notes[:1], max_chars=MAX)
    with pytest.raises(InvalidRequestError, match="memory text has 9001 characters; the limit is 8000"):
        store.remember([NewMemory("ok"), NewMemory("x" * 9001)], max_chars=MAX)
    with pytest.raises(InvalidRequestError, match="memory text is empty"):
        store.remember([NewMemory("  \n")], max_chars=MAX)
    with pytest.raises(InvalidRequestError, match="recall query is empty"):
        store.recall("   ", 5, MemoryFilter(), 1000)
    with pytest.raises(InvalidRequestError, match="invalid time range"):
        store.recall("x", 5, MemoryFilter(since=T0, until=T0), 1000)
    with pytest.raises(UnknownIdError, match="no memory 'mem_99'"):
        store.get_memory("mem_99")
    with pytest.raises(InvalidRequestError, match="not a known id form"):
        store.forget(["memory-1"], None, MemoryFilter(), dry_run=False, reason=None)
    stats = store.stats()
    assert stats.memories == 1 and stats.vector_points == 1  # the batch with one bad item stored nothing


def test_a_single_valued_fact_supersedes_and_keeps_history(store: MemoryStore) -> None:
    first = store.set_fact("Alice", "works_at", "Acme", scope="user", object_is_entity=True, valid_from=T0)
    later = T0 + timedelta(days=200)
    second = store.set_fact("alice", "works_at", "Initech", scope="user", object_is_entity=True, valid_from=later)
    assert second.status == "created" and second.superseded == [first.fact.id]

    def current(at: datetime | None) -> list[str]:
        found = store.get_facts("Alice", "works_at", as_of=at, history=False, scopes=(), limit=10)
        return [f.object for f in found.facts]

    assert current(T0 + timedelta(days=10)) == ["Acme"]
    assert current(None) == ["Initech"]
    assert current(T0 - timedelta(days=1)) == []
    history = store.get_facts("ALICE", None, as_of=None, history=True, scopes=(), limit=10).facts
    assert [(f.object, f.valid_to, f.superseded_by) for f in history] == [
        ("Acme", later, second.fact.id),
        ("Initech", None, None),
    ]
    # Setting the current value again changes nothing.
    assert store.set_fact("Alice", "works_at", "initech", scope="user", object_is_entity=True).status == "unchanged"
    # A value learnt late but true earlier fills the gap before the value that followed it.
    backfill = store.set_fact(
        "Alice", "works_at", "Globex", scope="user", object_is_entity=True, valid_from=T0 - timedelta(days=365)
    )
    assert backfill.fact.valid_to == T0 and backfill.superseded == []
    assert current(T0 - timedelta(days=1)) == ["Globex"] and current(T0 + timedelta(days=1)) == ["Acme"]
    # valid_to on the current value ends it, without a successor.
    end = datetime.now(UTC) - timedelta(days=1)
    assert (
        store.set_fact("Alice", "works_at", "Initech", scope="user", object_is_entity=True, valid_to=end).status
        == "ended"
    )
    assert current(None) == []


def test_multi_valued_facts_add_up_and_cardinality_is_fixed(store: MemoryStore) -> None:
    store.set_fact("Bob", "speaks", "English", scope="user", cardinality="many")
    store.set_fact("Bob", "speaks", "Dutch", scope="user")
    found = store.get_facts("Bob", "speaks", as_of=None, history=False, scopes=(), limit=10)
    assert sorted(f.object for f in found.facts) == ["Dutch", "English"]
    with pytest.raises(CardinalityError, match="predicate 'speaks' is multi-valued"):
        store.set_fact("Bob", "speaks", "French", scope="user", cardinality="one")
    with pytest.raises(InvalidRequestError, match=r"valid_to .* is not after valid_from"):
        store.set_fact("Bob", "age", "40", scope="user", valid_from=T0, valid_to=T0)
    with pytest.raises(UnknownIdError, match="no entity named 'Nobody'"):
        store.get_facts("Nobody", None, as_of=None, history=False, scopes=(), limit=10)
    assert store.get_facts("Bob", None, as_of=None, history=False, scopes=(), limit=1).left_out == 1


def test_neighbors_are_bounded_and_follow_time(store: MemoryStore) -> None:
    store.relate("api", "depends_on", "auth-service", scope="project:x", target_type="service")
    store.relate("auth-service", "depends_on", "ldap", scope="project:x")
    store.relate("ldap", "hosted_on", "box-1", scope="project:x")
    store.relate("web", "calls", "api", scope="project:x")
    one = store.neighbors("API", depth=1, relations=(), as_of=None, limit=10)
    assert {(n.entity, n.direction, n.relation) for n in one.neighbors} == {
        ("auth-service", "out", "depends_on"),
        ("web", "in", "calls"),
    }
    assert next(n for n in one.neighbors if n.entity == "auth-service").type == "service"
    three = store.neighbors("api", depth=3, relations=("depends_on", "hosted_on"), as_of=None, limit=10)
    assert [(n.entity, n.depth, n.via) for n in three.neighbors] == [
        ("auth-service", 1, "api"),
        ("ldap", 2, "auth-service"),
        ("box-1", 3, "ldap"),
    ]
    capped = store.neighbors("api", depth=3, relations=(), as_of=None, limit=2)
    assert len(capped.neighbors) == 2 and capped.left_out == 2
    assert store.neighbors("api", depth=1, relations=(), as_of=T0, limit=10).neighbors == []


def test_forget_cascades_and_is_audited(notes: list[NewMemory], store: MemoryStore, tmp_path: Path) -> None:
    store.remember(notes, max_chars=MAX)
    store.set_fact("deploys", "happen_on", "Tuesday", scope="project:strata", memory_id="mem_2")
    store.relate("Alice", "owns", "billing", scope="user")
    preview = store.forget(["mem_2"], None, MemoryFilter(), dry_run=True, reason=None)
    assert (preview.memories, preview.facts, preview.dry_run) == (1, 1, True)
    assert store.stats().memories == 4
    done = store.forget(["mem_2"], None, MemoryFilter(), dry_run=False, reason="user asked")
    assert done.ids == ["mem_2", "fact_1"]
    assert "mem_2" not in ids(store, "deploy pipeline Tuesday")
    assert store.get_facts("deploys", None, as_of=None, history=True, scopes=(), limit=5).facts == []
    whole_scope = MemoryFilter(scopes=("project:billing",))
    with pytest.raises(InvalidRequestError, match=r"matches all 1 memories in scope\(s\) project:billing"):
        store.forget([], None, whole_scope, dry_run=False, reason=None)
    assert store.forget([], None, whole_scope, dry_run=True, reason=None).needs_all_in_scope
    by_filter = store.forget([], None, whole_scope, dry_run=False, reason=None, all_in_scope=True)
    assert by_filter.memories == 1
    by_entity = store.forget([], "alice", MemoryFilter(), dry_run=False, reason=None)
    assert (by_entity.entities, by_entity.facts) == (1, 1)
    stats = store.stats()
    assert (stats.memories, stats.vector_points, stats.facts_current) == (2, 2, 0)
    with pytest.raises(InvalidRequestError, match="never forgets everything"):
        store.forget([], None, MemoryFilter(), dry_run=False, reason=None)
    with pytest.raises(UnknownIdError, match="no memory 'mem_2'"):
        store.forget(["mem_2"], None, MemoryFilter(), dry_run=False, reason=None)
    audit = sqlite3.connect(store.store_dir / "memory.db").execute("SELECT detail FROM audit WHERE action = 'forget'")
    details = [json.loads(row[0]) for row in audit]
    assert details[0]["reason"] == "user asked" and details[0]["ids"] == ["mem_2", "fact_1"]
    assert all("Tuesday" not in json.dumps(d) for d in details)  # ids and counts, never the forgotten text


def test_timeline_orders_memories_and_fact_changes(store: MemoryStore) -> None:
    store.remember(
        [NewMemory("kickoff meeting", occurred_at=T0), NewMemory("first release", occurred_at=T0 + timedelta(days=30))],
        max_chars=MAX,
    )
    store.set_fact("project", "status", "planning", scope="user", valid_from=T0 + timedelta(days=1))
    store.set_fact("project", "status", "shipping", scope="user", valid_from=T0 + timedelta(days=20))
    events = store.timeline(MemoryFilter(until=T0 + timedelta(days=60)), None, newest_first=False, limit=10).events
    assert [(e.event, e.summary) for e in events] == [
        ("memory", "kickoff meeting"),
        ("fact_started", "project status planning"),
        ("fact_ended", "project status planning"),
        ("fact_started", "project status shipping"),
        ("memory", "first release"),
    ]
    newest = store.timeline(MemoryFilter(), "project", newest_first=True, limit=1)
    assert newest.events[0].summary == "project status shipping" and newest.left_out == 2


def test_store_persists_across_reopen(notes: list[NewMemory], tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    path = tmp_path / "store"
    first = MemoryStore(path, embedder, EdgeVectors(path / "vectors", embedder.dim))
    first.remember(notes, max_chars=MAX)
    first.set_fact("Alice", "role", "maintainer", scope="user")
    first.close()
    again = MemoryStore(path, embedder, EdgeVectors(path / "vectors", embedder.dim))
    try:
        assert again.recall("how do users sign in?", 1, MemoryFilter(), 1000).hits[0].id == "mem_1"
        assert (
            again.get_facts("alice", "role", as_of=None, history=False, scopes=(), limit=5).facts[0].object
            == "maintainer"
        )
    finally:
        again.close()


class _FailingVectors(EdgeVectors):
    def upsert(self, points: object) -> None:  # type: ignore[override]
        raise OSError("disk full")


def test_a_failed_vector_write_is_replayed_from_the_outbox(
    notes: list[NewMemory], tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    path = tmp_path / "store"
    broken = MemoryStore(path, embedder, _FailingVectors(path / "vectors", embedder.dim))
    result = broken.remember(notes[:2], max_chars=MAX)
    assert [r.indexed for r in result] == [False, False]
    assert (broken.stats().memories, broken.stats().vector_points, broken.stats().pending_index) == (2, 0, 2)
    broken.close()
    healed = MemoryStore(path, embedder, EdgeVectors(path / "vectors", embedder.dim))
    try:
        assert (healed.stats().vector_points, healed.stats().pending_index) == (2, 0)
        assert healed.recall("how do users sign in?", 1, MemoryFilter(), 1000).hits[0].id == "mem_1"
    finally:
        healed.close()


def test_a_store_refuses_another_embedder(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    path = tmp_path / "store"
    MemoryStore(path, embedder, EdgeVectors(path / "vectors", embedder.dim)).close()

    class Other(MiniLMEmbedder):
        name = "another-model"

    with pytest.raises(EmbedderMismatchError, match="holds vectors from 'minilm-l6-v2-int8'"):
        MemoryStore(path, Other(), EdgeVectors(path / "vectors2", embedder.dim))


def test_context_helps_find_a_memory_but_is_not_returned(store: MemoryStore) -> None:
    store.remember(
        [
            NewMemory("Yes, Thursday at three works.", context="Can we move the budget review meeting?"),
            NewMemory("lunch was good"),
        ],
        max_chars=MAX,
    )
    hit = store.recall("budget review meeting", 1, MemoryFilter(), 1000).hits[0]
    assert hit.id == "mem_1" and hit.text == "Yes, Thursday at three works." and hit.keyword_rank == 1


def test_both_fusions_rank_a_hit_found_by_both_channels_first(
    notes: list[NewMemory], tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    for fusion in ("dbsf", "rrf"):
        path = tmp_path / fusion
        store = MemoryStore(path, embedder, EdgeVectors(path / "vectors", embedder.dim), fusion)  # type: ignore[arg-type]
        try:
            store.remember(notes, max_chars=MAX)
            hits = store.recall("the PDF renderer times out", 4, MemoryFilter(), 4000).hits
            assert hits[0].id == "mem_4" and (hits[0].dense_rank, hits[0].keyword_rank) == (1, 1)
            assert hits[0].score > hits[1].score
        finally:
            store.close()


PLACES = [
    "Maine",
    "Oregon",
    "Cornwall",
    "Brittany",
    "Nova Scotia",
    "Tasmania",
    "Galicia",
    "Jutland",
    "Hokkaido",
    "Cape Cod",
]
COLOURS = ["red", "white", "black", "yellow", "striped", "grey", "green", "blue", "pink", "orange"]


def _lighthouse_talk(store: MemoryStore, answer_at: datetime, **answer: object) -> tuple[str, str]:
    """100 remarks about beacon towers, days apart (close in meaning to a lighthouse question, so they fill
    the dense channel's candidates), then a question and an answer that shares neither words nor meaning
    with it. Returns the question's and the answer's ids."""
    fillers = [
        NewMemory(
            f"Carol: the beacon tower in {p} was painted {c}.",
            kind="episode",
            scope="chat",
            occurred_at=T0 - timedelta(days=1 + i * 10 + j),
        )
        for i, p in enumerate(PLACES)
        for j, c in enumerate(COLOURS)
    ]
    store.remember(fillers, max_chars=MAX)
    question, reply = store.remember(
        [
            NewMemory(
                "Alice: did you ever climb the old Portland lighthouse?", kind="episode", scope="chat", occurred_at=T0
            ),
            NewMemory("Bob: Yes, twice.", **{"kind": "episode", "scope": "chat", "occurred_at": answer_at, **answer}),  # type: ignore[arg-type]
        ],
        max_chars=MAX,
    )
    return question.id, reply.id


def test_a_hit_lifts_the_memory_stored_next_to_it(store: MemoryStore) -> None:
    question, answer = _lighthouse_talk(store, T0)
    hits = store.recall("climbing the Portland lighthouse", 5, MemoryFilter(scopes=("chat",)), 4000).hits
    assert hits[0].id == question
    lifted = next(h for h in hits if h.id == answer)
    # Neither channel found the answer: it is there because it was said right after the question.
    assert (lifted.dense_rank, lifted.keyword_rank, lifted.near) == (None, None, question)
    assert 0 < lifted.score < hits[0].score


def test_neighbours_respect_filters_scope_and_time(store: MemoryStore) -> None:
    question, answer = _lighthouse_talk(store, T0, kind="note")
    found = ids(store, "climbing the Portland lighthouse", scopes=("chat",), kinds=("episode",))
    assert question in found and answer not in found  # the filter applies to neighbours too
    assert answer in ids(store, "climbing the Portland lighthouse", scopes=("chat",))


def test_memories_hours_apart_are_not_neighbours(store: MemoryStore) -> None:
    question, answer = _lighthouse_talk(store, T0 + timedelta(hours=5))
    found = ids(store, "climbing the Portland lighthouse", scopes=("chat",))
    assert question in found and answer not in found


def test_without_neighbour_weight_only_the_channels_decide(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    store = MemoryStore(
        tmp_path / "s", embedder, EdgeVectors(tmp_path / "s" / "vectors", embedder.dim), neighbour_weight=0
    )
    try:
        question, answer = _lighthouse_talk(store, T0)
        found = ids(store, "climbing the Portland lighthouse", scopes=("chat",))
        assert question in found and answer not in found
    finally:
        store.close()


def test_forget_since_the_beginning_of_time_is_refused_without_all_in_scope(
    notes: list[NewMemory], store: MemoryStore
) -> None:
    """Issue 25: forget {"since": "0001-01-01"} deleted every memory in every scope."""
    store.remember(notes, max_chars=MAX)
    everything = MemoryFilter(since=datetime(1000, 1, 1, tzinfo=UTC))
    with pytest.raises(InvalidRequestError, match="matches all 4 memories in every scope"):
        store.forget([], None, everything, dry_run=False, reason=None)
    with pytest.raises(InvalidRequestError, match="all_in_scope needs scopes"):
        store.forget([], None, everything, dry_run=False, reason=None, all_in_scope=True)
    preview = store.forget([], None, everything, dry_run=True, reason=None)
    assert (preview.memories, preview.needs_all_in_scope) == (4, True)
    assert store.stats().memories == 4
    # A narrower filter needs no confirmation.
    assert store.forget([], None, MemoryFilter(kinds=("decision",)), dry_run=False, reason=None).memories == 1


def test_forget_selectors_intersect(notes: list[NewMemory], store: MemoryStore) -> None:
    store.remember(notes, max_chars=MAX)  # mem_1 and mem_4 are in other scopes than mem_2/mem_3
    scopes = {r.id: r.scope for r in (store.get_memory(f"mem_{i}") for i in range(1, 5))}
    one_scope = next(iter(scopes.values()))
    done = store.forget(list(scopes), None, MemoryFilter(scopes=(one_scope,)), dry_run=False, reason=None)
    assert done.ids == sorted(i for i, scope in scopes.items() if scope == one_scope)
    assert store.stats().memories == 4 - len(done.ids)
    with pytest.raises(InvalidRequestError, match="entity combines only with scopes"):
        store.forget(["mem_1"], "alice", MemoryFilter(), dry_run=True, reason=None)


def test_forget_an_entity_in_one_scope_keeps_it_elsewhere(store: MemoryStore) -> None:
    store.relate("Alice", "owns", "billing", scope="user")
    store.relate("Alice", "owns", "search", scope="project:strata")
    done = store.forget([], "alice", MemoryFilter(scopes=("user",)), dry_run=False, reason=None)
    assert (done.facts, done.entities) == (1, 0)
    assert [f.object for f in store.get_facts("alice", None, as_of=None, history=False, scopes=(), limit=5).facts] == [
        "search"
    ]


@pytest.mark.parametrize(
    "when",
    [
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(999, 12, 31, tzinfo=UTC),
        datetime(9000, 1, 1, tzinfo=UTC),
    ],
)
def test_times_outside_the_range_are_refused_and_store_nothing(store: MemoryStore, when: datetime) -> None:
    with pytest.raises(InvalidRequestError, match="out of range: times must be from 1000-01-01"):
        store.remember([NewMemory("far away", occurred_at=when)], max_chars=MAX)
    with pytest.raises(InvalidRequestError, match="out of range"):
        store.set_fact("x", "at", "y", scope="user", valid_from=when)
    assert (store.stats().memories, store.stats().facts_current + store.stats().facts_historic) == (0, 0)


def test_a_store_poisoned_by_an_old_version_still_opens(
    notes: list[NewMemory], tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    """A memory written with year 9999.99 (before times were checked) and left in the outbox: the store
    opened with 'year 10000 is out of range' and refused every later index write."""
    path = tmp_path / "store"
    first = MemoryStore(path, embedder, EdgeVectors(path / "vectors", embedder.dim))
    first.remember(notes[:1], max_chars=MAX)
    first.close()
    db = sqlite3.connect(path / "memory.db")
    db.execute(
        "INSERT INTO memories(text, kind, scope, tags, occurred_at, created_at, content_hash) "
        "VALUES ('end of time', 'note', 'user', '[]', 253402300800.0, 0, 'x')"
    )
    db.execute("INSERT INTO outbox(memory_id) VALUES (2)")
    db.commit()
    db.close()
    again = MemoryStore(path, embedder, EdgeVectors(path / "vectors", embedder.dim))
    try:
        assert again.get_memory("mem_2").occurred_at.year == 9999
        events = again.timeline(MemoryFilter(), None, newest_first=True, limit=5).events
        assert [e.id for e in events][:1] == ["mem_2"]
        stats = again.stats()
        assert (stats.memories, stats.pending_index, stats.vector_points) == (2, 0, 2)
        assert again.recall("end of time", 1, MemoryFilter(), 1000).hits[0].id == "mem_2"
    finally:
        again.close()


class _OneBadRecordVectors(EdgeVectors):
    """A vector engine that refuses one memory's point (a record it cannot take), and takes the rest."""

    bad_id = 2

    def upsert(self, points: Sequence[VectorPoint]) -> None:  # type: ignore[override]
        if any(p.id == self.bad_id for p in points):
            raise ValueError("cannot index this point")
        super().upsert(points)


def test_one_bad_record_is_skipped_and_reported_not_holding_back_the_rest(
    notes: list[NewMemory], tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    path = tmp_path / "store"
    store = MemoryStore(path, embedder, _OneBadRecordVectors(path / "vectors", embedder.dim))
    try:
        assert [r.indexed for r in store.remember(notes[:1], max_chars=MAX)] == [True]
        assert [r.indexed for r in store.remember(notes[1:2], max_chars=MAX)] == [False]  # mem_2 alone: pending
        assert [r.indexed for r in store.remember(notes[2:3], max_chars=MAX)] == [True]  # mem_3 goes in, mem_2 skipped
        stats = store.stats()
        assert (stats.memories, stats.vector_points, stats.pending_index, stats.unindexed) == (3, 2, 0, 1)
    finally:
        store.close()


@pytest.mark.parametrize(
    ("question", "windows"),
    [
        ("What painting did Melanie show to Caroline on October 13, 2023?", [(2023, 10, 13)]),
        ("What did Gina find for her store on 1 February, 2023?", [(2023, 2, 1)]),
        ("What did Mel paint in July 2023?", [(2023, 7, None)]),
        ("When did Melanie go camping in June?", [(None, 6, None)]),
        ("How many times has she been to the beach in 2023?", [(2023, None, None)]),
        ("Where may we deploy the May 2024 release?", [(2024, 5, None)]),  # "may" the verb is not a month
        ("What happened on February 30, 2023?", []),  # no such day
    ],
)
def test_the_dates_a_question_names(question: str, windows: list[tuple[int | None, ...]]) -> None:
    from strata.memory.dates import date_windows

    assert [(w.year, w.month, w.day) for w in date_windows(question)] == windows


def test_a_question_naming_a_date_prefers_the_memories_of_that_date(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    memories = [
        NewMemory("Melanie showed Caroline a painting of a sunset", occurred_at=datetime(2023, 10, 13, tzinfo=UTC)),
        NewMemory("Melanie showed Caroline the lake she painted", occurred_at=datetime(2023, 11, 2, tzinfo=UTC)),
    ]
    question = "What painting did Melanie show Caroline on November 2, 2023?"
    # The words favour the first; the date the second: by the boost alone, by the day in the indexed text alone.
    for boost, dated, expected in ((0.0, False, "mem_1"), (0.5, False, "mem_2"), (0.0, True, "mem_2")):
        path = tmp_path / f"boost-{boost}-{dated}"
        vectors = EdgeVectors(path / "vectors", embedder.dim)
        store = MemoryStore(path, embedder, vectors, date_boost=boost, index_dates=dated)
        try:
            store.remember(memories, max_chars=MAX)
            assert store.recall(question, 2, MemoryFilter(), 4000).hits[0].id == expected, (boost, dated)
        finally:
            store.close()


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("What did we decide about the LDAP helper?", {"decision"}),
        ("Which option did we pick for logins?", {"decision"}),
        ("What does Sam prefer for code review?", {"preference"}),
        ("How did the database migration go?", {"outcome"}),
        ("Where is the staging database?", set()),
    ],
)
def test_the_kind_of_memory_a_question_asks_for(question: str, kinds: set[str]) -> None:
    from strata.memory.kinds import asked_kinds

    assert asked_kinds(question) == kinds


def test_a_question_asking_what_was_decided_prefers_the_decision_but_not_over_a_clearly_better_match(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    memories = [
        NewMemory("We talked about retiring the LDAP bind helper and moving logins to SSO.", kind="note"),
        NewMemory("Retire the LDAP bind helper: every login moves to the new SSO module.", kind="decision"),
        NewMemory("The staging database password rotates every Monday.", kind="note"),
    ]
    for boost, expected in ((0.0, "mem_1"), (KIND_BOOST, "mem_2")):  # the words favour the note; the cue the decision
        path = tmp_path / f"boost-{boost}"
        store = MemoryStore(path, embedder, EdgeVectors(path / "vectors", embedder.dim), kind_boost=boost)
        try:
            store.remember(memories, max_chars=MAX)
            for question in ("What did we decide about the LDAP helper?", "what did we choose for user sign-in?"):
                assert store.recall(question, 3, MemoryFilter(), 4000).hits[0].id == expected, (boost, question)
            password = store.recall("What did we decide about the staging password?", 3, MemoryFilter(), 4000)
            assert password.hits[0].id == "mem_3", boost  # the decision is about something else
        finally:
            store.close()


@pytest.mark.parametrize(
    ("question", "window"),
    [
        ("What did we do yesterday?", ("2026-12-05", "2026-12-05")),
        ("What did we decide last week?", ("2026-11-23", "2026-11-29")),  # Monday to Sunday before this week
        ("What changed this week?", ("2026-11-30", "2026-12-06")),
        ("What went out in the past week?", ("2026-11-29", "2026-12-06")),
        ("The deploy last Friday", ("2026-12-04", "2026-12-04")),
        ("What broke three days ago?", ("2026-12-02", "2026-12-04")),
        ("What did we pick two weeks ago?", ("2026-11-19", "2026-11-25")),
        ("What shipped last month?", (2026, 11)),
        ("What did we decide last May?", (2026, 5)),
        ("What did we plan last December?", (2025, 12)),  # the last December before this one
        ("What happened last year?", (2025, None)),
        ("The last may be the best", None),  # the verb
    ],
)
def test_the_dates_a_question_names_relative_to_now(question: str, window: tuple[object, object] | None) -> None:
    from strata.memory.dates import DateWindow, DaySpan, date_windows

    found = date_windows(question, datetime(2026, 12, 6, 15, tzinfo=UTC))  # a Sunday
    assert date_windows(question) == []  # without now, no relative date is read
    if window is None:
        assert found == []
    elif isinstance(window[0], str):
        assert found == [DaySpan(date.fromisoformat(window[0]), date.fromisoformat(str(window[1])))]
    else:
        assert found == [DateWindow(*window)]  # type: ignore[arg-type]


def test_a_question_about_yesterday_prefers_what_happened_yesterday(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    now = datetime.now(UTC)
    memories = [
        NewMemory("We decided the billing service keeps its own Postgres.", kind="decision",
                  occurred_at=now - timedelta(days=90)),
        NewMemory("We decided billing moves to the shared database cluster.", kind="decision",
                  occurred_at=now - timedelta(days=1)),
        NewMemory("The staging password rotates every Monday.", occurred_at=now - timedelta(days=30)),
        NewMemory("Sam prefers small pull requests.", occurred_at=now - timedelta(days=20)),
        NewMemory("The CI runners moved to ARM machines.", occurred_at=now - timedelta(days=10)),
    ]  # fmt: skip
    path = tmp_path / "store"
    store = MemoryStore(path, embedder, EdgeVectors(path / "vectors", embedder.dim))
    try:
        store.remember(memories, max_chars=MAX)
        for when, expected in (("", "mem_1"), (" yesterday", "mem_2"), (" three months ago", "mem_1")):
            hits = store.recall(f"what did we decide about billing{when}?", 3, MemoryFilter(), 4000).hits
            assert hits[0].id == expected, when  # the words favour the first; "yesterday" the second
    finally:
        store.close()
