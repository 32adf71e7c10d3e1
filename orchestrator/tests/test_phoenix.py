"""Interop with a real OTLP product: Arize Phoenix receives one `strata ask` over OTLP/HTTP and gives the trace back.

Phoenix comes from PyPI (pinned below) into its own virtual environment under ~/.cache/strata/phoenix on first use
(about 630 MB; uv's cache makes later installs take seconds), as the npm clients do for test_real_clients; without uv
or the registry the test fails, saying so. It runs on loopback with external resources off. The trace is read back
through Phoenix's REST API (`/v1/projects/default/spans`) and compared with the same trace in Strata's local store.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from strata.shared.telemetry import SpanStore
from strata.shared.testing import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXAMPLE = ROOT / "examples" / "acme-portal"
REQUEST = "find all places that authenticate against the legacy LDAP server and refactor them to use the new SSO module"
PHOENIX = "arize-phoenix==20.26.1"
PHOENIX_DIR = Path.home() / ".cache" / "strata" / "phoenix"

pytestmark = pytest.mark.slow


def phoenix_bin() -> Path:
    """Phoenix's `phoenix` command, installed once into its own virtual environment."""
    venv = PHOENIX_DIR / PHOENIX.replace("==", "-")
    command = venv / "bin" / "phoenix"
    if command.exists():
        return command
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    assert Path(uv).exists(), "uv is needed to install Arize Phoenix (make install puts it in .tools/bin)"
    made = subprocess.run([uv, "venv", "-q", "-p", "3.11", str(venv)], capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr[-300:]
    run = subprocess.run(
        [uv, "pip", "install", "-q", "-p", str(venv / "bin" / "python"), PHOENIX], capture_output=True, text=True,
        timeout=900, check=False,
    )  # fmt: skip
    assert run.returncode == 0, f"Arize Phoenix could not be installed: {run.stderr.strip()[-300:]}"
    return command


@pytest.fixture
def phoenix(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PHOENIX_"))} | {
        "PHOENIX_HOST": "127.0.0.1", "PHOENIX_PORT": str(port), "PHOENIX_GRPC_PORT": str(free_port()),
        "PHOENIX_WORKING_DIR": str(tmp_path / "phoenix"), "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }  # fmt: skip
    log = (tmp_path / "phoenix.log").open("wb")
    process = subprocess.Popen([str(phoenix_bin()), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "phoenix.log").read_text()[
                -2000:
            ]
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def phoenix_spans(url: str, trace_id: str) -> list[dict[str, Any]]:
    spans: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"trace_id": trace_id, "limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{url}/v1/projects/default/spans", params=params, timeout=30).json()
        spans += page["data"]
        cursor = page.get("next_cursor")
        if not cursor:
            return spans


def test_phoenix_receives_one_strata_ask_as_one_trace_with_its_parents_and_genai_attributes(
    tmp_path: Path, phoenix: str
) -> None:
    repo = tmp_path / "acme-portal"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns(".strata", "__pycache__"))
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": phoenix}  # the servers it starts over stdio inherit it
    done = subprocess.run(
        [str(BIN / "strata"), "ask", REQUEST, "--repo", str(repo), "--yes"], env=env, capture_output=True, text=True,
        timeout=600, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    store = SpanStore(Path(os.environ["STRATA_HOME"]) / "telemetry" / "spans.db")
    [(trace_id, _)] = [
        row for row in store.query("SELECT trace_id, attributes FROM spans WHERE name = 'invoke_agent strata-ask'")
    ]
    local = store.trace(trace_id)
    store.close()

    deadline = time.monotonic() + 60  # Phoenix inserts in the background
    while len(received := phoenix_spans(phoenix, trace_id)) < len(local) and time.monotonic() < deadline:
        time.sleep(1)
    missing = [
        (s["service"], s["name"]) for s in local if s["span_id"] not in {r["context"]["span_id"] for r in received}
    ]
    assert not missing and len(received) == len(local), missing
    by_id = {s["context"]["span_id"]: s for s in received}
    for span in received:  # the same parents as in the local store
        expected = next(s["parent_id"] for s in local if s["span_id"] == span["context"]["span_id"])
        assert span["parent_id"] == expected
    [root] = [s for s in received if s["parent_id"] is None]
    assert root["name"] == "invoke_agent strata-ask" and root["span_kind"] == "AGENT"
    chats = [s for s in received if s["attributes"].get("gen_ai.operation.name") == "chat"]
    assert chats and all(s["span_kind"] == "LLM" and s["attributes"]["gen_ai.usage.input_tokens"] > 0 for s in chats)
    for chat in chats:  # each model call chains to the root in Phoenix too
        node = chat
        while node["parent_id"] is not None:
            node = by_id[node["parent_id"]]
        assert node is root
    assert json.dumps(received).count("Bearer ") == 0
