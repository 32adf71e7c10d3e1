"""Root fixtures for every package's tests: an isolated STRATA_HOME and no stray config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--hostile-calls",
        type=int,
        default=100,
        help="calls per tool in tests/test_hostile.py (100 in CI; raise it to run longer by hand)",
    )


@pytest.fixture(autouse=True)
def _isolated_strata_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("strata-home")
    monkeypatch.setenv("STRATA_HOME", str(home))
    monkeypatch.delenv("STRATA_CONFIG", raising=False)
    monkeypatch.delenv("STRATA_TOKEN", raising=False)
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    yield home


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
