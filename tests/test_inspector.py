"""The official MCP Inspector CLI (a real third-party client) against our servers over stdio.

The inspector comes from the npm registry into ~/.cache/strata/npm on first use (about 10 s).
Exit codes: 0 success, 5 the tool returned isError.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

INSPECTOR_VERSION = "2.12.0"
NPM_DIR = Path.home() / ".cache" / "strata" / "npm"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def inspector() -> Path:
    executable = NPM_DIR / "node_modules" / ".bin" / "mcp-inspector"
    if not executable.exists():
        npm = shutil.which("npm")
        assert npm is not None, "npm is needed to fetch the MCP Inspector"
        NPM_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                f"@modelcontextprotocol/inspector@{INSPECTOR_VERSION}",
            ],
            cwd=NPM_DIR,
            check=True,
            timeout=300,
        )
    return executable


def run(inspector: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STRATA_")},
        "HOME": str(tmp_path),
        "STRATA_HOME": str(tmp_path),
    }
    return subprocess.run([str(inspector), "--cli", *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "auth.py").write_text(
        "def ldap_authenticate(user):\n    return check(user)\n\ndef check(u):\n    return u\n"
    )
    subprocess.run([str(BIN / "strata-codegraph"), "index", str(root)], check=True, capture_output=True)
    return root


@pytest.mark.slow
def test_inspector_lists_and_calls_codegraph_tools(inspector: Path, repo: Path, tmp_path: Path) -> None:
    server = [str(BIN / "strata-codegraph"), "serve", "--repo", str(repo)]
    listed = run(inspector, tmp_path, *server, "--method", "tools/list")
    assert listed.returncode == 0, listed.stderr
    names = {t["name"] for t in json.loads(listed.stdout[listed.stdout.index("{") :])["tools"]}
    assert {"search_symbols", "find_callers", "list_routes"} <= names

    called = run(
        inspector,
        tmp_path,
        *server,
        "--method",
        "tools/call",
        "--tool-name",
        "find_callees",
        "--tool-arg",
        "symbol=auth.ldap_authenticate",
    )
    assert called.returncode == 0, called.stderr
    result = json.loads(called.stdout[called.stdout.index("{") :])
    assert [c["callee"] for c in result["structuredContent"]["items"]] == ["auth.check"]

    refused = run(
        inspector,
        tmp_path,
        *server,
        "--method",
        "tools/call",
        "--tool-name",
        "file_outline",
        "--tool-arg",
        "file=../../etc/passwd",
    )
    assert refused.returncode == 5  # isError: the tool refused, the protocol worked
    assert "path_outside_repo" in refused.stdout


@pytest.mark.slow
def test_inspector_calls_the_llm_models_tool(inspector: Path, tmp_path: Path) -> None:
    called = run(
        inspector, tmp_path, str(BIN / "strata-llm"), "serve", "--method", "tools/call", "--tool-name", "models"
    )
    assert called.returncode == 0, called.stderr
    result = json.loads(called.stdout[called.stdout.index("{") :])
    assert result["structuredContent"]["result"][0]["name"] == "smollm2-135m-instruct"


@pytest.mark.slow
def test_inspector_remembers_and_recalls_through_strata_memory(inspector: Path, tmp_path: Path) -> None:
    server = [str(BIN / "strata-memory"), "serve", "--store", str(tmp_path / "store")]
    listed = run(inspector, tmp_path, *server, "--method", "tools/list")
    assert listed.returncode == 0, listed.stderr
    assert {t["name"] for t in json.loads(listed.stdout)["tools"]} >= {"remember", "recall", "set_fact", "forget"}
    stored = run(
        inspector, tmp_path, *server, "--method", "tools/call", "--tool-name", "remember",
        "--tool-arg", "text=The release train leaves every second Wednesday",
    )  # fmt: skip
    assert stored.returncode == 0, stored.stderr
    recalled = run(
        inspector, tmp_path, *server, "--method", "tools/call", "--tool-name", "recall",
        "--tool-arg", "query=when do we ship releases?",
    )  # fmt: skip
    assert recalled.returncode == 0, recalled.stderr
    hits = json.loads(recalled.stdout[recalled.stdout.index("{") :])["structuredContent"]["hits"]
    assert hits[0]["text"] == "The release train leaves every second Wednesday"
    refused = run(
        inspector, tmp_path, *server, "--method", "tools/call", "--tool-name", "forget",
        "--tool-arg", "ids=[\"mem_99\"]",
    )  # fmt: skip
    assert refused.returncode == 5 and "unknown_id" in refused.stdout


def test_inspector_compresses_through_strata_router(inspector: Path, tmp_path: Path) -> None:
    server = [str(BIN / "strata-router"), "serve"]
    listed = run(inspector, tmp_path, *server, "--method", "tools/list")
    assert listed.returncode == 0, listed.stderr
    assert {t["name"] for t in json.loads(listed.stdout)["tools"]} == {
        "complete", "estimate_cost", "budget_status", "usage_report", "quality_report", "compress", "raw_output",
    }  # fmt: skip
    noisy = "\n".join([f"progress {i}" for i in range(300)] + ["fatal error: out of memory"])
    packed = run(
        inspector, tmp_path, *server, "--method", "tools/call", "--tool-name", "compress", "--tool-arg", f"text={noisy}"
    )
    assert packed.returncode == 0, packed.stderr
    result = json.loads(packed.stdout[packed.stdout.index("{") :])["structuredContent"]
    assert "fatal error: out of memory" in result["text"] and result["tokens_after"] < result["tokens_before"]
    missing = run(
        inspector, tmp_path, *server, "--method", "tools/call", "--tool-name", "raw_output",
        "--tool-arg", "id=out_0123456789abcdef",
    )  # fmt: skip
    assert missing.returncode == 5 and "not_found" in missing.stdout


def test_inspector_speaks_through_strata_voice(inspector: Path, tmp_path: Path) -> None:
    server = [str(BIN / "strata-voice"), "serve"]
    listed = run(inspector, tmp_path, *server, "--method", "tools/list")
    assert listed.returncode == 0, listed.stderr
    assert {t["name"] for t in json.loads(listed.stdout)["tools"]} == {"speak", "transcribe", "list_voices", "status"}
    spoken = run(
        inspector, tmp_path, *server, "--method", "tools/call", "--tool-name", "speak",
        "--tool-arg", "text=Refactor complete.", "--tool-arg", "format=ogg",
    )  # fmt: skip
    assert spoken.returncode == 0, spoken.stderr
    speech = json.loads(spoken.stdout[spoken.stdout.index("{") :])["structuredContent"]
    assert Path(speech["path"]).read_bytes()[:4] == b"OggS" and speech["duration_s"] > 0.3
    unknown = run(
        inspector, tmp_path, *server, "--method", "tools/call", "--tool-name", "speak",
        "--tool-arg", "text=hi", "--tool-arg", "voice=nobody",
    )  # fmt: skip
    assert unknown.returncode == 5 and "unknown_voice" in unknown.stdout
