"""Find and run a repository's tests, and count the failures from the runner's own summary line."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TestRun", "detect_test_command", "run_tests"]

MAX_OUTPUT_CHARS = 2_000_000
PYTEST_SUMMARY = re.compile(r"(\d+) (failed|error|errors|passed)\b")
UNITTEST_SUMMARY = re.compile(r"FAILED \(([^)]*)\)")
GO_FAIL = re.compile(r"^--- FAIL", re.MULTILINE)
CARGO_SUMMARY = re.compile(r"test result: \w+\. (\d+) passed; (\d+) failed")


@dataclass
class TestRun:
    command: list[str]
    exit_code: int
    failures: int
    passed: int | None
    seconds: float
    output: str
    timed_out: bool = False


def detect_test_command(repo: Path) -> list[str] | None:
    """The usual test command for ``repo``: pytest/unittest, npm test, go test or cargo test."""
    has_python_tests = (repo / "tests").is_dir() or any(repo.glob("test_*.py"))
    python_config = any((repo / name).exists() for name in ("pyproject.toml", "setup.cfg", "pytest.ini", "tox.ini"))
    if has_python_tests or python_config:
        try:
            import pytest  # noqa: F401
        except ImportError:
            return [sys.executable, "-m", "unittest", "discover", "-s", "tests" if has_python_tests else "."]
        return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    package = repo / "package.json"
    if package.exists():
        scripts = json.loads(package.read_text(encoding="utf-8") or "{}").get("scripts", {})
        if "test" in scripts and shutil.which("npm"):
            return ["npm", "test", "--silent"]
    if (repo / "go.mod").exists() and shutil.which("go"):
        return ["go", "test", "./..."]
    if (repo / "Cargo.toml").exists() and shutil.which("cargo"):
        return ["cargo", "test", "--quiet"]
    return None


def run_tests(repo: Path, command: list[str], timeout_s: float) -> TestRun:
    """Run ``command`` in ``repo`` (no shell); a timeout counts as one failure."""
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=repo, capture_output=True, text=True, errors="replace", timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        output = _text(exc.stdout) + _text(exc.stderr)
        return TestRun(command, -1, 1, None, round(time.perf_counter() - started, 2), output[-MAX_OUTPUT_CHARS:], True)
    except OSError as exc:
        return TestRun(command, -1, 1, None, 0.0, f"could not start {command[0]}: {exc}")
    output = (done.stdout + done.stderr)[-MAX_OUTPUT_CHARS:]
    failures, passed = _count(output, done.returncode)
    return TestRun(command, done.returncode, failures, passed, round(time.perf_counter() - started, 2), output)


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _count(output: str, exit_code: int) -> tuple[int, int | None]:
    """Failures and passes from the summary; a failing exit with no readable summary is one failure."""
    tail = output[-4000:]
    counts: dict[str, int] = {}
    for number, word in PYTEST_SUMMARY.findall(tail.strip().splitlines()[-1] if tail.strip() else ""):
        counts[word.rstrip("s")] = counts.get(word.rstrip("s"), 0) + int(number)
    if counts:
        return counts.get("failed", 0) + counts.get("error", 0), counts.get("passed", 0)
    unittest = UNITTEST_SUMMARY.search(tail)
    if unittest:
        parts = dict(item.split("=") for item in unittest.group(1).split(", ") if "=" in item)
        ran = re.search(r"Ran (\d+) test", tail)
        failed = int(parts.get("failures", 0)) + int(parts.get("errors", 0))
        return failed, (int(ran.group(1)) - failed if ran else None)
    if re.search(r"Ran (\d+) tests? in", tail) and "\nOK" in tail:
        return 0, int(re.search(r"Ran (\d+) test", tail).group(1))  # type: ignore[union-attr]
    cargo = CARGO_SUMMARY.findall(output)
    if cargo:
        return sum(int(f) for _, f in cargo), sum(int(p) for p, _ in cargo)
    go_failures = len(GO_FAIL.findall(output))
    if go_failures:
        return go_failures, None
    return (0 if exit_code == 0 else 1), None
