"""Finding and running a repository's tests, and reading the failure count from the real runners."""

from __future__ import annotations

import sys
from pathlib import Path

from strata.orchestrator.agent.testrun import detect_test_command, run_tests


def _repo(tmp_path: Path, failing: int) -> Path:
    (tmp_path / "tests").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\ntestpaths = ['tests']\n")
    body = "import unittest\n\nclass T(unittest.TestCase):\n"
    body += "".join(f"    def test_ok_{i}(self):\n        self.assertTrue(True)\n" for i in range(3))
    body += "".join(f"    def test_bad_{i}(self):\n        self.assertTrue(False)\n" for i in range(failing))
    (tmp_path / "tests" / "test_x.py").write_text(body)
    return tmp_path


def test_pytest_is_detected_and_failures_counted(tmp_path: Path) -> None:
    repo = _repo(tmp_path, failing=2)
    command = detect_test_command(repo)
    assert command is not None and command[1:3] == ["-m", "pytest"]
    run = run_tests(repo, command, timeout_s=120)
    assert (run.failures, run.passed, run.exit_code) == (2, 3, 1)


def test_unittest_summary_is_read_too(tmp_path: Path) -> None:
    repo = _repo(tmp_path, failing=1)
    run = run_tests(repo, [sys.executable, "-m", "unittest", "discover", "-s", "tests"], timeout_s=120)
    assert (run.failures, run.passed) == (1, 3)
    green = _repo(tmp_path / "green", failing=0)
    assert run_tests(green, [sys.executable, "-m", "unittest", "discover", "-s", "tests"], 120).failures == 0


def test_a_timeout_or_missing_command_is_a_failure_not_a_hang(tmp_path: Path) -> None:
    slow = run_tests(tmp_path, [sys.executable, "-c", "import time; time.sleep(30)"], timeout_s=1)
    assert slow.timed_out and slow.failures == 1
    missing = run_tests(tmp_path, [str(tmp_path / "no-such-runner")], timeout_s=5)
    assert missing.failures == 1 and "could not start" in missing.output


def test_nothing_to_detect(tmp_path: Path) -> None:
    assert detect_test_command(tmp_path) is None
