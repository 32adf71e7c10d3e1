"""Fixtures for strata-llm tests: the bundled SmolLM2 model, engines, and real server subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest

from strata.llm.local import LocalEngine
from strata.shared.models import locate_model
from strata.shared.testing import free_port

STRATA_LLM = str(Path(sys.executable).parent / "strata-llm")
TOKEN = "test-token-123"


@pytest.fixture(scope="session")
def model_path() -> Path:
    return locate_model("smollm2-135m-instruct")


def make_engine(path: Path, **overrides: object) -> LocalEngine:
    options: dict[str, object] = {
        "n_ctx": 512,
        "threads": 1,
        "instances": 1,
        "max_queue": 4,
        "max_tokens_cap": 2048,
    }
    options.update(overrides)
    return LocalEngine("smollm2", path, **options)  # type: ignore[arg-type]


@dataclass
class RunningServer:
    url: str
    token: str | None
    process: subprocess.Popen[bytes]
    log: Path
    log_handle: BinaryIO

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def write_config(directory: Path, body: str) -> Path:
    config = directory / "strata.toml"
    config.write_text(body)
    return config


def server_env(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")}
    env.update({"STRATA_CONFIG": str(config), "STRATA_HOME": str(config.parent), "OMP_WAIT_POLICY": "PASSIVE"})
    return env


def start_http_server(directory: Path, config_body: str, token: str | None = TOKEN) -> RunningServer:
    config = write_config(directory, config_body)
    port = free_port()
    args = [STRATA_LLM, "serve", "--transport", "http", "--port", str(port)]
    if token:
        args += ["--token", token]
    log = directory / "server.log"
    handle = log.open("wb")
    process = subprocess.Popen(args, env=server_env(config), stdout=subprocess.DEVNULL, stderr=handle)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            handle.close()
            raise RuntimeError(f"strata-llm exited early: {log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return RunningServer(url, token, process, log, handle)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    process.wait()
    handle.close()
    raise RuntimeError(f"strata-llm did not become healthy: {log.read_text()}")


def stop(server: RunningServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
        raise
    finally:
        server.log_handle.close()


MAIN_CONFIG = """
[llm]
threads = 1
n_ctx = 1024
instances = 1
max_queue = 4

[llm.models.smollm2-135m-instruct]
source = "smollm2-135m-instruct"

[llm.models.smollm2-embed]
source = "smollm2-135m-instruct"
embedding = true
n_ctx = 256
"""


@pytest.fixture(scope="module")
def llm_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One strata-llm HTTP server (token required) shared by a test module."""
    server = start_http_server(tmp_path_factory.mktemp("llm-http"), MAIN_CONFIG)
    yield server
    stop(server)


def wait_idle(server: RunningServer, model: str = "smollm2-135m-instruct", timeout: float = 30) -> dict[str, object]:
    """Poll /metrics until the model has nothing running or queued; returns the last sample."""
    deadline = time.monotonic() + timeout
    while True:
        text = httpx.get(f"{server.url}/metrics", headers=server.headers()).text
        sample = {
            line.split("{")[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("strata_llm_") and f'model="{model}"' in line
        }
        if sample.get("strata_llm_busy") == 0 and sample.get("strata_llm_queued") == 0:
            return dict(sample)
        if time.monotonic() > deadline:
            raise AssertionError(f"model still busy: {sample}")
        time.sleep(0.05)
