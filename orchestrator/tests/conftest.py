"""Fixtures shared by the orchestrator tests: a real voice server over HTTP with a bearer token."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from strata.shared.testing import free_port, wait_healthy

BIN = Path(sys.executable).parent
TOKEN = "orchestrator-test-token"


@pytest.fixture
def http_voice(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")} | {"STRATA_HOME": str(tmp_path)}
    log = (tmp_path / "voice-http.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "strata-voice"), "serve", "--transport", "http", "--port", str(port), "--token", TOKEN],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_healthy(url), (tmp_path / "voice-http.log").read_text()
        yield f"{url}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
