"""Lowering a large project on two cores: the same lowered modules in this process or with a child's help."""

import sys
import sysconfig
import time
from pathlib import Path

import pytest

from strata.codegraph import pyworkers
from strata.codegraph.pycalls import analyze_sources, load_project
from strata.codegraph.pysyntax import M_NAME, M_SCOPES, SC_FQN, lower_source
from strata.codegraph.pyworkers import lower_sources

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def stdlib_sources() -> dict[str, tuple[str, bool]]:
    paths = sorted(p for package in ("json", "email", "logging") for p in (STDLIB / package).rglob("*.py"))
    files = load_project(STDLIB, paths)
    files["broken"] = ("def broken(:\n", False)  # does not parse: maps to None either way
    return files


def test_a_child_process_lowers_part_of_a_project_to_exactly_what_this_process_would() -> None:
    files = stdlib_sources()
    serial = lower_sources(files, parallel=False)
    parallel = lower_sources(files, parallel=True)
    assert list(parallel) == list(files)  # the order given, the child's part included
    assert parallel == serial
    assert serial["broken"] is None
    assert pyworkers.PARALLEL_MIN_BYTES > 100_000  # small projects are not worth a child process
    assert serial["json"] is not None and serial["json"][M_NAME] == "json"
    fqns = {record[SC_FQN] for lowered in serial.values() if lowered is not None for record in lowered[M_SCOPES]}
    assert "json.decoder.JSONDecoder.raw_decode" in fqns


def test_lowering_falls_back_to_this_process_when_the_child_cannot_start(monkeypatch: pytest.MonkeyPatch) -> None:
    files = stdlib_sources()
    expected = lower_sources(files, parallel=False)
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    assert lower_sources(files, parallel=True) == expected


def test_lowering_falls_back_to_this_process_when_the_child_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    files = stdlib_sources()
    expected = lower_sources(files, parallel=False)
    monkeypatch.setattr(sys, "executable", "/bin/false")  # starts, reads nothing, exits 1
    assert lower_sources(files, parallel=True) == expected


def test_the_child_sends_every_module_it_is_handed_from_the_last_one_back() -> None:
    files = stdlib_sources()
    names = list(files)[-12:]
    child = pyworkers._Child.start(names, files)
    assert child is not None
    received: list[tuple[str, object]] = []
    deadline = time.monotonic() + 60
    while not child.ended and time.monotonic() < deadline:
        received += child.poll()
        time.sleep(0.01)
    child.stop()
    assert not child.failed
    assert [name for name, _ in received] == names[::-1]
    assert all(lowered == lower_source(name, *files[name]) for name, lowered in received)


def test_lowering_survives_a_child_that_dies_midway_and_lowers_the_rest_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = stdlib_sources()
    expected = lower_sources(files, parallel=False)
    # a child that lowers the last two modules it is handed, then dies
    script = tmp_path / "dying-child"
    script.write_text(
        f"#!{sys.executable}\n"
        "import marshal, sys\n"
        "from strata.codegraph.pysyntax import lower_source\n"
        "files = marshal.loads(sys.stdin.buffer.read())\n"
        "for name, source, is_package in files[::-1][:2]:\n"
        "    frame = marshal.dumps((name, lower_source(name, source, is_package)))\n"
        "    sys.stdout.buffer.write(len(frame).to_bytes(4, 'little') + frame)\n"
        "sys.stdout.buffer.write(b'\\x10\\x00')\n"  # half a frame header
        "sys.exit(3)\n"
    )
    script.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(script))
    lowered = lower_sources(files, parallel=True)
    assert list(lowered) == list(files)
    assert lowered == expected


def test_the_analysis_is_the_same_when_a_child_lowered_part_of_it() -> None:
    files = stdlib_sources()
    serial = analyze_sources(files, parallel=False)
    parallel = analyze_sources(files, parallel=True)
    assert parallel.call_graph() == serial.call_graph()
    assert list(parallel.call_sites()) == list(serial.call_sites())
    assert list(parallel.scopes) == list(serial.scopes)  # definition order, which decides run order
