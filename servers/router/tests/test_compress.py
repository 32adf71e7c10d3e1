"""Compression on real outputs made here (pytest, git, gcc, mypy, Python tracebacks, JSON): smaller, and every error line kept."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from strata.router.compress import RawStore, clean, compress, detect, is_error
from strata.router.db import SQLiteDatabase


def run(args: list[str], cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)
    return done.stdout + done.stderr


def json_errors(value: object) -> list[str]:
    if isinstance(value, str):
        return [value] if is_error(value) else []
    if isinstance(value, list):
        return [e for v in value for e in json_errors(v)]
    if isinstance(value, dict):
        return [e for v in value.values() for e in json_errors(v)]
    return []


def errors_survive(raw: str, compact: str) -> None:
    if detect(raw) == "json":  # error-bearing values survive inside the structure
        assert json_errors(json.loads(raw)) and all(json.dumps(e) in compact for e in json_errors(json.loads(raw)))
        return
    kept = set(compact.split("\n"))
    missing = [line for line in clean(raw) if is_error(line) and line not in kept]
    assert missing == []


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("outputs")
    made: dict[str, str] = {}
    tests = root / "suite"
    tests.mkdir()
    body = "\n".join(f"def test_ok_{i}():\n    assert {i} == {i}\n" for i in range(300))
    (tests / "test_many.py").write_text(
        body + "\n\ndef test_broken():\n    data = {'a': 1}\n    assert data['a'] == 2, 'value drifted'\n"
    )
    (tests / "test_other.py").write_text("import json\n\ndef test_parse():\n    json.loads('{bad')\n")
    made["pytest"] = run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-o", "addopts=", str(tests)], tests
    )

    repo = root / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    run(["git", "init", "-q"], repo)
    lines = [f"line {i}: some content that stays the same" for i in range(400)]
    (repo / "big.txt").write_text("\n".join(lines) + "\n")
    for i in range(20):
        (repo / f"f{i}.py").write_text(f"x = {i}\n")
    run(["git", "add", "."], repo)
    run([*git, "commit", "-qm", "init"], repo)
    for i in range(0, 400, 40):
        lines[i] = f"line {i}: CHANGED content"
    (repo / "big.txt").write_text("\n".join(lines) + "\n")
    made["git_diff"] = run(["git", "diff"], repo)
    for i in range(12):
        (repo / f"f{i}.py").write_text("changed\n")
    for i in range(8):
        (repo / f"new{i}.py").write_text("new\n")
    run(["git", "add", "f0.py", "f1.py"], repo)
    made["git_status"] = run(["git", "status"], repo)

    c_file = root / "broken.c"
    c_file.write_text("int main(void) {\n  int x = ;\n  undefined_call(3);\n  return y;\n}\n")
    made["compiler"] = run(["gcc", "-fsyntax-only", "-Wall", str(c_file)], root)

    script = root / "crash.py"
    script.write_text(
        textwrap.dedent(
            """
            import json
            def load(depth):
                if depth == 0:
                    return json.loads("{not json")
                return load(depth - 1)
            load(30)
            """
        )
    )
    made["traceback"] = run([sys.executable, str(script)], root)
    made["json"] = json.dumps(
        {
            "items": [{"id": i, "name": f"item {i}", "tags": ["a", "b"], "blob": "x" * 500} for i in range(200)]
            + [{"id": 999, "status": "failed: upstream timeout"}],
            "error": "partial failure",
        }
    )
    return made


@pytest.mark.parametrize("kind", ["pytest", "git_diff", "git_status", "compiler", "traceback", "json"])
def test_each_kind_is_detected_shrunk_and_keeps_every_error_line(outputs: dict[str, str], kind: str) -> None:
    raw = outputs[kind]
    assert detect(raw) == kind
    packed = compress(raw)
    assert packed.kind == kind
    assert len(packed.text) < len(raw)
    errors_survive(raw, packed.text)


def test_pytest_output_keeps_the_failures_and_drops_the_passes(outputs: dict[str, str]) -> None:
    packed = compress(outputs["pytest"])
    assert "PASSED" not in packed.text and "progress lines" in packed.text
    assert "value drifted" in packed.text and "FAILED" in packed.text and "json.decoder.JSONDecodeError" in packed.text
    assert packed.tokens_after < packed.tokens_before / 4


def test_git_diff_keeps_every_changed_line(outputs: dict[str, str]) -> None:
    raw = outputs["git_diff"]
    packed = compress(raw)
    changed = [ln for ln in raw.splitlines() if ln.startswith(("+", "-"))]
    assert all(line in packed.text.split("\n") for line in changed)
    assert "unchanged context lines omitted" in packed.text


def test_git_status_names_every_file(outputs: dict[str, str]) -> None:
    packed = compress(outputs["git_status"])
    for name in [f"f{i}.py" for i in range(12)] + [f"new{i}.py" for i in range(8)]:
        assert name in packed.text
    assert "(use " not in packed.text


def test_traceback_collapses_recursion_and_library_frames(outputs: dict[str, str]) -> None:
    packed = compress(outputs["traceback"])
    assert "previous frame repeated" in packed.text and "library frames omitted" in packed.text
    assert packed.text.rstrip().endswith(
        "json.decoder.JSONDecodeError: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    )


def test_long_generic_output_is_capped_but_errors_in_the_middle_stay() -> None:
    raw = "\n".join(
        [f"step {i} ok: {'abcdefgh'[i % 8] * (i % 13)}" for i in range(5000)][:2500]
        + ["ERROR: disk quota exceeded on /data"]
        + [f"other {i}: {i * 7919 % 104729}" for i in range(2500)]
    )
    packed = compress(raw, max_lines=100)
    assert "ERROR: disk quota exceeded on /data" in packed.text
    assert len(packed.text.split("\n")) <= 110


def test_ansi_and_progress_redraws_are_cleaned() -> None:
    raw = "\x1b[31mred error: boom\x1b[0m\ndownloading 10%\rdownloading 50%\rdownloading 100%\n"
    assert clean(raw) == ["red error: boom", "downloading 100%"]


def test_raw_store_round_trip_survives_a_restart_and_bounds_sizes(tmp_path: Path, outputs: dict[str, str]) -> None:
    db = SQLiteDatabase(tmp_path / "router.db")
    store = RawStore(db, max_bytes=100_000, max_outputs=2)
    ids = [store.save(outputs[k], compress(outputs[k])) for k in ("pytest", "git_diff", "compiler")]
    db.close()
    reopened = RawStore(SQLiteDatabase(tmp_path / "router.db"), max_bytes=100_000, max_outputs=2)
    assert reopened.get(ids[2]) == ("compiler", outputs["compiler"])
    assert reopened.get(ids[1])[1] == outputs["git_diff"]
    from strata.router.errors import InvalidRequestError, NotFoundError

    with pytest.raises(NotFoundError):
        reopened.get(ids[0])  # pruned: only the newest two are kept
    with pytest.raises(InvalidRequestError, match="limit is 100000"):
        reopened.save("x" * 100_001, compress("x"))


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000 + "]" * 5000,  # issue 25: RecursionError became `internal`
        '{"a":' * 3000 + "1" + "}" * 3000,
        "Error: x\n" * 10,
        "\n".join(f"ERROR line {i}" for i in range(1000)),
        "E",
    ],
)
@pytest.mark.parametrize("kind", ["auto", "json", "log"])
def test_compress_never_fails_on_deep_json_and_never_grows(text: str, kind: str) -> None:
    out = compress(text, kind)  # type: ignore[arg-type]
    assert len(out.text) <= len(text)
