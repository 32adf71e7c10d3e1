"""One store, several processes: the owner answers the others, a successor takes over, kill -9 loses nothing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from strata.memory.settings import MemorySettings
from strata.memory.sharing import Memory
from strata.memory.store import MemoryFilter, NewMemory

STRATA_MEMORY = str(Path(sys.executable).parent / "strata-memory")
MAX = 8000

# A child that owns the store and stores memories one call at a time, printing each id once the
# call has returned (the moment a client would see the answer).
BURST = """
import sys
from strata.memory.sharing import Memory
from strata.memory.settings import MemorySettings
from strata.memory.store import NewMemory
memory = Memory(MemorySettings(store_dir=sys.argv[1]))
print("ready", flush=True)
for i in range(100000):
    result = memory.remember([NewMemory(f"burst {sys.argv[2]} memory {i} about topic {i % 17}")], max_chars=8000)
    print(result[0].id, flush=True)
"""

# A child that owns the store until its stdin closes.
OWNER = """
import sys
from strata.memory.sharing import Memory
from strata.memory.settings import MemorySettings
memory = Memory(MemorySettings(store_dir=sys.argv[1]))
print("owner" if memory.owner else "forwarder", flush=True)
sys.stdin.read()
memory.close()
"""


def child_env(tmp_path: Path) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")} | {"STRATA_HOME": str(tmp_path)}


def test_a_second_process_is_served_by_the_owner(tmp_path: Path) -> None:
    store = tmp_path / "store"
    owner = Memory(MemorySettings(store_dir=store))
    try:
        assert owner.owner
        owner.remember([NewMemory("The staging database is Postgres 16")], max_chars=MAX)
        run = subprocess.run(
            [STRATA_MEMORY, "recall", "which database does staging use?", "--store", str(store)],
            capture_output=True, text=True, timeout=120, env=child_env(tmp_path), check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["hits"][0]["text"] == "The staging database is Postgres 16"
        added = subprocess.run(
            [STRATA_MEMORY, "remember", "Deploys freeze on Fridays", "--store", str(store)],
            capture_output=True, text=True, timeout=120, env=child_env(tmp_path), check=False,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert "already accessed" not in added.stderr and "lock" not in added.stderr.lower()
        assert owner.stats().memories == 2  # written through the owner, visible to it at once
    finally:
        owner.close()


def test_a_forwarder_takes_the_store_over_when_the_owner_exits(tmp_path: Path) -> None:
    store = tmp_path / "store"
    child = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(store)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=child_env(tmp_path),
    )  # fmt: skip
    assert child.stdout is not None and child.stdout.readline().strip() == "owner"
    forwarder = Memory(MemorySettings(store_dir=store))
    try:
        assert not forwarder.owner
        first = forwarder.remember([NewMemory("written through the owner")], max_chars=MAX)[0]
        child.kill()  # an abrupt end: no close, no goodbye
        child.wait(timeout=30)
        second = forwarder.remember([NewMemory("written after the owner died")], max_chars=MAX)[0]
        assert forwarder.owner
        assert {h.id for h in forwarder.recall("written", 5, MemoryFilter(), 1000).hits} == {first.id, second.id}
    finally:
        forwarder.close()
        child.communicate(timeout=30)  # closes the pipes


@pytest.mark.slow
def test_kill_9_during_a_burst_loses_no_returned_memory(tmp_path: Path) -> None:
    store = tmp_path / "store"
    acknowledged: set[str] = set()
    rng = random.Random(7)
    for round_ in range(4):
        child = subprocess.Popen(
            [sys.executable, "-c", BURST, str(store), str(round_)],
            stdout=subprocess.PIPE, text=True, env=child_env(tmp_path),
        )  # fmt: skip
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.3, 1.2))
        os.kill(child.pid, signal.SIGKILL)
        out, _ = child.communicate(timeout=30)
        acknowledged.update(out.split())
        memory = Memory(MemorySettings(store_dir=store))
        try:
            stats = memory.stats()
            found = {memory.get_memory(memory_id).id for memory_id in acknowledged}
            assert found == acknowledged
            # Every stored memory is searchable again: the outbox was replayed on open.
            assert stats.vector_points == stats.memories >= len(acknowledged) > 0
            assert stats.pending_index == 0
        finally:
            memory.close()
    assert len(acknowledged) > 20


def test_every_operation_is_forwarded_with_its_types_and_errors(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from strata.memory.errors import UnknownIdError

    owner = Memory(MemorySettings(store_dir=tmp_path / "store"))
    # flock belongs to an open file, so a second Memory in this process is refused the lock like a
    # second process would be, and forwards.
    forwarder = Memory(MemorySettings(store_dir=tmp_path / "store"))
    try:
        assert owner.owner and not forwarder.owner
        start = datetime(2024, 1, 1, tzinfo=UTC)
        forwarder.set_fact("Alice", "works_at", "Acme", scope="user", object_is_entity=True, valid_from=start)
        assert forwarder.set_fact("Alice", "works_at", "Initech", scope="user").superseded == ["fact_1"]
        then = forwarder.get_facts(
            "alice", None, as_of=datetime(2024, 6, 1, tzinfo=UTC), history=False, scopes=[], limit=5
        )
        assert [f.object for f in then.facts] == ["Acme"] and then.facts[0].valid_from == start
        forwarder.relate("Alice", "knows", "Bob", scope="user")
        assert forwarder.neighbors("bob", depth=1, relations=[], as_of=None, limit=5).neighbors[0].entity == "Alice"
        assert len(forwarder.timeline(MemoryFilter(), None, newest_first=True, limit=10).events) == 4
        assert forwarder.forget([], "bob", MemoryFilter(), dry_run=True, reason=None).facts == 1
        with pytest.raises(UnknownIdError, match="no entity named 'nobody'"):
            forwarder.get_facts("nobody", None, as_of=None, history=False, scopes=[], limit=5)
        assert owner.stats().facts_current == 2
        # Anchors to code, through the forwarder: the memory keeps the hash, a changed hash marks it for review.
        item = NewMemory("check() reads user.ok", about=("pkg.auth.check",), anchors=(("pkg.auth.check", "ab12cd34"),))
        [stored] = forwarder.remember([item], max_chars=1000)
        assert forwarder.anchored_symbols([], 10).symbols == ["pkg.auth.check"]
        assert [m.id for m in forwarder.check_anchors({"pkg.auth.check": "ffff0000"}).marked] == [stored.id]
        assert owner.get_memory(stored.id).needs_review == ["the code of pkg.auth.check changed since this was written"]
    finally:
        forwarder.close()
        owner.close()
